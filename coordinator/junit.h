/* junit.h - thresholds as JUnit XML (--junit FILE), for CI systems that
 * show test results: one <testsuite>, each threshold a <testcase>, a
 * failed one with a <failure message="..."> giving what was measured and
 * the limit. Written by `smtpstorm run` and `smtpstorm compare`; every
 * text is XML-escaped. */
#ifndef SMTPSTORM_COORDINATOR_JUNIT_H
#define SMTPSTORM_COORDINATOR_JUNIT_H

#include <stddef.h>

#include "threshold.h"

/* One threshold's verdict, as the writer needs it. */
struct junit_case {
    const struct threshold *t;      /* borrowed; its text names the testcase */
    int held;                       /* 1 held, 0 failed, -1 not measured (a failure) */
    double value;                   /* what was measured (a change: percent) */
};

/* junit_write - write the suite named suite (e.g. "smtpstorm run"), with
 * classname classname (the campaign, or "BASE -> NEW"), its n cases and
 * its duration in seconds, to path ("-": standard output). Nothing is
 * kept. Returns 0, or -errno with "cannot write PATH: reason" in err. */
int junit_write(const char *path, const char *suite, const char *classname, const struct junit_case *cases,
                size_t n, double seconds, char *err, size_t errlen);

#endif
