/* textbuf.c - numbers for textbuf.h's appender. Each is written in place,
 * its length known first, by one short loop: the agent formats a few per
 * message right after the kernel's work on a socket, when its code is out
 * of the instruction cache, so a compact loop beats one the compiler
 * peels into a kilobyte (as -O3 did, for every possible length). */
#include "textbuf.h"

void textbuf_u64_width(struct textbuf *b, uint64_t v, unsigned width)
{
    static const char pairs[] =         /* "00" to "99": two digits a division */
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    static const uint64_t pow10[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL,
        1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
        100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
        1000000000000000000ULL, 10000000000000000000ULL,
    };
    /* Its digits: log10(2^bits) is about bits * 1233 / 4096 (at most 19
     * for 2^64 - 1, which has 20 digits); one comparison corrects it. */
    unsigned t = (unsigned)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;
    size_t n = t + 1 - ((v | 1) < pow10[t]);
    char *at;

    if (n < width)
        n = width > 20 ? 20 : width;
    if ((at = textbuf_reserve(b, n)) == NULL)
        return;
#pragma GCC unroll 1
    for (; n >= 2; n -= 2, v /= 100) {
        at[n - 1] = pairs[2 * (v % 100) + 1];
        at[n - 2] = pairs[2 * (v % 100)];
    }
    if (n == 1)
        at[0] = (char)('0' + v);
}

void textbuf_hex(struct textbuf *b, uint64_t v, int width)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = ((size_t)(64 - __builtin_clzll(v | 1)) + 3) / 4;     /* significant nibbles, at least 1 */
    char *at;

    if (width > 16)
        width = 16;
    if (n < (size_t)(width > 0 ? width : 0))
        n = (size_t)width;
    if ((at = textbuf_reserve(b, n)) == NULL)
        return;
#pragma GCC unroll 1
    while (n-- > 0) {
        at[n] = hex[v & 15];
        v >>= 4;
    }
}
