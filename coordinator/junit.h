/* junit.h - thresholds as JUnit XML (--junit FILE), for CI systems that
 * show test results: one <testsuite>, each threshold a <testcase>, a
 * failed one with a <failure message="..."> giving what was measured and
 * the limit. Written by `smtpstorm run` and `smtpstorm compare`; every
 * text is XML-escaped. */
#ifndef SMTPSTORM_COORDINATOR_JUNIT_H
#define SMTPSTORM_COORDINATOR_JUNIT_H

#include <stddef.h>

#include "threshold.h"

/* junit_write - write the suite named suite (e.g. "smtpstorm run"), with
 * classname classname (the campaign, or "BASE -> NEW"), its n verdicts
 * (each a testcase named by its threshold's text) and
 * its duration in seconds, to path ("-": standard output). Nothing is
 * kept. Returns 0, or -errno with "cannot write PATH: reason" in err. */
int junit_write(const char *path, const char *suite, const char *classname, const struct threshold_verdict *cases,
                size_t n, double seconds, char *err, size_t errlen);

#endif
