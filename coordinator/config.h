/* config.h - what `smtpstorm run` was asked to do: the campaign's workload
 * (smtp-source's options as campaign totals, phases, targets) and the
 * cluster and report options; filled by cli.c and campaign.c, read by the
 * planner and the run. Plus the value parsers both front ends share. */
#ifndef SMTPSTORM_COORDINATOR_CONFIG_H
#define SMTPSTORM_COORDINATOR_CONFIG_H

#include "dist.h"
#include <stddef.h>
#include <stdint.h>

#include "threshold.h"

#define CONFIG_TARGETS_MAX   1024   /* = WIRE_TARGETS_MAX */
#define CONFIG_PHASES_MAX    64     /* = WIRE_PHASES_MAX */
#define CONFIG_CONTENT_MAX   (1u << 20) /* -F file, = WIRE_CONTENT_MAX */
#define CONFIG_THRESHOLDS_MAX 64    /* --threshold given at most this often */

enum phase_kind { PHASE_KIND_STEADY = 0, PHASE_KIND_RAMP = 1, PHASE_KIND_SPIKE = 2 };

#define CONFIG_PHASE_NAME_MAX 32    /* a phase's name: [A-Za-z0-9._-], shorter than this */

/* A behaviour for the sinks (smtpstorm-sink(1)'s behaviour file): its
 * YAML text and the name its errors cite; text NULL: none given. */
struct sink_behaviour {
    char *text;
    size_t len;
    char *name;
};

struct phase_spec {
    enum phase_kind kind;
    uint64_t duration_ms;
    double rate;                /* campaign total, messages/s; 0: as fast as sessions go */
    uint32_t sessions;          /* campaign total; 0: the workload's sessions */
    char name[CONFIG_PHASE_NAME_MAX];   /* "": none (reports name it by its kind) */
    struct sink_behaviour sink_behaviour;   /* the sinks' during it; none: the campaign's */
};

/* The campaign's workload, as totals over all agents. */
struct workload_spec {
    char *name;                 /* campaign id prefix; NULL: "c" */
    char **targets;
    size_t n_targets;
    uint64_t messages;          /* -m */
    int messages_set;
    uint32_t sessions;          /* -s; unset: one per agent */
    int sessions_set;
    double rate;                /* --rate, messages/s; 0: closed loop */
    uint64_t duration_ms;       /* --duration */
    uint64_t warmup_ms;         /* --warmup: out of the headline percentiles and rates */
    int pipelining, chunking, starttls;
    int tls_resume;             /* --tls-resume: agents offer their last TLS session */
    int smtputf8;               /* --smtputf8: MAIL ... SMTPUTF8, UTF-8 in -f and -t */
    char *auth;                 /* --auth USER:PASS */
    int family;                 /* -4 / -6 */
    int no_abort;               /* -A */
    uint32_t reset_retries;     /* -C */
    int reuse_session;          /* -d */
    char *from;                 /* -f */
    char *content_file;         /* -F */
    uint64_t length;            /* -l */
    int has_length;
    int lmtp;                   /* -L */
    char *helo_name;            /* -M */
    int number_recipients;      /* -N */
    int rebalance;              /* --rebalance: a lost agent's unsent messages move (rebalance.h) */
    int old_mode;               /* -o */
    uint32_t recipients;        /* -r */
    uint64_t random_wait_ms;    /* -R */
    char *subject;              /* -S */
    char *to;                   /* -t */
    uint32_t window;            /* -T */
    int verbose;                /* -v */
    uint64_t fixed_wait_ms;     /* -w */
    uint64_t timeout_ms;        /* --timeout: each connect, write and reply of the agents */
    uint64_t session_timeout_ms;    /* --session-timeout: a connection at most this long (0: none) */
    char *size;                 /* --size: body lengths drawn (lib/dist.h); NULL: -l */
    char *recipients_dist;      /* --recipients: recipients per message drawn; NULL: -r */
    char *source;               /* --source: the agents' local addresses; NULL: any */
    int mime;                   /* --mime */
    char *attach;               /* --attach: attachment sizes (implies --mime); NULL: none */
    char *attachments;          /* --attachments: attachments per message; NULL: 1 */
    uint64_t rcpt_domains;      /* --rcpt-domains N */
    char *rcpt_file;            /* --rcpt-file FILE, read by the coordinator and sent */
    double rcpt_zipf;           /* --rcpt-zipf S */
    char *senders;              /* --senders N or FILE */
    char *corpus;               /* --corpus: a path on every agent's host */
    int corpus_shuffle;         /* --corpus-shuffle */
    int envelope_trace;         /* --envelope-trace: 1 on, 0 off, -1 (default) on with a sink behaviour */
    uint64_t seed;              /* --seed */
    struct sink_behaviour sink_behaviour;   /* --sink-behaviour, sink_behaviour: the sinks' in
                                             * every phase without its own; none: their own */
    struct phase_spec *phases;
    size_t n_phases;
};

/* `smtpstorm capacity`: the search (capacity_search.h); its objectives
 * are run_config's thresholds (--slo), judged on each step's measured
 * window. */
struct capacity_spec {
    int on;                     /* the command is capacity, not run */
    double start, max;          /* --start, --max: messages/s */
    double factor;              /* --factor: growth until a step fails */
    double resolution_pct;      /* --resolution */
    uint64_t step_ms;           /* --step: the measured window */
    uint64_t settle_ms;         /* --settle: before it, at the same rate, not measured */
    uint32_t max_sessions;      /* --max-sessions: the sessions rule's ceiling */
};

#define CAPACITY_START_DEFAULT      10.0
#define CAPACITY_MAX_DEFAULT        100000.0
#define CAPACITY_FACTOR_DEFAULT     2.0
#define CAPACITY_RESOLUTION_DEFAULT 5.0
#define CAPACITY_STEP_DEFAULT_MS    10000
#define CAPACITY_SETTLE_DEFAULT_MS  3000
#define CAPACITY_SESSIONS_DEFAULT   2000   /* connections a loopback target takes in stride */

/* Everything `smtpstorm run` needs. */
struct run_config {
    struct capacity_spec cap;   /* smtpstorm capacity's search */
    struct workload_spec w;
    char *campaign_file;
    int local;                  /* --local N */
    int agents;                 /* --agents N */
    int sinks;                  /* --sinks N */
    char *bind;                 /* --bind EP */
    char *sink_bind;            /* --sink-bind EP */
    uint64_t wait_ms;           /* --wait */
    uint64_t drain_ms;          /* --drain */
    uint64_t drain_quiet_ms;    /* --drain-quiet; 0: only --drain ends a partial drain */
    uint64_t peer_timeout_ms;   /* --heartbeat-timeout: a silent agent or sink is lost */
    uint64_t report_interval_ms;    /* --report-interval; 0: auto (registry_report_interval_ms) */
    char *json, *csv, *html;
    char *junit;                    /* --junit: the thresholds as JUnit XML */
    char *metrics;              /* --metrics ADDR:PORT */
    uint64_t metrics_linger_ms; /* --metrics-linger: the final /metrics stays this long */
    char *web;                  /* --web ADDR:PORT: the live page */
    char *web_token;            /* --web-token: every request must carry it; NULL: none */
    uint64_t web_linger_ms;     /* --web-linger: the final page stays this long */
    struct threshold *thresholds;   /* --threshold, in the order given */
    size_t n_thresholds;
    int thresholds_from_file;       /* they came from --campaign: a --threshold replaces them */
    char *key;                  /* --key F: own CURVE secret key; NULL: no CURVE */
    char *authorized_keys;      /* --authorized-keys DIR: the peers' public keys */
    int insecure;               /* --insecure: no keys beyond loopback */
    int quiet;
    int verbose;
};

#define CONFIG_BIND_DEFAULT      "tcp://127.0.0.1:7400"
#define CONFIG_SINK_BIND_DEFAULT "tcp://127.0.0.1:7401"
#define CONFIG_WAIT_DEFAULT_MS   30000
#define CONFIG_DRAIN_DEFAULT_MS  10000
#define CONFIG_WEB_LINGER_DEFAULT_MS 5000    /* --web-linger: long enough to see the final page */
#define CONFIG_DRAIN_QUIET_DEFAULT_MS 3000   /* sinks still this long: drained */
#define CONFIG_PEER_TIMEOUT_DEFAULT_MS 4000  /* a peer silent this long is gone */
/* --report-interval's ceiling: an agent's report holds the rows of its
 * last 8 closed seconds (agent/meter.h, METER_WINDOW), so that one report
 * late or lost costs the timeline no second. */
#define CONFIG_REPORT_INTERVAL_MAX_MS  4000
#define CONFIG_TIMEOUT_DEFAULT_MS 30000     /* --timeout: a dead target ends a campaign in
                                             * well under a minute (smtp-source: 300 s) */
#define CONFIG_TIMEOUT_MAX_MS (86400u * 1000)   /* = WIRE_TIMEOUT_MAX_MS */

/* config_init - set every default (smtp-source's where it has one). */
void config_init(struct run_config *c);

/* config_free - release every string and array c owns. */
void config_free(struct run_config *c);

/* config_behaviour_free - release b's text and name and zero it. */
void config_behaviour_free(struct sink_behaviour *b);

/* config_workload_free - release what w owns and zero it. */
void config_workload_free(struct workload_spec *w);

/* config_add_target - append a copy of target; -E2BIG past CONFIG_TARGETS_MAX, -ENOMEM. */
int config_add_target(struct workload_spec *w, const char *target);

/* config_set_string - replace *slot by a copy of value; -ENOMEM. */
int config_set_string(char **slot, const char *value);

/* config_add_threshold - parse expr and append it; -EINVAL with the
 * problem pointed at in err, -E2BIG past CONFIG_THRESHOLDS_MAX, -ENOMEM. */
int config_add_threshold(struct run_config *c, const char *expr, char *err, size_t errlen);

/* config_capacity_set - one of smtpstorm capacity's search settings, by
 * its campaign-file key ("start", "max", "factor", "resolution", "step",
 * "settle", "max_sessions"; the options are --KEY, with a dash for the
 * underscore) from its text value. 0; -ENOENT for another key; -EINVAL
 * with "'VALUE' is not ..." in err (the caller says which key), k
 * unchanged. */
int config_capacity_set(struct capacity_spec *k, const char *key, const char *value, char *err, size_t errlen);

/* config_parse_rate - a non-negative number of messages per second (at most
 * 1e9); 0 or -EINVAL. */
int config_parse_rate(const char *s, double *out);

/* config_parse_duration - "90", "90s", "1.5m", "500ms", "2h" (bare numbers
 * in default_unit_ms) into milliseconds; 0 or -EINVAL. */
int config_parse_duration(const char *s, uint64_t default_unit_ms, uint64_t *out_ms);

/* config_parse_timeout - a --timeout: a duration as config_parse_duration
 * (bare numbers in seconds), over 0 and at most CONFIG_TIMEOUT_MAX_MS;
 * 0 or -EINVAL. */
int config_parse_timeout(const char *s, uint64_t *out_ms);

/* config_parse_dist - a distribution (lib/dist.h's grammar) of units
 * between min and max, checked, then copied into *out (the caller frees
 * it; an earlier value is freed). 0, or -EINVAL with the reason in err. */
int config_parse_dist(const char *s, enum dist_units units, uint64_t min, uint64_t max, char **out,
                      char *err, size_t errlen);

/* config_parse_source - a --source pool (lib/sources.h), checked for its
 * syntax (each agent checks its host has the addresses), then copied into
 * *out (the caller frees it). 0, or -EINVAL with the reason in err. */
int config_parse_source(const char *s, char **out, char *err, size_t errlen);

#define CONFIG_ATTACH_SIZE_MAX (64ULL << 20)   /* = the agent's MIME_ATTACH_SIZE_MAX */
#define CONFIG_ATTACHMENTS_MAX 16               /* = the agent's MIME_ATTACH_MAX */
#define CONFIG_RCPTS_MAX 100000     /* -r, --recipients: as smtp-source's agents take */

/* config_parse_zipf - a --rcpt-zipf exponent, above 0 and at most 10; 0 or -EINVAL. */
int config_parse_zipf(const char *s, double *out);

/* config_phase_kind - "ramp", "steady", "spike" into *kind; 0 or -EINVAL. */
int config_phase_kind(const char *s, enum phase_kind *kind);

/* config_phase_name_valid - nonzero when s can name a phase: 1 to
 * CONFIG_PHASE_NAME_MAX - 1 of [A-Za-z0-9._-]. */
int config_phase_name_valid(const char *s);

/* config_phase_kind_name - the name of kind; static string. */
const char *config_phase_kind_name(enum phase_kind kind);

/* config_total_duration_ms - the campaign's length: --duration, else the
 * sum of its phases, else 0 (until the messages are sent). */
uint64_t config_total_duration_ms(const struct workload_spec *w);

#endif
