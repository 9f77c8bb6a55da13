/* users.c - the --auth-users table (see users.h): the file's lines kept in
 * one buffer, sorted by user name for a binary search; a bad line is
 * reported with its number, never skipped. */
#include "users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct user_entry {
    const char *user, *pass;        /* into the entry's own line copy */
    size_t ulen, plen;
    long line;
};

struct users {
    struct user_entry *e;
    size_t n, cap;
};

static int entry_cmp_key(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    return c != 0 ? c : alen < blen ? -1 : alen > blen;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct user_entry *x = a, *y = b;
    int c = entry_cmp_key(x->user, x->ulen, y->user, y->ulen);

    return c != 0 ? c : x->line < y->line ? -1 : 1;
}

/* users_add - one line (line end removed) into u; 0, or -1 with err set. */
static int users_add(struct users *u, const char *text, size_t len, long line, const char *path,
                     char *err, size_t errlen)
{
    const char *colon = memchr(text, ':', len);
    struct user_entry *grown;
    char *copy;

    if (colon == NULL || colon == text || colon + 1 == text + len || memchr(text, '\0', len)
        || (size_t)(colon - text) > USERS_FIELD_MAX || (size_t)(text + len - colon - 1) > USERS_FIELD_MAX) {
        snprintf(err, errlen, "--auth-users %s line %ld: want user:password (each 1..%d octets)",
                 path, line, USERS_FIELD_MAX);
        return -1;
    }
    if (u->n >= USERS_COUNT_MAX) {
        snprintf(err, errlen, "--auth-users %s line %ld: more than %d users", path, line, USERS_COUNT_MAX);
        return -1;
    }
    if (u->n == u->cap) {
        if ((grown = realloc(u->e, (u->cap ? u->cap * 2 : 64) * sizeof(*grown))) == NULL)
            goto nomem;
        u->e = grown;
        u->cap = u->cap ? u->cap * 2 : 64;
    }
    if ((copy = malloc(len)) == NULL)
        goto nomem;
    memcpy(copy, text, len);
    u->e[u->n++] = (struct user_entry){ copy, copy + (colon - text) + 1, (size_t)(colon - text),
                                        (size_t)(text + len - colon - 1), line };
    return 0;

nomem:
    snprintf(err, errlen, "--auth-users %s: out of memory", path);
    return -1;
}

/* users_unique - after sorting: a user named twice is an error. */
static int users_unique(const struct users *u, const char *path, char *err, size_t errlen)
{
    size_t i;

    for (i = 1; i < u->n; i++)
        if (entry_cmp_key(u->e[i - 1].user, u->e[i - 1].ulen, u->e[i].user, u->e[i].ulen) == 0) {
            snprintf(err, errlen, "--auth-users %s line %ld: user already on line %ld", path,
                     u->e[i].line, u->e[i - 1].line);
            return -1;
        }
    return 0;
}

struct users *users_load(const char *path, char *err, size_t errlen)
{
    struct users *u = calloc(1, sizeof(*u));
    FILE *f = NULL;
    char *buf = NULL;
    size_t cap = 0, len;
    ssize_t n;
    long line = 0;

    if (u == NULL) {
        snprintf(err, errlen, "--auth-users %s: out of memory", path);
        return NULL;
    }
    if ((f = fopen(path, "re")) == NULL) {
        snprintf(err, errlen, "--auth-users %s: %s", path, strerror(errno));
        goto fail;
    }
    while (errno = 0, (n = getline(&buf, &cap, f)) >= 0) {
        line++;
        len = (size_t)n;
        if (len > 0 && buf[len - 1] == '\n')
            len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
        if (len == 0 || buf[0] == '#')
            continue;
        if (users_add(u, buf, len, line, path, err, errlen) != 0)
            goto fail;
    }
    if (errno != 0 || ferror(f)) {
        snprintf(err, errlen, "--auth-users %s: %s", path, strerror(errno ? errno : EIO));
        goto fail;
    }
    qsort(u->e, u->n, sizeof(*u->e), entry_cmp);
    if (users_unique(u, path, err, errlen) != 0)
        goto fail;
    free(buf);
    fclose(f);
    return u;

fail:
    free(buf);
    if (f)
        fclose(f);
    users_free(u);
    return NULL;
}

int users_check(const struct users *u, const char *user, size_t ulen, const char *pass, size_t plen)
{
    size_t lo = 0, hi = u->n, mid;
    int c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = entry_cmp_key(user, ulen, u->e[mid].user, u->e[mid].ulen);
        if (c == 0)
            return plen == u->e[mid].plen && CRYPTO_memcmp(pass, u->e[mid].pass, plen) == 0;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

void users_free(struct users *u)
{
    size_t i;

    if (u == NULL)
        return;
    for (i = 0; i < u->n; i++)
        free((void *)u->e[i].user);
    free(u->e);
    free(u);
}
