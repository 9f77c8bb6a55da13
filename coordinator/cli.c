/* cli.c - `smtpstorm run`'s options (see cli.h). */
#include "cli.h"
#include "behaviours.h"
#include "campaign.h"
#include "number.h"
#include "spread.h"
#include "zlink.h"
#include "metrics.h"
#include "web.h"
#include "trace.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_SHORT "46AcC:df:F:l:Lm:M:Nor:R:s:S:t:T:vw:"

enum {
    OPT_RATE = 256, OPT_DURATION, OPT_PIPELINING, OPT_CHUNKING, OPT_STARTTLS, OPT_TLS_RESUME, OPT_AUTH,
    OPT_CAMPAIGN, OPT_LOCAL, OPT_AGENTS, OPT_SINKS, OPT_BIND, OPT_SINK_BIND, OPT_WAIT,
    OPT_DRAIN, OPT_JSON, OPT_CSV, OPT_HTML, OPT_QUIET, OPT_HELP, OPT_THRESHOLD, OPT_METRICS, OPT_METRICS_LINGER, OPT_WEB, OPT_WEB_TOKEN, OPT_WEB_LINGER, OPT_DRAIN_QUIET,
    OPT_HEARTBEAT_TIMEOUT, OPT_REPORT_INTERVAL, OPT_WARMUP, OPT_TIMEOUT, OPT_SESSION_TIMEOUT, OPT_SMTPUTF8, OPT_SIZE, OPT_SEED, OPT_RECIPIENTS, OPT_SOURCE, OPT_MIME, OPT_ATTACH, OPT_ATTACHMENTS,
    OPT_RCPT_DOMAINS, OPT_RCPT_FILE, OPT_RCPT_ZIPF, OPT_SENDERS, OPT_CORPUS, OPT_CORPUS_SHUFFLE,
    OPT_SINK_BEHAVIOUR, OPT_ENVELOPE_TRACE, OPT_KEY, OPT_AUTHORIZED_KEYS, OPT_INSECURE, OPT_JUNIT,
    OPT_SLO, OPT_START, OPT_MAX, OPT_STEP, OPT_SETTLE, OPT_RESOLUTION, OPT_FACTOR, OPT_MAX_SESSIONS,
    OPT_REBALANCE,
};

static const struct option cli_long[] = {
    { "rate", required_argument, NULL, OPT_RATE },
    { "duration", required_argument, NULL, OPT_DURATION },
    { "warmup", required_argument, NULL, OPT_WARMUP },
    { "pipelining", no_argument, NULL, OPT_PIPELINING },
    { "smtputf8", no_argument, NULL, OPT_SMTPUTF8 },
    { "chunking", no_argument, NULL, OPT_CHUNKING },
    { "starttls", no_argument, NULL, OPT_STARTTLS },
    { "tls-resume", no_argument, NULL, OPT_TLS_RESUME },
    { "auth", required_argument, NULL, OPT_AUTH },
    { "campaign", required_argument, NULL, OPT_CAMPAIGN },
    { "local", required_argument, NULL, OPT_LOCAL },
    { "agents", required_argument, NULL, OPT_AGENTS },
    { "sinks", required_argument, NULL, OPT_SINKS },
    { "bind", required_argument, NULL, OPT_BIND },
    { "sink-bind", required_argument, NULL, OPT_SINK_BIND },
    { "wait", required_argument, NULL, OPT_WAIT },
    { "drain", required_argument, NULL, OPT_DRAIN },
    { "drain-quiet", required_argument, NULL, OPT_DRAIN_QUIET },
    { "heartbeat-timeout", required_argument, NULL, OPT_HEARTBEAT_TIMEOUT },
    { "report-interval", required_argument, NULL, OPT_REPORT_INTERVAL },
    { "rebalance", no_argument, NULL, OPT_REBALANCE },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "session-timeout", required_argument, NULL, OPT_SESSION_TIMEOUT },
    { "size", required_argument, NULL, OPT_SIZE },
    { "seed", required_argument, NULL, OPT_SEED },
    { "recipients", required_argument, NULL, OPT_RECIPIENTS },
    { "source", required_argument, NULL, OPT_SOURCE },
    { "mime", no_argument, NULL, OPT_MIME },
    { "rcpt-domains", required_argument, NULL, OPT_RCPT_DOMAINS },
    { "rcpt-file", required_argument, NULL, OPT_RCPT_FILE },
    { "rcpt-zipf", required_argument, NULL, OPT_RCPT_ZIPF },
    { "senders", required_argument, NULL, OPT_SENDERS },
    { "corpus", required_argument, NULL, OPT_CORPUS },
    { "corpus-shuffle", no_argument, NULL, OPT_CORPUS_SHUFFLE },
    { "sink-behaviour", required_argument, NULL, OPT_SINK_BEHAVIOUR },
    { "envelope-trace", no_argument, NULL, OPT_ENVELOPE_TRACE },
    { "attach", required_argument, NULL, OPT_ATTACH },
    { "attachments", required_argument, NULL, OPT_ATTACHMENTS },
    { "json", required_argument, NULL, OPT_JSON },
    { "csv", required_argument, NULL, OPT_CSV },
    { "html", required_argument, NULL, OPT_HTML },
    { "junit", required_argument, NULL, OPT_JUNIT },
    { "threshold", required_argument, NULL, OPT_THRESHOLD },
    { "metrics", required_argument, NULL, OPT_METRICS },
    { "metrics-linger", required_argument, NULL, OPT_METRICS_LINGER },
    { "web", required_argument, NULL, OPT_WEB },
    { "web-token", required_argument, NULL, OPT_WEB_TOKEN },
    { "web-linger", required_argument, NULL, OPT_WEB_LINGER },
    { "key", required_argument, NULL, OPT_KEY },
    { "authorized-keys", required_argument, NULL, OPT_AUTHORIZED_KEYS },
    { "insecure", no_argument, NULL, OPT_INSECURE },
    { "quiet", no_argument, NULL, OPT_QUIET },
    { "help", no_argument, NULL, OPT_HELP },
    { "slo", required_argument, NULL, OPT_SLO },            /* capacity only, from here */
    { "start", required_argument, NULL, OPT_START },
    { "max", required_argument, NULL, OPT_MAX },
    { "step", required_argument, NULL, OPT_STEP },
    { "settle", required_argument, NULL, OPT_SETTLE },
    { "resolution", required_argument, NULL, OPT_RESOLUTION },
    { "factor", required_argument, NULL, OPT_FACTOR },
    { "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
    { NULL, 0, NULL, 0 },
};

void cli_usage_run(void *out)
{
    fputs("usage: smtpstorm run [workload options] [cluster options] [report options] [TARGET ...]\n"
          "\n"
          "TARGET is [inet:]host[:port] (port 25 by default), [ipv6]:port or unix:pathname;\n"
          "several TARGETs share the sessions round-robin. With --local and no TARGET a\n"
          "local sink is the target.\n"
          "\n"
          "workload (smtp-source's letters; -m and -s are campaign totals split over the agents):\n"
          "  -m count     messages in all (default 1; none with --duration or phases)\n"
          "  -s count     parallel sessions in all (default one per agent)\n"
          "  -r count     recipients per message (default 1)\n"
          "  -l length    message payload octets (default: smtp-source's short message)\n"
          "  -f from      sender (default foo@ the agent's hostname)\n"
          "  -t to        recipient (default foo@ the agent's hostname)\n"
          "  -M name      HELO name and address domain (default the agent's hostname)\n"
          "  -S subject   subject line (default none)\n"
          "  -F file      the message, read here and sent to the agents (default generated)\n"
          "  -N           number the recipients (default off)\n"
          "  -d           keep sessions open between messages (default off)\n"
          "  -o           old mode: no HELO, no headers (default off)\n"
          "  -L           speak LMTP (default SMTP)\n"
          "  -A           do not abort on unexpected replies (default off)\n"
          "  -C count     tries when connect gets a RESET (default 1)\n"
          "  -R interval  random wait 0..interval between messages (default 0)\n"
          "  -w interval  fixed wait between messages (default 0)\n"
          "  -T window    TCP window size (default the system's)\n"
          "  -4 | -6      IPv4 or IPv6 only (default both)\n"
          "  -c           accepted for smtp-source compatibility (the progress line counts)\n"
          "  -v           more verbose (repeatable)\n"
          "  --rate R     messages per second in all, open loop (default 0: as fast as\n"
          "               the sessions go)\n"
          "  --duration S how long to run, e.g. 90, 30s, 5m (default: until -m are sent)\n"
          "  --warmup S   the first S seconds count in the totals and the reconciliation,\n"
          "               not in the message and delivery percentiles and the rates\n"
          "               (default 0)\n"
          "  --pipelining --chunking --starttls   SMTP extensions (default off)\n"
          "  --tls-resume each agent loop offers a new connection the TLS session the\n"
          "               server gave the last (needs --starttls; default off)\n"
          "  --auth USER:PASS   AUTH PLAIN after EHLO (default none)\n"
          "  --smtputf8   MAIL FROM:<...> SMTPUTF8 (RFC 6531): -f and -t may be UTF-8;\n"
          "               a server without SMTPUTF8 gets nothing (default off)\n"
          "  --timeout S  each connect, write and reply of a session takes at most S\n"
          "               (e.g. 30s, 500ms), else the session fails with a timeout\n"
          "               error (default 30s: a dead target ends the campaign within\n"
          "               a minute; the standalone agent's default is smtp-source's 300s)\n"
          "  --session-timeout S  a connection lasting S ends with a timeout error,\n"
          "               whatever it is doing (a server answering each reply just\n"
          "               in time) (default none)\n"
          "  --size DIST  each body's length drawn from DIST, instead of -l: 5k,\n"
          "               1k-100k, lognormal:median=8k,sigma=1.2[,max=64m],\n"
          "               mix:2k=60,20k=30,2m=10 (k = 1024, m = 1024 * 1024; default:\n"
          "               -l's one length)\n"
          "  --recipients DIST  recipients per message drawn from DIST (counts:\n"
          "               3, 1-5, mix:1=80,10=20); the last of -r and --recipients wins\n"
          "               (default: -r's one count)\n"
          "  --source LIST  each agent binds each new connection to the next address of\n"
          "               LIST (addresses and CIDR blocks: 198.18.0.32/28,fd00::5), which\n"
          "               its host must have (default: the system's choice)\n"
          "  --mime       MIME messages: headers of a mail client, text and HTML parts\n"
          "               (of --size or -l octets, default 2k), multipart/alternative\n"
          "               (default off: smtp-source's message)\n"
          "  --attach DIST  base64 attachments of DIST decoded octets (at most 64m),\n"
          "               multipart/mixed (implies --mime; default none)\n"
          "  --attachments DIST  attachments per message, 0 to 16 (default 1)\n"
          "  --corpus PATH  real messages (.eml files, a maildir or an mbox), read by\n"
          "               each agent from PATH on its own host before the start (default none)\n"
          "  --corpus-shuffle  in an order drawn from --seed (default: in order)\n"
          "  --rcpt-domains N  spread the recipients over N domains, d1. to dN. of -t's\n"
          "               (default: -t alone)\n"
          "  --rcpt-file FILE  draw each recipient from FILE's lines (address or domain,\n"
          "               optional weight), read here and sent to the agents (default none)\n"
          "  --rcpt-zipf S  weigh those by a Zipf law 1/k^S (default: uniform or weights)\n"
          "  --senders N|FILE  each message's sender: -f's user numbered 1 to N, or from\n"
          "               FILE (default: -f alone)\n"
          "  --seed N     the draws depend on N and each message's number only: the\n"
          "               same seed sends the same campaign on any number of agents\n"
          "               (default 0)\n"
          "  --campaign FILE    YAML campaign: phases, targets and any option above\n"
          "                     (smtpstorm-campaign(5)); the command line overrides it\n"
          "cluster:\n"
          "  --local N        run N agents (and, with no TARGET, a sink) on this machine\n"
          "  --agents N       wait for N agents (default 1); all that said hello take part\n"
          "  --sinks N        wait for N sinks (default 0); their counts are reconciled\n"
          "                   with the agents' (--local with no TARGET: its own sink)\n"
          "  --bind EP        control endpoint (default " CONFIG_BIND_DEFAULT ";\n"
          "                   --local: a private ipc:// socket)\n"
          "  --sink-bind EP   sink counters endpoint (default " CONFIG_SINK_BIND_DEFAULT ")\n"
          "  --wait S         how long to wait for agents and sinks (default 30s)\n"
          "  --drain S        how long to wait for sinks to count everything (default 10s)\n"
          "  --drain-quiet S  end the drain early when the sinks' counts stand still this\n"
          "                   long (default 3s; 0: wait out --drain; through an MTA that\n"
          "                   retries deferred mail, use 0 or more than its retry time)\n"
          "  --heartbeat-timeout S  an agent or sink silent this long is lost (default 4s)\n"
          "  --report-interval S|auto  how often each agent reports progress (0.1s to\n"
          "                   4s, at most half --heartbeat-timeout; default auto: every\n"
          "                   second, or with N > 2500 agents every N/2500 s rounded\n"
          "                   up, at most a quarter of --heartbeat-timeout)\n"
          "  --rebalance  an agent lost during the campaign (silent, or restarted) hands\n"
          "               the messages it never sent to the campaign's other agents\n"
          "               (or to idle ones that join), at the rate it ran at; the\n"
          "               report says what moved, and a loss whose\n"
          "               messages all moved fails nothing (needs -m, without\n"
          "               --duration or phases; default off: they are lost with it)\n"
          "  --sink-behaviour FILE  every sink follows FILE (smtpstorm-sink(1)'s behaviour\n"
          "                   file: defer, reject, greylist, delay...) during the campaign,\n"
          "                   then its own again; a campaign file may give one per phase\n"
          "                   (default: the sinks' own)\n"
          "  --envelope-trace the agents tag each sender with its trace, so that the sinks\n"
          "                   account for mail their rules refused before DATA (default: on\n"
          "                   with --sink-behaviour or sink_behaviour:, else off)\n"
          "security (docs/security.md):\n"
          "  --key F          this coordinator's secret key (smtpstorm keygen NAME writes\n"
          "                   NAME.key; agents and sinks get NAME.pub): CURVE on both\n"
          "                   endpoints (default none)\n"
          "  --authorized-keys DIR  admit only agents and sinks whose public key is a\n"
          "                   *.pub file in DIR (required with --key)\n"
          "  --insecure       allow --bind/--sink-bind beyond loopback without keys, or\n"
          "                   --key without --authorized-keys (default: refused)\n"
          "reports:\n"
          "  --json FILE      the report as JSON (\"-\": standard output; default none)\n"
          "  --csv FILE       the timeline as CSV, one row a second (default none)\n"
          "  --html FILE      the report as one self-contained HTML page (default none)\n"
          "  --threshold EXPR pass/fail condition, repeatable (default none), e.g.\n"
          "                   'p99(message)<500ms' 'rate(accepted)>1000/s' 'errors<0.1%'\n"
          "                   'lost==0', or one campaign phase's: 'steady:p99(message)<50ms';\n"
          "                   replaces a --campaign file's thresholds; see smtpstorm(1)\n"
          "  --junit FILE     the thresholds as JUnit XML, one testcase each, for CI\n"
          "                   (\"-\": standard output; default none)\n"
          "  --metrics ADDR:PORT  serve OpenMetrics at http://ADDR:PORT/metrics while\n"
          "                   running (default off)\n"
          "  --metrics-linger DURATION  after the report, keep serving the final\n"
          "                   /metrics this long, for a last scrape; Ctrl-C ends it\n"
          "                   sooner (default 0: exit at once)\n"
          "  --web ADDR:PORT  serve the live page at http://ADDR:PORT/ (counters, rates,\n"
          "                   timeline, agents, sinks, thresholds, a Stop button) and its\n"
          "                   JSON at /api/live (default off); beyond loopback it needs\n"
          "                   --web-token\n"
          "  --web-token TOKEN  every request to --web must carry it (Authorization: Bearer\n"
          "                   TOKEN or ?token=TOKEN), else 401 (default none)\n"
          "  --web-linger DURATION  after the report, keep serving the final page this\n"
          "                   long; Stop or Ctrl-C ends it sooner (default 5s)\n"
          "  --quiet          no progress line and no summary (default off)\n"
          "  --help           this text\n"
          "(--slo, --start, --max, --step, --settle, --resolution, --factor and --max-sessions\n"
          " are smtpstorm capacity's: see smtpstorm capacity --help)\n"
          "exit: 0 ok, 1 could not run, 2 usage, 3 agents missing, 4 target errors (only\n"
          "      without --threshold), 5 messages lost (accepted, never counted by a sink),\n"
          "      6 sinks missing, 7 a threshold failed, 130 interrupted\n", out);
}

void cli_usage_capacity(void *out)
{
    fputs("usage: smtpstorm capacity [workload options] [cluster options] --slo EXPR ... [TARGET ...]\n"
          "\n"
          "Finds the highest open-loop rate at which every objective holds: steps at one\n"
          "rate each (--settle, then --step measured), growing by --factor from --start\n"
          "until a step fails, then bisecting between the last good and the first bad\n"
          "rate to --resolution. Each step is a campaign of its own, run by the same agents\n"
          "and sinks, reconciled on its own; the sinks drain (--drain) before the next.\n"
          "\n"
          "search:\n"
          "  --campaign FILE  YAML: the workload and targets as run takes them, and a\n"
          "                   capacity: section of slo (a list), start, max, factor,\n"
          "                   resolution, step, settle, max_sessions (smtpstorm-campaign(5));\n"
          "                   the options below override its keys, --slo its slo list\n"
          "  --slo EXPR       an objective, repeatable (at least one required): run's\n"
          "                   --threshold grammar, judged on each step's measured window:\n"
          "                   'p99(message)<2s' 'p99(delivery)<5s' 'errors<0.1%'\n"
          "                   'rejected<1%' 'backlog_growth<50/s' (the sinks' backlog)\n"
          "  --start R        the first rate, messages/s (default 10)\n"
          "  --max R          the upper bound, messages/s (default 100000)\n"
          "  --factor F       growth from one good step to the next (default 2)\n"
          "  --resolution PCT stop when the first bad rate is within PCT% of the last\n"
          "                   good one (default 5)\n"
          "  --step DURATION  each step's measured window (default 10s)\n"
          "  --settle DURATION  before it, at the same rate, not measured (default 3s)\n"
          "  --max-sessions N the ceiling of the sessions rule: 2 x rate x the p99 message\n"
          "                   latency of the last good step (1 s before any), at least 4\n"
          "                   and one per agent (default 2000)\n"
          "workload: smtpstorm run's options (see smtpstorm run --help) but -m, -s,\n"
          "  and also --rate, --duration and --warmup, which the search decides\n"
          "cluster: smtpstorm run's --local N, --agents N, --sinks N, --bind EP,\n"
          "  and --sink-bind EP, --wait S, --drain S (after each step, the bounded wait\n"
          "  for the sinks), --drain-quiet S, --heartbeat-timeout S, --report-interval\n"
          "  S, --sink-behaviour FILE, --metrics ADDR:PORT, --key F, --authorized-keys\n"
          "  DIR, --insecure\n"
          "reports:\n"
          "  --json FILE      capacity: {rate, limited_by, resolution, steps} and phases,\n"
          "                   one a step (\"-\": standard output; default none)\n"
          "  --html FILE      the steps and a chart of latency and backlog against rate\n"
          "                   (default none)\n"
          "  --junit FILE     each objective at the capacity found a testcase (default none)\n"
          "  --quiet          no progress line and no table of steps (default off)\n"
          "  --help           this text\n"
          "exit: 0 capacity found (or the upper bound held), 2 usage, 3 agents missing,\n"
          "      6 sinks missing, 8 even the start rate failed, 9 the generator was the\n"
          "      limit (an agent saturated or behind twice at one rate), 130 interrupted\n", out);
}

static int cli_u32(const char *arg, uint64_t min, uint64_t max, uint32_t *out, const char *opt,
                   char *err, size_t errlen)
{
    uint64_t v;

    if (number_parse_u64(arg, min, max, &v) != 0) {
        snprintf(err, errlen, "%s: '%s' is not a whole number from %llu to %llu", opt, arg,
                 (unsigned long long)min, (unsigned long long)max);
        return -EINVAL;
    }
    *out = (uint32_t)v;
    return 0;
}

static int cli_seconds(const char *arg, uint64_t *ms, const char *opt, char *err, size_t errlen)
{
    if (config_parse_duration(arg, 1000, ms) != 0) {
        snprintf(err, errlen, "%s: '%s' is not a duration like 30, 30s or 2m", opt, arg);
        return -EINVAL;
    }
    return 0;
}

static int cli_string(char **slot, const char *arg, char *err, size_t errlen)
{
    if (config_set_string(slot, arg) != 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

/* cli_dist - option opt's distribution into *out, or a usage error naming it. */
static int cli_dist(const char *opt, const char *arg, enum dist_units units, uint64_t min, uint64_t max,
                    char **out, char *err, size_t errlen)
{
    char why[256];

    if (config_parse_dist(arg, units, min, max, out, why, sizeof(why)) != 0)
        return snprintf(err, errlen, "%s: %s", opt, why), -EINVAL;
    return 0;
}

/* Workload letters and their long friends. */
static int cli_workload(int opt, const char *arg, struct workload_spec *w, char *err, size_t errlen)
{
    uint32_t u;
    uint64_t v;

    switch (opt) {
    case '4': case '6': w->family = opt - '0'; return 0;
    case 'A': w->no_abort = 1; return 0;
    case 'c': return 0;                 /* smtp-source's counter: the progress line does it */
    case 'C': return cli_u32(arg, 1, 1000, &w->reset_retries, "-C", err, errlen);
    case 'd': w->reuse_session = 1; return 0;
    case 'f': return cli_string(&w->from, arg, err, errlen);
    case 'F': return cli_string(&w->content_file, arg, err, errlen);
    case 'l':
        if (number_parse_u64(arg, 0, 1u << 30, &w->length) != 0)
            return snprintf(err, errlen, "-l: '%s' is not a length from 0 to %u", arg, 1u << 30), -EINVAL;
        w->has_length = 1;
        return 0;
    case 'L': w->lmtp = 1; return 0;
    case 'm':
        if (number_parse_u64(arg, 1, UINT64_MAX / 2, &v) != 0)
            return snprintf(err, errlen, "-m: '%s' is not a message count of at least 1", arg), -EINVAL;
        w->messages = v;
        w->messages_set = 1;
        return 0;
    case 'M': return cli_string(&w->helo_name, arg, err, errlen);
    case 'N': w->number_recipients = 1; return 0;
    case 'o': w->old_mode = 1; return 0;
    case 'r':                           /* the last of -r and --recipients wins */
        free(w->recipients_dist);
        w->recipients_dist = NULL;
        return cli_u32(arg, 1, CONFIG_RCPTS_MAX, &w->recipients, "-r", err, errlen);
    case 'R': return cli_seconds(arg, &w->random_wait_ms, "-R", err, errlen);
    case 's':
        if (cli_u32(arg, 1, 1000000, &u, "-s", err, errlen) != 0)
            return -EINVAL;
        w->sessions = u;
        w->sessions_set = 1;
        return 0;
    case 'S': return cli_string(&w->subject, arg, err, errlen);
    case 't': return cli_string(&w->to, arg, err, errlen);
    case 'T': return cli_u32(arg, 1, 65535, &w->window, "-T", err, errlen);
    case 'v': w->verbose++; return 0;
    case 'w': return cli_seconds(arg, &w->fixed_wait_ms, "-w", err, errlen);
    case OPT_RATE:
        if (config_parse_rate(arg, &w->rate) != 0)
            return snprintf(err, errlen, "--rate: '%s' is not messages per second", arg), -EINVAL;
        return 0;
    case OPT_DURATION: return cli_seconds(arg, &w->duration_ms, "--duration", err, errlen);
    case OPT_WARMUP: return cli_seconds(arg, &w->warmup_ms, "--warmup", err, errlen);
    case OPT_PIPELINING: w->pipelining = 1; return 0;
    case OPT_SMTPUTF8: w->smtputf8 = 1; return 0;
    case OPT_CHUNKING: w->chunking = 1; return 0;
    case OPT_STARTTLS: w->starttls = 1; return 0;
    case OPT_TLS_RESUME: w->tls_resume = 1; return 0;
    case OPT_REBALANCE: w->rebalance = 1; return 0;
    case OPT_AUTH: return cli_string(&w->auth, arg, err, errlen);
    case OPT_TIMEOUT:
        if (config_parse_timeout(arg, &w->timeout_ms) != 0)
            return snprintf(err, errlen, "--timeout: '%s' is not a duration like 30s or 500ms, over 0 "
                            "and at most a day", arg), -EINVAL;
        return 0;
    case OPT_SESSION_TIMEOUT:
        if (config_parse_timeout(arg, &w->session_timeout_ms) != 0)
            return snprintf(err, errlen, "--session-timeout: '%s' is not a duration like 10m or 90s, over 0 "
                            "and at most a day", arg), -EINVAL;
        return 0;
    case OPT_SIZE: return cli_dist("--size", arg, DIST_SIZES, 0, DIST_SIZE_MAX, &w->size, err, errlen);
    case OPT_RECIPIENTS:
        return cli_dist("--recipients", arg, DIST_COUNTS, 1, CONFIG_RCPTS_MAX, &w->recipients_dist, err, errlen);
    case OPT_SOURCE: return config_parse_source(arg, &w->source, err, errlen);
    case OPT_MIME: w->mime = 1; return 0;
    case OPT_RCPT_DOMAINS:
        if (number_parse_u64(arg, 1, SPREAD_ITEMS_MAX, &w->rcpt_domains) != 0)
            return snprintf(err, errlen, "--rcpt-domains: '%s' is not from 1 to %d", arg, SPREAD_ITEMS_MAX), -EINVAL;
        return 0;
    case OPT_RCPT_FILE: return cli_string(&w->rcpt_file, arg, err, errlen);
    case OPT_RCPT_ZIPF:
        if (config_parse_zipf(arg, &w->rcpt_zipf) != 0)
            return snprintf(err, errlen, "--rcpt-zipf: '%s' is not an exponent above 0, at most 10", arg), -EINVAL;
        return 0;
    case OPT_SENDERS: return cli_string(&w->senders, arg, err, errlen);
    case OPT_CORPUS: return cli_string(&w->corpus, arg, err, errlen);
    case OPT_CORPUS_SHUFFLE: w->corpus_shuffle = 1; return 0;
    case OPT_SINK_BEHAVIOUR: {
        char why[512];

        if (behaviours_read(arg, &w->sink_behaviour, why, sizeof(why)) != 0)
            return snprintf(err, errlen, "--sink-behaviour: %s", why), -EINVAL;
        return 0;
    }
    case OPT_ENVELOPE_TRACE: w->envelope_trace = 1; return 0;
    case OPT_ATTACH: return cli_dist("--attach", arg, DIST_SIZES, 0, CONFIG_ATTACH_SIZE_MAX, &w->attach, err, errlen);
    case OPT_ATTACHMENTS:
        return cli_dist("--attachments", arg, DIST_COUNTS, 0, CONFIG_ATTACHMENTS_MAX, &w->attachments, err, errlen);
    case OPT_SEED:
        if (number_parse_u64(arg, 0, UINT64_MAX, &w->seed) != 0)
            return snprintf(err, errlen, "--seed: '%s' is not a whole number", arg), -EINVAL;
        return 0;
    default: return 1;  /* not a workload option */
    }
}

static int cli_metrics(struct run_config *c, const char *arg, char *err, size_t errlen)
{
    if (metrics_addr_check(arg, err, errlen) != 0)
        return -EINVAL;
    return cli_string(&c->metrics, arg, err, errlen);
}

/* cli_capacity - smtpstorm capacity's own options; each --slo replaces
 * a --campaign file's list, the others its capacity: key of that name. */
static int cli_capacity(int opt, const char *arg, struct run_config *c, char *err, size_t errlen)
{
    static const struct { int opt; const char *key, *name; } opts[] = {
        { OPT_START, "start", "--start" }, { OPT_MAX, "max", "--max" }, { OPT_FACTOR, "factor", "--factor" },
        { OPT_RESOLUTION, "resolution", "--resolution" }, { OPT_STEP, "step", "--step" },
        { OPT_SETTLE, "settle", "--settle" }, { OPT_MAX_SESSIONS, "max_sessions", "--max-sessions" },
    };
    char why[256];
    size_t i;

    if (opt == OPT_SLO) {
        if (c->thresholds_from_file) {
            c->n_thresholds = 0;
            c->thresholds_from_file = 0;
        }
        return config_add_threshold(c, arg, err, errlen);
    }
    for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (opts[i].opt != opt)
            continue;
        if (config_capacity_set(&c->cap, opts[i].key, arg, why, sizeof(why)) != 0)
            return snprintf(err, errlen, "%s: %s", opts[i].name, why), -EINVAL;
        return 0;
    }
    return -EINVAL;
}

static int cli_cluster(int opt, const char *arg, struct run_config *c, char *err, size_t errlen)
{
    uint32_t u;

    switch (opt) {
    case OPT_CAMPAIGN: return 0;        /* read in the first pass */
    case OPT_LOCAL:
        if (cli_u32(arg, 1, 256, &u, "--local", err, errlen) != 0)
            return -EINVAL;
        c->local = (int)u;
        return 0;
    case OPT_AGENTS:
        if (cli_u32(arg, 1, WIRE_AGENTS_MAX, &u, "--agents", err, errlen) != 0)
            return -EINVAL;
        c->agents = (int)u;
        return 0;
    case OPT_SINKS:
        if (cli_u32(arg, 0, 10000, &u, "--sinks", err, errlen) != 0)
            return -EINVAL;
        c->sinks = (int)u;
        return 0;
    case OPT_BIND: return cli_string(&c->bind, arg, err, errlen);
    case OPT_SINK_BIND: return cli_string(&c->sink_bind, arg, err, errlen);
    case OPT_WAIT: return cli_seconds(arg, &c->wait_ms, "--wait", err, errlen);
    case OPT_DRAIN: return cli_seconds(arg, &c->drain_ms, "--drain", err, errlen);
    case OPT_DRAIN_QUIET: return cli_seconds(arg, &c->drain_quiet_ms, "--drain-quiet", err, errlen);
    case OPT_HEARTBEAT_TIMEOUT:
        if (cli_seconds(arg, &c->peer_timeout_ms, "--heartbeat-timeout", err, errlen) != 0)
            return -EINVAL;
        if (c->peer_timeout_ms < 1000) {
            snprintf(err, errlen, "--heartbeat-timeout: '%s' is under a second (peers beat every second)", arg);
            return -EINVAL;
        }
        return 0;
    case OPT_REPORT_INTERVAL:
        if (strcmp(arg, "auto") == 0) {
            c->report_interval_ms = 0;
            return 0;
        }
        if (cli_seconds(arg, &c->report_interval_ms, "--report-interval", err, errlen) != 0)
            return -EINVAL;
        if (c->report_interval_ms < 100 || c->report_interval_ms > CONFIG_REPORT_INTERVAL_MAX_MS) {
            snprintf(err, errlen, "--report-interval: '%s' is not between 0.1s and 4s (or auto)", arg);
            return -EINVAL;
        }
        return 0;
    case OPT_JSON: return cli_string(&c->json, arg, err, errlen);
    case OPT_CSV: return cli_string(&c->csv, arg, err, errlen);
    case OPT_HTML: return cli_string(&c->html, arg, err, errlen);
    case OPT_JUNIT: return cli_string(&c->junit, arg, err, errlen);
    case OPT_THRESHOLD:
        if (c->cap.on)
            return snprintf(err, errlen, "--threshold: a capacity search's objectives are --slo EXPR"), -EINVAL;
        if (c->thresholds_from_file) {      /* the command line replaces the file's list */
            c->n_thresholds = 0;
            c->thresholds_from_file = 0;
        }
        return config_add_threshold(c, arg, err, errlen);
    case OPT_METRICS: return cli_metrics(c, arg, err, errlen);
    case OPT_WEB:
        if (metrics_addr_check(arg, err, errlen) != 0)
            return snprintf(err, errlen, "--web '%s': expected ADDR:PORT or [IPV6]:PORT, e.g. 127.0.0.1:8080",
                            arg), -EINVAL;
        return cli_string(&c->web, arg, err, errlen);
    case OPT_WEB_TOKEN:
        if (arg[0] == '\0' || strlen(arg) > WEB_TOKEN_MAX)
            return snprintf(err, errlen, "--web-token: 1 to %d characters", WEB_TOKEN_MAX), -EINVAL;
        return cli_string(&c->web_token, arg, err, errlen);
    case OPT_WEB_LINGER: return cli_seconds(arg, &c->web_linger_ms, "--web-linger", err, errlen);
    case OPT_METRICS_LINGER: return cli_seconds(arg, &c->metrics_linger_ms, "--metrics-linger", err, errlen);
    case OPT_KEY: return cli_string(&c->key, arg, err, errlen);
    case OPT_AUTHORIZED_KEYS: return cli_string(&c->authorized_keys, arg, err, errlen);
    case OPT_INSECURE: c->insecure = 1; return 0;
    case OPT_QUIET: c->quiet = 1; return 0;
    case OPT_HELP: return CLI_HELP;
    case OPT_SLO: case OPT_START: case OPT_MAX: case OPT_STEP: case OPT_SETTLE: case OPT_RESOLUTION:
    case OPT_FACTOR: case OPT_MAX_SESSIONS:
        if (c->cap.on)
            return cli_capacity(opt, arg, c, err, errlen);
        snprintf(err, errlen, "--slo, --start, --max, --step, --settle, --resolution, --factor and "
                 "--max-sessions belong to smtpstorm capacity, not run");
        return -EINVAL;
    default:
        snprintf(err, errlen, "unknown option: see smtpstorm run --help");
        return -EINVAL;
    }
}

/* First pass: only --campaign, so the command line can override the file. */
static int cli_campaign_file(int argc, char **argv, struct run_config *c, char *err, size_t errlen)
{
    int opt;

    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, CLI_SHORT, cli_long, NULL)) != -1) {
        if (opt == OPT_CAMPAIGN && cli_string(&c->campaign_file, optarg, err, errlen) != 0)
            return -ENOMEM;
    }
    if (c->campaign_file == NULL)
        return 0;
    return campaign_load(c->campaign_file, c, err, errlen) == 0 ? 0 : -EINVAL;
}

/* Keys go together; without them, only loopback endpoints (docs/security.md). */
static int cli_check_security(const struct run_config *c, char *err, size_t errlen)
{
    const char *eps[2] = { c->bind, c->sink_bind }, *names[2] = { "--bind", "--sink-bind" };
    int i;

    if (c->authorized_keys && !c->key)
        return snprintf(err, errlen, "--authorized-keys needs --key F, this coordinator's secret key "
                        "(smtpstorm keygen NAME writes NAME.key)"), -EINVAL;
    if (c->key && !c->authorized_keys && !c->insecure)
        return snprintf(err, errlen, "--key needs --authorized-keys DIR holding the agents' and sinks' "
                        ".pub files, or any client could connect (--insecure admits any key)"), -EINVAL;
    if (c->key && c->local)
        return snprintf(err, errlen, "--local talks to its own agents and sink over a private ipc:// "
                        "directory and needs no keys: drop --key and --authorized-keys"), -EINVAL;
    for (i = 0; i < 2 && !c->key && !c->insecure; i++)
        if (eps[i] && !zlink_endpoint_loopback(eps[i]))
            return snprintf(err, errlen, "%s %s is not a loopback address: anyone who reaches it could "
                            "join as an agent or sink; give --key NAME.key and --authorized-keys DIR (see smtpstorm "
                            "keygen), or --insecure on a network you trust", names[i], eps[i]), -EINVAL;
    return 0;
}

/* cli_check_web - --web beyond loopback only with a token: the page can
 * stop the campaign. */
static int cli_check_web(const struct run_config *c, char *err, size_t errlen)
{
    char ep[METRICS_ADDR_MAX + 8];

    if (c->web == NULL)
        return c->web_token ? (snprintf(err, errlen, "--web-token needs --web ADDR:PORT"), -EINVAL) : 0;
    snprintf(ep, sizeof(ep), "tcp://%s", c->web);
    if (c->web_token == NULL && !zlink_endpoint_loopback(ep))
        return snprintf(err, errlen, "--web %s is not a loopback address: anyone who reaches it could watch "
                        "and stop the campaign; give --web-token TOKEN, or serve on 127.0.0.1", c->web), -EINVAL;
    return 0;
}

/* cli_check_scopes - every threshold scoped to a campaign phase names one
 * (by its name:, or its kind when it has none). */
static int cli_check_scopes(const struct run_config *c, char *err, size_t errlen)
{
    const struct phase_spec *p;
    size_t i, k;

    for (i = 0; i < c->n_thresholds; i++) {
        if (c->thresholds[i].scope[0] == '\0')
            continue;
        for (k = 0; k < c->w.n_phases; k++) {
            p = &c->w.phases[k];
            if (strcmp(p->name[0] ? p->name : config_phase_kind_name(p->kind), c->thresholds[i].scope) == 0)
                break;
        }
        if (k == c->w.n_phases)
            return snprintf(err, errlen, "threshold \"%s\": the campaign has no phase named '%s' (a phase "
                            "is named by its name: key, or by its kind when it has none)",
                            c->thresholds[i].text, c->thresholds[i].scope), -EINVAL;
    }
    return 0;
}

static int cli_check(struct run_config *c, char *err, size_t errlen)
{
    int rc;

    if (c->w.name != NULL && (!trace_id_valid(c->w.name) || strlen(c->w.name) > 32))
        return snprintf(err, errlen, "campaign name '%s': use 1 to 32 of A-Z a-z 0-9 . _ : -", c->w.name), -EINVAL;
    if (c->local && c->agents)
        return snprintf(err, errlen, "--local N and --agents N do not mix: --local starts its own agents"), -EINVAL;
    if (c->w.tls_resume && !c->w.starttls)
        return snprintf(err, errlen, "--tls-resume needs --starttls"), -EINVAL;
    if (c->report_interval_ms > c->peer_timeout_ms / 2)
        return snprintf(err, errlen, "--report-interval %.1fs: an agent reporting that seldom would be lost by "
                        "--heartbeat-timeout %.1fs; raise the timeout to twice the interval or more",
                        c->report_interval_ms / 1000.0, c->peer_timeout_ms / 1000.0), -EINVAL;
    if (c->w.rebalance && (c->cap.on || !c->w.messages_set || c->w.duration_ms > 0 || c->w.n_phases > 0))
        return snprintf(err, errlen, "--rebalance moves the messages a lost agent never sent: it needs a "
                        "message count (-m) and no --duration or phases%s",
                        c->cap.on ? " (not a capacity search)" : ""), -EINVAL;
    if ((!c->cap.on && (rc = cli_check_scopes(c, err, errlen)) != 0) || (rc = cli_check_web(c, err, errlen)) != 0)
        return rc;
    return cli_check_security(c, err, errlen);
}

/* cli_check_capacity - what a capacity search needs, and what it decides itself. */
static int cli_check_capacity(const struct run_config *c, char *err, size_t errlen)
{
    size_t i;

    if (c->n_thresholds == 0)
        return snprintf(err, errlen, "no objective: give at least one --slo EXPR, e.g. --slo 'p99(message)<2s', or a "
                        "campaign file's capacity: slo: list"), -EINVAL;
    for (i = 0; i < c->n_thresholds; i++) {
        if (c->thresholds[i].scope[0])
            return snprintf(err, errlen, "--slo \"%s\": objectives are judged on every step's measured window; "
                            "drop the '%s:' scope", c->thresholds[i].text, c->thresholds[i].scope), -EINVAL;
    }
    if (c->cap.start > c->cap.max)
        return snprintf(err, errlen, "--start %g is above --max %g: the search would have nowhere to go",
                        c->cap.start, c->cap.max), -EINVAL;
    if (!c->local && c->w.n_targets == 0)
        return snprintf(err, errlen, "no TARGET: name the server under test (or --local N with no TARGET "
                        "for a local sink)"), -EINVAL;
    if (c->w.rate > 0 || c->w.duration_ms > 0 || c->w.messages_set || c->w.n_phases > 0 || c->w.warmup_ms > 0
        || c->w.sessions_set)
        return snprintf(err, errlen, "the search decides each step's rate, sessions and length: drop --rate, "
                        "--duration, -m, -s, --warmup and phases"), -EINVAL;
    if (c->csv || c->web)
        return snprintf(err, errlen, "--csv and --web are smtpstorm run's: a capacity search writes "
                        "--json, --html and --junit"), -EINVAL;
    return 0;
}

int cli_parse_capacity(int argc, char **argv, struct run_config *c, char *err, size_t errlen)
{
    int rc;

    c->cap.on = 1;
    if ((rc = cli_parse_run(argc, argv, c, err, errlen)) != 0)
        return rc;
    return cli_check_capacity(c, err, errlen);
}

int cli_parse_run(int argc, char **argv, struct run_config *c, char *err, size_t errlen)
{
    int opt, rc;

    if ((rc = cli_campaign_file(argc, argv, c, err, errlen)) != 0)
        return rc;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, CLI_SHORT, cli_long, NULL)) != -1) {
        if (opt == '?' || opt == ':') {
            snprintf(err, errlen, "bad option %s: see smtpstorm %s --help", argv[optind - 1],
                     c->cap.on ? "capacity" : "run");
            return -EINVAL;
        }
        rc = cli_workload(opt, optarg, &c->w, err, errlen);
        if (rc == 1)
            rc = cli_cluster(opt, optarg, c, err, errlen);
        if (rc != 0)
            return rc;
    }
    if (c->w.verbose)
        c->verbose = c->w.verbose;
    if (optind < argc) {
        /* TARGETs on the command line replace the campaign file's. */
        while (c->w.n_targets > 0)
            free(c->w.targets[--c->w.n_targets]);
    }
    for (; optind < argc; optind++)
        if (config_add_target(&c->w, argv[optind]) != 0)
            return snprintf(err, errlen, "too many targets (at most %d)", CONFIG_TARGETS_MAX), -EINVAL;
    return cli_check(c, err, errlen);
}
