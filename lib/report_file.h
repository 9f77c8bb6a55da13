/* report_file.h - one way to write a report file, for every report writer
 * (the coordinator's JSON, CSV and HTML, the agent's JSON): open a path or
 * "-" (standard output), write through a stdio stream, and keep the first
 * error with the errno of that moment (Postfix's vstream): close says
 * whether everything reached the file and, if not, why, naming the path. */
#ifndef SMTPSTORM_REPORT_FILE_H
#define SMTPSTORM_REPORT_FILE_H

#include <stddef.h>
#include <stdio.h>

#define REPORT_FILE_PATH_MAX 4096   /* Linux PATH_MAX: the temporary file's name */
#define REPORT_FILE_ATOMIC   1      /* report_file_open: write a temporary file, renamed over
                                     * path at close only when every write succeeded */

/* An open report. Every byte written to f goes through this module's write
 * function (fopencookie), which records the first failure in error. */
struct report_file {
    FILE *f;                            /* the stream to write with */
    const char *path;                   /* as opened, "-": standard output; borrowed */
    int fd;                             /* where f's bytes go: the file, or 1 */
    int error;                          /* errno of the first failure; 0: none yet */
    char tmp[REPORT_FILE_PATH_MAX];     /* REPORT_FILE_ATOMIC: the temporary file; else "" */
};

/* report_file_open - open path ("-": standard output, flushed first so what
 * it holds comes before) for writing, truncating it; flags 0 or
 * REPORT_FILE_ATOMIC (ignored for "-"). path must outlive rf, and rf must
 * not move until report_file_close. Returns 0, or -errno with "cannot write
 * PATH: reason" in err (then there is nothing to close). */
int report_file_open(struct report_file *rf, const char *path, int flags, char *err, size_t errlen);

/* report_file_stream - the stream to write rf with (fprintf, fputs, ...);
 * valid until report_file_close. */
FILE *report_file_stream(struct report_file *rf);

/* report_file_fail - note a writer's own failure (errno e, e.g. ENOMEM) as
 * rf's error, unless an earlier one is kept; nothing more is written. */
void report_file_fail(struct report_file *rf, int e);

/* report_file_close - flush and close rf (standard output is flushed, not
 * closed); with REPORT_FILE_ATOMIC rename the temporary file over path on
 * success, remove it otherwise. Returns 0, or -errno of the first error with
 * "cannot write PATH: reason" in err. */
int report_file_close(struct report_file *rf, char *err, size_t errlen);

/* What writes one report into f: 0, or -errno of its own failure (kept
 * unless a write failed first). arg is report_file_write's. */
typedef int report_file_fill_fn(FILE *f, const void *arg);

/* report_file_write - the whole of a report in one call: report_file_open
 * path with flags, fill(f, arg), report_file_close. Returns 0, or -errno of
 * the first failure with "cannot write PATH: reason" in err. */
int report_file_write(const char *path, int flags, report_file_fill_fn *fill, const void *arg, char *err,
                      size_t errlen);

#endif
