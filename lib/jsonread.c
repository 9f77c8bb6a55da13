/* jsonread.c - a strict, bounded JSON reader (see jsonread.h): recursive
 * descent over the text, at most JSONREAD_DEPTH_MAX deep, every length
 * checked against what is left before it is used. */
#include "jsonread.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jsonread {
    const char *text;
    size_t len, at;
    int failed;                 /* -EINVAL or -ENOMEM once an error is written */
    char *err;
    size_t errlen;
};

/* jsonread_fail - "line L column C: why" at the current position; returns NULL. */
static struct jsonread_value *jsonread_fail(struct jsonread *p, int e, const char *why)
{
    size_t i, line = 1, col = 1;

    if (p->failed)
        return NULL;
    for (i = 0; i < p->at && i < p->len; i++) {
        if (p->text[i] == '\n')
            line++, col = 1;
        else
            col++;
    }
    p->failed = e;
    snprintf(p->err, p->errlen, "line %zu column %zu: %s", line, col, why);
    return NULL;
}

static void jsonread_space(struct jsonread *p)
{
    while (p->at < p->len && (p->text[p->at] == ' ' || p->text[p->at] == '\t' || p->text[p->at] == '\n'
                              || p->text[p->at] == '\r'))
        p->at++;
}

static struct jsonread_value *jsonread_new(struct jsonread *p, enum jsonread_type type)
{
    struct jsonread_value *v = calloc(1, sizeof(*v));

    if (v == NULL)
        return jsonread_fail(p, -ENOMEM, "out of memory");
    v->type = type;
    return v;
}

static struct jsonread_value *jsonread_value(struct jsonread *p, int depth);

static int jsonread_hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* jsonread_utf8_put - code point cp as UTF-8 at out; returns its length. */
static size_t jsonread_utf8_put(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* jsonread_utf8_len - the length of the well-formed UTF-8 sequence at s
 * (at most left octets; RFC 3629: no overlongs, surrogates or beyond
 * U+10FFFF), or 0 when it is not one. */
static size_t jsonread_utf8_len(const unsigned char *s, size_t left)
{
    size_t n, i;
    unsigned cp;

    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) n = 4, cp = s[0] & 0x07;
    else return 0;
    if (n > left)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* jsonread_escape - the escape after a backslash at p->at into out;
 * returns its decoded length, 0 on error (written). */
static size_t jsonread_escape(struct jsonread *p, char *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit;
    unsigned cp, lo;

    if (p->at >= p->len)
        return jsonread_fail(p, -EINVAL, "unterminated string"), 0;
    if (p->text[p->at] != 'u') {
        if (p->text[p->at] == '\0' || (hit = strchr(from, p->text[p->at])) == NULL)
            return jsonread_fail(p, -EINVAL, "unknown escape in a string"), 0;
        p->at++;
        *out = to[hit - from];
        return 1;
    }
    if (p->len - p->at < 5 || jsonread_hex4(p->text + p->at + 1, &cp) != 0)
        return jsonread_fail(p, -EINVAL, "\\u takes four hex digits"), 0;
    p->at += 5;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return jsonread_fail(p, -EINVAL, "a lone low surrogate"), 0;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->len - p->at < 6 || p->text[p->at] != '\\' || p->text[p->at + 1] != 'u'
            || jsonread_hex4(p->text + p->at + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
            return jsonread_fail(p, -EINVAL, "a high surrogate without its low one"), 0;
        p->at += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    return jsonread_utf8_put(cp, out);
}

/* jsonread_chars - a string's text from just after its opening quote to
 * its closing one, decoded into a new buffer (*out, *outlen). 0 or -1. */
static int jsonread_chars(struct jsonread *p, char **out, size_t *outlen)
{
    size_t start = p->at, n = 0, k;
    char *buf;

    while (p->at < p->len && p->text[p->at] != '"')     /* decoded is never longer than encoded */
        p->at += p->text[p->at] == '\\' && p->at + 1 < p->len ? 2 : 1;
    if (p->at >= p->len)
        return jsonread_fail(p, -EINVAL, "unterminated string"), -1;
    if ((buf = malloc(p->at - start + 1)) == NULL)
        return jsonread_fail(p, -ENOMEM, "out of memory"), -1;
    for (p->at = start; p->text[p->at] != '"';) {
        unsigned char c = (unsigned char)p->text[p->at];

        if (c < 0x20) {
            jsonread_fail(p, -EINVAL, "a control character in a string");
            goto fail;
        }
        if (c == '\\') {
            p->at++;
            if ((k = jsonread_escape(p, buf + n)) == 0)
                goto fail;
        } else if ((k = jsonread_utf8_len((const unsigned char *)p->text + p->at, p->len - p->at)) == 0) {
            jsonread_fail(p, -EINVAL, "invalid UTF-8 in a string");
            goto fail;
        } else {
            memcpy(buf + n, p->text + p->at, k);
            p->at += k;
        }
        n += k;
    }
    p->at++;
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
fail:
    free(buf);
    return -1;
}

static struct jsonread_value *jsonread_string_value(struct jsonread *p)
{
    struct jsonread_value *v = jsonread_new(p, JSONREAD_STRING);

    p->at++;
    if (v == NULL || jsonread_chars(p, &v->string, &v->string_len) != 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* jsonread_digits - one or more digits; returns how many. */
static size_t jsonread_digits(struct jsonread *p)
{
    size_t start = p->at;

    while (p->at < p->len && p->text[p->at] >= '0' && p->text[p->at] <= '9')
        p->at++;
    return p->at - start;
}

/* jsonread_number_value - RFC 8259's number grammar checked here, the
 * value converted by strtod (C locale) from a bounded copy. */
static struct jsonread_value *jsonread_number_value(struct jsonread *p)
{
    size_t start = p->at, n;
    char copy[64];
    struct jsonread_value *v;

    if (p->text[p->at] == '-')
        p->at++;
    if (p->at < p->len && p->text[p->at] == '0')
        p->at++;
    else if (jsonread_digits(p) == 0)
        return jsonread_fail(p, -EINVAL, "expected a value");
    if (p->at < p->len && p->text[p->at] == '.' && (p->at++, jsonread_digits(p) == 0))
        return jsonread_fail(p, -EINVAL, "a number needs digits after '.'");
    if (p->at < p->len && (p->text[p->at] == 'e' || p->text[p->at] == 'E')) {
        p->at++;
        if (p->at < p->len && (p->text[p->at] == '+' || p->text[p->at] == '-'))
            p->at++;
        if (jsonread_digits(p) == 0)
            return jsonread_fail(p, -EINVAL, "a number needs digits in its exponent");
    }
    n = p->at - start;
    if (n >= sizeof(copy))
        return p->at = start, jsonread_fail(p, -EINVAL, "a number longer than 63 characters");
    memcpy(copy, p->text + start, n);
    copy[n] = '\0';
    if ((v = jsonread_new(p, JSONREAD_NUMBER)) == NULL)
        return NULL;
    v->number = strtod(copy, NULL);
    if (!isfinite(v->number)) {
        free(v);
        return p->at = start, jsonread_fail(p, -EINVAL, "a number out of range");
    }
    return v;
}

static struct jsonread_value *jsonread_word(struct jsonread *p)
{
    static const struct { const char *word; enum jsonread_type type; } words[] = {
        { "null", JSONREAD_NULL }, { "true", JSONREAD_TRUE }, { "false", JSONREAD_FALSE },
    };
    size_t i, n;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        n = strlen(words[i].word);
        if (p->len - p->at >= n && memcmp(p->text + p->at, words[i].word, n) == 0) {
            p->at += n;
            return jsonread_new(p, words[i].type);
        }
    }
    return jsonread_fail(p, -EINVAL, "expected a value");
}

/* jsonread_has_key - whether object v already has a member named key. */
static int jsonread_has_key(const struct jsonread_value *v, const char *key, size_t keylen)
{
    const struct jsonread_value *c;

    for (c = v->child; c; c = c->next)
        if (strlen(c->key) == keylen && memcmp(c->key, key, keylen) == 0)
            return 1;
    return 0;
}

/* jsonread_member - an object's "key": value, appended after *tail. */
static int jsonread_member(struct jsonread *p, struct jsonread_value *obj, struct jsonread_value **tail, int depth)
{
    struct jsonread_value *m;
    char *key;
    size_t keylen;

    jsonread_space(p);
    if (obj->n_children >= JSONREAD_MEMBERS_MAX)
        return jsonread_fail(p, -EINVAL, "too many keys in one object"), -1;
    if (p->at >= p->len || p->text[p->at] != '"')
        return jsonread_fail(p, -EINVAL, "expected a member's key in double quotes"), -1;
    p->at++;
    if (jsonread_chars(p, &key, &keylen) != 0)
        return -1;
    if (strlen(key) != keylen || jsonread_has_key(obj, key, keylen)) {
        free(key);
        return jsonread_fail(p, -EINVAL, "a key twice in one object (or holding a NUL)"), -1;
    }
    jsonread_space(p);
    if (p->at >= p->len || p->text[p->at] != ':') {
        free(key);
        return jsonread_fail(p, -EINVAL, "expected ':' after a key"), -1;
    }
    p->at++;
    if ((m = jsonread_value(p, depth + 1)) == NULL) {
        free(key);
        return -1;
    }
    m->key = key;
    *tail = m;
    obj->n_children++;
    return 0;
}

/* jsonread_container - an array or object at p->at ('[' or '{'). */
static struct jsonread_value *jsonread_container(struct jsonread *p, int depth)
{
    int object = p->text[p->at] == '{';
    char close = object ? '}' : ']';
    struct jsonread_value *v, **tail;

    if (depth >= JSONREAD_DEPTH_MAX)
        return jsonread_fail(p, -EINVAL, "nested too deep");
    if ((v = jsonread_new(p, object ? JSONREAD_OBJECT : JSONREAD_ARRAY)) == NULL)
        return NULL;
    tail = &v->child;
    p->at++;
    jsonread_space(p);
    if (p->at < p->len && p->text[p->at] == close) {
        p->at++;
        return v;
    }
    for (;;) {
        if (object ? jsonread_member(p, v, tail, depth) != 0
                   : (*tail = jsonread_value(p, depth + 1)) == NULL)
            goto fail;
        if (!object)
            v->n_children++;
        tail = &(*tail)->next;
        jsonread_space(p);
        if (p->at < p->len && p->text[p->at] == ',') {
            p->at++;
            continue;
        }
        if (p->at < p->len && p->text[p->at] == close) {
            p->at++;
            return v;
        }
        jsonread_fail(p, -EINVAL, object ? "expected ',' or '}'" : "expected ',' or ']'");
        goto fail;
    }
fail:
    jsonread_free(v);
    return NULL;
}

static struct jsonread_value *jsonread_value(struct jsonread *p, int depth)
{
    char c;

    jsonread_space(p);
    if (p->at >= p->len)
        return jsonread_fail(p, -EINVAL, "expected a value, found the end");
    c = p->text[p->at];
    if (c == '{' || c == '[')
        return jsonread_container(p, depth);
    if (c == '"')
        return jsonread_string_value(p);
    if (c == '-' || (c >= '0' && c <= '9'))
        return jsonread_number_value(p);
    return jsonread_word(p);
}

int jsonread_parse(const char *text, size_t len, struct jsonread_value **out, char *err, size_t errlen)
{
    struct jsonread p = { text, len, 0, 0, err, errlen };
    struct jsonread_value *v;

    *out = NULL;
    if (len > JSONREAD_TEXT_MAX) {
        snprintf(err, errlen, "longer than %u octets", JSONREAD_TEXT_MAX);
        return -EINVAL;
    }
    if ((v = jsonread_value(&p, 0)) == NULL)
        return p.failed ? p.failed : -EINVAL;
    jsonread_space(&p);
    if (p.at != len) {
        jsonread_fail(&p, -EINVAL, "text after the value");
        jsonread_free(v);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

void jsonread_free(struct jsonread_value *v)
{
    struct jsonread_value *next;

    for (; v; v = next) {       /* siblings in a loop; children recurse, at most JSONREAD_DEPTH_MAX deep */
        next = v->next;
        jsonread_free(v->child);
        free(v->string);
        free(v->key);
        free(v);
    }
}

const struct jsonread_value *jsonread_get(const struct jsonread_value *v, const char *key)
{
    const struct jsonread_value *c;

    if (v == NULL || v->type != JSONREAD_OBJECT)
        return NULL;
    for (c = v->child; c; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

const struct jsonread_value *jsonread_at(const struct jsonread_value *v, size_t i)
{
    const struct jsonread_value *c;

    if (v == NULL || v->type != JSONREAD_ARRAY)
        return NULL;
    for (c = v->child; c && i > 0; c = c->next)
        i--;
    return c;
}

int jsonread_number(const struct jsonread_value *v, double *out)
{
    if (v == NULL || v->type != JSONREAD_NUMBER)
        return -1;
    *out = v->number;
    return 0;
}

const char *jsonread_string(const struct jsonread_value *v)
{
    return v != NULL && v->type == JSONREAD_STRING ? v->string : NULL;
}
