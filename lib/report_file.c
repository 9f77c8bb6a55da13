/* report_file.c - a report file with a sticky first error (see
 * report_file.h): a stdio stream over our own write function, so the errno
 * of the write that failed is the one reported, not whatever a later call
 * left in errno. */
#include "report_file.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const char *report_file_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "standard output" : path;
}

/* report_file_say - "cannot write PATH: reason" into err; returns -e. */
static int report_file_say(const char *path, int e, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot write %s: %s", report_file_name(path), strerror(e));
    return -e;
}

void report_file_fail(struct report_file *rf, int e)
{
    assert(rf != NULL && e > 0);
    if (rf->error == 0)
        rf->error = e;
}

/* report_file_cookie_write - stdio's write function for rf: all of buf or -1,
 * keeping the first failure's errno; after one, writes nothing more. */
static ssize_t report_file_cookie_write(void *cookie, const char *buf, size_t len)
{
    struct report_file *rf = cookie;
    size_t done = 0;
    ssize_t n;

    if (rf->error != 0)
        return -1;
    while (done < len) {
        n = write(rf->fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            report_file_fail(rf, n < 0 ? errno : EIO);
            return -1;
        }
        done += (size_t)n;
    }
    return (ssize_t)len;
}

/* report_file_create - open the file rf writes (path, or its temporary
 * file); returns the descriptor or -errno. */
static int report_file_create(struct report_file *rf, const char *path, int flags)
{
    const char *name = path;
    int fd;

    rf->tmp[0] = '\0';
    if (flags & REPORT_FILE_ATOMIC) {
        if ((size_t)snprintf(rf->tmp, sizeof(rf->tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(rf->tmp))
            return -ENAMETOOLONG;
        name = rf->tmp;
    }
    fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        fd = -errno;
        rf->tmp[0] = '\0';
    }
    return fd;
}

int report_file_open(struct report_file *rf, const char *path, int flags, char *err, size_t errlen)
{
    cookie_io_functions_t io = { .write = report_file_cookie_write };
    int e;

    assert(rf != NULL && path != NULL);
    memset(rf, 0, sizeof(*rf));
    rf->path = path;
    if (strcmp(path, "-") == 0) {
        (void)fflush(stdout);
        rf->fd = STDOUT_FILENO;
    } else if ((rf->fd = report_file_create(rf, path, flags)) < 0) {
        return report_file_say(path, -rf->fd, err, errlen);
    }
    if ((rf->f = fopencookie(rf, "w", io)) == NULL) {
        e = errno ? errno : ENOMEM;
        if (rf->fd != STDOUT_FILENO)
            (void)close(rf->fd);
        if (rf->tmp[0])
            (void)unlink(rf->tmp);
        return report_file_say(path, e, err, errlen);
    }
    return 0;
}

FILE *report_file_stream(struct report_file *rf)
{
    assert(rf != NULL && rf->f != NULL);
    return rf->f;
}

int report_file_close(struct report_file *rf, char *err, size_t errlen)
{
    assert(rf != NULL && rf->f != NULL);
    if (fflush(rf->f) != 0 || ferror(rf->f))
        report_file_fail(rf, EIO);          /* kept only when the write function saw nothing */
    (void)fclose(rf->f);
    rf->f = NULL;
    if (rf->fd != STDOUT_FILENO && close(rf->fd) != 0)
        report_file_fail(rf, errno);
    if (rf->tmp[0] && rf->error == 0 && rename(rf->tmp, rf->path) != 0)
        report_file_fail(rf, errno);
    if (rf->tmp[0] && rf->error != 0)
        (void)unlink(rf->tmp);
    if (rf->error != 0)
        return report_file_say(rf->path, rf->error, err, errlen);
    return 0;
}

int report_file_write(const char *path, int flags, report_file_fill_fn *fill, const void *arg, char *err,
                      size_t errlen)
{
    struct report_file rf;
    int rc;

    assert(fill != NULL);
    if ((rc = report_file_open(&rf, path, flags, err, errlen)) != 0)
        return rc;
    if ((rc = fill(rf.f, arg)) != 0)
        report_file_fail(&rf, -rc);
    return report_file_close(&rf, err, errlen);
}
