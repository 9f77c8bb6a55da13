/* endpoint.c - parse, listen on and connect to smtp-sink/smtp-source style
 * addresses (see endpoint.h). */
#include "endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static int copy_field(char *dst, size_t dstlen, const char *src, size_t len)
{
    if (len >= dstlen)
        return -1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

int endpoint_parse(const char *spec, const char *default_port, struct endpoint *ep,
                   char *err, size_t errlen)
{
    const char *host, *colon, *close;
    size_t hostlen;

    memset(ep, 0, sizeof(*ep));
    if (spec == NULL || *spec == '\0') {
        snprintf(err, errlen, "empty address");
        return -EINVAL;
    }
    if (strncmp(spec, "unix:", 5) == 0) {
        ep->is_unix = 1;
        if (spec[5] == '\0' || copy_field(ep->path, sizeof(ep->path), spec + 5, strlen(spec + 5))) {
            snprintf(err, errlen, "bad unix socket path in \"%s\"", spec);
            return -EINVAL;
        }
        return 0;
    }
    host = strncmp(spec, "inet:", 5) == 0 ? spec + 5 : spec;
    if (*host == '[') {
        close = strchr(host, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            snprintf(err, errlen, "bad bracketed address in \"%s\"", spec);
            return -EINVAL;
        }
        hostlen = (size_t)(close - host - 1);
        colon = close[1] == ':' ? close + 1 : NULL;
        host++;
    } else {
        colon = strrchr(host, ':');
        if (colon && strchr(host, ':') != colon) {
            snprintf(err, errlen, "IPv6 address must be in brackets: \"%s\"", spec);
            return -EINVAL;
        }
        hostlen = colon ? (size_t)(colon - host) : strlen(host);
    }
    if (copy_field(ep->host, sizeof(ep->host), host, hostlen)) {
        snprintf(err, errlen, "host name too long in \"%s\"", spec);
        return -EINVAL;
    }
    if (colon && colon[1] != '\0') {
        if (copy_field(ep->port, sizeof(ep->port), colon + 1, strlen(colon + 1))) {
            snprintf(err, errlen, "bad port in \"%s\"", spec);
            return -EINVAL;
        }
    } else if (default_port) {
        snprintf(ep->port, sizeof(ep->port), "%s", default_port);
    } else {
        snprintf(err, errlen, "missing port in \"%s\"", spec);
        return -EINVAL;
    }
    return 0;
}

void endpoint_format(const struct endpoint *ep, char *out, size_t outlen)
{
    if (ep->is_unix)
        snprintf(out, outlen, "unix:%s", ep->path);
    else if (strchr(ep->host, ':'))
        snprintf(out, outlen, "[%s]:%s", ep->host, ep->port);
    else
        snprintf(out, outlen, "%s:%s", ep->host, ep->port);
}

int endpoint_af(enum endpoint_family family)
{
    return family == ENDPOINT_IPV4 ? AF_INET : family == ENDPOINT_IPV6 ? AF_INET6 : AF_UNSPEC;
}

static int listen_unix(const struct endpoint *ep, const struct endpoint_listen_opts *opts,
                       int *fds, char *err, size_t errlen)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd, e;

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ep->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    (void)unlink(ep->path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(fd, opts->backlog) != 0)
        goto fail_fd;
    fds[0] = fd;
    return 1;

fail_fd:
    e = errno;
    close(fd);
    errno = e;
fail:
    e = errno;
    snprintf(err, errlen, "unix:%s: %s", ep->path, strerror(e));
    return -e;
}

static int listen_one(const struct addrinfo *ai, const struct endpoint_listen_opts *opts)
{
    int on = 1, fd, e;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ai->ai_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (opts->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
        goto fail;
    if (opts->rcvbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &opts->rcvbuf, sizeof(opts->rcvbuf));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, opts->backlog) != 0)
        goto fail;
    return fd;

fail:
    e = errno;
    close(fd);
    return -e;
}

int endpoint_listen(const struct endpoint *ep, const struct endpoint_listen_opts *opts,
                    int *fds, int max, char *err, size_t errlen)
{
    struct addrinfo hints = { 0 }, *res, *ai;
    int n = 0, fd, gai, last = -EADDRNOTAVAIL;

    if (ep->is_unix)
        return max > 0 ? listen_unix(ep, opts, fds, err, errlen) : -EINVAL;
    hints.ai_family = endpoint_af(opts->family);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    gai = getaddrinfo(ep->host[0] ? ep->host : NULL, ep->port, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "%s:%s: %s", ep->host, ep->port, gai_strerror(gai));
        return -EINVAL;
    }
    for (ai = res; ai && n < max; ai = ai->ai_next) {
        fd = listen_one(ai, opts);
        if (fd < 0) {
            last = fd;
            continue;
        }
        fds[n++] = fd;
    }
    freeaddrinfo(res);
    if (n == 0) {
        snprintf(err, errlen, "bind %s:%s: %s", ep->host[0] ? ep->host : "*", ep->port,
                 strerror(-last));
        return last;
    }
    return n;
}

/* endpoint_lookup - endpoint_resolve, or with numeric_only its numeric
 * case (0 for a host name). */
static int endpoint_lookup(const struct endpoint *ep, enum endpoint_family family, int numeric_only,
                           struct endpoint_addr *out, int max, char *err, size_t errlen)
{
    struct addrinfo hints = { 0 }, *res, *ai;
    struct sockaddr_un *sun;
    int n = 0, gai;

    if (ep->is_unix) {
        if (max < 1)
            return -EINVAL;
        memset(out, 0, sizeof(*out));
        sun = (struct sockaddr_un *)&out->sa;
        sun->sun_family = AF_UNIX;
        snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", ep->path);
        out->len = sizeof(*sun);
        return 1;
    }
    hints.ai_family = endpoint_af(family);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = numeric_only ? AI_NUMERICHOST : 0;
    gai = getaddrinfo(ep->host[0] ? ep->host : "localhost", ep->port, &hints, &res);
    if (gai == EAI_NONAME && numeric_only)
        return 0;                           /* a name: for the caller's name server */
    if (gai != 0) {
        snprintf(err, errlen, "%s:%s: %s", ep->host, ep->port, gai_strerror(gai));
        return gai == EAI_AGAIN ? -EAGAIN : -EINVAL;
    }
    for (ai = res; ai && n < max; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(out[n].sa))
            continue;
        memcpy(&out[n].sa, ai->ai_addr, ai->ai_addrlen);
        out[n].len = ai->ai_addrlen;
        n++;
    }
    freeaddrinfo(res);
    if (n == 0) {
        snprintf(err, errlen, "%s:%s: no address of the requested family", ep->host, ep->port);
        return -EADDRNOTAVAIL;
    }
    return n;
}

int endpoint_resolve(const struct endpoint *ep, enum endpoint_family family,
                     struct endpoint_addr *out, int max, char *err, size_t errlen)
{
    return endpoint_lookup(ep, family, 0, out, max, err, errlen);
}

int endpoint_resolve_numeric(const struct endpoint *ep, enum endpoint_family family,
                             struct endpoint_addr *out, int max, char *err, size_t errlen)
{
    return endpoint_lookup(ep, family, 1, out, max, err, errlen);
}

int endpoint_connect(const struct endpoint_addr *addr, const struct endpoint_addr *source, int sndbuf)
{
    int fd, on = 1, e;

    fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (addr->sa.ss_family != AF_UNIX)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (sndbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    if (source) {       /* the port is chosen at connect, per destination (Linux 4.2) */
        (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
        if (bind(fd, (const struct sockaddr *)&source->sa, source->len) != 0) {
            e = errno;
            close(fd);
            return -e;
        }
    }
    if (connect(fd, (const struct sockaddr *)&addr->sa, addr->len) != 0 && errno != EINPROGRESS) {
        e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

void endpoint_peer_text(const struct sockaddr_storage *sa, char *out, size_t outlen)
{
    char buf[INET6_ADDRSTRLEN];
    const struct sockaddr_in6 *s6;

    switch (sa->ss_family) {
    case AF_INET:
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, sizeof(buf));
        snprintf(out, outlen, "%s", buf);
        break;
    case AF_INET6:
        s6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, sizeof(buf));
            snprintf(out, outlen, "%s", buf);
        } else {
            inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
            snprintf(out, outlen, "ipv6:%s", buf);
        }
        break;
    default:
        snprintf(out, outlen, "local");     /* what smtp-sink writes for unix: clients */
        break;
    }
}
