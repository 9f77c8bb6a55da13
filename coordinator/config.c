/* config.c - defaults, ownership and value parsing of `smtpstorm run`'s
 * configuration (see config.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "number.h"
#include "sources.h"
#include "spread.h"

void config_init(struct run_config *c)
{
    memset(c, 0, sizeof(*c));
    c->w.messages = 1;              /* smtp-source -m default */
    c->w.envelope_trace = -1;       /* on when the sinks get a behaviour */
    c->w.recipients = 1;            /* smtp-source -r default */
    c->w.reset_retries = 1;         /* smtp-source -C default */
    c->w.timeout_ms = CONFIG_TIMEOUT_DEFAULT_MS;
    c->wait_ms = CONFIG_WAIT_DEFAULT_MS;
    c->drain_ms = CONFIG_DRAIN_DEFAULT_MS;
    c->web_linger_ms = CONFIG_WEB_LINGER_DEFAULT_MS;
    c->drain_quiet_ms = CONFIG_DRAIN_QUIET_DEFAULT_MS;
    c->peer_timeout_ms = CONFIG_PEER_TIMEOUT_DEFAULT_MS;
    c->cap.start = CAPACITY_START_DEFAULT;
    c->cap.max = CAPACITY_MAX_DEFAULT;
    c->cap.factor = CAPACITY_FACTOR_DEFAULT;
    c->cap.resolution_pct = CAPACITY_RESOLUTION_DEFAULT;
    c->cap.step_ms = CAPACITY_STEP_DEFAULT_MS;
    c->cap.settle_ms = CAPACITY_SETTLE_DEFAULT_MS;
    c->cap.max_sessions = CAPACITY_SESSIONS_DEFAULT;
}

void config_workload_free(struct workload_spec *w)
{
    size_t i;

    for (i = 0; i < w->n_targets; i++)
        free(w->targets[i]);
    free(w->targets);
    free(w->name);
    free(w->auth);
    free(w->from);
    free(w->content_file);
    free(w->size);
    free(w->recipients_dist);
    free(w->source);
    free(w->attach);
    free(w->attachments);
    free(w->rcpt_file);
    free(w->senders);
    free(w->corpus);
    free(w->helo_name);
    free(w->subject);
    free(w->to);
    for (size_t i = 0; w->phases && i < w->n_phases; i++)
        config_behaviour_free(&w->phases[i].sink_behaviour);
    free(w->phases);
    config_behaviour_free(&w->sink_behaviour);
    memset(w, 0, sizeof(*w));
}

void config_behaviour_free(struct sink_behaviour *b)
{
    free(b->text);
    free(b->name);
    memset(b, 0, sizeof(*b));
}

void config_free(struct run_config *c)
{
    config_workload_free(&c->w);
    free(c->campaign_file);
    free(c->bind);
    free(c->sink_bind);
    free(c->json);
    free(c->csv);
    free(c->html);
    free(c->junit);
    free(c->metrics);
    free(c->web);
    free(c->web_token);
    free(c->key);
    free(c->authorized_keys);
    free(c->thresholds);
    memset(c, 0, sizeof(*c));
}

int config_add_threshold(struct run_config *c, const char *expr, char *err, size_t errlen)
{
    struct threshold t, *grown;

    if (threshold_parse(expr, &t, err, errlen) != 0)
        return -EINVAL;
    if (t.change) {
        snprintf(err, errlen, "threshold \"%s\": a signed percent is a change between two reports, for "
                 "smtpstorm compare; a campaign's own limit has no sign", expr);
        return -EINVAL;
    }
    if (c->n_thresholds >= CONFIG_THRESHOLDS_MAX) {
        snprintf(err, errlen, "too many --threshold (at most %d)", CONFIG_THRESHOLDS_MAX);
        return -E2BIG;
    }
    if ((grown = realloc(c->thresholds, (c->n_thresholds + 1) * sizeof(*grown))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    c->thresholds = grown;
    c->thresholds[c->n_thresholds++] = t;
    return 0;
}

/* config_capacity_number - a factor (above 1, at most 100) or a resolution
 * (a percent above 0, under 100, its '%' optional). */
static int config_capacity_number(const char *value, int percent, double *out)
{
    char text[64];
    size_t n = strlen(value);
    double v;

    if (percent && n > 0 && value[n - 1] == '%')
        n--;
    if (n == 0 || n >= sizeof(text))
        return -EINVAL;
    memcpy(text, value, n);
    text[n] = '\0';
    if (number_parse_double(text, 0, 100, &v) != 0 || (percent ? !(v > 0 && v < 100) : !(v > 1)))
        return -EINVAL;
    *out = v;
    return 0;
}

int config_capacity_set(struct capacity_spec *k, const char *key, const char *value, char *err, size_t errlen)
{
    uint64_t u;
    double v;

    if (strcmp(key, "start") == 0 || strcmp(key, "max") == 0) {
        if (config_parse_rate(value, &v) != 0 || v <= 0)
            return snprintf(err, errlen, "'%s' is not messages per second above 0", value), -EINVAL;
        *(key[0] == 's' ? &k->start : &k->max) = v;
    } else if (strcmp(key, "factor") == 0 || strcmp(key, "resolution") == 0) {
        if (config_capacity_number(value, key[0] == 'r', key[0] == 'r' ? &k->resolution_pct : &k->factor) != 0)
            return snprintf(err, errlen, key[0] == 'r' ? "'%s' is not a percent above 0, under 100"
                            : "'%s' is not a number above 1, at most 100", value), -EINVAL;
    } else if (strcmp(key, "step") == 0) {
        if (config_parse_duration(value, 1000, &u) != 0 || u < 1000)
            return snprintf(err, errlen, "'%s' is not a duration of a second or more, like 10s", value), -EINVAL;
        k->step_ms = u;
    } else if (strcmp(key, "settle") == 0) {
        if (config_parse_duration(value, 1000, &u) != 0)
            return snprintf(err, errlen, "'%s' is not a duration like 3s, 3 or 500ms", value), -EINVAL;
        k->settle_ms = u;
    } else if (strcmp(key, "max_sessions") == 0) {
        if (number_parse_u64(value, 1, 1000000, &u) != 0)
            return snprintf(err, errlen, "'%s' is not a whole number from 1 to 1000000", value), -EINVAL;
        k->max_sessions = (uint32_t)u;
    } else {
        return -ENOENT;
    }
    return 0;
}

int config_set_string(char **slot, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return -ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

int config_add_target(struct workload_spec *w, const char *target)
{
    char **grown;

    if (w->n_targets >= CONFIG_TARGETS_MAX)
        return -E2BIG;
    grown = realloc(w->targets, (w->n_targets + 1) * sizeof(*grown));
    if (grown == NULL)
        return -ENOMEM;
    w->targets = grown;
    if ((w->targets[w->n_targets] = strdup(target)) == NULL)
        return -ENOMEM;
    w->n_targets++;
    return 0;
}

static int config_parse_number(const char *s, double *out, char **end)
{
    if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '.'))
        return -EINVAL;
    errno = 0;
    *out = strtod(s, end);
    if (errno != 0 || *end == s || !isfinite(*out) || *out < 0)
        return -EINVAL;
    return 0;
}

int config_parse_rate(const char *s, double *out)
{
    char *end;

    if (config_parse_number(s, out, &end) != 0 || *end != '\0' || *out > 1e9)
        return -EINVAL;
    return 0;
}

int config_parse_duration(const char *s, uint64_t default_unit_ms, uint64_t *out_ms)
{
    static const struct { const char *suffix; double ms; } units[] = {
        { "", 0 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
    };
    double v, ms;
    char *end;
    size_t i;

    if (config_parse_number(s, &v, &end) != 0)
        return -EINVAL;
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) != 0)
            continue;
        ms = v * (i == 0 ? (double)default_unit_ms : units[i].ms);
        if (ms > 1e12)          /* about 31 years: a typo */
            return -EINVAL;
        *out_ms = (uint64_t)llround(ms);
        return 0;
    }
    return -EINVAL;
}

int config_parse_timeout(const char *s, uint64_t *out_ms)
{
    uint64_t ms;

    if (config_parse_duration(s, 1000, &ms) != 0 || ms == 0 || ms > CONFIG_TIMEOUT_MAX_MS)
        return -EINVAL;
    *out_ms = ms;
    return 0;
}

int config_parse_dist(const char *s, enum dist_units units, uint64_t min, uint64_t max, char **out,
                      char *err, size_t errlen)
{
    struct dist d;

    if (dist_parse(&d, s, units, min, max, err, errlen) != 0)
        return -EINVAL;
    if (config_set_string(out, s) != 0) {
        snprintf(err, errlen, "out of memory");
        return -EINVAL;
    }
    return 0;
}

int config_parse_source(const char *s, char **out, char *err, size_t errlen)
{
    struct source_pool pool;

    if (source_pool_parse(&pool, s, err, errlen) != 0)
        return -EINVAL;
    source_pool_free(&pool);
    if (config_set_string(out, s) != 0) {
        snprintf(err, errlen, "out of memory");
        return -EINVAL;
    }
    return 0;
}

int config_parse_zipf(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !(v > 0 && v <= SPREAD_ZIPF_MAX))
        return -EINVAL;
    *out = v;
    return 0;
}

static const char *const phase_kind_names[] = { "steady", "ramp", "spike" };

int config_phase_kind(const char *s, enum phase_kind *kind)
{
    size_t i;

    for (i = 0; i < sizeof(phase_kind_names) / sizeof(phase_kind_names[0]); i++) {
        if (strcmp(s, phase_kind_names[i]) == 0) {
            *kind = (enum phase_kind)i;
            return 0;
        }
    }
    return -EINVAL;
}

int config_phase_name_valid(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    return n > 0 && n < CONFIG_PHASE_NAME_MAX && s[n] == '\0';
}

const char *config_phase_kind_name(enum phase_kind kind)
{
    return (unsigned)kind < 3 ? phase_kind_names[kind] : "unknown";
}

uint64_t config_total_duration_ms(const struct workload_spec *w)
{
    uint64_t sum = 0;
    size_t i;

    if (w->duration_ms > 0)
        return w->duration_ms;
    for (i = 0; i < w->n_phases; i++)
        sum += w->phases[i].duration_ms;
    return sum;
}
