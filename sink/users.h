/* users.h - the credentials smtpstorm-sink's AUTH checks (--auth-users
 * FILE): "user:password" lines, loaded once before the loops start, then
 * read-only and shared by every loop. */
#ifndef SMTPSTORM_SINK_USERS_H
#define SMTPSTORM_SINK_USERS_H

#include <stddef.h>

#define USERS_FIELD_MAX 255     /* user name or password octets, RFC 4616 section 2 */
#define USERS_COUNT_MAX 1000000 /* lines with a user; a larger file is refused */

struct users;

/* users_load - read path: one "user:password" a line (the password runs
 * from the first colon to the line end; empty lines and lines starting
 * with '#' are skipped). Returns the table, owned by the caller (free it
 * with users_free), or NULL with a message in err that names the file and
 * the line at fault. */
struct users *users_load(const char *path, char *err, size_t errlen);

/* users_check - 1 when user[0..ulen) is in u with password pass[0..plen)
 * (compared in constant time), else 0. */
int users_check(const struct users *u, const char *user, size_t ulen, const char *pass, size_t plen);

/* users_free - release u (NULL is fine). */
void users_free(struct users *u);

#endif
