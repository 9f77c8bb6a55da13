/* options.c - smtpstorm-sink's command line: smtp-sink(1)'s letters with the
 * same defaults, checks and messages, and the long options (see config.h). */
#include "config.h"
#include "behaviour.h"
#include "metrics.h"
#include "number.h"
#include "users.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SINK_THREADS_MAX 256    /* event loops; more than cores is pointless */
#define SINK_SIZE_MAX (1ULL << 62)  /* --size-limit; fits SIZE=/BDAT sums without overflow */
#define SINK_SOCKET_MODE 0666   /* a unix: listener's mode, as Postfix's unix_listen() */

#define CMD_NAME(n) { n, sizeof(n) - 1 }
static const struct cmd_name {
    const char *text;
    size_t len;
} cmd_names[SINK_CMD_COUNT] = {
    CMD_NAME("CONNECT"), CMD_NAME("HELO"), CMD_NAME("EHLO"), CMD_NAME("LHLO"), CMD_NAME("XCLIENT"),
    CMD_NAME("XFORWARD"), CMD_NAME("AUTH"), CMD_NAME("MAIL"), CMD_NAME("RCPT"), CMD_NAME("DATA"),
    CMD_NAME("."), CMD_NAME("RSET"), CMD_NAME("NOOP"), CMD_NAME("VRFY"), CMD_NAME("QUIT"),
    CMD_NAME("BDAT"), CMD_NAME("STARTTLS"),
};

const char *sink_cmd_name(enum sink_cmd cmd)
{
    return cmd >= 0 && cmd < SINK_CMD_COUNT ? cmd_names[cmd].text : "?";
}

/* Every command line is looked up: the length and the first letter decide
 * before a name is compared. */
int sink_cmd_lookup(const char *name, size_t len)
{
    int i, first;

    if (len == 0)
        return -1;
    first = name[0] >= 'a' && name[0] <= 'z' ? name[0] - 'a' + 'A' : name[0];
    for (i = 0; i < SINK_CMD_COUNT; i++)
        if (cmd_names[i].len == len && cmd_names[i].text[0] == first
            && strncasecmp(cmd_names[i].text, name, len) == 0)
            return i;
    return -1;
}

void sink_config_init(struct sink_config *cfg, const char *progname)
{
    int i;

    memset(cfg, 0, sizeof(*cfg));
    cfg->hostname = "smtp-sink";
    snprintf(cfg->soft_reply, sizeof(cfg->soft_reply), "450 4.3.0 Error: command failed");
    snprintf(cfg->hard_reply, sizeof(cfg->hard_reply), "500 5.3.0 Error: command failed");
    for (i = 0; i < SINK_CMD_COUNT; i++)
        cfg->cmd[i].flags = SINK_CMD_FLAG_ENABLE;
    /* As smtp-sink: CONNECT is not a command a client may send; the
     * greetings are enabled below according to -e and -L. */
    cfg->cmd[SINK_CMD_CONNECT].flags = 0;
    cfg->cmd[SINK_CMD_HELO].flags = cfg->cmd[SINK_CMD_EHLO].flags = cfg->cmd[SINK_CMD_LHLO].flags = 0;
    cfg->abort_delay_s = -1;
    cfg->timeout_s = 100;
    cfg->max_clients = 256;
    cfg->family = ENDPOINT_ANY;
    cfg->threads = 1;
    cfg->report_interval_ms = 1000;
    cfg->socket_mode = SINK_SOCKET_MODE;
    cfg->progname = progname;
}

void sink_config_free(struct sink_config *cfg)
{
    users_free(cfg->users);
    cfg->users = NULL;
    behaviour_unref(cfg->behaviour);
    cfg->behaviour = NULL;
}

const char *sink_options_usage(void)
{
    return "[-468acCeEFLNpPv] [-A abort_delay] [-b soft_bounce_reply] [-B hard_bounce_reply] "
           "[-d dump-template] [-D dump-template] [-f commands] [-h hostname] [-H delay] "
           "[-m max_concurrency] [-M message_quit_count] [-n quit_count] [-q commands] "
           "[-Q commands] [-r commands] [-R root-dir] [-s commands] [-S start-string] "
           "[-t timeout] [-T windowsize] [-u user_privs] [-w delay] [-W command:delay[:odds]] "
           "[--threads N] [--id NAME] [--coordinator EP [--key F --coordinator-key F] [--insecure]] "
           "[--metrics ADDR:PORT] "
           "[--tls-cert F --tls-key F] [--no-size] [--size-limit N] [--no-chunking] "
           "[--no-starttls] [--no-smtputf8] [--auth-users FILE] [--socket-mode OCTAL] [--fsync] "
           "[--behaviour FILE [--seed N]] "
           "[inet:][host]:port backlog | unix:pathname backlog";
}

const char *sink_options_help(void)
{
    return
        "smtpstorm-sink - parallelized SMTP/LMTP test server (a drop-in smtp-sink)\n"
        "\n"
        "  -4 / -6          IPv4 only / IPv6 only (default: both)\n"
        "  -8 -a -C -E -F -N -p   do not announce 8BITMIME, AUTH, XCLIENT,\n"
        "                   ENHANCEDSTATUSCODES, XFORWARD, DSN, PIPELINING\n"
        "  -e               no ESMTP (no EHLO); -P: CISCO PIX greeting, implies -e\n"
        "  -L               LMTP instead of SMTP\n"
        "  -A delay         after DATA wait delay s, reply 550 and hang up\n"
        "  -b / -B reply    soft (4xx) / hard (5xx) reject reply\n"
        "  -c               running counters on stdout: sess=N quit=N mesg=N\n"
        "  -d / -D template dump each transaction to its own / a shared file\n"
        "  --fsync          with -d/-D: fsync each dump (and the directory of a new\n"
        "                   file) before the 250, so it survives a power cut; a\n"
        "                   blocking disk flush per message, off by default\n"
        "  -S string        prefix of each dumped message (C escapes)\n"
        "  -f / -r cmds     reject cmds hard / soft (implies -p)\n"
        "  -q / -Q cmds     hang up without reply / with 421 after cmds\n"
        "  -s cmds          log cmds to syslogd\n"
        "  -h hostname      name in greeting and HELO/EHLO replies (smtp-sink)\n"
        "  -H delay         delay the first read after DATA\n"
        "  -m count         at most count sessions at once (256)\n"
        "  -M count / -n count   end after count messages / QUIT sessions\n"
        "  -t timeout       idle and write time limit, seconds (100)\n"
        "  -T windowsize    TCP receive window of the listener\n"
        "  -u user / -R dir drop privileges / chroot after listening\n"
        "  -v               show the SMTP conversations\n"
        "  -w delay         wait before replying to DATA\n"
        "  -W cmd:delay[:odds]   wait before replying to cmd\n"
        "  --threads N      N event loops on one port (SO_REUSEPORT), default 1\n"
        "  --id NAME        name in reports (default hostname:port)\n"
        "  --coordinator EP stream counters every second to the coordinator's sink\n"
        "                   endpoint (tcp://coordinator:7401), by campaign and agent\n"
        "  --report-interval S  send the counters every S seconds (0..3600; 0: once\n"
        "                   they stop changing, to measure what reporting costs;\n"
        "                   default: 1)\n"
        "  --key F          this sink's secret key (smtpstorm keygen NAME writes NAME.key;\n"
        "                   NAME.pub goes into the coordinator's --authorized-keys DIR)\n"
        "  --coordinator-key F  the coordinator's public key (its NAME.pub); with --key:\n"
        "                   CURVE to the coordinator (default: no keys)\n"
        "  --insecure       allow a --coordinator beyond loopback without keys\n"
        "                   (default: refused; see docs/security.md)\n"
        "  --metrics ADDR:PORT  serve OpenMetrics text for Prometheus at\n"
        "                   http://ADDR:PORT/metrics, refreshed every second: sessions,\n"
        "                   messages, bytes, and received, duplicates and delivery\n"
        "                   latency by campaign; only ADDR is bound, [V6ADDR]:PORT for\n"
        "                   IPv6, port 0 picks a free one (default: none)\n"
        "  --tls-cert F --tls-key F   offer STARTTLS\n"
        "  --no-size --no-chunking --no-starttls --no-smtputf8   do not announce these\n"
        "  --size-limit N   announce SIZE N and refuse larger messages with 552 5.3.4,\n"
        "                   at MAIL (its SIZE=) and at the end of DATA or BDAT LAST\n"
        "                   (RFC 1870; default: SIZE without a limit)\n"
        "  AUTH             PLAIN and LOGIN as RFC 4954 says (235, 334 challenges, 501\n"
        "                   on * or bad base64, 503 twice or in a transaction), where\n"
        "                   smtp-sink answers 250; -a only stops announcing it\n"
        "  --auth-users FILE  user:password lines: other credentials get 535 5.7.8\n"
        "                   (default: any credentials are taken)\n"
        "  SMTPUTF8         announced (RFC 6531); in a transaction whose MAIL has\n"
        "                   SMTPUTF8, -d/-D write octets >= 0x80 of the X- records as\n"
        "                   received (else '?', as smtp-sink; control octets always '?')\n"
        "  --socket-mode OCTAL  mode of a unix: listener (default 0666 whatever the\n"
        "                   umask, as smtp-sink)\n"
        "  --behaviour FILE rules that defer, reject, greylist, delay, tarpit, throttle\n"
        "                   or hang up by command, sender, recipient and probability\n"
        "                   (YAML: seed: and rules:, see smtpstorm-sink(1)); SIGHUP\n"
        "                   reloads it (a bad file keeps the rules in force); smtp-sink's\n"
        "                   options act first and keep their meaning (default: none)\n"
        "  --seed N         seed of the rules' draws; replaces the file's seed: (default:\n"
        "                   the file's, else 0)\n"
        "  --help --version\n"
        "Commands: CONNECT HELO EHLO LHLO MAIL RCPT VRFY DATA . RSET NOOP QUIT\n"
        "XCLIENT XFORWARD AUTH BDAT STARTTLS, comma or space separated.\n";
}

int sink_behaviour_load(const struct sink_config *cfg, struct behaviour **out, char *err, size_t errlen)
{
    int rc = behaviour_load(cfg->behaviour_file, out, err, errlen);

    if (rc == 0 && cfg->seed_set)
        behaviour_set_seed(*out, cfg->seed);
    return rc;
}

/* parse_int - a whole decimal number in [min, max], or -1 with *ok = 0. */
static long parse_int(const char *s, long min, long max, int *ok)
{
    long v;

    *ok = number_parse_long(s, min, max, &v) == 0;
    return *ok ? v : -1;
}

/* parse_mode - an octal file mode 0..0777 ("0660", "600"). */
static int parse_mode(const char *s, unsigned *mode)
{
    unsigned v = 0;

    if (*s == '\0' || strspn(s, "01234567") != strlen(s) || strlen(s) > 4)
        return -1;
    for (; *s; s++)
        v = v * 8 + (unsigned)(*s - '0');
    if (v > 0777)
        return -1;
    *mode = v;
    return 0;
}

/* set_cmds_flags - set flags on each command of a comma/space list. */
static int set_cmds_flags(struct sink_config *cfg, const char *list, unsigned flags,
                          char *err, size_t errlen)
{
    const char *p = list, *start;
    int cmd;

    for (;;) {
        p += strspn(p, " \t\r\n,");
        if (*p == '\0')
            return 0;
        start = p;
        p += strcspn(p, " \t\r\n,");
        cmd = sink_cmd_lookup(start, (size_t)(p - start));
        if (cmd < 0) {
            snprintf(err, errlen, "unknown command: %.*s", (int)(p - start), start);
            return -1;
        }
        cfg->cmd[cmd].flags |= flags;
    }
}

/* set_cmd_delay - -W command:delay[:odds], smtp-sink's checks and messages. */
static int set_cmd_delay(struct sink_config *cfg, const char *arg, char *err, size_t errlen)
{
    char buf[256], *cmd, *delay, *odds, *save = NULL;
    int c, ok, d, o = 0;

    if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
        goto invalid;
    cmd = strtok_r(buf, ":", &save);
    delay = strtok_r(NULL, ":", &save);
    odds = strtok_r(NULL, "", &save);
    if (cmd == NULL || delay == NULL)
        goto invalid;
    if ((c = sink_cmd_lookup(cmd, strlen(cmd))) < 0) {
        snprintf(err, errlen, "unknown command: %s", cmd);
        return -1;
    }
    d = (int)parse_int(delay, 1, 86400, &ok);
    if (!ok) {
        snprintf(err, errlen, "non-positive '%s' delay", cmd);
        return -1;
    }
    if (odds) {
        o = (int)parse_int(odds, 0, 99, &ok);
        if (!ok) {
            snprintf(err, errlen, "delay odds for '%s' out of range", cmd);
            return -1;
        }
    }
    cfg->cmd[c].delay_s = d;
    cfg->cmd[c].delay_odds = o;
    return 0;

invalid:
    snprintf(err, errlen, "invalid command delay argument: %s", arg);
    return -1;
}

/* unescape - -S: C escapes \a \b \f \n \r \t \v \ddd \\ as smtp-sink. */
static int unescape(const char *s, char *out, size_t outmax, size_t *outlen)
{
    size_t n = 0;
    int v, i;
    char c;

    while (*s) {
        if (n + 2 > outmax)
            return -1;
        if (*s != '\\' || s[1] == '\0') {
            out[n++] = *s++;
            continue;
        }
        s++;
        switch (c = *s++) {
        case 'a': out[n++] = '\a'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'v': out[n++] = '\v'; break;
        case '\\': out[n++] = '\\'; break;
        default:
            if (c >= '0' && c <= '7') {
                v = c - '0';
                for (i = 1; i < 3 && *s >= '0' && *s <= '7'; i++)
                    v = v * 8 + (*s++ - '0');
                out[n++] = (char)v;
            } else {
                out[n++] = '\\';
                out[n++] = c;
            }
        }
    }
    *outlen = n;
    return 0;
}

enum { OPT_THREADS = 256, OPT_ID, OPT_TLS_CERT, OPT_TLS_KEY, OPT_NO_SIZE, OPT_NO_CHUNKING,
       OPT_NO_STARTTLS, OPT_HELP, OPT_VERSION, OPT_FSYNC, OPT_COORDINATOR, OPT_REPORT_INTERVAL,
       OPT_KEY, OPT_COORDINATOR_KEY, OPT_INSECURE, OPT_METRICS, OPT_NO_SMTPUTF8, OPT_SIZE_LIMIT,
       OPT_AUTH_USERS, OPT_SOCKET_MODE, OPT_BEHAVIOUR, OPT_SEED };

static const struct option long_options[] = {
    { "threads", required_argument, NULL, OPT_THREADS },
    { "id", required_argument, NULL, OPT_ID },
    { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
    { "tls-key", required_argument, NULL, OPT_TLS_KEY },
    { "no-size", no_argument, NULL, OPT_NO_SIZE },
    { "no-chunking", no_argument, NULL, OPT_NO_CHUNKING },
    { "no-starttls", no_argument, NULL, OPT_NO_STARTTLS },
    { "fsync", no_argument, NULL, OPT_FSYNC },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { "coordinator", required_argument, NULL, OPT_COORDINATOR },
    { "report-interval", required_argument, NULL, OPT_REPORT_INTERVAL },
    { "key", required_argument, NULL, OPT_KEY },
    { "coordinator-key", required_argument, NULL, OPT_COORDINATOR_KEY },
    { "insecure", no_argument, NULL, OPT_INSECURE },
    { "metrics", required_argument, NULL, OPT_METRICS },
    { "no-smtputf8", no_argument, NULL, OPT_NO_SMTPUTF8 },
    { "size-limit", required_argument, NULL, OPT_SIZE_LIMIT },
    { "auth-users", required_argument, NULL, OPT_AUTH_USERS },
    { "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
    { "behaviour", required_argument, NULL, OPT_BEHAVIOUR },
    { "seed", required_argument, NULL, OPT_SEED },
    { NULL, 0, NULL, 0 },
};

#define FATAL(...) do { snprintf(err, errlen, __VA_ARGS__); return SINK_OPTIONS_FATAL; } while (0)
#define USAGE(...) do { snprintf(err, errlen, __VA_ARGS__); return SINK_OPTIONS_USAGE; } while (0)

/* parse_letter - one smtp-sink option letter. */
static enum sink_options_result parse_letter(struct sink_config *cfg, int ch, const char *arg,
                                             char *err, size_t errlen)
{
    int ok;
    long v;

    switch (ch) {
    case '4': cfg->family = ENDPOINT_IPV4; break;
    case '6': cfg->family = ENDPOINT_IPV6; break;
    case '8': cfg->no_8bitmime = 1; break;
    case 'a': cfg->no_auth = 1; break;
    case 'A':
        cfg->abort_delay_s = (int)parse_int(arg, 0, 86400, &ok);
        if (!ok)
            USAGE("bad abort delay: %s", arg);
        break;
    case 'b':
    case 'B':
        if (arg[0] != (ch == 'b' ? '4' : '5') || strspn(arg, "0123456789") != 3
            || strlen(arg) >= SINK_REPLY_MAX || strpbrk(arg, "\r\n"))
            USAGE("bad %s error reply: %s", ch == 'b' ? "soft" : "hard", arg);
        snprintf(ch == 'b' ? cfg->soft_reply : cfg->hard_reply, SINK_REPLY_MAX, "%s", arg);
        break;
    case 'c': cfg->show_count++; break;
    case 'C': cfg->no_xclient = 1; cfg->cmd[SINK_CMD_XCLIENT].flags &= ~SINK_CMD_FLAG_ENABLE; break;
    case 'd': cfg->dump_single = arg; break;
    case 'D': cfg->dump_shared = arg; break;
    case 'e': cfg->no_esmtp = 1; break;
    case 'E': cfg->no_enhanced = 1; break;
    case 'f':
        if (set_cmds_flags(cfg, arg, SINK_CMD_FLAG_HARD_ERR, err, errlen))
            return SINK_OPTIONS_FATAL;
        cfg->no_pipelining = 1;
        break;
    case 'F': cfg->no_xforward = 1; cfg->cmd[SINK_CMD_XFORWARD].flags &= ~SINK_CMD_FLAG_ENABLE; break;
    case 'h':
        if (*arg == '\0' || strpbrk(arg, "\r\n") || strlen(arg) > 255)
            FATAL("bad hostname: %s", arg);
        cfg->hostname = arg;
        break;
    case 'H':
        cfg->data_read_delay_s = (int)parse_int(arg, 1, 86400, &ok);
        if (!ok)
            FATAL("bad data read delay: %s", arg);
        break;
    case 'L': cfg->lmtp = 1; break;
    case 'm':
        cfg->max_clients = (int)parse_int(arg, 1, 1000000, &ok);
        if (!ok)
            FATAL("bad concurrency limit: %s", arg);
        break;
    case 'M':
        cfg->max_messages = parse_int(arg, 1, 2147483647L, &ok);
        if (!ok)
            FATAL("bad message quit count: %s", arg);
        break;
    case 'n':
        cfg->max_quits = parse_int(arg, 1, 2147483647L, &ok);
        if (!ok)
            FATAL("bad quit count: %s", arg);
        break;
    case 'N': cfg->no_dsn = 1; break;
    case 'p': cfg->no_pipelining = 1; break;
    case 'P': cfg->pix = 1; cfg->no_esmtp = 1; break;
    case 'q':
    case 'Q':
    case 'r':
    case 's':
        if (set_cmds_flags(cfg, arg,
                           ch == 'q' ? SINK_CMD_FLAG_DISCONNECT : ch == 'Q' ? SINK_CMD_FLAG_CLOSE
                           : ch == 'r' ? SINK_CMD_FLAG_SOFT_ERR : SINK_CMD_FLAG_SYSLOG, err, errlen))
            return SINK_OPTIONS_FATAL;
        if (ch == 'r')
            cfg->no_pipelining = 1;
        if (ch == 's')
            cfg->syslog = 1;
        break;
    case 'R': cfg->root_dir = arg; break;
    case 'S':
        if (unescape(arg, cfg->start_string, sizeof(cfg->start_string), &cfg->start_len))
            FATAL("start string too long: %s", arg);
        break;
    case 't':
        cfg->timeout_s = (int)parse_int(arg, 1, 86400 * 365, &ok);
        if (!ok)
            FATAL("bad timeout: %s", arg);
        break;
    case 'T':
        cfg->window = (int)parse_int(arg, 1, 1 << 30, &ok);
        if (!ok)
            FATAL("bad TCP window size: %s", arg);
        break;
    case 'u': cfg->user = arg; break;
    case 'v': cfg->verbose++; break;
    case 'w':
        v = parse_int(arg, 1, 86400, &ok);
        if (!ok)
            USAGE("bad DATA delay: %s", arg);
        cfg->cmd[SINK_CMD_DATA].delay_s = (int)v;
        cfg->cmd[SINK_CMD_DATA].delay_odds = 0;
        break;
    case 'W':
        if (set_cmd_delay(cfg, arg, err, errlen))
            return SINK_OPTIONS_FATAL;
        break;
    default:
        USAGE("%s", "");
    }
    return SINK_OPTIONS_RUN;
}

/* parse_long - one long option. */
static enum sink_options_result parse_long(struct sink_config *cfg, int ch, const char *arg,
                                           char *err, size_t errlen)
{
    int ok;

    switch (ch) {
    case OPT_THREADS:
        cfg->threads = (int)parse_int(arg, 1, SINK_THREADS_MAX, &ok);
        if (!ok)
            USAGE("bad --threads value: %s (1..%d)", arg, SINK_THREADS_MAX);
        break;
    case OPT_ID:
        if (*arg == '\0' || strlen(arg) >= 64)
            USAGE("bad --id value: \"%s\" (1..63 characters)", arg);
        cfg->id = arg;
        break;
    case OPT_COORDINATOR:
        if (strstr(arg, "://") == NULL || strlen(arg) > 255)
            USAGE("bad --coordinator value: %s (want an endpoint such as tcp://coordinator:7401)", arg);
        cfg->coordinator = arg;
        break;
    case OPT_REPORT_INTERVAL:
        cfg->report_interval_ms = (int)parse_int(arg, 0, 3600, &ok) * 1000;
        if (!ok)
            USAGE("bad --report-interval value: %s (0..3600 s)", arg);
        break;
    case OPT_KEY: cfg->key_file = arg; break;
    case OPT_COORDINATOR_KEY: cfg->coordinator_key_file = arg; break;
    case OPT_INSECURE: cfg->insecure = 1; break;
    case OPT_METRICS:
        if (metrics_addr_check(arg, err, errlen) != 0)
            return SINK_OPTIONS_USAGE;
        cfg->metrics = arg;
        break;
    case OPT_TLS_CERT: cfg->tls_cert = arg; break;
    case OPT_TLS_KEY: cfg->tls_key = arg; break;
    case OPT_NO_SIZE: cfg->no_size = 1; break;
    case OPT_NO_CHUNKING: cfg->no_chunking = 1; break;
    case OPT_NO_STARTTLS: cfg->no_starttls = 1; break;
    case OPT_FSYNC: cfg->fsync = 1; break;
    case OPT_NO_SMTPUTF8: cfg->no_smtputf8 = 1; break;
    case OPT_SIZE_LIMIT:
        if (number_parse_u64(arg, 1, SINK_SIZE_MAX, &cfg->size_limit) != 0)
            USAGE("bad --size-limit value: %s (1..%llu octets)", arg, (unsigned long long)SINK_SIZE_MAX);
        break;
    case OPT_AUTH_USERS: cfg->auth_users_file = arg; break;
    case OPT_BEHAVIOUR: cfg->behaviour_file = arg; break;
    case OPT_SEED:
        if (number_parse_u64(arg, 0, UINT64_MAX, &cfg->seed) != 0)
            USAGE("bad --seed value: %s (0..%llu)", arg, (unsigned long long)UINT64_MAX);
        cfg->seed_set = 1;
        break;
    case OPT_SOCKET_MODE:
        if (parse_mode(arg, &cfg->socket_mode) != 0)
            USAGE("bad --socket-mode value: %s (octal, 0..0777, such as 0660)", arg);
        cfg->socket_mode_set = 1;
        break;
    case OPT_HELP: return SINK_OPTIONS_HELP;
    case OPT_VERSION: return SINK_OPTIONS_VERSION;
    default: return parse_letter(cfg, ch, arg, err, errlen);
    }
    return SINK_OPTIONS_RUN;
}

/* check_args - the two arguments and the cross-option rules. */
static enum sink_options_result check_args(struct sink_config *cfg, int nargs, char **args,
                                           char *err, size_t errlen)
{
    int ok;

    if (nargs != 2)
        USAGE("%s", "");
    cfg->backlog = (int)parse_int(args[1], 1, 1 << 20, &ok);
    if (!ok)
        USAGE("bad backlog: %s", args[1]);
    if (endpoint_parse(args[0], NULL, &cfg->listen, err, errlen) != 0)
        return SINK_OPTIONS_FATAL;
    if (cfg->dump_single && cfg->dump_shared)
        FATAL("use only one of -d or -D, but not both");
    if (cfg->fsync && cfg->dump_single == NULL && cfg->dump_shared == NULL)
        USAGE("--fsync goes with -d or -D");
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
        USAGE("--tls-cert and --tls-key go together");
    if ((cfg->key_file == NULL) != (cfg->coordinator_key_file == NULL))
        USAGE("--key and --coordinator-key go together: this sink's NAME.key and the coordinator's "
              "NAME.pub (see smtpstorm keygen)");
    if (cfg->size_limit && cfg->no_size)
        USAGE("--size-limit announces SIZE: it does not go with --no-size");
    if (cfg->socket_mode_set && !cfg->listen.is_unix)
        USAGE("--socket-mode goes with a unix:pathname listener");
    if ((cfg->key_file || cfg->insecure) && cfg->coordinator == NULL)
        USAGE("%s needs --coordinator", cfg->key_file ? "--key" : "--insecure");
    if (geteuid() == 0 && cfg->user == NULL)
        FATAL("-u option is required if running as root");
    /* As smtp-sink: which greeting command is recognised. */
    if (cfg->lmtp)
        cfg->cmd[SINK_CMD_LHLO].flags |= SINK_CMD_FLAG_ENABLE;
    else if (cfg->no_esmtp)
        cfg->cmd[SINK_CMD_HELO].flags |= SINK_CMD_FLAG_ENABLE;
    else {
        cfg->cmd[SINK_CMD_HELO].flags |= SINK_CMD_FLAG_ENABLE;
        cfg->cmd[SINK_CMD_EHLO].flags |= SINK_CMD_FLAG_ENABLE;
    }
    if (cfg->no_esmtp || cfg->no_chunking)
        cfg->cmd[SINK_CMD_BDAT].flags &= ~SINK_CMD_FLAG_ENABLE;
    if (cfg->no_esmtp || cfg->no_starttls || cfg->tls_cert == NULL)
        cfg->cmd[SINK_CMD_STARTTLS].flags &= ~SINK_CMD_FLAG_ENABLE;
    if (cfg->max_clients < cfg->threads)
        cfg->threads = cfg->max_clients;
    /* read now, before -R and -u take the file out of reach */
    if (cfg->auth_users_file && (cfg->users = users_load(cfg->auth_users_file, err, errlen)) == NULL)
        return SINK_OPTIONS_USAGE;
    if (cfg->seed_set && cfg->behaviour_file == NULL)
        USAGE("--seed goes with --behaviour");
    if (cfg->behaviour_file && sink_behaviour_load(cfg, &cfg->behaviour, err, errlen) != 0)
        return SINK_OPTIONS_USAGE;
    return SINK_OPTIONS_RUN;
}

enum sink_options_result sink_options_parse(struct sink_config *cfg, int argc, char **argv,
                                            char *err, size_t errlen)
{
    static const char letters[] = "468aA:b:B:cCd:D:eEf:Fh:H:Lm:M:n:NpPq:Q:r:R:s:S:t:T:u:vw:W:";
    enum sink_options_result r;
    int ch;

    err[0] = '\0';
    optind = 1;
    while ((ch = getopt_long(argc, argv, letters, long_options, NULL)) != -1) {
        if (ch == '?' || ch == ':')
            return SINK_OPTIONS_USAGE;
        if ((r = parse_long(cfg, ch, optarg, err, errlen)) != SINK_OPTIONS_RUN)
            return r;
    }
    return check_args(cfg, argc - optind, argv + optind, err, errlen);
}
