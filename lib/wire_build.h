/* wire_build.h - the control-plane messages that the coordinator and the
 * peers' link (lib/peerlink.c) both send, built in one place: Error,
 * Heartbeat (alone, or as the beat a peer's report carries), and the one
 * text that refuses another wire version. Built on
 * the caller's storage, no allocation; send with zlink_send_env. */
#ifndef SMTPSTORM_WIRE_BUILD_H
#define SMTPSTORM_WIRE_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* One envelope and the body it points to, for one send. */
struct wire_out {
    Smtpstorm__Envelope env;
    union {
        Smtpstorm__Error error;
        Smtpstorm__Heartbeat heartbeat;
    } body;
};

/* wire_build_error - an Error{code, campaign (NULL: none), text} envelope
 * in out; returns &out->env, valid while out, campaign and text are. */
Smtpstorm__Envelope *wire_build_error(struct wire_out *out, Smtpstorm__Error__Code code,
                                      const char *campaign, const char *text);

/* wire_build_beat - fill hb to send now (the wall and monotonic clocks
 * read here), answering the last heartbeat b noted and naming campaign
 * (NULL: ""): a Heartbeat's body, or the beat a report carries. Returns
 * hb, valid while campaign is. */
Smtpstorm__Heartbeat *wire_build_beat(Smtpstorm__Heartbeat *hb, const struct wire_beat *b,
                                      const char *campaign);

/* wire_build_heartbeat - a Heartbeat envelope in out to send now (the wall
 * and monotonic clocks read here), answering the last heartbeat b noted
 * and naming campaign (NULL: ""); returns &out->env, valid while out and
 * campaign are. */
Smtpstorm__Envelope *wire_build_heartbeat(struct wire_out *out, const struct wire_beat *b,
                                          const char *campaign);

/* wire_version_refusal - the text that refuses a peer of another wire
 * version, "<a> speaks wire version <va>, <b> <vb>: run the same smtpstorm
 * release everywhere" (e.g. a "this coordinator", b "you speak"), into buf
 * (cut to len, which must be > 0); returns buf. */
const char *wire_version_refusal(char *buf, size_t len, const char *a, uint32_t va, const char *b,
                                 uint32_t vb);

#endif
