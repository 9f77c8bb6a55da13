/* textbuf.h - append text to a caller's fixed buffer without printf: the
 * hot paths that format a line per message (the agent's commands and
 * headers) copy strings and print numbers with these. An append that does
 * not fit sets a sticky overflow flag and writes nothing more; the caller
 * checks once, at the end. Never NUL-terminates: the length says. */
#ifndef SMTPSTORM_TEXTBUF_H
#define SMTPSTORM_TEXTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct textbuf {
    char *p;                    /* the caller's buffer */
    size_t len, cap;
    int overflow;               /* an append did not fit: len is no longer meaningful */
};

/* textbuf_init - append into buf (cap octets, owned by the caller). */
static inline void textbuf_init(struct textbuf *b, char *buf, size_t cap)
{
    b->p = buf;
    b->len = 0;
    b->cap = cap;
    b->overflow = 0;
}

/* textbuf_reserve - room for n more octets, appended to the text (the
 * caller fills it), or NULL with the overflow flag set when they do not
 * fit. Points into the caller's buffer. */
static inline char *textbuf_reserve(struct textbuf *b, size_t n)
{
    char *at;

    if (b->overflow || n > b->cap - b->len) {
        b->overflow = 1;
        return NULL;
    }
    at = b->p + b->len;
    b->len += n;
    return at;
}

/* textbuf_put - append n octets of s. */
static inline void textbuf_put(struct textbuf *b, const char *s, size_t n)
{
    char *at = textbuf_reserve(b, n);

    if (at != NULL)
        memcpy(at, s, n);
}

/* textbuf_str - append the NUL-terminated string s. */
static inline void textbuf_str(struct textbuf *b, const char *s) { textbuf_put(b, s, strlen(s)); }

/* TEXTBUF_LIT - append the string literal lit (its length known at compile time). */
#define TEXTBUF_LIT(b, lit) textbuf_put((b), "" lit, sizeof(lit) - 1)

/* textbuf_u64_width - append v in decimal, zero-padded to at least width
 * digits (printf's %0*llu; width at most 20). */
void textbuf_u64_width(struct textbuf *b, uint64_t v, unsigned width);

/* textbuf_u64 - append v in decimal (printf's %llu). */
static inline void textbuf_u64(struct textbuf *b, uint64_t v) { textbuf_u64_width(b, v, 1); }

/* textbuf_hex - append v in lower-case hexadecimal, zero-padded to at
 * least width digits (printf's %0*x; width at most 16). */
void textbuf_hex(struct textbuf *b, uint64_t v, int width);

#endif
