/* options.c - parse and check smtpstorm-agent's command line (see
 * options.h). Letters keep smtp-source's meaning; values are checked
 * strictly (smtp-source's atoi takes "2x" as 2; we refuse it). */
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "number.h"
#include "readfile.h"
#include "trace.h"

#define OPTIONS_RATE_MAX     10000000.0     /* messages a second */
#define OPTIONS_SECONDS_MAX  31536000.0     /* a year: --duration, --timeout */
#define OPTIONS_DELAY_MAX    86400          /* -w, -R: a day */
#define OPTIONS_WINDOW_MAX   (1 << 30)

enum {
    OPT_THREADS = 256, OPT_RATE, OPT_DURATION, OPT_PIPELINING, OPT_CHUNKING, OPT_STARTTLS,
    OPT_TLS_RESUME, OPT_TLS_VERIFY, OPT_TLS_CA, OPT_AUTH, OPT_JSON, OPT_CAMPAIGN, OPT_ID, OPT_NO_TRACE,
    OPT_TIMEOUT, OPT_SESSION_TIMEOUT, OPT_MAIL_SIZE, OPT_SMTPUTF8, OPT_SIZE, OPT_SEED, OPT_RECIPIENTS, OPT_SOURCE, OPT_MIME, OPT_ATTACH, OPT_ATTACHMENTS,
    OPT_RCPT_DOMAINS, OPT_RCPT_FILE, OPT_RCPT_ZIPF, OPT_SENDERS, OPT_CORPUS, OPT_CORPUS_SHUFFLE,
    OPT_ENVELOPE_TRACE,
    OPT_QUIET, OPT_HELP, OPT_VERSION, OPT_COORDINATOR, OPT_ALLOW_TARGET,
    OPT_MAX_RATE, OPT_MAX_SESSIONS, OPT_HEARTBEAT_TIMEOUT, OPT_REPORT_INTERVAL,
    OPT_KEY, OPT_COORDINATOR_KEY, OPT_INSECURE      /* daemon-only, like those after OPT_MAX_RATE */
};

static const struct option long_options[] = {
    { "threads", required_argument, NULL, OPT_THREADS },
    { "rate", required_argument, NULL, OPT_RATE },
    { "duration", required_argument, NULL, OPT_DURATION },
    { "pipelining", no_argument, NULL, OPT_PIPELINING },
    { "chunking", no_argument, NULL, OPT_CHUNKING },
    { "starttls", no_argument, NULL, OPT_STARTTLS },
    { "tls-resume", no_argument, NULL, OPT_TLS_RESUME },
    { "tls-verify", no_argument, NULL, OPT_TLS_VERIFY },
    { "tls-ca", required_argument, NULL, OPT_TLS_CA },
    { "auth", required_argument, NULL, OPT_AUTH },
    { "json", required_argument, NULL, OPT_JSON },
    { "campaign-id", required_argument, NULL, OPT_CAMPAIGN },
    { "id", required_argument, NULL, OPT_ID },
    { "no-trace", no_argument, NULL, OPT_NO_TRACE },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "session-timeout", required_argument, NULL, OPT_SESSION_TIMEOUT },
    { "mail-size", no_argument, NULL, OPT_MAIL_SIZE },
    { "smtputf8", no_argument, NULL, OPT_SMTPUTF8 },
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
    { "envelope-trace", no_argument, NULL, OPT_ENVELOPE_TRACE },
    { "attach", required_argument, NULL, OPT_ATTACH },
    { "attachments", required_argument, NULL, OPT_ATTACHMENTS },
    { "quiet", no_argument, NULL, OPT_QUIET },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { "coordinator", required_argument, NULL, OPT_COORDINATOR },
    { "allow-target", required_argument, NULL, OPT_ALLOW_TARGET },
    { "max-rate", required_argument, NULL, OPT_MAX_RATE },
    { "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
    { "heartbeat-timeout", required_argument, NULL, OPT_HEARTBEAT_TIMEOUT },
    { "report-interval", required_argument, NULL, OPT_REPORT_INTERVAL },
    { "key", required_argument, NULL, OPT_KEY },
    { "coordinator-key", required_argument, NULL, OPT_COORDINATOR_KEY },
    { "insecure", no_argument, NULL, OPT_INSECURE },
    { NULL, 0, NULL, 0 },
};

static const char help_text[] =
    "Send mail to an SMTP or LMTP server and measure it: a drop-in smtp-source(1).\n"
    "\n"
    "smtp-source options (same meaning, same defaults):\n"
    "  -4               connect with IPv4 only (default: IPv4 and IPv6)\n"
    "  -6               connect with IPv6 only\n"
    "  -A               don't abort on an unexpected reply; warn and go on (default: abort)\n"
    "  -c               print a running count of messages sent (default: off)\n"
    "  -C count         connection attempts when the server resets (default: 1)\n"
    "  -d               send every message over one connection (default: one each)\n"
    "  -f from          envelope sender (default: foo@myhostname)\n"
    "  -F file          send this pre-formatted message, dot-stuffed, CRLF added\n"
    "  -l length        payload length in octets, headers not counted (default: 4 short lines)\n"
    "  -L               speak LMTP (LHLO) rather than SMTP\n"
    "  -m count         messages to send (default: 1; unlimited with --duration)\n"
    "  -M myhostname    name for HELO and default addresses (default: the host name)\n"
    "  -N               prepend a non-repeating number to each recipient (default: off)\n"
    "  -o               old mode: no HELO and no message headers\n"
    "  -r count         recipients per message (default: 1)\n"
    "  -R interval      wait a random 0..interval seconds between messages (default: 0)\n"
    "  -s count         parallel sessions (default: 1)\n"
    "  -S subject       Subject: header (default: none)\n"
    "  -t to            envelope recipient (default: foo@myhostname)\n"
    "  -T windowsize    TCP send/receive buffer size (default: system)\n"
    "  -v               log every command and reply\n"
    "  -w interval      wait interval seconds between messages (default: 0)\n"
    "\n"
    "smtpstorm options:\n"
    "  --threads N      event-loop threads sharing the sessions (default: 1)\n"
    "  --rate R         open loop: start R messages a second whatever the server's\n"
    "                   speed; latency counts from when each was due (default: closed loop)\n"
    "  --duration S     start no message after S seconds (default: none; with -m,\n"
    "                   whichever comes first)\n"
    "  --timeout S      give up when a connect, TLS handshake, write or reply takes\n"
    "                   over S seconds (a reply counts from its command, however the\n"
    "                   server trickles it); a timeout error (default: 300)\n"
    "  --session-timeout S  end a connection that has lasted S seconds, whatever it\n"
    "                   is doing (a server answering each reply just in time); a\n"
    "                   timeout error (default: none)\n"
    "  --pipelining     send MAIL, RCPT and DATA in one write when offered (RFC 2920)\n"
    "  --chunking       send BDAT instead of DATA when offered (RFC 3030)\n"
    "  --mail-size      send EHLO, and SIZE=octets on MAIL when the server offers SIZE\n"
    "                   (RFC 1870; also with --pipelining or --chunking; default: MAIL\n"
    "                   as smtp-source sends it). Whatever the options, a message over\n"
    "                   the server's SIZE is not sent: a too_big error, then the next\n"
    "  --size DIST      each body's length drawn from DIST (-l's meaning; units k = 1024,\n"
    "                   m = 1024 * 1024): 5k, 1k-100k (uniform),\n"
    "                   lognormal:median=8k,sigma=1.2[,max=64m], mix:2k=60,20k=30,2m=10\n"
    "  --recipients DIST  recipients per message drawn from DIST (the --size grammar,\n"
    "                   counts without units: 3, 1-5, mix:1=80,10=20), instead of -r\n"
    "  --source LIST    bind each new connection to the next local address of LIST\n"
    "                   (addresses and CIDR blocks, IPv4 or IPv6: 198.18.0.32/28,fd00::5)\n"
    "  --mime           send MIME messages: a mail client's headers, text and HTML parts of\n"
    "                   words (of --size or -l octets, default 2k) in multipart/alternative\n"
    "  --attach DIST    and base64 attachments of DIST decoded octets (at most 64m), with\n"
    "                   names and types, in multipart/mixed (implies --mime)\n"
    "  --attachments DIST  attachments per message, 0 to 16 (default 1; with --attach)\n"
    "  --corpus PATH    send real messages: the .eml files of a directory, a maildir or an\n"
    "                   mbox, in order (line ends made CRLF; a message with a NUL or a\n"
    "                   line over 998 octets is skipped, named and counted)\n"
    "  --corpus-shuffle in an order drawn from --seed instead\n"
    "  --rcpt-domains N spread the recipients over N domains: foo@d1.example.test ...\n"
    "                   dN (of -t's domain), uniformly or by --rcpt-zipf\n"
    "  --rcpt-file FILE draw each recipient from FILE: an address or a domain (for -t's\n"
    "                   user) a line, with an optional weight after a space\n"
    "  --rcpt-zipf S    weigh the N domains or FILE's lines by a Zipf law, 1/k^S\n"
    "  --senders N|FILE draw each message's sender: -f's user numbered 1 to N, or from FILE\n"
    "  --seed N         what --size draws depend on, with each message's number: the same\n"
    "                   seed sends the same sizes whatever the sessions, threads or agents\n"
    "  --smtputf8       send MAIL FROM:<from> SMTPUTF8 (RFC 6531): -f and -t may hold\n"
    "                   UTF-8; a server that does not offer SMTPUTF8 gets no message\n"
    "                   (a no_smtputf8 error each)\n"
    "  --starttls       use STARTTLS (RFC 3207); certificates are not checked\n"
    "  --tls-resume     offer each new connection the TLS session (ticket) the server\n"
    "                   gave the last one, to resume instead of a full handshake\n"
    "  --tls-verify     check the server certificate and name (default: off)\n"
    "  --tls-ca FILE    trusted CA certificates for --tls-verify (default: system store)\n"
    "  --auth USER:PASS authenticate with AUTH PLAIN or LOGIN (RFC 4954)\n"
    "  --json FILE      write the JSON report to FILE (\"-\": stdout)\n"
    "  --campaign-id ID campaign id in X-Smtpstorm-Trace (default: standalone)\n"
    "  --id NAME        agent id in X-Smtpstorm-Trace and reports (default: host name)\n"
    "  --no-trace       don't add the X-Smtpstorm-Trace header (never added with -o)\n"
    "  --envelope-trace tag MAIL FROM's address with the trace: foo+st-KEY-SEQ@host, so\n"
    "                   that a sink refusing it before DATA knows whose message it was\n"
    "  --quiet          no end-of-run summary\n"
    "  --help           this text\n"
    "  --version        the version\n"
    "\n"
    "Target: [inet:]host[:port] (default port 25), [ipv6]:port, or unix:pathname.\n"
    "\n"
    "Daemon mode: smtpstorm-agent --coordinator EP [--id NAME] [options below]\n"
    "  --coordinator EP connect to the coordinator's control endpoint (tcp://host:7400)\n"
    "                   and run the workloads it sends, one at a time, until stopped\n"
    "  --allow-target A load only targets inside A: ADDR/PREFIX, ADDR, HOST or\n"
    "                   unix:[PATH-PREFIX]; repeatable (default: 127.0.0.0/8, ::1 and\n"
    "                   unix: sockets); a workload with any other target is refused\n"
    "  --max-rate R     never start more than R messages a second, whatever the\n"
    "                   coordinator asks: a higher or unlimited rate is lowered to R\n"
    "                   and the report says so (default: no ceiling)\n"
    "  --max-sessions N never open more than N parallel sessions; more are lowered\n"
    "                   to N and the report says so (default: no ceiling)\n"
    "  --heartbeat-timeout S  stop all load when the coordinator is silent for S\n"
    "                   seconds (dead-man switch, default: 5)\n"
    "  --report-interval S  send progress every S seconds (0: only the Done at the\n"
    "                   end, to measure what reporting costs; default: the\n"
    "                   coordinator's --report-interval)\n"
    "  --threads N      event-loop threads for each workload (default: 1)\n"
    "  --key F          this agent's secret key (smtpstorm keygen NAME writes NAME.key;\n"
    "                   NAME.pub goes into the coordinator's --authorized-keys DIR)\n"
    "  --coordinator-key F  the coordinator's public key (its NAME.pub); with --key:\n"
    "                   CURVE, the coordinator is authenticated and traffic encrypted\n"
    "  --insecure       allow a --coordinator beyond loopback without keys (default:\n"
    "                   refused; see docs/security.md)\n";

void options_usage(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s [-46AcdLNov] [-C count] [-f from] [-F file] [-l length] [-m count]\n"
            "       [-M myhostname] [-r count] [-R interval] [-s count] [-S subject] [-t to]\n"
            "       [-T windowsize] [-w interval] [--threads N] [--rate R] [--duration S]\n"
            "       [--pipelining] [--chunking] [--starttls] [--tls-resume] [--auth USER:PASS] [--mail-size]\n"
            "       [--smtputf8] [--size DIST] [--recipients DIST] [--seed N]\n"
            "       [--source LIST] [--mime] [--attach DIST] [--attachments DIST]\n"
            "       [--corpus PATH [--corpus-shuffle]]\n"
            "       [--rcpt-domains N | --rcpt-file FILE] [--rcpt-zipf S] [--senders N|FILE]\n"
            "       [--timeout S] [--json FILE] [--envelope-trace]\n"
            "       [long options, see --help] [inet:]host[:port] | unix:pathname\n", prog);
}

/* parse_seconds - a positive number of seconds (or a rate) up to max. */
static int parse_seconds(const char *s, double max, double *out)
{
    double v;

    if (number_parse_double(s, 0, max, &v) != 0 || !(v > 0))
        return -1;
    *out = v;
    return 0;
}

int options_valid_hostname(const char *name)
{
    size_t len = strlen(name), label = 0, i;
    unsigned char addr[16];
    char lit[64];

    if (name[0] == '[') {
        if (len < 3 || name[len - 1] != ']' || len - 2 >= sizeof(lit))
            return 0;
        memcpy(lit, name + 1, len - 2);
        lit[len - 2] = '\0';
        if (strncasecmp(lit, "ipv6:", 5) == 0)
            return inet_pton(AF_INET6, lit + 5, addr) == 1;
        return inet_pton(AF_INET, lit, addr) == 1;
    }
    if (len == 0 || len > 255)
        return 0;
    for (i = 0; i < len; i++) {
        char c = name[i];

        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_') || ++label > 63)
            return 0;
    }
    return label > 0;
}

/* options_id - a trace id from s: invalid characters become '-', cut to fit. */
static void options_id(char *out, const char *s)
{
    size_t i;

    for (i = 0; s[i] && i + 1 < TRACE_ID_MAX; i++)
        out[i] = trace_id_valid((char[]){ s[i], '\0' }) ? s[i] : '-';
    out[i] = '\0';
    if (i == 0)
        snprintf(out, TRACE_ID_MAX, "agent");
}

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)

static int options_letter(struct agent_options *o, int ch, const char *arg, char *err,
                          size_t errlen)
{
    struct workload *w = &o->w;
    long v;

    switch (ch) {
    case '4': w->family = ENDPOINT_IPV4; break;
    case '6': w->family = ENDPOINT_IPV6; break;
    case 'A': w->allow_reject = 1; break;
    case 'c': o->live_counter = 1; break;
    case 'C':
        if (number_parse_long(arg, 1, 1000000, &v)) BAD("bad connection count: %s", arg);
        w->connect_tries = (int)v;
        break;
    case 'd': w->disconnect = 0; break;
    case 'f': w->sender = arg; break;
    case 'F':
        if (o->message_file == NULL && o->message_length > 0)
            BAD("-l option cannot be used with -F");
        o->message_file = arg;
        break;
    case 'l':
        if (o->message_file) BAD("-l option cannot be used with -F");
        if (number_parse_long(arg, 1, MESSAGE_LENGTH_MAX, &v)) BAD("bad message length: %s", arg);
        o->message_length = (size_t)v;
        break;
    case 'L': w->lmtp = 1; break;
    case 'm':
        if (number_parse_u64(arg, 1, WORKLOAD_UNLIMITED - 1, &w->messages)) BAD("bad message count: %s", arg);
        break;
    case 'M':
        if (!options_valid_hostname(arg))
            BAD("bad %s: %s", arg[0] == '[' ? "address literal" : "hostname", arg);
        w->myhostname = arg;
        break;
    case 'N': w->number_rcpts = 1; break;
    case 'o': w->send_helo = 0; w->send_headers = 0; break;
    case 'r':
        if (number_parse_long(arg, 1, OPTIONS_RCPTS_MAX, &v)) BAD("bad recipient count: %s", arg);
        w->recipients = (int)v;
        o->rcpt_count_given = 1;
        break;
    case 'R':
        if (w->fixed_delay_s) BAD("do not use -w and -R options at the same time");
        if (number_parse_long(arg, 1, OPTIONS_DELAY_MAX, &v)) BAD("bad random delay: %s", arg);
        w->random_delay_s = (unsigned)v;
        break;
    case 's':
        if (number_parse_long(arg, 1, OPTIONS_SESSIONS_MAX, &v)) BAD("bad session count: %s", arg);
        w->sessions = (int)v;
        break;
    case 'S': w->subject = arg; break;
    case 't': w->recipient = arg; break;
    case 'T':
        if (number_parse_long(arg, 1, OPTIONS_WINDOW_MAX, &v)) BAD("bad TCP window size: %s", arg);
        w->sndbuf = (int)v;
        break;
    case 'v': w->verbose++; break;
    case 'w':
        if (w->random_delay_s) BAD("do not use -w and -R options at the same time");
        if (number_parse_long(arg, 1, OPTIONS_DELAY_MAX, &v)) BAD("bad fixed delay: %s", arg);
        w->fixed_delay_s = (unsigned)v;
        break;
    default:
        BAD("unknown option");
    }
    return 0;
}

static int options_long(struct agent_options *o, int ch, const char *arg, char *err,
                        size_t errlen)
{
    struct workload *w = &o->w;
    const char *colon;
    char sub[256];
    double d;
    long v;

    switch (ch) {
    case OPT_THREADS:
        if (number_parse_long(arg, 1, OPTIONS_THREADS_MAX, &v)) BAD("bad thread count: %s", arg);
        o->threads = (int)v;
        break;
    case OPT_RATE:
        if (parse_seconds(arg, OPTIONS_RATE_MAX, &d)) BAD("bad rate: %s", arg);
        w->rate = d;
        break;
    case OPT_DURATION:
        if (parse_seconds(arg, OPTIONS_SECONDS_MAX, &d)) BAD("bad duration: %s", arg);
        w->duration_ns = (uint64_t)(d * NS_PER_SEC);
        break;
    case OPT_TIMEOUT:
        if (parse_seconds(arg, OPTIONS_SECONDS_MAX, &d)) BAD("bad timeout: %s", arg);
        w->timeout_ns = (uint64_t)(d * NS_PER_SEC);
        break;
    case OPT_SESSION_TIMEOUT:
        if (parse_seconds(arg, OPTIONS_SECONDS_MAX, &d) || d <= 0) BAD("bad --session-timeout: %s", arg);
        w->session_timeout_ns = (uint64_t)(d * NS_PER_SEC);
        break;
    case OPT_PIPELINING: w->pipelining = 1; w->mail_size = 1; break;
    case OPT_CHUNKING: w->chunking = 1; w->mail_size = 1; break;
    case OPT_MAIL_SIZE: w->mail_size = 1; w->ehlo = 1; break;
    case OPT_SMTPUTF8: w->smtputf8 = 1; break;
    case OPT_SIZE:
        if (dist_parse(&o->size_dist, arg, DIST_SIZES, 0, DIST_SIZE_MAX, sub, sizeof(sub)) != 0)
            BAD("--size: %s", sub);
        o->size_given = 1;
        break;
    case OPT_RECIPIENTS:
        if (dist_parse(&o->rcpt_dist, arg, DIST_COUNTS, 1, OPTIONS_RCPTS_MAX, sub, sizeof(sub)) != 0)
            BAD("--recipients: %s", sub);
        w->rcpt_dist = &o->rcpt_dist;
        break;
    case OPT_SOURCE:
        source_pool_free(&o->sources);
        if (source_pool_parse(&o->sources, arg, err, errlen) != 0)
            return -EINVAL;
        w->sources = &o->sources;
        break;
    case OPT_MIME: w->mime = &o->mime; break;
    case OPT_RCPT_DOMAINS:
        if (number_parse_u64(arg, 1, SPREAD_ITEMS_MAX, &o->rcpt_domains))
            BAD("bad --rcpt-domains: %s (1 to %d)", arg, SPREAD_ITEMS_MAX);
        break;
    case OPT_RCPT_FILE: o->rcpt_file = arg; break;
    case OPT_RCPT_ZIPF:
        if (parse_seconds(arg, SPREAD_ZIPF_MAX, &o->rcpt_zipf) || o->rcpt_zipf <= 0)
            BAD("bad --rcpt-zipf: %s (an exponent above 0, at most 10)", arg);
        break;
    case OPT_SENDERS: o->senders = arg; break;
    case OPT_CORPUS: o->corpus_path = arg; break;
    case OPT_CORPUS_SHUFFLE: o->corpus_shuffle = 1; break;
    case OPT_ENVELOPE_TRACE: w->envelope_trace = 1; break;
    case OPT_ATTACH:
        if (dist_parse(&o->attach_size, arg, DIST_SIZES, 0, MIME_ATTACH_SIZE_MAX, sub, sizeof(sub)) != 0)
            BAD("--attach: %s", sub);
        o->mime.attach_size = &o->attach_size;
        w->mime = &o->mime;
        break;
    case OPT_ATTACHMENTS:
        if (dist_parse(&o->attach_count, arg, DIST_COUNTS, 0, MIME_ATTACH_MAX, sub, sizeof(sub)) != 0)
            BAD("--attachments: %s", sub);
        o->mime.attach_count = &o->attach_count;
        break;
    case OPT_SEED:
        if (number_parse_u64(arg, 0, UINT64_MAX, &w->seed)) BAD("bad --seed: %s (a whole number)", arg);
        break;
    case OPT_STARTTLS: w->starttls = 1; break;
    case OPT_TLS_RESUME: w->tls_resume = 1; break;
    case OPT_TLS_VERIFY: o->tls_verify = 1; break;
    case OPT_TLS_CA: o->tls_ca = arg; break;
    case OPT_AUTH:
        colon = strchr(arg, ':');
        if (colon == NULL || colon == arg || (size_t)(colon - arg) > AUTH_FIELD_MAX
            || strlen(colon + 1) > AUTH_FIELD_MAX)
            BAD("bad --auth value: want USER:PASS, each at most %d octets", AUTH_FIELD_MAX);
        memcpy(o->auth_user, arg, (size_t)(colon - arg));
        o->auth_user[colon - arg] = '\0';
        snprintf(o->auth_pass, sizeof(o->auth_pass), "%s", colon + 1);
        w->auth_user = o->auth_user;
        w->auth_pass = o->auth_pass;
        break;
    case OPT_JSON: o->json_path = arg; break;
    case OPT_CAMPAIGN:
        if (!trace_id_valid(arg)) BAD("bad campaign id: %s (want 1-63 of A-Z a-z 0-9 . _ : -)", arg);
        snprintf(w->campaign, sizeof(w->campaign), "%s", arg);
        break;
    case OPT_ID:
        if (!trace_id_valid(arg)) BAD("bad agent id: %s (want 1-63 of A-Z a-z 0-9 . _ : -)", arg);
        snprintf(w->agent_id, sizeof(w->agent_id), "%s", arg);
        break;
    case OPT_NO_TRACE: w->trace = 0; break;
    case OPT_QUIET: o->quiet = 1; break;
    case OPT_COORDINATOR: o->coordinator = arg; break;
    case OPT_KEY: o->key_file = arg; break;
    case OPT_COORDINATOR_KEY: o->coordinator_key_file = arg; break;
    case OPT_INSECURE: o->insecure = 1; break;
    case OPT_ALLOW_TARGET:
        if (guard_add_allow(&o->guard, arg, err, errlen) != 0)
            return -EINVAL;
        break;
    case OPT_MAX_RATE:
        if (parse_seconds(arg, OPTIONS_RATE_MAX, &d)) BAD("bad --max-rate: %s", arg);
        o->guard.max_rate = d;
        break;
    case OPT_MAX_SESSIONS:
        if (number_parse_long(arg, 1, OPTIONS_SESSIONS_MAX, &v)) BAD("bad --max-sessions: %s", arg);
        o->guard.max_sessions = (uint32_t)v;
        break;
    case OPT_HEARTBEAT_TIMEOUT:
        if (parse_seconds(arg, 3600, &d) || d < 0.5) BAD("bad --heartbeat-timeout: %s (0.5 to 3600 s)", arg);
        o->heartbeat_timeout_ms = (unsigned)(d * 1000);
        break;
    case OPT_REPORT_INTERVAL:
        if (strcmp(arg, "0") == 0)
            o->report_interval_ms = 0;
        else if (parse_seconds(arg, 3600, &d) || d < 0.1) BAD("bad --report-interval: %s", arg);
        else
            o->report_interval_ms = (int)(d * 1000);
        break;
    default:
        BAD("unknown option");
    }
    return 0;
}

/* options_list - a --rcpt-file or --senders FILE into sp. */
static int options_list(struct spread *sp, const char *path, double zipf, char *err, size_t errlen)
{
    char *text, why[256];
    size_t len;
    int rc;

    if (readfile_all(path, SPREAD_FILE_MAX, &text, &len, why, sizeof(why)) != 0)
        BAD("%s", why);
    rc = spread_parse_list(sp, path, text, len, zipf, err, errlen);
    free(text);
    return rc;
}

/* options_spreads - where recipients and senders are drawn from. */
static int options_spreads(struct agent_options *o, char *err, size_t errlen)
{
    struct workload *w = &o->w;
    uint64_t n;

    if (o->rcpt_domains && o->rcpt_file)
        BAD("--rcpt-domains cannot be used with --rcpt-file");
    if (o->rcpt_zipf > 0 && !o->rcpt_domains && !o->rcpt_file)
        BAD("--rcpt-zipf needs --rcpt-domains or --rcpt-file");
    if (o->rcpt_domains && spread_numbered(&o->rcpt_spread, w->recipient, 1, o->rcpt_domains, o->rcpt_zipf,
                                           err, errlen) != 0)
        return -EINVAL;
    if (o->rcpt_file && options_list(&o->rcpt_spread, o->rcpt_file, o->rcpt_zipf, err, errlen) != 0)
        return -EINVAL;
    if (o->rcpt_domains || o->rcpt_file)
        w->rcpt_spread = &o->rcpt_spread;
    if (o->senders == NULL)
        return 0;
    if (number_parse_u64(o->senders, 1, SPREAD_ITEMS_MAX, &n) == 0) {
        if (spread_numbered(&o->sender_spread, w->sender, 0, n, 0, err, errlen) != 0)
            return -EINVAL;
    } else if (options_list(&o->sender_spread, o->senders, 0, err, errlen) != 0) {
        return -EINVAL;
    }
    w->sender_spread = &o->sender_spread;
    return 0;
}

/* options_finish - defaults that depend on other options, and checks
 * across options. */
static int options_finish(struct agent_options *o, int explicit_m, char *err, size_t errlen)
{
    struct workload *w = &o->w;

    if (w->rate > 0 && (w->fixed_delay_s || w->random_delay_s))
        BAD("--rate cannot be used with -w or -R");
    if (w->duration_ns && !explicit_m)
        w->messages = WORKLOAD_UNLIMITED;
    if (w->rcpt_dist && o->rcpt_count_given)
        BAD("--recipients cannot be used with -r");
    if (w->rcpt_dist)
        w->recipients = (int)dist_max(w->rcpt_dist);
    if (o->size_given && (o->message_file || o->message_length))
        BAD("--size cannot be used with -l or -F");
    if (o->corpus_path && (o->message_file || o->message_length || o->size_given || w->mime))
        BAD("--corpus cannot be used with -F, -l, --size or --mime");
    if (o->corpus_shuffle && !o->corpus_path)
        BAD("--corpus-shuffle needs --corpus");
    if (o->corpus_path)
        w->send_headers = 0;    /* its messages bring their own */
    if (o->mime.attach_count && !o->mime.attach_size)
        BAD("--attachments needs --attach");
    if (w->mime && (o->message_file || !w->send_helo))
        BAD("--mime cannot be used with -F or -o");
    if (w->mime) {              /* the text part: --size, -l, or 2k */
        dist_fixed(&o->text_size, o->message_length);
        o->mime.text_size = o->size_given ? &o->size_dist : o->message_length ? &o->text_size : NULL;
        w->send_headers = 0;    /* its own come with it */
    } else if (o->size_given) {
        w->size_dist = &o->size_dist;   /* the body's length; with --mime, the text part's */
    }
    if (o->tls_verify && !w->starttls)
        BAD("--tls-verify needs --starttls");
    if (w->tls_resume && !w->starttls)
        BAD("--tls-resume needs --starttls");
    if (o->tls_ca && !o->tls_verify)
        BAD("--tls-ca needs --tls-verify");
    if (w->myhostname == NULL) {
        if (gethostname(o->hostname, sizeof(o->hostname) - 1) != 0 || o->hostname[0] == '\0')
            snprintf(o->hostname, sizeof(o->hostname), "localhost");
        w->myhostname = o->hostname;
    }
    snprintf(o->default_addr, sizeof(o->default_addr), "foo@%s", w->myhostname);
    if (w->sender == NULL)
        w->sender = o->default_addr;
    if (w->recipient == NULL)
        w->recipient = o->default_addr;
    if (strlen(w->sender) > MESSAGE_ADDR_MAX - 8 || strlen(w->recipient) > MESSAGE_ADDR_MAX - 32)
        BAD("sender or recipient address too long");
    if (strpbrk(w->sender, "\r\n") || strpbrk(w->recipient, "\r\n")
        || (w->subject && strpbrk(w->subject, "\r\n")))
        BAD("addresses and subject must not contain line breaks");
    if (!w->send_helo)
        w->trace = 0;           /* -o: no headers, so no trace header either */
    if (options_spreads(o, err, errlen) != 0)
        return -EINVAL;
    if (o->message_file)
        w->send_headers = 0;    /* the file brings its own */
    if (w->campaign[0] == '\0')
        snprintf(w->campaign, sizeof(w->campaign), "standalone");
    if (w->agent_id[0] == '\0')
        options_id(w->agent_id, w->myhostname[0] == '[' ? "agent" : w->myhostname);
    if (w->envelope_trace && !w->trace)
        BAD("--envelope-trace needs the trace (not with --no-trace or -o)");
    if (workload_set_pair(w) != 0 && w->trace)
        BAD("bad campaign or agent id for the trace: %s %s", w->campaign, w->agent_id);
    return 0;
}

/* options_name - "-m" or "--rate" for option ch, into out. */
static void options_name(int ch, char *out, size_t outlen)
{
    size_t i;

    snprintf(out, outlen, "-%c", ch < OPT_THREADS ? ch : '?');
    for (i = 0; ch >= OPT_THREADS && long_options[i].name; i++)
        if (long_options[i].val == ch)
            snprintf(out, outlen, "--%s", long_options[i].name);
}

/* options_daemon_option - options that mean something in daemon mode. */
static int options_daemon_option(int ch)
{
    switch (ch) {
    case OPT_THREADS: case OPT_ID: case OPT_QUIET: case OPT_COORDINATOR: case OPT_ALLOW_TARGET:
    case OPT_MAX_RATE: case OPT_MAX_SESSIONS: case OPT_HEARTBEAT_TIMEOUT: case OPT_REPORT_INTERVAL:
    case OPT_KEY: case OPT_COORDINATOR_KEY: case OPT_INSECURE:
    case 'v':
        return 1;
    default:
        return 0;
    }
}

/* options_daemon - the checks of daemon mode (--coordinator). */
static int options_daemon(struct agent_options *o, int nargs, char *err, size_t errlen)
{
    if (o->workload_option[0])
        BAD("%s: with --coordinator the coordinator sends the workload; give only --id, --threads, "
            "--allow-target, --max-rate, --max-sessions, --heartbeat-timeout, --report-interval, "
            "--key, --coordinator-key and --insecure", o->workload_option);
    if (nargs != 0)
        BAD("with --coordinator there is no target argument: the coordinator names the targets");
    if (!o->key_file != !o->coordinator_key_file)
        BAD("--key and --coordinator-key go together: this agent's NAME.key and the coordinator's "
            "NAME.pub (see smtpstorm keygen)");
    if (o->w.agent_id[0] == '\0') {
        if (gethostname(o->hostname, sizeof(o->hostname) - 1) != 0 || o->hostname[0] == '\0')
            snprintf(o->hostname, sizeof(o->hostname), "agent");
        options_id(o->w.agent_id, o->hostname);
    }
    return OPTIONS_RUN;
}

int options_parse(int argc, char **argv, struct agent_options *o, FILE *out, char *err,
                  size_t errlen)
{
    int ch, rc, explicit_m = 0;

    memset(o, 0, sizeof(*o));
    workload_defaults(&o->w);
    guard_init(&o->guard);
    o->threads = 1;
    o->heartbeat_timeout_ms = OPTIONS_HEARTBEAT_TIMEOUT_MS;
    o->report_interval_ms = -1;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "46AcC:df:F:l:Lm:M:Nor:R:s:S:t:T:vw:", long_options,
                             NULL)) != -1) {
        if (ch == '?') {
            if (optopt >= OPT_THREADS)
                BAD("option %s needs a value", argv[optind - 1]);
            if (optopt == 0)
                BAD("unknown option %s", argv[optind - 1]);
            if (strchr("CfFlmMrRsStTw", optopt))
                BAD("option -%c needs a value", optopt);
            BAD("unknown option -%c", optopt);
        }
        if (ch == OPT_HELP) {
            options_usage(out, argv[0]);
            fputs(help_text, out);
            return OPTIONS_DONE;
        }
        if (ch == OPT_VERSION) {
            fprintf(out, "smtpstorm-agent %s\n", SMTPSTORM_VERSION);
            return OPTIONS_DONE;
        }
        if (ch == 'm')
            explicit_m = 1;
        if (!options_daemon_option(ch) && o->workload_option[0] == '\0')
            options_name(ch, o->workload_option, sizeof(o->workload_option));
        if (options_daemon_option(ch) && ch >= OPT_MAX_RATE && o->daemon_only[0] == '\0')
            options_name(ch, o->daemon_only, sizeof(o->daemon_only));
        rc = ch >= OPT_THREADS ? options_long(o, ch, optarg, err, errlen)
                               : options_letter(o, ch, optarg, err, errlen);
        if (rc != 0)
            return rc;
    }
    if (o->coordinator)
        return options_daemon(o, argc - optind, err, errlen);
    if (o->daemon_only[0] || o->guard.n_allow > 0)
        BAD("%s needs --coordinator (daemon mode)", o->daemon_only[0] ? o->daemon_only : "--allow-target");
    if (argc - optind != 1)
        BAD(argc - optind < 1 ? "missing target address" : "too many arguments: %s", argv[argc - 1]);
    o->target_spec = argv[optind];
    if (strncasecmp(o->target_spec, "mx:", 3) == 0)
        BAD("%s: mx: targets are looked up by an agent in daemon mode (smtpstorm run); "
            "give the mail host here", o->target_spec);
    if (endpoint_parse(o->target_spec, "25", &o->w.target, err, errlen) != 0)
        return -EINVAL;
    return options_finish(o, explicit_m, err, errlen);
}
