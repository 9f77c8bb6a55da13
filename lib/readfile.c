/* readfile.c - read a whole small file (see readfile.h). */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int readfile_all(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    size_t got = 0;
    ssize_t n;
    char *buf;
    int fd, e;

    *out = NULL;
    *len = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        e = errno;
        if (fd >= 0)
            close(fd);
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        close(fd);
        snprintf(err, errlen, "%s: larger than %zu octets", path, max);
        return -EFBIG;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    e = got == (size_t)st.st_size ? 0 : errno ? errno : EIO;
    close(fd);
    if (e != 0) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}
