/* number.h - strict parsing of numbers from the command line and from
 * campaign files, shared by every program: the whole string must be the
 * number, no sign unless negatives are allowed, no blanks, no overflow. */
#ifndef SMTPSTORM_NUMBER_H
#define SMTPSTORM_NUMBER_H

#include <stdint.h>

/* number_parse_long - a decimal integer in [min, max] into *out.
 * A leading '-' is accepted only when min < 0. Returns 0 or -EINVAL
 * (and leaves *out alone). */
int number_parse_long(const char *s, long min, long max, long *out);

/* number_parse_u64 - an unsigned decimal integer in [min, max] into *out.
 * Returns 0 or -EINVAL (and leaves *out alone). */
int number_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* number_parse_double - a finite, non-negative decimal number ("2", "0.5",
 * "1e3") in [min, max] into *out. Returns 0 or -EINVAL. */
int number_parse_double(const char *s, double min, double max, double *out);

#endif
