/* web.h - the coordinator's live page (--web ADDR:PORT): a libmicrohttpd
 * server on its own thread serving the page compiled into the program
 * (web_page.html) at /, the last published JSON document at /api/live, and
 * a Stop at POST /api/stop. Like lib/metrics, the event loop builds the
 * document (webjson.c) once a second and hands it over with web_publish,
 * which copies it under a mutex; the HTTP thread never touches the run.
 * A Stop only raises a counter and wakes the loop, whose tick acts on it
 * as on Ctrl-C. With a token, every request must carry it
 * (Authorization: Bearer TOKEN, or ?token=TOKEN), else 401. */
#ifndef SMTPSTORM_COORDINATOR_WEB_H
#define SMTPSTORM_COORDINATOR_WEB_H

#include <stddef.h>

#include "ev.h"

#define WEB_TOKEN_MAX 256           /* --web-token's length, at most */

struct web;

/* web_start - serve on spec (ADDR:PORT); token NULL: no token asked (the
 * caller allows that on loopback only); a Stop wakes loop (which must
 * outlive web_stop). Until the first web_publish, /api/live serves
 * {"state": "starting"}. The caller owns the result (web_stop). NULL on
 * error, with why in err. */
struct web *web_start(const char *spec, const char *token, struct ev_loop *loop, char *err, size_t errlen);

/* web_address - "ADDR:PORT" the server listens on; valid until web_stop. */
const char *web_address(const struct web *w);

/* web_publish - serve a copy of doc[0..len) at /api/live from now on.
 * Returns 0 or -ENOMEM (the last document stays). */
int web_publish(struct web *w, const char *doc, size_t len);

/* web_stops - how many POST /api/stop were answered so far. Any thread. */
unsigned web_stops(struct web *w);

/* web_stop - stop the thread, close the socket and free w; NULL is harmless. */
void web_stop(struct web *w);

#endif
