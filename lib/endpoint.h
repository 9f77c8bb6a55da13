/* endpoint.h - the address syntax of smtp-sink and smtp-source, shared by
 * the sink and the agent: [inet:][host]:port, [inet:]host[:port],
 * [ipv6]:port and unix:pathname; resolving, listening and connecting. */
#ifndef SMTPSTORM_ENDPOINT_H
#define SMTPSTORM_ENDPOINT_H

#include <stddef.h>
#include <sys/socket.h>

#define ENDPOINT_HOST_MAX 256   /* DNS names are at most 253 octets */
#define ENDPOINT_PATH_MAX 108   /* sizeof(sockaddr_un.sun_path) on Linux */

/* Which address families a program may use (-4, -6, default both). */
enum endpoint_family { ENDPOINT_ANY = 0, ENDPOINT_IPV4 = 4, ENDPOINT_IPV6 = 6 };

struct endpoint {
    int is_unix;
    char host[ENDPOINT_HOST_MAX];   /* empty: any interface (listen only) */
    char name[ENDPOINT_HOST_MAX];   /* the host name given, when host was pinned to
                                     * the numeric address it resolved to (for TLS
                                     * SNI and certificate checks); else empty */
    char port[32];
    char path[ENDPOINT_PATH_MAX];   /* unix: sockets */
};

/* endpoint_parse - parse spec into ep. default_port (may be NULL) is used when
 * the spec has no ":port"; without one a port is required. On error returns
 * -EINVAL and writes a message for the user into err. */
int endpoint_parse(const char *spec, const char *default_port, struct endpoint *ep,
                   char *err, size_t errlen);

/* endpoint_format - write "host:port", "[v6]:port" or "unix:path" into out. */
void endpoint_format(const struct endpoint *ep, char *out, size_t outlen);

/* Listener options. */
struct endpoint_listen_opts {
    enum endpoint_family family;
    int backlog;
    int reuseport;              /* SO_REUSEPORT, for one listener per thread */
    int rcvbuf;                 /* SO_RCVBUF when > 0 (smtp-sink -T) */
};

#define ENDPOINT_LISTEN_MAX 8   /* sockets one endpoint may bind (v4 + v6 ...) */

/* endpoint_listen - bind and listen on every address ep names (non-blocking,
 * close-on-exec). Stores up to max descriptors in fds, which the caller owns.
 * Returns the count, or -errno with a message in err. */
int endpoint_listen(const struct endpoint *ep, const struct endpoint_listen_opts *opts,
                    int *fds, int max, char *err, size_t errlen);

/* A resolved address to connect to. */
struct endpoint_addr {
    struct sockaddr_storage sa;
    socklen_t len;
};

/* endpoint_resolve - resolve ep for connecting, keeping at most max
 * addresses of the allowed family. Returns the count or -errno (err says
 * why); -EAGAIN when the name server did not answer (worth asking again). */
int endpoint_resolve(const struct endpoint *ep, enum endpoint_family family,
                     struct endpoint_addr *out, int max, char *err, size_t errlen);

/* endpoint_resolve_numeric - endpoint_resolve for an address given as such
 * (or a unix: path), which asks no name server: 0 when ep's host is a
 * name (the caller looks it up its own way). */
int endpoint_resolve_numeric(const struct endpoint *ep, enum endpoint_family family,
                             struct endpoint_addr *out, int max, char *err, size_t errlen);

/* endpoint_af - the AF_ value of family (AF_UNSPEC for ENDPOINT_ANY). */
int endpoint_af(enum endpoint_family family);

/* endpoint_connect - start a non-blocking connect to addr, from source
 * when not NULL (its port 0: any); the caller owns the descriptor
 * returned. sndbuf > 0 sets SO_SNDBUF (smtp-source -T). Returns the fd
 * (connect may still be in progress) or -errno. */
int endpoint_connect(const struct endpoint_addr *addr, const struct endpoint_addr *source, int sndbuf);

/* endpoint_peer_text - the text smtp-sink writes for a peer: "1.2.3.4",
 * "ipv6:..." or, for a unix: client, "local" as smtp-sink does. */
void endpoint_peer_text(const struct sockaddr_storage *sa, char *out, size_t outlen);

#endif
