/* workload.c - workload defaults and exact splitting (see workload.h). */
#include "workload.h"

#include <errno.h>
#include <string.h>

#include "clock.h"
#include "textbuf.h"

#define WORKLOAD_TIMEOUT_S 300  /* smtp-source's var_timeout */

void workload_defaults(struct workload *w)
{
    memset(w, 0, sizeof(*w));
    w->family = ENDPOINT_ANY;
    w->connect_tries = 1;
    w->sessions = 1;
    w->messages = 1;
    w->timeout_ns = WORKLOAD_TIMEOUT_S * NS_PER_SEC;
    w->disconnect = 1;
    w->send_helo = 1;
    w->send_headers = 1;
    w->recipients = 1;
    w->rcpt_number_first = 1;
    w->rcpt_number_stride = 1;
    w->trace = 1;
    w->seq_first = 0;
    w->seq_stride = 1;
    w->source_stride = 1;
}

static uint64_t share(uint64_t total, int parts, int part)
{
    return total / (uint64_t)parts + ((uint64_t)part < total % (uint64_t)parts);
}

int workload_set_pair(struct workload *w)
{
    w->pair_key = trace_pair_key(w->campaign, w->agent_id);
    return trace_head_init(&w->trace_head, w->campaign, w->agent_id);
}

void workload_prepare_text(struct workload *w)
{
    struct textbuf b;

    if (w->send_headers)
        (void)message_headers_fixed_init(&w->headers_fixed, w->recipient, w->myhostname, w->subject);
    /* the sender as a transaction copies it (dialogue.c's start_txn) */
    w->mail_line_len = 0;
    textbuf_init(&b, w->mail_line, sizeof(w->mail_line));
    TEXTBUF_LIT(&b, "MAIL FROM:<");
    textbuf_put(&b, w->sender, strnlen(w->sender, MESSAGE_ADDR_MAX - 1));
    TEXTBUF_LIT(&b, ">\r\n");
    if (!b.overflow)
        w->mail_line_len = b.len;
    w->rcpt_line_len = 0;
    textbuf_init(&b, w->rcpt_line, sizeof(w->rcpt_line));
    TEXTBUF_LIT(&b, "RCPT TO:");
    if (message_rcpt_append(&b, w->recipient, 1, 0) == 0) {
        TEXTBUF_LIT(&b, "\r\n");
        if (!b.overflow)
            w->rcpt_line_len = b.len;
    }
}

void workload_number(struct workload *w, uint64_t seq_first, uint64_t seq_stride)
{
    if (seq_stride == 0)
        seq_stride = 1;
    w->seq_first = seq_first;
    w->seq_stride = seq_stride;
    w->rcpt_number_first = trace_rcpt_number(seq_first, seq_stride, (uint64_t)w->recipients, 0);
    w->rcpt_number_stride = seq_stride;
}

int workload_split(const struct workload *w, int parts, int part, struct workload *out)
{
    if (parts < 1 || part < 0 || part >= parts || w->sessions < parts)
        return -EINVAL;
    *out = *w;
    out->sessions = (int)share((uint64_t)w->sessions, parts, part);
    if (w->messages != WORKLOAD_UNLIMITED)
        out->messages = share(w->messages, parts, part);
    out->rate = w->rate / parts;
    out->rcpt_number_first = w->rcpt_number_first + (uint64_t)part * w->rcpt_number_stride;
    out->rcpt_number_stride = w->rcpt_number_stride * (uint64_t)parts;
    out->seq_first = w->seq_first + (uint64_t)part * w->seq_stride;
    out->seq_stride = w->seq_stride * (uint64_t)parts;
    out->source_first = w->source_first + (uint64_t)part * w->source_stride;
    out->source_stride = w->source_stride * (uint64_t)parts;
    return 0;
}
