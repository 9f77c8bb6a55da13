/* flow.c - a campaign's injection (agents -> target) and delivery (target
 * -> sinks) apart, for the reporters (summary.c, json.c, html.c): the
 * event-time timeline's figures (aggregator.c), each side ending when its
 * last message was accepted or received. */
#include "result.h"

void result_flow(const struct run_result *res, struct agg_flow *out)
{
    agg_flow(res->timeline, out);
    if (res->inject_end_s > 0 && out->accepted > 0) {
        out->inject_s = res->inject_end_s;
        out->inject_rate = (double)out->accepted / res->inject_end_s;
    }
    if (res->deliver_end_s > 0 && out->received > 0) {
        out->deliver_s = res->deliver_end_s;
        out->deliver_rate = (double)out->received / res->deliver_end_s;
    }
    if (res->warmup_s > 0) {
        out->inject_rate = out->inject_s > res->warmup_s && out->accepted >= res->warmup_accepted
            ? (double)(out->accepted - res->warmup_accepted) / (out->inject_s - res->warmup_s) : 0;
        out->deliver_rate = out->deliver_s > res->warmup_s && out->received >= res->warmup_received
            ? (double)(out->received - res->warmup_received) / (out->deliver_s - res->warmup_s) : 0;
    }
}
