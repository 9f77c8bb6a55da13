/* server.c - smtpstorm-sink's event loops and listeners (see server.h):
 * accept with the -m quota, the -c display, the -M/-n ends, and the
 * lock-free counter snapshots. */
#include "server.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "tls.h"

#define ACCEPT_BATCH 64     /* connections taken per listener wake-up */

struct sink_server {
    const struct sink_config *cfg;
    struct sink_loop *loops;
    int nloops;
    int shared_listener;            /* unix: loop 0's socket serves all loops */
    struct tally_seen *seen;
    struct tls_server *tls;
    struct greylist *grey;          /* --behaviour: one table for every loop */
    pthread_mutex_t beh_lock;       /* own and overridden, and what the loops get next: */
    struct behaviour *own;          /*   the sink's own (--behaviour, SIGHUP; NULL: none) */
    int overridden;                 /*   a coordinator's is in force instead */
    _Atomic long open;              /* sessions open on every loop, at most -m */
    _Atomic long total_messages;    /* for -M */
    _Atomic long total_quits;       /* for -n */
    volatile int stopping;
    char id[320];
};

/* ---- counters ---- */

static uint64_t get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void sink_counters_snapshot(const struct sink_server *srv, struct sink_counters *out)
{
    const struct loop_counters *c;
    int i, k;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < srv->nloops; i++) {
        c = &srv->loops[i].c;
        out->sessions += get(&c->sessions);
        out->quits += get(&c->quits);
        out->messages += get(&c->messages);
        out->active += get(&c->active);
        out->accepted += get(&c->accepted);
        out->bytes += get(&c->bytes);
        out->dump_errors += get(&c->dump_errors);
        out->timeouts += get(&c->timeouts);
        out->tls_handshakes += get(&c->tls_handshakes);
        out->tls_failures += get(&c->tls_failures);
        out->tls_resumed += get(&c->tls_resumed);
        out->auth_successes += get(&c->auth_successes);
        out->auth_failures += get(&c->auth_failures);
        for (k = 0; k < BEHAVIOUR_OUT_COUNT; k++)
            out->behaviour[k] += get(&c->behaviour[k]);
    }
    out->greylist_evictions = srv->grey ? greylist_evictions(srv->grey) : 0;
}

void sink_tally_snapshot(const struct sink_server *srv, struct tally_snapshot *out)
{
    int i;

    tally_snapshot_init(out);
    for (i = 0; i < srv->nloops; i++)
        if (srv->loops[i].tally)
            tally_snapshot_add(out, srv->loops[i].tally);
}

int sink_server_counting(const struct sink_server *srv, uint64_t *mark)
{
    uint64_t v;
    int i, busy = 0;

    *mark = 0;
    for (i = 0; i < srv->nloops; i++) {
        if (srv->loops[i].tally == NULL)
            continue;
        v = tally_counting(srv->loops[i].tally);
        busy |= (int)(v & 1);
        *mark += v;
    }
    return busy;
}

void sink_server_second_delivery(const struct sink_server *srv, const char *campaign, uint32_t sec,
                                 struct hist *out)
{
    int i;

    for (i = 0; i < srv->nloops; i++)
        if (srv->loops[i].tally)
            tally_second_delivery(srv->loops[i].tally, campaign, sec, out);
}

void sink_server_retire_campaigns(struct sink_server *srv)
{
    tally_seen_retire_all(srv->seen);
}

int sink_server_set_offset(struct sink_server *srv, const char *campaign, const char *agent,
                           int64_t offset_ns, uint64_t origin_us)
{
    return tally_seen_set_offset(srv->seen, campaign, agent, offset_ns, origin_us);
}

size_t sink_agents_snapshot(const struct sink_server *srv, const char *campaign, struct tally_agent *out,
                            size_t max)
{
    return tally_seen_agents(srv->seen, campaign, out, max);
}

const char *sink_server_id(const struct sink_server *srv)
{
    return srv->id;
}

/* show_counters - -c: smtp-sink's "sess=%d quit=%d mesg=%d\r", one write. */
static void show_counters(struct sink_server *srv)
{
    struct sink_counters c;
    char line[128];
    int n;

    sink_counters_snapshot(srv, &c);
    n = snprintf(line, sizeof(line), "sess=%llu quit=%llu mesg=%llu\r",
                 (unsigned long long)c.sessions, (unsigned long long)c.quits,
                 (unsigned long long)c.messages);
    if (write(STDOUT_FILENO, line, (size_t)n) < 0)
        return;     /* stdout closed: nothing to show */
}

/* ---- behaviour ---- */

_Static_assert(TALLY_OUTCOMES == BEHAVIOUR_OUT_COUNT, "the tally counts every outcome");

/* A loop's beh_next is NULL (nothing new), a behaviour it takes over (a
 * reference), or BEH_NONE: no behaviour from now on. */
static char beh_none_mark;
#define BEH_NONE ((struct behaviour *)&beh_none_mark)

static void pending_unref(struct behaviour *b)
{
    if (b != BEH_NONE)
        behaviour_unref(b);
}

/* hand_out - under beh_lock: every loop's next sessions follow b (NULL: none). */
static void hand_out(struct sink_server *srv, struct behaviour *b)
{
    int i;

    for (i = 0; i < srv->nloops; i++)
        pending_unref(atomic_exchange(&srv->loops[i].beh_next, b ? behaviour_ref(b) : BEH_NONE));
}

void sink_server_set_behaviour(struct sink_server *srv, struct behaviour *b)
{
    pthread_mutex_lock(&srv->beh_lock);
    behaviour_unref(srv->own);
    srv->own = b ? behaviour_ref(b) : NULL;
    if (!srv->overridden)
        hand_out(srv, b);
    pthread_mutex_unlock(&srv->beh_lock);
}

void sink_server_override_behaviour(struct sink_server *srv, struct behaviour *b)
{
    pthread_mutex_lock(&srv->beh_lock);
    srv->overridden = b != NULL;
    hand_out(srv, b ? b : srv->own);
    pthread_mutex_unlock(&srv->beh_lock);
}

struct behaviour *loop_behaviour(struct sink_loop *loop)
{
    struct behaviour *b;

    if (atomic_load_explicit(&loop->beh_next, memory_order_relaxed) == NULL
        || (b = atomic_exchange(&loop->beh_next, NULL)) == NULL)
        return loop->beh;
    behaviour_unref(loop->beh);
    loop->beh = b == BEH_NONE ? NULL : b;
    if (loop->beh)
        behaviour_env_seed(&loop->benv, loop->beh, (uint64_t)loop->index);
    return loop->beh;
}

static uint64_t mono_ms(void *arg)
{
    (void)arg;
    return clock_mono_ns() / NS_PER_MS;
}

/* on_outcome - a rule did o: count it (the loop's only writer). */
static void on_outcome(void *arg, enum behaviour_outcome o, const struct trace *tr, const struct trace_tag *tag)
{
    struct sink_loop *loop = arg;

    loop_bump(&loop->c.behaviour[o], 1);
    if (tr)
        tally_count_outcome(loop->tally, tr, o, clock_wall_ns() / NS_PER_US);
    else if (tag)
        (void)tally_count_tag_outcome(loop->tally, tag, o, clock_wall_ns() / NS_PER_US);
}

/* loop_behaviour_init - the env of the loop's rules, and the rules from the start. */
static void loop_behaviour_init(struct sink_server *srv, struct sink_loop *loop)
{
    loop->benv.grey = srv->grey;
    loop->benv.now_ms = mono_ms;
    loop->benv.outcome = on_outcome;
    loop->benv.outcome_arg = loop;
    if (srv->cfg->behaviour)
        atomic_store(&loop->beh_next, behaviour_ref(srv->cfg->behaviour));
}

/* ---- events from connections ---- */

static int set_accepting(struct sink_loop *loop, int on);
static void wake_acceptors(struct sink_loop *loop);

void loop_exit(struct sink_loop *loop)
{
    sink_server_stop(loop->srv);
}

int loop_message(struct sink_loop *loop, const struct trace *tr, uint64_t bytes, int dump_error)
{
    struct sink_server *srv = loop->srv;
    long total;

    loop_bump(&loop->c.messages, 1);
    loop_bump(&loop->c.bytes, bytes);
    if (dump_error)
        loop_bump(&loop->c.dump_errors, 1);
    if (tr)
        tally_count_message(loop->tally, tr, clock_wall_ns() / NS_PER_US, bytes);
    else
        tally_count_untraced(loop->tally);
    if (loop->cfg->show_count)
        show_counters(srv);
    if (loop->cfg->max_messages > 0) {
        total = atomic_fetch_add(&srv->total_messages, 1) + 1;
        return total >= loop->cfg->max_messages;
    }
    return 0;
}

void loop_quit(struct sink_loop *loop)
{
    loop_bump(&loop->c.quits, 1);
    if (loop->cfg->max_quits > 0)
        atomic_fetch_add(&loop->srv->total_quits, 1);
}

void loop_auth(struct sink_loop *loop, int ok)
{
    loop_bump(ok ? &loop->c.auth_successes : &loop->c.auth_failures, 1);
}

void loop_conn_closed(struct sink_loop *loop, int quit_seen)
{
    struct sink_server *srv = loop->srv;

    (void)quit_seen;
    if (loop->shutting)
        return;
    loop_bump(&loop->c.sessions, 1);
    atomic_store_explicit(&loop->c.active, get(&loop->c.active) - 1, memory_order_relaxed);
    if (loop->cfg->show_count)
        show_counters(srv);
    if (loop->cfg->max_quits > 0 && atomic_load(&srv->total_quits) >= loop->cfg->max_quits)
        loop_exit(loop);
    if (atomic_fetch_sub(&srv->open, 1) == loop->cfg->max_clients)
        wake_acceptors(loop);   /* below -m again: every loop may take a connection */
}

/* ---- accepting ---- */

static const char *family_name(int family)
{
    return family == AF_INET ? "AF_INET" : family == AF_INET6 ? "AF_INET6"
           : family == AF_UNIX ? "AF_LOCAL" : "unknown protocol family";
}

static void accept_one(struct sink_loop *loop, int cfd, const struct sockaddr_storage *ss)
{
    char addr[80];
    /* No TCP_NODELAY here: replies of one read already go out in one
     * write, and with it smtp-source's one-reply-at-a-time dialogue is
     * slower. conn.c sets it for a client that pipelines (issue 19). */
    endpoint_peer_text(ss, addr, sizeof(addr));
    if (loop->cfg->verbose)
        log_info("connect (%s %s)", family_name(ss->ss_family), addr);
    loop_bump(&loop->c.accepted, 1);
    loop_bump(&loop->c.active, 1);
    if (sink_conn_start(loop, cfd, addr, ss->ss_family) != 0) {
        log_warn("out of memory: dropped a connection from %s", addr);
        atomic_fetch_sub(&loop->srv->open, 1);
        atomic_store_explicit(&loop->c.active, get(&loop->c.active) - 1, memory_order_relaxed);
    }
}

/* take_slot - one of the -m sessions, shared by every loop (the kernel
 * spreads connections over the SO_REUSEPORT listeners by a hash, never
 * exactly evenly, so fixed shares would leave some waiting while -m is not
 * reached); 1 when taken. */
static int take_slot(struct sink_server *srv)
{
    if (atomic_fetch_add(&srv->open, 1) < srv->cfg->max_clients)
        return 1;
    atomic_fetch_sub(&srv->open, 1);
    return 0;
}

/* wake_acceptors - a session ended at the -m limit: this loop watches its
 * listeners again, the others are woken to do the same (loop_serve). */
static void wake_acceptors(struct sink_loop *loop)
{
    struct sink_server *srv = loop->srv;
    int i;

    if (srv->stopping)
        return;
    if (!loop->accepting)
        (void)set_accepting(loop, 1);      /* watched since setup: cannot fail */
    for (i = 0; i < srv->nloops; i++)
        if (&srv->loops[i] != loop)
            ev_wake(srv->loops[i].ev);
}

static void on_accept(struct ev_loop *ev, int fd, unsigned events, void *arg)
{
    struct sink_loop *loop = arg;
    struct sockaddr_storage ss;
    socklen_t len;
    int i, cfd;

    (void)ev;
    (void)events;
    for (i = 0; i < ACCEPT_BATCH && take_slot(loop->srv); i++) {
        len = sizeof(ss);
        memset(&ss, 0, sizeof(ss));
        cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            atomic_fetch_sub(&loop->srv->open, 1);
            if (errno == EMFILE || errno == ENFILE)
                log_warn("accept: %s (lower -m)", strerror(errno));
            break;
        }
        accept_one(loop, cfd, &ss);
    }
    if (atomic_load(&loop->srv->open) >= loop->cfg->max_clients)
        (void)set_accepting(loop, 0);      /* watched since setup: cannot fail */
}

/* set_accepting - watch the listeners or leave excess in the listen queue.
 * Returns 0 or -errno; only the first call (sink_server_new's, which adds
 * the listeners to epoll) can fail, later ones change a watch (ev.h). */
static int set_accepting(struct sink_loop *loop, int on)
{
    int i, rc;

    for (i = 0; i < loop->nfds; i++)
        if ((rc = ev_io_set(loop->ev, loop->fds[i], on ? EV_READ : 0, on_accept, loop)) != 0)
            return rc;
    loop->accepting = on;
    return 0;
}

/* ---- setup ---- */

static int loop_init(struct sink_server *srv, struct sink_loop *loop, int index, char *err,
                     size_t errlen)
{
    const struct sink_config *cfg = srv->cfg;
    uint64_t seed = clock_wall_ns() ^ ((uint64_t)getpid() << 32) ^ ((uint64_t)index << 48);
    int e;

    loop->srv = srv;
    loop->cfg = cfg;
    loop->index = index;
    loop->rng = seed * 0x9E3779B97F4A7C15ULL;
    loop->tls = srv->tls;
    loop_behaviour_init(srv, loop);
    if ((loop->ev = ev_loop_new()) == NULL || (loop->tally = tally_new(srv->seen)) == NULL)
        goto nomem;
    loop->dump = dump_writer_new(cfg, loop->rng ^ 0x5bd1e995, &e);
    if (e != 0 || sink_session_common_init(&loop->common, cfg, loop->dump) != 0
        || sink_conn_pool_init(loop) != 0)
        goto nomem;
    return 0;

nomem:
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

static int loop_listen(struct sink_server *srv, struct sink_loop *loop, char *err, size_t errlen)
{
    struct endpoint_listen_opts o = { 0 };
    int n;

    if (srv->shared_listener && loop->index > 0) {
        memcpy(loop->fds, srv->loops[0].fds, sizeof(loop->fds));
        loop->nfds = srv->loops[0].nfds;
        return 0;
    }
    o.family = srv->cfg->family;
    o.backlog = srv->cfg->backlog;
    o.reuseport = srv->nloops > 1;
    o.rcvbuf = srv->cfg->window;
    n = endpoint_listen(&srv->cfg->listen, &o, loop->fds, LOOP_LISTEN_MAX, err, errlen);
    if (n < 0)
        return n;
    loop->nfds = n;
    /* As Postfix's unix_listen(): the mode is set after bind, so that the
     * umask never decides who may connect (0666 unless --socket-mode). */
    if (srv->cfg->listen.is_unix && chmod(srv->cfg->listen.path, srv->cfg->socket_mode) != 0) {
        n = -errno;
        snprintf(err, errlen, "chmod %s to %04o: %s", srv->cfg->listen.path, srv->cfg->socket_mode,
                 strerror(-n));
        return n;
    }
    return 0;
}

static void make_id(struct sink_server *srv)
{
    char host[256] = "localhost";

    if (srv->cfg->id) {
        snprintf(srv->id, sizeof(srv->id), "%s", srv->cfg->id);
        return;
    }
    (void)gethostname(host, sizeof(host) - 1);
    if (snprintf(srv->id, sizeof(srv->id), "%s:%s", host,
                 srv->cfg->listen.is_unix ? srv->cfg->listen.path : srv->cfg->listen.port)
        >= (int)sizeof(srv->id))
        log_info("sink id cut to \"%s\" (give --id for another)", srv->id);
}

struct sink_server *sink_server_new(const struct sink_config *cfg, char *err, size_t errlen)
{
    struct sink_server *srv = calloc(1, sizeof(*srv));
    int i, rc;

    if (srv == NULL || pthread_mutex_init(&srv->beh_lock, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        free(srv);
        return NULL;
    }
    srv->cfg = cfg;
    srv->own = cfg->behaviour ? behaviour_ref(cfg->behaviour) : NULL;
    srv->nloops = cfg->threads;
    srv->shared_listener = cfg->listen.is_unix;
    make_id(srv);
    if ((srv->seen = tally_seen_new(0)) == NULL
        || (srv->loops = calloc((size_t)srv->nloops, sizeof(*srv->loops))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* a coordinator may send behaviours too */
    if ((cfg->behaviour_file || cfg->coordinator) && (srv->grey = greylist_new(GREYLIST_ENTRIES)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (cfg->tls_cert && (srv->tls = tls_server_new(cfg->tls_cert, cfg->tls_key, err, errlen)) == NULL)
        goto fail;
    for (i = 0; i < srv->nloops; i++)
        if (loop_init(srv, &srv->loops[i], i, err, errlen) != 0
            || loop_listen(srv, &srv->loops[i], err, errlen) != 0)
            goto fail;
    for (i = 0; i < srv->nloops; i++)
        if ((rc = set_accepting(&srv->loops[i], 1)) != 0) {
            snprintf(err, errlen, "cannot watch the listening socket: %s", strerror(-rc));
            goto fail;
        }
    return srv;

fail:
    sink_server_free(srv);
    return NULL;
}

/* loop_serve - run one loop until the server stops (ev_run would forget a
 * stop that came before it started). */
static int loop_serve(struct sink_loop *loop)
{
    int err = 0;

    while (!loop->srv->stopping && err == 0) {
        err = ev_run_once(loop->ev, -1);
        if (!loop->accepting && atomic_load(&loop->srv->open) < loop->cfg->max_clients
            && !loop->srv->stopping)
            (void)set_accepting(loop, 1);  /* woken by wake_acceptors; cannot fail */
    }
    return err;
}

static void *loop_thread(void *arg)
{
    struct sink_loop *loop = arg;

    (void)loop_serve(loop);
    sink_server_stop(loop->srv);
    return NULL;
}

int sink_server_run(struct sink_server *srv)
{
    int i, started = 1, err;

    for (i = 1; i < srv->nloops; i++) {
        if (pthread_create(&srv->loops[i].thread, NULL, loop_thread, &srv->loops[i]) != 0)
            break;
        started++;
    }
    err = loop_serve(&srv->loops[0]);
    sink_server_stop(srv);
    for (i = 1; i < started; i++)
        pthread_join(srv->loops[i].thread, NULL);
    return err;
}

void sink_server_stop(struct sink_server *srv)
{
    int i;

    srv->stopping = 1;
    for (i = 0; i < srv->nloops; i++)
        if (srv->loops[i].ev)
            ev_stop(srv->loops[i].ev);
}

void sink_server_free(struct sink_server *srv)
{
    struct sink_loop *loop;
    int i, j;

    if (srv == NULL)
        return;
    for (i = 0; srv->loops && i < srv->nloops; i++) {
        loop = &srv->loops[i];
        if (loop->ev)
            sink_conn_pool_free(loop);
        for (j = 0; j < loop->nfds && !(srv->shared_listener && i > 0); j++)
            close(loop->fds[j]);
        sink_session_common_release(&loop->common);
        dump_writer_free(loop->dump);
        tally_free(loop->tally);
        ev_loop_free(loop->ev);
        behaviour_unref(loop->beh);
        pending_unref(atomic_exchange(&loop->beh_next, NULL));
    }
    if (srv->cfg->listen.is_unix && srv->loops && srv->loops[0].nfds > 0)
        (void)unlink(srv->cfg->listen.path);
    free(srv->loops);
    tls_server_free(srv->tls);
    tally_seen_free(srv->seen);
    greylist_free(srv->grey);
    behaviour_unref(srv->own);
    pthread_mutex_destroy(&srv->beh_lock);
    free(srv);
}
