/* fuzz_session.c - fuzz the sink's command parser and data scanner
 * (sink/session.c, with sink/dump.c): arbitrary client bytes in arbitrary
 * read splits. The first input byte picks options (LMTP, -e, -d/-D dumps,
 * delays, rejections, STARTTLS), the second seeds the read sizes; the rest
 * is what the client sends. Checks: no read past a buffer, every reply a
 * whole "ddd" line, progress on every call, no leak, no stray dump file. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "session.h"

#define FUZZ_OPT_LMTP       0x01
#define FUZZ_OPT_NO_ESMTP   0x02
#define FUZZ_OPT_DUMP       0x04    /* -d into a private directory */
#define FUZZ_OPT_SHARED     0x08    /* -D (into /dev/null when not with -d) */
#define FUZZ_OPT_DELAY      0x10    /* -w 1 -W RCPT:1:50: pauses to resume */
#define FUZZ_OPT_REJECT     0x20    /* -r RCPT -f BDAT -Q VRFY */
#define FUZZ_OPT_TLS        0x40    /* STARTTLS offered (handshake simulated) */
#define FUZZ_OPT_ABORT      0x80    /* -A 0: 550 after DATA */

static char dump_dir[64];

static int message_count;

static void on_message(void *arg, const struct trace *tr, uint64_t bytes, int dump_error)
{
    (void)arg;
    (void)tr;
    (void)bytes;
    (void)dump_error;
    message_count++;
}

static void on_quit(void *arg)
{
    (void)arg;
}

static const struct sink_session_hooks hooks = { on_message, on_quit, NULL };

/* config_for - a config from the option byte, parsed as a command line is. */
static int config_for(struct sink_config *cfg, unsigned opts, char *dump_template, size_t cap)
{
    char *argv[32], err[256];
    int argc = 0;

    argv[argc++] = "sink";
    argv[argc++] = "-u";
    argv[argc++] = "nobody";
    if (opts & FUZZ_OPT_LMTP) argv[argc++] = "-L";
    if (opts & FUZZ_OPT_NO_ESMTP) argv[argc++] = "-e";
    if (opts & (FUZZ_OPT_DUMP | FUZZ_OPT_SHARED)) {
        if (opts & FUZZ_OPT_DUMP)
            snprintf(dump_template, cap, "%s/%s", dump_dir, (opts & FUZZ_OPT_SHARED) ? "shared" : "m.");
        else
            snprintf(dump_template, cap, "/dev/null");
        argv[argc++] = (opts & FUZZ_OPT_SHARED) ? "-D" : "-d";
        argv[argc++] = dump_template;
        argv[argc++] = "-S";
        argv[argc++] = "start\\n";
    }
    if (opts & FUZZ_OPT_DELAY) {
        argv[argc++] = "-w";
        argv[argc++] = "1";
        argv[argc++] = "-W";
        argv[argc++] = "RCPT:1:50";
    }
    if (opts & FUZZ_OPT_REJECT) {
        argv[argc++] = "-r";
        argv[argc++] = "RCPT";
        argv[argc++] = "-f";
        argv[argc++] = "BDAT";
        argv[argc++] = "-Q";
        argv[argc++] = "VRFY";
    }
    if (opts & FUZZ_OPT_TLS) {
        argv[argc++] = "--tls-cert";       /* only named: the handshake is simulated */
        argv[argc++] = "/nonexistent";
        argv[argc++] = "--tls-key";
        argv[argc++] = "/nonexistent";
    }
    if (opts & FUZZ_OPT_ABORT) {
        argv[argc++] = "-A";
        argv[argc++] = "0";
    }
    argv[argc++] = "127.0.0.1:25";
    argv[argc++] = "10";
    argv[argc] = NULL;
    sink_config_init(cfg, "sink");
    return sink_options_parse(cfg, argc, argv, err, sizeof(err)) == SINK_OPTIONS_RUN ? 0 : -1;
}

/* check_replies - every reply line is "ddd" then ' ', '-' or nothing, CRLF. */
static void check_replies(const char *p, size_t len)
{
    const char *end = p + len, *nl;

    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL || nl - p < 4 || nl[-1] != '\r')
            abort();
        if (p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9'
            || (p[3] != ' ' && p[3] != '-' && p[3] != '\r'))
            abort();
        p = nl + 1;
    }
}

static void take_output(struct sink_session *s)
{
    size_t n;
    const char *out = sink_session_output(s, &n);

    check_replies(out, n);
    sink_session_output_consume(s, n);
}

/* clean_dump_dir - remove what the run left (finished -d captures). */
static void clean_dump_dir(void)
{
    char path[512];
    struct dirent *e;
    DIR *d = opendir(dump_dir);

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dump_dir, e->d_name);
        (void)unlink(path);
    }
    closedir(d);
}

static void remove_dump_dir(void)
{
    clean_dump_dir();
    (void)rmdir(dump_dir);
}

static uint32_t next_split(uint32_t *rng)
{
    *rng ^= *rng << 13;
    *rng ^= *rng >> 17;
    *rng ^= *rng << 5;
    return *rng;
}

/* drive - feed in[0..len) in reads whose sizes come from rng. */
static void drive(struct sink_session *s, const char *in, size_t len, uint32_t rng)
{
    enum sink_session_status st;
    size_t pos = 0, end, used;
    int stuck = 0;

    st = sink_session_start(s, "127.0.0.1");
    take_output(s);
    while (pos < len && st != SINK_SESSION_CLOSE) {
        if (st == SINK_SESSION_PAUSE) {
            st = sink_session_resume(s);
            take_output(s);
            continue;
        }
        if (st == SINK_SESSION_STARTTLS) {
            sink_session_tls_started(s);     /* as if the handshake succeeded */
            st = SINK_SESSION_MORE;
        }
        end = pos + 1 + next_split(&rng) % ((rng & 0x100) ? 7 : 700);
        if (end > len)
            end = len;
        used = sink_session_feed(s, in + pos, end - pos, &st);
        if (used > end - pos)
            abort();
        pos += used;
        take_output(s);
        stuck = used == 0 && st == SINK_SESSION_MORE ? stuck + 1 : 0;
        if (stuck > 2)
            abort();            /* neither input taken nor a reason given */
    }
    sink_session_end(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sink_config cfg;
    static char template[256];
    struct dump_writer *dw = NULL;
    struct sink_session_common common;
    struct sink_session s;
    char *copy;
    unsigned opts;
    int err;

    if (dump_dir[0] == '\0') {
        snprintf(dump_dir, sizeof(dump_dir), "/tmp/fuzz-session-XXXXXX");
        if (mkdtemp(dump_dir) == NULL)
            abort();
        atexit(remove_dump_dir);
    }
    if (size < 2)
        return 0;
    opts = data[0];
    if (config_for(&cfg, opts, template, sizeof(template)) != 0)
        abort();
    if (cfg.dump_single || cfg.dump_shared) {
        dw = dump_writer_new(&cfg, 1, &err);
        if (dw == NULL)
            abort();
    }
    copy = malloc(size - 2 ? size - 2 : 1);     /* exact size: ASan sees overreads */
    if (copy == NULL)
        abort();
    memcpy(copy, data + 2, size - 2);
    message_count = 0;
    if (sink_session_common_init(&common, &cfg, dw) != 0)
        abort();
    sink_session_init(&s, &common, &hooks, NULL, data[1]);
    drive(&s, copy, size - 2, 0x9e3779b9u ^ data[1]);
    sink_session_release(&s);
    sink_session_common_release(&common);
    dump_writer_free(dw);
    free(copy);
    if (opts & FUZZ_OPT_DUMP)
        clean_dump_dir();
    return 0;
}
