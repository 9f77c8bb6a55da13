/* planner.c - exact weighted split of a campaign over agents (see planner.h). */
#include "planner.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plan_split(uint64_t total, const uint64_t *weights, size_t n, uint64_t *parts)
{
    unsigned __int128 wsum = 0, rem, best_rem;
    uint64_t given = 0;
    size_t i, best;
    char *taken;

    for (i = 0; i < n; i++)
        wsum += weights[i];
    if (wsum == 0) {
        memset(parts, 0, n * sizeof(*parts));
        return total == 0 ? 0 : -EINVAL;
    }
    for (i = 0; i < n; i++) {
        parts[i] = (uint64_t)((unsigned __int128)total * weights[i] / wsum);
        given += parts[i];
    }
    /* Fewer than n units are left: hand them out by largest remainder. */
    if ((taken = calloc(n ? n : 1, 1)) == NULL)
        return -ENOMEM;
    while (given < total) {
        best = n;
        best_rem = 0;
        for (i = 0; i < n; i++) {
            rem = (unsigned __int128)total * weights[i] % wsum;
            if (!taken[i] && weights[i] > 0 && (best == n || rem > best_rem)) {
                best = i;
                best_rem = rem;
            }
        }
        taken[best] = 1;
        parts[best]++;
        given++;
    }
    free(taken);
    return 0;
}

/* Agents by cores, most first, ties to the lower index. */
static void plan_rank(const uint32_t *cores, size_t n, size_t *order)
{
    size_t i, j, t;

    for (i = 0; i < n; i++)
        order[i] = i;
    for (i = 1; i < n; i++) {
        for (j = i; j > 0; j--) {
            uint32_t a = cores[order[j - 1]], b = cores[order[j]];

            if (a > b || (a == b && order[j - 1] < order[j]))
                break;
            t = order[j - 1];
            order[j - 1] = order[j];
            order[j] = t;
        }
    }
}

struct plan_work {
    uint64_t *weights, *sessions, *messages, *rate, *tmp;
    size_t *order;
};

static int plan_alloc(struct plan_work *pw, size_t n)
{
    size_t m = n ? n : 1;

    pw->weights = calloc(m, sizeof(uint64_t));
    pw->sessions = calloc(m, sizeof(uint64_t));
    pw->messages = calloc(m, sizeof(uint64_t));
    pw->rate = calloc(m, sizeof(uint64_t));
    pw->tmp = calloc(m, sizeof(uint64_t));
    pw->order = calloc(m, sizeof(size_t));
    return pw->weights && pw->sessions && pw->messages && pw->rate && pw->tmp && pw->order
        ? 0 : -ENOMEM;
}

static void plan_release(struct plan_work *pw)
{
    free(pw->weights);
    free(pw->sessions);
    free(pw->messages);
    free(pw->rate);
    free(pw->tmp);
    free(pw->order);
}

/* Split S, M and R over the k first agents of order; 1 if every one of
 * them gets a share of each, 0 if one comes out empty. */
static int plan_try(struct plan_work *pw, const uint32_t *cores, size_t n, size_t k,
                    uint64_t S, uint64_t M, uint64_t R)
{
    size_t i;

    memset(pw->weights, 0, n * sizeof(uint64_t));
    for (i = 0; i < k; i++)
        pw->weights[pw->order[i]] = cores[pw->order[i]] ? cores[pw->order[i]] : 1;
    if (plan_split(S, pw->weights, n, pw->sessions) != 0 || plan_split(M, pw->weights, n, pw->messages) != 0
        || plan_split(R, pw->weights, n, pw->rate) != 0)
        return 0;
    for (i = 0; i < k; i++) {
        size_t a = pw->order[i];

        if (pw->sessions[a] == 0 || (M > 0 && pw->messages[a] == 0) || (R > 0 && pw->rate[a] == 0))
            return 0;
    }
    return 1;
}

static int plan_phases(const struct workload_spec *w, struct plan_work *pw, size_t n, size_t k,
                       struct plan_part *parts, char *err, size_t errlen)
{
    uint64_t R, P;
    size_t p, a;

    for (p = 0; p < w->n_phases; p++) {
        R = (uint64_t)llround(w->phases[p].rate * 1000.0);
        P = w->phases[p].sessions;
        if ((R > 0 && R < k) || (P > 0 && P < k)) {
            snprintf(err, errlen, "phase %zu (%s) is too small to split over %zu agents: "
                     "give it a rate or sessions of at least %zu", p + 1,
                     config_phase_kind_name(w->phases[p].kind), k, k);
            return -EINVAL;
        }
        (void)plan_split(R, pw->weights, n, pw->rate);
        (void)plan_split(P, pw->weights, n, pw->tmp);
        for (a = 0; a < n; a++) {
            if (parts[a].active && ((R > 0 && pw->rate[a] == 0) || (P > 0 && pw->tmp[a] == 0))) {
                snprintf(err, errlen, "phase %zu (%s) leaves agent %zu without a share: "
                         "raise its rate or sessions", p + 1, config_phase_kind_name(w->phases[p].kind), a + 1);
                return -EINVAL;
            }
            parts[a].phase_rate_milli[p] = pw->rate[a];
            parts[a].phase_sessions[p] = (uint32_t)pw->tmp[a];
        }
    }
    return 0;
}

static void plan_segments(const struct workload_spec *w, struct plan_work *pw, size_t n, size_t k,
                          int count_mode, struct plan_part *parts)
{
    uint64_t next_msg = 0, next_session = 0, pos = 0;
    size_t a;

    for (a = 0; a < n; a++) {
        struct plan_part *pp = &parts[a];

        if (!pp->active)
            continue;
        pp->sessions = (uint32_t)pw->sessions[a];
        pp->messages = count_mode ? pw->messages[a] : 0;
        pp->rate_milli = pw->rate[a];
        pp->seq_first = count_mode ? next_msg : pos;
        pp->seq_stride = count_mode ? 1 : k;
        pp->target_first = w->n_targets ? (uint32_t)(next_session % w->n_targets) : 0;
        next_msg += pp->messages;
        next_session += pp->sessions;
        pos++;
    }
}

int plan_make(const struct workload_spec *w, const uint32_t *cores, size_t n,
              struct plan_part *parts, char *err, size_t errlen)
{
    struct plan_work pw = { 0 };
    int count_mode = w->messages_set || (w->duration_ms == 0 && w->n_phases == 0);
    uint64_t S = w->sessions_set ? w->sessions : n, M = count_mode ? w->messages : 0;
    uint64_t R = (uint64_t)llround(w->rate * 1000.0);
    size_t k, i;
    int rc = -EINVAL;

    memset(parts, 0, n * sizeof(*parts));
    if (n == 0 || S == 0 || (count_mode && M == 0)) {
        snprintf(err, errlen, n == 0 ? "no agents to plan for" : "nothing to send: sessions and messages must be at least 1");
        return -EINVAL;
    }
    if (plan_alloc(&pw, n) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    plan_rank(cores, n, pw.order);
    k = n;
    if (k > S)
        k = (size_t)S;
    if (count_mode && k > M)
        k = (size_t)M;
    if (R > 0 && k > R)
        k = (size_t)R;
    while (k > 1 && !plan_try(&pw, cores, n, k, S, M, R))
        k--;
    if (k == 1)
        (void)plan_try(&pw, cores, n, k, S, M, R);
    for (i = 0; i < k; i++)
        parts[pw.order[i]].active = 1;
    if ((rc = plan_phases(w, &pw, n, k, parts, err, errlen)) != 0)
        goto out;
    /* plan_phases reused the rate array: split the campaign's rate again. */
    (void)plan_split(R, pw.weights, n, pw.rate);
    plan_segments(w, &pw, n, k, count_mode, parts);
    rc = (int)k;
out:
    plan_release(&pw);
    return rc;
}
