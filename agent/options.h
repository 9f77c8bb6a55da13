/* options.h - the command line of smtpstorm-agent: every smtp-source(1)
 * letter with its meaning and default, the long options of design.md, and
 * their validation. Fills a struct workload for the engine. */
#ifndef SMTPSTORM_AGENT_OPTIONS_H
#define SMTPSTORM_AGENT_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "auth.h"
#include "guard.h"
#include "workload.h"

#define OPTIONS_THREADS_MAX  256
#define OPTIONS_SESSIONS_MAX 1000000
#define OPTIONS_RCPTS_MAX    100000
#define OPTIONS_HEARTBEAT_TIMEOUT_MS 5000   /* dead-man switch default (issue 5) */

struct agent_options {
    struct workload w;
    int threads;                /* --threads, default 1 */
    int live_counter;           /* -c */
    int quiet;                  /* --quiet: no summary */
    const char *json_path;      /* --json FILE */
    const char *message_file;   /* -F */
    size_t message_length;      /* -l (0: the default body) */
    struct dist size_dist;      /* --size: the body's (w.size_dist) or --mime's text part's */
    int size_given;
    struct dist rcpt_dist;      /* --recipients, when w.rcpt_dist points here */
    int rcpt_count_given;       /* -r */
    struct source_pool sources; /* --source (main frees it), when w.sources points here */
    struct mime_spec mime;      /* --mime, when w.mime points here */
    const char *corpus_path;    /* --corpus PATH */
    int corpus_shuffle;         /* --corpus-shuffle */
    uint64_t rcpt_domains;      /* --rcpt-domains N */
    const char *rcpt_file;      /* --rcpt-file FILE */
    double rcpt_zipf;           /* --rcpt-zipf S; 0: uniform or the list's weights */
    const char *senders;        /* --senders N|FILE */
    struct spread rcpt_spread, sender_spread;   /* built from those (main frees them) */
    struct dist attach_size, attach_count, text_size;   /* --attach, --attachments, -l's */
    int tls_verify;             /* --tls-verify */
    const char *tls_ca;         /* --tls-ca FILE */
    const char *target_spec;    /* the [inet:]host[:port] or unix:path argument */
    char hostname[WORKLOAD_HOSTNAME_MAX];
    char default_addr[WORKLOAD_HOSTNAME_MAX + 8];
    char auth_user[AUTH_FIELD_MAX + 1];
    char auth_pass[AUTH_FIELD_MAX + 1];

    /* daemon mode (--coordinator): the workload comes from the coordinator */
    const char *coordinator;    /* --coordinator EP; NULL: standalone */
    struct guard guard;         /* --allow-target, --max-rate, --max-sessions */
    unsigned heartbeat_timeout_ms;  /* --heartbeat-timeout, default 5000 */
    int report_interval_ms;     /* --report-interval; -1: as the coordinator says */
    /* CURVE (docs/security.md): paths only; link.c loads them with lib/keys. */
    const char *key_file;       /* --key F: own secret key (NAME.key); NULL: no CURVE */
    const char *coordinator_key_file;   /* --coordinator-key F: the coordinator's NAME.pub */
    int insecure;               /* --insecure: a non-loopback --coordinator without keys */
    char workload_option[32];   /* a workload option given (refused in daemon mode) */
    char daemon_only[32];       /* a daemon-only option given (refused without --coordinator) */
};

enum { OPTIONS_RUN = 0, OPTIONS_DONE = 1 };

/* options_parse - parse argv into o (which the caller owns; strings point
 * into argv). Returns OPTIONS_RUN, OPTIONS_DONE after printing --help or
 * --version to out, or -EINVAL with the reason in err (the caller prints it
 * with the usage line and exits 1). */
int options_parse(int argc, char **argv, struct agent_options *o, FILE *out, char *err,
                  size_t errlen);

/* options_usage - the one-line usage message. */
void options_usage(FILE *f, const char *prog);

/* options_valid_hostname - nonzero when name is a valid host name or an
 * [address] literal, as smtp-source's -M requires. */
int options_valid_hostname(const char *name);

#endif
