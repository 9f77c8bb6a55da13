/* test_maildate - lib/maildate.c writes Postfix's mail_date() bytes on
 * days 1 to 9 (space-padded), the 10th, the 31st, 29 February, and in zones
 * with negative, half-hour and daylight-saving offsets. The expected
 * strings are GNU date's "+%a, %e %b %Y %H:%M:%S %z (%Z)" for the same
 * instant and zone. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "maildate.h"

struct date_case {
    const char *tz;
    time_t t;
    const char *want;
};

static const struct date_case cases[] = {
    { "UTC", 1796180866, "Wed,  2 Dec 2026 03:07:46 +0000 (UTC)" },
    { "UTC", 1796860800, "Thu, 10 Dec 2026 00:00:00 +0000 (UTC)" },
    { "UTC", 1798761599, "Thu, 31 Dec 2026 23:59:59 +0000 (UTC)" },
    { "UTC", 1709208000, "Thu, 29 Feb 2024 12:00:00 +0000 (UTC)" },
    { "America/New_York", 1796180866, "Tue,  1 Dec 2026 22:07:46 -0500 (EST)" },
    { "America/New_York", 1783166400, "Sat,  4 Jul 2026 08:00:00 -0400 (EDT)" },
    { "Asia/Kolkata", 1796180866, "Wed,  2 Dec 2026 08:37:46 +0530 (IST)" },
    { "Australia/Sydney", 1796180866, "Wed,  2 Dec 2026 14:07:46 +1100 (AEDT)" },
    { "America/St_Johns", 1767607200, "Mon,  5 Jan 2026 06:30:00 -0330 (NST)" },
    { "Pacific/Kiritimati", 1772323200, "Sun,  1 Mar 2026 14:00:00 +1400 (+14)" },
    { "Europe/Berlin", 1774746000, "Sun, 29 Mar 2026 03:00:00 +0200 (CEST)" },
    /* Postfix would write "+0044" here (see lib/maildate.c) */
    { "Africa/Monrovia", 0, "Wed, 31 Dec 1969 23:15:30 -0044 (MMT)" },
};

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static void test_mail_date_matches_date_in_every_zone(void **state)
{
    char out[MAIL_DATE_MAX];
    size_t i;
    int n;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        set_tz(cases[i].tz);
        n = mail_date_format(cases[i].t, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, (int)strlen(cases[i].want));
    }
}

static void test_mail_date_names_ignore_the_locale(void **state)
{
    char out[MAIL_DATE_MAX];

    (void)state;
    /* whatever the environment's locale is, and whether it is installed */
    setlocale(LC_ALL, "");
    set_tz("UTC");
    assert_true(mail_date_format(1796180866, out, sizeof(out)) > 0);
    assert_string_equal(out, "Wed,  2 Dec 2026 03:07:46 +0000 (UTC)");
    setlocale(LC_ALL, "C");
}

static void test_mail_date_long_zone_name_is_cut_to_fit(void **state)
{
    char out[MAIL_DATE_MAX];
    int n;

    (void)state;
    /* a POSIX TZ with a 60-letter name and no daylight saving */
    set_tz("<ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH>-3");
    n = mail_date_format(1796180866, out, sizeof(out));
    assert_true(n > 0 && n < MAIL_DATE_MAX);
    assert_memory_equal(out, "Wed,  2 Dec 2026 06:07:46 +0300 (ABCDEFGH", 41);
    assert_int_equal(out[n - 1], ')');
}

static void test_mail_date_refuses_a_small_buffer(void **state)
{
    char out[MAIL_DATE_MAX];

    (void)state;
    set_tz("UTC");
    assert_int_equal(mail_date_format(1796180866, out, MAIL_DATE_MAX - 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_date_matches_date_in_every_zone),
        cmocka_unit_test(test_mail_date_names_ignore_the_locale),
        cmocka_unit_test(test_mail_date_long_zone_name_is_cut_to_fit),
        cmocka_unit_test(test_mail_date_refuses_a_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
