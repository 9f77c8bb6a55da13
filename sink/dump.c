/* dump.c - smtp-sink's -d/-D capture files (see dump.h). Records are
 * buffered and written in large writes; a write error loses that one
 * capture (the session is told), never the process. Every capture is
 * written out before dump_finish returns, so before its 250; with --fsync
 * it is also on disk then (fsync of the file, and of the directory of a
 * new file): a blocking flush on the event loop, off by default. */
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bufpool.h"
#include "log.h"
#include "maildate.h"

#define DUMP_TRIES 100          /* id collisions before giving up, as smtp-sink */

enum { BODY_BOL, BODY_CR, BODY_MID };

struct dump_writer {
    const struct sink_config *cfg;
    const char *template;       /* -d or -D */
    int shared;                 /* -D */
    uint64_t rng;
    time_t exp_time;            /* template expansion cache, one per second */
    char exp_path[DUMP_PATH_MAX];
    size_t exp_len;
    time_t date_time;           /* Received date cache, one per second */
    char date[MAIL_DATE_MAX];
    int shared_fd;              /* -D file for shared_path */
    int shared_dir_synced;      /* --fsync: its directory entry is on disk */
    char shared_path[DUMP_PATH_MAX];
    struct bufpool pool;        /* capture buffers, taken from MAIL to the end of the message */
};

/* Appends to one shared file from several loops stay whole messages. */
static pthread_mutex_t dump_shared_lock = PTHREAD_MUTEX_INITIALIZER;

struct dump_writer *dump_writer_new(const struct sink_config *cfg, uint64_t seed, int *err)
{
    struct dump_writer *w;

    *err = 0;
    if (cfg->dump_single == NULL && cfg->dump_shared == NULL)
        return NULL;
    if ((w = calloc(1, sizeof(*w))) == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    w->cfg = cfg;
    w->shared = cfg->dump_shared != NULL;
    w->template = w->shared ? cfg->dump_shared : cfg->dump_single;
    w->rng = seed | 1;
    w->exp_time = (time_t)-1;
    w->date_time = (time_t)-1;
    w->shared_fd = -1;
    /* A buffer holds what flush() keeps: below DUMP_FLUSH (-d) or
     * DUMP_SPILL (-D), plus one read appended to it. */
    if (bufpool_init(&w->pool, (w->shared ? DUMP_SPILL : DUMP_FLUSH) + DUMP_FLUSH, DUMP_POOL_KEEP) != 0) {
        free(w);
        *err = -ENOMEM;
        return NULL;
    }
    return w;
}

void dump_writer_free(struct dump_writer *w)
{
    if (w == NULL)
        return;
    if (w->shared_fd >= 0)
        close(w->shared_fd);
    bufpool_destroy(&w->pool);
    free(w);
}

static uint32_t dump_random(struct dump_writer *w)
{
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return (uint32_t)((w->rng * 2685821657736338717ULL) >> 32);
}

/* expand - strftime the template for t; cached for the same second. */
static const char *expand(struct dump_writer *w, time_t t, size_t *len)
{
    struct tm tm;

    if (t != w->exp_time) {
        localtime_r(&t, &tm);
        w->exp_len = strftime(w->exp_path, sizeof(w->exp_path) - 16, w->template, &tm);
        w->exp_path[w->exp_len] = '\0';
        w->exp_time = t;
    }
    *len = w->exp_len;
    return w->exp_path;
}

/* make_parents - mkdir -p every directory above path (mode 0755). */
static int make_parents(const char *path)
{
    char dir[DUMP_PATH_MAX];
    char *p;

    snprintf(dir, sizeof(dir), "%s", path);
    if ((p = strrchr(dir, '/')) == NULL || p == dir)
        return 0;
    *p = '\0';
    for (p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* open_path - open(2), creating missing parent directories once. */
static int open_path(const char *path, int flags)
{
    int fd, e;

    fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        if ((e = make_parents(path)) != 0)
            return e;
        fd = open(path, flags | O_CLOEXEC, 0644);
    }
    return fd < 0 ? -errno : fd;
}

static void dump_fail(struct dump *d, int e, const char *what, const char *path)
{
    if (d->error == 0) {
        d->error = e;
        log_warn("%s %s: %s; this message is not captured", what, path ? path : "(no name)", strerror(e));
    }
}

/* buf_give_back - the capture ended: its buffer goes back to the loop's
 * pool, so that an idle session holds none. */
static void buf_give_back(struct dump *d)
{
    if (d->buf.p != NULL)
        poolbuf_release(&d->w->pool, &d->buf);
}

static int write_all(int fd, const char *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* spill - -D: move the buffer into an unlinked temp file next to the
 * shared file, so a huge message does not stay in memory. */
static int spill(struct dump *d)
{
    size_t len;
    const char *path = expand(d->w, d->start, &len);
    char dir[DUMP_PATH_MAX], *slash;
    int e;

    if (d->fd < 0) {
        snprintf(dir, sizeof(dir), "%s", path);
        slash = strrchr(dir, '/');
        if (slash == NULL)
            snprintf(dir, sizeof(dir), ".");
        else if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        if ((e = make_parents(path)) != 0)
            return e;
        if ((d->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0)
            return -errno;
    }
    return write_all(d->fd, d->buf.p, d->buf.len);
}

/* flush - write what is buffered when it is large (or at the end). */
static void flush(struct dump *d, int final)
{
    int e;

    if (d->error || d->buf.len == 0)
        return;
    if (d->w->shared) {
        if (!final && d->buf.len < DUMP_SPILL)
            return;
        if (!final || d->fd >= 0) {
            if ((e = spill(d)) != 0)
                dump_fail(d, -e, "spill", d->w->shared_path);
            d->buf.len = 0;
        }
        return;
    }
    if (!final && d->buf.len < DUMP_FLUSH)
        return;
    if ((e = write_all(d->fd, d->buf.p, d->buf.len)) != 0)
        dump_fail(d, -e, "append file", d->path);
    d->buf.len = 0;
}

static void append(struct dump *d, const char *p, size_t len)
{
    if (d->error)
        return;
    if (poolbuf_reserve(&d->w->pool, &d->buf, len) != 0) {
        dump_fail(d, ENOMEM, "buffer", d->path);
        return;
    }
    memcpy(d->buf.p + d->buf.len, p, len);
    d->buf.len += len;
}

void dump_init(struct dump *d, struct dump_writer *w)
{
    memset(d, 0, sizeof(*d));
    d->w = w;
    d->fd = -1;
}

void dump_release(struct dump *d)
{
    dump_abort(d);
    buf_give_back(d);
    free(d->path);
    d->path = NULL;
    d->path_cap = 0;
}

/* path_reserve - room for a -d file name of n octets with its NUL, kept
 * for the next messages; 0, -ENAMETOOLONG or -ENOMEM. */
static int path_reserve(struct dump *d, size_t n)
{
    char *grown;

    if (n > DUMP_PATH_MAX)
        return -ENAMETOOLONG;
    if (n <= d->path_cap)
        return 0;
    if ((grown = realloc(d->path, n)) == NULL)
        return -ENOMEM;
    d->path = grown;
    d->path_cap = n;
    return 0;
}

/* create_single - -d: a new file named template + 8 hex digits. */
static int create_single(struct dump *d)
{
    size_t len;
    const char *base = expand(d->w, d->start, &len);
    int tries, fd;

    for (tries = 0; tries < DUMP_TRIES; tries++) {
        d->id = dump_random(d->w);
        if ((fd = path_reserve(d, len + 9)) != 0)
            return fd;
        memcpy(d->path, base, len);
        snprintf(d->path + len, 9, "%08x", (unsigned)d->id);
        fd = open_path(d->path, O_WRONLY | O_CREAT | O_EXCL);
        if (fd >= 0) {
            d->fd = fd;
            return 0;
        }
        if (fd != -EEXIST)
            return fd;
    }
    return -EEXIST;
}

int dump_open(struct dump *d, const char *addr, const char *proto, const char *helo, int utf8,
              time_t now)
{
    const struct sink_config *cfg;
    char line[1024];
    int e = 0, n;

    if (d->w == NULL)
        return 0;
    dump_abort(d);
    cfg = d->w->cfg;
    d->active = 1;
    d->error = 0;
    d->buf.len = 0;
    d->start = now;
    d->body_state = BODY_BOL;
    d->utf8 = utf8;
    if (d->w->shared)
        d->id = dump_random(d->w);
    else if ((e = create_single(d)) != 0)
        dump_fail(d, -e, "open", d->path);
    if (cfg->start_len)
        append(d, cfg->start_string, cfg->start_len);
    n = snprintf(line, sizeof(line), "X-Client-Addr: %s\nX-Client-Proto: %s\n", addr, proto);
    append(d, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    if (helo)
        dump_record(d, "X-Helo-Args", helo, strlen(helo));
    return e;
}

/* append_text - append a record's text: octets >= 0x80 as '?' unless
 * the transaction is SMTPUTF8 (smtp-sink's printable() without UTF-8). */
static void append_text(struct dump *d, const char *p, size_t len)
{
    size_t from = d->buf.len, i;

    append(d, p, len);
    if (d->utf8 || d->error)
        return;
    for (i = from; i < d->buf.len; i++)
        if ((unsigned char)d->buf.p[i] >= 0x80)
            d->buf.p[i] = '?';
}

void dump_record(struct dump *d, const char *name, const char *value, size_t len)
{
    if (!d->active)
        return;
    append(d, name, strlen(name));
    append(d, ": ", 2);
    append_text(d, value, len);
    append(d, "\n", 1);
}

void dump_received(struct dump *d, const char *helo, const char *addr, const char *proto,
                   const char *hostname)
{
    char line[2048];
    const char *date;
    int n;

    if (!d->active)
        return;                             /* no -d/-D: d->w is NULL */
    date = d->w->date;
    if (d->start != d->w->date_time) {      /* localtime_r and strftime once a second */
        if (mail_date_format(d->start, d->w->date, sizeof(d->w->date)) < 0)
            d->w->date[0] = '\0';          /* no local time for it: an empty date */
        d->w->date_time = d->start;
    }
    if (helo)
        n = snprintf(line, sizeof(line), "Received: from %s ([%s])\n", helo, addr);
    else
        n = snprintf(line, sizeof(line), "Received: from [%s] ([%s])\n", addr, addr);
    append_text(d, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    n = snprintf(line, sizeof(line), "\tby %s (smtp-sink) with %s id %08x;\n\t%s\n",
                 hostname, proto, d->id, date);
    append(d, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* body_room - room for n more bytes at the end of the buffer (a transform
 * never outputs more than it reads), or NULL with the capture failed. */
static char *body_room(struct dump *d, size_t n)
{
    if (poolbuf_reserve(&d->w->pool, &d->buf, n) != 0) {
        dump_fail(d, ENOMEM, "buffer", d->path);
        return NULL;
    }
    return d->buf.p + d->buf.len;
}

/* body_data - DATA bytes: CR dropped everywhere, a dot after CRLF dropped
 * (smtp-sink's rule), one memchr and one memcpy a line into room reserved
 * once for the whole read. */
static void body_data(struct dump *d, const char *p, const char *end)
{
    char *o = body_room(d, (size_t)(end - p));
    const char *q;

    if (o == NULL)
        return;
    while (p < end) {
        switch (d->body_state) {
        case BODY_BOL:
            if (*p == '.')
                p++;
            d->body_state = BODY_MID;
            break;
        case BODY_CR:
            if (*p == '\n') {
                *o++ = '\n';
                p++;
                d->body_state = BODY_BOL;
            } else {
                d->body_state = BODY_MID;
            }
            break;
        default:
            if ((q = memchr(p, '\r', (size_t)(end - p))) == NULL)
                q = end;
            memcpy(o, p, (size_t)(q - p));
            o += q - p;
            p = q < end ? q + 1 : end;
            if (q < end)
                d->body_state = BODY_CR;
        }
    }
    d->buf.len = (size_t)(o - d->buf.p);
}

/* body_bdat - chunk bytes: CR dropped, nothing else. */
static void body_bdat(struct dump *d, const char *p, const char *end)
{
    char *o = body_room(d, (size_t)(end - p));
    const char *q;

    if (o == NULL)
        return;
    while (p < end) {
        if ((q = memchr(p, '\r', (size_t)(end - p))) == NULL)
            q = end;
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        p = q < end ? q + 1 : end;
    }
    d->buf.len = (size_t)(o - d->buf.p);
}

void dump_body(struct dump *d, const char *p, size_t len, enum dump_body_mode mode)
{
    if (!d->active || d->error)
        return;
    if (mode == DUMP_BODY_DATA)
        body_data(d, p, p + len);
    else
        body_bdat(d, p, p + len);
    flush(d, 0);
}

/* shared_fd - -D: the open shared file for this message's time. */
static int shared_fd(struct dump_writer *w, time_t t)
{
    size_t len;
    const char *path = expand(w, t, &len);

    if (w->shared_fd >= 0 && strcmp(path, w->shared_path) == 0)
        return w->shared_fd;
    if (w->shared_fd >= 0)
        close(w->shared_fd);
    snprintf(w->shared_path, sizeof(w->shared_path), "%s", path);
    w->shared_dir_synced = 0;
    w->shared_fd = open_path(path, O_WRONLY | O_CREAT | O_APPEND);
    return w->shared_fd;
}

/* sync_dir - --fsync: fsync the directory holding path (a new file's
 * name is on disk only then). Returns 0 or -errno. */
static int sync_dir(const char *path)
{
    char dir[DUMP_PATH_MAX], *slash;
    int fd, e = 0;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -errno;
    if (fsync(fd) != 0)
        e = -errno;
    close(fd);
    return e;
}

/* copy_spill - -D: append the spill file's content to fd. */
static int copy_spill(struct dump *d, int fd)
{
    char buf[65536];
    off_t off = 0;
    ssize_t n;
    int e;

    for (;;) {
        n = pread(d->fd, buf, sizeof(buf), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : 0;
        if ((e = write_all(fd, buf, (size_t)n)) != 0)
            return e;
        off += n;
    }
}

/* finish_shared - -D: one append of the whole message under the lock. */
static int finish_shared(struct dump *d)
{
    int fd, e;

    pthread_mutex_lock(&dump_shared_lock);
    fd = shared_fd(d->w, d->start);
    if (fd < 0)
        e = fd;
    else if (d->fd >= 0)
        e = copy_spill(d, fd);
    else
        e = write_all(fd, d->buf.p, d->buf.len);
    if (e == 0 && d->w->cfg->fsync && fsync(fd) != 0)
        e = -errno;
    if (e == 0 && d->w->cfg->fsync && !d->w->shared_dir_synced
        && (e = sync_dir(d->w->shared_path)) == 0)
        d->w->shared_dir_synced = 1;
    pthread_mutex_unlock(&dump_shared_lock);
    if (e != 0)
        dump_fail(d, -e, "append file", d->w->shared_path);
    return e;
}

int dump_finish(struct dump *d)
{
    int e;

    if (!d->active)
        return 0;
    flush(d, 1);
    if (d->w->shared && d->error == 0)
        finish_shared(d);
    if (!d->w->shared && d->fd >= 0 && d->w->cfg->fsync && d->error == 0 && fsync(d->fd) != 0)
        dump_fail(d, errno, "fsync", d->path);
    if (!d->w->shared && d->fd >= 0 && close(d->fd) != 0 && d->error == 0)
        dump_fail(d, errno, "close", d->path);
    if (d->w->shared && d->fd >= 0)
        close(d->fd);
    if (!d->w->shared && d->fd >= 0 && d->w->cfg->fsync && d->error == 0 && (e = sync_dir(d->path)) != 0)
        dump_fail(d, -e, "fsync directory of", d->path);
    d->fd = -1;
    d->active = 0;
    buf_give_back(d);
    e = d->error;
    d->error = 0;
    return -e;
}

void dump_abort(struct dump *d)
{
    if (!d->active)
        return;
    if (d->fd >= 0) {
        close(d->fd);
        if (!d->w->shared)
            (void)unlink(d->path);
    }
    d->fd = -1;
    d->active = 0;
    buf_give_back(d);
    d->error = 0;
}
