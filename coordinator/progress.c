/* progress.c - the live progress line (see progress.h). */
#include "progress.h"

#include <unistd.h>

void progress_init(struct progress_line *pl, FILE *out)
{
    pl->out = out;
    pl->tty = isatty(fileno(out));
    pl->shown = 0;
    pl->last_ns = 0;
}

static void progress_format(char *buf, size_t len, const struct progress_view *v)
{
    char total[32] = "", eta[32] = "", sinks[96] = "", backlog[48] = "-";

    if (v->planned)
        snprintf(total, sizeof(total), " of %llu", (unsigned long long)v->planned);
    if (v->draining)
        snprintf(eta, sizeof(eta), "  draining");
    else if (v->eta_s >= 0)
        snprintf(eta, sizeof(eta), "  ETA %.0fs", v->eta_s);
    if (v->backlog_t > 0)
        snprintf(backlog, sizeof(backlog), "%lld at %us", (long long)v->backlog, v->backlog_t);
    if (v->sinks)
        snprintf(sinks, sizeof(sinks), " received %llu backlog %s", (unsigned long long)v->received, backlog);
    snprintf(buf, len, "[%5.0fs] sent %llu accepted %llu%s%s  %.0f msg/s  p99 %.1f ms  "
             "errors %llu  rejected %llu  agents %zu/%zu%s",
             v->elapsed_s, (unsigned long long)v->attempted, (unsigned long long)v->accepted, total, sinks,
             v->rate, (double)v->p99_us / 1000.0, (unsigned long long)v->errors,
             (unsigned long long)v->rejected, v->agents_up, v->agents_total, eta);
}

void progress_update(struct progress_line *pl, const struct progress_view *v, uint64_t now_ns)
{
    char line[320];

    if (!pl->tty && pl->last_ns != 0 && now_ns - pl->last_ns < PROGRESS_PLAIN_EVERY_NS)
        return;
    pl->last_ns = now_ns;
    progress_format(line, sizeof(line), v);
    if (pl->tty) {
        fprintf(pl->out, "\r%s\033[K", line);
        pl->shown = 1;
    } else {
        fprintf(pl->out, "%s\n", line);
    }
    fflush(pl->out);
}

void progress_clear(struct progress_line *pl)
{
    if (pl->tty && pl->shown) {
        fputs("\r\033[K", pl->out);
        fflush(pl->out);
    }
    pl->shown = 0;
}
