/* dist.h - the distributions a campaign draws per-message values from
 * (body sizes, recipients per message), and the seeded, counter-based
 * randomness that draws them: value k of a campaign depends only on the
 * seed and k, never on which agent or thread draws it, so the same seed
 * gives the same campaign whatever the number of agents.
 *
 * Grammar (one token, no spaces):
 *     5k                                   fixed
 *     1k-100k                              uniform, both ends included
 *     lognormal:median=8k,sigma=1.2,max=10m  log-normal, cut at max (default 64m)
 *     mix:2k=60,20k=30,2m=10               weighted values (integer weights)
 * Sizes take the units k (1024) and m (1024 * 1024); counts take none. */
#ifndef SMTPSTORM_DIST_H
#define SMTPSTORM_DIST_H

#include <stddef.h>
#include <stdint.h>

#define DIST_TEXT_MAX      256          /* a distribution's text */
#define DIST_MIX_MAX       16           /* values of a mix */
#define DIST_LOGNORMAL_MAX (64ULL << 20) /* a log-normal's default cut: 64m */
#define DIST_SIZE_MAX      ((1ULL << 30) - 80)  /* the largest body --size draws: the
                                         * agent's -l limit less one line */

enum dist_kind { DIST_FIXED, DIST_UNIFORM, DIST_LOGNORMAL, DIST_MIX };

struct dist {
    enum dist_kind kind;
    uint64_t lo, hi;                    /* fixed: lo = hi; uniform: lo..hi; log-normal: 0..max */
    double mu, sigma;                   /* log-normal: ln(median), sigma */
    int n;                              /* mix: values and weights */
    uint64_t value[DIST_MIX_MAX];
    uint64_t weight[DIST_MIX_MAX];
    uint64_t weight_sum;
};

/* What values a distribution may take. */
enum dist_units { DIST_SIZES, DIST_COUNTS };

/* dist_parse - read text (the grammar above) into d; every value must lie
 * in [min, max]. Returns 0, or -EINVAL with the reason in err, naming the
 * token: "'lognormal:median=8x': bad size '8x'". */
int dist_parse(struct dist *d, const char *text, enum dist_units units, uint64_t min,
               uint64_t max, char *err, size_t errlen);

/* dist_fixed - d always gives v. */
void dist_fixed(struct dist *d, uint64_t v);

/* dist_max - the largest value d can give. */
uint64_t dist_max(const struct dist *d);

/* dist_mean - the mean of d (for planning and reports). */
double dist_mean(const struct dist *d);

/* dist_draw - the value of d for the random 64-bit word r (from dist_random). */
uint64_t dist_draw(const struct dist *d, uint64_t r);

/* dist_cdf - the probability that d gives at most x (for tests). */
double dist_cdf(const struct dist *d, double x);

/* Streams: the values of one message that must not be correlated (a
 * module drawing more picks numbers from DIST_STREAM_FREE on). */
enum {
    DIST_STREAM_SIZE = 1, DIST_STREAM_RECIPIENTS = 2, DIST_STREAM_SENDER = 3, DIST_STREAM_CORPUS = 4,
    DIST_STREAM_FREE = 16,
    DIST_STREAM_RCPT = 1u << 20     /* + the recipient's place in its message */
};

/* dist_random - the random 64-bit word of message seq, stream s, under
 * seed (splitmix64 of the three): a pure function. */
uint64_t dist_random(uint64_t seed, uint64_t seq, uint64_t stream);

#endif
