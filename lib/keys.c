/* keys.c - CURVE key files: generate, save, load, check modes, read an
 * authorized-keys directory (see keys.h). */
#include "keys.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define KEYS_PATH_MAX 4096

static const char keys_alphabet[] =     /* RFC 32 */
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* What one file held: a public key and/or a secret key, as found. */
struct keys_parsed {
    int have_public, have_secret;
    uint8_t public_key[KEYS_BYTES];
    uint8_t secret_key[KEYS_BYTES];
};

int keys_available(void)
{
    return zmq_has("curve");
}

void keys_z85(const uint8_t key[KEYS_BYTES], char out[KEYS_Z85_LEN + 1])
{
    if (zmq_z85_encode(out, key, KEYS_BYTES) == NULL)
        out[0] = '\0';
}

int keys_z85_decode(const char *text, size_t len, uint8_t key[KEYS_BYTES])
{
    char buf[KEYS_Z85_LEN + 1];
    size_t i;

    if (len != KEYS_Z85_LEN)
        return -EINVAL;
    for (i = 0; i < len; i++)
        if (text[i] == '\0' || strchr(keys_alphabet, text[i]) == NULL)
            return -EINVAL;
    memcpy(buf, text, len);
    buf[len] = '\0';
    /* Five characters whose value exceeds 2^32 are not Z85 either. */
    return zmq_z85_decode(key, buf) != NULL ? 0 : -EINVAL;
}

int keys_generate(struct keys_secret *k)
{
    char pub[KEYS_Z85_LEN + 1], sec[KEYS_Z85_LEN + 1];
    int rc = 0;

    if (!keys_available() || zmq_curve_keypair(pub, sec) != 0)
        return -ENOTSUP;
    if (keys_z85_decode(pub, KEYS_Z85_LEN, k->public_key) != 0
        || keys_z85_decode(sec, KEYS_Z85_LEN, k->secret_key) != 0)
        rc = -EINVAL;
    explicit_bzero(sec, sizeof(sec));
    return rc;
}

/* ---- reading ---- */

static int keys_is_z85_token(const char *s, size_t len)
{
    size_t i;

    if (len != KEYS_Z85_LEN)
        return 0;
    for (i = 0; i < len; i++)
        if (strchr(keys_alphabet, s[i]) == NULL || s[i] == '\0')
            return 0;
    return 1;
}

/* One "name = value" line (value quoted with " or ', or bare) of a known
 * name into p; 1 when the line was not one of ours. */
static int keys_parse_assign(const char *line, size_t len, struct keys_parsed *p, const char *path,
                             char *err, size_t errlen)
{
    static const char pub[] = "public-key", sec[] = "secret-key";
    int is_pub = len >= sizeof(pub) - 1 && memcmp(line, pub, sizeof(pub) - 1) == 0;
    int is_sec = len >= sizeof(sec) - 1 && memcmp(line, sec, sizeof(sec) - 1) == 0;
    const char *v = line + sizeof(pub) - 1, *end = line + len;
    int *have;
    uint8_t *slot;

    if (!is_pub && !is_sec)
        return 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    if (v == end || *v != '=')
        return 1;
    for (v++; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    if (end - v >= 2 && (*v == '"' || *v == '\'') && end[-1] == *v) {
        v++;
        end--;
    }
    have = is_pub ? &p->have_public : &p->have_secret;
    slot = is_pub ? p->public_key : p->secret_key;
    if (*have) {
        snprintf(err, errlen, "%s: more than one %s", path, is_pub ? pub : sec);
        return -EINVAL;
    }
    if (keys_z85_decode(v, (size_t)(end - v), slot) != 0) {
        snprintf(err, errlen, "%s: the %s is not %d characters of Z85 (it has %zu): "
                 "make keys with `smtpstorm keygen NAME`", path, is_pub ? pub : sec, KEYS_Z85_LEN,
                 (size_t)(end - v));
        return -EINVAL;
    }
    *have = 1;
    return 0;
}

static int keys_parse_line(const char *line, size_t len, struct keys_parsed *p, const char *path,
                           char *err, size_t errlen)
{
    int rc;

    while (len > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        len--;
    /* A bare key first: '#' is a Z85 digit, so a key may start with one. */
    if (keys_is_z85_token(line, len)) {
        if (p->have_public) {
            snprintf(err, errlen, "%s: more than one public key", path);
            return -EINVAL;
        }
        p->have_public = 1;
        return keys_z85_decode(line, len, p->public_key);
    }
    if (len == 0 || line[0] == '#')
        return 0;
    rc = keys_parse_assign(line, len, p, path, err, errlen);
    return rc == 1 ? 0 : rc;    /* other lines (zcert's metadata) are not ours */
}

static int keys_parse(char *text, size_t len, struct keys_parsed *p, const char *path,
                      char *err, size_t errlen)
{
    size_t i = 0, j;
    int rc;

    memset(p, 0, sizeof(*p));
    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, errlen, "%s: not a text file: a key file is made by `smtpstorm keygen NAME`", path);
        return -EINVAL;
    }
    while (i < len) {
        for (j = i; j < len && text[j] != '\n'; j++)
            ;
        if ((rc = keys_parse_line(text + i, j - i, p, path, err, errlen)) != 0)
            return rc;
        i = j + 1;
    }
    return 0;
}

/* Read the whole (small) file open on fd into buf; returns its length or -errno. */
static ssize_t keys_read_fd(int fd, char *buf, size_t max, const char *path, char *err, size_t errlen)
{
    size_t got = 0;
    ssize_t n;

    while (got <= max) {
        n = read(fd, buf + got, max + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            return -EIO;
        }
        if (n == 0)
            return (ssize_t)got;
        got += (size_t)n;
    }
    snprintf(err, errlen, "%s: larger than %d octets: not a key file", path, KEYS_FILE_MAX);
    return -EFBIG;
}

/* A secret key is private: no access for others, and none for the group
 * either, unless root owns it (and we are not root), when group read is
 * allowed so that Kubernetes secret volumes (root:fsGroup, 0440) work; the
 * rule of PostgreSQL's server key. */
static int keys_private(const char *path, const struct stat *st, char *err, size_t errlen)
{
    uid_t me = geteuid();
    mode_t bad = st->st_uid == 0 && me != 0 ? 037 : 077;

    if (st->st_uid != me && st->st_uid != 0)
        return snprintf(err, errlen, "%s: secret key owned by uid %u, not by this user (uid %u) "
                        "or root: make your own with `smtpstorm keygen NAME`", path,
                        (unsigned)st->st_uid, (unsigned)me), -EPERM;
    if ((st->st_mode & bad) != 0)
        return snprintf(err, errlen, "%s: secret key is accessible to others (mode %04o): "
                        "run `chmod 600 %s` (and make a new key if others may have read it)",
                        path, (unsigned)(st->st_mode & 07777), path), -EPERM;
    return 0;
}

/* Open path, check it (regular; for secrets, private), read and parse it. */
static int keys_load_file(const char *path, int secret, struct keys_parsed *p, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    ssize_t len;
    int fd, rc;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return rc;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        rc = -EINVAL;
        goto out;
    }
    if (secret && (rc = keys_private(path, &st, err, errlen)) != 0)
        goto out;
    if ((buf = malloc(KEYS_FILE_MAX + 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    if ((len = keys_read_fd(fd, buf, KEYS_FILE_MAX, path, err, errlen)) < 0) {
        rc = (int)len;
        goto out;
    }
    rc = keys_parse(buf, (size_t)len, p, path, err, errlen);
    explicit_bzero(buf, (size_t)len);
out:
    free(buf);
    close(fd);
    return rc;
}

int keys_load_secret(const char *path, struct keys_secret *k, char *err, size_t errlen)
{
    struct keys_parsed p;
    char sec[KEYS_Z85_LEN + 1], pub[KEYS_Z85_LEN + 1];
    uint8_t derived[KEYS_BYTES];
    int rc;

    if ((rc = keys_load_file(path, 1, &p, err, errlen)) != 0)
        goto out;
    rc = -EINVAL;
    if (!p.have_secret) {
        snprintf(err, errlen, "%s: no secret-key line: give the NAME.key file that "
                 "`smtpstorm keygen NAME` wrote, not NAME.pub", path);
        goto out;
    }
    keys_z85(p.secret_key, sec);
    if (zmq_curve_public(pub, sec) != 0 || keys_z85_decode(pub, KEYS_Z85_LEN, derived) != 0) {
        snprintf(err, errlen, "%s: cannot derive the public key: is CURVE available in libzmq?", path);
        rc = -ENOTSUP;
        goto out;
    }
    if (p.have_public && memcmp(derived, p.public_key, KEYS_BYTES) != 0) {
        snprintf(err, errlen, "%s: its public-key does not belong to its secret-key: "
                 "the file was edited; make a new pair with `smtpstorm keygen NAME`", path);
        goto out;
    }
    memcpy(k->public_key, derived, KEYS_BYTES);
    memcpy(k->secret_key, p.secret_key, KEYS_BYTES);
    rc = 0;
out:
    explicit_bzero(&p, sizeof(p));
    explicit_bzero(sec, sizeof(sec));
    return rc;
}

int keys_load_public(const char *path, uint8_t key[KEYS_BYTES], char *err, size_t errlen)
{
    struct keys_parsed p;
    int rc;

    if ((rc = keys_load_file(path, 0, &p, err, errlen)) != 0)
        goto out;
    rc = -EINVAL;
    if (p.have_secret) {
        snprintf(err, errlen, "%s holds a secret key: give the NAME.pub file, and keep "
                 "NAME.key where it was made", path);
        goto out;
    }
    if (!p.have_public) {
        snprintf(err, errlen, "%s: no public key in it (a public-key = \"...\" line or a bare "
                 "%d-character Z85 line)", path, KEYS_Z85_LEN);
        goto out;
    }
    memcpy(key, p.public_key, KEYS_BYTES);
    rc = 0;
out:
    explicit_bzero(&p, sizeof(p));
    return rc;
}

/* ---- the authorized-keys directory ---- */

static int keys_ring_add(struct keys_ring *ring, const uint8_t key[KEYS_BYTES], const char *name, size_t namelen)
{
    if (keys_ring_find(ring, key) != NULL)
        return 0;       /* the same key under two names: the first one names it */
    if (ring->n == ring->cap) {
        size_t cap = ring->cap ? 2 * ring->cap : 16;
        void *k = realloc(ring->keys, cap * sizeof(*ring->keys));

        if (k == NULL)
            return -ENOMEM;
        ring->keys = k;
        if ((k = realloc(ring->names, cap * sizeof(*ring->names))) == NULL)
            return -ENOMEM;
        ring->names = k;
        ring->cap = cap;
    }
    memcpy(ring->keys[ring->n], key, KEYS_BYTES);
    if (namelen >= KEYS_NAME_MAX)
        namelen = KEYS_NAME_MAX - 1;
    memcpy(ring->names[ring->n], name, namelen);
    ring->names[ring->n][namelen] = '\0';
    ring->n++;
    return 0;
}

static int keys_writable_by_others(const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        int rc = -errno;

        snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
        return rc;
    }
    if ((st.st_mode & 022) != 0 && !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX)))
        return snprintf(err, errlen, "%s is writable by others (mode %04o): anyone could authorize "
                        "a key; run `chmod go-w %s`", path, (unsigned)(st.st_mode & 07777), path), -EPERM;
    return 0;
}

static int keys_dir_entry(const char *dir, const char *name, struct keys_ring *ring, char *err, size_t errlen)
{
    char path[KEYS_PATH_MAX];
    uint8_t key[KEYS_BYTES];
    size_t len = strlen(name);
    struct stat st;
    int rc;

    if (name[0] == '.' || len <= 4 || strcmp(name + len - 4, ".pub") != 0)
        return 0;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return snprintf(err, errlen, "%s/%s: path too long", dir, name), -ENAMETOOLONG;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if (ring->n >= KEYS_DIR_MAX)
        return snprintf(err, errlen, "%s: more than %d keys", dir, KEYS_DIR_MAX), -E2BIG;
    if ((rc = keys_writable_by_others(path, err, errlen)) != 0
        || (rc = keys_load_public(path, key, err, errlen)) != 0)
        return rc;
    if (keys_ring_add(ring, key, name, len - 4) != 0)
        return snprintf(err, errlen, "out of memory"), -ENOMEM;
    return 0;
}

int keys_load_dir(const char *dir, struct keys_ring *ring, char *err, size_t errlen)
{
    struct dirent *de;
    DIR *d;
    int rc;

    if ((d = opendir(dir)) == NULL) {
        rc = -errno;
        snprintf(err, errlen, "cannot read the authorized-keys directory %s: %s", dir, strerror(errno));
        return rc;
    }
    if ((rc = keys_writable_by_others(dir, err, errlen)) != 0)
        goto out;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if ((rc = keys_dir_entry(dir, de->d_name, ring, err, errlen)) != 0)
            goto out;
        errno = 0;
    }
    if (errno != 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
        goto out;
    }
    if (ring->n == 0) {
        snprintf(err, errlen, "no *.pub files in %s: put each agent's and sink's NAME.pub there "
                 "(made by `smtpstorm keygen NAME`)", dir);
        rc = -ENOENT;
    }
out:
    closedir(d);
    return rc;
}

const char *keys_ring_find(const struct keys_ring *ring, const uint8_t key[KEYS_BYTES])
{
    size_t i;

    for (i = 0; i < ring->n; i++)
        if (memcmp(ring->keys[i], key, KEYS_BYTES) == 0)
            return ring->names[i];
    return NULL;
}

void keys_ring_free(struct keys_ring *ring)
{
    free(ring->keys);
    free(ring->names);
    memset(ring, 0, sizeof(*ring));
}

/* ---- writing ---- */

static int keys_write_file(const char *path, int force, mode_t mode, const char *text,
                           char *err, size_t errlen)
{
    size_t len = strlen(text), off = 0;
    ssize_t n;
    int fd, rc = 0;

    if (force && unlink(path) != 0 && errno != ENOENT) {
        rc = -errno;
        return snprintf(err, errlen, "cannot replace %s: %s", path, strerror(errno)), rc;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = -errno;
        if (errno == EEXIST)
            snprintf(err, errlen, "%s exists: keep it, or give --force to replace it "
                     "(peers holding the old key stop working)", path);
        else
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return rc;
    }
    while (rc == 0 && off < len) {
        n = write(fd, text + off, len - off);
        if (n < 0 && errno != EINTR)
            rc = -errno;
        else if (n > 0)
            off += (size_t)n;
    }
    if (rc == 0 && (fchmod(fd, mode) != 0 || fsync(fd) != 0))
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
        (void)unlink(path);
    }
    return rc;
}

static void keys_header(char *buf, size_t len)
{
    char when[32] = "";
    time_t now = time(NULL);
    struct tm tm;

    if (gmtime_r(&now, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    snprintf(buf, len, "#   ****  Generated on %s by smtpstorm keygen  ****\n", when);
}

int keys_save(const char *name, const struct keys_secret *k, int force, char *err, size_t errlen)
{
    char keypath[KEYS_PATH_MAX], pubpath[KEYS_PATH_MAX], head[96];
    char pub[KEYS_Z85_LEN + 1], sec[KEYS_Z85_LEN + 1], text[1024];
    struct stat st;
    int rc;

    if ((size_t)snprintf(keypath, sizeof(keypath), "%s.key", name) >= sizeof(keypath)
        || (size_t)snprintf(pubpath, sizeof(pubpath), "%s.pub", name) >= sizeof(pubpath))
        return snprintf(err, errlen, "%s: name too long", name), -ENAMETOOLONG;
    if (!force && (lstat(keypath, &st) == 0 || lstat(pubpath, &st) == 0))
        return snprintf(err, errlen, "%s exists: keep it, or give --force to replace %s and %s "
                        "(peers holding the old key stop working)",
                        lstat(keypath, &st) == 0 ? keypath : pubpath, keypath, pubpath), -EEXIST;
    keys_header(head, sizeof(head));
    keys_z85(k->public_key, pub);
    keys_z85(k->secret_key, sec);
    snprintf(text, sizeof(text), "%s#   ZeroMQ CURVE **Secret** Certificate (smtpstorm)\n"
             "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
             "#   Give %s.pub to the other side instead.\n\n"
             "metadata\ncurve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n", head, name, pub, sec);
    rc = keys_write_file(keypath, force, 0600, text, err, errlen);
    explicit_bzero(text, sizeof(text));
    explicit_bzero(sec, sizeof(sec));
    if (rc != 0)
        return rc;
    snprintf(text, sizeof(text), "%s#   ZeroMQ CURVE Public Certificate (smtpstorm)\n"
             "#   Exchange securely, or use a secure mechanism to verify the contents\n"
             "#   of this file after exchange.\n\n"
             "metadata\ncurve\n    public-key = \"%s\"\n", head, pub);
    if ((rc = keys_write_file(pubpath, force, 0644, text, err, errlen)) != 0)
        (void)unlink(keypath);
    return rc;
}
