/* junit.c - thresholds as JUnit XML (see junit.h), in the shape Jenkins,
 * GitLab and GitHub's test reporters read: <testsuites><testsuite
 * name tests failures time><testcase name classname><failure message>.
 * Text is escaped by svg_escape (& < > " ' and control characters, which
 * XML 1.0 does not allow, as '?'). */
#include "junit.h"
#include "report_file.h"
#include "svg.h"

#include <errno.h>

struct junit_suite {
    const char *suite, *classname;
    const struct threshold_verdict *cases;
    size_t n;
    double seconds;
};

static void junit_case_write(FILE *f, const char *classname, const struct threshold_verdict *c)
{
    char why[160];

    fputs("    <testcase name=\"", f);
    svg_escape(f, c->t->text);
    fputs("\" classname=\"", f);
    svg_escape(f, classname);
    if (c->held == 1) {
        fputs("\"/>\n", f);
        return;
    }
    fputs("\">\n      <failure type=\"threshold\" message=\"", f);
    svg_escape(f, threshold_describe(c->t, c->held, c->value, why, sizeof(why)));
    fputs("\">", f);
    svg_escape(f, c->t->text);
    fputs(": ", f);
    svg_escape(f, why);
    fputs("</failure>\n    </testcase>\n", f);
}

/* junit_fill - the document into f (a report_file_fill_fn: arg is a junit_suite). */
static int junit_fill(FILE *f, const void *arg)
{
    const struct junit_suite *s = arg;
    size_t i, failures = 0;

    for (i = 0; i < s->n; i++)
        failures += s->cases[i].held != 1;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\">\n"
            "  <testsuite name=\"", s->n, failures);
    svg_escape(f, s->suite);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.3f\">\n", s->n, failures,
            s->seconds > 0 ? s->seconds : 0);
    for (i = 0; i < s->n; i++)
        junit_case_write(f, s->classname, &s->cases[i]);
    fputs("  </testsuite>\n</testsuites>\n", f);
    return 0;
}

int junit_write(const char *path, const char *suite, const char *classname, const struct threshold_verdict *cases,
                size_t n, double seconds, char *err, size_t errlen)
{
    struct junit_suite s = { suite, classname, cases, n, seconds };

    return report_file_write(path, REPORT_FILE_ATOMIC, junit_fill, &s, err, errlen);
}
