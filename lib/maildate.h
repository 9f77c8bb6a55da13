/* maildate.h - RFC 5322 dates written byte for byte as Postfix's
 * mail_date() writes them, for the sink's Received header and the agent's
 * Date header alike. */
#ifndef SMTPSTORM_MAILDATE_H
#define SMTPSTORM_MAILDATE_H

#include <stddef.h>
#include <time.h>

/* Room for any date mail_date_format writes, NUL included: 36 bytes and
 * the zone name, which is cut to fit. */
#define MAIL_DATE_MAX 80

/* mail_date_format - t in local time (TZ) as "Wed,  2 Dec 2026 03:07:46
 * +0000 (UTC)": English names whatever the locale, the day of the month
 * padded with a space (Postfix's %e), the numeric offset, the zone name in
 * parentheses. out is the caller's, cap at least MAIL_DATE_MAX. Returns
 * the length, or -1 (out too small, or t has no local time). */
int mail_date_format(time_t t, char *out, size_t cap);

#endif
