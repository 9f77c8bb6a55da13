/* reply.h - the SMTP/LMTP reply parser of smtpstorm-agent: bytes from the
 * server in, one complete (possibly multi-line) reply out, whatever the
 * split of the input. Used by agent/session.c; pure, no I/O. */
#ifndef SMTPSTORM_AGENT_REPLY_H
#define SMTPSTORM_AGENT_REPLY_H

#include <stddef.h>

#define REPLY_TEXT_MAX  2048    /* reply text kept (EHLO lists fit); longer is truncated */
#define REPLY_LINE_MAX  10240   /* longest reply line accepted: smtp-source's line limit */
#define REPLY_LINES_MAX 200     /* most lines one reply may have; more is a protocol error */

/* One reply being assembled. Lines are joined with '\n' in text, the code
 * and separator stripped and non-printable octets replaced with '?', as
 * smtp-source does. The text goes into the owner's buffer (reply_init),
 * which the owner may lend elsewhere while no reply is begun
 * (reply_begun). */
struct reply {
    int code;                   /* 3-digit code of the last line; 0 while incomplete */
    int lines;                  /* lines seen so far */
    size_t text_len;
    char *text;                 /* REPLY_TEXT_MAX octets, NUL-terminated; the owner's */
    /* parser state */
    size_t line_len;            /* octets of the current line seen */
    int line_code;              /* code digits of the current line */
    int line_more;              /* current line had '-' after the code */
    int line_state;             /* position within the line (see reply.c) */
    size_t line_text_start;     /* text_len when the current line's text began */
};

/* reply_init - r assembles replies into text (REPLY_TEXT_MAX octets, the
 * caller's, kept by pointer; NULL: set r->text before the next reply_feed). */
void reply_init(struct reply *r, char *text);

/* reply_reset - forget everything and wait for a new reply. */
void reply_reset(struct reply *r);

/* reply_begun - nonzero once part of a reply has been fed and until
 * reply_reset: its text buffer is in use. */
static inline int reply_begun(const struct reply *r) { return r->lines > 0 || r->line_len > 0; }

/* reply_feed - consume bytes of buf until one reply is complete or buf ends.
 * *used is set to the octets consumed. Returns 1 when a whole reply is in r
 * (call reply_reset before feeding the next), 0 when more input is needed,
 * -EPROTO when the input is not an SMTP reply (no 3-digit code, bad
 * separator, too long a line, too many lines). */
int reply_feed(struct reply *r, const char *buf, size_t len, size_t *used);

/* reply_has_keyword - nonzero when a complete EHLO reply lists the
 * extension keyword (case-insensitive; the greeting line is skipped). When
 * params is not NULL it receives a pointer into r->text to the keyword's
 * parameters (up to end of line, not NUL-terminated) and *params_len their
 * length. */
int reply_has_keyword(const struct reply *r, const char *keyword, const char **params,
                      size_t *params_len);

#endif
