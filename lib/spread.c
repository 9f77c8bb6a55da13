/* spread.c - recipient and sender spreads (see spread.h). */
#include "spread.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "textbuf.h"

/* zipf_weights - cumulative weights of a Zipf law of exponent s over n. */
static int zipf_weights(struct spread *sp, double s)
{
    double w;

    if ((sp->cum = malloc(sp->n * sizeof(sp->cum[0]))) == NULL)
        return -ENOMEM;
    sp->total = 0;
    for (size_t k = 0; k < sp->n; k++) {
        w = 1e12 / pow((double)(k + 1), s);
        sp->total += w < 1 ? 1 : (uint64_t)w;
        sp->cum[k] = sp->total;
    }
    return 0;
}

int spread_numbered(struct spread *sp, const char *base, int domains, uint64_t n, double zipf, char *err,
                    size_t errlen)
{
    memset(sp, 0, sizeof(*sp));
    if (n < 1 || n > SPREAD_ITEMS_MAX)
        return snprintf(err, errlen, "want 1 to %d names, not %llu", SPREAD_ITEMS_MAX, (unsigned long long)n),
               -EINVAL;
    if (strchr(base, '@') == NULL)
        return snprintf(err, errlen, "'%s' has no domain to number", base), -EINVAL;
    sp->base = base;
    sp->domains = domains;
    sp->n = (size_t)n;
    if (zipf > 0 && zipf_weights(sp, zipf) != 0)
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    return 0;
}

/* list_line - one line of a list into sp's next item and weight. */
static int list_line(struct spread *sp, const char *name, size_t lineno, const char *line, size_t len,
                     uint64_t *weight, char *err, size_t errlen)
{
    const char *space = memchr(line, ' ', len);
    size_t item_len = space ? (size_t)(space - line) : len;
    char digits[24];

    *weight = 1;
    if (item_len == 0 || item_len > SPREAD_ITEM_MAX || memchr(line, '\r', item_len) || memchr(line, '<', item_len)
        || memchr(line, '>', item_len) || memchr(line, '\0', item_len))
        return snprintf(err, errlen, "%s:%zu: want an address or a domain, not '%.*s'", name, lineno,
                        (int)(len > 60 ? 60 : len), line), -EINVAL;
    if (space) {
        size_t wl = len - item_len - 1;

        if (wl == 0 || wl >= sizeof(digits))
            return snprintf(err, errlen, "%s:%zu: bad weight '%.*s'", name, lineno, (int)wl, space + 1), -EINVAL;
        memcpy(digits, space + 1, wl);
        digits[wl] = '\0';
        if (number_parse_u64(digits, 1, 1u << 30, weight) != 0)
            return snprintf(err, errlen, "%s:%zu: bad weight '%s'", name, lineno, digits), -EINVAL;
    }
    if ((sp->items[sp->n] = strndup(line, item_len)) == NULL)
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    return 0;
}

int spread_parse_list(struct spread *sp, const char *name, const char *text, size_t len, double zipf,
                      char *err, size_t errlen)
{
    size_t lines = 1, lineno = 0, off, end;
    uint64_t weight;
    int rc = 0;

    memset(sp, 0, sizeof(*sp));
    for (off = 0; off < len; off++)
        lines += text[off] == '\n';
    if (lines > SPREAD_ITEMS_MAX)
        return snprintf(err, errlen, "%s: more than %d lines", name, SPREAD_ITEMS_MAX), -EINVAL;
    sp->items = calloc(lines, sizeof(sp->items[0]));
    sp->cum = calloc(lines, sizeof(sp->cum[0]));
    if (sp->items == NULL || sp->cum == NULL) {
        spread_free(sp);
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    }
    for (off = 0; off < len && rc == 0; off = end + 1) {
        const char *nl = memchr(text + off, '\n', len - off);

        end = nl ? (size_t)(nl - text) : len;
        lineno++;
        if (end == off || text[off] == '#' || (end - off == 1 && text[off] == '\r'))
            continue;
        rc = list_line(sp, name, lineno, text + off, end - off - (text[end - 1] == '\r'), &weight, err, errlen);
        if (rc == 0) {
            sp->total += weight;
            sp->cum[sp->n++] = sp->total;
        }
    }
    if (rc == 0 && sp->n == 0)
        rc = (snprintf(err, errlen, "%s: no address or domain in it", name), -EINVAL);
    if (rc == 0 && zipf > 0) {
        free(sp->cum);
        sp->cum = NULL;
        rc = zipf_weights(sp, zipf) == 0 ? 0 : (snprintf(err, errlen, "out of memory"), -ENOMEM);
    }
    if (rc != 0)
        spread_free(sp);
    return rc;
}

void spread_free(struct spread *sp)
{
    for (size_t i = 0; sp->items && i < sp->n; i++)
        free(sp->items[i]);
    free(sp->items);
    free(sp->cum);
    memset(sp, 0, sizeof(*sp));
}

/* pick_index - r's item: uniform, or the first whose cumulative weight
 * is above r scaled to the total. */
static size_t pick_index(const struct spread *sp, uint64_t r)
{
    uint64_t t;
    size_t lo = 0, hi;

    if (sp->cum == NULL)
        return (size_t)(((unsigned __int128)r * sp->n) >> 64);
    t = (uint64_t)(((unsigned __int128)r * sp->total) >> 64);
    for (hi = sp->n - 1; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;

        if (sp->cum[mid] > t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int spread_pick(const struct spread *sp, uint64_t r, const char *user, char *out, size_t cap)
{
    size_t k = pick_index(sp, r);
    const char *at, *item;
    struct textbuf b;

    textbuf_init(&b, out, cap);
    if (sp->items == NULL) {            /* numbered */
        at = strchr(sp->base, '@');
        if (sp->domains) {
            textbuf_put(&b, sp->base, (size_t)(at - sp->base) + 1);
            TEXTBUF_LIT(&b, "d");
            textbuf_u64(&b, (uint64_t)k + 1);
            TEXTBUF_LIT(&b, ".");
            textbuf_str(&b, at + 1);
        } else {
            textbuf_put(&b, sp->base, (size_t)(at - sp->base));
            textbuf_u64(&b, (uint64_t)k + 1);
            textbuf_str(&b, at);
        }
    } else if (strchr(item = sp->items[k], '@') != NULL) {
        textbuf_str(&b, item);
    } else {                            /* a domain, for user's local part */
        at = strchr(user, '@');
        textbuf_put(&b, user, at ? (size_t)(at - user) : strlen(user));
        TEXTBUF_LIT(&b, "@");
        textbuf_str(&b, item);
    }
    textbuf_put(&b, "", 1);
    return b.overflow ? -1 : (int)b.len - 1;
}
