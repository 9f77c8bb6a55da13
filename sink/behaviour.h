/* behaviour.h - smtpstorm-sink's behaviour file (--behaviour FILE, issue
 * 16): rules that make the sink defer, reject, greylist, delay, tarpit,
 * throttle or hang up, read once from YAML and then shared read-only by
 * every loop (reference counted), and the pure rule engine the session
 * consults at each command. It knows no sockets and no clock of its own. */
#ifndef SMTPSTORM_SINK_BEHAVIOUR_H
#define SMTPSTORM_SINK_BEHAVIOUR_H

#include <stddef.h>
#include <stdint.h>

#include "greylist.h"
#include "trace.h"

#define BEHAVIOUR_RULES_MAX   256           /* rules in one file */
#define BEHAVIOUR_FILE_MAX    (1u << 20)    /* a behaviour file's size */
#define BEHAVIOUR_PATTERN_MAX 256           /* a sender/recipient glob, RFC 5321 4.5.3.1.3 path */
#define BEHAVIOUR_REPLY_MAX   512           /* a reply line, RFC 5321 4.5.3.1.5 */
#define BEHAVIOUR_DELAY_MAX   (86400ULL * 1000)     /* a delay or tarpit: one day, ms */
#define BEHAVIOUR_NO_CMD      (-1)          /* a rule without at: (bandwidth, tarpit at CONNECT) */
#define BEHAVIOUR_RULE_INTAKE BEHAVIOUR_RULES_MAX   /* decision.rule of "intake: paused" (no rule of the file) */
#define BEHAVIOUR_INTAKE_REPLY "421 4.3.2 Intake paused, try again later"  /* RFC 3463 4.3.2: not accepting
                                                                              * messages; RFC 5321 3.8 */

struct behaviour;

/* What one rule does when it matches. */
enum behaviour_action {
    BEHAVIOUR_ACCEPT,       /* the usual reply (stops the search) */
    BEHAVIOUR_REPLY,        /* reply: (after delay: if given) */
    BEHAVIOUR_DELAY,        /* delay: then the usual reply */
    BEHAVIOUR_DISCONNECT,   /* close without a reply */
    BEHAVIOUR_GREYLIST,     /* greylist: at RCPT */
    BEHAVIOUR_TARPIT,       /* tarpit: every later reply of the session waits (no decision) */
    BEHAVIOUR_BANDWIDTH,    /* bandwidth: the session's reads are limited (no decision) */
};

/* What the behaviour did, for the owner's counters (behaviour_env.outcome). */
enum behaviour_outcome {
    BEHAVIOUR_OUT_DEFERRED,          /* a 4xx reply from a rule (greylisting too) */
    BEHAVIOUR_OUT_REJECTED,          /* a 5xx reply from a rule */
    BEHAVIOUR_OUT_DISCONNECTED,      /* a rule closed the connection without a reply */
    BEHAVIOUR_OUT_DELAYED,           /* a rule delayed a reply */
    BEHAVIOUR_OUT_GREY_DEFERRED,     /* a greylist rule deferred a recipient */
    BEHAVIOUR_OUT_GREY_PASSED,       /* a greylist rule let a retried recipient pass */
    BEHAVIOUR_OUT_COUNT
};

/* Where a session stands when it asks (strings owned by the caller). */
struct behaviour_query {
    int at;                     /* SINK_CMD_* */
    int eod;                    /* end of data (".", or BDAT LAST): "." rules match too */
    const char *client;         /* client address text */
    const char *sender;         /* MAIL's address, or NULL before MAIL */
    const char *recipient;      /* the recipient in question, or NULL */
    const char *rcpt_list;      /* else: the transaction's recipients, NUL-separated */
    size_t rcpt_list_len;       /* (a pattern matches when one of them does) */
};

/* Per loop: the draws and the clock the engine uses; the greylist table
 * may be shared by loops (it locks itself). */
struct behaviour_env {
    uint64_t rng;                           /* xorshift state, seeded by behaviour_env_seed */
    struct greylist *grey;                  /* NULL: greylist rules defer every time */
    uint64_t (*now_ms)(void *arg);          /* a monotonic clock, milliseconds */
    void *now_arg;
    /* a rule did o; tr is the message's trace at the end of data (NULL
     * elsewhere, or without one), tag the sender's envelope tag (NULL
     * without one). May be NULL. */
    void (*outcome)(void *arg, enum behaviour_outcome o, const struct trace *tr,
                    const struct trace_tag *tag);
    void *outcome_arg;
};

/* The outcome of one query. */
struct behaviour_decision {
    int rule;                   /* index of the deciding rule, -1: none (the usual reply) */
    enum behaviour_action action;
    const char *reply;          /* BEHAVIOUR_REPLY: the text; owned by the behaviour */
    uint64_t delay_ms;          /* wait before the reply */
    uint64_t tarpit_ms;         /* > 0: a tarpit rule matched on the way */
    uint64_t bandwidth;         /* > 0: a bandwidth rule matched on the way, octets/s */
    int greylist;               /* 0, or GREYLIST_DEFER / GREYLIST_PASS */
    int close;                  /* close the connection after the reply (intake: paused's 421) */
};

/* behaviour_parse - read the YAML text (len octets; name is the file name
 * errors cite) into a new behaviour with one reference, the caller's.
 * Returns 0, or -EINVAL/-ENOMEM with "name:LINE: what" in err. */
int behaviour_parse(const char *text, size_t len, const char *name, struct behaviour **out,
                    char *err, size_t errlen);

/* behaviour_load - behaviour_parse of the file at path (at most
 * BEHAVIOUR_FILE_MAX octets). Returns 0 or -errno with the reason in err. */
int behaviour_load(const char *path, struct behaviour **out, char *err, size_t errlen);

/* behaviour_ref - one more reference to b (any thread); returns b. */
struct behaviour *behaviour_ref(struct behaviour *b);

/* behaviour_unref - drop one reference (any thread); the last frees b. NULL is fine. */
void behaviour_unref(struct behaviour *b);

/* behaviour_seed - the seed of the draws: --seed if behaviour_set_seed was
 * called, else the file's seed: (0 without one). */
uint64_t behaviour_seed(const struct behaviour *b);

/* behaviour_set_seed - --seed: replaces the file's seed; call before b is shared. */
void behaviour_set_seed(struct behaviour *b, uint64_t seed);

/* behaviour_rules - how many rules b has. */
size_t behaviour_rules(const struct behaviour *b);

/* behaviour_rule_reply - rule i's reply text (NULL without one), or
 * BEHAVIOUR_INTAKE_REPLY for BEHAVIOUR_RULE_INTAKE; owned by b (static). */
const char *behaviour_rule_reply(const struct behaviour *b, int i);

/* behaviour_paused - 1 when b says "intake: paused": every command but
 * QUIT, and every new connection, is answered BEHAVIOUR_INTAKE_REPLY and
 * the connection closed; the rules are not tried meanwhile. */
int behaviour_paused(const struct behaviour *b);

/* behaviour_needs_rcpts - 1 when a rule at DATA, BDAT or "." names a
 * recipient: the session keeps the transaction's recipients for it. */
int behaviour_needs_rcpts(const struct behaviour *b);

/* behaviour_has_greylist - 1 when a rule greylists (a table is needed). */
int behaviour_has_greylist(const struct behaviour *b);

/* behaviour_env_seed - seed env's draws from b's seed and stream (the loop's index). */
void behaviour_env_seed(struct behaviour_env *env, const struct behaviour *b, uint64_t stream);

/* behaviour_decide - with "intake: paused", BEHAVIOUR_INTAKE_REPLY and
 * close (QUIT aside: the usual reply); otherwise the first rule of b that
 * matches q decides (tarpit and bandwidth rules only note themselves and
 * the search goes on); a rule with a probability matches when its draw
 * from env says so. Fills d. */
void behaviour_decide(const struct behaviour *b, struct behaviour_env *env, const struct behaviour_query *q,
                      struct behaviour_decision *d);

/* behaviour_glob - 1 when text matches the pattern (* any run, ? one
 * character), case-insensitively. */
int behaviour_glob(const char *pattern, const char *text);

#endif
