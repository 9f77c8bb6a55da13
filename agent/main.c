/* main.c - smtpstorm-agent standalone: a drop-in smtp-source(1) that
 * measures. Parses the command line, builds the message, runs the
 * workload on --threads loops, keeps a per-second timeline, and prints the
 * summary and writes the --json report at the end. With --coordinator it
 * hands over to agent/link.c (daemon mode). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "clock.h"
#include "transport.h"
#include "ev.h"
#include "link.h"
#include "log.h"
#include "message.h"
#include "options.h"
#include "report.h"
#include "runner.h"
#include "summary.h"

#define AGENT_ERR_MAX 1024
#define AGENT_GRACE_NS (5 * NS_PER_SEC)     /* after a signal, messages in progress get this long */

struct agent_run {
    struct agent_options opt;
    struct message_payload payload;
    struct mime_pool mime_pool;     /* --mime's shared pools */
    struct corpus corpus;           /* --corpus */
    void *tls_ctx;
    struct runner *runner;
    struct ev_loop *loop;
    struct ev_timer tick;
    struct ev_timer grace;
    int sigfd;
    int signals;
    uint64_t start_ns, start_wall_ns, cpu0;
    uint64_t ticks;
    struct report_timeline timeline;
    struct seconds_window *win;     /* the engines' event-time rows */
    uint32_t rows_out;              /* seconds before this one are in timeline */
    struct load_stats *snap;
};

static void usage(const char *prog, const char *why)
{
    fprintf(stderr, "%s: fatal: %s\n", prog, why);
    options_usage(stderr, prog);
    exit(1);
}

/* agent_timeline_rows - the seconds every engine has closed since the last
 * call, by event time, as timeline rows. */
static void agent_timeline_rows(struct agent_run *a)
{
    const struct meter_second *sec;
    struct seconds_round round;
    struct report_row row;

    seconds_round_begin(a->win, &round);
    runner_take_seconds(a->runner, a->win, &round);
    seconds_round_end(a->win, &round);
    for (; a->rows_out < a->win->closed; a->rows_out++) {
        sec = seconds_find(a->win, a->rows_out);
        if (a->rows_out == 0 && (sec == NULL || (sec->n.accepted == 0 && sec->n.errors == 0)))
            continue;           /* nothing before the start */
        row.t = a->rows_out;
        row.accepted = sec ? sec->n.accepted : 0;
        row.errors = sec ? sec->n.errors : 0;
        row.received = REPORT_NULL;
        (void)report_timeline_append(&a->timeline, &row);
    }
}

static void agent_on_tick(struct ev_loop *loop, void *arg)
{
    struct agent_run *a = arg;

    a->ticks++;
    agent_timeline_rows(a);
    ev_timer_start_at(loop, &a->tick, a->start_ns + (a->ticks + 1) * NS_PER_SEC);
}

static void agent_on_done(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    uint64_t n;

    (void)events;
    (void)arg;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    ev_stop(loop);
}

static void agent_on_grace(struct ev_loop *loop, void *arg)
{
    struct agent_run *a = arg;

    (void)loop;
    runner_stop(a->runner, 1);
}

static void agent_on_signal(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct agent_run *a = arg;
    struct signalfd_siginfo si;

    (void)events;
    if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    a->signals++;
    log_warn("signal %u: %s", si.ssi_signo,
             a->signals == 1 ? "finishing messages in progress for 5 s (again to abort)" : "aborting");
    runner_stop(a->runner, a->signals > 1);
    if (a->signals == 1)
        ev_timer_start(loop, &a->grace, AGENT_GRACE_NS);
}

/* agent_payload_length - -l's length, or with --size that of the line
 * pattern every drawn body is cut from. */
static size_t agent_payload_length(const struct agent_options *o)
{
    return o->w.size_dist ? (size_t)dist_max(o->w.size_dist) + MESSAGE_LINE_LEN : o->message_length;
}

static int agent_prepare(struct agent_run *a, char *err, size_t errlen)
{
    struct workload *w = &a->opt.w;
    int rc;

    if (a->opt.message_file)
        rc = message_payload_load(a->opt.message_file, &a->payload, err, errlen);
    else if ((rc = message_payload_generate(agent_payload_length(&a->opt), &a->payload)) != 0)
        snprintf(err, errlen, "cannot build a %zu-octet message: %s", agent_payload_length(&a->opt),
                 strerror(-rc));
    if (rc != 0)
        return rc;
    w->payload = &a->payload;
    if (a->opt.corpus_path) {
        if ((rc = corpus_load(&a->corpus, a->opt.corpus_path, a->opt.corpus_shuffle, w->seed, err, errlen)) != 0)
            return rc;
        w->corpus = &a->corpus;
    }
    if (w->mime) {
        if ((rc = mime_pool_for(&a->mime_pool, w->mime, w->seed)) != 0) {
            snprintf(err, errlen, "out of memory for the --mime pools");
            return rc;
        }
        w->mime_pool = &a->mime_pool;
    }
    if (w->sources && (rc = source_pool_check(w->sources, err, errlen)) != 0)
        return rc;
    if (w->starttls) {
        if ((rc = transport_client_ctx_new(&a->tls_ctx, a->opt.tls_verify, a->opt.tls_ca, err, errlen)) != 0
            || (w->tls_resume && (rc = transport_client_ctx_resume(a->tls_ctx, err, errlen)) != 0))
            return rc;
        w->tls_ctx = a->tls_ctx;
    }
    a->snap = malloc(sizeof(*a->snap));
    a->win = malloc(sizeof(*a->win));
    if (a->win != NULL)
        seconds_window_init(a->win);
    if (a->snap == NULL || a->win == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if ((rc = runner_fd_limit(w->sessions, a->opt.threads, err, errlen)) != 0)
        return rc;
    a->runner = runner_new(w, a->opt.threads, a->opt.live_counter, err, errlen);
    return a->runner ? 0 : -EINVAL;
}

static int agent_loop(struct agent_run *a, char *err, size_t errlen)
{
    sigset_t sigs;
    int rc;

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    a->sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    a->loop = ev_loop_new();
    if (a->sigfd < 0 || a->loop == NULL
        || ev_io_set(a->loop, a->sigfd, EV_READ, agent_on_signal, a) != 0
        || ev_io_set(a->loop, runner_done_fd(a->runner), EV_READ, agent_on_done, a) != 0) {
        snprintf(err, errlen, "cannot set up the event loop: %s", strerror(errno));
        return -EIO;
    }
    ev_timer_init(&a->tick, agent_on_tick, a);
    ev_timer_init(&a->grace, agent_on_grace, a);
    a->start_ns = clock_mono_ns();
    a->start_wall_ns = clock_wall_ns();
    a->cpu0 = clock_cpu_ns();
    if ((rc = runner_start(a->runner)) != 0) {
        snprintf(err, errlen, "cannot start threads: %s", strerror(-rc));
        return rc;
    }
    ev_timer_start_at(a->loop, &a->tick, a->start_ns + NS_PER_SEC);
    if (!runner_done(a->runner))
        (void)ev_run(a->loop);
    runner_join(a->runner);
    return 0;
}

static int agent_report(struct agent_run *a, double elapsed, double cpu)
{
    struct workload *w = &a->opt.w;
    struct report_agent ra;
    struct report r;
    char err[AGENT_ERR_MAX];
    const struct load_stats *t = a->snap;

    memset(&ra, 0, sizeof(ra));
    ra.id = w->agent_id;
    ra.host = a->opt.hostname[0] ? a->opt.hostname : w->myhostname;
    ra.sessions = t->sessions;
    ra.messages_attempted = t->messages_attempted;
    ra.messages_accepted = t->messages_accepted;
    ra.messages_rejected = t->messages_rejected;
    ra.messages_unfinished = t->messages_unfinished;
    ra.errors = t->errors;
    ra.recipients = t->recipients;
    ra.bytes = t->bytes;
    ra.cpu_s = cpu;
    ra.threads = a->opt.threads;
    ra.saturated = elapsed > 0 && cpu / elapsed > 0.9 * a->opt.threads;
    report_init(&r);
    r.generator = "smtpstorm-agent " SMTPSTORM_VERSION;
    r.campaign = w->campaign;
    r.started_at_ns = a->start_wall_ns;
    r.duration_s = elapsed;
    r.cpu_s = cpu;
    r.totals = t;
    r.agents = &ra;
    r.agent_count = 1;
    r.timeline = &a->timeline;
    if (report_write_file(a->opt.json_path, &r, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: fatal: %s\n", log_progname(), err);
        return -1;
    }
    return 0;
}

/* agent_exit_code - 1 when aborted, interrupted, or any error other than
 * a reply -A let pass; else 0. */
static int agent_exit_code(const struct agent_run *a)
{
    const struct load_stats *t = a->snap;

    if (runner_fatal(a->runner) || a->signals)
        return 1;
    return t->errors > t->errors_by_kind[ERROR_UNEXPECTED_REPLY] ? 1 : 0;
}

static void agent_free(struct agent_run *a)
{
    runner_free(a->runner);
    if (a->loop)
        ev_loop_free(a->loop);
    if (a->sigfd >= 0)
        close(a->sigfd);
    transport_ctx_free(a->tls_ctx);
    message_payload_free(&a->payload);
    source_pool_free(&a->opt.sources);
    mime_pool_free(&a->mime_pool);
    corpus_free(&a->corpus);
    spread_free(&a->opt.rcpt_spread);
    spread_free(&a->opt.sender_spread);
    report_timeline_free(&a->timeline);
    free(a->snap);
    free(a->win);
}

int main(int argc, char **argv)
{
    static struct agent_run a;
    char err[AGENT_ERR_MAX];
    double elapsed, cpu;
    int rc;

    log_init(argv[0]);
    signal(SIGPIPE, SIG_IGN);
    a.sigfd = -1;
    rc = options_parse(argc, argv, &a.opt, stdout, err, sizeof(err));
    if (rc == OPTIONS_DONE)
        return 0;
    if (rc < 0)
        usage(argv[0], err);
    log_set_verbose(a.opt.w.verbose);
    if (a.opt.coordinator)
        return link_run(&a.opt);       /* daemon mode: the coordinator sends the work */
    if (agent_prepare(&a, err, sizeof(err)) != 0 || agent_loop(&a, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: fatal: %s\n", log_progname(), err);
        agent_free(&a);
        return 1;
    }
    elapsed = (double)(clock_mono_ns() - a.start_ns) / 1e9;
    cpu = (double)(clock_cpu_ns() - a.cpu0) / 1e9;
    if (a.opt.live_counter) {
        putchar('\n');
        fflush(stdout);
    }
    agent_timeline_rows(&a);
    if (runner_snapshot(a.runner, a.snap) != 0)
        stats_init(a.snap);
    if (runner_fatal(a.runner))
        fprintf(stderr, "%s: fatal: %s\n", log_progname(), runner_fatal(a.runner));
    if (!a.opt.quiet)
        summary_print(stdout, a.snap, elapsed, cpu);
    rc = agent_exit_code(&a);
    if (a.opt.json_path && agent_report(&a, elapsed, cpu) != 0)
        rc = 1;
    fflush(stdout);
    agent_free(&a);
    return rc;
}
