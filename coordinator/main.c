/* main.c - smtpstorm, the coordinator's command line: `smtpstorm run` (one
 * campaign over a cluster, or --local), `smtpstorm compare` (two reports),
 * --help and --version. The only place that exits. */
#include "cli.h"
#include "compare.h"
#include "config.h"
#include "keygen.h"
#include "log.h"
#include "reconcile.h"
#include "run.h"
#include "capacity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out, int code)
{
    fputs("usage: smtpstorm run [options] [TARGET ...]   run a campaign over agents and sinks\n"
          "       smtpstorm capacity [options] --slo EXPR ... [TARGET ...]   the highest rate that holds them\n"
          "       smtpstorm compare [options] BASE.json NEW.json   two reports side by side\n"
          "       smtpstorm keygen [--force] NAME          make a CURVE key pair: NAME.key, NAME.pub\n"
          "       smtpstorm --version                     print the version\n"
          "       smtpstorm --help                        this text\n"
          "\n"
          "`smtpstorm run --help` lists every option of a campaign with its default: the\n"
          "smtp-source letters (-m -s -r -l ...), --rate, --duration, --campaign FILE,\n"
          "--local N, --agents N, --sinks N, --bind EP, --sink-bind EP, --wait, --drain,\n"
          "--json, --csv, --html, --junit, --threshold EXPR, --metrics ADDR:PORT, --quiet,\n"
          "--web ADDR:PORT (the live page), --key F, --authorized-keys DIR, --insecure (docs/security.md).\n"
          "`smtpstorm compare --help`: --threshold EXPR (changes such as 'p99(message)<+10%'),\n"
          "--html FILE, --junit FILE.\n"
          "Manuals: smtpstorm(1), smtpstorm-campaign(5).\n", out);
    exit(code);
}

/* main_command - `smtpstorm run` or `smtpstorm capacity`: parse with
 * parse (help with usage), then go. */
static int main_command(int argc, char **argv, int (*parse)(int, char **, struct run_config *, char *, size_t),
                        void (*usage_of)(void *), enum run_exit (*go)(const struct run_config *))
{
    struct run_config cfg;
    char err[512];
    int rc;

    config_init(&cfg);
    rc = parse(argc, argv, &cfg, err, sizeof(err));
    if (rc == CLI_HELP) {
        usage_of(stdout);
        config_free(&cfg);
        return 0;
    }
    if (rc != 0) {
        log_error("%s", err);
        config_free(&cfg);
        return EXIT_RUN_USAGE;
    }
    log_set_verbose(cfg.verbose);
    rc = (int)go(&cfg);
    config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    log_init("smtpstorm");
    if (argc < 2)
        usage(stderr, EXIT_RUN_USAGE);
    if (strcmp(argv[1], "--version") == 0) {
        printf("smtpstorm %s\n", SMTPSTORM_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        usage(stdout, 0);
    if (strcmp(argv[1], "run") == 0)
        return main_command(argc - 1, argv + 1, cli_parse_run, cli_usage_run, run_campaign);
    if (strcmp(argv[1], "capacity") == 0)
        return main_command(argc - 1, argv + 1, cli_parse_capacity, cli_usage_capacity, capacity_run);
    if (strcmp(argv[1], "compare") == 0)
        return compare_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "keygen") == 0)
        return keygen_main(argc - 1, argv + 1);
    fprintf(stderr, "smtpstorm: unknown command '%s'\n", argv[1]);
    usage(stderr, EXIT_RUN_USAGE);
    return EXIT_RUN_USAGE;
}
