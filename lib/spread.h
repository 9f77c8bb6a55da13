/* spread.h - where a campaign's mail goes and comes from: recipients
 * spread over N numbered domains (--rcpt-domains) or over the addresses
 * and domains of a list (--rcpt-file), uniformly, by the list's weights or
 * by a Zipf law (--rcpt-zipf); senders numbered (--senders N) or from a
 * list (--senders FILE). Each draw depends on the seed, the message's
 * number and the recipient's place alone (lib/dist.h), so every agent
 * draws the same campaign. Built once, shared read-only. */
#ifndef SMTPSTORM_SPREAD_H
#define SMTPSTORM_SPREAD_H

#include <stddef.h>
#include <stdint.h>

#define SPREAD_ITEMS_MAX   1000000      /* numbered domains or list lines */
#define SPREAD_ITEM_MAX    255          /* one address or domain */
#define SPREAD_ZIPF_MAX    10.0
#define SPREAD_FILE_MAX    (64u << 20)  /* a list file's octets */

/* One spread: numbered (n names made from base) or a list. */
struct spread {
    const char *base;           /* numbered: the address the numbers go into; not owned */
    int domains;                /* numbered: number the domain (d7.example.test), else the
                                 * local part (foo7@example.test) */
    char **items;               /* a list: addresses, or domains (no '@') for base's user */
    size_t n;
    uint64_t *cum;              /* cumulative weights, NULL: uniform */
    uint64_t total;
};

/* spread_numbered - n names from base (an address): domains 1 numbers the
 * domain part, 0 the local part. Zipf exponent s > 0 weighs name k by
 * 1/k^s (0: uniform). The caller owns sp (spread_free). 0, or -EINVAL /
 * -ENOMEM with the reason in err. */
int spread_numbered(struct spread *sp, const char *base, int domains, uint64_t n, double zipf, char *err,
                    size_t errlen);

/* spread_parse_list - a list's text: one address or domain a line, with an
 * optional weight after a space (a whole number from 1; default 1); empty
 * lines and lines starting with '#' are skipped; zipf > 0 replaces the
 * weights by a Zipf law over the lines' order. name names the list in
 * errors, with the line ("rcpts.txt:3: bad weight 'x'"). The caller owns sp. */
int spread_parse_list(struct spread *sp, const char *name, const char *text, size_t len, double zipf,
                      char *err, size_t errlen);

/* spread_free - release sp; an empty spread is harmless. */
void spread_free(struct spread *sp);

/* spread_pick - the address for random word r into out (cap octets, with
 * user as the local part of a list's domains): its length, or -1 when
 * it does not fit. */
int spread_pick(const struct spread *sp, uint64_t r, const char *user, char *out, size_t cap);

#endif
