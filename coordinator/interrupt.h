/* interrupt.h - SIGINT and SIGTERM for `smtpstorm run`: counted, and the
 * loop woken, so the tick stops the agents at the first and quits at the
 * second. Nothing else runs in the handler. */
#ifndef SMTPSTORM_COORDINATOR_INTERRUPT_H
#define SMTPSTORM_COORDINATOR_INTERRUPT_H

#include <signal.h>

#include "ev.h"

/* The handlers that were in place before interrupt_catch. */
struct interrupt_saved {
    struct sigaction int_, term;
};

/* interrupt_catch - count SIGINT and SIGTERM from now on, waking loop
 * (which must outlive interrupt_restore); the old handlers go in saved.
 * One catch at a time: it must be restored before the next. */
void interrupt_catch(struct ev_loop *loop, struct interrupt_saved *saved);

/* interrupt_restore - the handlers of saved again; the loop is woken no more. */
void interrupt_restore(const struct interrupt_saved *saved);

/* interrupt_count - how many signals came since the process started. */
int interrupt_count(void);

#endif
