/* number.c - strict number parsing for options and campaign files
 * (see number.h). */
#include "number.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

static int number_starts_well(const char *s, int allow_minus)
{
    if (s == NULL)
        return 0;
    if (allow_minus && *s == '-')
        s++;
    return *s >= '0' && *s <= '9';
}

int number_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (!number_starts_well(s, min < 0))
        return -EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int number_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    unsigned long long v;
    char *end;

    if (!number_starts_well(s, 0))
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int number_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v;

    if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '.'))
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}
