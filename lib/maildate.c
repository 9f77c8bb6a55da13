/* maildate.c - Postfix's mail_date() format (see maildate.h).
 *
 * Postfix formats with strftime("%a, %e %b %Y %H:%M:%S ") in a process
 * that never calls setlocale(), so its names are the C locale's; the
 * names are written from tables here so that no locale can change them.
 * One deliberate difference: Postfix prints the offset with "%+03d%02d"
 * of the hours and minutes, so an offset between -1 h and 0 with minutes
 * (-0030) comes out as "+0030"; here the sign is the offset's. No zone in
 * use since 1972 has such an offset, so the bytes are the same today. */
#include "maildate.h"

#include <stdio.h>
#include <string.h>

static const char mail_date_days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char mail_date_months[12][4] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

int mail_date_format(time_t t, char *out, size_t cap)
{
    struct tm tm;
    long off, abs_off;
    const char *zone;
    int n;

    if (cap < MAIL_DATE_MAX || localtime_r(&t, &tm) == NULL)
        return -1;
    if (tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
        return -1;
    off = tm.tm_gmtoff / 60;
    abs_off = off < 0 ? -off : off;
    zone = tm.tm_zone != NULL ? tm.tm_zone : "";
    /* the fixed part is at most 36 bytes for a four-digit year; the rest of
     * MAIL_DATE_MAX holds the zone name, cut to fit ("%.*s") */
    n = snprintf(out, cap, "%s, %2d %s %d %02d:%02d:%02d %c%02ld%02ld (%.*s)",
                 mail_date_days[tm.tm_wday], tm.tm_mday, mail_date_months[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
                 abs_off / 60, abs_off % 60, MAIL_DATE_MAX - 48, zone);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
