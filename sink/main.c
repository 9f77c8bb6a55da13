/* main.c - smtpstorm-sink: a drop-in smtp-sink(1). Parses the command
 * line, listens, drops privileges like smtp-sink (-u, -R), and serves;
 * with --coordinator, sink/link.c streams the counters meanwhile; with
 * --metrics, sink/exporter.c serves them to Prometheus. */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "behaviour.h"
#include "config.h"
#include "endpoint.h"
#include "exporter.h"
#include "fdlimit.h"
#include "link.h"
#include "log.h"
#include "server.h"

static struct sink_server *running;

/* --behaviour: SIGHUP is blocked in every thread and taken by this one. */
static pthread_t reloader;
static atomic_int reloader_stop;

/* reload - SIGHUP: read the file again; a bad one is reported (its line)
 * and the rules in force stay. */
static void reload(const struct sink_config *cfg)
{
    struct behaviour *b;
    char err[512];

    if (running == NULL)
        return;                 /* not serving yet: the file was just read */
    if (sink_behaviour_load(cfg, &b, err, sizeof(err)) != 0) {
        log_warn("%s; keeping the behaviour in force", err);
        return;
    }
    sink_server_set_behaviour(running, b);
    log_info("behaviour reloaded from %s: %zu rules", cfg->behaviour_file, behaviour_rules(b));
    behaviour_unref(b);
}

static void *reloader_main(void *arg)
{
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    while (sigwait(&set, &sig) == 0 && !atomic_load(&reloader_stop))
        reload(arg);
    return NULL;
}

/* reloader_start - block SIGHUP here (threads started later inherit it)
 * and take it in a thread of its own. Returns 0 or -1. */
static int reloader_start(const struct sink_config *cfg)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    return pthread_create(&reloader, NULL, reloader_main, (void *)cfg) == 0 ? 0 : -1;
}

static void reloader_end(void)
{
    atomic_store(&reloader_stop, 1);
    pthread_kill(reloader, SIGHUP);
    pthread_join(reloader, NULL);
}

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        sink_server_stop(running);
}

/* drop_privileges - smtp-sink's chroot_uid(): setgid, initgroups, chroot,
 * setuid. Returns 0, or -1 with a message in err. */
static int drop_privileges(const char *root, const char *user, char *err, size_t errlen)
{
    struct passwd *pw = getpwnam(user);

    if (pw == NULL) {
        snprintf(err, errlen, "unknown user: %s", user);
        return -1;
    }
    if (setgid(pw->pw_gid) < 0) {
        snprintf(err, errlen, "setgid(%ld): %s", (long)pw->pw_gid, strerror(errno));
        return -1;
    }
    if (initgroups(user, pw->pw_gid) < 0) {
        snprintf(err, errlen, "initgroups: %s", strerror(errno));
        return -1;
    }
    if (root && chroot(root) != 0) {
        snprintf(err, errlen, "chroot(%s): %s", root, strerror(errno));
        return -1;
    }
    if (root && chdir("/") != 0) {
        snprintf(err, errlen, "chdir(/): %s", strerror(errno));
        return -1;
    }
    if (setuid(pw->pw_uid) < 0) {
        snprintf(err, errlen, "setuid(%ld): %s", (long)pw->pw_uid, strerror(errno));
        return -1;
    }
    return 0;
}

/* raise_fd_limit - room for -m sessions (each with its -d file while a
 * message is captured) and each loop's epoll and listening sockets,
 * within the hard limit (lib/fdlimit). 0 or -errno with err. */
static int raise_fd_limit(const struct sink_config *cfg, char *err, size_t errlen)
{
    uint64_t need = (uint64_t)cfg->max_clients * (cfg->dump_single ? 2 : 1) + FDLIMIT_SPARE
                    + (uint64_t)cfg->threads * (1 + ENDPOINT_LISTEN_MAX);
    char why[64];

    snprintf(why, sizeof(why), "-m %d sessions%s", cfg->max_clients, cfg->dump_single ? " with -d files" : "");
    return fdlimit_raise(need, why, err, errlen);
}

static void usage(const char *prog, const char *why)
{
    if (why && *why)
        fprintf(stderr, "%s: error: %s\n", prog, why);
    fprintf(stderr, "%s: fatal: usage: %s %s\n", prog, prog, sink_options_usage());
    exit(1);
}

static void fatal(const char *prog, const char *msg)
{
    fprintf(stderr, "%s: fatal: %s\n", prog, msg);
    exit(1);
}

int main(int argc, char **argv)
{
    static struct sink_config cfg;
    struct sink_link *link = NULL;
    struct sink_exporter *exporter = NULL;
    struct sigaction sa;
    char err[512];
    int rc;

    signal(SIGPIPE, SIG_IGN);
    log_init(argv[0]);
    sink_config_init(&cfg, argv[0]);
    switch (sink_options_parse(&cfg, argc, argv, err, sizeof(err))) {
    case SINK_OPTIONS_HELP:
        fputs(sink_options_help(), stdout);
        return 0;
    case SINK_OPTIONS_VERSION:
        printf("smtpstorm-sink %s\n", SMTPSTORM_VERSION);
        return 0;
    case SINK_OPTIONS_USAGE:
        usage(argv[0], err);
        break;
    case SINK_OPTIONS_FATAL:
        fatal(argv[0], err);
        break;
    case SINK_OPTIONS_RUN:
        break;
    }
    log_set_verbose(cfg.verbose);
    if (raise_fd_limit(&cfg, err, sizeof(err)) != 0)
        fatal(argv[0], err);
    if (cfg.syslog)
        openlog(basename(argv[0]), LOG_PID, LOG_MAIL);
    if (cfg.coordinator && sink_link_prepare(&cfg, err, sizeof(err)) != 0)
        fatal(argv[0], err);    /* keys are read while we may, before listening */
    if (cfg.behaviour_file && reloader_start(&cfg) != 0)
        fatal(argv[0], "cannot start the SIGHUP thread");
    if ((running = sink_server_new(&cfg, err, sizeof(err))) == NULL)
        fatal(argv[0], err);
    if (cfg.metrics) {          /* bound before the privileges go, as the SMTP port */
        if ((exporter = sink_exporter_start(running, cfg.metrics, err, sizeof(err))) == NULL) {
            sink_server_free(running);
            fatal(argv[0], err);
        }
        log_info("metrics at http://%s/metrics", sink_exporter_address(exporter));
    }
    if (cfg.user && drop_privileges(cfg.root_dir, cfg.user, err, sizeof(err)) != 0) {
        sink_exporter_stop(exporter);
        sink_server_free(running);
        fatal(argv[0], err);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (cfg.coordinator && (link = sink_link_start(running, &cfg, err, sizeof(err))) == NULL) {
        sink_exporter_stop(exporter);
        sink_server_free(running);
        fatal(argv[0], err);
    }
    rc = sink_server_run(running);
    if (cfg.behaviour_file)
        reloader_end();
    if (sink_link_stop(link) != 0)
        rc = -1;                /* the coordinator refused us: say so with the exit status */
    sink_exporter_stop(exporter);
    {
        struct sink_server *srv = running;

        running = NULL;
        sink_server_free(srv);
    }
    sink_config_free(&cfg);
    return rc == 0 ? 0 : 1;
}
