/* reply.c - incremental SMTP reply parser (see reply.h). A reply line is
 * three digits, then ' ', '-' or the line end, then text, then LF (a CR
 * before it is dropped). A '-' line continues the reply (RFC 5321 4.2.1). */
#include "reply.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

enum { AT_CODE0, AT_CODE1, AT_CODE2, AT_SEP, AT_TEXT };

void reply_init(struct reply *r, char *text)
{
    r->text = text;
    reply_reset(r);
}

void reply_reset(struct reply *r)
{
    r->code = 0;
    r->lines = 0;
    r->text_len = 0;
    if (r->text)
        r->text[0] = '\0';
    r->line_len = 0;
    r->line_code = 0;
    r->line_more = 0;
    r->line_state = AT_CODE0;
    r->line_text_start = 0;
}

static void reply_text_add(struct reply *r, char c)
{
    unsigned char u = (unsigned char)c;

    if (r->text_len + 1 >= REPLY_TEXT_MAX)
        return;
    if (c != '\n' && (u < 0x20 || u >= 0x7f) && c != '\t')
        c = '?';
    r->text[r->text_len++] = c;
    r->text[r->text_len] = '\0';
}

/* reply_end_line - a line ended: returns 1 when the reply is complete. */
static int reply_end_line(struct reply *r)
{
    int more = r->line_more;

    r->lines++;
    r->code = more ? 0 : r->line_code;
    r->line_len = 0;
    r->line_code = 0;
    r->line_more = 0;
    r->line_state = AT_CODE0;
    if (!more)
        return 1;
    reply_text_add(r, '\n');
    r->line_text_start = r->text_len;
    return 0;
}

static int reply_byte(struct reply *r, char c)
{
    if (c == '\n') {
        if (r->line_state < AT_SEP)
            return -EPROTO;
        return reply_end_line(r);
    }
    if (++r->line_len > REPLY_LINE_MAX)
        return -EPROTO;
    switch (r->line_state) {
    case AT_CODE0:
        if (r->lines >= REPLY_LINES_MAX)
            return -EPROTO;
        /* fall through */
    case AT_CODE1:
    case AT_CODE2:
        if (c < '0' || c > '9')
            return -EPROTO;
        r->line_code = r->line_code * 10 + (c - '0');
        r->line_state++;
        return 0;
    case AT_SEP:
        r->line_state = AT_TEXT;
        if (c == '-') {
            r->line_more = 1;
            return 0;
        }
        if (c == ' ' || c == '\r')
            return 0;
        return -EPROTO;
    default:
        if (c == '\r')
            return 0;           /* only a CR before LF is legal; dropping others is harmless */
        reply_text_add(r, c);
        return 0;
    }
}

/* reply_text_slow - reply_text_run's octets one by one: a CR dropped, an
 * octet that is not printable ASCII (or a tab) kept as '?'. */
static void reply_text_slow(struct reply *r, const char *p, size_t n)
{
    size_t room = REPLY_TEXT_MAX - 1 - r->text_len;
    char *out = r->text + r->text_len;

    for (size_t i = 0; i < n && room > 0; i++) {
        unsigned char u = (unsigned char)p[i];

        if (u == '\r')
            continue;           /* only a CR before LF is legal; dropping others is harmless */
        *out++ = (u < 0x20 && u != '\t') || u >= 0x7f ? '?' : (char)u;
        room--;
    }
    r->text_len = (size_t)(out - r->text);
    r->text[r->text_len] = '\0';
}

/* reply_plain - nonzero when every one of the n octets at p is printable
 * ASCII (0x20 to 0x7e), eight at a time: an octet under 0x20 sets its top
 * bit in w - 0x20..20, one of 0x7f in w + 01..01, one over it in w (a
 * borrow or carry between octets comes only from an octet already out of
 * range). A tab counts as not plain: the slow path keeps it. */
static int reply_plain(const char *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;
    uint64_t w, out = 0;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, sizeof(w));
        out |= ((w - 0x20 * ones) | (w + ones) | w) & tops;
    }
    for (; i < n; i++)
        out |= (unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f;
    return out == 0;
}

/* reply_text_run - the octets of a line's text up to (not including) its
 * LF, n of them, at once: the common case, a reply's text, costs one pass
 * instead of a call per octet, and printable text (all of it, but for the
 * CR before the LF) one check and one copy. Returns how many it took;
 * fewer than n when the line grew too long (the octet after them is then
 * refused). */
static size_t reply_text_run(struct reply *r, const char *p, size_t n)
{
    size_t take = n, body, copy, room = REPLY_TEXT_MAX - 1 - r->text_len;

    if (take > REPLY_LINE_MAX - r->line_len)
        take = REPLY_LINE_MAX - r->line_len;
    r->line_len += take;
    body = take > 0 && p[take - 1] == '\r' ? take - 1 : take;     /* the CR before LF: dropped */
    copy = body < room ? body : room;
    if (!reply_plain(p, copy)) {
        reply_text_slow(r, p, body);
        return take;
    }
    memcpy(r->text + r->text_len, p, copy);
    r->text_len += copy;
    r->text[r->text_len] = '\0';
    return take;
}

/* reply_code - the three digits at p as a number, or -1 when one of them
 * is not a digit. */
static int reply_code(const char *p)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9')
        return -1;
    return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* reply_line_start - a line's code and separator in one step when all four
 * octets are at hand (the common case); 0 when they are not, or not
 * simple, and the octets go one by one. */
static int reply_line_start(struct reply *r, const char *p, size_t n)
{
    int code;

    if (n < 4 || r->line_state != AT_CODE0 || r->lines >= REPLY_LINES_MAX
        || (p[3] != ' ' && p[3] != '-') || (code = reply_code(p)) < 0)
        return 0;
    r->line_code = code;
    r->line_more = p[3] == '-';
    r->line_state = AT_TEXT;
    r->line_len += 4;
    return 1;
}

/* reply_whole_line - the commonest reply in one step: nothing begun, and
 * buf starts with a whole one-line reply ("250 2.0.0 Ok" CRLF) of
 * printable text. Returns the octets it took, the LF included, or 0 when
 * the reply is not that simple and goes the general way (which gives the
 * same result for the lines this takes). */
static size_t reply_whole_line(struct reply *r, const char *buf, size_t len)
{
    const char *lf;
    size_t line, body;
    int code;

    if (reply_begun(r) || len < 5 || buf[3] != ' ' || (code = reply_code(buf)) < 0
        || (lf = memchr(buf + 4, '\n', len - 4)) == NULL)
        return 0;
    line = (size_t)(lf - buf);          /* its octets before the LF */
    body = line - 4 - (buf[line - 1] == '\r' && line > 4);
    if (body > REPLY_TEXT_MAX - 1 || !reply_plain(buf + 4, body))
        return 0;                       /* truncated (never over REPLY_LINE_MAX), or censored */
    memcpy(r->text, buf + 4, body);
    r->text[body] = '\0';
    r->text_len = body;
    r->code = code;
    r->lines = 1;
    return line + 1;
}

int reply_feed(struct reply *r, const char *buf, size_t len, size_t *used)
{
    const char *lf;
    size_t i, run;
    int rc;

    if ((*used = reply_whole_line(r, buf, len)) > 0)
        return 1;
    for (i = 0; i < len; i++) {
        if (reply_line_start(r, buf + i, len - i)) {
            i += 3;             /* and the loop's one: past the separator */
            continue;
        }
        if (r->line_state == AT_TEXT && buf[i] != '\n') {
            lf = memchr(buf + i, '\n', len - i);
            run = (lf ? (size_t)(lf - buf) : len) - i;
            i += reply_text_run(r, buf + i, run);
            if (i == len)
                break;
            if (buf[i] != '\n') {  /* the line grew too long */
                *used = i + 1;
                return -EPROTO;
            }
        }
        rc = reply_byte(r, buf[i]);
        if (rc != 0) {
            *used = i + 1;
            return rc;
        }
    }
    *used = len;
    return 0;
}

int reply_has_keyword(const struct reply *r, const char *keyword, const char **params,
                      size_t *params_len)
{
    const char *line = strchr(r->text, '\n'), *end, *p;
    size_t klen = strlen(keyword);

    while (line != NULL) {
        line++;
        end = strchr(line, '\n');
        if (end == NULL)
            end = line + strlen(line);
        if ((size_t)(end - line) >= klen && strncasecmp(line, keyword, klen) == 0
            && (line + klen == end || line[klen] == ' ')) {
            if (params) {
                p = line + klen;
                while (p < end && *p == ' ')
                    p++;
                *params = p;
                *params_len = (size_t)(end - p);
            }
            return 1;
        }
        line = *end ? end : NULL;
    }
    return 0;
}
