/* message.c - build the message smtp-source would send (see message.h). */
#include "message.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildate.h"
#include "textbuf.h"

static const char la_de_da[] =
    "La de da de da 1.\r\nLa de da de da 2.\r\nLa de da de da 3.\r\nLa de da de da 4.\r\n";

int message_payload_generate(size_t length, struct message_payload *p)
{
    size_t i, total;

    memset(p, 0, sizeof(*p));
    if (length > MESSAGE_LENGTH_MAX)
        return -EINVAL;
    total = length == 0 ? sizeof(la_de_da) - 1 : length + 2;
    p->data = malloc(total);
    if (p->data == NULL)
        return -ENOMEM;
    if (length == 0) {
        memcpy(p->data, la_de_da, total);
    } else {
        memset(p->data, 'X', length);
        for (i = MESSAGE_LINE_LEN; i < length; i += MESSAGE_LINE_LEN) {
            p->data[i - MESSAGE_LINE_LEN] = "0123456789"[(i / MESSAGE_LINE_LEN) % 10];
            p->data[i - 2] = '\r';
            p->data[i - 1] = '\n';
        }
        p->data[length] = '\r';
        p->data[length + 1] = '\n';
    }
    p->len = total;
    p->raw = p->data;
    p->raw_len = total;
    return 0;
}

int message_payload_from_text(const char *text, size_t len, struct message_payload *p)
{
    size_t lines = 0, dots = 0, i, start, n, d = 0, r = 0;
    int at_bol = 1;

    if (len == 0)
        return message_payload_generate(0, p);  /* smtp-source sends its default then */
    memset(p, 0, sizeof(*p));
    for (i = 0; i < len; i++) {
        if (at_bol && text[i] == '.')
            dots++;
        at_bol = text[i] == '\n';
        lines += at_bol;
    }
    if (len > 0 && text[len - 1] != '\n')
        lines++;                /* a last line without LF still counts */
    p->raw_len = len - (lines - (len > 0 && text[len - 1] != '\n')) + 2 * lines + 2;
    p->len = p->raw_len + dots;
    p->data = malloc(p->len + p->raw_len);
    if (p->data == NULL)
        return -ENOMEM;
    p->raw = p->data + p->len;
    for (start = 0; start < len; start = i + 1) {
        for (i = start; i < len && text[i] != '\n'; i++)
            ;
        n = i - start;
        if (n > 0 && text[start] == '.')
            p->data[d++] = '.';
        memcpy(p->data + d, text + start, n);
        memcpy(p->raw + r, text + start, n);
        d += n;
        r += n;
        memcpy(p->data + d, "\r\n", 2);
        memcpy(p->raw + r, "\r\n", 2);
        d += 2;
        r += 2;
    }
    memcpy(p->data + d, "\r\n", 2);
    memcpy(p->raw + r, "\r\n", 2);
    return 0;
}

int message_payload_load(const char *path, struct message_payload *p, char *err, size_t errlen)
{
    struct stat st;
    char *text = NULL;
    size_t got = 0;
    ssize_t n;
    int fd, rc;

    memset(p, 0, sizeof(*p));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto fail_errno;
    if (fstat(fd, &st) != 0)
        goto fail_fd;
    if (st.st_size < 0 || (uintmax_t)st.st_size > MESSAGE_FILE_MAX) {
        errno = EFBIG;
        goto fail_fd;
    }
    text = malloc((size_t)st.st_size + 1);
    if (text == NULL)
        goto fail_fd;
    while (got < (size_t)st.st_size && (n = read(fd, text + got, (size_t)st.st_size - got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail_text;
        got += (size_t)n;
    }
    close(fd);
    rc = message_payload_from_text(text, got, p);
    free(text);
    if (rc != 0)
        snprintf(err, errlen, "read %s: %s", path, strerror(-rc));
    return rc;

fail_text:
    rc = errno;
    free(text);
    errno = rc;
fail_fd:
    rc = errno;
    close(fd);
    errno = rc;
fail_errno:
    rc = errno;
    snprintf(err, errlen, "open %s: %s", path, strerror(rc));
    return -rc;
}

void message_payload_free(struct message_payload *p)
{
    free(p->data);
    memset(p, 0, sizeof(*p));
}

/* rcpt_put - the address of message_rcpt_format, appended to b. */
static void rcpt_put(struct textbuf *b, const char *recipient, int remaining, uint64_t number)
{
    TEXTBUF_LIT(b, "<");
    if (number > 0)
        textbuf_u64(b, number);
    else if (remaining > 1)
        textbuf_u64(b, (uint64_t)remaining);
    textbuf_str(b, recipient);
    TEXTBUF_LIT(b, ">");
}

int message_rcpt_format(char *out, size_t cap, const char *recipient, int remaining,
                        uint64_t number)
{
    struct textbuf b;

    textbuf_init(&b, out, cap);
    rcpt_put(&b, recipient, remaining, number);
    textbuf_put(&b, "", 1);             /* the NUL */
    return b.overflow ? -1 : (int)b.len - 1;
}

int message_rcpt_append(struct textbuf *b, const char *recipient, int remaining, uint64_t number)
{
    size_t start = b->len;

    rcpt_put(b, recipient, remaining, number);
    return !b->overflow && b->len - start >= MESSAGE_ADDR_MAX ? -1 : 0;
}

/* Formatted per message: textbuf, not snprintf (its cost showed in the
 * agent's user time per message). */
int message_headers_format(char *out, size_t cap, const struct message_header_vars *v)
{
    struct textbuf b;

    textbuf_init(&b, out, cap);
    TEXTBUF_LIT(&b, "From: <");
    textbuf_str(&b, v->sender);
    TEXTBUF_LIT(&b, ">\r\nTo: <");
    textbuf_str(&b, v->recipient);
    TEXTBUF_LIT(&b, ">\r\nDate: ");
    textbuf_str(&b, v->date);
    TEXTBUF_LIT(&b, "\r\nMessage-Id: <");
    textbuf_hex(&b, v->pid, 4);
    TEXTBUF_LIT(&b, ".");
    textbuf_hex(&b, v->fd, 4);
    TEXTBUF_LIT(&b, ".");
    textbuf_hex(&b, v->count, 4);
    TEXTBUF_LIT(&b, "@");
    textbuf_str(&b, v->myhostname);
    TEXTBUF_LIT(&b, ">\r\n");
    if (v->subject) {
        TEXTBUF_LIT(&b, "Subject: ");
        textbuf_str(&b, v->subject);
        TEXTBUF_LIT(&b, "\r\n");
    }
    textbuf_put(&b, "\r\n", 3);          /* the NUL too, as snprintf wrote it */
    return b.overflow ? -1 : (int)b.len - 1;
}

int message_headers_fixed_init(struct message_headers_fixed *f, const char *recipient,
                               const char *myhostname, const char *subject)
{
    struct textbuf to, tail;

    f->to_len = f->tail_len = 0;
    textbuf_init(&to, f->to, sizeof(f->to));
    TEXTBUF_LIT(&to, ">\r\nTo: <");
    textbuf_str(&to, recipient);
    TEXTBUF_LIT(&to, ">\r\nDate: ");
    textbuf_init(&tail, f->tail, sizeof(f->tail));
    TEXTBUF_LIT(&tail, "@");
    textbuf_str(&tail, myhostname);
    TEXTBUF_LIT(&tail, ">\r\n");
    if (subject) {
        TEXTBUF_LIT(&tail, "Subject: ");
        textbuf_str(&tail, subject);
        TEXTBUF_LIT(&tail, "\r\n");
    }
    TEXTBUF_LIT(&tail, "\r\n");
    if (to.overflow || tail.overflow)
        return -1;
    f->to_len = to.len;
    f->tail_len = tail.len;
    return 0;
}

size_t message_id_prefix(char *out, unsigned pid, unsigned fd)
{
    struct textbuf b;

    textbuf_init(&b, out, MESSAGE_ID_PREFIX_MAX);
    textbuf_hex(&b, pid, 4);
    TEXTBUF_LIT(&b, ".");
    textbuf_hex(&b, fd, 4);
    textbuf_put(&b, ".", 2);            /* the NUL too */
    return b.len - 1;
}

/* head_put - "From: <sender", f's "to", date, "\r\nMessage-Id: <". */
static void head_put(struct textbuf *b, const struct message_headers_fixed *f, const char *sender,
                     const char *date)
{
    TEXTBUF_LIT(b, "From: <");
    textbuf_str(b, sender);
    textbuf_put(b, f->to, f->to_len);
    textbuf_str(b, date);
    TEXTBUF_LIT(b, "\r\nMessage-Id: <");
}

/* id_tail_put - the Message-Id's numbers, f's tail and a NUL; returns
 * the length written into b in all, or -1 if it did not fit. */
static int id_tail_put(struct textbuf *b, const struct message_headers_fixed *f, const char *id_prefix,
                       size_t id_len, unsigned count)
{
    textbuf_put(b, id_prefix, id_len);
    textbuf_hex(b, count, 4);
    textbuf_put(b, f->tail, f->tail_len);
    textbuf_put(b, "", 1);              /* the NUL, as message_headers_format */
    return b->overflow ? -1 : (int)b->len - 1;
}

/* The same octets as message_headers_format: a test holds them equal. */
int message_headers_format_fixed(char *out, size_t cap, const struct message_headers_fixed *f,
                                 const char *sender, const char *date, const char *id_prefix,
                                 size_t id_len, unsigned count)
{
    struct textbuf b;

    textbuf_init(&b, out, cap);
    head_put(&b, f, sender, date);
    return id_tail_put(&b, f, id_prefix, id_len, count);
}

int message_head_format(char *out, size_t cap, const struct message_headers_fixed *f, const char *sender,
                        const char *date)
{
    struct textbuf b;

    textbuf_init(&b, out, cap);
    head_put(&b, f, sender, date);
    return b.overflow ? -1 : (int)b.len;
}

int message_headers_format_head(char *out, size_t cap, const struct message_headers_fixed *f,
                                const char *head, size_t head_len, const char *id_prefix,
                                size_t id_len, unsigned count)
{
    struct textbuf b;

    textbuf_init(&b, out, cap);
    textbuf_put(&b, head, head_len);
    return id_tail_put(&b, f, id_prefix, id_len, count);
}

size_t message_headers_max(const struct message_header_vars *v)
{
    return 96 + strlen(v->sender) + strlen(v->recipient) + MAIL_DATE_MAX
        + strlen(v->myhostname) + (v->subject ? strlen(v->subject) : 0) + 3 * 10;
}
