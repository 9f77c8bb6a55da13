/* corpus.c - load a corpus of real messages (see corpus.h). */
#include "corpus.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dist.h"
#include "log.h"
#include "readfile.h"

/* A corpus being read: its messages grow as files are read. */
struct corpus_build {
    struct corpus *c;
    size_t cap;
    char *err;
    size_t errlen;
};

/* Line ends: LF, CRLF or a lone CR. Returns the length of the line at
 * text + off and sets *next to the offset where the next line starts. */
static size_t line_at(const char *text, size_t len, size_t off, size_t *next)
{
    size_t i;

    for (i = off; i < len && text[i] != '\n' && text[i] != '\r'; i++)
        ;
    *next = i == len ? len : text[i] == '\r' && i + 1 < len && text[i + 1] == '\n' ? i + 2 : i + 1;
    return i - off;
}

/* skip - note a message left out. */
static void skip(struct corpus_build *b, const char *name, const char *why)
{
    if (b->c->skipped++ == 0)
        snprintf(b->c->first_skip, sizeof(b->c->first_skip), "%s: %s", name, why);
}

/* add_message - text as one message: CRLF line ends, dot-stuffed data. */
static int add_message(struct corpus_build *b, const char *name, const char *text, size_t len)
{
    struct message_payload *m;
    size_t off, next, n, raw = 0, dots = 0, d = 0, r = 0;

    if (len == 0)
        return skip(b, name, "empty"), 0;
    for (off = 0; off < len; off = next) {
        n = line_at(text, len, off, &next);
        if (memchr(text + off, '\0', n))
            return skip(b, name, "a NUL octet"), 0;
        if (n > CORPUS_LINE_MAX)
            return skip(b, name, "a line over 998 octets"), 0;
        raw += n + 2;
        dots += n > 0 && text[off] == '.';
    }
    if (b->c->octets + raw > CORPUS_BYTES_MAX)
        return snprintf(b->err, b->errlen, "--corpus: more than %llu octets", CORPUS_BYTES_MAX), -EFBIG;
    if (b->c->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        struct message_payload *grown = realloc(b->c->msgs, cap * sizeof(*grown));

        if (grown == NULL)
            return snprintf(b->err, b->errlen, "out of memory"), -ENOMEM;
        b->c->msgs = grown;
        b->cap = cap;
    }
    m = &b->c->msgs[b->c->n];
    if ((m->data = malloc(raw + dots + raw)) == NULL)
        return snprintf(b->err, b->errlen, "out of memory"), -ENOMEM;
    m->raw = m->data + raw + dots;
    for (off = 0; off < len; off = next) {
        n = line_at(text, len, off, &next);
        if (n > 0 && text[off] == '.')
            m->data[d++] = '.';
        memcpy(m->data + d, text + off, n);
        memcpy(m->raw + r, text + off, n);
        memcpy(m->data + d + n, "\r\n", 2);
        memcpy(m->raw + r + n, "\r\n", 2);
        d += n + 2;
        r += n + 2;
    }
    m->len = d;
    m->raw_len = r;
    b->c->octets += r;
    b->c->n++;
    return 0;
}

/* add_mbox - every message of an mbox: each "From " line starts one, the
 * blank line before it ends the one before (as Python's mailbox reads it). */
static int add_mbox(struct corpus_build *b, const char *name, const char *text, size_t len)
{
    size_t off = 0, start = 0, next, n;
    int in_message = 0, rc = 0;

    for (; off <= len && rc == 0; off = next) {
        int from = off < len && len - off >= 5 && memcmp(text + off, "From ", 5) == 0;

        if (off == len || from) {
            if (in_message) {
                size_t end = off;

                if (end - start >= 2 && text[end - 1] == '\n' && text[end - 2] == '\n')
                    end--;              /* the separating blank line */
                rc = add_message(b, name, text + start, end - start);
            }
            if (off == len)
                break;
            in_message = 1;
        }
        n = line_at(text, len, off, &next);
        (void)n;
        if (from)
            start = next;
    }
    return rc;
}

static int add_file(struct corpus_build *b, const char *path, int mbox)
{
    char why[CORPUS_WHY_MAX];
    size_t len;
    char *text;
    int rc;

    if ((rc = readfile_all(path, CORPUS_BYTES_MAX, &text, &len, why, sizeof(why))) != 0) {
        snprintf(b->err, b->errlen, "--corpus: %s", why);
        return rc;
    }
    rc = mbox ? add_mbox(b, path, text, len) : add_message(b, path, text, len);
    free(text);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* add_dir - the files of dir (only *.eml when eml), in name order. */
static int add_dir(struct corpus_build *b, const char *dir, int eml)
{
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0, len;
    struct dirent *de;
    struct stat st;
    int rc = 0;
    DIR *d;

    if ((d = opendir(dir)) == NULL)
        return snprintf(b->err, b->errlen, "--corpus: %s: %s", dir, strerror(errno)), -errno;
    while ((de = readdir(d)) != NULL && rc == 0) {
        len = strlen(de->d_name);
        if (de->d_name[0] == '.' || (eml && (len < 5 || strcmp(de->d_name + len - 4, ".eml") != 0)))
            continue;
        if (n == CORPUS_FILES_MAX) {
            rc = (snprintf(b->err, b->errlen, "--corpus: %s: more than %d files", dir, CORPUS_FILES_MAX), -EFBIG);
            break;
        }
        if (n == cap) {
            char **grown = realloc(names, (cap ? 2 * cap : 256) * sizeof(*names));

            if (grown == NULL) {
                rc = (snprintf(b->err, b->errlen, "out of memory"), -ENOMEM);
                break;
            }
            names = grown;
            cap = cap ? 2 * cap : 256;
        }
        if ((names[n] = strdup(de->d_name)) == NULL)
            rc = (snprintf(b->err, b->errlen, "out of memory"), -ENOMEM);
        else
            n++;
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path))
            rc = rc ? rc : (snprintf(b->err, b->errlen, "--corpus: %s/%s: path too long", dir, names[i]), -ENAMETOOLONG);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            rc = add_file(b, path, 0);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* set_order - k-th message: in order, or a permutation drawn from seed. */
static int set_order(struct corpus *c, int shuffle, uint64_t seed)
{
    if ((c->order = malloc(c->n * sizeof(c->order[0]))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < c->n; i++)
        c->order[i] = i;
    for (size_t i = c->n; shuffle && i > 1; i--) {     /* Fisher-Yates */
        size_t j = (size_t)(dist_random(seed, i, DIST_STREAM_CORPUS) % i), t = c->order[i - 1];

        c->order[i - 1] = c->order[j];
        c->order[j] = t;
    }
    return 0;
}

int corpus_load(struct corpus *c, const char *path, int shuffle, uint64_t seed, char *err, size_t errlen)
{
    struct corpus_build b = { c, 0, err, errlen };
    char sub[4096];
    struct stat st;
    int rc;

    memset(c, 0, sizeof(*c));
    if (stat(path, &st) != 0)
        return snprintf(err, errlen, "--corpus: %s: %s", path, strerror(errno)), -errno;
    if (S_ISREG(st.st_mode)) {
        rc = add_file(&b, path, 1);
    } else {
        snprintf(sub, sizeof(sub), "%s/cur", path);
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {       /* a maildir */
            rc = add_dir(&b, sub, 0);
            snprintf(sub, sizeof(sub), "%s/new", path);
            if (rc == 0 && stat(sub, &st) == 0)
                rc = add_dir(&b, sub, 0);
        } else {
            rc = add_dir(&b, path, 1);
        }
    }
    if (rc == 0 && c->n == 0)
        rc = (snprintf(err, errlen, "--corpus: %s: no message to send%s%s", path, c->skipped ? "; skipped " : "",
                       c->skipped ? c->first_skip : ""), -ENOENT);
    if (rc == 0 && set_order(c, shuffle, seed) != 0)
        rc = (snprintf(err, errlen, "out of memory"), -ENOMEM);
    if (rc == 0 && c->skipped)
        log_warn("--corpus: %zu messages left out (first %s); %zu to send", c->skipped, c->first_skip, c->n);
    if (rc != 0)
        corpus_free(c);
    return rc;
}

void corpus_free(struct corpus *c)
{
    for (size_t i = 0; c->msgs && i < c->n; i++)
        free(c->msgs[i].data);
    free(c->msgs);
    free(c->order);
    memset(c, 0, sizeof(*c));
}
