/* trace.c - format and parse the X-Smtpstorm-Trace header (see trace.h). */
#include "trace.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "textbuf.h"

static int trace_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '.' || c == '_' || c == ':' || c == '-';
}

int trace_id_valid(const char *id)
{
    size_t n;

    for (n = 0; id[n]; n++)
        if (!trace_id_char(id[n]) || n + 1 >= TRACE_ID_MAX)
            return 0;
    return n > 0;
}

/* Formatted per message: textbuf, not snprintf. NUL-terminated as
 * snprintf would. */
int trace_format(const struct trace *t, char *out, size_t outlen)
{
    struct textbuf b;

    if (!trace_id_valid(t->campaign) || !trace_id_valid(t->agent))
        return -1;
    textbuf_init(&b, out, outlen);
    TEXTBUF_LIT(&b, TRACE_HEADER ": ");
    textbuf_str(&b, t->campaign);
    TEXTBUF_LIT(&b, " ");
    textbuf_str(&b, t->agent);
    TEXTBUF_LIT(&b, " ");
    textbuf_u64(&b, t->seq);
    TEXTBUF_LIT(&b, " ");
    textbuf_u64(&b, t->sent_us);
    textbuf_put(&b, "\r\n", 3);
    return b.overflow ? -1 : (int)b.len - 1;
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
