/* security.c - the coordinator's CURVE server key (--key) and its ZAP
 * allow-list (--authorized-keys), in place before the sockets bind
 * (docs/security.md). */
#include "run_private.h"
#include "log.h"

int security_setup(struct run *r, struct zlink_opts *o)
{
    char err[ZLINK_ENDPOINT_MAX + 256];

    o->insecure = r->cfg->insecure;
    if (r->cfg->key == NULL)
        return 0;
    if (keys_load_secret(r->cfg->key, &r->key, err, sizeof(err)) != 0) {
        log_error("--key: %s", err);
        return -1;
    }
    o->curve_key = &r->key;
    if (r->cfg->authorized_keys == NULL) {
        log_warn("--key without --authorized-keys: traffic is encrypted but any client key is admitted");
        return 0;
    }
    if (keys_load_dir(r->cfg->authorized_keys, &r->authorized, err, sizeof(err)) != 0) {
        log_error("--authorized-keys: %s", err);
        return -1;
    }
    if ((r->zap = zap_open(r->zctx, r->loop, &r->authorized, err, sizeof(err))) == NULL) {
        log_error("%s", err);
        return -1;
    }
    log_debug("CURVE on; %zu authorized keys from %s", r->authorized.n, r->cfg->authorized_keys);
    return 0;
}
