/* session.c - smtp-sink's SMTP/LMTP conversation as a pure state machine
 * (see session.h): command lines, DATA's end found by eod_find, BDAT chunks,
 * the trace header looked for in the header section only, replies
 * collected in one buffer so pipelined commands cost one write. */
#include "session.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "log.h"

enum { SINK_PEND_NONE, SINK_PEND_REPLY, SINK_PEND_ABORT, SINK_PEND_READ };

_Static_assert(SINK_SESSION_AUTH_LINE < SINK_SESSION_LINE_BUF, "an AUTH line fits the line buffer");

#define REPLY_TOO_BIG "552 5.3.4 Message size exceeds fixed limit"     /* RFC 1870 section 6 */

static const char eod_pattern[] = "\r\n.\r\n";

/* ---- buffers taken while data is in flight ---- */

/* out_give_back - every reply is sent: the buffer goes back to the pool. */
static void out_give_back(struct sink_session *s)
{
    poolbuf_release(&s->common->out_pool, &s->out);
}

/* out_add - queue reply octets. */
static void out_add(struct sink_session *s, const char *p, size_t len)
{
    if (poolbuf_reserve(&s->common->out_pool, &s->out, len) != 0) {
        s->closing = 1;         /* out of memory: end this session only */
        return;
    }
    memcpy(s->out.p + s->out.len, p, len);
    s->out.len += len;
}

/* reply - one reply line; CRLF added. */
static void reply(struct sink_session *s, const char *text)
{
    out_add(s, text, strlen(text));
    out_add(s, "\r\n", 2);
}

void sink_session_output_consume(struct sink_session *s, size_t n)
{
    assert(n <= s->out.len);        /* no more sent than sink_session_output gave */
    if (n >= s->out.len) {
        out_give_back(s);
        return;
    }
    memmove(s->out.p, s->out.p + n, s->out.len - n);
    s->out.len -= n;
}

/* work_take - the work area, from the pool unless held already; NULL when
 * out of memory (the session then closes). */
static struct sink_session_work *work_take(struct sink_session *s)
{
    if (s->work == NULL && (s->work = bufpool_get(&s->common->work_pool)) == NULL)
        s->closing = 1;
    return s->work;
}

/* work_give_back - back to the pool once nothing in it is in use: no half
 * command line, no half header line, no delayed reply. */
static void work_give_back(struct sink_session *s)
{
    if (s->work == NULL || s->line_len > 0 || s->line_long || s->hdr_len > 0 || s->hdr_long
        || s->pending == SINK_PEND_REPLY)
        return;
    bufpool_put(&s->common->work_pool, s->work);
    s->work = NULL;
}

/* ---- setup ---- */

static void ehlo_line(char *buf, size_t *len, const char *text)
{
    int n = snprintf(buf + *len, SINK_SESSION_EHLO_MAX - *len, "250-%s\r\n", text);

    if (n > 0 && *len + (size_t)n < SINK_SESSION_EHLO_MAX)
        *len += (size_t)n;
}

/* build_ehlo - smtp-sink's EHLO lines, then SIZE, SMTPUTF8, CHUNKING, STARTTLS. */
static void build_ehlo(struct sink_session_common *cm, int with_tls)
{
    const struct sink_config *c = cm->cfg;
    char *b = cm->ehlo[with_tls], size[32];
    size_t n = 0;

    snprintf(size, sizeof(size), c->size_limit ? "SIZE %llu" : "SIZE", (unsigned long long)c->size_limit);
    ehlo_line(b, &n, c->hostname);
    if (!c->no_pipelining) ehlo_line(b, &n, "PIPELINING");
    if (!c->no_8bitmime) ehlo_line(b, &n, "8BITMIME");
    if (!c->no_auth) ehlo_line(b, &n, "AUTH PLAIN LOGIN");
    if (!c->no_xclient) ehlo_line(b, &n, "XCLIENT NAME HELO");
    if (!c->no_xforward) ehlo_line(b, &n, "XFORWARD NAME ADDR PROTO HELO");
    if (!c->no_enhanced) ehlo_line(b, &n, "ENHANCEDSTATUSCODES");
    if (!c->no_dsn) ehlo_line(b, &n, "DSN");
    if (!c->no_size) ehlo_line(b, &n, size);
    if (!c->no_smtputf8) ehlo_line(b, &n, "SMTPUTF8");
    if (c->cmd[SINK_CMD_BDAT].flags & SINK_CMD_FLAG_ENABLE) ehlo_line(b, &n, "CHUNKING");
    if (with_tls) ehlo_line(b, &n, "STARTTLS");
    /* RFC 5321 4.2: the last line is "250" SP [text] CRLF, as smtp-sink. */
    memcpy(b + n, "250 \r\n", 6);
    cm->ehlo_len[with_tls] = n + 6;
}

int sink_session_common_init(struct sink_session_common *c, const struct sink_config *cfg,
                             struct dump_writer *dw)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    c->dw = dw;
    build_ehlo(c, 0);
    build_ehlo(c, 1);
    if (bufpool_init(&c->out_pool, SINK_SESSION_OUT_BUF, SINK_SESSION_POOL_KEEP) != 0)
        return -ENOMEM;
    if (bufpool_init(&c->work_pool, sizeof(struct sink_session_work), SINK_SESSION_POOL_KEEP) != 0) {
        bufpool_destroy(&c->out_pool);
        return -ENOMEM;
    }
    return 0;
}

void sink_session_common_release(struct sink_session_common *c)
{
    bufpool_destroy(&c->work_pool);
    bufpool_destroy(&c->out_pool);
}

void sink_session_init(struct sink_session *s, struct sink_session_common *common,
                       const struct sink_session_hooks *hooks, void *hook_arg, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->common = common;
    s->cfg = common->cfg;
    s->hooks = *hooks;
    s->hook_arg = hook_arg;
    s->rng = seed | 1;
    dump_init(&s->dump, common->dw);
    sasl_init(&s->sasl, s->cfg->users);
}

void sink_session_set_behaviour(struct sink_session *s, const struct behaviour *beh, struct behaviour_env *env)
{
    if (s->beh != NULL && beh != s->beh)
        s->tarpit_ms = s->bandwidth = 0;    /* the old rules' decisions end with them */
    s->beh = beh;
    s->benv = env;
    s->keep_rcpts = beh && (behaviour_needs_rcpts(beh) || s->cfg->lmtp);
}

void sink_session_release(struct sink_session *s)
{
    dump_release(&s->dump);
    free(s->rcpt_list);
    free(s->dot_rule);
    free(s->helo);
    s->rcpt_list = NULL;
    s->dot_rule = NULL;
    s->helo = NULL;
    s->helo_cap = 0;
    out_give_back(s);
    bufpool_put(&s->common->work_pool, s->work);
    s->work = NULL;
}

static uint32_t sink_session_random(struct sink_session *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (uint32_t)((s->rng * 2685821657736338717ULL) >> 32);
}

/* ---- transaction ---- */

static void reply_dot(struct sink_session *s, const char *text);

/* mail_reset - end a transaction (smtp-sink keeps rcpts for the LMTP replies). */
static void mail_reset(struct sink_session *s)
{
    s->in_mail = 0;
    s->hdr_len = 0;             /* a header line the message ended inside */
    s->hdr_long = 0;
    s->has_sender = 0;
    s->have_tag = 0;
    s->bdat_msg = 0;
    dump_abort(&s->dump);
}

/* message_begin - DATA accepted or first BDAT chunk: prepare scanning. */
static void message_begin(struct sink_session *s)
{
    s->msg_bytes = 0;
    s->refused = 0;
    s->in_headers = 1;
    s->hdr_len = 0;
    s->hdr_long = 0;
    s->have_trace = 0;
    s->dump_error = 0;
    dump_received(&s->dump, s->has_helo ? s->helo : NULL, s->addr, s->proto,
                  s->cfg->hostname);
}

/* header_line - one complete header line (without line end). */
static void header_line(struct sink_session *s, const char *p, size_t len)
{
    size_t name = sizeof(TRACE_HEADER) - 1;

    if (len == 0) {
        s->in_headers = 0;
        return;
    }
    if (!s->have_trace && !s->hdr_long && len > name && p[name] == ':'
        && strncasecmp(p, TRACE_HEADER, name) == 0 && trace_parse(p, len, &s->trace) == 0)
        s->have_trace = 1;
}

/* header_feed - look for the trace header while in the header section. */
static void header_feed(struct sink_session *s, const char *p, size_t len)
{
    const char *end = p + len, *nl;
    size_t seg, room, l;

    while (s->in_headers && p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        seg = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (work_take(s) == NULL) {
            s->in_headers = 0;      /* no memory: the session closes */
            return;
        }
        room = sizeof(s->work->hdr) - s->hdr_len;
        if (seg > room) {
            s->hdr_long = 1;
            seg = room;
        }
        memcpy(s->work->hdr + s->hdr_len, p, seg);
        s->hdr_len += seg;
        if (nl == NULL)
            return;
        l = s->hdr_len;
        if (l > 0 && s->work->hdr[l - 1] == '\r')
            l--;
        header_line(s, s->work->hdr, l);
        s->hdr_len = 0;
        s->hdr_long = 0;
        p = nl + 1;
    }
}

/* message_bytes - account, capture and scan message bytes. */
static void message_bytes(struct sink_session *s, const char *p, size_t len, enum dump_body_mode m)
{
    s->msg_bytes += len;
    if (s->in_headers)
        header_feed(s, p, len);
    dump_body(&s->dump, p, len, m);
}

/* message_too_big - --size-limit: the message just received (its octets
 * between DATA and the final ".\r\n", dot-stuffing included, or its BDAT
 * chunks) is over the limit: it is dropped, neither dumped nor counted,
 * and refused with one 552 a recipient for LMTP. Returns 1 then. */
static int message_too_big(struct sink_session *s, int bdat)
{
    uint64_t size = bdat ? s->msg_bytes : s->msg_bytes - 3;

    if (s->cfg->size_limit == 0 || size <= s->cfg->size_limit)
        return 0;
    mail_reset(s);
    reply_dot(s, REPLY_TOO_BIG);
    return 1;
}

/* message_end - the message is complete: capture, count (before the reply). */
static void message_end(struct sink_session *s)
{
    if (s->refused) {           /* refused by a rule: neither dumped nor received */
        s->refused = 0;
        mail_reset(s);
        return;
    }
    s->dump_error = dump_finish(&s->dump);
    if (s->hooks.message)
        s->hooks.message(s->hook_arg, s->have_trace ? &s->trace : NULL, s->msg_bytes,
                         s->dump_error);
    mail_reset(s);
}

/* ---- replies of each command ---- */

static void reply_dot(struct sink_session *s, const char *text)
{
    if (s->cfg->lmtp) {
        while (s->rcpts-- > 0)
            reply(s, text);
    } else {
        reply(s, text);
    }
}

static void reply_error(struct sink_session *s, int cmd, const char *text)
{
    if (cmd == SINK_CMD_DOT)
        reply_dot(s, text);
    else
        reply(s, text);
    if (cmd == SINK_CMD_BDAT && s->bdat_last)
        mail_reset(s);
}

/* skip_to_address - smtp-sink's MAIL/RCPT argument: after the colon(s). */
static const char *skip_to_address(const char *a)
{
    while (*a && *a != ':')
        a++;
    while (*a == ':')
        a++;
    while (*a == ' ' || (*a >= '\t' && *a <= '\r'))
        a++;
    return a;
}

/* path_end - the end of the MAIL/RCPT path that starts at a: after its
 * '>' (a quoted local part may hold one, RFC 5321 4.1.2), or at the first
 * blank when it has no '<'. */
static const char *path_end(const char *a)
{
    int quoted = 0;

    if (*a != '<')
        return a + strcspn(a, " ");
    for (a++; *a; a++) {
        if (quoted && *a == '\\' && a[1])
            a++;
        else if (*a == '"')
            quoted = !quoted;
        else if (!quoted && *a == '>')
            return a + 1;
    }
    return a;
}

/* path_copy - the address of the path at a (without <>) into dst[0..size). */
static void path_copy(char *dst, size_t size, const char *a)
{
    const char *end = path_end(a);
    size_t n;

    assert(size > 0);

    if (*a == '<') {
        a++;
        if (end > a && end[-1] == '>')
            end--;
    }
    n = (size_t)(end - a) < size ? (size_t)(end - a) : size - 1;
    memcpy(dst, a, n);              /* truncated as snprintf would */
    dst[n] = '\0';
}

/* rcpt_keep - add RCPT's address to the list the rules at the end look at;
 * "" once the list is full (bounded: SINK_SESSION_RCPT_LIST). */
static void rcpt_keep(struct sink_session *s, const char *args)
{
    char addr[BEHAVIOUR_PATTERN_MAX];
    size_t n;

    if (!s->keep_rcpts || (s->rcpt_list == NULL && (s->rcpt_list = malloc(SINK_SESSION_RCPT_LIST)) == NULL))
        return;
    path_copy(addr, sizeof(addr), args);
    n = strlen(addr) + 1;
    if (s->rcpt_list_len + n > SINK_SESSION_RCPT_LIST)
        n = 1, addr[0] = '\0';
    if (s->rcpt_list_len + n <= SINK_SESSION_RCPT_LIST) {
        memcpy(s->rcpt_list + s->rcpt_list_len, addr, n);
        s->rcpt_list_len += n;
    }
}

/* Of MAIL's parameters (RFC 5321 4.1.2), what the sink acts on. */
struct mail_params {
    int utf8;               /* SMTPUTF8, RFC 6531 section 3.4 */
    int size_given;         /* SIZE=, RFC 1870 section 6 */
    int size_bad;           /* SIZE= not a number */
    uint64_t size;          /* SIZE= value, UINT64_MAX when it overflows */
};

/* mail_param - one "keyword[=value]" of length len. */
static void mail_param(struct mail_params *mp, const char *p, size_t len)
{
    size_t i;

    if (len == 8 && strncasecmp(p, "SMTPUTF8", 8) == 0) {
        mp->utf8 = 1;
    } else if (len >= 5 && strncasecmp(p, "SIZE=", 5) == 0) {
        mp->size_given = 1;
        mp->size_bad = len == 5;
        for (i = 5, mp->size = 0; i < len && !mp->size_bad; i++) {
            if (p[i] < '0' || p[i] > '9')
                mp->size_bad = 1;
            else if (mp->size > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
                mp->size = UINT64_MAX;  /* over any limit */
            else if (mp->size != UINT64_MAX)
                mp->size = mp->size * 10 + (uint64_t)(p[i] - '0');
        }
    }
}

/* mail_params_parse - the parameters after MAIL's path (args after the colon). */
static void mail_params_parse(struct mail_params *mp, const char *addr)
{
    const char *p = path_end(addr);
    size_t len;

    memset(mp, 0, sizeof(*mp));
    for (;;) {
        p += strspn(p, " ");
        if ((len = strcspn(p, " ")) == 0)
            return;
        mail_param(mp, p, len);
        p += len;
    }
}

/* set_helo - keep HELO's argument for the capture's records (only with
 * -d/-D; the buffer grows to the longest seen and stays with the session
 * object, reused by the next connection). */
static void set_helo(struct sink_session *s, const char *args)
{
    size_t n;
    char *grown;

    if (s->common->dw == NULL)
        return;
    while (*args == ' ' || (*args >= '\t' && *args <= '\r'))
        args++;
    n = strlen(args) + 1;
    if (n > s->helo_cap) {
        if ((grown = realloc(s->helo, n)) == NULL) {
            s->has_helo = 0;        /* the records go without it */
            return;
        }
        s->helo = grown;
        s->helo_cap = n;
    }
    memcpy(s->helo, args, n);
    s->has_helo = 1;
}

static void do_greeting(struct sink_session *s)
{
    char line[SINK_SESSION_LINE_BUF];

    if (s->cfg->pix)
        snprintf(line, sizeof(line), "220 ********");
    else if (s->cfg->no_esmtp)
        snprintf(line, sizeof(line), "220 %s", s->cfg->hostname);
    else
        snprintf(line, sizeof(line), "220 %s ESMTP", s->cfg->hostname);
    reply(s, line);
}

static void do_data(struct sink_session *s)
{
    if (!s->in_mail || s->rcpts <= 0) {
        reply(s, "503 5.5.1 Error: need RCPT command");
        return;
    }
    if (s->bdat_msg) {
        reply(s, "503 5.5.1 Error: BDAT in progress");
        return;
    }
    s->state = SINK_ST_DATA;
    s->eod = 2;                 /* DATA's own CRLF counts: ".\r\n" may come first */
    reply(s, "354 End data with <CR><LF>.<CR><LF>");
    message_begin(s);
    if (s->cfg->abort_delay_s >= 0) {
        s->pending = SINK_PEND_ABORT;
        s->delay_ms = (uint64_t)s->cfg->abort_delay_s * 1000;
        s->paused = 1;
    } else if (s->cfg->data_read_delay_s > 0) {
        s->pending = SINK_PEND_READ;
        s->delay_ms = (uint64_t)s->cfg->data_read_delay_s * 1000;
        s->paused = 1;
    }
}

/* do_mail - MAIL: --size-limit against SIZE=, SMTPUTF8, the capture. */
static void do_mail(struct sink_session *s, const char *args)
{
    struct mail_params mp;

    if (s->in_mail) {
        reply(s, "503 5.5.1 Error: nested MAIL command");
        return;
    }
    args = skip_to_address(args);
    mail_params_parse(&mp, args);
    if (s->cfg->size_limit && mp.size_given && mp.size_bad) {
        reply(s, "501 5.5.4 Bad message size syntax");
        return;
    }
    if (s->cfg->size_limit && mp.size_given && mp.size > s->cfg->size_limit) {
        reply(s, REPLY_TOO_BIG);
        return;
    }
    s->in_mail = 1;
    s->rcpts = 0;
    s->rcpt_list_len = 0;
    path_copy(s->sender, sizeof(s->sender), args);
    s->has_sender = 1;
    s->utf8 = mp.utf8 && !s->cfg->no_smtputf8;
    reply(s, "250 2.1.0 Ok");
    if (dump_open(&s->dump, s->addr, s->proto, s->has_helo ? s->helo : NULL, s->utf8, time(NULL)) == 0
        || dump_active(&s->dump))
        dump_record(&s->dump, "X-Mail-Args", args, strlen(args));
}

/* auth_done - an AUTH exchange step's reply, and the count of its end. */
static void auth_done(struct sink_session *s, enum sasl_status st, const char *text)
{
    reply(s, text);
    if (st == SASL_SUCCESS)
        s->authed = 1;
    if ((st == SASL_SUCCESS || st == SASL_FAILURE) && s->hooks.auth)
        s->hooks.auth(s->hook_arg, st == SASL_SUCCESS);
}

/* do_auth - AUTH (RFC 4954 section 4): not twice, not inside a transaction. */
static void do_auth(struct sink_session *s, const char *args)
{
    const char *text;
    enum sasl_status st;

    if (s->authed) {
        reply(s, "503 5.5.1 Error: already authenticated");
        return;
    }
    if (s->in_mail) {
        reply(s, "503 5.5.1 Error: MAIL transaction in progress");
        return;
    }
    st = sasl_start(&s->sasl, args, &text);
    auth_done(s, st, text);
}

static void do_bdat(struct sink_session *s)
{
    char line[64];

    if (!s->bdat_ok) {
        reply(s, "503 5.5.1 Error: need RCPT command");
        return;
    }
    if (!s->bdat_last) {
        snprintf(line, sizeof(line), "250 2.0.0 Ok: %llu octets", (unsigned long long)s->bdat_size);
        reply(s, line);
        return;
    }
    if (message_too_big(s, 1))
        return;
    message_end(s);
    reply_dot(s, s->dump_error ? "451 4.3.0 Error: message dump failed"
              : s->cfg->lmtp ? "250 2.2.0 Ok" : "250 2.0.0 Ok");
}

static void do_starttls(struct sink_session *s, const char *args)
{
    if (s->tls) {
        reply(s, "554 5.5.1 Error: TLS already active");
        return;
    }
    if (*args) {
        reply(s, "501 5.5.4 Syntax: STARTTLS");
        return;
    }
    reply(s, "220 2.0.0 Ready to start TLS");
    s->closing = 2;             /* the driver starts TLS after sending this */
}

/* respond - the normal reply of cmd (after flags and delays). */
static void respond(struct sink_session *s, int cmd, const char *args)
{
    switch (cmd) {
    case SINK_CMD_CONNECT: do_greeting(s); break;
    case SINK_CMD_HELO:
        mail_reset(s);
        s->proto = "SMTP";
        out_add(s, "250 ", 4);
        reply(s, s->cfg->hostname);
        set_helo(s, args);
        break;
    case SINK_CMD_EHLO:
    case SINK_CMD_LHLO:
        mail_reset(s);
        if (!s->cfg->lmtp)
            s->proto = "ESMTP";
        out_add(s, s->common->ehlo[!s->tls && (s->cfg->cmd[SINK_CMD_STARTTLS].flags & SINK_CMD_FLAG_ENABLE)],
                s->common->ehlo_len[!s->tls && (s->cfg->cmd[SINK_CMD_STARTTLS].flags & SINK_CMD_FLAG_ENABLE)]);
        set_helo(s, args);
        break;
    case SINK_CMD_MAIL: do_mail(s, args); break;
    case SINK_CMD_AUTH: do_auth(s, args); break;
    case SINK_CMD_RCPT:
        if (!s->in_mail) {
            reply(s, "503 5.5.1 Error: need MAIL command");
            break;
        }
        if (s->rcpts >= SINK_SESSION_RCPT_MAX) {
            reply(s, "452 4.5.3 Error: too many recipients");
            break;
        }
        s->rcpts++;
        reply(s, "250 2.1.5 Ok");
        args = skip_to_address(args);
        rcpt_keep(s, args);
        dump_record(&s->dump, "X-Rcpt-Args", args, strlen(args));
        break;
    case SINK_CMD_DATA: do_data(s); break;
    case SINK_CMD_DOT:
        reply_dot(s, s->dump_error ? "451 4.3.0 Error: message dump failed"
                  : s->cfg->lmtp ? "250 2.2.0 Ok" : "250 2.0.0 Ok");
        s->dump_error = 0;
        break;
    case SINK_CMD_RSET:
        mail_reset(s);
        reply(s, "250 2.1.0 Ok");
        break;
    case SINK_CMD_QUIT:
        reply(s, "221 Bye");
        if (s->hooks.quit)
            s->hooks.quit(s->hook_arg);
        s->closing = 1;
        break;
    case SINK_CMD_BDAT: do_bdat(s); break;
    case SINK_CMD_STARTTLS: do_starttls(s, args); break;
    default: reply(s, "250 2.0.0 Ok"); break;     /* XCLIENT XFORWARD NOOP VRFY */
    }
}

/* ---- behaviour (--behaviour) ---- */

#define DOT_DISCONNECT 0xffff       /* dot_rule: this recipient's rule hung up */

static void outcome(struct sink_session *s, enum behaviour_outcome o, int eod)
{
    if (s->benv->outcome)
        s->benv->outcome(s->benv->outcome_arg, o, eod && s->have_trace ? &s->trace : NULL,
                         s->have_tag ? &s->tag : NULL);
}

static void query_init(struct sink_session *s, struct behaviour_query *q, int cmd, int eod)
{
    memset(q, 0, sizeof(*q));
    q->at = cmd;
    q->eod = eod;
    q->client = s->addr;
    q->sender = s->has_sender ? s->sender : NULL;
    q->rcpt_list = s->rcpt_list;
    q->rcpt_list_len = s->rcpt_list_len;
}

/* note - what a decision changes in the session, and its counts; returns
 * its delay. */
static uint64_t note(struct sink_session *s, const struct behaviour_decision *d, int eod)
{
    if (d->tarpit_ms > s->tarpit_ms)
        s->tarpit_ms = d->tarpit_ms;
    if (d->bandwidth && d->bandwidth != s->bandwidth) {
        s->bandwidth = d->bandwidth;
        s->bw_start_ms = s->benv->now_ms(s->benv->now_arg);
        s->bw_octets = 0;
    }
    if (d->greylist)
        outcome(s, d->greylist == GREYLIST_DEFER ? BEHAVIOUR_OUT_GREY_DEFERRED : BEHAVIOUR_OUT_GREY_PASSED, eod);
    if (d->action == BEHAVIOUR_DISCONNECT)
        outcome(s, BEHAVIOUR_OUT_DISCONNECTED, eod);
    else if (d->reply && (d->reply[0] == '4' || d->reply[0] == '5'))
        outcome(s, d->reply[0] == '4' ? BEHAVIOUR_OUT_DEFERRED : BEHAVIOUR_OUT_REJECTED, eod);
    if (d->delay_ms)
        outcome(s, BEHAVIOUR_OUT_DELAYED, eod);
    return d->delay_ms;
}

/* dot_grow - room for one more per-recipient decision (bounded by
 * SINK_SESSION_RCPT_MAX); 0 or -ENOMEM. */
static int dot_grow(struct sink_session *s)
{
    size_t cap = s->dot_cap ? s->dot_cap * 2 : 64;
    uint16_t *p;

    if (s->dot_n < s->dot_cap)
        return 0;
    if ((p = realloc(s->dot_rule, cap * sizeof(*p))) == NULL)
        return -ENOMEM;
    s->dot_rule = p;
    s->dot_cap = cap;
    return 0;
}

/* eod_lmtp - LMTP: each recipient's decision, in order; the longest delay
 * holds them all; a hang-up ends the list. Sets refused when none is taken. */
static uint64_t eod_lmtp(struct sink_session *s, int cmd)
{
    struct behaviour_query q;
    struct behaviour_decision d;
    const char *p = s->rcpt_list, *end = s->rcpt_list + s->rcpt_list_len;
    uint64_t delay = 0, dl;
    long i, taken = 0;

    query_init(s, &q, cmd, 1);
    for (i = 0, s->dot_n = 0; i < s->rcpts && dot_grow(s) == 0; i++) {
        q.recipient = p && p < end ? p : "";
        p = p && p < end ? p + strlen(p) + 1 : p;
        behaviour_decide(s->beh, s->benv, &q, &d);
        if ((dl = note(s, &d, 1)) > delay)
            delay = dl;
        s->dot_rule[s->dot_n++] = d.action == BEHAVIOUR_DISCONNECT ? DOT_DISCONNECT
                                  : d.reply ? (uint16_t)(d.rule + 1) : 0;
        if (d.action == BEHAVIOUR_DISCONNECT)
            break;
        s->beh_close |= d.close;
        taken += d.reply == NULL || d.reply[0] == '2';
    }
    s->refused = taken == 0;
    return delay;
}

/* eod_decide - the rules at the end of a message (before it is counted). */
static uint64_t eod_decide(struct sink_session *s, int cmd)
{
    struct behaviour_query q;
    struct behaviour_decision d;
    uint64_t delay;

    if (s->cfg->lmtp)
        return eod_lmtp(s, cmd);
    query_init(s, &q, cmd, 1);
    behaviour_decide(s->beh, s->benv, &q, &d);
    delay = note(s, &d, 1);
    s->dot_n = 0;
    s->beh_reply = d.reply;
    s->beh_close = d.close;
    s->refused = d.action == BEHAVIOUR_DISCONNECT || (d.reply && d.reply[0] != '2');
    if (d.action == BEHAVIOUR_DISCONNECT)
        s->closing = 1;
    return delay;
}

/* cmd_decide - the rules at cmd; returns its delay. */
static uint64_t cmd_decide(struct sink_session *s, int cmd, const char *args)
{
    struct behaviour_query q;
    struct behaviour_decision d;
    char rcpt[BEHAVIOUR_PATTERN_MAX];

    query_init(s, &q, cmd, 0);
    if (cmd == SINK_CMD_RCPT) {
        path_copy(rcpt, sizeof(rcpt), skip_to_address(args));
        q.recipient = rcpt;
    }
    if (cmd == SINK_CMD_MAIL) {
        path_copy(rcpt, sizeof(rcpt), skip_to_address(args));
        q.sender = rcpt;
        s->have_tag = trace_tag_parse(rcpt, strlen(rcpt), &s->tag) == 0;
    }
    behaviour_decide(s->beh, s->benv, &q, &d);
    s->beh_reply = d.reply;
    s->beh_close = d.close;
    if (d.action == BEHAVIOUR_DISCONNECT)
        s->closing = 1;
    return note(s, &d, 0);
}

/* behaviour_step - consult the rules at cmd (a hang-up sets closing);
 * returns the delay they ask for. The end of DATA was decided already. */
static uint64_t behaviour_step(struct sink_session *s, int cmd, const char *args)
{
    if (cmd == SINK_CMD_DOT)
        return s->eod_delay;
    if (cmd == SINK_CMD_BDAT && s->bdat_last && s->bdat_ok)
        return eod_decide(s, cmd);
    return cmd_decide(s, cmd, args);
}

/* reply_eod_lmtp - the per-recipient replies eod_lmtp decided. */
static void reply_eod_lmtp(struct sink_session *s)
{
    const char *usual = s->dump_error ? "451 4.3.0 Error: message dump failed" : "250 2.2.0 Ok";
    size_t i;

    for (i = 0; i < s->dot_n; i++) {
        if (s->dot_rule[i] == DOT_DISCONNECT) {
            s->closing = 1;
            break;
        }
        reply(s, s->dot_rule[i] ? behaviour_rule_reply(s->beh, s->dot_rule[i] - 1) : usual);
    }
    if (s->beh_close)
        s->closing = 1;         /* intake paused: 421 to each, then close */
    s->beh_close = 0;
    s->dot_n = 0;
    s->rcpts = 0;
    s->dump_error = 0;
}

/* respond_final - cmd's reply: the usual one, or the one a rule decided
 * (4xx/5xx: the command has no effect; 2xx/3xx: it has, with that text). */
static void respond_final(struct sink_session *s, int cmd, const char *args)
{
    const char *text = s->beh_reply;
    int eod = cmd == SINK_CMD_DOT || (cmd == SINK_CMD_BDAT && s->bdat_last && s->bdat_ok);
    size_t saved = s->out.len;
    long rcpts = s->rcpts;

    s->beh_reply = NULL;
    if (eod && s->cfg->lmtp && s->beh) {
        if (cmd == SINK_CMD_BDAT && message_too_big(s, 1))
            return;
        if (cmd == SINK_CMD_BDAT)
            message_end(s);
        reply_eod_lmtp(s);
        return;
    }
    if (text && text[0] >= '4') {
        if (cmd == SINK_CMD_BDAT && eod)
            mail_reset(s);      /* refused: not received */
        eod ? reply_dot(s, text) : reply(s, text);
        s->dump_error = 0;
        if (s->beh_close)
            s->closing = 1;     /* intake paused: RFC 5321 3.8, 421 then close */
        s->beh_close = 0;
        return;
    }
    respond(s, cmd, args);
    if (text) {
        s->out.len = saved;
        if (eod)
            s->rcpts = rcpts;
        eod ? reply_dot(s, text) : reply(s, text);
    }
}

/* command_resp - smtp-sink's order: syslog, -q, -Q, -f, -r, delay, reply. */
static void command_resp(struct sink_session *s, int cmd, const char *verb, const char *args)
{
    const struct sink_cmd_conf *c = &s->cfg->cmd[cmd];
    uint64_t delay, extra;

    if (c->flags & SINK_CMD_FLAG_SYSLOG)
        syslog(LOG_INFO, "%s %.100s", verb, args);
    if (c->flags & SINK_CMD_FLAG_DISCONNECT) {
        s->closing = 1;
        return;
    }
    if (c->flags & SINK_CMD_FLAG_CLOSE) {
        reply(s, "421 4.0.0 Server closing connection");
        s->closing = 1;
        return;
    }
    if (c->flags & (SINK_CMD_FLAG_HARD_ERR | SINK_CMD_FLAG_SOFT_ERR)) {
        reply_error(s, cmd, (c->flags & SINK_CMD_FLAG_HARD_ERR) ? s->cfg->hard_reply
                    : s->cfg->soft_reply);
        return;
    }
    extra = s->beh ? behaviour_step(s, cmd, args) : 0;
    if (s->closing)
        return;                 /* a rule hung up */
    extra += s->tarpit_ms;
    if (c->delay_s > 0 || extra > 0) {
        delay = (uint64_t)c->delay_s;
        if (c->delay_odds > 0)
            for (delay = 0; (int)(sink_session_random(s) % 100) < c->delay_odds;
                 delay += (uint64_t)c->delay_s)
                ;
        if (work_take(s) == NULL)
            return;                 /* no memory: the session closes */
        s->pending = SINK_PEND_REPLY;
        s->pending_cmd = cmd;
        snprintf(s->pending_verb, sizeof(s->pending_verb), "%s", verb);
        snprintf(s->work->pending_args, sizeof(s->work->pending_args), "%s", args);
        s->delay_ms = delay * 1000 + extra;
        s->paused = 1;
        return;
    }
    respond_final(s, cmd, args);
}

/* ---- command lines ---- */

/* printable - smtp-sink's printable() for control octets: they become '?'.
 * Octets >= 0x80 stay; the dump writes them as '?' too unless the
 * transaction is SMTPUTF8 (dump_open), and the -s log as received. */
static void printable(char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = '?';
}

/* line_limit - the longest command line (with CRLF) a verb may send. */
static size_t line_limit(const struct sink_session *s, int cmd)
{
    size_t limit = SINK_SESSION_LINE_MAX;

    if (cmd == SINK_CMD_MAIL)
        limit += (s->cfg->no_size ? 0 : SINK_SESSION_SIZE_EXTRA)
                 + (s->cfg->no_dsn ? 0 : SINK_SESSION_DSN_MAIL)
                 + (s->cfg->no_auth ? 0 : SINK_SESSION_AUTH_MAIL)
                 + (s->cfg->no_smtputf8 ? 0 : SINK_SESSION_UTF8_MAIL);
    if (cmd == SINK_CMD_AUTH)
        limit = SINK_SESSION_AUTH_LINE;
    if (cmd == SINK_CMD_RCPT && !s->cfg->no_dsn)
        limit += SINK_SESSION_DSN_RCPT;
    return limit;
}

/* bdat_begin - "BDAT size [LAST]": check, then read the chunk. */
static void bdat_begin(struct sink_session *s, const char *verb, const char *args)
{
    char *end;
    unsigned long long size;

    while (*args == ' ')
        args++;
    size = strtoull(args, &end, 10);
    if (end == args || *args < '0' || *args > '9' || size > SINK_SESSION_BDAT_MAX
        || (*end && strcasecmp(end, " LAST") != 0)) {
        reply(s, "501 5.5.4 Syntax: BDAT count [LAST]");
        return;
    }
    s->bdat_last = *end != '\0';
    s->bdat_size = size;
    s->bdat_left = size;
    s->bdat_ok = s->in_mail && s->rcpts > 0;
    if (s->bdat_ok && !s->bdat_msg) {
        s->bdat_msg = 1;
        message_begin(s);
    }
    snprintf(s->pending_verb, sizeof(s->pending_verb), "%s", verb);
    s->state = SINK_ST_BDAT;
    if (size == 0) {
        s->state = SINK_ST_CMD;
        command_resp(s, SINK_CMD_BDAT, verb, "");
    }
}

/* command_line - one command line without its line end. */
static void command_line(struct sink_session *s, char *line, size_t len)
{
    char *verb, *args;
    const char *text;
    enum sasl_status st;
    size_t vlen;
    int cmd;

    line[len] = '\0';
    if (sasl_active(&s->sasl)) {        /* a response to a 334 challenge */
        st = sasl_step(&s->sasl, line, len, &text);
        auth_done(s, st, text);
        return;
    }
    if (s->cfg->verbose)
        log_info("%s", line);
    verb = line + strspn(line, " \t");
    vlen = strcspn(verb, " \t");
    if (vlen == 0 || memchr(line, '\0', len) != NULL) {
        reply(s, vlen == 0 ? "500 5.5.2 Error: unknown command" : "500 5.5.1 Error: unknown command");
        return;
    }
    cmd = sink_cmd_lookup(verb, vlen);
    if (cmd < 0 || !(s->cfg->cmd[cmd].flags & SINK_CMD_FLAG_ENABLE)) {
        reply(s, "500 5.5.1 Error: unknown command");
        return;
    }
    if (len + 2 > line_limit(s, cmd)) {
        reply(s, "500 5.5.2 Error: command line too long");
        return;
    }
    args = verb + vlen;
    if (*args)
        *args++ = '\0';
    printable(args);
    if (cmd == SINK_CMD_BDAT)
        bdat_begin(s, verb, args);
    else
        command_resp(s, cmd, verb, args);
}

/* feed_command - take bytes up to and including one LF (or all). */
static size_t feed_command(struct sink_session *s, const char *p, size_t len)
{
    const char *nl = memchr(p, '\n', len);
    size_t seg = nl ? (size_t)(nl - p) : len, l;
    char direct[SINK_SESSION_LINE_BUF];

    if (!s->line_long && s->line_len + seg >= SINK_SESSION_LINE_BUF) {
        s->line_long = 1;
        log_warn("command line too long from %s", s->addr);
    }
    if (!s->line_long && nl && s->line_len == 0) {
        memcpy(direct, p, seg);         /* whole line in this read */
        l = seg > 0 && direct[seg - 1] == '\r' ? seg - 1 : seg;
        command_line(s, direct, l);
        return seg + 1;
    }
    if (!s->line_long) {
        if (work_take(s) == NULL)
            return len;             /* no memory: the session closes */
        memcpy(s->work->line + s->line_len, p, seg);
        s->line_len += seg;
    }
    if (nl == NULL)
        return len;
    if (s->line_long && sasl_active(&s->sasl)) {
        sasl_reset(&s->sasl);
        auth_done(s, SASL_FAILURE, SASL_REPLY_TOO_LONG);
    } else if (s->line_long) {
        reply(s, "500 5.5.2 Error: command line too long");
    } else {
        l = s->line_len > 0 && s->work->line[s->line_len - 1] == '\r' ? s->line_len - 1 : s->line_len;
        command_line(s, s->work->line, l);
    }
    s->line_len = 0;
    s->line_long = 0;
    return seg + 1;
}

/* ---- message data ---- */

static int eod_step(int state, char c)
{
    if (c == eod_pattern[state])
        return state + 1;
    return c == '\r' ? 1 : 0;
}

/* eod_tail - how much of "\r\n.\r\n" the end of p[0..n) matches. */
static int eod_tail(const char *p, size_t n)
{
    int k;

    for (k = 4; k > 0; k--)
        if (n >= (size_t)k && memcmp(p + n - k, eod_pattern, (size_t)k) == 0)
            return k;
    return 0;
}

#ifdef __SSE2__
/* lf_dot - the positions in p[0..16) of an LF followed by '.', as bits;
 * reads p[0..17). */
static inline __m128i lf_dot(const char *p)
{
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));

    return _mm_and_si128(_mm_cmpeq_epi8(a, _mm_set1_epi8('\n')), _mm_cmpeq_epi8(b, _mm_set1_epi8('.')));
}

/* eod_at - the "\r\n.\r\n" around an LF-dot of m (bits of p[i..i+16))
 * in p[0..len), or NULL. */
static const char *eod_at(const char *p, size_t len, size_t i, unsigned m)
{
    size_t k;

    for (; m != 0; m &= m - 1) {
        k = i + (size_t)__builtin_ctz(m);
        if (k >= 1 && k + 3 < len && p[k - 1] == '\r' && p[k + 2] == '\r' && p[k + 3] == '\n')
            return p + k - 1;
    }
    return NULL;
}
#endif

/* eod_find - the first "\r\n.\r\n" in p[0..len), or NULL. glibc's memmem
 * steps a few bytes at a time (10% of the sink's CPU with 100 KB
 * messages); this looks for LF followed by '.', which is rare in text,
 * 64 bytes a test, and checks the CRs around each. */
static const char *eod_find(const char *p, size_t len)
{
    size_t i = 0;
#ifdef __SSE2__
    const char *hit;
    unsigned m;
    size_t j;

    for (; i + 65 <= len; i += 64) {    /* LF at k in [i, i+64), '.' at k+1 */
        __m128i any = _mm_or_si128(_mm_or_si128(lf_dot(p + i), lf_dot(p + i + 16)),
                                   _mm_or_si128(lf_dot(p + i + 32), lf_dot(p + i + 48)));

        if (_mm_movemask_epi8(any) == 0)
            continue;
        for (j = i; j < i + 64; j += 16)
            if ((hit = eod_at(p, len, j, (unsigned)_mm_movemask_epi8(lf_dot(p + j)))) != NULL)
                return hit;
    }
    for (; i + 17 <= len; i += 16) {
        m = (unsigned)_mm_movemask_epi8(lf_dot(p + i));
        if ((hit = eod_at(p, len, i, m)) != NULL)
            return hit;
    }
    if (i > 0)
        i--;            /* a match may start at the CR before LF i */
#endif
    return len - i >= 5 ? memmem(p + i, len - i, eod_pattern, 5) : NULL;
}

/* feed_data - message bytes up to "\r\n.\r\n"; only that sequence ends
 * the message (a bare LF never does: no SMTP smuggling). */
static size_t feed_data(struct sink_session *s, const char *p, size_t len)
{
    const char *hit;
    size_t i = 0, from, used = len;

    while (s->eod > 0 && i < len) {
        s->eod = eod_step(s->eod, p[i++]);
        if (s->eod == 5) {
            used = i;
            goto found;
        }
        if (s->eod == 1)
            break;
    }
    if (s->eod <= 1) {
        from = s->eod == 1 ? i - 1 : i;
        hit = from < len ? eod_find(p + from, len - from) : NULL;
        if (hit) {
            used = (size_t)(hit - p) + 5;
            goto found;
        }
        s->eod = eod_tail(p + from, len - from);
    }
    message_bytes(s, p, len, DUMP_BODY_DATA);
    return len;

found:
    message_bytes(s, p, used, DUMP_BODY_DATA);
    s->eod = 0;
    s->state = SINK_ST_CMD;
    if (message_too_big(s, 0))
        return used;
    if (s->beh)
        s->eod_delay = eod_decide(s, SINK_CMD_DOT);
    message_end(s);
    command_resp(s, SINK_CMD_DOT, ".", "");
    return used;
}

/* feed_bdat - chunk bytes, then the BDAT reply. */
static size_t feed_bdat(struct sink_session *s, const char *p, size_t len)
{
    size_t n = len < s->bdat_left ? len : (size_t)s->bdat_left;

    if (s->bdat_ok)
        message_bytes(s, p, n, DUMP_BODY_BDAT);
    s->bdat_left -= n;
    if (s->bdat_left == 0) {
        s->state = SINK_ST_CMD;
        command_resp(s, SINK_CMD_BDAT, s->pending_verb, "");
    }
    return n;
}

/* ---- driver interface ---- */

static enum sink_session_status status_of(struct sink_session *s)
{
    if (s->closing == 2) {
        s->closing = 0;
        return SINK_SESSION_STARTTLS;
    }
    if (s->closing)
        return SINK_SESSION_CLOSE;
    return s->paused ? SINK_SESSION_PAUSE : SINK_SESSION_MORE;
}

enum sink_session_status sink_session_start(struct sink_session *s, const char *addr)
{
    dump_abort(&s->dump);
    snprintf(s->addr, sizeof(s->addr), "%s", addr);
    s->tls = 0;
    s->proto = s->cfg->lmtp ? "LMTP" : "SMTP";
    s->has_helo = 0;
    s->authed = 0;
    sasl_reset(&s->sasl);
    s->in_mail = 0;
    s->rcpts = 0;
    s->state = SINK_ST_CMD;
    s->paused = s->closing = 0;
    s->line_len = 0;
    s->line_long = 0;
    s->bdat_msg = 0;
    s->dump_error = 0;
    s->pending = SINK_PEND_NONE;
    s->hdr_len = 0;
    s->hdr_long = 0;
    out_give_back(s);
    work_give_back(s);
    s->has_sender = s->have_tag = 0;
    s->rcpt_list_len = s->dot_n = 0;
    s->beh_reply = NULL;
    s->refused = s->beh_close = 0;
    s->eod_delay = s->tarpit_ms = s->bandwidth = 0;
    command_resp(s, SINK_CMD_CONNECT, "connect", "");
    return status_of(s);
}

/* bw_allow - bandwidth: how many of len octets may be read now (a burst
 * of a tenth of a second's worth ahead of the rate); 0 pauses the session
 * until the rate allows a burst again. */
static size_t bw_allow(struct sink_session *s, size_t len)
{
    uint64_t burst = s->bandwidth / 10 + 1, want = burst < len ? burst : len;
    double room;

    if (len == 0 || s->paused || s->closing)
        return len;
    room = (double)s->bandwidth * (double)(s->benv->now_ms(s->benv->now_arg) - s->bw_start_ms) / 1000.0
           + (double)burst - (double)s->bw_octets;
    if (room >= (double)want)
        return room < (double)len ? (size_t)room : len;
    s->pending = SINK_PEND_READ;
    s->delay_ms = (uint64_t)(((double)want - room) * 1000.0 / (double)s->bandwidth) + 1;
    s->paused = 1;
    return 0;
}

size_t sink_session_feed(struct sink_session *s, const char *in, size_t len,
                         enum sink_session_status *st)
{
    size_t pos = 0;

    assert(in != NULL || len == 0);
    if (s->bandwidth)
        len = bw_allow(s, len);
    while (pos < len && !s->paused && !s->closing && s->out.len < SINK_SESSION_OUT_HIGH) {
        switch (s->state) {
        case SINK_ST_CMD: pos += feed_command(s, in + pos, len - pos); break;
        case SINK_ST_DATA: pos += feed_data(s, in + pos, len - pos); break;
        case SINK_ST_BDAT: pos += feed_bdat(s, in + pos, len - pos); break;
        }
    }
    s->bw_octets += pos;
    work_give_back(s);
    *st = status_of(s);
    return pos;
}

enum sink_session_status sink_session_resume(struct sink_session *s)
{
    int pending = s->pending;

    assert(s->paused);              /* only after SINK_SESSION_PAUSE */
    s->paused = 0;
    s->pending = SINK_PEND_NONE;
    switch (pending) {
    case SINK_PEND_REPLY:
        respond_final(s, s->pending_cmd, s->work->pending_args);
        break;
    case SINK_PEND_ABORT:
        reply(s, "550 This violates SMTP");
        s->closing = 1;
        break;
    default:
        break;
    }
    work_give_back(s);
    return status_of(s);
}

uint64_t sink_session_delay_ms(const struct sink_session *s)
{
    return s->delay_ms;
}

void sink_session_tls_started(struct sink_session *s)
{
    mail_reset(s);
    s->tls = 1;
    s->has_helo = 0;
    s->authed = 0;              /* RFC 3207 section 4.2: forget what came before */
    sasl_reset(&s->sasl);
    s->proto = s->cfg->lmtp ? "LMTP" : "SMTP";
    s->line_len = 0;
    s->line_long = 0;
    s->state = SINK_ST_CMD;
    work_give_back(s);
}

void sink_session_end(struct sink_session *s)
{
    mail_reset(s);
    sasl_reset(&s->sasl);
    s->pending = SINK_PEND_NONE;
    s->paused = 0;
    s->line_len = 0;
    s->line_long = 0;
    work_give_back(s);
    out_give_back(s);
}
