/* link.c - smtpstorm-agent as a daemon of the coordinator (see link.h): the
 * agent's only file that includes ZeroMQ or protobuf. A Workload becomes a
 * struct workload (every smtp-source letter, targets, phases) checked by
 * agent/guard.c and run by agent/job.c; counters go back through
 * lib/peerlink every second, cumulative. */
#include "link.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "transport.h"
#include "engine.h"
#include "ev.h"
#include "job.h"
#include "log.h"
#include "message.h"
#include "peerlink.h"
#include "resolver.h"
#include "stats.h"

#define LINK_STOP_GRACE_NS  (700 * NS_PER_MS)   /* Stop: messages in hand get this long (obey within 1 s) */
#define LINK_QUIT_NS        (2 * NS_PER_SEC)    /* after a signal, exit at the latest */
#define LINK_WATCH_NS       (250 * NS_PER_MS)   /* how often the coordinator's return is checked */
#define LINK_NOTE_MAX       256
#define LINK_STRING_MAX     1024                /* = WIRE_TEXT_MAX */

struct link {
    const struct agent_options *o;
    struct ev_loop *loop;
    void *zctx;
    struct peerlink *pl;
    int sigfd;
    int exit_code, quitting;

    /* the campaign in hand */
    char campaign[TRACE_ID_MAX];
    struct job *job;            /* kept once done with --rebalance (an extra share may come),
                                 * until the next Workload or the end */
    int keep_done;              /* the Workload's rebalance */
    struct job_phase phases[JOB_PHASES_MAX];
    struct endpoint *targets;   /* the workload's, mx: ones one per MX host */
    size_t n_targets;
    struct message_payload payload;
    struct dist size_dist;      /* the workload's --size, when w.size_dist points here */
    struct dist rcpt_dist;      /* its --recipients, when w.rcpt_dist points here */
    struct source_pool sources; /* its --source, when w.sources points here */
    struct mime_spec mime;      /* its --mime, when w.mime points here */
    struct dist attach_size, attach_count, text_size;
    struct mime_pool mime_pool;
    struct spread rcpt_spread, sender_spread;   /* --rcpt-*, --senders */
    struct corpus corpus;       /* --corpus, read from this host */
    void *tls_ctx;
    char helo[LINK_STRING_MAX], from[MESSAGE_ADDR_MAX], to[MESSAGE_ADDR_MAX];
    char default_addr[LINK_STRING_MAX + 8], subject[LINK_STRING_MAX];
    char auth_user[AUTH_FIELD_MAX + 1], auth_pass[AUTH_FIELD_MAX + 1];
    char note[LINK_NOTE_MAX];               /* the ceilings applied, for Done's status */
    char stop_reason[LINK_NOTE_MAX];        /* why it ended early, "" when it did not */
    uint32_t report_ms;
    uint64_t start_mono_ns, cpu0, seq;
    struct load_stats *snap;
    struct wire_seconds_store *seconds;     /* the event-time rows of a report */
    struct resolver *resolver;              /* target names, looked up on the loop */
    struct ev_timer start_timer, report_timer, abort_timer, reap_timer, watch_timer, quit_timer;
    int lost;                               /* the coordinator fell silent; not back yet */
};

/* ---- the campaign's life ---- */

/* link_seconds - the last closed seconds of the job's window, and what all
 * seconds before them held, for a report (after job_snapshot). */
static Smtpstorm__Seconds *link_seconds(struct link *l)
{
    const struct seconds_window *w = job_seconds(l->job);
    const struct meter_second *row;
    struct wire_seconds src;
    uint32_t t, from;

    memset(&src, 0, sizeof(src));
    src.closed = w->closed;
    src.last_ns = w->last_ns;
    seconds_totals_before(w, w->closed, &src.before);
    src.total = w->total;
    from = w->closed > METER_WINDOW ? w->closed - METER_WINDOW : 0;
    for (t = from; t < w->closed && src.n < WIRE_SECONDS_MAX; t++) {
        if ((row = seconds_find(w, t)) == NULL)
            continue;
        src.rows[src.n] = &row->n;
        src.messages[src.n] = &row->message;
        src.n++;
    }
    return wire_seconds_fill(l->seconds, &src);
}

static void link_meta(struct link *l, struct wire_progress_meta *m)
{
    uint64_t now = clock_mono_ns();

    memset(m, 0, sizeof(*m));
    m->seconds = l->job ? link_seconds(l) : NULL;
    m->campaign = l->campaign;
    m->seq = ++l->seq;
    m->elapsed_ns = l->start_mono_ns && now > l->start_mono_ns ? now - l->start_mono_ns : 0;
    m->cpu_ns = l->start_mono_ns ? clock_cpu_ns() - l->cpu0 : 0;
    m->sessions_active = l->job ? job_sessions_active(l->job) : 0;
    m->corpus_messages = l->corpus.n;
    m->corpus_skipped = l->corpus.skipped;
    m->source_pool = l->sources.n;
}

/* link_arm_report - the next report at start + k intervals after now, so
 * reports keep their phase and never drift across the coordinator's
 * one-second timeline rows (a job that ran again after a pause, or joined
 * late, skips the ones it missed); none without an interval. */
static void link_arm_report(struct link *l)
{
    uint64_t interval = (uint64_t)l->report_ms * NS_PER_MS, now = clock_mono_ns();

    if (interval == 0)
        return;
    ev_timer_start_at(l->loop, &l->report_timer,
                      l->start_mono_ns + ((now - l->start_mono_ns) / interval + 1) * interval);
}

static void link_on_report(struct ev_loop *loop, void *arg)
{
    struct link *l = arg;
    struct wire_progress_meta m;

    (void)loop;
    if (l->job == NULL || !job_running(l->job))
        return;
    job_snapshot(l->job, l->snap);
    link_meta(l, &m);
    (void)peerlink_send_progress(l->pl, l->snap, &m);
    link_arm_report(l);
}

/* link_release - forget the campaign's job and what it used. */
static void link_release(struct link *l)
{
    job_free(l->job);
    l->job = NULL;
    message_payload_free(&l->payload);
    source_pool_free(&l->sources);
    mime_pool_free(&l->mime_pool);
    corpus_free(&l->corpus);
    spread_free(&l->rcpt_spread);
    spread_free(&l->sender_spread);
    memset(&l->payload, 0, sizeof(l->payload));
    transport_ctx_free(l->tls_ctx);
    l->tls_ctx = NULL;
    free(l->targets);
    l->targets = NULL;
    ev_timer_stop(l->loop, &l->start_timer);
    ev_timer_stop(l->loop, &l->report_timer);
    ev_timer_stop(l->loop, &l->abort_timer);
    ev_timer_stop(l->loop, &l->reap_timer);
}

static void link_on_reap(struct ev_loop *loop, void *arg)
{
    struct link *l = arg;

    (void)loop;
    link_release(l);
    if (l->quitting)
        ev_stop(l->loop);
}

/* The job has ended (its callback, on our loop): say Done once. */
static void link_on_job_done(void *arg)
{
    struct link *l = arg;
    struct wire_progress_meta m;
    char status[2 * LINK_NOTE_MAX + ENGINE_FATAL_MAX];
    const char *fatal = job_fatal(l->job);

    ev_timer_stop(l->loop, &l->report_timer);
    ev_timer_stop(l->loop, &l->abort_timer);
    job_snapshot(l->job, l->snap);
    link_meta(l, &m);
    if (fatal)
        snprintf(status, sizeof(status), "aborted: %s", fatal);
    else if (l->stop_reason[0])
        snprintf(status, sizeof(status), "%s", l->stop_reason);
    else
        status[0] = '\0';
    if (l->note[0])
        snprintf(status + strlen(status), sizeof(status) - strlen(status), "%s%s",
                 status[0] ? "; " : "", l->note);
    if (peerlink_send_done(l->pl, l->snap, &m, status) != 0)
        log_debug("campaign %s: Done kept until the coordinator asks again", l->campaign);
    log_debug("campaign %s done: %llu accepted, %llu errors%s%s", l->campaign,
             (unsigned long long)l->snap->messages_accepted, (unsigned long long)l->snap->errors,
             status[0] ? ": " : "", status);
    if (l->quitting || !l->keep_done)
        ev_timer_start(l->loop, &l->reap_timer, 0);     /* free the job outside its callback */
}

/* link_start_job - start the job now, its seconds and reports counted
 * from origin_ns (monotonic: now, or a campaign's start it joins late). */
static void link_start_job(struct link *l, uint64_t origin_ns)
{
    int rc;

    l->start_mono_ns = origin_ns;
    l->cpu0 = clock_cpu_ns();
    if ((rc = job_start(l->job)) != 0) {
        log_error("campaign %s: cannot start: %s", l->campaign, strerror(-rc));
        return;                 /* the job stops itself and says done */
    }
    link_arm_report(l);
}

static void link_on_start_timer(struct ev_loop *loop, void *arg)
{
    (void)loop;
    link_start_job(arg, clock_mono_ns());
}

static void link_on_abort_timer(struct ev_loop *loop, void *arg)
{
    struct link *l = arg;

    (void)loop;
    if (l->job)
        job_stop(l->job, 1);
}

/* link_stop_job - end the campaign early: drain (then abort after the grace)
 * or abort at once. */
static void link_stop_job(struct link *l, const char *reason, int abort)
{
    if (l->job == NULL)
        return;
    if (l->stop_reason[0] == '\0')
        snprintf(l->stop_reason, sizeof(l->stop_reason), "%s", reason);
    ev_timer_stop(l->loop, &l->start_timer);
    job_stop(l->job, abort);
    if (!abort && !ev_timer_armed(&l->abort_timer))
        ev_timer_start(l->loop, &l->abort_timer, LINK_STOP_GRACE_NS);
}

/* ---- a Workload into a job ---- */

/* link_copy - a string of the Workload into buf; -1 when too long or it
 * holds a line break (it would end up in an SMTP command or header). */
static int link_copy(char *buf, size_t len, const char *s)
{
    s = wire_text(s);
    if (strlen(s) >= len || strpbrk(s, "\r\n"))
        return -1;
    snprintf(buf, len, "%s", s);
    return 0;
}

/* link_strings - the message's names and addresses; 0 or -EINVAL with why. */
static int link_strings(struct link *l, const Smtpstorm__Workload *pw, struct workload *w, char *why,
                        size_t whylen)
{
    const char *colon, *auth = wire_text(pw->auth);

    if (link_copy(l->helo, sizeof(l->helo), pw->helo_name) || link_copy(l->from, sizeof(l->from), pw->from)
        || link_copy(l->to, sizeof(l->to), pw->to) || link_copy(l->subject, sizeof(l->subject), pw->subject)) {
        snprintf(why, whylen, "a name, address or subject is too long or holds a line break");
        return -EINVAL;
    }
    if (l->helo[0] == '\0' && (gethostname(l->helo, sizeof(l->helo) - 1) != 0 || l->helo[0] == '\0'))
        snprintf(l->helo, sizeof(l->helo), "localhost");
    if (!options_valid_hostname(l->helo)) {
        snprintf(why, whylen, "bad -M hostname: %s", l->helo);
        return -EINVAL;
    }
    snprintf(l->default_addr, sizeof(l->default_addr), "foo@%s", l->helo);
    w->myhostname = l->helo;
    w->sender = l->from[0] ? l->from : l->default_addr;
    w->recipient = l->to[0] ? l->to : l->default_addr;
    w->subject = l->subject[0] ? l->subject : NULL;
    if (strlen(w->sender) > MESSAGE_ADDR_MAX - 8 || strlen(w->recipient) > MESSAGE_ADDR_MAX - 32) {
        snprintf(why, whylen, "sender or recipient address too long");
        return -EINVAL;
    }
    if (auth[0]) {
        colon = strchr(auth, ':');
        if (colon == NULL || colon == auth || (size_t)(colon - auth) > AUTH_FIELD_MAX
            || strlen(colon + 1) > AUTH_FIELD_MAX) {
            snprintf(why, whylen, "bad --auth value: want USER:PASS, each at most %d octets", AUTH_FIELD_MAX);
            return -EINVAL;
        }
        memcpy(l->auth_user, auth, (size_t)(colon - auth));
        l->auth_user[colon - auth] = '\0';
        snprintf(l->auth_pass, sizeof(l->auth_pass), "%s", colon + 1);
        w->auth_user = l->auth_user;
        w->auth_pass = l->auth_pass;
    }
    return 0;
}

/* link_mime - --mime's parts (the text part of size or -l octets, the
 * attachments) and the pools they are cut from. */
static int link_mime(struct link *l, const Smtpstorm__Workload *pw, struct workload *w, char *why,
                     size_t whylen)
{
    char sub[256];

    memset(&l->mime, 0, sizeof(l->mime));
    if (pw->content.len > 0 || pw->old_mode) {
        snprintf(why, whylen, "--mime cannot be used with -F or -o");
        return -EINVAL;
    }
    if (pw->attach && pw->attach[0]) {
        if (dist_parse(&l->attach_size, pw->attach, DIST_SIZES, 0, MIME_ATTACH_SIZE_MAX, sub, sizeof(sub)) != 0)
            return snprintf(why, whylen, "--attach: %s", sub), -EINVAL;
        l->mime.attach_size = &l->attach_size;
    }
    if (pw->attachments && pw->attachments[0]) {
        if (dist_parse(&l->attach_count, pw->attachments, DIST_COUNTS, 0, MIME_ATTACH_MAX, sub, sizeof(sub)) != 0)
            return snprintf(why, whylen, "--attachments: %s", sub), -EINVAL;
        l->mime.attach_count = &l->attach_count;
    }
    dist_fixed(&l->text_size, pw->length);
    l->mime.text_size = pw->size && pw->size[0] ? &l->size_dist : pw->has_length ? &l->text_size : NULL;
    w->send_headers = 0;        /* its own come with it */
    mime_pool_free(&l->mime_pool);
    if (mime_pool_for(&l->mime_pool, &l->mime, w->seed) != 0)
        return snprintf(why, whylen, "out of memory for the --mime pools"), -ENOMEM;
    w->mime = &l->mime;
    w->mime_pool = &l->mime_pool;
    return 0;
}

/* link_message - the payload (-F content, -l length, or the pattern --size
 * cuts bodies from) and TLS context. */
static int link_message(struct link *l, const Smtpstorm__Workload *pw, struct workload *w, char *why,
                        size_t whylen)
{
    int mime = pw->mime || (pw->attach && pw->attach[0]), rc;

    w->seed = pw->seed;
    if (pw->size && pw->size[0]) {  /* the body's length; with --mime, the text part's */
        char sub[256];

        if (pw->content.len > 0 || pw->has_length) {
            snprintf(why, whylen, "--size cannot be used with -l or -F");
            return -EINVAL;
        }
        if (dist_parse(&l->size_dist, pw->size, DIST_SIZES, 0, DIST_SIZE_MAX, sub, sizeof(sub)) != 0) {
            snprintf(why, whylen, "--size: %s", sub);
            return -EINVAL;
        }
        if (!mime)
            w->size_dist = &l->size_dist;
    }
    if (w->size_dist) {             /* the line pattern every drawn body is cut from */
        rc = message_payload_generate((size_t)dist_max(w->size_dist) + MESSAGE_LINE_LEN, &l->payload);
    } else if (pw->content.len > 0) {
        rc = message_payload_from_text((const char *)pw->content.data, pw->content.len, &l->payload);
        w->send_headers = 0;    /* the file brings its own */
    } else {
        if (pw->length > MESSAGE_LENGTH_MAX) {
            snprintf(why, whylen, "bad -l length %llu", (unsigned long long)pw->length);
            return -EINVAL;
        }
        rc = message_payload_generate((size_t)pw->length, &l->payload);
    }
    if (rc != 0) {
        snprintf(why, whylen, "cannot build the message: %s", strerror(-rc));
        return rc;
    }
    w->payload = &l->payload;
    if (pw->corpus && pw->corpus[0]) {     /* a path on this host: read and checked now */
        corpus_free(&l->corpus);
        if ((rc = corpus_load(&l->corpus, pw->corpus, pw->corpus_shuffle, w->seed, why, whylen)) != 0)
            return rc;
        w->corpus = &l->corpus;
        w->send_headers = 0;
    }
    if (mime) {
        if ((rc = link_mime(l, pw, w, why, whylen)) != 0)
            return rc;
    }
    if (w->starttls) {
        if ((rc = transport_client_ctx_new(&l->tls_ctx, 0, NULL, why, whylen)) != 0
            || (w->tls_resume && (rc = transport_client_ctx_resume(l->tls_ctx, why, whylen)) != 0))
            return rc;
        w->tls_ctx = l->tls_ctx;
    }
    return 0;
}

/* link_ceilings - apply --max-rate and --max-sessions to the workload and
 * its phases; what was lowered is noted for the report. */
static void link_ceilings(struct link *l, struct workload *w, size_t n_phases)
{
    const struct guard *g = &l->o->guard;
    double asked = w->rate;                 /* the highest rate asked; 0: unlimited */
    uint32_t sessions = (uint32_t)w->sessions, asked_sessions = sessions;
    int what;
    size_t i;

    what = guard_clamp(g, &w->rate, &sessions);
    w->sessions = (int)sessions;
    for (i = 0; i < n_phases; i++) {
        uint32_t s = l->phases[i].sessions;

        if (asked > 0 && (l->phases[i].rate <= 0 || l->phases[i].rate > asked))
            asked = l->phases[i].rate;
        if (s > asked_sessions)
            asked_sessions = s;
        what |= guard_clamp(g, &l->phases[i].rate, &s);
        l->phases[i].sessions = s;
    }
    l->note[0] = '\0';
    if (what & GUARD_CLAMPED_RATE) {
        char text[64] = "no limit";

        if (asked > 0)
            snprintf(text, sizeof(text), "%g msg/s", asked);
        snprintf(l->note, sizeof(l->note), "rate held to this agent's --max-rate %g msg/s (asked %s)",
                 g->max_rate, text);
    }
    if (what & GUARD_CLAMPED_SESSIONS)
        snprintf(l->note + strlen(l->note), sizeof(l->note) - strlen(l->note),
                 "%ssessions held to this agent's --max-sessions %u (asked %u)", l->note[0] ? "; " : "",
                 g->max_sessions, asked_sessions);
    if (l->note[0])
        log_warn("campaign %s: %s", l->campaign, l->note);
}

/* link_lookup - guard_lookup_fn over the link's resolver: target names are
 * looked up on the loop, never waited for. */
static int link_lookup(void *arg, const struct endpoint *ep, enum endpoint_family family,
                       struct endpoint_addr *out, int max, char *err, size_t errlen)
{
    struct link *l = arg;

    return resolver_lookup(l->resolver, ep, family, out, max, err, errlen);
}

/* link_mx_target - "mx:DOMAIN[:port]" (spec past its prefix): one target
 * for each address of the domain's most preferred MX hosts, all checked
 * against the allow-list, into out (room for RESOLVER_ADDRS_MAX). Returns
 * how many, -EINPROGRESS while the lookup is on its way, or -errno with
 * why. STARTTLS to an address names its MX host (SNI), as an MTA would. */
static int link_mx_target(struct link *l, const char *spec, int family, struct endpoint *out, char *why,
                          size_t whylen)
{
    struct endpoint_addr addrs[RESOLVER_ADDRS_MAX];
    struct endpoint ep;
    char err[200], domain[ENDPOINT_HOST_MAX];
    int n, i, rc;

    if (endpoint_parse(spec, "25", &ep, err, sizeof(err)) != 0 || ep.is_unix) {
        snprintf(why, whylen, "bad target %s%.*s: %s", RESOLVER_MX_PREFIX, 200, spec,
                 ep.is_unix ? "not a domain" : err);
        return -EINVAL;
    }
    snprintf(domain, sizeof(domain), "%s", ep.host);
    snprintf(ep.host, sizeof(ep.host), "%s%.*s", RESOLVER_MX_PREFIX,
             (int)(sizeof(ep.host) - sizeof(RESOLVER_MX_PREFIX)), domain);
    n = resolver_lookup(l->resolver, &ep, (enum endpoint_family)family, addrs, RESOLVER_ADDRS_MAX, err,
                        sizeof(err));
    if (n <= 0) {
        snprintf(why, whylen, "%s target %s%.*s: %s", n == -EINPROGRESS ? "looking up" : "cannot resolve",
                 RESOLVER_MX_PREFIX, 200, domain, n < 0 ? err : "no address");
        return n < 0 ? n : -ENOENT;
    }
    if ((rc = guard_check_addrs(&l->o->guard, &ep, addrs, n, link_lookup, l, out, n, why, whylen)) != 0)
        return rc;
    for (i = 0; i < n; i++)
        snprintf(out[i].name, sizeof(out[i].name), "%s",
                 resolver_mx_host(l->resolver, &ep, (enum endpoint_family)family, i));
    return n;
}

/* link_targets - parse and check every target against the allow-list; a
 * name not looked up yet starts its lookup, and every target is checked
 * (so every lookup runs at once) before -EINPROGRESS is returned. An
 * mx:DOMAIN target becomes one target per preferred MX host. */
static int link_targets(struct link *l, const Smtpstorm__Workload *pw, int family, char *why, size_t whylen)
{
    size_t mx_prefix = strlen(RESOLVER_MX_PREFIX), i, cap = 0;
    struct endpoint ep;
    char err[512];
    int rc, pending = 0;

    if (pw->n_targets == 0) {
        snprintf(why, whylen, "the workload names no target");
        return -EINVAL;
    }
    for (i = 0; i < pw->n_targets; i++)
        cap += strncasecmp(pw->targets[i], RESOLVER_MX_PREFIX, mx_prefix) == 0 ? RESOLVER_ADDRS_MAX : 1;
    if ((l->targets = calloc(cap, sizeof(*l->targets))) == NULL) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    l->n_targets = 0;
    for (i = 0; i < pw->n_targets; i++) {
        if (strncasecmp(pw->targets[i], RESOLVER_MX_PREFIX, mx_prefix) == 0) {
            rc = link_mx_target(l, pw->targets[i] + mx_prefix, family, &l->targets[l->n_targets], err,
                                sizeof(err));
            if (rc > 0)
                l->n_targets += (size_t)rc;
        } else if (endpoint_parse(pw->targets[i], "25", &ep, err, sizeof(err)) != 0) {
            snprintf(why, whylen, "bad target %s: %s", pw->targets[i], err);
            return -EINVAL;
        } else if ((rc = guard_check_target(&l->o->guard, &ep, family, link_lookup, l,
                                            &l->targets[l->n_targets], err, sizeof(err))) == 0) {
            l->n_targets++;
        }
        if (rc == -EINPROGRESS && pending++ == 0)
            snprintf(why, whylen, "%s", err);
        else if (rc < 0 && rc != -EINPROGRESS) {
            snprintf(why, whylen, "%s", err);
            return rc;
        }
    }
    return pending ? -EINPROGRESS : 0;
}

static void link_phases(struct link *l, const Smtpstorm__Workload *pw)
{
    size_t i;

    for (i = 0; i < pw->n_phases && i < JOB_PHASES_MAX; i++) {
        const Smtpstorm__Phase *p = pw->phases[i];

        l->phases[i].kind = p->kind == SMTPSTORM__PHASE__KIND__RAMP ? JOB_PHASE_RAMP
                            : p->kind == SMTPSTORM__PHASE__KIND__SPIKE ? JOB_PHASE_SPIKE : JOB_PHASE_STEADY;
        l->phases[i].duration_ns = p->duration_ms * NS_PER_MS;
        l->phases[i].rate = (double)p->rate_milli / 1000.0;
        l->phases[i].sessions = p->sessions;
    }
}

/* link_spreads - --rcpt-domains, --rcpt-file, --rcpt-zipf and --senders
 * into w (after -f and -t). */
static int link_spreads(struct link *l, const Smtpstorm__Workload *pw, struct workload *w, char *why,
                        size_t whylen)
{
    double zipf = (double)pw->rcpt_zipf_milli / 1000;
    int rc = 0;

    spread_free(&l->rcpt_spread);
    spread_free(&l->sender_spread);
    if (pw->rcpt_domains)
        rc = spread_numbered(&l->rcpt_spread, w->recipient, 1, pw->rcpt_domains, zipf, why, whylen);
    else if (pw->rcpt_list.len)
        rc = spread_parse_list(&l->rcpt_spread, "--rcpt-file", (const char *)pw->rcpt_list.data,
                               pw->rcpt_list.len, zipf, why, whylen);
    if (rc != 0)
        return rc;
    if (pw->rcpt_domains || pw->rcpt_list.len)
        w->rcpt_spread = &l->rcpt_spread;
    if (pw->senders)
        rc = spread_numbered(&l->sender_spread, w->sender, 0, pw->senders, 0, why, whylen);
    else if (pw->sender_list.len)
        rc = spread_parse_list(&l->sender_spread, "--senders", (const char *)pw->sender_list.data,
                               pw->sender_list.len, 0, why, whylen);
    if (rc == 0 && (pw->senders || pw->sender_list.len))
        w->sender_spread = &l->sender_spread;
    return rc;
}

/* link_workload - every field of pw into w (the smtp-source letters). */
static int link_workload(struct link *l, const Smtpstorm__Workload *pw, struct workload *w, char *why,
                         size_t whylen)
{
    uint32_t recipients = pw->recipients ? pw->recipients : 1;
    char sub[256];

    workload_defaults(w);
    if (pw->recipients_dist && pw->recipients_dist[0]) {
        if (dist_parse(&l->rcpt_dist, pw->recipients_dist, DIST_COUNTS, 1, OPTIONS_RCPTS_MAX, sub,
                       sizeof(sub)) != 0) {
            snprintf(why, whylen, "--recipients: %s", sub);
            return -EINVAL;
        }
        w->rcpt_dist = &l->rcpt_dist;
        recipients = (uint32_t)dist_max(w->rcpt_dist);
    }
    if (pw->source && pw->source[0]) {     /* this host must have every address */
        source_pool_free(&l->sources);
        if (source_pool_parse(&l->sources, pw->source, why, whylen) != 0
            || source_pool_check(&l->sources, why, whylen) != 0)
            return -EINVAL;
        w->sources = &l->sources;
    }
    if (pw->messages == 0 && pw->duration_ms == 0 && pw->n_phases == 0) {
        snprintf(why, whylen, "nothing to send: no messages, duration or phases");
        return -EINVAL;
    }
    if (pw->sessions == 0 || pw->sessions > OPTIONS_SESSIONS_MAX || recipients > OPTIONS_RCPTS_MAX
        || pw->reset_retries > 1000000 || pw->window > (1u << 30)) {
        snprintf(why, whylen, "sessions, recipients, -C or -T out of range");
        return -EINVAL;
    }
    w->family = pw->family == 4 ? ENDPOINT_IPV4 : pw->family == 6 ? ENDPOINT_IPV6 : ENDPOINT_ANY;
    w->sndbuf = (int)pw->window;
    w->connect_tries = pw->reset_retries ? (int)pw->reset_retries : 1;
    w->sessions = (int)pw->sessions;
    w->messages = pw->messages ? pw->messages : WORKLOAD_UNLIMITED;
    w->rate = (double)pw->rate_milli / 1000.0;
    w->duration_ns = pw->duration_ms * NS_PER_MS;
    if (pw->timeout_ms)             /* validated by lib/wire.c; 0: smtp-source's default */
        w->timeout_ns = pw->timeout_ms * NS_PER_MS;
    w->session_timeout_ns = pw->session_timeout_ms * NS_PER_MS;
    w->fixed_delay_s = (unsigned)((pw->fixed_wait_ms + 999) / 1000);     /* whole seconds, as -w */
    w->random_delay_s = (unsigned)((pw->random_wait_ms + 999) / 1000);
    w->lmtp = pw->lmtp;
    w->disconnect = !pw->reuse_session;
    w->send_helo = w->send_headers = !pw->old_mode;
    w->allow_reject = pw->no_abort;
    w->pipelining = pw->pipelining;
    w->smtputf8 = pw->smtputf8;
    w->tls_resume = pw->starttls && pw->tls_resume;
    w->chunking = pw->chunking;
    w->starttls = pw->starttls;
    w->mail_size = 1;               /* campaigns say SIZE= whenever the server offers SIZE */
    w->verbose = (int)pw->verbose;
    w->recipients = (int)recipients;
    w->number_rcpts = pw->number_recipients;
    workload_number(w, pw->seq_first, pw->seq_stride);
    w->trace = !pw->old_mode;
    snprintf(w->campaign, sizeof(w->campaign), "%s", pw->campaign);
    snprintf(w->agent_id, sizeof(w->agent_id), "%s", l->o->w.agent_id);
    w->envelope_trace = w->trace && pw->envelope_trace;
    if (workload_set_pair(w) != 0 && w->trace) {
        snprintf(why, whylen, "bad campaign id for the trace: %s", w->campaign);
        return -EINVAL;
    }
    link_phases(l, pw);
    link_ceilings(l, w, pw->n_phases);
    if (link_strings(l, pw, w, why, whylen) != 0 || link_spreads(l, pw, w, why, whylen) != 0)
        return -EINVAL;
    return link_message(l, pw, w, why, whylen);
}

/* link_take_part - campaign pw's part into a job, its event-time seconds
 * counted from origin_ns (monotonic; 0: its start). 0, or -errno with why
 * (-EAGAIN: not yet, the coordinator asks again). */
static int link_take_part(struct link *l, const Smtpstorm__Workload *pw, uint64_t origin_ns, char *why,
                          size_t whylen)
{
    struct job_spec spec;
    int rc;

    if (l->quitting) {
        snprintf(why, whylen, "the agent is shutting down");
        return -ESHUTDOWN;
    }
    link_release(l);
    memset(&spec, 0, sizeof(spec));
    snprintf(l->campaign, sizeof(l->campaign), "%s", pw->campaign);
    l->stop_reason[0] = l->note[0] = '\0';
    l->start_mono_ns = l->seq = 0;
    if ((rc = link_workload(l, pw, &spec.w, why, whylen)) != 0
        || (rc = link_targets(l, pw, (int)spec.w.family, why, whylen)) != 0)
        goto refuse;
    spec.w.origin_ns = origin_ns;
    spec.targets = l->targets;
    spec.n_targets = l->n_targets;
    spec.target_first = pw->target_first;
    spec.phases = l->phases;
    spec.n_phases = pw->n_phases;
    spec.threads = l->o->threads;
    if ((l->job = job_new(l->loop, &spec, link_on_job_done, l, why, whylen)) == NULL) {
        rc = -EINVAL;
        goto refuse;
    }
    l->keep_done = pw->rebalance;
    l->report_ms = l->o->report_interval_ms >= 0 ? (uint32_t)l->o->report_interval_ms
                   : pw->report_interval_ms ? pw->report_interval_ms : 1000;
    log_debug("campaign %s: accepted: %d sessions, %llu messages (0: timed), %llu ms, %zu targets",
             l->campaign, spec.w.sessions, (unsigned long long)pw->messages,
             (unsigned long long)pw->duration_ms, pw->n_targets);
    return 0;

refuse:
    if (rc == -EINPROGRESS) {
        log_debug("campaign %s: %s; answering when the coordinator asks again", pw->campaign, why);
        rc = -EAGAIN;
    } else if (rc == -EAGAIN)
        log_warn("campaign %s: %s; answering when the coordinator asks again", pw->campaign, why);
    else
        log_warn("refused campaign %s: %s", pw->campaign, why);
    link_release(l);
    return rc ? rc : -EINVAL;
}

static int link_on_workload(struct peerlink *pl, const Smtpstorm__Workload *pw, char *why, size_t whylen,
                            void *arg)
{
    (void)pl;
    return link_take_part(arg, pw, 0, why, whylen);
}

/* link_join - --rebalance: a lost agent's messages for a campaign this
 * agent holds no part of: take them as its part and start at once, its
 * seconds counted from the campaign's start (pw->start_ns, our wall clock). */
static int link_join(struct link *l, const Smtpstorm__Workload *pw, char *why, size_t whylen)
{
    uint64_t wall = clock_wall_ns(), mono = clock_mono_ns(), origin = mono;
    int rc;

    if (pw->start_ns > 0 && pw->start_ns < wall && wall - pw->start_ns < mono)
        origin = mono - (wall - pw->start_ns);
    if ((rc = link_take_part(l, pw, origin, why, whylen)) != 0)
        return rc;
    link_start_job(l, origin);
    log_info("campaign %s: joined with extra share %u: %llu messages, numbers from %llu by %llu", l->campaign,
             pw->extension, (unsigned long long)pw->messages, (unsigned long long)pw->seq_first,
             (unsigned long long)pw->seq_stride);
    return 0;
}

/* link_on_extend - an extra share of the running campaign (--rebalance:
 * messages a lost agent never sent), beside this agent's own. */
static int link_on_extend(struct peerlink *pl, const Smtpstorm__Workload *pw, char *why, size_t whylen,
                          void *arg)
{
    struct link *l = arg;
    struct job_extra x;
    int rc;

    (void)pl;
    if (l->quitting || l->lost) {
        snprintf(why, whylen, "extra share refused: the agent is shutting down or lost its coordinator");
        return -EBUSY;
    }
    if (l->job == NULL || strcmp(l->campaign, pw->campaign) != 0)
        return link_join(l, pw, why, whylen);
    x.messages = pw->messages;
    x.sessions = pw->sessions;
    x.rate = (double)pw->rate_milli / 1000.0;
    x.seq_first = pw->seq_first;
    x.seq_stride = pw->seq_stride;
    if ((rc = job_extend(l->job, &x, why, whylen)) != 0) {
        log_warn("campaign %s: extra share %u refused: %s", l->campaign, pw->extension, why);
        return rc;
    }
    if (!ev_timer_armed(&l->report_timer))      /* it had finished */
        link_arm_report(l);
    log_info("campaign %s: extra share %u taken: %llu messages, numbers from %llu by %llu", l->campaign,
             pw->extension, (unsigned long long)x.messages, (unsigned long long)x.seq_first,
             (unsigned long long)x.seq_stride);
    return 0;
}

/* ---- the coordinator's other orders ---- */

static void link_on_start(struct peerlink *pl, const Smtpstorm__Start *s, uint64_t local_start_ns, void *arg)
{
    struct link *l = arg;
    uint64_t now = clock_wall_ns();

    (void)pl;
    (void)s;
    if (l->job == NULL || l->quitting)
        return;
    ev_timer_start(l->loop, &l->start_timer, local_start_ns > now ? local_start_ns - now : 0);
}

static void link_on_stop(struct peerlink *pl, const char *campaign, const char *reason, void *arg)
{
    struct link *l = arg;
    char why[LINK_NOTE_MAX];

    (void)pl;
    (void)campaign;
    snprintf(why, sizeof(why), "stopped: %s", reason[0] ? reason : "by the coordinator");
    link_stop_job(l, why, 0);
}

static void link_on_lost(struct peerlink *pl, void *arg)
{
    struct link *l = arg;

    (void)pl;
    l->lost = 1;
    if (l->job) {
        log_warn("campaign %s: coordinator lost: all load stopped", l->campaign);
        link_stop_job(l, "coordinator lost: load stopped", 1);
    }
}

static void link_on_refused(struct peerlink *pl, const char *text, void *arg)
{
    struct link *l = arg;

    (void)pl;
    log_error("the coordinator refused this agent: %s", text);
    l->exit_code = 1;
    l->quitting = 1;
    link_stop_job(l, "refused by the coordinator", 1);
    ev_stop(l->loop);
}

/* link_on_watch - say when a lost coordinator answers again. */
static void link_on_watch(struct ev_loop *loop, void *arg)
{
    struct link *l = arg;

    if (l->lost && peerlink_welcomed(l->pl)) {
        l->lost = 0;
        log_warn("coordinator is back: waiting for the next campaign");
    }
    ev_timer_start(loop, &l->watch_timer, LINK_WATCH_NS);
}

static void link_on_quit(struct ev_loop *loop, void *arg)
{
    (void)arg;
    ev_stop(loop);
}

static void link_on_signal(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct link *l = arg;
    struct signalfd_siginfo si;

    (void)events;
    if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    if (l->quitting) {
        ev_stop(loop);
        return;
    }
    l->quitting = 1;
    if (l->job && job_running(l->job)) {
        log_warn("signal %u: stopping the campaign's load", si.ssi_signo);
        link_stop_job(l, "the agent was stopped by a signal", 1);
        ev_timer_start(loop, &l->quit_timer, LINK_QUIT_NS);
    } else {
        ev_stop(loop);
    }
}

/* ---- setup ---- */

static int link_open(struct link *l, char *err, size_t errlen)
{
    struct peerlink_callbacks cb = { link_on_workload, link_on_start, link_on_stop, link_on_lost,
                                     link_on_refused, NULL, link_on_extend };
    struct peerlink_opts po = { .endpoint = l->o->coordinator, .id = l->o->w.agent_id,
                                .role = PEERLINK_AGENT, .dead_ms = l->o->heartbeat_timeout_ms };
    struct peerlink_keys keys;
    sigset_t sigs;

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    l->sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if ((l->snap = malloc(sizeof(*l->snap))) == NULL || (l->seconds = wire_seconds_store_new(1)) == NULL
        || (l->loop = ev_loop_new()) == NULL
        || (l->zctx = zmq_ctx_new()) == NULL || l->sigfd < 0
        || ev_io_set(l->loop, l->sigfd, EV_READ, link_on_signal, l) != 0) {
        snprintf(err, errlen, "cannot set up the event loop: %s", strerror(errno));
        return -1;
    }
    ev_timer_init(&l->start_timer, link_on_start_timer, l);
    ev_timer_init(&l->report_timer, link_on_report, l);
    ev_timer_init(&l->abort_timer, link_on_abort_timer, l);
    ev_timer_init(&l->reap_timer, link_on_reap, l);
    ev_timer_init(&l->watch_timer, link_on_watch, l);
    ev_timer_init(&l->quit_timer, link_on_quit, l);
    ev_timer_start(l->loop, &l->watch_timer, LINK_WATCH_NS);
    if ((l->resolver = resolver_new(l->loop, err, errlen)) == NULL)
        return -1;
    if (peerlink_keys_apply(&po, &keys, l->o->key_file, l->o->coordinator_key_file, l->o->insecure,
                            err, errlen) != 0)
        return -1;
    l->pl = peerlink_open(l->zctx, l->loop, &po, &cb, l, err, errlen);
    explicit_bzero(&keys, sizeof(keys));
    return l->pl ? 0 : -1;
}

int link_run(const struct agent_options *o)
{
    static struct link l;
    char err[512];

    memset(&l, 0, sizeof(l));
    l.o = o;
    l.sigfd = -1;
    if (link_open(&l, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: fatal: %s\n", log_progname(), err);
        l.exit_code = 1;
    } else {
        log_debug("agent %s: connecting to %s", o->w.agent_id, o->coordinator);
        (void)ev_run(l.loop);
    }
    link_release(&l);
    peerlink_close(l.pl);
    resolver_free(l.resolver);
    if (l.zctx)
        zmq_ctx_term(l.zctx);
    if (l.loop)
        ev_loop_free(l.loop);
    if (l.sigfd >= 0)
        close(l.sigfd);
    free(l.snap);
    wire_seconds_store_free(l.seconds);
    return l.exit_code;
}
