/* campaign.c - the YAML campaign file into a struct workload_spec (see
 * campaign.h). The document is loaded with libyaml and walked with a key
 * table; every complaint carries the line of the node it is about. */
#include "campaign.h"
#include "behaviours.h"
#include "number.h"
#include "spread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

enum key_type { K_BOOL, K_U64, K_U32, K_RATE, K_SECONDS, K_TIMEOUT, K_SIZE, K_COUNTS, K_RECIPIENTS, K_SOURCE, K_ZIPF, K_STRING, K_TARGETS, K_PHASES,
                K_FAMILY, K_THRESHOLDS, K_BEHAVIOUR, K_CAPACITY };

struct key_def {
    const char *name;
    enum key_type type;
    size_t offset;              /* into struct workload_spec */
    ptrdiff_t set_offset;       /* an int flag set when the key is given; -1: none */
    uint64_t min, max;
};

#define W(field) offsetof(struct workload_spec, field)
static const struct key_def keys[] = {
    { "name", K_STRING, W(name), -1, 0, 0 },
    { "targets", K_TARGETS, 0, -1, 0, 0 },
    { "messages", K_U64, W(messages), W(messages_set), 1, UINT64_MAX },
    { "sessions", K_U32, W(sessions), W(sessions_set), 1, 1000000 },
    { "rate", K_RATE, W(rate), -1, 0, 0 },
    { "duration", K_SECONDS, W(duration_ms), -1, 0, 0 },
    { "pipelining", K_BOOL, W(pipelining), -1, 0, 0 },
    { "smtputf8", K_BOOL, W(smtputf8), -1, 0, 0 },
    { "chunking", K_BOOL, W(chunking), -1, 0, 0 },
    { "starttls", K_BOOL, W(starttls), -1, 0, 0 },
    { "tls_resume", K_BOOL, W(tls_resume), -1, 0, 0 },
    { "rebalance", K_BOOL, W(rebalance), -1, 0, 0 },
    { "auth", K_STRING, W(auth), -1, 0, 0 },
    { "family", K_FAMILY, W(family), -1, 0, 0 },
    { "no_abort", K_BOOL, W(no_abort), -1, 0, 0 },
    { "reset_retries", K_U32, W(reset_retries), -1, 1, 1000 },
    { "reuse_session", K_BOOL, W(reuse_session), -1, 0, 0 },
    { "from", K_STRING, W(from), -1, 0, 0 },
    { "content_file", K_STRING, W(content_file), -1, 0, 0 },
    { "length", K_U64, W(length), W(has_length), 0, 1u << 30 },
    { "lmtp", K_BOOL, W(lmtp), -1, 0, 0 },
    { "helo_name", K_STRING, W(helo_name), -1, 0, 0 },
    { "number_recipients", K_BOOL, W(number_recipients), -1, 0, 0 },
    { "old_mode", K_BOOL, W(old_mode), -1, 0, 0 },
    { "recipients", K_RECIPIENTS, W(recipients), -1, 1, CONFIG_RCPTS_MAX },
    { "random_wait", K_SECONDS, W(random_wait_ms), -1, 0, 0 },
    { "subject", K_STRING, W(subject), -1, 0, 0 },
    { "to", K_STRING, W(to), -1, 0, 0 },
    { "window", K_U32, W(window), -1, 0, 65535 },
    { "verbose", K_U32, W(verbose), -1, 0, 10 },
    { "fixed_wait", K_SECONDS, W(fixed_wait_ms), -1, 0, 0 },
    { "warmup", K_SECONDS, W(warmup_ms), -1, 0, 0 },
    { "timeout", K_TIMEOUT, W(timeout_ms), -1, 0, 0 },
    { "session_timeout", K_TIMEOUT, W(session_timeout_ms), -1, 0, 0 },
    { "size", K_SIZE, W(size), -1, 0, DIST_SIZE_MAX },
    { "seed", K_U64, W(seed), -1, 0, UINT64_MAX },
    { "source", K_SOURCE, W(source), -1, 0, 0 },
    { "mime", K_BOOL, W(mime), -1, 0, 0 },
    { "rcpt_domains", K_U64, W(rcpt_domains), -1, 1, SPREAD_ITEMS_MAX },
    { "rcpt_file", K_STRING, W(rcpt_file), -1, 0, 0 },
    { "rcpt_zipf", K_ZIPF, W(rcpt_zipf), -1, 0, 0 },
    { "senders", K_STRING, W(senders), -1, 0, 0 },
    { "corpus", K_STRING, W(corpus), -1, 0, 0 },
    { "corpus_shuffle", K_BOOL, W(corpus_shuffle), -1, 0, 0 },
    { "envelope_trace", K_BOOL, W(envelope_trace), -1, 0, 0 },
    { "attach", K_SIZE, W(attach), -1, 0, CONFIG_ATTACH_SIZE_MAX },
    { "attachments", K_COUNTS, W(attachments), -1, 0, CONFIG_ATTACHMENTS_MAX },
    { "sink_behaviour", K_BEHAVIOUR, W(sink_behaviour), -1, 0, 0 },
    { "phases", K_PHASES, 0, -1, 0, 0 },
    { "thresholds", K_THRESHOLDS, 0, -1, 0, 0 },
    { "capacity", K_CAPACITY, 0, -1, 0, 0 },
};

/* What smtpstorm capacity decides for each step itself (cli.c says the same of the options). */
static const char *const searched[] = { "messages", "sessions", "rate", "duration", "warmup", "phases" };
#undef W

struct walk {
    yaml_document_t *doc;
    const char *text;           /* the document's text, for the behaviours written inline */
    size_t len;
    struct run_config *c;
    const char *name;
    char *err;
    size_t errlen;
};

static int walk_fail(struct walk *k, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int walk_fail(struct walk *k, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(k->err, k->errlen, "%s:%lu: ", k->name,
                 node ? (unsigned long)node->start_mark.line + 1 : 1UL);
    if (n < 0 || (size_t)n >= k->errlen)
        return -EINVAL;
    va_start(ap, fmt);
    vsnprintf(k->err + n, k->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static const char *scalar_of(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -EINVAL;
}

/* walk_list - a key whose value is one scalar or a list of them: add each
 * (add reports its own errors); list_what says what the list must hold. */
static int walk_list(struct walk *k, yaml_node_t *node, const char *list_what,
                     int (*add)(struct walk *k, yaml_node_t *item))
{
    yaml_node_item_t *item;
    int rc;

    if (scalar_of(node) != NULL)
        return add(k, node);
    if (node->type != YAML_SEQUENCE_NODE)
        return walk_fail(k, node, "%s", list_what);
    for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++)
        if ((rc = add(k, yaml_document_get_node(k->doc, *item))) != 0)
            return rc;
    return 0;
}

static int walk_target(struct walk *k, yaml_node_t *node)
{
    const char *s = scalar_of(node);

    if (s == NULL || *s == '\0')
        return walk_fail(k, node, "a target must be an address like 127.0.0.1:25 or unix:/path");
    if (config_add_target(&k->c->w, s) != 0)
        return walk_fail(k, node, "too many targets (at most %d)", CONFIG_TARGETS_MAX);
    return 0;
}

/* walk_condition - one expression of a list of thresholds: "threshold"
 * (thresholds:) or "slo" (capacity: slo:), both kept in c->thresholds. */
static int walk_condition(struct walk *k, yaml_node_t *node, const char *what)
{
    const char *s = scalar_of(node);
    char why[256];

    if (s == NULL || *s == '\0')
        return walk_fail(k, node, "a%s %s must be an expression like \"p99(message)<500ms\"",
                         what[0] == 's' ? "n" : "", what[0] == 's' ? "objective" : what);
    if (config_add_threshold(k->c, s, why, sizeof(why)) != 0)
        return walk_fail(k, node, "%s: %s", what, why);
    k->c->thresholds_from_file = 1;
    return 0;
}

static int walk_threshold(struct walk *k, yaml_node_t *node)
{
    return walk_condition(k, node, "threshold");
}

/* byte_offset - the octet where character chars of text[0..len) begins
 * (libyaml counts characters; UTF-8 continuation octets are not). */
static size_t byte_offset(const char *text, size_t len, size_t chars)
{
    size_t i, seen = 0;

    for (i = 0; i < len; i++)
        if (((unsigned char)text[i] & 0xc0) != 0x80 && seen++ == chars)
            return i;
    return len;
}

/* walk_behaviour - sink_behaviour: a behaviour file's path (read now), or
 * the behaviour itself, a mapping, cut out of the campaign file and put
 * on its own lines and columns again, so that the sink's parser names the
 * campaign file's lines. Checked now either way. */
static int walk_behaviour(struct walk *k, yaml_node_t *val, struct sink_behaviour *out)
{
    const char *path = scalar_of(val);
    char why[512];
    size_t from, to, pad;
    char *text;

    if (path != NULL) {
        if (*path == '\0' || behaviours_read(path, out, why, sizeof(why)) != 0)
            return walk_fail(k, val, "sink_behaviour: %s", *path ? why : "a behaviour file's path, or a mapping");
        return 0;
    }
    if (val->type != YAML_MAPPING_NODE)
        return walk_fail(k, val, "sink_behaviour must be a behaviour file's path or a mapping like "
                         "{ rules: [...] }");
    from = byte_offset(k->text, k->len, val->start_mark.index);
    to = byte_offset(k->text, k->len, val->end_mark.index);
    pad = val->start_mark.line + val->start_mark.column;
    if (to < from || (text = malloc(pad + (to - from) + 1)) == NULL)
        return walk_fail(k, val, "out of memory");
    memset(text, '\n', val->start_mark.line);
    memset(text + val->start_mark.line, ' ', val->start_mark.column);
    memcpy(text + pad, k->text + from, to - from);
    if (behaviours_set(out, text, pad + (to - from), k->name) != 0) {
        free(text);
        return walk_fail(k, val, "out of memory");
    }
    free(text);
    if (behaviours_check(out, why, sizeof(why)) != 0) {
        snprintf(k->err, k->errlen, "%s", why);     /* it names this file and the line */
        return -EINVAL;
    }
    return 0;
}

static int walk_phase_key(struct walk *k, struct phase_spec *p, const char *key, yaml_node_t *val,
                          int *have_kind, int *have_duration)
{
    const char *s = scalar_of(val);
    uint64_t u;

    if (strcmp(key, "sink_behaviour") == 0)
        return walk_behaviour(k, val, &p->sink_behaviour);
    if (s == NULL)
        return walk_fail(k, val, "phase key '%s' needs a plain value", key);
    if (strcmp(key, "kind") == 0) {
        if (config_phase_kind(s, &p->kind) != 0)
            return walk_fail(k, val, "phase kind '%s' is not ramp, steady or spike", s);
        *have_kind = 1;
    } else if (strcmp(key, "duration") == 0) {
        if (config_parse_duration(s, 1000, &p->duration_ms) != 0 || p->duration_ms == 0)
            return walk_fail(k, val, "phase duration '%s' is not a positive duration like 30s", s);
        *have_duration = 1;
    } else if (strcmp(key, "rate") == 0) {
        if (config_parse_rate(s, &p->rate) != 0)
            return walk_fail(k, val, "phase rate '%s' is not a number of messages per second", s);
    } else if (strcmp(key, "sessions") == 0) {
        if (number_parse_u64(s, 1, 1000000, &u) != 0)
            return walk_fail(k, val, "phase sessions '%s' is not a count from 1 to 1000000", s);
        p->sessions = (uint32_t)u;
    } else if (strcmp(key, "name") == 0) {
        if (!config_phase_name_valid(s))
            return walk_fail(k, val, "phase name '%s' is not 1 to %d of A-Z a-z 0-9 . _ -", s,
                             CONFIG_PHASE_NAME_MAX - 1);
        snprintf(p->name, sizeof(p->name), "%s", s);
    } else {
        return walk_fail(k, val, "unknown phase key '%s' (expected name, kind, duration, rate, sessions, "
                         "sink_behaviour)", key);
    }
    return 0;
}

static int walk_phase(struct walk *k, yaml_node_t *node, struct phase_spec *p)
{
    yaml_node_pair_t *pair;
    int have_kind = 0, have_duration = 0, rc;

    memset(p, 0, sizeof(*p));
    if (node->type != YAML_MAPPING_NODE)
        return walk_fail(k, node, "a phase must be a mapping with kind, duration, rate or sessions");
    for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(k->doc, pair->key);
        yaml_node_t *val = yaml_document_get_node(k->doc, pair->value);

        if (scalar_of(key) == NULL)
            return walk_fail(k, key, "a phase key must be a plain word");
        if ((rc = walk_phase_key(k, p, scalar_of(key), val, &have_kind, &have_duration)) != 0)
            return rc;
    }
    if (!have_kind)
        return walk_fail(k, node, "a phase needs a kind: ramp, steady or spike");
    if (!have_duration)
        return walk_fail(k, node, "a phase needs a duration, like 30s");
    return 0;
}

static int walk_phases(struct walk *k, yaml_node_t *node)
{
    yaml_node_item_t *item;
    size_t n;
    int rc;

    if (node->type != YAML_SEQUENCE_NODE)
        return walk_fail(k, node, "'phases' must be a list of phases");
    n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n > CONFIG_PHASES_MAX)
        return walk_fail(k, node, "too many phases (%zu, at most %d)", n, CONFIG_PHASES_MAX);
    free(k->c->w.phases);
    k->c->w.n_phases = 0;
    if ((k->c->w.phases = calloc(n ? n : 1, sizeof(*k->c->w.phases))) == NULL)
        return walk_fail(k, node, "out of memory");
    for (item = node->data.sequence.items.start; item < node->data.sequence.items.top; item++) {
        rc = walk_phase(k, yaml_document_get_node(k->doc, *item), &k->c->w.phases[k->c->w.n_phases]);
        k->c->w.n_phases++;         /* counted even when bad: config_free frees what it holds */
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* walk_slo - one objective of capacity: slo:, judged on every step's window. */
static int walk_slo(struct walk *k, yaml_node_t *node)
{
    const struct threshold *t;
    int rc;

    if ((rc = walk_condition(k, node, "slo")) != 0)
        return rc;
    t = &k->c->thresholds[k->c->n_thresholds - 1];
    if (t->scope[0])
        return walk_fail(k, node, "slo \"%s\": objectives are judged on every step's measured window; drop "
                         "the '%s:' scope", t->text, t->scope);
    return 0;
}

/* walk_capacity - the capacity: section, smtpstorm capacity's search:
 * slo (a list) and config_capacity_set's keys. */
static int walk_capacity(struct walk *k, yaml_node_t *node)
{
    static const char *const names[] = { "slo", "start", "max", "factor", "resolution", "step", "settle",
                                         "max_sessions" };
    yaml_node_t *given[sizeof(names) / sizeof(names[0])] = { NULL };
    yaml_node_pair_t *pair;
    char why[256];
    size_t i;
    int rc;

    if (node->type != YAML_MAPPING_NODE)
        return walk_fail(k, node, "'capacity' must be a mapping of slo, start, max, factor, resolution, step, "
                         "settle and max_sessions");
    for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(k->doc, pair->key);
        yaml_node_t *val = yaml_document_get_node(k->doc, pair->value);
        const char *name = scalar_of(key), *s = scalar_of(val);

        for (i = 0; name != NULL && i < sizeof(names) / sizeof(names[0]) && strcmp(names[i], name) != 0; i++)
            ;
        if (name == NULL || i == sizeof(names) / sizeof(names[0]))
            return walk_fail(k, key, "unknown capacity key '%s' (expected slo, start, max, factor, resolution, "
                             "step, settle, max_sessions)", name ? name : "");
        if (given[i] != NULL)
            return walk_fail(k, key, "capacity '%s' is given twice", name);
        given[i] = val;
        if (i == 0) {
            if ((rc = walk_list(k, val, "'slo' must be a list of objectives like \"p99(message)<2s\"",
                                walk_slo)) != 0)
                return rc;
            continue;
        }
        if (s == NULL)
            return walk_fail(k, val, "capacity '%s' needs a plain value, not a list or mapping", name);
        if (config_capacity_set(&k->c->cap, name, s, why, sizeof(why)) != 0)
            return walk_fail(k, val, "capacity '%s': %s", name, why);
    }
    if (k->c->cap.start > k->c->cap.max)
        return walk_fail(k, given[2] ? given[2] : given[1], "capacity start %g is above max %g: the search "
                         "would have nowhere to go", k->c->cap.start, k->c->cap.max);
    return 0;
}

/* walk_for_command - a key the command does not take: capacity: is
 * smtpstorm capacity's, and it decides each step's workload shape and
 * judges slo:, not thresholds:. */
static int walk_for_command(struct walk *k, const struct key_def *d, yaml_node_t *key)
{
    size_t i;

    if (d->type == K_CAPACITY && !k->c->cap.on)
        return walk_fail(k, key, "the 'capacity' section is for smtpstorm capacity --campaign FILE, not run");
    if (!k->c->cap.on)
        return 0;
    if (d->type == K_THRESHOLDS)
        return walk_fail(k, key, "'thresholds' are smtpstorm run's: a capacity search's objectives are "
                         "its capacity: slo: list");
    for (i = 0; i < sizeof(searched) / sizeof(searched[0]); i++)
        if (strcmp(d->name, searched[i]) == 0)
            return walk_fail(k, key, "'%s': the capacity search decides each step's rate, sessions and "
                             "length; drop messages, sessions, rate, duration, warmup and phases", d->name);
    return 0;
}

static int walk_scalar_key(struct walk *k, const struct key_def *d, yaml_node_t *val, const char *s)
{
    char *base = (char *)&k->c->w;
    uint64_t u;

    switch (d->type) {
    case K_BOOL:
        if (parse_bool(s, (int *)(base + d->offset)) != 0)
            return walk_fail(k, val, "'%s' must be true or false, not '%s'", d->name, s);
        break;
    case K_U64:
    case K_U32:
        if (number_parse_u64(s, d->min, d->max, &u) != 0)
            return walk_fail(k, val, "'%s' must be a whole number from %llu to %llu, not '%s'",
                             d->name, (unsigned long long)d->min, (unsigned long long)d->max, s);
        if (d->type == K_U64)
            *(uint64_t *)(base + d->offset) = u;
        else
            *(uint32_t *)(base + d->offset) = (uint32_t)u;
        break;
    case K_RATE:
        if (config_parse_rate(s, (double *)(base + d->offset)) != 0)
            return walk_fail(k, val, "'%s' must be messages per second, like 250, not '%s'", d->name, s);
        break;
    case K_SECONDS:
        if (config_parse_duration(s, 1000, (uint64_t *)(base + d->offset)) != 0)
            return walk_fail(k, val, "'%s' must be a duration like 30s or 2m, not '%s'", d->name, s);
        break;
    case K_TIMEOUT:
        if (config_parse_timeout(s, (uint64_t *)(base + d->offset)) != 0)
            return walk_fail(k, val, "'%s' must be a duration like 30s or 500ms, over 0 and at most "
                             "a day, not '%s'", d->name, s);
        break;
    case K_SIZE:
    case K_COUNTS: {
        char why[256];

        if (config_parse_dist(s, d->type == K_SIZE ? DIST_SIZES : DIST_COUNTS, d->min, d->max,
                              (char **)(base + d->offset), why, sizeof(why)) != 0)
            return walk_fail(k, val, "'%s': %s", d->name, why);
        break;
    }
    case K_RECIPIENTS: {    /* a number is -r; anything else a distribution (--recipients) */
        struct workload_spec *ws = (struct workload_spec *)base;
        char why[256];

        if (number_parse_u64(s, d->min, d->max, &u) == 0) {
            ws->recipients = (uint32_t)u;
            free(ws->recipients_dist);
            ws->recipients_dist = NULL;
            break;
        }
        if (config_parse_dist(s, DIST_COUNTS, d->min, d->max, &ws->recipients_dist, why, sizeof(why)) != 0)
            return walk_fail(k, val, "'recipients': %s", why);
        break;
    }
    case K_SOURCE: {
        char why[256];

        if (config_parse_source(s, (char **)(base + d->offset), why, sizeof(why)) != 0)
            return walk_fail(k, val, "'source': %s", why);
        break;
    }
    case K_ZIPF:
        if (config_parse_zipf(s, (double *)(base + d->offset)) != 0)
            return walk_fail(k, val, "'%s' must be an exponent above 0 and at most 10, not '%s'", d->name, s);
        break;
    case K_FAMILY:
        if (strcmp(s, "4") != 0 && strcmp(s, "6") != 0 && strcmp(s, "any") != 0)
            return walk_fail(k, val, "'family' must be 4, 6 or any, not '%s'", s);
        *(int *)(base + d->offset) = s[0] == 'a' ? 0 : s[0] - '0';
        break;
    case K_STRING:
        if (config_set_string((char **)(base + d->offset), s) != 0)
            return walk_fail(k, val, "out of memory");
        break;
    default:
        return walk_fail(k, val, "internal error");
    }
    if (d->set_offset >= 0)
        *(int *)(base + d->set_offset) = 1;
    return 0;
}

static const struct key_def *key_find(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int walk_pair(struct walk *k, yaml_node_t *key, yaml_node_t *val, unsigned *seen)
{
    const struct key_def *d;
    const char *name = scalar_of(key), *s;
    int rc;

    if (name == NULL)
        return walk_fail(k, key, "a key must be a plain word");
    if ((d = key_find(name)) == NULL)
        return walk_fail(k, key, "unknown key '%s' (see docs/campaign.md for the keys)", name);
    if (seen[d - keys]++)
        return walk_fail(k, key, "'%s' is given twice", name);
    if ((rc = walk_for_command(k, d, key)) != 0)
        return rc;
    if (d->type == K_CAPACITY)
        return walk_capacity(k, val);
    if (d->type == K_TARGETS)
        return walk_list(k, val, "'targets' must be a list of addresses like 127.0.0.1:25", walk_target);
    if (d->type == K_PHASES)
        return walk_phases(k, val);
    if (d->type == K_BEHAVIOUR)
        return walk_behaviour(k, val, &k->c->w.sink_behaviour);
    if (d->type == K_THRESHOLDS)
        return walk_list(k, val, "'thresholds' must be a list of expressions like \"lost==0\"",
                         walk_threshold);
    if ((s = scalar_of(val)) == NULL)
        return walk_fail(k, val, "'%s' needs a plain value, not a list or mapping", name);
    return walk_scalar_key(k, d, val, s);
}

static int walk_document(struct walk *k)
{
    yaml_node_t *root = yaml_document_get_root_node(k->doc);
    yaml_node_pair_t *pair;
    unsigned seen[sizeof(keys) / sizeof(keys[0])] = { 0 };
    int rc;

    if (root == NULL)
        return walk_fail(k, NULL, "the file is empty");
    if (root->type != YAML_MAPPING_NODE)
        return walk_fail(k, root, "the file must be a mapping of keys like 'messages: 1000'");
    for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
        rc = walk_pair(k, yaml_document_get_node(k->doc, pair->key),
                       yaml_document_get_node(k->doc, pair->value), seen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int campaign_parse(const char *text, size_t len, const char *name, struct run_config *c,
                   char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct walk k = { &doc, text, len, c, name, err, errlen };
    int rc;

    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%lu: %s%s%s", name, (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "not YAML",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return -EINVAL;
    }
    rc = walk_document(&k);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int campaign_load(const char *path, struct run_config *c, char *err, size_t errlen)
{
    struct stat st;
    char *text = NULL;
    ssize_t got;
    size_t len = 0;
    int fd, rc;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot read campaign file %s: %s", path, strerror(errno));
        goto out;
    }
    if (st.st_size > (off_t)CAMPAIGN_FILE_MAX) {
        rc = -EFBIG;
        snprintf(err, errlen, "%s: larger than %u octets: not a campaign file", path, CAMPAIGN_FILE_MAX);
        goto out;
    }
    if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
        rc = -ENOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    while (len < (size_t)st.st_size && (got = read(fd, text + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)got;
    rc = campaign_parse(text, len, path, c, err, errlen);
out:
    free(text);
    if (fd >= 0)
        close(fd);
    return rc;
}
