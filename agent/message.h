/* message.h - the message smtpstorm-agent sends, shaped as smtp-source
 * shapes it: the -l payload of numbered 80-octet lines, the "La de da"
 * default, -F files dot-stuffed with CRLF added, the From/To/Date/
 * Message-Id/Subject headers and the numbered recipient names of -r and
 * -N. Built once per run and shared read-only by every session. */
#ifndef SMTPSTORM_AGENT_MESSAGE_H
#define SMTPSTORM_AGENT_MESSAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "maildate.h"
#include "textbuf.h"

#define MESSAGE_LINE_LEN     80         /* smtp-source's -l line length, CRLF included */
#define MESSAGE_LENGTH_MAX   (1u << 30) /* largest -l we accept: 1 GiB */
#define MESSAGE_FILE_MAX     (256u << 20) /* largest -F file we load */
#define MESSAGE_ADDR_MAX     512        /* RFC 5321 4.5.3.1.3 path limit is 256; be generous */

/* The message body after the headers. data is what DATA sends before the
 * final ".": dot-stuffed and ending in CRLF; raw is the same content not
 * dot-stuffed, what BDAT sends (it may point at data). */
struct message_payload {
    char *data;
    size_t len;
    char *raw;
    size_t raw_len;
};

/* message_payload_generate - the body smtp-source sends for -l length:
 * length octets of 'X' cut into 80-octet lines, each starting with a digit
 * and ending in CRLF, plus CRLF; length 0 gives the four "La de da" lines.
 * The caller owns p (message_payload_free). Returns 0 or -ENOMEM/-EINVAL. */
int message_payload_generate(size_t length, struct message_payload *p);

/* message_payload_from_text - the body smtp-source sends for a -F file
 * with this content: every line (split at LF, which is removed) gets CRLF,
 * lines starting with '.' get another '.', and one more CRLF ends it; an
 * empty file gives the default body, as in smtp-source. The caller owns p. Returns 0 or -ENOMEM. */
int message_payload_from_text(const char *text, size_t len, struct message_payload *p);

/* message_payload_load - message_payload_from_text on the file at path.
 * Returns 0, or -errno with a message in err. */
int message_payload_load(const char *path, struct message_payload *p, char *err, size_t errlen);

/* message_payload_free - release p's buffers; p may be empty. */
void message_payload_free(struct message_payload *p);

/* message_rcpt_format - the RCPT TO address, brackets included, into out:
 * "<N" recipient ">" with N = number when number > 0 (-N), else N =
 * remaining when remaining > 1 (-r counts down to 1), else plain. Returns
 * the length, or -1 if out is too small. */
int message_rcpt_format(char *out, size_t cap, const char *recipient, int remaining,
                        uint64_t number);

/* message_rcpt_append - message_rcpt_format's address appended to b (no
 * NUL), as a command line is built. Returns 0, or -1 when it is longer
 * than message_rcpt_format writes into MESSAGE_ADDR_MAX octets (b's
 * overflow flag says when b itself was too small). */
int message_rcpt_append(struct textbuf *b, const char *recipient, int remaining, uint64_t number);

/* What the headers of one message say. */
struct message_header_vars {
    const char *sender;
    const char *recipient;
    const char *date;           /* from mail_date_format */
    const char *myhostname;
    const char *subject;        /* NULL: no Subject: line */
    unsigned pid, fd, count;    /* the three Message-Id numbers of smtp-source */
};

/* message_headers_format - From:, To:, Date:, Message-Id:, optional
 * Subject: and the empty line, CRLF-terminated, into out. Returns the
 * length, or -1 if out is too small. */
int message_headers_format(char *out, size_t cap, const struct message_header_vars *v);

/* message_headers_max - an upper bound of message_headers_format's length. */
size_t message_headers_max(const struct message_header_vars *v);

#define MESSAGE_FIXED_TAIL_MAX 640     /* "@" host ">", the Subject: line, the empty line */
#define MESSAGE_ID_PREFIX_MAX  24      /* two 32-bit numbers in hex and two dots, NUL */

/* What the headers of every message of a workload repeat, formatted once:
 * all but the sender, the Date: value and the Message-Id's numbers.
 * message_headers_format_fixed writes the same octets as
 * message_headers_format, without copying the repeated names one by one. */
struct message_headers_fixed {
    size_t to_len;              /* 0: not formatted (a name too long for it) */
    size_t tail_len;
    char to[MESSAGE_ADDR_MAX + 32];         /* ">\r\nTo: <recipient>\r\nDate: " */
    char tail[MESSAGE_FIXED_TAIL_MAX];      /* "@myhostname>\r\n", Subject, "\r\n" */
};

/* message_headers_fixed_init - f for recipient, myhostname and subject
 * (NULL: none), as message_headers_format would write them. Returns 0, or
 * -1 (and f->to_len 0) when they do not fit f. */
int message_headers_fixed_init(struct message_headers_fixed *f, const char *recipient,
                               const char *myhostname, const char *subject);

/* message_id_prefix - the Message-Id's first two numbers (smtp-source's
 * pid and socket) as message_headers_format writes them, each followed
 * by a dot, into out (MESSAGE_ID_PREFIX_MAX octets, NUL-terminated).
 * Returns the length. */
size_t message_id_prefix(char *out, unsigned pid, unsigned fd);

/* message_headers_format_fixed - message_headers_format's octets (the
 * NUL too) for a message of sender, dated date, whose Message-Id starts
 * with id_prefix (id_len octets, from message_id_prefix) and ends with
 * count, from f (prepared). Returns the length, or -1 if out is too
 * small. */
int message_headers_format_fixed(char *out, size_t cap, const struct message_headers_fixed *f,
                                 const char *sender, const char *date, const char *id_prefix,
                                 size_t id_len, unsigned count);

/* The most message_head_format writes: "From: <", the sender, f's "to",
 * the date and "\r\nMessage-Id: <". */
#define MESSAGE_HEAD_MAX (7 + MESSAGE_ADDR_MAX + MESSAGE_ADDR_MAX + 32 + MAIL_DATE_MAX + 16)

/* message_head_format - what every message of sender dated date repeats
 * of message_headers_format_fixed's octets: all before the Message-Id's
 * numbers, into out (cap octets; MESSAGE_HEAD_MAX always do), for
 * message_headers_format_head. Returns the length, or -1 if out is too
 * small. */
int message_head_format(char *out, size_t cap, const struct message_headers_fixed *f, const char *sender,
                        const char *date);

/* message_headers_format_head - message_headers_format_fixed's octets,
 * from head (head_len octets of message_head_format's for the message's
 * sender and date) instead of the sender and date. */
int message_headers_format_head(char *out, size_t cap, const struct message_headers_fixed *f,
                                const char *head, size_t head_len, const char *id_prefix,
                                size_t id_len, unsigned count);

#endif
