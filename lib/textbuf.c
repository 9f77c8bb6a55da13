/* textbuf.c - numbers for textbuf.h's appender. */
#include "textbuf.h"

void textbuf_u64(struct textbuf *b, uint64_t v)
{
    static const char pairs[] =         /* "00" to "99": two digits a division */
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char digits[20];            /* 2^64 - 1 has 20 digits */
    size_t n = sizeof(digits);

    while (v >= 100) {
        const char *p = pairs + 2 * (v % 100);

        v /= 100;
        digits[--n] = p[1];
        digits[--n] = p[0];
    }
    if (v >= 10) {
        digits[--n] = pairs[2 * v + 1];
        digits[--n] = pairs[2 * v];
    } else {
        digits[--n] = (char)('0' + v);
    }
    textbuf_put(b, digits + n, sizeof(digits) - n);
}

void textbuf_hex(struct textbuf *b, uint64_t v, int width)
{
    static const char hex[] = "0123456789abcdef";
    char digits[16];
    size_t n = sizeof(digits);

    if (width > 16)
        width = 16;
    do {
        digits[--n] = hex[v & 15];
        v >>= 4;
    } while (v > 0);
    while ((int)(sizeof(digits) - n) < width)
        digits[--n] = '0';
    textbuf_put(b, digits + n, sizeof(digits) - n);
}
