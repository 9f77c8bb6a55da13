/* interrupt.c - SIGINT and SIGTERM counted for the run's tick (see
 * interrupt.h). */
#include "interrupt.h"

#include <assert.h>
#include <stddef.h>

static volatile sig_atomic_t interrupt_signals;
static struct ev_loop *interrupt_loop;     /* woken by the handler; NULL: none */

static void interrupt_on_signal(int sig)
{
    (void)sig;
    interrupt_signals++;
    if (interrupt_loop != NULL)
        ev_wake(interrupt_loop);
}

void interrupt_catch(struct ev_loop *loop, struct interrupt_saved *saved)
{
    struct sigaction sa = { .sa_handler = interrupt_on_signal };

    assert(loop != NULL && interrupt_loop == NULL);
    interrupt_loop = loop;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, &saved->int_);
    (void)sigaction(SIGTERM, &sa, &saved->term);
}

void interrupt_restore(const struct interrupt_saved *saved)
{
    (void)sigaction(SIGINT, &saved->int_, NULL);
    (void)sigaction(SIGTERM, &saved->term, NULL);
    interrupt_loop = NULL;
}

int interrupt_count(void)
{
    return interrupt_signals;
}
