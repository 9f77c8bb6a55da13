/* flow.c - a campaign's injection (agents -> target) and delivery (target
 * -> sinks) apart, for the reporters (summary.c, json.c, html.c): the
 * timeline's figures (aggregator.c), with injection's end taken from the
 * agents' own clocks when they have one. */
#include "result.h"

void result_flow(const struct run_result *res, struct agg_flow *out)
{
    double end = 0;
    size_t i;

    agg_flow(res->timeline, out);
    for (i = 0; i < res->n_agents; i++)
        if (res->agents[i].accepted > 0 && res->agents[i].elapsed_s > end)
            end = res->agents[i].elapsed_s;
    if (end <= 0 || res->totals.accepted == 0)
        return;
    out->inject_s = end;
    out->inject_rate = (double)res->totals.accepted / end;
}
