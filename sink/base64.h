/* base64.h - the base64 decoder of smtpstorm-sink's AUTH exchange
 * (sasl.c): RFC 4648 section 4, strict, bounded, safe on hostile input.
 * Pure. (The agent only encodes: agent/auth.c.) */
#ifndef SMTPSTORM_SINK_BASE64_H
#define SMTPSTORM_SINK_BASE64_H

#include <stddef.h>

/* base64_decode - decode in[0..len) into out[0..cap): len a multiple of
 * 4, only the RFC 4648 alphabet, '=' padding only in the last two places,
 * no blanks. Writes nothing at or past out[cap]. Returns the decoded
 * length, -EINVAL when in is not base64, -ENOSPC when cap is too small. */
int base64_decode(const char *in, size_t len, unsigned char *out, size_t cap);

#endif
