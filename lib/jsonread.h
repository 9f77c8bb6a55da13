/* jsonread.h - a strict, bounded JSON reader (RFC 8259) for the reports
 * smtpstorm writes, read back by `smtpstorm compare`: the whole text
 * into a tree of values, or an error naming the line and column. Nothing
 * beyond the grammar is accepted (no comments, no trailing commas, no NaN,
 * no duplicate keys, no invalid UTF-8), and depth and size are bounded. */
#ifndef SMTPSTORM_JSONREAD_H
#define SMTPSTORM_JSONREAD_H

#include <stddef.h>

#define JSONREAD_DEPTH_MAX 64           /* nesting: a report needs 4 */
#define JSONREAD_TEXT_MAX  (256u << 20) /* octets: a day-long campaign's timeline is ~50 MB */
#define JSONREAD_MEMBERS_MAX 4096       /* keys in one object (each checked against the others) */

enum jsonread_type {
    JSONREAD_NULL, JSONREAD_FALSE, JSONREAD_TRUE, JSONREAD_NUMBER, JSONREAD_STRING, JSONREAD_ARRAY,
    JSONREAD_OBJECT,
};

/* One value. An array's or object's children are a list through next; an
 * object's children carry their key. */
struct jsonread_value {
    enum jsonread_type type;
    double number;                      /* JSONREAD_NUMBER */
    char *string;                       /* JSONREAD_STRING: decoded UTF-8, NUL-terminated */
    size_t string_len;                  /* octets in string (it may hold a NUL) */
    char *key;                          /* a member of an object: its key; else NULL */
    struct jsonread_value *child;       /* first element or member */
    size_t n_children;
    struct jsonread_value *next;        /* next sibling */
};

/* jsonread_parse - parse text[0..len) as one JSON value. On success *out
 * is the tree, which the caller frees with jsonread_free. Returns 0, or
 * -EINVAL (bad JSON, too deep, too long) or -ENOMEM with "line L column C:
 * reason" in err; *out is then NULL. */
int jsonread_parse(const char *text, size_t len, struct jsonread_value **out, char *err, size_t errlen);

/* jsonread_free - free v and everything below it; NULL is fine. */
void jsonread_free(struct jsonread_value *v);

/* jsonread_get - the member key of object v; NULL when v is not an object
 * or has no such member. The pointer lives as long as the tree. */
const struct jsonread_value *jsonread_get(const struct jsonread_value *v, const char *key);

/* jsonread_at - element i of array v; NULL when v is not an array or too short. */
const struct jsonread_value *jsonread_at(const struct jsonread_value *v, size_t i);

/* jsonread_number - v's number into *out: 0, or -1 when v is NULL or not a number. */
int jsonread_number(const struct jsonread_value *v, double *out);

/* jsonread_string - v's string (valid as long as the tree), or NULL when v
 * is NULL or not a string. */
const char *jsonread_string(const struct jsonread_value *v);

#endif
