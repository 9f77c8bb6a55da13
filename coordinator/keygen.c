/* keygen.c - `smtpstorm keygen`: make a CURVE key pair and write it as
 * NAME.key and NAME.pub with lib/keys (see keygen.h). */
#include "keygen.h"
#include "keys.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#define KEYGEN_EXIT_FAILED 1
#define KEYGEN_EXIT_USAGE  2

void keygen_usage(FILE *out)
{
    fputs("usage: smtpstorm keygen [--force] NAME\n"
          "\n"
          "Writes a new CURVE key pair: NAME.key (secret, mode 0600: stays on this host)\n"
          "and NAME.pub (public: give it to the other side).\n"
          "  coordinator:      smtpstorm run --key NAME.key --authorized-keys DIR\n"
          "                    (DIR holds each agent's and sink's .pub file)\n"
          "  agent and sink:   --key NAME.key --coordinator-key COORDINATOR.pub\n"
          "  --force           replace existing NAME.key and NAME.pub (default: refuse)\n"
          "  --help            this text\n"
          "See docs/security.md.\n", out);
}

static int keygen_write(const char *name, int force)
{
    struct keys_secret k;
    char err[512], z85[KEYS_Z85_LEN + 1];
    int rc;

    if ((rc = keys_generate(&k)) != 0) {
        log_error("cannot make a key pair: this libzmq was built without CURVE (libsodium)");
        return KEYGEN_EXIT_FAILED;
    }
    rc = keys_save(name, &k, force, err, sizeof(err));
    explicit_bzero(&k.secret_key, sizeof(k.secret_key));
    if (rc != 0) {
        log_error("%s", err);
        return KEYGEN_EXIT_FAILED;
    }
    keys_z85(k.public_key, z85);
    printf("%s.key: secret key (mode 0600): keep it here\n"
           "%s.pub: public key %s\n", name, name, z85);
    return 0;
}

int keygen_main(int argc, char **argv)
{
    static const struct option longs[] = {
        { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt, force = 0;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+", longs, NULL)) != -1) {
        switch (opt) {
        case 'f': force = 1; break;
        case 'h': keygen_usage(stdout); return 0;
        default:
            log_error("bad option %s: see smtpstorm keygen --help", argv[optind - 1]);
            return KEYGEN_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || argv[optind][0] == '\0') {
        log_error("keygen takes one NAME (it writes NAME.key and NAME.pub): see smtpstorm keygen --help");
        return KEYGEN_EXIT_USAGE;
    }
    return keygen_write(argv[optind], force);
}
