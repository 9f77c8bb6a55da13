/* mime.c - MIME messages cut from shared pools (see mime.h). */
#include "mime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "textbuf.h"

#define TEXT_WIDTH   72                 /* characters of a text line, CRLF not counted */
#define TEXT_LINE    (TEXT_WIDTH + 2)
#define HTML_LINE    (TEXT_WIDTH + 9)   /* "<p>" text "</p>" CRLF */
#define B64_WIDTH    76                 /* RFC 2045 6.8: at most 76 characters a line */
#define B64_LINE     (B64_WIDTH + 2)
#define B64_GROUP    57                 /* decoded octets of a full line */
#define SLACK_LINES  1024               /* cuts start anywhere in this many lines */

enum {                  /* lib/dist.h streams of a message's MIME draws */
    STREAM_TEXT_SIZE = DIST_STREAM_FREE, STREAM_TEXT_LINE, STREAM_COUNT, STREAM_ATTACH = DIST_STREAM_FREE + 48
};

static const char *const words[] = {
    "the", "of", "and", "to", "in", "for", "is", "on", "that", "by", "this", "with", "you", "it",
    "not", "or", "be", "are", "from", "at", "as", "your", "all", "have", "new", "more", "an", "was",
    "we", "will", "home", "can", "us", "about", "if", "page", "my", "has", "search", "free", "but",
    "our", "one", "other", "do", "no", "information", "time", "they", "site", "he", "up", "may",
    "what", "which", "their", "news", "out", "use", "any", "there", "see", "only", "so", "his",
    "when", "contact", "here", "business", "who", "web", "also", "now", "help", "get", "view",
    "online", "first", "been", "would", "how", "were", "me", "services", "some", "these", "click",
    "its", "like", "service", "than", "find", "price", "date", "back", "top", "people", "had",
    "list", "name", "just", "over", "state", "year", "day", "into", "email", "two", "health",
    "world", "next", "used", "go", "work", "last", "most", "products", "music", "buy", "data",
    "make", "them", "should", "product", "system", "post", "her", "city", "add", "policy",
    "number", "such", "please", "available", "copyright", "support", "message", "after", "best",
    "software", "then", "jan", "good", "video", "well", "where", "info", "rights", "public",
    "books", "high", "school", "through", "each", "links", "she", "review", "years", "order",
    "very", "privacy", "book", "items", "company", "read", "group", "need", "many", "user",
    "said", "does", "set", "under", "general", "research", "university", "january", "mail",
    "full", "map", "reviews", "program", "life", "know", "games", "way", "days", "management",
    "part", "could", "great", "united", "hotel", "real", "item", "international", "center",
    "must", "store", "travel", "comments", "made", "development", "report", "off", "member",
    "details", "line", "terms", "before", "hotels", "did", "send", "right", "type", "because",
    "local", "those", "using", "results", "office", "education", "national", "car", "design",
    "take", "posted", "internet", "address", "community", "within", "states", "area", "want",
    "phone", "shipping", "reserved", "subject", "between", "forum", "family", "long", "based",
    "code", "show", "even", "black", "check", "special", "prices", "website", "index", "being",
    "women", "much", "sign", "file", "link", "open", "today", "technology", "south", "case",
    "project", "same", "pages", "version", "section", "own", "found", "sports", "house",
};

/* Attachment names and types a mail client sends. */
static const struct { const char *stem, *ext, *type; } kinds[] = {
    { "report", "pdf", "application/pdf" },
    { "photo", "jpg", "image/jpeg" },
    { "archive", "zip", "application/zip" },
    { "budget", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
    { "notes", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
    { "diagram", "png", "image/png" },
    { "minutes", "odt", "application/vnd.oasis.opendocument.text" },
    { "backup", "tar.gz", "application/gzip" },
};

#define N_WORDS (sizeof(words) / sizeof(words[0]))
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static uint64_t next_random(uint64_t *state)
{
    *state += 1;
    return dist_random(0, *state, DIST_STREAM_SIZE);
}

/* text_line - one line of exactly TEXT_WIDTH characters of words. */
static void text_line(char *out, uint64_t *rng)
{
    size_t n = 0, len;
    const char *w;

    while (n < TEXT_WIDTH) {
        w = words[next_random(rng) % N_WORDS];
        len = strlen(w);
        if (n > 0) {
            out[n++] = ' ';
            if (n == TEXT_WIDTH)
                break;
        }
        if (len > TEXT_WIDTH - n)
            len = TEXT_WIDTH - n;   /* the line's last word is cut to fit */
        memcpy(out + n, w, len);
        n += len;
    }
    if (out[TEXT_WIDTH - 1] == ' ')
        out[TEXT_WIDTH - 1] = 'a';  /* no trailing space */
}

static void b64_line(char *out, uint64_t *rng)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (int i = 0; i < B64_WIDTH; i++)
        out[i] = alphabet[next_random(rng) & 63];
}

int mime_pool_build(struct mime_pool *p, uint64_t max_text, uint64_t max_attach, uint64_t seed)
{
    uint64_t rng = seed * 0x9e3779b97f4a7c15ULL;
    size_t i;

    memset(p, 0, sizeof(*p));
    p->text_lines = (size_t)(max_text / TEXT_LINE) + 1 + SLACK_LINES;
    p->b64_lines = max_attach ? (size_t)(max_attach / B64_GROUP) + 1 + SLACK_LINES : 0;
    p->text = malloc(p->text_lines * TEXT_LINE);
    p->html = malloc(p->text_lines * HTML_LINE);
    p->b64 = p->b64_lines ? malloc(p->b64_lines * B64_LINE) : NULL;
    if (p->text == NULL || p->html == NULL || (p->b64_lines && p->b64 == NULL)) {
        mime_pool_free(p);
        return -ENOMEM;
    }
    for (i = 0; i < p->text_lines; i++) {
        char *t = p->text + i * TEXT_LINE, *h = p->html + i * HTML_LINE;

        text_line(t, &rng);
        memcpy(t + TEXT_WIDTH, "\r\n", 2);
        memcpy(h, "<p>", 3);
        memcpy(h + 3, t, TEXT_WIDTH);
        memcpy(h + 3 + TEXT_WIDTH, "</p>\r\n", 6);
    }
    for (i = 0; i < p->b64_lines; i++) {
        b64_line(p->b64 + i * B64_LINE, &rng);
        memcpy(p->b64 + i * B64_LINE + B64_WIDTH, "\r\n", 2);
    }
    return 0;
}

int mime_pool_for(struct mime_pool *p, const struct mime_spec *spec, uint64_t seed)
{
    return mime_pool_build(p, spec->text_size ? dist_max(spec->text_size) : MIME_TEXT_DEFAULT,
                           spec->attach_size ? dist_max(spec->attach_size) : 0, seed);
}

void mime_pool_free(struct mime_pool *p)
{
    free(p->text);
    free(p->html);
    free(p->b64);
    memset(p, 0, sizeof(*p));
}

void mime_plan_draw(const struct mime_spec *spec, const struct mime_pool *pool, uint64_t seed,
                    uint64_t seq, struct mime_plan *out)
{
    memset(out, 0, sizeof(*out));
    out->seq = seq;
    out->text_len = spec->text_size ? dist_draw(spec->text_size, dist_random(seed, seq, STREAM_TEXT_SIZE))
                                    : MIME_TEXT_DEFAULT;
    out->text_line = dist_random(seed, seq, STREAM_TEXT_LINE) % SLACK_LINES;
    if (spec->attach_size == NULL)
        return;
    out->n_attach = spec->attach_count
        ? (int)dist_draw(spec->attach_count, dist_random(seed, seq, STREAM_COUNT)) : 1;
    for (int i = 0; i < out->n_attach; i++) {
        uint64_t r = dist_random(seed, seq, (STREAM_ATTACH + 3 * i));

        out->attach_len[i] = dist_draw(spec->attach_size, r);
        out->attach_line[i] = dist_random(seed, seq, (STREAM_ATTACH + 3 * i + 1))
                              % SLACK_LINES;
        out->attach_kind[i] = (unsigned)(dist_random(seed, seq, (STREAM_ATTACH + 3 * i + 2))
                                         % N_KINDS);
    }
    (void)pool;
}

/* The writing side: formatted text goes through a scratch textbuf that is
 * handed to out->copy whenever a pool piece follows, and at the end. */
struct emit {
    const struct mime_sink *out;
    struct textbuf b;
    char scratch[MIME_OVERHEAD_MAX];
    int rc;
};

static void flush_text(struct emit *e)
{
    if (e->rc == 0 && e->b.len > 0)
        e->rc = e->b.overflow ? -ENOBUFS : e->out->copy(e->out->arg, e->b.p, e->b.len);
    textbuf_init(&e->b, e->scratch, sizeof(e->scratch));
}

static void keep(struct emit *e, const char *p, size_t n)
{
    flush_text(e);
    if (e->rc == 0 && n > 0)
        e->rc = e->out->keep(e->out->arg, p, n);
}

static void boundary(struct emit *e, uint64_t seq, char kind, int last)
{
    TEXTBUF_LIT(&e->b, "--=_smtpstorm_");
    textbuf_u64(&e->b, seq);
    textbuf_put(&e->b, &kind, 1);
    if (last)
        TEXTBUF_LIT(&e->b, "--");
    TEXTBUF_LIT(&e->b, "\r\n");
}

static void top_headers(struct emit *e, const struct mime_plan *plan, const struct mime_headers *h)
{
    struct textbuf *b = &e->b;

    TEXTBUF_LIT(b, "From: <");
    textbuf_str(b, h->sender);
    TEXTBUF_LIT(b, ">\r\nTo: <");
    textbuf_str(b, h->recipient);
    TEXTBUF_LIT(b, ">\r\nSubject: ");
    if (h->subject) {
        textbuf_str(b, h->subject);
    } else {
        TEXTBUF_LIT(b, "Test message ");
        textbuf_u64(b, plan->seq);
    }
    TEXTBUF_LIT(b, "\r\nDate: ");
    textbuf_str(b, h->date);
    TEXTBUF_LIT(b, "\r\nMessage-ID: <");
    textbuf_u64(b, plan->seq);
    TEXTBUF_LIT(b, ".");
    textbuf_str(b, h->agent);
    TEXTBUF_LIT(b, ".");
    textbuf_str(b, h->campaign);
    TEXTBUF_LIT(b, "@");
    textbuf_str(b, h->myhostname);
    TEXTBUF_LIT(b, ">\r\nMIME-Version: 1.0\r\nContent-Type: multipart/");
    textbuf_str(b, plan->n_attach ? "mixed" : "alternative");
    TEXTBUF_LIT(b, "; boundary=\"=_smtpstorm_");
    textbuf_u64(b, plan->seq);
    textbuf_put(b, plan->n_attach ? "m" : "a", 1);
    TEXTBUF_LIT(b, "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n");
}

/* text_parts - text/plain and text/html of the same words, in multipart/alternative. */
static void text_parts(struct emit *e, const struct mime_plan *plan, const struct mime_pool *pool)
{
    uint64_t lines = plan->text_len / TEXT_LINE, rest = plan->text_len % TEXT_LINE;
    const char *t = pool->text + plan->text_line * TEXT_LINE;
    const char *html = pool->html + plan->text_line * HTML_LINE;

    if (rest > TEXT_WIDTH)
        rest = TEXT_WIDTH;
    if (plan->n_attach) {
        boundary(e, plan->seq, 'm', 0);
        TEXTBUF_LIT(&e->b, "Content-Type: multipart/alternative; boundary=\"=_smtpstorm_");
        textbuf_u64(&e->b, plan->seq);
        TEXTBUF_LIT(&e->b, "a\"\r\n\r\n");
    }
    boundary(e, plan->seq, 'a', 0);
    TEXTBUF_LIT(&e->b, "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n");
    keep(e, t, (size_t)lines * TEXT_LINE);
    textbuf_put(&e->b, t + lines * TEXT_LINE, (size_t)rest);
    TEXTBUF_LIT(&e->b, "\r\n");
    boundary(e, plan->seq, 'a', 0);
    TEXTBUF_LIT(&e->b, "Content-Type: text/html; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
                "<html><body>\r\n");
    keep(e, html, (size_t)lines * HTML_LINE);
    if (rest > 0) {
        TEXTBUF_LIT(&e->b, "<p>");
        textbuf_put(&e->b, t + lines * TEXT_LINE, (size_t)rest);
        TEXTBUF_LIT(&e->b, "</p>\r\n");
    }
    TEXTBUF_LIT(&e->b, "</body></html>\r\n");
    boundary(e, plan->seq, 'a', 1);
}

/* b64_tail - the base64 of the last rest (< B64_GROUP) octets: whole groups
 * from the pool line, then a canonical padded group for 1 or 2 octets. */
static void b64_tail(struct emit *e, const char *line, uint64_t rest)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t whole = (size_t)(rest / 3) * 4;

    if (rest == 0)
        return;
    textbuf_put(&e->b, line, whole);
    if (rest % 3 == 1) {        /* one octet: two characters, the second's low bits zero */
        textbuf_put(&e->b, line + whole, 1);
        textbuf_put(&e->b, &alphabet[(line[whole + 1] & 3) << 4], 1);
        TEXTBUF_LIT(&e->b, "==");
    } else if (rest % 3 == 2) { /* two octets: three characters, the third's low bits zero */
        textbuf_put(&e->b, line + whole, 2);
        textbuf_put(&e->b, &alphabet[(line[whole + 2] & 15) << 2], 1);
        TEXTBUF_LIT(&e->b, "=");
    }
    TEXTBUF_LIT(&e->b, "\r\n");
}

static void attachment(struct emit *e, const struct mime_plan *plan, const struct mime_pool *pool, int i)
{
    uint64_t lines = plan->attach_len[i] / B64_GROUP, rest = plan->attach_len[i] % B64_GROUP;
    const char *b64 = pool->b64 + plan->attach_line[i] * B64_LINE;
    unsigned k = plan->attach_kind[i];

    boundary(e, plan->seq, 'm', 0);
    for (int pass = 0; pass < 2; pass++) {
        textbuf_str(&e->b, pass == 0 ? "Content-Type: " : "Content-Disposition: attachment; filename=\"");
        if (pass == 0) {
            textbuf_str(&e->b, kinds[k].type);
            TEXTBUF_LIT(&e->b, "; name=\"");
        }
        textbuf_str(&e->b, kinds[k].stem);
        TEXTBUF_LIT(&e->b, "-");
        textbuf_u64(&e->b, plan->seq);
        TEXTBUF_LIT(&e->b, "-");
        textbuf_u64(&e->b, (uint64_t)i + 1);
        TEXTBUF_LIT(&e->b, ".");
        textbuf_str(&e->b, kinds[k].ext);
        TEXTBUF_LIT(&e->b, "\"\r\n");
        if (pass == 0)
            TEXTBUF_LIT(&e->b, "Content-Transfer-Encoding: base64\r\n");
    }
    TEXTBUF_LIT(&e->b, "\r\n");
    keep(e, b64, (size_t)lines * B64_LINE);
    b64_tail(e, b64 + lines * B64_LINE, rest);
}

int mime_emit(const struct mime_plan *plan, const struct mime_pool *pool, const struct mime_headers *h,
              const struct mime_sink *out)
{
    struct emit e;

    e.out = out;
    e.rc = 0;
    textbuf_init(&e.b, e.scratch, sizeof(e.scratch));
    top_headers(&e, plan, h);
    text_parts(&e, plan, pool);
    for (int i = 0; i < plan->n_attach; i++)
        attachment(&e, plan, pool, i);
    if (plan->n_attach)
        boundary(&e, plan->seq, 'm', 1);
    flush_text(&e);
    return e.rc;
}

static int count_piece(void *arg, const char *p, size_t n)
{
    (void)p;
    *(size_t *)arg += n;
    return 0;
}

size_t mime_size(const struct mime_plan *plan, const struct mime_pool *pool, const struct mime_headers *h)
{
    size_t n = 0;
    const struct mime_sink counter = { count_piece, count_piece, &n };

    return mime_emit(plan, pool, h, &counter) == 0 ? n : 0;
}
