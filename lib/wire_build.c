/* wire_build.c - the Error and Heartbeat messages, a report's beat and the
 * version refusal text that the coordinator and lib/peerlink.c share (see
 * wire_build.h). */
#include "wire_build.h"
#include "clock.h"

#include <assert.h>
#include <stdio.h>

Smtpstorm__Envelope *wire_build_error(struct wire_out *out, Smtpstorm__Error__Code code,
                                      const char *campaign, const char *text)
{
    assert(out != NULL && text != NULL);
    smtpstorm__envelope__init(&out->env);
    smtpstorm__error__init(&out->body.error);
    out->body.error.code = code;
    if (campaign != NULL)
        out->body.error.campaign = (char *)campaign;
    out->body.error.text = (char *)text;
    out->env.body_case = SMTPSTORM__ENVELOPE__BODY_ERROR;
    out->env.error = &out->body.error;
    return &out->env;
}

Smtpstorm__Heartbeat *wire_build_beat(Smtpstorm__Heartbeat *hb, const struct wire_beat *b,
                                      const char *campaign)
{
    assert(hb != NULL && b != NULL);
    wire_beat_fill(hb, b, clock_wall_ns(), clock_mono_ns());
    hb->campaign = (char *)(campaign != NULL ? campaign : "");
    return hb;
}

Smtpstorm__Envelope *wire_build_heartbeat(struct wire_out *out, const struct wire_beat *b,
                                          const char *campaign)
{
    assert(out != NULL && b != NULL);
    smtpstorm__envelope__init(&out->env);
    wire_build_beat(&out->body.heartbeat, b, campaign);
    out->env.body_case = SMTPSTORM__ENVELOPE__BODY_HEARTBEAT;
    out->env.heartbeat = &out->body.heartbeat;
    return &out->env;
}

const char *wire_version_refusal(char *buf, size_t len, const char *a, uint32_t va, const char *b,
                                 uint32_t vb)
{
    assert(buf != NULL && len > 0 && a != NULL && b != NULL);
    snprintf(buf, len, "%s speaks wire version %u, %s %u: run the same smtpstorm release everywhere",
             a, va, b, vb);
    return buf;
}
