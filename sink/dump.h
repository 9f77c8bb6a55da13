/* dump.h - the -d/-D message capture of smtp-sink(1), byte for byte: the
 * optional -S string, X-Client-Addr, X-Client-Proto, X-Helo-Args,
 * X-Mail-Args, X-Rcpt-Args, the three-line Received header, the message
 * with CR removed and dots unstuffed, and an empty line. Used by the
 * session engine; one dump_writer per event loop, one dump per session. */
#ifndef SMTPSTORM_SINK_DUMP_H
#define SMTPSTORM_SINK_DUMP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bufpool.h"
#include "config.h"

#define DUMP_PATH_MAX   4096            /* expanded template + 8 hex digits */
#define DUMP_FLUSH      (64 * 1024)     /* -d: write out when this much is buffered */
#define DUMP_SPILL      (1024 * 1024)   /* -D: keep this much in memory, then a temp file */
#define DUMP_POOL_KEEP  16              /* free capture buffers kept resident a loop */

/* How message bytes are turned into dump lines. */
enum dump_body_mode {
    DUMP_BODY_DATA,     /* DATA: drop CR, drop the dot that starts a line */
    DUMP_BODY_BDAT,     /* BDAT: drop CR only (no dot-stuffing in chunks) */
};

/* Per-loop state: template expansion cache, shared-file handle, id source. */
struct dump_writer;

/* One transaction being captured. Embedded in its session; reused. */
struct dump {
    struct dump_writer *w;
    int active;                 /* between dump_open and dump_finish/abort */
    int fd;                     /* -d: the file; -D: the spill file or -1 */
    int error;                  /* first errno seen; the capture is lost */
    uint32_t id;                /* the pseudo-random hex suffix */
    time_t start;               /* MAIL time, for the Received date */
    int body_state;             /* unstuffing state across reads */
    int utf8;                   /* SMTPUTF8: records keep octets >= 0x80 */
    struct poolbuf buf;         /* pending bytes: from the writer's pool during a capture */
    char *path;                 /* -d file name (owned, reused; NULL before the first) */
    size_t path_cap;
};

/* dump_writer_new - state for one event loop; NULL unless -d or -D was
 * given (or on out of memory, with *err set to -ENOMEM). Caller owns it. */
struct dump_writer *dump_writer_new(const struct sink_config *cfg, uint64_t seed, int *err);

/* dump_writer_free - close the shared file and release w. */
void dump_writer_free(struct dump_writer *w);

/* dump_init - prepare d for use with w (which may be NULL: no capture). */
void dump_init(struct dump *d, struct dump_writer *w);

/* dump_release - abort any open capture and free d's buffer. */
void dump_release(struct dump *d);

/* dump_open - start capturing at MAIL: choose the id, create the -d file,
 * write the -S string and the X-Client-Addr/-Proto/-Helo-Args records
 * (helo may be NULL). With utf8 (the MAIL had SMTPUTF8) the records keep
 * octets >= 0x80 as received; without, they become '?' as smtp-sink's
 * printable() makes them. Returns 0 or -errno; on error the transaction
 * goes on uncaptured and dump_finish reports the error. */
int dump_open(struct dump *d, const char *addr, const char *proto, const char *helo, int utf8,
              time_t now);

/* dump_record - append "name: value\n" (X-Mail-Args, X-Rcpt-Args); value
 * has no control octets (the session made them '?'). */
void dump_record(struct dump *d, const char *name, const char *value, size_t len);

/* dump_received - append the three-line Received header (at DATA/BDAT). */
void dump_received(struct dump *d, const char *helo, const char *addr, const char *proto,
                   const char *hostname);

/* dump_body - append message bytes as they arrive (the end-of-data line
 * included for DATA: it becomes the final empty line). */
void dump_body(struct dump *d, const char *p, size_t len, enum dump_body_mode mode);

/* dump_finish - write out and close the capture (-D: append it to the
 * shared file). Returns 0, or -errno of the first error of this capture. */
int dump_finish(struct dump *d);

/* dump_abort - drop the capture (RSET, HELO, lost connection): the -d file
 * is removed. */
void dump_abort(struct dump *d);

/* dump_active - nonzero while a capture is open. */
static inline int dump_active(const struct dump *d) { return d->active; }

#endif
