/* base64.c - strict RFC 4648 base64 decoding for the sink's SASL
 * responses (see base64.h): one table lookup an octet, every length
 * checked before a byte is written. */
#include "base64.h"

#include <errno.h>
#include <limits.h>

/* value - the 6 bits of alphabet character c, or -1 (RFC 4648 table 1). */
static int value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int base64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)in;
    size_t i, o = 0, pad = 0;
    unsigned v;
    int k, b;

    if (len % 4 != 0 || len / 4 > (size_t)INT_MAX / 3)
        return -EINVAL;
    if (len > 0 && u[len - 1] == '=')
        pad = len > 1 && u[len - 2] == '=' ? 2 : 1;
    if (len / 4 * 3 - pad > cap)
        return -ENOSPC;
    for (i = 0; i < len; i += 4) {
        v = 0;
        for (k = 0; k < 4; k++) {
            if (i + (size_t)k >= len - pad) {
                b = 0;                  /* a padding place */
            } else if ((b = value(u[i + (size_t)k])) < 0) {
                return -EINVAL;         /* '=' inside, or not the alphabet */
            }
            v = v << 6 | (unsigned)b;
        }
        out[o++] = (unsigned char)(v >> 16);
        if (i + 2 < len - pad)
            out[o++] = (unsigned char)(v >> 8);
        if (i + 3 < len - pad)
            out[o++] = (unsigned char)v;
    }
    return (int)o;
}
