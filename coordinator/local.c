/* local.c - agents and a sink as child processes for --local (see local.h). */
#include "local.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_ARGV_MAX   32
#define LOCAL_STOP_NS    (3 * NS_PER_SEC)    /* SIGTERM grace before SIGKILL */

struct local {
    pid_t pids[LOCAL_AGENTS_MAX + 1];
    char names[LOCAL_AGENTS_MAX + 1][32];
    int n;
};

/* The program's command: the override variable, next to us, the build
 * tree's layout, or the bare name for PATH. Writes words into argv. */
static int local_command(const char *envvar, const char *name, const char *folder,
                         char *buf, size_t buflen, char **argv, int max)
{
    char self[PATH_MAX], *slash, *save = NULL, *word;
    const char *over = getenv(envvar);
    ssize_t len;
    int n = 0;

    if (over != NULL && *over) {
        snprintf(buf, buflen, "%s", over);
        for (word = strtok_r(buf, " ", &save); word && n < max - 1; word = strtok_r(NULL, " ", &save))
            argv[n++] = word;
        return n;
    }
    len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len > 0) {
        self[len] = '\0';
        if ((slash = strrchr(self, '/')) != NULL)
            *slash = '\0';
        snprintf(buf, buflen, "%s/%s", self, name);
        if (access(buf, X_OK) != 0)
            snprintf(buf, buflen, "%s/../%s/%s", self, folder, name);
        if (access(buf, X_OK) == 0) {
            argv[n++] = buf;
            return n;
        }
    }
    snprintf(buf, buflen, "%s", name);
    argv[n++] = buf;
    return n;
}

/* local_overridden - the user's command replaces the program (envvar set). */
static int local_overridden(const char *envvar)
{
    const char *over = getenv(envvar);

    return over != NULL && *over;
}

static int local_free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0
        && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int local_spawn(struct local *l, char **argv, const char *name, char *err, size_t errlen)
{
    pid_t parent = getpid(), pid;
    int devnull;

    if ((pid = fork()) < 0) {
        snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* The child must not outlive us: it would hold load on the target. */
        (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
            (void)dup2(devnull, STDIN_FILENO);
            (void)dup2(devnull, STDOUT_FILENO);
            if (devnull > STDERR_FILENO)
                close(devnull);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "smtpstorm: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    l->pids[l->n] = pid;
    snprintf(l->names[l->n], sizeof(l->names[l->n]), "%s", name);
    l->n++;
    return 0;
}

static int local_start_sink(struct local *l, const char *sink_ep, char *target, size_t targetlen,
                            char *err, size_t errlen)
{
    char buf[PATH_MAX + 256], addr[64], *argv[LOCAL_ARGV_MAX];
    int n = local_command("SMTPSTORM_SINK_PROGRAM", "smtpstorm-sink", "sink", buf, sizeof(buf),
                          argv, LOCAL_ARGV_MAX - 10);
    struct passwd *pw;
    int port = local_free_port();

    if (port < 0) {
        snprintf(err, errlen, "no free port on 127.0.0.1 for the local sink");
        return -1;
    }
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    if (geteuid() == 0 && !local_overridden("SMTPSTORM_SINK_PROGRAM") && (pw = getpwuid(0)) != NULL) {
        /* smtp-sink's rule: as root, -u is required. The sink must still
         * reach our private ipc:// directory, so it keeps our identity.
         * An overriding command brings its own options. */
        argv[n++] = (char *)"-u";
        argv[n++] = pw->pw_name;
    }
    argv[n++] = (char *)"--coordinator";
    argv[n++] = (char *)sink_ep;
    argv[n++] = (char *)"--id";
    argv[n++] = (char *)"local-sink";
    argv[n++] = addr;
    argv[n++] = (char *)"1024";
    argv[n] = NULL;
    snprintf(target, targetlen, "%s", addr);
    return local_spawn(l, argv, "local-sink", err, errlen);
}

struct local *local_start(int agents, const char *ctl_ep, const char *sink_ep,
                          char *target, size_t targetlen, char *err, size_t errlen)
{
    char buf[PATH_MAX + 256], id[32], *argv[LOCAL_ARGV_MAX];
    struct local *l;
    int i, n;

    if (agents < 1 || agents > LOCAL_AGENTS_MAX) {
        snprintf(err, errlen, "--local takes 1 to %d agents", LOCAL_AGENTS_MAX);
        return NULL;
    }
    if ((l = calloc(1, sizeof(*l))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sink_ep != NULL && local_start_sink(l, sink_ep, target, targetlen, err, errlen) != 0)
        goto fail;
    for (i = 1; i <= agents; i++) {
        n = local_command("SMTPSTORM_AGENT_PROGRAM", "smtpstorm-agent", "agent", buf, sizeof(buf),
                          argv, LOCAL_ARGV_MAX - 6);
        snprintf(id, sizeof(id), "local-a%d", i);
        argv[n++] = (char *)"--coordinator";
        argv[n++] = (char *)ctl_ep;
        argv[n++] = (char *)"--id";
        argv[n++] = id;
        argv[n] = NULL;
        if (local_spawn(l, argv, id, err, errlen) != 0)
            goto fail;
    }
    return l;

fail:
    local_stop(l);
    return NULL;
}

int local_exited(struct local *l, char *err, size_t errlen)
{
    int i, status;

    for (i = 0; l && i < l->n; i++) {
        if (l->pids[i] > 0 && waitpid(l->pids[i], &status, WNOHANG) == l->pids[i]) {
            l->pids[i] = 0;
            snprintf(err, errlen, "%s exited early (%s %d)", l->names[i],
                     WIFEXITED(status) ? "status" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            return 1;
        }
    }
    return 0;
}

void local_stop(struct local *l)
{
    struct timespec pause = { 0, 20 * 1000000L };
    uint64_t deadline;
    int i, left;

    if (l == NULL)
        return;
    for (i = 0; i < l->n; i++)
        if (l->pids[i] > 0)
            (void)kill(l->pids[i], SIGTERM);
    deadline = clock_mono_ns() + LOCAL_STOP_NS;
    do {
        left = 0;
        for (i = 0; i < l->n; i++) {
            if (l->pids[i] > 0 && waitpid(l->pids[i], NULL, WNOHANG) == 0)
                left++;
            else
                l->pids[i] = 0;
        }
        if (left)
            nanosleep(&pause, NULL);
    } while (left && clock_mono_ns() < deadline);
    for (i = 0; i < l->n; i++) {
        if (l->pids[i] > 0) {
            (void)kill(l->pids[i], SIGKILL);
            (void)waitpid(l->pids[i], NULL, 0);
        }
    }
    free(l);
}
