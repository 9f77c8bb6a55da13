/* behaviour.c - the behaviour file (see behaviour.h): loaded with libyaml
 * and walked key by key, every complaint naming the line of the node it is
 * about (as coordinator/campaign.c); and the rule engine, first match wins. */
#include "behaviour.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "number.h"

struct behaviour_rule {
    int at;                             /* SINK_CMD_*, or BEHAVIOUR_NO_CMD */
    int line;
    int has_prob;
    uint64_t threshold;                 /* matches when a draw < threshold (probability * 2^64) */
    int prob_one;                       /* probability 1: always */
    char sender[BEHAVIOUR_PATTERN_MAX];
    char recipient[BEHAVIOUR_PATTERN_MAX];
    enum behaviour_action action;
    int has_action;
    char reply[BEHAVIOUR_REPLY_MAX];
    uint64_t delay_lo, delay_hi;        /* ms */
    uint64_t grey_min, grey_life;       /* ms */
    uint64_t tarpit;                    /* ms */
    uint64_t bandwidth;                 /* octets per second */
};

struct behaviour {
    _Atomic unsigned refs;
    uint64_t seed;
    int paused;                         /* intake: paused */
    int needs_rcpts, has_greylist;
    size_t n;
    struct behaviour_rule rules[];
};

/* A walk over one parsed file: where errors go and what they cite. */
struct walk {
    struct behaviour *b;                /* what is being filled */
    yaml_document_t *doc;
    const char *name;                   /* the file, as errors cite it */
    char *err;
    size_t errlen;
};

/* walk_fail - "name:LINE: what" into the walk's err, LINE the node's
 * (1 without a node); returns -EINVAL for the caller to pass up. */
static int walk_fail(struct walk *k, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int walk_fail(struct walk *k, const yaml_node_t *node, const char *fmt, ...)
{
    char what[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(k->err, k->errlen, "%s:%lu: %s", k->name, node ? (unsigned long)node->start_mark.line + 1 : 1UL,
             what);
    return -EINVAL;
}

static const char *scalar(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* ---- values ---- */

/* parse_scaled - digits then an optional unit from units[] (names) with
 * factors[]; the whole string. Returns 0 or -EINVAL. */
static int parse_scaled(const char *s, const char *const *units, const uint64_t *factors, uint64_t max,
                        uint64_t *out)
{
    char num[32];
    size_t d = strspn(s, "0123456789");
    uint64_t v;
    size_t i;

    if (d == 0 || d >= sizeof(num))
        return -EINVAL;
    memcpy(num, s, d);
    num[d] = '\0';
    if (number_parse_u64(num, 0, max, &v) != 0)
        return -EINVAL;
    for (i = 0; units[i]; i++)
        if (strcasecmp(s + d, units[i]) == 0 && (factors[i] == 0 || v <= max / factors[i])) {
            *out = v * factors[i];
            return 0;
        }
    return -EINVAL;
}

/* parse_ms - a duration: 500ms, 2s, 5m, 4h, 1d, or bare seconds. */
static int parse_ms(const char *s, uint64_t *ms)
{
    static const char *const u[] = { "", "ms", "s", "m", "h", "d", NULL };
    static const uint64_t f[] = { 1000, 1, 1000, 60000, 3600000, 86400000 };

    return parse_scaled(s, u, f, BEHAVIOUR_DELAY_MAX, ms) == 0 && *ms <= BEHAVIOUR_DELAY_MAX ? 0 : -EINVAL;
}

/* parse_rate - octets per second: 64k, 1m, 1g (powers of 1024) or bare. */
static int parse_rate(const char *s, uint64_t *out)
{
    static const char *const u[] = { "", "k", "m", "g", NULL };
    static const uint64_t f[] = { 1, 1024, 1024 * 1024, 1024 * 1024 * 1024 };

    return parse_scaled(s, u, f, 1ULL << 40, out) == 0 && *out > 0 ? 0 : -EINVAL;
}

/* parse_reply - "DDD text": a code 200..599 and text, one line. */
static int parse_reply(const char *s)
{
    size_t len = strlen(s);

    return len >= 5 && len < BEHAVIOUR_REPLY_MAX && s[0] >= '2' && s[0] <= '5' && isdigit((unsigned char)s[1])
           && isdigit((unsigned char)s[2]) && s[3] == ' ' && s[4] != '\0' && strpbrk(s, "\r\n") == NULL
           ? 0 : -EINVAL;
}

/* ---- rule keys ---- */

static int key_at(struct walk *k, struct behaviour_rule *r, const yaml_node_t *val, const char *s)
{
    static const int ok[] = { SINK_CMD_CONNECT, SINK_CMD_HELO, SINK_CMD_EHLO, SINK_CMD_LHLO, SINK_CMD_MAIL,
                              SINK_CMD_RCPT, SINK_CMD_DATA, SINK_CMD_BDAT, SINK_CMD_DOT };
    int cmd = sink_cmd_lookup(s, strlen(s));
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (cmd == ok[i]) {
            r->at = cmd;
            return 0;
        }
    return walk_fail(k, val, "unknown command '%s' in at: (expected CONNECT, HELO, EHLO, LHLO, MAIL, RCPT, "
                     "DATA, BDAT or \".\")", s);
}

static int key_probability(struct walk *k, struct behaviour_rule *r, const yaml_node_t *val, const char *s)
{
    double p;

    if (number_parse_double(s, 0, 1, &p) != 0)
        return walk_fail(k, val, "probability must be from 0 to 1, not %s", s);
    r->has_prob = 1;
    r->prob_one = p >= 1.0;
    r->threshold = (uint64_t)(p * 18446744073709551616.0);
    return 0;
}

static int key_pattern(struct walk *k, char *dst, const yaml_node_t *val, const char *key, const char *s)
{
    if (*s == '\0' || strlen(s) >= BEHAVIOUR_PATTERN_MAX)
        return walk_fail(k, val, "%s: wants a pattern of 1 to %d characters such as \"*@example.test\"", key,
                         BEHAVIOUR_PATTERN_MAX - 1);
    snprintf(dst, BEHAVIOUR_PATTERN_MAX, "%s", s);
    return 0;
}

static int key_delay(struct walk *k, struct behaviour_rule *r, const yaml_node_t *val, const char *s)
{
    char lo[32];
    const char *dash = strchr(s, '-');
    size_t n = dash ? (size_t)(dash - s) : 0;

    if (dash && n < sizeof(lo)) {
        memcpy(lo, s, n);
        lo[n] = '\0';
        if (parse_ms(lo, &r->delay_lo) == 0 && parse_ms(dash + 1, &r->delay_hi) == 0
            && r->delay_lo <= r->delay_hi)
            return 0;
    } else if (!dash && parse_ms(s, &r->delay_lo) == 0) {
        r->delay_hi = r->delay_lo;
        return 0;
    }
    return walk_fail(k, val, "bad delay '%s' (want a duration such as 2s or 500ms, or a range such as 1s-3s)",
                     s);
}

/* set_action - one action a rule; delay: goes with reply: too. */
static int set_action(struct walk *k, struct behaviour_rule *r, const yaml_node_t *val,
                      enum behaviour_action a)
{
    int pair = (a == BEHAVIOUR_REPLY && r->action == BEHAVIOUR_DELAY)
               || (a == BEHAVIOUR_DELAY && r->action == BEHAVIOUR_REPLY);

    if (r->has_action && !pair)
        return walk_fail(k, val, "a rule takes one action (reply, delay, disconnect, greylist, tarpit, "
                         "bandwidth, accept; delay goes with reply)");
    if (!r->has_action || a == BEHAVIOUR_REPLY)
        r->action = a;
    r->has_action = 1;
    return 0;
}

static int key_greylist(struct walk *k, struct behaviour_rule *r, const yaml_node_t *val)
{
    yaml_node_pair_t *p;
    const char *key, *s;

    if (val->type != YAML_MAPPING_NODE)
        return walk_fail(k, val, "greylist: wants { min: 5s, lifetime: 4h }");
    r->grey_min = 300000;
    r->grey_life = 4 * 3600000;
    for (p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(k->doc, p->key), *vn = yaml_document_get_node(k->doc, p->value);

        key = scalar(kn);
        s = scalar(vn);
        if (key == NULL || (strcmp(key, "min") != 0 && strcmp(key, "lifetime") != 0))
            return walk_fail(k, kn, "unknown key '%s' in greylist: (expected min, lifetime)", key ? key : "?");
        if (s == NULL || parse_ms(s, strcmp(key, "min") == 0 ? &r->grey_min : &r->grey_life) != 0)
            return walk_fail(k, vn, "greylist %s: wants a duration such as 5s or 4h", key);
    }
    if (r->grey_life < r->grey_min)
        return walk_fail(k, val, "greylist lifetime is shorter than its min");
    return set_action(k, r, val, BEHAVIOUR_GREYLIST);
}

/* key_action - the keys that say what a rule does. */
static int key_action(struct walk *k, struct behaviour_rule *r, const char *key, const yaml_node_t *val,
                      const char *s)
{
    int yes = s && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0);

    if (strcmp(key, "reply") == 0) {
        if (s == NULL || parse_reply(s) != 0)
            return walk_fail(k, val, "bad reply '%s' (want a code from 200 to 599, a space and text, such as "
                             "\"451 4.7.1 Try again later\")", s ? s : "");
        snprintf(r->reply, sizeof(r->reply), "%s", s);
        return set_action(k, r, val, BEHAVIOUR_REPLY);
    }
    if (strcmp(key, "delay") == 0) {
        if (s == NULL)
            return walk_fail(k, val, "delay: wants a duration");
        return key_delay(k, r, val, s) != 0 ? -EINVAL : set_action(k, r, val, BEHAVIOUR_DELAY);
    }
    if (strcmp(key, "disconnect") == 0 || strcmp(key, "accept") == 0) {
        if (!yes)
            return walk_fail(k, val, "%s: takes true only", key);
        return set_action(k, r, val, key[0] == 'd' ? BEHAVIOUR_DISCONNECT : BEHAVIOUR_ACCEPT);
    }
    if (strcmp(key, "tarpit") == 0) {
        if (s == NULL || parse_ms(s, &r->tarpit) != 0 || r->tarpit == 0)
            return walk_fail(k, val, "tarpit: wants a duration such as 2s");
        return set_action(k, r, val, BEHAVIOUR_TARPIT);
    }
    if (strcmp(key, "bandwidth") == 0) {
        if (s == NULL || parse_rate(s, &r->bandwidth) != 0)
            return walk_fail(k, val, "bandwidth: wants octets per second such as 64k or 1m (1..1024g)");
        return set_action(k, r, val, BEHAVIOUR_BANDWIDTH);
    }
    return walk_fail(k, val, "unknown key '%s' in a rule (expected at, probability, sender, recipient, reply, "
                     "delay, disconnect, greylist, tarpit, bandwidth, accept)", key);
}

static int rule_key(struct walk *k, struct behaviour_rule *r, const yaml_node_t *kn, const yaml_node_t *val)
{
    const char *key = scalar(kn), *s = scalar(val);

    if (key == NULL)
        return walk_fail(k, kn, "a rule's keys are words like at: or reply:");
    if (strcmp(key, "greylist") == 0)
        return key_greylist(k, r, val);
    if (s == NULL && strcmp(key, "delay") != 0)
        return walk_fail(k, val, "'%s' needs a plain value, not a list or mapping", key);
    if (strcmp(key, "at") == 0)
        return key_at(k, r, val, s);
    if (strcmp(key, "probability") == 0)
        return key_probability(k, r, val, s);
    if (strcmp(key, "sender") == 0 || strcmp(key, "recipient") == 0)
        return key_pattern(k, key[0] == 's' ? r->sender : r->recipient, val, key, s);
    return key_action(k, r, key, val, s);
}

/* rule_check - what a rule's keys must be together. */
static int rule_check(struct walk *k, struct behaviour_rule *r, const yaml_node_t *node)
{
    int early = r->at == SINK_CMD_CONNECT || r->at == SINK_CMD_HELO || r->at == SINK_CMD_EHLO
                || r->at == SINK_CMD_LHLO;

    if (!r->has_action)
        return walk_fail(k, node, "a rule needs an action (reply, delay, disconnect, greylist, tarpit, "
                         "bandwidth or accept)");
    if (r->at == BEHAVIOUR_NO_CMD && r->action != BEHAVIOUR_BANDWIDTH && r->action != BEHAVIOUR_TARPIT)
        return walk_fail(k, node, "a rule needs at: (only bandwidth and tarpit apply from CONNECT without it)");
    if (r->action == BEHAVIOUR_GREYLIST && r->at != SINK_CMD_RCPT)
        return walk_fail(k, node, "greylist goes with at: RCPT");
    if (r->recipient[0] && (early || r->at == SINK_CMD_MAIL || r->at == BEHAVIOUR_NO_CMD))
        return walk_fail(k, node, "recipient: goes with at: RCPT, DATA, BDAT or \".\"");
    if (r->sender[0] && (early || r->at == BEHAVIOUR_NO_CMD))
        return walk_fail(k, node, "sender: goes with at: MAIL, RCPT, DATA, BDAT or \".\"");
    if (r->at == BEHAVIOUR_NO_CMD)
        r->at = SINK_CMD_CONNECT;
    if (r->recipient[0] && r->at != SINK_CMD_RCPT)
        k->b->needs_rcpts = 1;
    if (r->action == BEHAVIOUR_GREYLIST)
        k->b->has_greylist = 1;
    return 0;
}

static int walk_rule(struct walk *k, const yaml_node_t *node)
{
    struct behaviour_rule *r = &k->b->rules[k->b->n];
    yaml_node_pair_t *p;
    int rc;

    if (node->type != YAML_MAPPING_NODE)
        return walk_fail(k, node, "a rule is a mapping such as { at: RCPT, reply: \"550 5.1.1 No such user\" }");
    if (k->b->n >= BEHAVIOUR_RULES_MAX)
        return walk_fail(k, node, "more than %d rules", BEHAVIOUR_RULES_MAX);
    memset(r, 0, sizeof(*r));
    r->at = BEHAVIOUR_NO_CMD;
    r->line = (int)node->start_mark.line + 1;
    for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++)
        if ((rc = rule_key(k, r, yaml_document_get_node(k->doc, p->key),
                           yaml_document_get_node(k->doc, p->value))) != 0)
            return rc;
    if ((rc = rule_check(k, r, node)) != 0)
        return rc;
    k->b->n++;
    return 0;
}

static int walk_rules(struct walk *k, const yaml_node_t *node)
{
    yaml_node_item_t *i;
    int rc;

    if (node->type != YAML_SEQUENCE_NODE)
        return walk_fail(k, node, "rules: wants a list of rules");
    for (i = node->data.sequence.items.start; i < node->data.sequence.items.top; i++)
        if ((rc = walk_rule(k, yaml_document_get_node(k->doc, *i))) != 0)
            return rc;
    return 0;
}

static int walk_document(struct walk *k)
{
    yaml_node_t *root = yaml_document_get_root_node(k->doc);
    yaml_node_pair_t *p;
    const char *key, *s;
    int rc;

    if (root == NULL)
        return 0;               /* an empty file: no rules */
    if (root->type != YAML_MAPPING_NODE)
        return walk_fail(k, root, "the file must be a mapping with seed:, intake: and rules:");
    for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(k->doc, p->key), *vn = yaml_document_get_node(k->doc, p->value);

        key = scalar(kn);
        if (key && strcmp(key, "rules") == 0) {
            if ((rc = walk_rules(k, vn)) != 0)
                return rc;
        } else if (key && strcmp(key, "seed") == 0) {
            if ((s = scalar(vn)) == NULL || number_parse_u64(s, 0, UINT64_MAX, &k->b->seed) != 0)
                return walk_fail(k, vn, "seed: wants a whole number from 0 to %llu",
                                 (unsigned long long)UINT64_MAX);
        } else if (key && strcmp(key, "intake") == 0) {
            if ((s = scalar(vn)) == NULL || (strcmp(s, "paused") != 0 && strcmp(s, "open") != 0))
                return walk_fail(k, vn, "intake: wants paused or open, not %s", s ? s : "a list or mapping");
            k->b->paused = s[0] == 'p';
        } else {
            return walk_fail(k, kn, "unknown key '%s' (expected seed, intake, rules)", key ? key : "?");
        }
    }
    return 0;
}

int behaviour_parse(const char *text, size_t len, const char *name, struct behaviour **out,
                    char *err, size_t errlen)
{
    struct behaviour *b = calloc(1, sizeof(*b) + BEHAVIOUR_RULES_MAX * sizeof(b->rules[0]));
    yaml_parser_t parser;
    yaml_document_t doc;
    struct walk k = { b, &doc, name, err, errlen };
    int rc;

    if (b == NULL || !yaml_parser_initialize(&parser)) {
        free(b);
        snprintf(err, errlen, "%s: out of memory", name);
        return -ENOMEM;
    }
    atomic_init(&b->refs, 1);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%lu: %s%s%s", name, (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "not YAML", parser.context ? " " : "",
                 parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        free(b);
        return -EINVAL;
    }
    rc = walk_document(&k);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc != 0)
        free(b);
    else
        *out = b;
    return rc;
}

int behaviour_load(const char *path, struct behaviour **out, char *err, size_t errlen)
{
    char *text = malloc(BEHAVIOUR_FILE_MAX + 1);
    size_t len = 0;
    ssize_t got = 1;
    int fd, rc;

    if (text == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot read behaviour file %s: %s", path, strerror(errno));
        free(text);
        return rc;
    }
    while (len <= BEHAVIOUR_FILE_MAX && (got = read(fd, text + len, BEHAVIOUR_FILE_MAX + 1 - len)) > 0)
        len += (size_t)got;
    close(fd);
    if (got < 0 || len > BEHAVIOUR_FILE_MAX) {
        snprintf(err, errlen, got < 0 ? "cannot read behaviour file %s" : "%s: larger than %u octets", path,
                 BEHAVIOUR_FILE_MAX);
        free(text);
        return got < 0 ? -EIO : -EFBIG;
    }
    rc = behaviour_parse(text, len, path, out, err, errlen);
    free(text);
    return rc;
}

/* ---- sharing ---- */

struct behaviour *behaviour_ref(struct behaviour *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void behaviour_unref(struct behaviour *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}

uint64_t behaviour_seed(const struct behaviour *b) { return b->seed; }
void behaviour_set_seed(struct behaviour *b, uint64_t seed) { b->seed = seed; }
size_t behaviour_rules(const struct behaviour *b) { return b->n; }
int behaviour_paused(const struct behaviour *b) { return b->paused; }
int behaviour_needs_rcpts(const struct behaviour *b) { return b->needs_rcpts; }
int behaviour_has_greylist(const struct behaviour *b) { return b->has_greylist; }

const char *behaviour_rule_reply(const struct behaviour *b, int i)
{
    if (i == BEHAVIOUR_RULE_INTAKE)
        return BEHAVIOUR_INTAKE_REPLY;
    return i >= 0 && (size_t)i < b->n && b->rules[i].reply[0] ? b->rules[i].reply : NULL;
}

/* ---- the engine ---- */

void behaviour_env_seed(struct behaviour_env *env, const struct behaviour *b, uint64_t stream)
{
    uint64_t z = b->seed + (stream + 1) * 0x9E3779B97F4A7C15ULL;

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;       /* splitmix64's finaliser */
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    env->rng = (z ^ (z >> 31)) | 1;
}

/* draw - the next 64-bit word of env's xorshift64* stream. */
static uint64_t draw(struct behaviour_env *env)
{
    env->rng ^= env->rng >> 12;
    env->rng ^= env->rng << 25;
    env->rng ^= env->rng >> 27;
    return env->rng * 2685821657736338717ULL;
}

int behaviour_glob(const char *p, const char *t)
{
    const char *star = NULL, *back = NULL;

    while (*t) {
        if (*p == '*') {
            star = ++p;
            back = t;
        } else if (*p && (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*t))) {
            p++;
            t++;
        } else if (star) {
            p = star;
            t = ++back;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* rcpt_match - the recipient in question, or one of the transaction's. */
static int rcpt_match(const char *pattern, const struct behaviour_query *q)
{
    const char *p = q->rcpt_list, *end = q->rcpt_list ? q->rcpt_list + q->rcpt_list_len : NULL;

    if (q->recipient)
        return behaviour_glob(pattern, q->recipient);
    for (; p && p < end; p += strlen(p) + 1)
        if (behaviour_glob(pattern, p))
            return 1;
    return 0;
}

/* rule_matches - r applies to q (the probability aside). */
static int rule_matches(const struct behaviour_rule *r, const struct behaviour_query *q)
{
    if (r->at != q->at && !(q->eod && r->at == SINK_CMD_DOT))
        return 0;
    if (r->sender[0] && (q->sender == NULL || !behaviour_glob(r->sender, q->sender)))
        return 0;
    return !r->recipient[0] || rcpt_match(r->recipient, q);
}

/* rule_decides - r's action into d; 0 when it only noted itself. */
static int rule_decides(const struct behaviour_rule *r, struct behaviour_env *env, const struct behaviour_query *q,
                        struct behaviour_decision *d)
{
    switch (r->action) {
    case BEHAVIOUR_TARPIT: d->tarpit_ms = r->tarpit; return 0;
    case BEHAVIOUR_BANDWIDTH: d->bandwidth = r->bandwidth; return 0;
    case BEHAVIOUR_GREYLIST:
        d->greylist = env->grey == NULL ? GREYLIST_DEFER
                      : (int)greylist_check(env->grey, q->client, q->sender ? q->sender : "",
                                            q->recipient ? q->recipient : "", env->now_ms(env->now_arg),
                                            r->grey_min, r->grey_life);
        d->reply = d->greylist == GREYLIST_DEFER ? "451 4.7.1 Greylisted, try again later" : NULL;
        break;
    case BEHAVIOUR_REPLY:
    case BEHAVIOUR_DELAY:
        d->reply = r->reply[0] ? r->reply : NULL;
        d->delay_ms = r->delay_lo + (r->delay_hi > r->delay_lo ? draw(env) % (r->delay_hi - r->delay_lo + 1) : 0);
        break;
    default: break;
    }
    d->action = r->action;
    return 1;
}

void behaviour_decide(const struct behaviour *b, struct behaviour_env *env, const struct behaviour_query *q,
                      struct behaviour_decision *d)
{
    size_t i;

    memset(d, 0, sizeof(*d));
    d->rule = -1;
    d->action = BEHAVIOUR_ACCEPT;
    if (b->paused && q->at != SINK_CMD_QUIT) {
        d->rule = BEHAVIOUR_RULE_INTAKE;
        d->action = BEHAVIOUR_REPLY;
        d->reply = BEHAVIOUR_INTAKE_REPLY;
        d->close = 1;
        return;
    }
    for (i = 0; i < b->n; i++) {
        const struct behaviour_rule *r = &b->rules[i];

        if (!rule_matches(r, q) || (r->has_prob && !r->prob_one && draw(env) >= r->threshold))
            continue;
        if (rule_decides(r, env, q, d)) {
            d->rule = (int)i;
            return;
        }
    }
}
