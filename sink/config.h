/* config.h - what smtpstorm-sink was asked to do: every smtp-sink(1) option
 * and the long options, parsed once by options.c and then read-only, shared
 * by the session engine, the dump writer and the server loops. */
#ifndef SMTPSTORM_SINK_CONFIG_H
#define SMTPSTORM_SINK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

struct users;
struct behaviour;

/* The commands smtp-sink knows, in its table order, plus ours (BDAT,
 * STARTTLS). SINK_CMD_CONNECT is the pseudo-command "a client connected",
 * SINK_CMD_DOT the pseudo-command "end of message data". */
enum sink_cmd {
    SINK_CMD_CONNECT, SINK_CMD_HELO, SINK_CMD_EHLO, SINK_CMD_LHLO, SINK_CMD_XCLIENT, SINK_CMD_XFORWARD,
    SINK_CMD_AUTH, SINK_CMD_MAIL, SINK_CMD_RCPT, SINK_CMD_DATA, SINK_CMD_DOT, SINK_CMD_RSET,
    SINK_CMD_NOOP, SINK_CMD_VRFY, SINK_CMD_QUIT,
    SINK_CMD_BDAT, SINK_CMD_STARTTLS,
    SINK_CMD_COUNT
};

#define SINK_CMD_FLAG_ENABLE     (1u << 0)   /* command is recognised */
#define SINK_CMD_FLAG_SYSLOG     (1u << 1)   /* -s: log it to syslogd */
#define SINK_CMD_FLAG_HARD_ERR   (1u << 2)   /* -f: reject with the hard reply */
#define SINK_CMD_FLAG_SOFT_ERR   (1u << 3)   /* -r: reject with the soft reply */
#define SINK_CMD_FLAG_DISCONNECT (1u << 4)   /* -q: hang up without a reply */
#define SINK_CMD_FLAG_CLOSE      (1u << 5)   /* -Q: 421 and hang up */

struct sink_cmd_conf {
    unsigned flags;
    int delay_s;            /* -w, -W: seconds before the reply; 0 none */
    int delay_odds;         /* -W odds 1..99: random multiple of delay_s */
};

#define SINK_START_MAX 1024     /* -S start string after unescaping */
#define SINK_REPLY_MAX 512      /* -b/-B reply text, RFC 5321 4.5.3.1.5 */

struct sink_config {
    /* EHLO announcements and greeting */
    int no_pipelining, no_8bitmime, no_auth, no_xclient, no_xforward;
    int no_esmtp, no_enhanced, no_dsn, pix, lmtp;
    int no_size, no_chunking, no_starttls;
    int no_smtputf8;                        /* --no-smtputf8: no SMTPUTF8 (RFC 6531) */
    uint64_t size_limit;                    /* --size-limit: SIZE N, 552 above; 0: "SIZE", none */
    const char *auth_users_file;            /* --auth-users FILE; NULL: any credentials */
    struct users *users;                    /* its table (owned; sink_config_free) */
    const char *hostname;                   /* -h, default "smtp-sink" */
    char soft_reply[SINK_REPLY_MAX];        /* -b */
    char hard_reply[SINK_REPLY_MAX];        /* -B */
    struct sink_cmd_conf cmd[SINK_CMD_COUNT];
    /* timing */
    int abort_delay_s;      /* -A, -1 when not given */
    int data_read_delay_s;  /* -H, 0 none */
    int timeout_s;          /* -t, default 100 */
    /* limits and ends */
    int max_clients;        /* -m, default 256 */
    long max_messages;      /* -M, 0 none */
    long max_quits;         /* -n, 0 none */
    /* output */
    int show_count;         /* -c */
    int verbose;            /* -v */
    int syslog;             /* -s given */
    const char *dump_single;    /* -d template */
    const char *dump_shared;    /* -D template */
    int fsync;              /* --fsync: a dump is on disk before its 250 */
    char start_string[SINK_START_MAX];      /* -S, unescaped */
    size_t start_len;
    /* process */
    enum endpoint_family family;    /* -4, -6 */
    int window;             /* -T, 0 default */
    const char *root_dir;   /* -R */
    const char *user;       /* -u */
    struct endpoint listen; /* [inet:][host]:port or unix:path */
    unsigned socket_mode;   /* --socket-mode: a unix: listener's mode, 0666 as smtp-sink */
    int socket_mode_set;
    int backlog;
    int threads;            /* --threads, default 1 */
    const char *id;         /* --id */
    const char *coordinator;    /* --coordinator EP: stream counters there; NULL: none */
    const char *key_file;       /* --key F: own CURVE secret key (NAME.key); NULL: no CURVE */
    const char *coordinator_key_file;   /* --coordinator-key F: the coordinator's NAME.pub */
    int insecure;               /* --insecure: a non-loopback --coordinator without keys */
    int report_interval_ms;     /* --report-interval: 1000; 0: only when idle */
    const char *metrics;        /* --metrics ADDR:PORT: serve OpenMetrics at /metrics; NULL: none */
    const char *tls_cert, *tls_key;
    const char *behaviour_file;     /* --behaviour FILE; NULL: none */
    struct behaviour *behaviour;    /* its rules as loaded at start (owned; sink_config_free) */
    uint64_t seed;                  /* --seed N: replaces the file's seed: */
    int seed_set;
    const char *progname;   /* argv[0], for messages like smtp-sink's */
};

/* What sink_options_parse tells main to do next. */
enum sink_options_result {
    SINK_OPTIONS_RUN = 0,       /* start serving */
    SINK_OPTIONS_HELP,          /* --help: print help, exit 0 */
    SINK_OPTIONS_VERSION,       /* --version: print version, exit 0 */
    SINK_OPTIONS_USAGE,         /* print usage (err may say why first), exit 1 */
    SINK_OPTIONS_FATAL,         /* print "fatal: err", exit 1 */
};

/* sink_config_init - set every default smtp-sink has. progname is kept. */
void sink_config_init(struct sink_config *cfg, const char *progname);

/* sink_options_parse - parse argv into cfg (which keeps pointers into argv;
 * the --auth-users table it loads is cfg's: sink_config_free). On USAGE or
 * FATAL a message for the user is in err (may be empty for a bare usage
 * error). Never exits. */
enum sink_options_result sink_options_parse(struct sink_config *cfg, int argc, char **argv,
                                            char *err, size_t errlen);

/* sink_config_free - release what sink_options_parse loaded into cfg (the
 * --auth-users table); cfg stays initialised. */
void sink_config_free(struct sink_config *cfg);

/* sink_behaviour_load - read cfg's --behaviour file (with --seed applied)
 * into *out, the caller's reference. Returns 0, or -errno with
 * "FILE:LINE: what" in err. */
int sink_behaviour_load(const struct sink_config *cfg, struct behaviour **out, char *err, size_t errlen);

/* sink_options_usage - the one-line usage text (static storage). */
const char *sink_options_usage(void);

/* sink_options_help - the --help text (static storage). */
const char *sink_options_help(void);

/* sink_cmd_name - the upper-case name of a command ("MAIL", "."); static. */
const char *sink_cmd_name(enum sink_cmd cmd);

/* sink_cmd_lookup - the command named by name[0..len) (case-insensitive),
 * or -1. CONNECT and "." are found too, as smtp-sink's table does. */
int sink_cmd_lookup(const char *name, size_t len);

#endif
