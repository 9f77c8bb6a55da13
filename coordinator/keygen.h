/* keygen.h - `smtpstorm keygen [--force] NAME`: a new CURVE key pair in
 * NAME.key (secret, mode 0600) and NAME.pub (public), for the coordinator's
 * --key and --authorized-keys and the agents' and sinks' --key and
 * --coordinator-key (docs/security.md). */
#ifndef SMTPSTORM_COORDINATOR_KEYGEN_H
#define SMTPSTORM_COORDINATOR_KEYGEN_H

#include <stdio.h>

/* keygen_main - run the command (argv[0] is "keygen"); returns the exit
 * status: 0, 1 (could not write the keys) or 2 (usage). */
int keygen_main(int argc, char **argv);

/* keygen_usage - print its help to out. */
void keygen_usage(FILE *out);

#endif
