/* auth.c - SASL PLAIN and LOGIN client responses (see auth.h). */
#include "auth.h"

#include <string.h>
#include <strings.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int auth_base64(const char *in, size_t len, char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)in;
    size_t i, o = 0;
    unsigned v;

    if (cap < 4 * ((len + 2) / 3) + 1)
        return -1;
    for (i = 0; i + 2 < len; i += 3) {
        v = (unsigned)u[i] << 16 | (unsigned)u[i + 1] << 8 | u[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    if (i < len) {
        v = (unsigned)u[i] << 16 | (i + 1 < len ? (unsigned)u[i + 1] << 8 : 0);
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return (int)o;
}

int auth_plain(const char *user, const char *pass, char *out, size_t cap)
{
    char msg[2 * AUTH_FIELD_MAX + 2];
    size_t ul = strlen(user), pl = strlen(pass);

    if (ul > AUTH_FIELD_MAX || pl > AUTH_FIELD_MAX)
        return -1;
    msg[0] = '\0';
    memcpy(msg + 1, user, ul);
    msg[1 + ul] = '\0';
    memcpy(msg + 2 + ul, pass, pl);
    return auth_base64(msg, 2 + ul + pl, out, cap);
}

static int auth_offers(const char *params, size_t len, const char *mech)
{
    size_t i = 0, start, mlen = strlen(mech);

    while (i < len) {
        while (i < len && params[i] == ' ')
            i++;
        start = i;
        while (i < len && params[i] != ' ')
            i++;
        if (i - start == mlen && strncasecmp(params + start, mech, mlen) == 0)
            return 1;
    }
    return 0;
}

enum auth_mech auth_pick(const char *params, size_t len)
{
    if (auth_offers(params, len, "PLAIN"))
        return AUTH_PLAIN;
    if (auth_offers(params, len, "LOGIN"))
        return AUTH_LOGIN;
    return AUTH_NONE;
}
