/* log.h - diagnostics for every smtpstorm program: "prog: level: text" on
 * stderr, and optionally to syslog. Nothing here exits; callers decide. */
#ifndef SMTPSTORM_LOG_H
#define SMTPSTORM_LOG_H

#include <stdarg.h>

/* log_init - set the program name used as prefix; keeps the pointer. */
void log_init(const char *progname);

/* log_set_verbose - set the verbosity level used by log_debug (0 = quiet). */
void log_set_verbose(int level);

/* log_verbose - return the current verbosity level. */
int log_verbose(void);

/* log_use_syslog - also send messages to syslog(3) under the program name. */
void log_use_syslog(int on);

/* log_progname - the name given to log_init (or "smtpstorm"). */
const char *log_progname(void);

/* All four are cold: a call to one marks its branch unlikely, so the
 * compiler keeps it out of the hot code around it (the agent's per-message
 * path has a log call under -v at every command). */

/* log_debug - print "prog: text" only when the verbosity is above 0. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));

/* log_info - print "prog: text". */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));

/* log_warn - print "prog: warning: text". */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));

/* log_error - print "prog: error: text"; the caller decides whether to go on. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));

#endif
