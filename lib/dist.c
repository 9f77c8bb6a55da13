/* dist.c - parse and draw from per-message distributions (see dist.h). */
#include "dist.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIST_SIGMA_MAX 10.0     /* beyond this a log-normal is a point and a far tail */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t dist_random(uint64_t seed, uint64_t seq, uint64_t stream)
{
    return mix64(mix64(mix64(seed) ^ seq) ^ stream);
}

/* parse_value - a whole number with, for sizes, an optional k or m suffix
 * (1024-based), from s up to end. Returns 0 or -EINVAL. */
static int parse_value(const char *s, const char *end, enum dist_units units, uint64_t *out)
{
    uint64_t v = 0, unit = 1;
    const char *p = s;

    if (p == end)
        return -EINVAL;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == s)
        return -EINVAL;
    if (p < end && units == DIST_SIZES && (*p == 'k' || *p == 'K' || *p == 'm' || *p == 'M')) {
        unit = *p == 'k' || *p == 'K' ? 1024 : 1024 * 1024;
        p++;
    }
    if (p != end || v > UINT64_MAX / unit)
        return -EINVAL;
    *out = v * unit;
    return 0;
}

/* A parse in progress: the whole text for messages, the limits. */
struct dist_parser {
    const char *text;
    enum dist_units units;
    uint64_t min, max;
    char *err;
    size_t errlen;
};

static int bad_value(const struct dist_parser *ps, const char *s, const char *end)
{
    snprintf(ps->err, ps->errlen, "'%s': bad %s '%.*s'", ps->text,
             ps->units == DIST_SIZES ? "size" : "count", (int)(end - s), s);
    return -EINVAL;
}

/* value - one value of the text, in the parser's range. */
static int value(const struct dist_parser *ps, const char *s, const char *end, uint64_t *out)
{
    if (parse_value(s, end, ps->units, out) != 0)
        return bad_value(ps, s, end);
    if (*out < ps->min || *out > ps->max) {
        snprintf(ps->err, ps->errlen, "'%s': %.*s is out of range (%llu to %llu)", ps->text,
                 (int)(end - s), s, (unsigned long long)ps->min, (unsigned long long)ps->max);
        return -EINVAL;
    }
    return 0;
}

static int parse_lognormal(const struct dist_parser *ps, const char *p, struct dist *d)
{
    const char *item, *eq, *end;
    uint64_t median = 0;
    char *stop;
    int have_sigma = 0;

    d->kind = DIST_LOGNORMAL;
    d->lo = 0;
    d->hi = ps->max < DIST_LOGNORMAL_MAX ? ps->max : DIST_LOGNORMAL_MAX;
    for (item = p; *item; item = *end ? end + 1 : end) {
        end = item + strcspn(item, ",");
        eq = memchr(item, '=', (size_t)(end - item));
        if (eq == NULL) {
            snprintf(ps->err, ps->errlen, "'%s': want key=value, not '%.*s'", ps->text,
                     (int)(end - item), item);
            return -EINVAL;
        }
        if (eq - item == 6 && memcmp(item, "median", 6) == 0) {
            if (value(ps, eq + 1, end, &median) != 0)
                return -EINVAL;
        } else if (eq - item == 3 && memcmp(item, "max", 3) == 0) {
            if (value(ps, eq + 1, end, &d->hi) != 0)
                return -EINVAL;
        } else if (eq - item == 5 && memcmp(item, "sigma", 5) == 0) {
            d->sigma = strtod(eq + 1, &stop);
            if (stop != end || !(d->sigma > 0 && d->sigma <= DIST_SIGMA_MAX)) {
                snprintf(ps->err, ps->errlen, "'%s': sigma must be a number above 0 and at most 10, not '%.*s'",
                         ps->text, (int)(end - eq - 1), eq + 1);
                return -EINVAL;
            }
            have_sigma = 1;
        } else {
            snprintf(ps->err, ps->errlen, "'%s': unknown key '%.*s' (median, sigma, max)", ps->text,
                     (int)(eq - item), item);
            return -EINVAL;
        }
    }
    if (median == 0 || !have_sigma) {
        snprintf(ps->err, ps->errlen, "'%s': a log-normal needs median= (above 0) and sigma=", ps->text);
        return -EINVAL;
    }
    if (median > d->hi) {
        snprintf(ps->err, ps->errlen, "'%s': the median is above max", ps->text);
        return -EINVAL;
    }
    d->mu = log((double)median);
    return 0;
}

static int parse_mix(const struct dist_parser *ps, const char *p, struct dist *d)
{
    const char *item, *eq, *end;
    uint64_t weight;

    d->kind = DIST_MIX;
    for (item = p; *item; item = *end ? end + 1 : end) {
        end = item + strcspn(item, ",");
        eq = memchr(item, '=', (size_t)(end - item));
        if (d->n == DIST_MIX_MAX) {
            snprintf(ps->err, ps->errlen, "'%s': more than %d values", ps->text, DIST_MIX_MAX);
            return -EINVAL;
        }
        if (eq == NULL) {
            snprintf(ps->err, ps->errlen, "'%s': want value=weight, not '%.*s'", ps->text,
                     (int)(end - item), item);
            return -EINVAL;
        }
        if (value(ps, item, eq, &d->value[d->n]) != 0)
            return -EINVAL;
        if (parse_value(eq + 1, end, DIST_COUNTS, &weight) != 0 || weight == 0 || weight > (1u << 30)) {
            snprintf(ps->err, ps->errlen, "'%s': bad weight '%.*s' (a whole number from 1)", ps->text,
                     (int)(end - eq - 1), eq + 1);
            return -EINVAL;
        }
        d->weight[d->n++] = weight;
        d->weight_sum += weight;
    }
    if (d->n == 0) {
        snprintf(ps->err, ps->errlen, "'%s': a mix needs value=weight pairs", ps->text);
        return -EINVAL;
    }
    d->lo = d->hi = d->value[0];
    for (int i = 1; i < d->n; i++) {
        d->lo = d->value[i] < d->lo ? d->value[i] : d->lo;
        d->hi = d->value[i] > d->hi ? d->value[i] : d->hi;
    }
    return 0;
}

int dist_parse(struct dist *d, const char *text, enum dist_units units, uint64_t min,
               uint64_t max, char *err, size_t errlen)
{
    struct dist_parser ps = { text, units, min, max, err, errlen };
    const char *dash;
    struct dist out;

    memset(&out, 0, sizeof(out));
    if (strlen(text) >= DIST_TEXT_MAX) {
        snprintf(err, errlen, "distribution longer than %d characters", DIST_TEXT_MAX - 1);
        return -EINVAL;
    }
    if (strncmp(text, "lognormal:", 10) == 0) {
        if (parse_lognormal(&ps, text + 10, &out) != 0)
            return -EINVAL;
    } else if (strncmp(text, "mix:", 4) == 0) {
        if (parse_mix(&ps, text + 4, &out) != 0)
            return -EINVAL;
    } else if ((dash = strchr(text, '-')) != NULL) {
        out.kind = DIST_UNIFORM;
        if (value(&ps, text, dash, &out.lo) != 0 || value(&ps, dash + 1, text + strlen(text), &out.hi) != 0)
            return -EINVAL;
        if (out.lo > out.hi) {
            snprintf(err, errlen, "'%s': the low end is above the high end", text);
            return -EINVAL;
        }
    } else {
        out.kind = DIST_FIXED;
        if (value(&ps, text, text + strlen(text), &out.lo) != 0)
            return -EINVAL;
        out.hi = out.lo;
    }
    *d = out;
    return 0;
}

void dist_fixed(struct dist *d, uint64_t v)
{
    memset(d, 0, sizeof(*d));
    d->kind = DIST_FIXED;
    d->lo = d->hi = v;
}

uint64_t dist_max(const struct dist *d) { return d->hi; }

/* below - r scaled to [0, n): the high word of r * n. */
static uint64_t below(uint64_t r, uint64_t n) { return (uint64_t)(((unsigned __int128)r * n) >> 64); }

/* unit - a uniform double in (0, 1) from the top 53 bits of r. */
static double unit(uint64_t r) { return ((double)(r >> 11) + 0.5) / 9007199254740992.0; }

uint64_t dist_draw(const struct dist *d, uint64_t r)
{
    double z, v;
    uint64_t t;

    switch (d->kind) {
    case DIST_FIXED:
        return d->lo;
    case DIST_UNIFORM:
        return d->lo + (d->hi - d->lo == UINT64_MAX ? r : below(r, d->hi - d->lo + 1));
    case DIST_LOGNORMAL:     /* Box-Muller on two uniforms from r */
        z = sqrt(-2.0 * log(unit(r))) * cos(2.0 * M_PI * unit(mix64(r)));
        v = exp(d->mu + d->sigma * z);
        return v >= (double)d->hi ? d->hi : (uint64_t)(v + 0.5);
    case DIST_MIX:
        t = below(r, d->weight_sum);
        for (int i = 0; i < d->n; i++) {
            if (t < d->weight[i])
                return d->value[i];
            t -= d->weight[i];
        }
        return d->value[d->n - 1];
    }
    return 0;
}

double dist_mean(const struct dist *d)
{
    double sum = 0;

    switch (d->kind) {
    case DIST_FIXED:
        return (double)d->lo;
    case DIST_UNIFORM:
        return ((double)d->lo + (double)d->hi) / 2;
    case DIST_LOGNORMAL:    /* uncut; the cut at max lowers it a little */
        return exp(d->mu + d->sigma * d->sigma / 2);
    case DIST_MIX:
        for (int i = 0; i < d->n; i++)
            sum += (double)d->value[i] * (double)d->weight[i];
        return sum / (double)d->weight_sum;
    }
    return 0;
}

double dist_cdf(const struct dist *d, double x)
{
    uint64_t w = 0;

    if (x >= (double)d->hi)
        return 1;
    if (x < (double)d->lo)
        return 0;
    switch (d->kind) {
    case DIST_FIXED:
        return 1;
    case DIST_UNIFORM:
        return (floor(x) - (double)d->lo + 1) / ((double)d->hi - (double)d->lo + 1);
    case DIST_LOGNORMAL:    /* values are rounded: P(V < floor(x) + 0.5) */
        return 0.5 * erfc(-(log(floor(x) + 0.5) - d->mu) / (d->sigma * M_SQRT2));
    case DIST_MIX:
        for (int i = 0; i < d->n; i++)
            if ((double)d->value[i] <= x)
                w += d->weight[i];
        return (double)w / (double)d->weight_sum;
    }
    return 0;
}
