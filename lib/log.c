/* log.c - diagnostics for every smtpstorm program (see log.h). */
#include "log.h"

#include <stdio.h>
#include <syslog.h>

static const char *log_name = "smtpstorm";
static int log_level;
static int log_syslog;

void log_init(const char *progname)
{
    if (progname && *progname)
        log_name = progname;
}

void log_set_verbose(int level) { log_level = level; }
int log_verbose(void) { return log_level; }
const char *log_progname(void) { return log_name; }

void log_use_syslog(int on)
{
    if (on && !log_syslog)
        openlog(log_name, LOG_PID | LOG_NDELAY, LOG_MAIL);
    log_syslog = on;
}

static void log_emit(int priority, const char *level, const char *fmt, va_list ap)
{
    va_list copy;

    if (log_syslog) {
        va_copy(copy, ap);
        vsyslog(priority, fmt, copy);
        va_end(copy);
    }
    fprintf(stderr, "%s: %s", log_name, level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

#define LOG_BODY(prio, level) do { \
        va_list ap; va_start(ap, fmt); log_emit(prio, level, fmt, ap); va_end(ap); \
    } while (0)

void log_debug(const char *fmt, ...)
{
    if (log_level > 0)
        LOG_BODY(LOG_DEBUG, "");
}

void log_info(const char *fmt, ...) { LOG_BODY(LOG_INFO, ""); }
void log_warn(const char *fmt, ...) { LOG_BODY(LOG_WARNING, "warning: "); }
void log_error(const char *fmt, ...) { LOG_BODY(LOG_ERR, "error: "); }
