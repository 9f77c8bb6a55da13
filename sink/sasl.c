/* sasl.c - PLAIN and LOGIN for smtpstorm-sink's AUTH (see sasl.h): each
 * response is base64-decoded into a bounded buffer, PLAIN's message split
 * at its two NULs (RFC 4616 section 2), LOGIN's user name kept until its
 * password comes. */
#include "sasl.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "base64.h"

/* RFC 4616 section 2: authzid NUL authcid NUL passwd. */
#define SASL_PLAIN_MAX (3 * USERS_FIELD_MAX + 2)

enum { STEP_IDLE, STEP_PLAIN, STEP_LOGIN_USER, STEP_LOGIN_PASS };

#define CHALLENGE_PLAIN "334 "              /* an empty challenge, RFC 4954 section 4 */
#define CHALLENGE_USER  "334 VXNlcm5hbWU6"  /* "Username:" */
#define CHALLENGE_PASS  "334 UGFzc3dvcmQ6"  /* "Password:" */

void sasl_init(struct sasl *x, const struct users *users)
{
    memset(x, 0, sizeof(*x));
    x->users = users;
}

void sasl_reset(struct sasl *x)
{
    x->step = STEP_IDLE;
    x->user_bad = 0;
    x->user_len = 0;
}

static enum sasl_status done(struct sasl *x, enum sasl_status st, const char *text, const char **reply)
{
    sasl_reset(x);
    *reply = text;
    return st;
}

/* credentials - the verdict on user/password (authzid empty or the user). */
static enum sasl_status credentials(struct sasl *x, const char *authz, size_t alen, const char *user,
                                    size_t ulen, const char *pass, size_t plen, const char **reply)
{
    int ok = ulen > 0 && plen > 0 && ulen <= USERS_FIELD_MAX && plen <= USERS_FIELD_MAX;

    if (ok && x->users)
        ok = (alen == 0 || (alen == ulen && memcmp(authz, user, ulen) == 0))
             && users_check(x->users, user, ulen, pass, plen);
    return done(x, ok ? SASL_SUCCESS : SASL_FAILURE, ok ? SASL_REPLY_OK : SASL_REPLY_INVALID, reply);
}

/* plain - one PLAIN message. */
static enum sasl_status plain(struct sasl *x, const unsigned char *m, size_t len, const char **reply)
{
    const unsigned char *nul1 = memchr(m, '\0', len), *nul2;

    if (nul1 == NULL || (nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - m))) == NULL
        || memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - m)) != NULL)
        return done(x, SASL_FAILURE, SASL_REPLY_INVALID, reply);
    return credentials(x, (const char *)m, (size_t)(nul1 - m), (const char *)nul1 + 1,
                       (size_t)(nul2 - nul1 - 1), (const char *)nul2 + 1,
                       len - (size_t)(nul2 + 1 - m), reply);
}

/* response - decode what the client sent and take the exchange's next step. */
static enum sasl_status response(struct sasl *x, const char *line, size_t len, const char **reply)
{
    unsigned char buf[SASL_PLAIN_MAX];
    int n;

    if (len == 1 && line[0] == '*')
        return done(x, SASL_FAILURE, SASL_REPLY_CANCELLED, reply);
    if (len == 1 && line[0] == '=')
        n = 0;          /* an empty initial response, RFC 4954 section 4 */
    else if ((n = base64_decode(line, len, buf, sizeof(buf))) == -EINVAL)
        return done(x, SASL_FAILURE, SASL_REPLY_BASE64, reply);
    switch (x->step) {
    case STEP_PLAIN:
        if (n < 0)
            return done(x, SASL_FAILURE, SASL_REPLY_INVALID, reply);
        return plain(x, buf, (size_t)n, reply);
    case STEP_LOGIN_USER:
        x->user_bad = n <= 0 || (size_t)n > sizeof(x->user);
        x->user_len = x->user_bad ? 0 : (size_t)n;
        memcpy(x->user, buf, x->user_len);
        x->step = STEP_LOGIN_PASS;
        *reply = CHALLENGE_PASS;
        return SASL_CHALLENGE;
    default:            /* STEP_LOGIN_PASS */
        if (n < 0 || x->user_bad)
            return done(x, SASL_FAILURE, SASL_REPLY_INVALID, reply);
        return credentials(x, "", 0, x->user, x->user_len, (const char *)buf, (size_t)n, reply);
    }
}

enum sasl_status sasl_start(struct sasl *x, const char *args, const char **reply)
{
    const char *mech, *initial;
    size_t mlen;

    sasl_reset(x);
    mech = args + strspn(args, " ");
    mlen = strcspn(mech, " ");
    initial = mech + mlen + strspn(mech + mlen, " ");
    if (mlen == 0 || initial[strcspn(initial, " ")] != '\0')
        return done(x, SASL_REFUSED, SASL_REPLY_SYNTAX, reply);
    if (mlen == 5 && strncasecmp(mech, "PLAIN", 5) == 0) {
        x->step = STEP_PLAIN;
        *reply = CHALLENGE_PLAIN;
    } else if (mlen == 5 && strncasecmp(mech, "LOGIN", 5) == 0) {
        x->step = STEP_LOGIN_USER;
        *reply = CHALLENGE_USER;
    } else {
        return done(x, SASL_REFUSED, SASL_REPLY_MECH, reply);
    }
    if (*initial == '\0')
        return SASL_CHALLENGE;
    return response(x, initial, strlen(initial), reply);
}

enum sasl_status sasl_step(struct sasl *x, const char *line, size_t len, const char **reply)
{
    assert(x->step != STEP_IDLE);       /* the caller asks only while sasl_active */
    return response(x, line, len, reply);
}
