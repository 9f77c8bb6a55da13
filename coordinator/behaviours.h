/* behaviours.h - the sinks' behaviour in a campaign (--sink-behaviour,
 * sink_behaviour: in a campaign file and in its phases): reading and
 * checking a behaviour with the sink's own parser (so that a bad one is
 * refused here, its line named, before any load), and which one is in
 * force in which phase. The coordinator sends it to every sink at each
 * phase boundary (send.c). */
#ifndef SMTPSTORM_COORDINATOR_BEHAVIOURS_H
#define SMTPSTORM_COORDINATOR_BEHAVIOURS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* behaviours_check - nonzero unless b's text reads as a behaviour file;
 * the problem, "NAME:LINE: what", in err. */
int behaviours_check(const struct sink_behaviour *b, char *err, size_t errlen);

/* behaviours_read - the behaviour file at path into *out (replacing what
 * it held), checked. Returns 0, or -errno with the reason in err. */
int behaviours_read(const char *path, struct sink_behaviour *out, char *err, size_t errlen);

/* behaviours_set - *out becomes a copy of text[0..len) named name
 * (replacing what it held). Returns 0 or -ENOMEM. */
int behaviours_set(struct sink_behaviour *out, const char *text, size_t len, const char *name);

/* behaviours_any - nonzero when w gives the sinks a behaviour anywhere. */
int behaviours_any(const struct workload_spec *w);

/* behaviours_phase_at - the phase running elapsed_ms after the start (the
 * last one from its end on; 0 without phases). */
size_t behaviours_phase_at(const struct workload_spec *w, uint64_t elapsed_ms);

/* behaviours_of_phase - the behaviour of phase i: its own, else the
 * campaign's; NULL: the sinks' own. Points into w. */
const struct sink_behaviour *behaviours_of_phase(const struct workload_spec *w, size_t i);

/* behaviours_envelope_trace - whether the agents tag their senders
 * (--envelope-trace): as asked, or by default when there are behaviours. */
int behaviours_envelope_trace(const struct workload_spec *w);

#endif
