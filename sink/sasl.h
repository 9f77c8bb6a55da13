/* sasl.h - the server side of smtpstorm-sink's AUTH exchange (RFC 4954):
 * PLAIN (RFC 4616) and LOGIN, with or without an initial response, the
 * "*" cancel, and the credentials checked against --auth-users (or any
 * taken). Pure: session.c feeds it the AUTH arguments and each response
 * line and sends the reply it names. */
#ifndef SMTPSTORM_SINK_SASL_H
#define SMTPSTORM_SINK_SASL_H

#include <stddef.h>

#include "users.h"

/* The replies, RFC 4954 sections 4 and 6. */
#define SASL_REPLY_OK        "235 2.7.0 Authentication successful"
#define SASL_REPLY_INVALID   "535 5.7.8 Authentication credentials invalid"
#define SASL_REPLY_CANCELLED "501 5.7.0 Authentication aborted"
#define SASL_REPLY_BASE64    "501 5.5.2 Cannot decode response"
#define SASL_REPLY_SYNTAX    "501 5.5.4 Syntax: AUTH mechanism [initial-response]"
#define SASL_REPLY_MECH      "504 5.5.4 Unrecognized authentication type"
#define SASL_REPLY_TOO_LONG  "500 5.5.6 Authentication Exchange line is too long"

/* What the exchange asks for after a call. */
enum sasl_status {
    SASL_CHALLENGE,     /* reply is a 334 challenge: the next line is a response */
    SASL_SUCCESS,       /* reply is 235: the client is authenticated */
    SASL_FAILURE,       /* reply ends a started exchange without success (535, 501) */
    SASL_REFUSED,       /* reply refuses the AUTH command itself (501 syntax, 504) */
};

/* One exchange; embedded in its session, reused. */
struct sasl {
    const struct users *users;      /* NULL: any credentials are taken */
    int step;                       /* 0 when no exchange is in progress */
    int user_bad;                   /* LOGIN: the user name cannot match */
    size_t user_len;
    char user[USERS_FIELD_MAX];     /* LOGIN: the user name, until the password */
};

/* sasl_init - prepare x to check against users (kept; NULL: take any). */
void sasl_init(struct sasl *x, const struct users *users);

/* sasl_start - the arguments of an AUTH command ("PLAIN", "LOGIN dXNlcg==").
 * *reply is set to the reply line (static storage, no CRLF). */
enum sasl_status sasl_start(struct sasl *x, const char *args, const char **reply);

/* sasl_step - one response line (line[0..len), no CRLF) to the last
 * challenge. *reply as for sasl_start. */
enum sasl_status sasl_step(struct sasl *x, const char *line, size_t len, const char **reply);

/* sasl_reset - forget any exchange in progress (a lost connection, TLS). */
void sasl_reset(struct sasl *x);

/* sasl_active - nonzero while a challenge waits for its response. */
static inline int sasl_active(const struct sasl *x) { return x->step != 0; }

#endif
