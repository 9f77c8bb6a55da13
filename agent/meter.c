/* meter.c - an engine's counters, cumulative and by event second (see
 * meter.h). */
#include "meter.h"

#include <errno.h>
#include <string.h>

#include "clock.h"

static void meter_second_reset(struct meter_second *s, uint32_t t)
{
    memset(&s->n, 0, sizeof(s->n));
    s->n.t = t;
    s->last_ns = 0;
    hist_init(&s->message);
}

int meter_init(struct meter *m)
{
    int rc;

    memset(m, 0, sizeof(*m));
    if ((rc = pthread_mutex_init(&m->lock, NULL)) != 0)
        return -rc;
    stats_init(&m->live);
    stats_init(&m->pub);
    meter_second_reset(&m->cur, 0);
    return 0;
}

void meter_begin(struct meter *m, uint64_t origin_ns, uint64_t now_ns)
{
    uint32_t t = now_ns < origin_ns ? 0 : (uint32_t)((now_ns - origin_ns) / NS_PER_SEC) + 1;

    m->origin_ns = origin_ns;
    m->first = t;
    m->close_ns = origin_ns + (uint64_t)t * NS_PER_SEC;
    m->cur.n.t = t;
    m->begun = 1;
    pthread_mutex_lock(&m->lock);
    m->closed = t;
    m->pub_live = 1;
    pthread_mutex_unlock(&m->lock);
}

void meter_destroy(struct meter *m)
{
    pthread_mutex_destroy(&m->lock);
}

void meter_error(struct meter *m, enum stats_error kind)
{
    stats_count_error(&m->live, kind);
    m->cur.n.errors++;
}

void meter_accepted(struct meter *m, uint64_t now_ns, uint64_t message_ns)
{
    if (now_ns > m->origin_ns)
        m->cur.last_ns = now_ns - m->origin_ns;
    m->live.messages_accepted++;
    m->cur.n.accepted++;
    hist_record(&m->live.latency[PHASE_MESSAGE], message_ns / 1000);
    hist_record(&m->cur.message, message_ns / 1000);
}

/* meter_close - publish cur as closed, with the counters as they stand. */
static void meter_close(struct meter *m)
{
    m->cur.n.sessions_active = m->open_conns;
    pthread_mutex_lock(&m->lock);
    memcpy(&m->pub, &m->live, sizeof(m->pub));
    memcpy(&m->ring[m->cur.n.t % METER_WINDOW], &m->cur, sizeof(m->cur));
    m->closed = m->cur.n.t + 1;
    m->pub_live = m->begun && !m->ended;
    pthread_mutex_unlock(&m->lock);
}

uint64_t meter_tick(struct meter *m, uint64_t now_ns)
{
    if (m->ended || now_ns < m->close_ns)
        return m->close_ns;
    /* what was counted since the last tick happened in the second being
     * filled; seconds the loop slept through are closed empty */
    while (now_ns >= m->close_ns) {
        meter_close(m);
        meter_second_reset(&m->cur, m->cur.n.t + 1);
        m->close_ns += NS_PER_SEC;
    }
    return m->close_ns;
}

void meter_finish(struct meter *m)
{
    if (m->ended)
        return;
    m->ended = 1;
    meter_close(m);
}

void meter_snapshot(struct meter *m, struct load_stats *out)
{
    pthread_mutex_lock(&m->lock);
    memcpy(out, &m->pub, sizeof(*out));
    pthread_mutex_unlock(&m->lock);
}

uint32_t meter_take(struct meter *m, uint32_t from_t,
                    void (*fn)(void *arg, const struct meter_second *row), void *arg, int *live)
{
    uint32_t t, closed, oldest;

    pthread_mutex_lock(&m->lock);
    closed = m->closed;
    oldest = closed > m->first + METER_WINDOW ? closed - METER_WINDOW : m->first;
    for (t = from_t > oldest ? from_t : oldest; t < closed; t++)
        fn(arg, &m->ring[t % METER_WINDOW]);
    *live = m->pub_live;
    pthread_mutex_unlock(&m->lock);
    return closed;
}
