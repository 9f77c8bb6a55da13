/* auth.h - SASL client responses for --auth USER:PASS (RFC 4954): PLAIN
 * (RFC 4616) and LOGIN, base64-encoded ready to send. Pure. */
#ifndef SMTPSTORM_AGENT_AUTH_H
#define SMTPSTORM_AGENT_AUTH_H

#include <stddef.h>

#define AUTH_FIELD_MAX 255      /* longest user name or password we take */
#define AUTH_B64_MAX   (4 * ((2 * AUTH_FIELD_MAX + 2 + 2) / 3) + 1)

enum auth_mech { AUTH_NONE = 0, AUTH_PLAIN = 1, AUTH_LOGIN = 2 };

/* auth_pick - the mechanism to use given the parameters of the server's
 * AUTH keyword ("PLAIN LOGIN ..."): PLAIN if offered, else LOGIN, else
 * AUTH_NONE. */
enum auth_mech auth_pick(const char *params, size_t len);

/* auth_plain - base64 of "\0user\0pass" into out. Returns the length or -1. */
int auth_plain(const char *user, const char *pass, char *out, size_t cap);

/* auth_base64 - base64 of len octets of in into out (NUL-terminated).
 * Returns the length or -1 if out is too small. */
int auth_base64(const char *in, size_t len, char *out, size_t cap);

#endif
