/* textbuf.c - numbers for textbuf.h's appender. */
#include "textbuf.h"

void textbuf_u64(struct textbuf *b, uint64_t v)
{
    char digits[20];            /* 2^64 - 1 has 20 digits */
    size_t n = sizeof(digits);

    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
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
