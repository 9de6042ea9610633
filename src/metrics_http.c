/*
 * metrics_http.c - the Prometheus endpoint on libmicrohttpd (see
 * metrics_http.h). The socket is opened here (so a bad address or a port
 * in use gets a clear message) and handed to the daemon.
 *
 * Threads: one internal polling thread of libmicrohttpd; every request is
 * answered on it, reading the model with a reference held.
 */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysmetrics.h"

#define LISTEN_BACKLOG 16
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
    struct MHD_Daemon *daemon;
    model *m;
    int port;
};

int metrics_http_parse_listen(const char *spec, struct sockaddr_storage *addr, socklen_t *len,
                              char *err, size_t errlen)
{
    static const char WANT[] = "wants an IP address and a port such as 127.0.0.1:9464 or [::1]:9464";
    memset(addr, 0, sizeof *addr);
    char host[64];
    const char *port;
    size_t n = spec ? strlen(spec) : 0;
    if (n == 0 || n >= sizeof host + 8) {
        snprintf(err, errlen, "metrics listen address %s", WANT);
        return -1;
    }
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof host) {
            snprintf(err, errlen, "metrics listen address \"%.80s\" %s", spec, WANT);
            return -1;
        }
        memcpy(host, spec + 1, (size_t)(close - spec - 1));
        host[close - spec - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || strchr(spec, ':') != colon || (size_t)(colon - spec) >= sizeof host) {
            snprintf(err, errlen, "metrics listen address \"%.80s\" %s", spec, WANT);
            return -1;
        }
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        port = colon + 1;
    }
    char *end;
    errno = 0;
    long p = strtol(port, &end, 10);
    if (!*port || *end || errno || p < 0 || p > 65535 || port[0] == '+' || port[0] == '-' ||
        port[0] == ' ') {
        snprintf(err, errlen, "metrics listen address \"%.80s\": the port must be 0-65535", spec);
        return -1;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
    if (spec[0] != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
        *len = sizeof *a4;
    } else if (spec[0] == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)p);
        *len = sizeof *a6;
    } else {
        snprintf(err, errlen, "metrics listen address \"%.80s\": \"%.64s\" is not an IP address "
                 "(host names are not accepted)", spec, host);
        return -1;
    }
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                             const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    bool ok = MHD_add_response_header(r, "Content-Type", status == 200 ? CONTENT_TYPE
                                                                       : "text/plain; charset=utf-8")
                  == MHD_YES &&
              (!allow || MHD_add_response_header(r, "Allow", allow) == MHD_YES);
    enum MHD_Result ret = ok ? MHD_queue_response(c, status, r) : MHD_NO;
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text,
                                  const char *allow)
{
    char *body = strdup(text);
    return body ? reply(c, status, body, strlen(body), allow) : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    metrics_http *h = cls;
    /* Answered on the first call: a body, if any, is never read. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", "GET");
    if (strcmp(url, "/metrics") != 0)
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found; try /metrics\n", NULL);
    model_snapshot *snap = model_acquire(h->m);
    char *body;
    size_t len;
    int rc = sysmetrics_prometheus(snap ? snap->sys : NULL, &body, &len);
    model_release(snap);
    if (rc != 0)
        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
    return reply(c, MHD_HTTP_OK, body, len, NULL);
}

metrics_http *metrics_http_start(const char *spec, model *m, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (metrics_http_parse_listen(spec, &ss, &len, err, errlen) != 0)
        return NULL;
    metrics_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->m = m;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "metrics endpoint: socket: %s", strerror(errno));
        free(h);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        snprintf(err, errlen, "metrics endpoint: cannot listen on %.80s: %s", spec,
                 strerror(errno));
        close(fd);
        free(h);
        return NULL;
    }
    len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(err, errlen, "metrics endpoint: getsockname: %s", strerror(errno));
        close(fd);
        free(h);
        return NULL;
    }
    h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET,
                                 fd, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)METRICS_HTTP_MAX_CONNECTIONS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_HTTP_TIMEOUT_S,
                                 MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "metrics endpoint: libmicrohttpd would not start on %.80s", spec);
        close(fd);
        free(h);
        return NULL;
    }
    return h;
}

int metrics_http_port(const metrics_http *h) { return h ? h->port : 0; }

void metrics_http_stop(metrics_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
