/* bind.c - the coordinator's two endpoints: the control ROUTER (agents)
 * and the sink ROUTER (counters), secured by security.c, and for --local
 * without --bind or --sink-bind a private ipc:// directory, removed at the
 * end. */
#include "run_private.h"
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* bind_local_dir - --local without --bind or --sink-bind talks over
 * ipc:// in a private directory: no port to collide on. Points the
 * endpoints not given at it; 0, or -1 with the reason logged. */
static int bind_local_dir(struct run *r, const char **ctl_ep, const char **snk_ep)
{
    snprintf(r->tmpdir, sizeof(r->tmpdir), "/tmp/smtpstorm-XXXXXX");
    if (mkdtemp(r->tmpdir) == NULL) {
        log_error("cannot make a directory for the local endpoints: %s", strerror(errno));
        r->tmpdir[0] = '\0';
        return -1;
    }
    snprintf(r->ctl_ep, sizeof(r->ctl_ep), "ipc://%s/control", r->tmpdir);
    snprintf(r->snk_ep, sizeof(r->snk_ep), "ipc://%s/sinks", r->tmpdir);
    if (!r->cfg->bind)
        *ctl_ep = r->ctl_ep;
    if (!r->cfg->sink_bind)
        *snk_ep = r->snk_ep;
    return 0;
}

/* bind_one - a bound ROUTER on ep, its messages to fn; NULL with the reason logged. */
static struct zlink *bind_one(struct run *r, struct zlink_opts *o, const char *ep, zlink_recv_fn *fn)
{
    char err[ZLINK_ENDPOINT_MAX + 256];
    struct zlink *z;

    o->endpoint = ep;
    if ((z = zlink_open(r->zctx, r->loop, o, fn, r, err, sizeof(err))) == NULL)
        log_error("%s", err);
    return z;
}

int bind_endpoints(struct run *r, const char **ctl_ep, const char **snk_ep)
{
    struct zlink_opts o = { .type = ZLINK_ROUTER, .bind = 1, .linger_ms = 1000, .hwm = 10000,
                            .gather_ms = RUN_GATHER_MS };

    assert(r->ctl == NULL && r->snk == NULL);
    if (security_setup(r, &o) != 0)
        return -1;
    *ctl_ep = r->cfg->bind ? r->cfg->bind : CONFIG_BIND_DEFAULT;
    *snk_ep = r->cfg->sink_bind ? r->cfg->sink_bind : CONFIG_SINK_BIND_DEFAULT;
    if (r->cfg->local && (!r->cfg->bind || !r->cfg->sink_bind) && bind_local_dir(r, ctl_ep, snk_ep) != 0)
        return -1;
    if ((r->ctl = bind_one(r, &o, *ctl_ep, receive_on_ctl)) == NULL
        || (r->snk = bind_one(r, &o, *snk_ep, receive_on_snk)) == NULL)
        return -1;
    *ctl_ep = zlink_endpoint(r->ctl);
    *snk_ep = zlink_endpoint(r->snk);
    return 0;
}

void bind_tmpdir_remove(struct run *r)
{
    char path[sizeof(r->tmpdir) + 16];

    if (!r->tmpdir[0])
        return;
    snprintf(path, sizeof(path), "%s/control", r->tmpdir);
    (void)unlink(path);
    snprintf(path, sizeof(path), "%s/sinks", r->tmpdir);
    (void)unlink(path);
    (void)rmdir(r->tmpdir);
    r->tmpdir[0] = '\0';
}
