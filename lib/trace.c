/* trace.c - format and parse the X-Smtpstorm-Trace header (see trace.h). */
#include "trace.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "textbuf.h"

/* trace_id_char - c may be in an id: A-Z a-z 0-9 . _ : - (one table
 * lookup: checked at every message's trace header). */
static int trace_id_char(char c)
{
    static const unsigned char ok[256] = {
        ['-'] = 1, ['.'] = 1, [':'] = 1, ['_'] = 1,
        ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
        ['8'] = 1, ['9'] = 1,
        ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
        ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
        ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
        ['Y'] = 1, ['Z'] = 1,
        ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
        ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
        ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
        ['y'] = 1, ['z'] = 1,
    };

    return ok[(unsigned char)c];
}

int trace_id_valid(const char *id)
{
    size_t n;

    for (n = 0; id[n]; n++)
        if (!trace_id_char(id[n]) || n + 1 >= TRACE_ID_MAX)
            return 0;
    return n > 0;
}

int trace_head_init(struct trace_head *h, const char *campaign, const char *agent)
{
    struct textbuf b;

    h->len = 0;
    if (!trace_id_valid(campaign) || !trace_id_valid(agent))
        return -1;
    textbuf_init(&b, h->text, sizeof(h->text));
    TEXTBUF_LIT(&b, TRACE_HEADER ": ");
    textbuf_str(&b, campaign);
    TEXTBUF_LIT(&b, " ");
    textbuf_str(&b, agent);
    TEXTBUF_LIT(&b, " ");
    if (b.overflow)
        return -1;
    h->len = b.len;
    return 0;
}

int trace_second_set(struct trace_second *s, uint64_t sec)
{
    struct textbuf b;

    if (s->len > 0 && s->sec == sec)
        return 0;
    textbuf_init(&b, s->digits, sizeof(s->digits));
    textbuf_u64(&b, sec);
    s->sec = sec;
    s->len = b.len;             /* 20 digits at most: always fits */
    return 1;
}

/* Formatted per message: the pair's part and the second copied, the
 * numbers by textbuf, not snprintf. NUL-terminated as snprintf would. */
int trace_format_stamp(const struct trace_head *h, uint64_t seq, const struct trace_second *s,
                       unsigned usec, char *out, size_t outlen)
{
    struct textbuf b;

    if (h->len == 0)
        return -1;
    textbuf_init(&b, out, outlen);
    textbuf_put(&b, h->text, h->len);
    textbuf_u64(&b, seq);
    TEXTBUF_LIT(&b, " ");
    if (s->sec > 0) {
        textbuf_put(&b, s->digits, s->len);
        textbuf_u64_width(&b, usec, 6);
    } else {
        textbuf_u64(&b, usec);  /* no leading zeros */
    }
    textbuf_put(&b, "\r\n", 3);
    return b.overflow ? -1 : (int)b.len - 1;
}

int trace_format(const struct trace *t, char *out, size_t outlen)
{
    struct trace_head h;
    struct trace_second s = { 0, 0, "" };

    if (trace_head_init(&h, t->campaign, t->agent) != 0)
        return -1;
    (void)trace_second_set(&s, t->sent_us / 1000000);
    return trace_format_stamp(&h, t->seq, &s, (unsigned)(t->sent_us % 1000000), out, outlen);
}

static int parse_id(const char **p, const char *end, char *out)
{
    size_t n = 0;

    while (*p < end && trace_id_char(**p)) {
        if (n + 1 >= TRACE_ID_MAX)
            return -1;
        out[n++] = *(*p)++;
    }
    out[n] = '\0';
    return n > 0 ? 0 : -1;
}

static int parse_u64(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    uint64_t digit;
    const char *start = *p;

    while (*p < end && **p >= '0' && **p <= '9') {
        digit = (uint64_t)(*(*p)++ - '0');
        if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && digit > UINT64_MAX % 10))
            return -1;
        v = v * 10 + digit;
    }
    *out = v;
    return *p > start ? 0 : -1;
}

static void skip_blanks(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
}

int trace_parse(const char *line, size_t len, struct trace *t)
{
    const char *p = line, *end = line + len;
    size_t name = sizeof(TRACE_HEADER) - 1;

    if (len > name && strncasecmp(line, TRACE_HEADER, name) == 0 && line[name] == ':')
        p += name + 1;
    skip_blanks(&p, end);
    if (parse_id(&p, end, t->campaign) != 0)
        return -1;
    skip_blanks(&p, end);
    if (parse_id(&p, end, t->agent) != 0)
        return -1;
    skip_blanks(&p, end);
    if (parse_u64(&p, end, &t->seq) != 0)
        return -1;
    skip_blanks(&p, end);
    if (parse_u64(&p, end, &t->sent_us) != 0)
        return -1;
    skip_blanks(&p, end);
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    return p == end ? 0 : -1;
}

uint64_t trace_pair_key(const char *campaign, const char *agent)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *campaign; campaign++)
        h = (h ^ (unsigned char)*campaign) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (; *agent; agent++)
        h = (h ^ (unsigned char)*agent) * 1099511628211ULL;
    return h;
}

int trace_tag_sender(const char *sender, const struct trace_tag *tag, char *out, size_t outlen)
{
    const char *at = strrchr(sender, '@');
    int local = at ? (int)(at - sender) : (int)strlen(sender);
    int n = snprintf(out, outlen, "%.*s" TRACE_TAG_PREFIX "%016llx-%llx%s", local, sender,
                     (unsigned long long)tag->key, (unsigned long long)tag->seq, at ? at : "");

    return n < 0 || (size_t)n >= outlen ? -1 : n;
}

/* parse_hex - up to 16 hex digits at *p, before end; -1 when none. */
static int parse_hex(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    int n = 0, d;

    for (; *p < end && n < 17; (*p)++, n++) {
        char c = **p;

        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            break;
        v = v << 4 | (uint64_t)d;
    }
    if (n == 0 || n > 16)
        return -1;
    *out = v;
    return 0;
}

int trace_tag_parse(const char *addr, size_t len, struct trace_tag *tag)
{
    const char *end = addr + len, *p, *at = NULL;
    size_t plen = sizeof(TRACE_TAG_PREFIX) - 1;

    for (p = addr; p < end; p++)
        if (*p == '@')
            at = p;
    if (at == NULL)
        at = end;
    /* the last tag in the local part: it ends at the '@' */
    for (p = at; p > addr; p--)
        if ((size_t)(at - (p - 1)) > plen && memcmp(p - 1, TRACE_TAG_PREFIX, plen) == 0)
            break;
    if (p == addr)
        return -1;
    p += plen - 1;
    if (parse_hex(&p, at, &tag->key) != 0 || p >= at || *p != '-')
        return -1;
    p++;
    if (parse_hex(&p, at, &tag->seq) != 0 || p != at)
        return -1;
    return 0;
}

uint64_t trace_rcpt_number(uint64_t seq_first, uint64_t seq_stride, uint64_t recipients, uint64_t n)
{
    if (seq_stride <= 1)
        return seq_first * recipients + 1 + n;
    return seq_first + 1 + n * seq_stride;
}
