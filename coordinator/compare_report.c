/* compare_report.c - a JSON report read back for `smtpstorm compare` (see
 * compare.h): loaded and recognised, two of them checked to be
 * comparable, and the values thresholds ask for taken from the tree. */
#include "compare.h"
#include "readfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int compare_report_load(const char *path, struct compare_report *r, char *err, size_t errlen)
{
    char *text = NULL, why[256];
    size_t len = 0;
    int rc;

    memset(r, 0, sizeof(*r));
    r->path = path;
    if ((rc = readfile_all(path, JSONREAD_TEXT_MAX, &text, &len, why, sizeof(why))) != 0)
        return snprintf(err, errlen, "cannot read %s", why), rc;
    rc = jsonread_parse(text, len, &r->root, why, sizeof(why));
    free(text);
    if (rc != 0)
        return snprintf(err, errlen, "%s is not a smtpstorm report: not JSON (%s)", path, why), rc;
    r->totals = jsonread_get(r->root, "totals");
    r->latency = jsonread_get(r->root, "latency_ms");
    r->phases = jsonread_get(r->root, "phases");
    r->campaign = jsonread_string(jsonread_get(r->root, "campaign"));
    if (r->campaign == NULL)
        r->campaign = "";
    if (jsonread_number(jsonread_get(r->root, "version"), &r->version) != 0 || r->totals == NULL
        || r->totals->type != JSONREAD_OBJECT || r->latency == NULL || r->latency->type != JSONREAD_OBJECT
        || (r->phases != NULL && r->phases->type != JSONREAD_ARRAY)) {
        snprintf(err, errlen, "%s is not a smtpstorm report: it needs a number \"version\" and the objects "
                 "\"totals\" and \"latency_ms\" (smtpstorm run --json writes them)", path);
        jsonread_free(r->root);
        r->root = NULL;
        return -EINVAL;
    }
    if (jsonread_number(jsonread_get(r->root, "duration_s"), &r->duration_s) != 0)
        r->duration_s = 0;
    return 0;
}

const char *compare_phase_name(const struct compare_report *r, size_t i)
{
    const char *name = jsonread_string(jsonread_get(jsonread_at(r->phases, i), "name"));

    return name ? name : "";
}

static size_t compare_n_phases(const struct compare_report *r)
{
    return r->phases ? r->phases->n_children : 0;
}

/* compare_nth_named - the index of the k-th phase (0-based) named name in
 * r, or (size_t)-1. */
static size_t compare_nth_named(const struct compare_report *r, const char *name, size_t k)
{
    size_t i;

    for (i = 0; i < compare_n_phases(r); i++)
        if (strcmp(compare_phase_name(r, i), name) == 0 && k-- == 0)
            return i;
    return (size_t)-1;
}

/* compare_phase_list - "ramp, steady, spike" of r's phases into buf. */
static char *compare_phase_list(const struct compare_report *r, char *buf, size_t len)
{
    size_t i, at = 0;

    buf[0] = '\0';
    for (i = 0; i < compare_n_phases(r) && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s'%s'", i ? ", " : "", compare_phase_name(r, i));
    return buf;
}

/* compare_match_phases - base phase i to the new phase of the same name
 * and the same rank among phases of that name. */
static int compare_match_phases(struct compare *c, char *err, size_t errlen)
{
    size_t i, j, k, nb = compare_n_phases(&c->base), nn = compare_n_phases(&c->new_);
    char lb[256], ln[256];
    const char *name;

    if (nb != nn)
        return snprintf(err, errlen, "the campaigns have different phases: %s has %zu (%s), %s has %zu (%s)",
                        c->base.path, nb, compare_phase_list(&c->base, lb, sizeof(lb)), c->new_.path, nn,
                        compare_phase_list(&c->new_, ln, sizeof(ln))), -EINVAL;
    if (nb > 0 && (c->phase_match = calloc(nb, sizeof(*c->phase_match))) == NULL)
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    for (i = 0; i < nb; i++) {
        name = compare_phase_name(&c->base, i);
        for (j = 0, k = 0; j < i; j++)
            k += strcmp(compare_phase_name(&c->base, j), name) == 0;
        if ((c->phase_match[i] = compare_nth_named(&c->new_, name, k)) == (size_t)-1)
            return snprintf(err, errlen, "the campaigns have different phases: %s's phase %zu '%s' is not in "
                            "%s (%s)", c->base.path, i + 1, name, c->new_.path,
                            compare_phase_list(&c->new_, ln, sizeof(ln))), -EINVAL;
    }
    c->n_phases = nb;
    return 0;
}

int compare_check(struct compare *c, char *err, size_t errlen)
{
    size_t i;
    int rc;

    if (c->base.version != c->new_.version)
        return snprintf(err, errlen, "the reports have different versions: %s is version %g, %s is version %g; "
                        "compare reports of one smtpstorm version", c->base.path, c->base.version, c->new_.path,
                        c->new_.version), -EINVAL;
    if ((rc = compare_match_phases(c, err, errlen)) != 0)
        return rc;
    for (i = 0; i < c->n_thresholds; i++)
        if (c->thresholds[i].scope[0] && compare_nth_named(&c->base, c->thresholds[i].scope, 0) == (size_t)-1)
            return snprintf(err, errlen, "threshold \"%s\": the reports have no campaign phase named '%s'",
                            c->thresholds[i].text, c->thresholds[i].scope), -EINVAL;
    return 0;
}

/* compare_percentile_key - the report's key for percentile pct: "p50", ..., "max"; NULL: not kept. */
static const char *compare_percentile_key(double pct)
{
    return pct == 50 ? "p50" : pct == 90 ? "p90" : pct == 99 ? "p99" : pct == 99.9 ? "p999"
        : pct >= 100 ? "max" : NULL;
}

static int compare_latency_ms(void *ctx, const char *phase, double pct, double *out)
{
    const struct compare_scope *s = ctx;
    const char *key = compare_percentile_key(pct);
    char name[64];

    if (key == NULL)
        return -1;      /* p95 and the like: the report keeps p50 p90 p99 p999 max */
    if (s->phase == NULL)
        return jsonread_number(jsonread_get(jsonread_get(s->r->latency, phase), key), out);
    snprintf(name, sizeof(name), "%s_%s_ms", phase, key);  /* a campaign phase: message_p99_ms, ... */
    return jsonread_number(jsonread_get(s->phase, name), out);
}

static int compare_counter(void *ctx, const char *name, double *out)
{
    static const char *const totals[][2] = {
        { "accepted", "messages_accepted" }, { "attempted", "messages_attempted" },
        { "rejected", "messages_rejected" }, { "errors", "errors" }, { "received", "sink_received" },
        { "lost", "lost" }, { "duplicates", "duplicates" }, { "sessions", "sessions" },
        { "recipients", "recipients" },
    };
    const struct compare_scope *s = ctx;
    size_t i;

    if (s->phase != NULL)   /* a campaign phase's keys are the counters' names, but one */
        return jsonread_number(jsonread_get(s->phase, strcmp(name, "backlog_growth") == 0
                                                      ? "backlog_growth_per_s" : name), out);
    for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++)
        if (strcmp(name, totals[i][0]) == 0)
            return jsonread_number(jsonread_get(s->r->totals, totals[i][1]), out);
    return -1;
}

void compare_source(const struct compare_report *r, const struct jsonread_value *phase, struct compare_scope *ctx,
                    struct threshold_source *src)
{
    double start = 0, end = 0;

    ctx->r = r;
    ctx->phase = phase;
    src->latency_ms = compare_latency_ms;
    src->counter = compare_counter;
    src->ctx = ctx;
    src->duration_s = r->duration_s;
    if (phase != NULL && jsonread_number(jsonread_get(phase, "start_s"), &start) == 0
        && jsonread_number(jsonread_get(phase, "end_s"), &end) == 0)
        src->duration_s = end - start;
}
