/* wire.c - control-plane messages: bounded decoding with validation of
 * every field a receiver will use, encoding, sparse histograms and
 * heartbeat clock samples (see wire.h). Everything decoded is hostile until
 * wire_decode has checked it. */
#include "wire.h"
#include "trace.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct wire_progress_store {
    Smtpstorm__Progress msg;
    uint64_t errors[ERROR_KIND_COUNT];
    Smtpstorm__ReplyCount replies[STATS_REPLY_CODES];
    Smtpstorm__ReplyCount *reply_ptrs[STATS_REPLY_CODES];
    Smtpstorm__Hist hists[PHASE_COUNT];
    Smtpstorm__Hist *hist_ptrs[PHASE_COUNT];
    Smtpstorm__Hist body_sizes;
    uint32_t *deltas;           /* nonempty slots of every phase, grown as needed */
    uint64_t *counts;
    size_t cap;
};

const char *wire_text(const char *s) { return s ? s : ""; }

static int text_ok(const char *s)
{
    return s == NULL || strnlen(s, WIRE_TEXT_MAX + 1) <= WIRE_TEXT_MAX;
}

/* An id or campaign: empty is allowed where the field is optional. */
static int id_ok(const char *s, int required)
{
    if (s == NULL || *s == '\0')
        return !required;
    return trace_id_valid(s);
}

int wire_hist_check(const Smtpstorm__Hist *pb)
{
    uint64_t slot = 0, total = 0;
    size_t i;

    if (pb == NULL || pb->phase >= PHASE_COUNT || pb->n_slot_delta != pb->n_counts
        || pb->n_counts > HIST_SLOTS)
        return -EBADMSG;
    for (i = 0; i < pb->n_counts; i++) {
        if (i > 0 && pb->slot_delta[i] == 0)
            return -EBADMSG;
        slot += pb->slot_delta[i];
        if (slot >= HIST_SLOTS || pb->counts[i] == 0 || total + pb->counts[i] < total)
            return -EBADMSG;
        total += pb->counts[i];
    }
    if (total != pb->count)
        return -EBADMSG;
    if (pb->count > 0 && (pb->min > pb->max || pb->max > HIST_VALUE_MAX))
        return -EBADMSG;
    return 0;
}

/* check_seconds - rows in order, each before closed; histograms sound. */
static int check_seconds(const Smtpstorm__Seconds *sc)
{
    size_t i;

    if (sc == NULL)
        return 0;
    if (sc->n_rows > WIRE_SECONDS_MAX
        || (sc->before != NULL && (sc->before->message != NULL || sc->before->delivery != NULL))
        || (sc->total != NULL && (sc->total->message != NULL || sc->total->delivery != NULL)))
        return -EBADMSG;
    for (i = 0; i < sc->n_rows; i++) {
        if (sc->rows[i] == NULL || sc->rows[i]->t >= sc->closed
            || (i > 0 && sc->rows[i]->t <= sc->rows[i - 1]->t)
            || (sc->rows[i]->message != NULL && wire_hist_check(sc->rows[i]->message) != 0)
            || (sc->rows[i]->delivery != NULL && wire_hist_check(sc->rows[i]->delivery) != 0))
            return -EBADMSG;
    }
    return 0;
}

static int check_progress(const Smtpstorm__Progress *p)
{
    size_t i;

    if (p == NULL || !id_ok(p->campaign, 0) || p->n_errors_by_kind > WIRE_LIST_MAX
        || (p->beat != NULL && !id_ok(p->beat->campaign, 0))
        || p->n_replies > STATS_REPLY_CODES || p->n_latency > PHASE_COUNT
        || check_seconds(p->seconds) != 0)
        return -EBADMSG;
    for (i = 0; i < p->n_replies; i++)
        if (p->replies[i] == NULL || p->replies[i]->code >= STATS_REPLY_CODES)
            return -EBADMSG;
    if (p->body_sizes != NULL && wire_hist_check(p->body_sizes) != 0)
        return -EBADMSG;
    for (i = 0; i < p->n_latency; i++)
        if (wire_hist_check(p->latency[i]) != 0)
            return -EBADMSG;
    return 0;
}

static int check_workload(const Smtpstorm__Workload *w)
{
    size_t i;

    if (!id_ok(w->campaign, 1) || w->n_targets == 0 || w->n_targets > WIRE_TARGETS_MAX
        || w->n_phases > WIRE_PHASES_MAX || w->content.len > WIRE_CONTENT_MAX
        || w->rcpt_list.len > WIRE_CONTENT_MAX || w->sender_list.len > WIRE_CONTENT_MAX
        || (w->content.len > 0 && w->content.data == NULL)
        || !text_ok(w->auth) || !text_ok(w->from) || !text_ok(w->helo_name)
        || !text_ok(w->subject) || !text_ok(w->to) || w->seq_stride == 0
        || w->timeout_ms > WIRE_TIMEOUT_MAX_MS || w->session_timeout_ms > WIRE_TIMEOUT_MAX_MS
        || (w->extension > 0 && (w->messages == 0 || w->sessions == 0)))
        return -EBADMSG;
    for (i = 0; i < w->n_targets; i++)
        if (w->targets[i] == NULL || *w->targets[i] == '\0' || !text_ok(w->targets[i]))
            return -EBADMSG;
    for (i = 0; i < w->n_phases; i++)
        if (w->phases[i] == NULL)
            return -EBADMSG;
    return 0;
}

static int check_sink_counters(const Smtpstorm__SinkCounters *sc)
{
    const Smtpstorm__CampaignCounters *c;
    size_t i, j;

    if (sc->n_campaigns > WIRE_LIST_MAX || (sc->beat != NULL && !id_ok(sc->beat->campaign, 0)))
        return -EBADMSG;
    for (i = 0; i < sc->n_campaigns; i++) {
        c = sc->campaigns[i];
        if (c == NULL || !id_ok(c->campaign, 1) || c->n_agents > WIRE_AGENTS_MAX || c->n_outcomes > 64
            || (c->delivery != NULL && wire_hist_check(c->delivery) != 0)
            || check_seconds(c->seconds) != 0)
            return -EBADMSG;
        for (j = 0; j < c->n_agents; j++)
            if (c->agents[j] == NULL || !id_ok(c->agents[j]->agent, 1))
                return -EBADMSG;
    }
    return 0;
}

static int check_start(const Smtpstorm__Start *s)
{
    size_t i;

    if (!id_ok(s->campaign, 1) || s->n_agents > WIRE_AGENTS_MAX)
        return -EBADMSG;
    for (i = 0; i < s->n_agents; i++)
        if (s->agents[i] == NULL || !id_ok(s->agents[i]->id, 1))
            return -EBADMSG;
    return 0;
}

static int check_body(const Smtpstorm__Envelope *env)
{
    switch (env->body_case) {
    case SMTPSTORM__ENVELOPE__BODY_HELLO:
        return id_ok(env->hello->id, 1) && text_ok(env->hello->host) && text_ok(env->hello->version)
            ? 0 : -EBADMSG;
    case SMTPSTORM__ENVELOPE__BODY_WORKLOAD:
        return check_workload(env->workload);
    case SMTPSTORM__ENVELOPE__BODY_READY:
        return id_ok(env->ready->campaign, 1) ? 0 : -EBADMSG;
    case SMTPSTORM__ENVELOPE__BODY_START:
        return check_start(env->start);
    case SMTPSTORM__ENVELOPE__BODY_STOP:
        return id_ok(env->stop->campaign, 0) && text_ok(env->stop->reason) ? 0 : -EBADMSG;
    case SMTPSTORM__ENVELOPE__BODY_HEARTBEAT:
        return id_ok(env->heartbeat->campaign, 0) ? 0 : -EBADMSG;
    case SMTPSTORM__ENVELOPE__BODY_PROGRESS:
        return check_progress(env->progress);
    case SMTPSTORM__ENVELOPE__BODY_DONE:
        return id_ok(env->done->campaign, 1) && text_ok(env->done->status)
            && env->done->final != NULL ? check_progress(env->done->final) : -EBADMSG;
    case SMTPSTORM__ENVELOPE__BODY_ERROR:
        return text_ok(env->error->text) && id_ok(env->error->campaign, 0) ? 0 : -EBADMSG;
    case SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS:
        return check_sink_counters(env->sink_counters);
    case SMTPSTORM__ENVELOPE__BODY_SINK_BEHAVIOUR:
        return id_ok(env->sink_behaviour->campaign, 1) && text_ok(env->sink_behaviour->name)
            && env->sink_behaviour->text.len <= WIRE_CONTENT_MAX
            && (env->sink_behaviour->text.len == 0 || env->sink_behaviour->text.data != NULL) ? 0 : -EBADMSG;
    default:
        return -EBADMSG;
    }
}

/* A decoded envelope lives in an arena of its own: protobuf-c allocates
 * each field and string apart, and its free walks the whole message to
 * free them one by one (with 5,000 agents' reports that was a tenth of the
 * coordinator's time). Every allocation of one unpack is carved from a
 * few blocks, and wire_free frees the blocks. The envelope is the arena's
 * first allocation (protobuf-c allocates the message it returns before
 * its fields), which puts the arena's head right before it. */
#define WIRE_ARENA_FIRST 2048               /* the first block; each next doubles */
#define WIRE_ARENA_ALIGN 16

struct wire_block {
    struct wire_block *next;
    size_t size, used;
    _Alignas(WIRE_ARENA_ALIGN) unsigned char data[];
};

struct wire_arena {
    struct wire_block *blocks;      /* the newest first; the head's own block is the last */
    int failed;                     /* an allocation failed */
    size_t next_size;
};

/* The head sits at the start of its first block's data, the envelope
 * right after it. */
#define WIRE_ARENA_HEAD (((sizeof(struct wire_arena) + WIRE_ARENA_ALIGN - 1) / WIRE_ARENA_ALIGN) * WIRE_ARENA_ALIGN)

static void *wire_arena_alloc(void *data, size_t size)
{
    struct wire_arena *a = data;
    struct wire_block *b = a->blocks;
    size_t need = (size + WIRE_ARENA_ALIGN - 1) / WIRE_ARENA_ALIGN * WIRE_ARENA_ALIGN, bsize;
    void *p;

    if (size > WIRE_MSG_MAX * 8u) {                 /* nothing a bounded frame unpacks to */
        a->failed = 1;
        return NULL;
    }
    if (b->size - b->used < need) {
        bsize = a->next_size > need ? a->next_size : need;
        if ((b = malloc(sizeof(*b) + bsize)) == NULL) {
            a->failed = 1;
            return NULL;
        }
        b->size = bsize;
        b->used = 0;
        b->next = a->blocks;
        a->blocks = b;
        a->next_size = bsize * 2;
    }
    p = b->data + b->used;
    b->used += need;
    return p;
}

static void wire_arena_free(void *data, void *p)
{
    (void)data;
    (void)p;            /* the arena goes whole (wire_free) */
}

/* wire_arena_new - an arena whose first block holds its head. */
static struct wire_arena *wire_arena_new(void)
{
    struct wire_block *b = malloc(sizeof(*b) + WIRE_ARENA_FIRST);
    struct wire_arena *a;

    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->size = WIRE_ARENA_FIRST;
    b->used = WIRE_ARENA_HEAD;
    a = (struct wire_arena *)(void *)b->data;
    a->blocks = b;
    a->failed = 0;
    a->next_size = 2 * WIRE_ARENA_FIRST;
    return a;
}

static void wire_arena_release(struct wire_arena *a)
{
    struct wire_block *b = a->blocks, *next;

    for (; b != NULL; b = next) {       /* the head's block, holding a, is the last */
        next = b->next;
        free(b);
    }
}

int wire_decode(const void *buf, size_t len, Smtpstorm__Envelope **out)
{
    Smtpstorm__Envelope *env;
    struct wire_arena *a;
    ProtobufCAllocator alloc = { wire_arena_alloc, wire_arena_free, NULL };

    *out = NULL;
    if (len > WIRE_MSG_MAX)
        return -EMSGSIZE;
    if (buf == NULL && len > 0)
        return -EBADMSG;
    if ((a = wire_arena_new()) == NULL)
        return -ENOMEM;
    alloc.allocator_data = a;
    env = smtpstorm__envelope__unpack(&alloc, len, buf);
    if (env == NULL) {
        int failed = a->failed;

        wire_arena_release(a);
        return failed ? -ENOMEM : -EBADMSG;
    }
    /* the envelope was the first allocation: wire_free finds the head from it */
    assert((unsigned char *)env == (unsigned char *)a + WIRE_ARENA_HEAD);
    if (env->version == 0) {            /* no real peer sends that: garbage */
        wire_arena_release(a);
        return -EBADMSG;
    }
    if (env->version != WIRE_VERSION) {
        *out = env;
        return -EPROTONOSUPPORT;
    }
    if (check_body(env) != 0) {
        wire_arena_release(a);
        return -EBADMSG;
    }
    *out = env;
    return 0;
}

void wire_free(Smtpstorm__Envelope *env)
{
    if (env != NULL)
        wire_arena_release((struct wire_arena *)(void *)((unsigned char *)env - WIRE_ARENA_HEAD));
}

int wire_encode(Smtpstorm__Envelope *env, uint8_t **buf, size_t *len)
{
    size_t need;

    *buf = NULL;
    *len = 0;
    env->version = WIRE_VERSION;
    need = smtpstorm__envelope__get_packed_size(env);
    if (need > WIRE_MSG_MAX)
        return -EMSGSIZE;
    *buf = malloc(need ? need : 1);
    if (*buf == NULL)
        return -ENOMEM;
    *len = smtpstorm__envelope__pack(env, *buf);
    return 0;
}

const char *wire_body_name(const Smtpstorm__Envelope *env)
{
    switch (env->body_case) {
    case SMTPSTORM__ENVELOPE__BODY_HELLO: return "hello";
    case SMTPSTORM__ENVELOPE__BODY_WORKLOAD: return "workload";
    case SMTPSTORM__ENVELOPE__BODY_READY: return "ready";
    case SMTPSTORM__ENVELOPE__BODY_START: return "start";
    case SMTPSTORM__ENVELOPE__BODY_STOP: return "stop";
    case SMTPSTORM__ENVELOPE__BODY_HEARTBEAT: return "heartbeat";
    case SMTPSTORM__ENVELOPE__BODY_PROGRESS: return "progress";
    case SMTPSTORM__ENVELOPE__BODY_DONE: return "done";
    case SMTPSTORM__ENVELOPE__BODY_ERROR: return "error";
    case SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS: return "sink_counters";
    case SMTPSTORM__ENVELOPE__BODY_SINK_BEHAVIOUR: return "sink_behaviour";
    default: return "none";
    }
}

/* Describe h sparsely in msg using deltas/counts, which have room for
 * every nonempty slot. */
static void wire_hist_describe(Smtpstorm__Hist *msg, uint32_t *deltas, uint64_t *counts,
                               const struct hist *h, unsigned phase)
{
    size_t i, n = 0, prev = 0;

    smtpstorm__hist__init(msg);
    msg->phase = phase;
    msg->count = h->count;
    msg->sum = h->sum;
    msg->min = h->count ? h->min : 0;
    msg->max = h->max;
    for (i = 0; i < HIST_SLOTS && h->count > 0; i++) {
        if (h->slots[i] == 0)
            continue;
        deltas[n] = (uint32_t)(i - prev);
        counts[n] = h->slots[i];
        prev = i;
        n++;
    }
    msg->n_slot_delta = msg->n_counts = n;
    msg->slot_delta = deltas;
    msg->counts = counts;
}

Smtpstorm__Hist *wire_hist_fill(struct wire_hist_store *st, const struct hist *h, unsigned phase)
{
    wire_hist_describe(&st->msg, st->deltas, st->counts, h, phase);
    return &st->msg;
}

int wire_hist_merge(struct hist *dst, const Smtpstorm__Hist *pb)
{
    size_t i, slot = 0;

    if (wire_hist_check(pb) != 0)
        return -EBADMSG;
    if (pb->count == 0)
        return 0;
    for (i = 0; i < pb->n_counts; i++) {
        slot += pb->slot_delta[i];
        (void)hist_add_slot(dst, slot, pb->counts[i]);
    }
    dst->sum = dst->sum + pb->sum >= dst->sum ? dst->sum + pb->sum : UINT64_MAX;
    if (pb->min < dst->min)
        dst->min = pb->min;
    if (pb->max > dst->max)
        dst->max = pb->max;
    return 0;
}

struct wire_progress_store *wire_progress_store_new(void)
{
    return calloc(1, sizeof(struct wire_progress_store));
}

void wire_progress_store_free(struct wire_progress_store *st)
{
    if (st == NULL)
        return;
    free(st->deltas);
    free(st->counts);
    free(st);
}

/* Make room for need slot entries in st; 0 or -ENOMEM. */
static int wire_store_reserve(struct wire_progress_store *st, size_t need)
{
    uint32_t *d;
    uint64_t *c;

    if (need <= st->cap)
        return 0;
    need += need / 2 + 64;
    if ((d = realloc(st->deltas, need * sizeof(*d))) == NULL)
        return -ENOMEM;
    st->deltas = d;
    if ((c = realloc(st->counts, need * sizeof(*c))) == NULL)
        return -ENOMEM;
    st->counts = c;
    st->cap = need;
    return 0;
}

static size_t wire_hist_nonempty(const struct hist *h)
{
    size_t i, n = 0;

    for (i = 0; i < HIST_SLOTS && h->count > 0; i++)
        n += h->slots[i] != 0;
    return n;
}

static int wire_progress_hists(struct wire_progress_store *st, const struct load_stats *s)
{
    size_t used[PHASE_COUNT], total = 0, at = 0, i, n = 0;
    size_t sizes = wire_hist_nonempty(&s->body_sizes);

    for (i = 0; i < PHASE_COUNT; i++)
        total += used[i] = wire_hist_nonempty(&s->latency[i]);
    if (wire_store_reserve(st, total + sizes) != 0)
        return -ENOMEM;
    if (s->body_sizes.count > 0) {
        wire_hist_describe(&st->body_sizes, st->deltas + total, st->counts + total, &s->body_sizes, 0);
        st->msg.body_sizes = &st->body_sizes;
    }
    for (i = 0; i < PHASE_COUNT; i++) {
        if (s->latency[i].count == 0)
            continue;
        wire_hist_describe(&st->hists[i], st->deltas + at, st->counts + at, &s->latency[i], (unsigned)i);
        at += used[i];
        st->hist_ptrs[n++] = &st->hists[i];
    }
    st->msg.latency = st->hist_ptrs;
    st->msg.n_latency = n;
    return 0;
}

Smtpstorm__Progress *wire_progress_fill(struct wire_progress_store *st, const struct load_stats *s,
                                        const struct wire_progress_meta *meta)
{
    Smtpstorm__Progress *p = &st->msg;
    size_t i, n = 0;

    smtpstorm__progress__init(p);
    p->campaign = (char *)(meta->campaign ? meta->campaign : "");
    p->seq = meta->seq;
    p->elapsed_ns = meta->elapsed_ns;
    p->cpu_ns = meta->cpu_ns;
    p->sessions_active = meta->sessions_active;
    p->corpus_messages = meta->corpus_messages;
    p->corpus_skipped = meta->corpus_skipped;
    p->source_pool = meta->source_pool;
    p->seconds = meta->seconds;
    p->sessions = s->sessions;
    p->messages_attempted = s->messages_attempted;
    p->messages_accepted = s->messages_accepted;
    p->messages_rejected = s->messages_rejected;
    p->messages_unfinished = s->messages_unfinished;
    p->errors = s->errors;
    p->recipients = s->recipients;
    p->tls_resumed = s->tls_resumed;
    p->bytes = s->bytes;
    memcpy(st->errors, s->errors_by_kind, sizeof(st->errors));
    p->errors_by_kind = st->errors;
    p->n_errors_by_kind = ERROR_KIND_COUNT;
    for (i = 0; i < STATS_REPLY_CODES; i++) {
        if (s->replies[i] == 0)
            continue;
        smtpstorm__reply_count__init(&st->replies[n]);
        st->replies[n].code = (uint32_t)i;
        st->replies[n].count = s->replies[i];
        st->reply_ptrs[n] = &st->replies[n];
        n++;
    }
    p->replies = st->reply_ptrs;
    p->n_replies = n;
    return wire_progress_hists(st, s) == 0 ? p : NULL;
}

struct wire_seconds_store {
    Smtpstorm__Seconds msg;
    Smtpstorm__Second before, total;
    Smtpstorm__Second rows[WIRE_SECONDS_MAX];
    Smtpstorm__Second *ptrs[WIRE_SECONDS_MAX];
    struct wire_hist_store *hists;      /* [2 * WIRE_SECONDS_MAX]: messages, deliveries; or NULL */
};

struct wire_seconds_store *wire_seconds_store_new(int with_hists)
{
    struct wire_seconds_store *st = calloc(1, sizeof(*st));

    if (st != NULL && with_hists
        && (st->hists = calloc(2 * WIRE_SECONDS_MAX, sizeof(*st->hists))) == NULL) {
        free(st);
        return NULL;
    }
    return st;
}

void wire_seconds_store_free(struct wire_seconds_store *st)
{
    if (st == NULL)
        return;
    free(st->hists);
    free(st);
}

static void wire_second_put(Smtpstorm__Second *pb, const struct stats_second *s)
{
    smtpstorm__second__init(pb);
    pb->t = s->t;
    pb->attempted = s->attempted;
    pb->accepted = s->accepted;
    pb->rejected = s->rejected;
    pb->errors = s->errors;
    pb->replies_4xx = s->replies_4xx;
    pb->replies_5xx = s->replies_5xx;
    pb->sessions_active = s->sessions_active;
    pb->received = s->received;
    pb->duplicates = s->duplicates;
    pb->sink_deferred = s->sink_deferred;
    pb->sink_rejected = s->sink_rejected;
}

void wire_second_get(const Smtpstorm__Second *pb, struct stats_second *out)
{
    out->t = pb->t;
    out->attempted = pb->attempted;
    out->accepted = pb->accepted;
    out->rejected = pb->rejected;
    out->errors = pb->errors;
    out->replies_4xx = pb->replies_4xx;
    out->replies_5xx = pb->replies_5xx;
    out->sessions_active = pb->sessions_active;
    out->received = pb->received;
    out->duplicates = pb->duplicates;
    out->sink_deferred = pb->sink_deferred;
    out->sink_rejected = pb->sink_rejected;
}

Smtpstorm__Seconds *wire_seconds_fill(struct wire_seconds_store *st, const struct wire_seconds *src)
{
    size_t i, n = src->n < WIRE_SECONDS_MAX ? src->n : WIRE_SECONDS_MAX;

    smtpstorm__seconds__init(&st->msg);
    st->msg.closed = src->closed;
    st->msg.last_ns = src->last_ns;
    wire_second_put(&st->before, &src->before);
    st->before.t = src->closed;
    st->msg.before = &st->before;
    wire_second_put(&st->total, &src->total);
    st->msg.total = &st->total;
    for (i = 0; i < n; i++) {
        wire_second_put(&st->rows[i], src->rows[i]);
        if (st->hists != NULL && src->messages[i] != NULL && src->messages[i]->count > 0)
            st->rows[i].message = wire_hist_fill(&st->hists[i], src->messages[i], PHASE_MESSAGE);
        if (st->hists != NULL && src->deliveries[i] != NULL && src->deliveries[i]->count > 0)
            st->rows[i].delivery = wire_hist_fill(&st->hists[WIRE_SECONDS_MAX + i], src->deliveries[i],
                                                  PHASE_DELIVERY);
        st->ptrs[i] = &st->rows[i];
    }
    st->msg.rows = st->ptrs;
    st->msg.n_rows = n;
    return &st->msg;
}

int wire_progress_merge(struct load_stats *dst, const Smtpstorm__Progress *p)
{
    size_t i;

    if (check_progress(p) != 0)
        return -EBADMSG;
    dst->sessions += p->sessions;
    dst->messages_attempted += p->messages_attempted;
    dst->messages_accepted += p->messages_accepted;
    dst->messages_rejected += p->messages_rejected;
    dst->messages_unfinished += p->messages_unfinished;
    dst->errors += p->errors;
    dst->recipients += p->recipients;
    dst->tls_resumed += p->tls_resumed;
    dst->bytes += p->bytes;
    for (i = 0; i < p->n_errors_by_kind && i < ERROR_KIND_COUNT; i++)
        dst->errors_by_kind[i] += p->errors_by_kind[i];
    for (i = 0; i < p->n_replies; i++)
        dst->replies[p->replies[i]->code] += p->replies[i]->count;
    for (i = 0; i < p->n_latency; i++)
        (void)wire_hist_merge(&dst->latency[p->latency[i]->phase], p->latency[i]);
    if (p->body_sizes != NULL)
        (void)wire_hist_merge(&dst->body_sizes, p->body_sizes);
    return 0;
}

void wire_beat_fill(Smtpstorm__Heartbeat *hb, const struct wire_beat *b, uint64_t now_wall_ns,
                    uint64_t now_mono_ns)
{
    smtpstorm__heartbeat__init(hb);
    hb->sender_ns = now_wall_ns;
    if (b->peer_sender_ns != 0) {
        hb->echo_ns = b->peer_sender_ns;
        hb->held_ns = now_mono_ns - b->received_mono_ns;
    }
}

uint32_t wire_beat_interval_ms(uint64_t dead_ms)
{
    return dead_ms >= WIRE_BEAT_SLOW_DEAD_MS ? WIRE_BEAT_SLOW_MS : 1000;
}

const Smtpstorm__Heartbeat *wire_beat_of(const Smtpstorm__Envelope *env)
{
    switch (env->body_case) {
    case SMTPSTORM__ENVELOPE__BODY_HEARTBEAT: return env->heartbeat;
    case SMTPSTORM__ENVELOPE__BODY_PROGRESS: return env->progress->beat;
    case SMTPSTORM__ENVELOPE__BODY_SINK_COUNTERS: return env->sink_counters->beat;
    default: return NULL;
    }
}

int wire_beat_receive(struct wire_beat *b, const Smtpstorm__Heartbeat *hb, uint64_t now_wall_ns,
                      uint64_t now_mono_ns, int64_t *offset_ns, uint64_t *rtt_ns)
{
    uint64_t t1 = hb->echo_ns, t3 = hb->sender_ns, t4 = now_wall_ns, held = hb->held_ns;
    int64_t t2, out, back;

    b->peer_sender_ns = t3;
    b->received_mono_ns = now_mono_ns;
    /* Hostile or stale values: no echo, clocks stepped, held longer than the trip. */
    if (t1 == 0 || t3 == 0 || t4 < t1 || t4 - t1 < held || t3 > INT64_MAX || t4 > INT64_MAX
        || held > t3)
        return -EAGAIN;
    *rtt_ns = (t4 - t1) - held;
    t2 = (int64_t)(t3 - held);
    /* Every time is in [0, INT64_MAX], so each difference fits; their sum
     * may not (a hostile or wildly wrong peer clock): halve, then add. */
    out = t2 - (int64_t)t1;
    back = (int64_t)t3 - (int64_t)t4;
    *offset_ns = out / 2 + back / 2 + (out % 2 + back % 2) / 2;
    return 0;
}
