/* metrics.c - OpenMetrics text builders and the /metrics HTTP server on
 * libmicrohttpd's own thread (see metrics.h). The server holds one copy of
 * the last published text behind a mutex (lib/published); the handler
 * copies it out. */
#include "metrics.h"
#include "published.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>

#define METRICS_CONN_LIMIT     16      /* Prometheus scrapes one at a time */
#define METRICS_CONN_TIMEOUT_S 10
#define METRICS_PATH           "/metrics"

/* ---- text ---- */

static void text_reserve(struct metrics_text *t, size_t more)
{
    size_t cap;
    char *grown;

    if (t->failed || t->len + more + 1 <= t->cap)
        return;
    cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    if ((grown = realloc(t->buf, cap)) == NULL) {
        t->failed = 1;
        return;
    }
    t->buf = grown;
    t->cap = cap;
}

static void text_printf(struct metrics_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_printf(struct metrics_text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    text_reserve(t, (size_t)n);
    if (t->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void text_putc(struct metrics_text *t, char c)
{
    text_reserve(t, 1);
    if (t->failed)
        return;
    t->buf[t->len++] = c;
    t->buf[t->len] = '\0';
}

/* A label value or HELP text, escaped as OpenMetrics says. */
static void text_escaped(struct metrics_text *t, const char *s)
{
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == '"') {
            text_putc(t, '\\');
            text_putc(t, (char)*p);
        } else if (*p == '\n') {
            text_putc(t, '\\');
            text_putc(t, 'n');
        } else if (*p < 0x20 || *p >= 0x7f) {
            text_putc(t, '?');
        } else {
            text_putc(t, (char)*p);
        }
    }
}

/* name{labels[,le="..."]} */
static void text_series(struct metrics_text *t, const char *name, const char *suffix,
                        const char *const *labels, const char *le)
{
    int first = 1;

    text_printf(t, "%s%s", name, suffix);
    if ((labels == NULL || labels[0] == NULL) && le == NULL)
        return;
    text_putc(t, '{');
    for (; labels != NULL && labels[0] != NULL && labels[1] != NULL; labels += 2) {
        text_printf(t, "%s%s=\"", first ? "" : ",", labels[0]);
        text_escaped(t, labels[1]);
        text_putc(t, '"');
        first = 0;
    }
    if (le != NULL)
        text_printf(t, "%sle=\"%s\"", first ? "" : ",", le);
    text_putc(t, '}');
}

void metrics_text_family(struct metrics_text *t, const char *name, enum metrics_type type,
                         const char *unit, const char *help)
{
    static const char *const types[] = { "counter", "gauge", "histogram" };

    text_printf(t, "# TYPE %s %s\n", name, types[type]);
    if (unit != NULL)
        text_printf(t, "# UNIT %s %s\n", name, unit);
    text_printf(t, "# HELP %s ", name);
    text_escaped(t, help);
    text_putc(t, '\n');
}

void metrics_text_counter(struct metrics_text *t, const char *name, const char *const *labels, uint64_t v)
{
    text_series(t, name, "_total", labels, NULL);
    text_printf(t, " %" PRIu64 "\n", v);
}

void metrics_text_gauge(struct metrics_text *t, const char *name, const char *const *labels, double v)
{
    text_series(t, name, "", labels, NULL);
    text_printf(t, " %.9g\n", v);
}

void metrics_text_histogram(struct metrics_text *t, const char *name, const char *const *labels,
                            const struct hist *h)
{
    static const uint64_t le_us[] = METRICS_BUCKETS_US;
    enum { NB = sizeof(le_us) / sizeof(le_us[0]) };
    uint64_t counts[NB + 1] = { 0 }, cum = 0;
    char le[32];
    size_t slot, b;

    for (slot = 0; slot < HIST_SLOTS; slot++) {
        if (h->slots[slot] == 0)
            continue;
        for (b = 0; b < NB && hist_slot_lowest(slot) > le_us[b]; b++)
            ;
        counts[b] += h->slots[slot];
    }
    for (b = 0; b < NB; b++) {
        cum += counts[b];
        snprintf(le, sizeof(le), "%g", (double)le_us[b] / 1e6);
        text_series(t, name, "_bucket", labels, le);
        text_printf(t, " %" PRIu64 "\n", cum < h->count ? cum : h->count);
    }
    text_series(t, name, "_bucket", labels, "+Inf");
    text_printf(t, " %" PRIu64 "\n", h->count);
    text_series(t, name, "_count", labels, NULL);
    text_printf(t, " %" PRIu64 "\n", h->count);
    text_series(t, name, "_sum", labels, NULL);
    text_printf(t, " %.6f\n", (double)h->sum / 1e6);
}

void metrics_text_eof(struct metrics_text *t)
{
    text_printf(t, "# EOF\n");
}

void metrics_text_reset(struct metrics_text *t)
{
    t->len = 0;
    t->failed = 0;
    if (t->buf != NULL)
        t->buf[0] = '\0';
}

void metrics_text_free(struct metrics_text *t)
{
    free(t->buf);
    memset(t, 0, sizeof(*t));
}

/* ---- families of a load generator and of a sink ---- */

struct load_counter {
    const char *name, *unit, *help;
    size_t offset;                  /* into struct load_stats */
};

#define LS(field) offsetof(struct load_stats, field)
static const struct load_counter load_counters[] = {
    { "smtpstorm_sessions", NULL, "SMTP/LMTP sessions completed or failed", LS(sessions) },
    { "smtpstorm_messages_attempted", NULL, "transactions started (MAIL FROM sent)", LS(messages_attempted) },
    { "smtpstorm_messages_accepted", NULL, "messages accepted by the target (final 250)", LS(messages_accepted) },
    { "smtpstorm_messages_rejected", NULL, "messages refused by the target (4xx/5xx)", LS(messages_rejected) },
    { "smtpstorm_recipients", NULL, "recipients accepted", LS(recipients) },
    { "smtpstorm_sent_bytes", "bytes", "octets written to the target", LS(bytes) },
};
#undef LS

void metrics_text_load(struct metrics_text *t, const struct metrics_load *loads, size_t n)
{
    char code[16];
    size_t c, i;
    int k;

    for (c = 0; c < sizeof(load_counters) / sizeof(load_counters[0]); c++) {
        metrics_text_family(t, load_counters[c].name, METRICS_COUNTER, load_counters[c].unit,
                            load_counters[c].help);
        for (i = 0; i < n; i++)
            metrics_text_counter(t, load_counters[c].name, (const char *[]){ "campaign", loads[i].campaign, NULL },
                                 *(const uint64_t *)((const char *)loads[i].stats + load_counters[c].offset));
    }
    metrics_text_family(t, "smtpstorm_sessions_active", METRICS_GAUGE, NULL, "sessions open now");
    for (i = 0; i < n; i++)
        metrics_text_gauge(t, "smtpstorm_sessions_active", (const char *[]){ "campaign", loads[i].campaign, NULL },
                           (double)loads[i].sessions_active);
    metrics_text_family(t, "smtpstorm_errors", METRICS_COUNTER, NULL, "session and protocol errors by kind");
    for (i = 0; i < n; i++)
        for (k = 0; k < ERROR_KIND_COUNT; k++)
            metrics_text_counter(t, "smtpstorm_errors", (const char *[]){ "campaign", loads[i].campaign,
                                 "kind", stats_error_name((enum stats_error)k), NULL }, loads[i].stats->errors_by_kind[k]);
    metrics_text_family(t, "smtpstorm_replies", METRICS_COUNTER, NULL, "replies from the target by code");
    for (i = 0; i < n; i++) {
        for (k = 0; k < STATS_REPLY_CODES; k++) {
            if (loads[i].stats->replies[k] == 0)
                continue;
            snprintf(code, sizeof(code), k == 0 ? "other" : "%d", k);
            metrics_text_counter(t, "smtpstorm_replies", (const char *[]){ "campaign", loads[i].campaign,
                                 "code", code, NULL }, loads[i].stats->replies[k]);
        }
    }
    metrics_text_family(t, "smtpstorm_latency_seconds", METRICS_HISTOGRAM, "seconds",
                        "latency by phase (message: the whole transaction)");
    for (i = 0; i < n; i++)
        for (k = 0; k < PHASE_COUNT; k++)
            if (loads[i].stats->latency[k].count > 0)
                metrics_text_histogram(t, "smtpstorm_latency_seconds", (const char *[]){ "campaign",
                                       loads[i].campaign, "phase", stats_phase_name((enum stats_phase)k), NULL },
                                       &loads[i].stats->latency[k]);
}

static void sink_family(struct metrics_text *t, const struct metrics_sink *sinks, size_t n, const char *name,
                        const char *unit, const char *help, size_t offset, int gauge)
{
    size_t i;
    uint64_t v;

    metrics_text_family(t, name, gauge ? METRICS_GAUGE : METRICS_COUNTER, unit, help);
    for (i = 0; i < n; i++) {
        v = *(const uint64_t *)((const char *)&sinks[i] + offset);
        if (v == METRICS_UNKNOWN)
            continue;
        if (gauge)
            metrics_text_gauge(t, name, (const char *[]){ "sink", sinks[i].id, NULL }, (double)v);
        else
            metrics_text_counter(t, name, (const char *[]){ "sink", sinks[i].id, NULL }, v);
    }
}

void metrics_text_sinks(struct metrics_text *t, const struct metrics_sink *sinks, size_t n)
{
    size_t i, j;

#define MS(field) offsetof(struct metrics_sink, field)
    sink_family(t, sinks, n, "smtpstorm_sink_sessions", NULL, "sessions the sink ended", MS(sessions), 0);
    sink_family(t, sinks, n, "smtpstorm_sink_sessions_active", NULL, "sessions open at the sink now",
                MS(sessions_active), 1);
    sink_family(t, sinks, n, "smtpstorm_sink_messages", NULL, "messages received, traced or not", MS(messages), 0);
    sink_family(t, sinks, n, "smtpstorm_sink_received_bytes", "bytes", "message octets received", MS(bytes), 0);
    sink_family(t, sinks, n, "smtpstorm_sink_untraced", NULL, "messages without an X-Smtpstorm-Trace header",
                MS(untraced), 0);
#undef MS
    metrics_text_family(t, "smtpstorm_sink_received", METRICS_COUNTER, NULL,
                        "distinct messages of a campaign received");
    for (i = 0; i < n; i++)
        for (j = 0; j < sinks[i].n_campaigns; j++)
            metrics_text_counter(t, "smtpstorm_sink_received", (const char *[]){ "sink", sinks[i].id, "campaign",
                                 sinks[i].campaigns[j].campaign, NULL }, sinks[i].campaigns[j].received);
    metrics_text_family(t, "smtpstorm_sink_duplicates", METRICS_COUNTER, NULL,
                        "messages of a campaign received more than once");
    for (i = 0; i < n; i++)
        for (j = 0; j < sinks[i].n_campaigns; j++)
            metrics_text_counter(t, "smtpstorm_sink_duplicates", (const char *[]){ "sink", sinks[i].id, "campaign",
                                 sinks[i].campaigns[j].campaign, NULL }, sinks[i].campaigns[j].duplicates);
    metrics_text_family(t, "smtpstorm_delivery_latency_seconds", METRICS_HISTOGRAM, "seconds",
                        "end-to-end delivery latency, agent send to sink receipt");
    for (i = 0; i < n; i++)
        for (j = 0; j < sinks[i].n_campaigns; j++)
            if (sinks[i].campaigns[j].delivery != NULL && sinks[i].campaigns[j].delivery->count > 0)
                metrics_text_histogram(t, "smtpstorm_delivery_latency_seconds", (const char *[]){ "sink",
                                       sinks[i].id, "campaign", sinks[i].campaigns[j].campaign, NULL },
                                       sinks[i].campaigns[j].delivery);
}

/* ---- the server ---- */

struct metrics_server {
    struct MHD_Daemon *daemon;
    struct published text;          /* the last published document; count: scrapes */
    char address[METRICS_ADDR_MAX];
};

static const char metrics_empty[] = "# EOF\n";

/* Split spec into host and port; 0 or -EINVAL with why in err. */
static int metrics_split(const char *spec, char *host, size_t hostlen, unsigned *port, char *err, size_t errlen)
{
    const char *colon, *h = spec, *end;
    size_t n;
    char *stop;
    unsigned long p;

    if (spec[0] == '[') {
        if ((end = strchr(spec, ']')) == NULL || end[1] != ':')
            goto bad;
        h = spec + 1;
        n = (size_t)(end - h);
        colon = end + 1;
    } else {
        if ((colon = strrchr(spec, ':')) == NULL || strchr(spec, ':') != colon)
            goto bad;
        n = (size_t)(colon - spec);
    }
    if (n == 0 || n >= hostlen)
        goto bad;
    memcpy(host, h, n);
    host[n] = '\0';
    errno = 0;
    p = strtoul(colon + 1, &stop, 10);
    if (colon[1] == '\0' || *stop != '\0' || errno != 0 || p > 65535 || colon[1] == '-' || colon[1] == '+')
        goto bad;
    *port = (unsigned)p;
    return 0;
bad:
    snprintf(err, errlen, "--metrics '%s': expected ADDR:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9464", spec);
    return -EINVAL;
}

int metrics_addr_check(const char *spec, char *err, size_t errlen)
{
    char host[METRICS_ADDR_MAX];
    unsigned port;

    return metrics_split(spec, host, sizeof(host), &port, err, errlen);
}

static enum MHD_Result metrics_answer(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version, const char *upload,
                                      size_t *upload_size, void **req_cls)
{
    struct metrics_server *m = cls;
    struct MHD_Response *resp;
    enum MHD_Result rc;
    unsigned status = MHD_HTTP_OK;
    char *body = NULL;
    size_t len = 0;
    static const char not_found[] = "not found: try /metrics\n", not_allowed[] = "only GET\n";

    (void)version, (void)upload, (void)req_cls;
    if (*upload_size != 0) {        /* no body expected: drop it */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        resp = MHD_create_response_from_buffer(sizeof(not_allowed) - 1, (void *)not_allowed, MHD_RESPMEM_PERSISTENT);
    } else if (strcmp(url, METRICS_PATH) != 0) {
        status = MHD_HTTP_NOT_FOUND;
        resp = MHD_create_response_from_buffer(sizeof(not_found) - 1, (void *)not_found, MHD_RESPMEM_PERSISTENT);
    } else {
        if ((body = published_copy(&m->text, metrics_empty, sizeof(metrics_empty) - 1, &len)) == NULL)
            return MHD_NO;
        published_bump(&m->text);
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    }
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, status == MHD_HTTP_OK
                                  ? METRICS_CONTENT_TYPE : "text/plain; charset=utf-8");
    rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static int metrics_resolve(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai = NULL;
    char host[METRICS_ADDR_MAX], port_text[8];
    unsigned port;
    int rc;

    if (metrics_split(spec, host, sizeof(host), &port, err, errlen) != 0)
        return -EINVAL;
    snprintf(port_text, sizeof(port_text), "%u", port);
    if ((rc = getaddrinfo(host, port_text, &hints, &ai)) != 0 || ai == NULL) {
        snprintf(err, errlen, "'%s': cannot resolve %s: %s", spec, host, gai_strerror(rc));
        return -EINVAL;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);   /* the first address only: bind exactly one */
    *sslen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static void metrics_name_address(struct MHD_Daemon *daemon, const struct sockaddr_storage *ss, char *out, size_t len)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = info ? info->port : 0;

    if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
        snprintf(out, len, "[%s]:%u", host, port);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
        snprintf(out, len, "%s:%u", host, port);
    }
}

struct MHD_Daemon *metrics_http_start(const char *spec, const char *what, MHD_AccessHandlerCallback handler,
                                      void *cls, unsigned conn_limit, char *address, size_t addrlen,
                                      char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    struct MHD_Daemon *daemon;
    sigset_t all, old;
    socklen_t sslen;
    /* epoll (MHD_USE_AUTO), not select(): with thousands of agents
     * connected, every scrape's socket is past FD_SETSIZE, and select-based
     * MHD closes those at once */
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;

    if (metrics_resolve(spec, &ss, &sslen, err, errlen) != 0)
        return NULL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The server's thread inherits this mask: signals stay with the loop. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    daemon = MHD_start_daemon(flags, 0, NULL, NULL, handler, cls,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                              MHD_OPTION_CONNECTION_LIMIT, conn_limit,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONN_TIMEOUT_S,
                              MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (daemon == NULL) {
        snprintf(err, errlen, "%s %s: cannot listen there (in use, or not an address of this host)", what, spec);
        return NULL;
    }
    metrics_name_address(daemon, &ss, address, addrlen);
    (void)sslen;
    return daemon;
}

struct metrics_server *metrics_start(const char *spec, char *err, size_t errlen)
{
    struct metrics_server *m;

    if ((m = calloc(1, sizeof(*m))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    published_init(&m->text);
    m->daemon = metrics_http_start(spec, "--metrics", metrics_answer, m, METRICS_CONN_LIMIT, m->address,
                                   sizeof(m->address), err, errlen);
    if (m->daemon == NULL) {
        published_free(&m->text);
        free(m);
        return NULL;
    }
    return m;
}

const char *metrics_address(const struct metrics_server *m)
{
    return m->address;
}

int metrics_publish(struct metrics_server *m, const struct metrics_text *t)
{
    if (t->failed)
        return -EINVAL;
    return published_set(&m->text, t->buf, t->len);
}

uint64_t metrics_scrapes(struct metrics_server *m)
{
    return published_count(&m->text);
}

void metrics_stop(struct metrics_server *m)
{
    if (m == NULL)
        return;
    MHD_stop_daemon(m->daemon);
    published_free(&m->text);
    free(m);
}
