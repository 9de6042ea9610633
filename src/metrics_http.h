/*
 * metrics_http.h - the Prometheus endpoint: GET /metrics serves the
 * model's latest sys_set in the text exposition format 0.0.4
 * (sysmetrics_prometheus). Any other path is 404, any other method 405.
 *
 * It has no authentication and no TLS: loopback is the documented choice
 * ([metrics] listen, --metrics-listen); any IP literal may be bound.
 *
 * Threads: libmicrohttpd's internal polling thread answers requests and
 * only reads the model (model_acquire/model_release). start/stop from one
 * owner.
 */
#ifndef TRADEOPS_METRICS_HTTP_H
#define TRADEOPS_METRICS_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "model.h"

#define METRICS_HTTP_MAX_CONNECTIONS 16
#define METRICS_HTTP_TIMEOUT_S 10

typedef struct metrics_http metrics_http;

/* listen: "IPv4:port" ("127.0.0.1:9464") or "[IPv6]:port" ("[::1]:9464");
 * port 0 takes a free one (metrics_http_port tells which). Host names and
 * anything else are refused. NULL with err. m must outlive the server. */
metrics_http *metrics_http_start(const char *listen, model *m, char *err, size_t errlen);
int metrics_http_port(const metrics_http *h);
void metrics_http_stop(metrics_http *h); /* NULL is fine */

/* Parses listen as above into addr and *len. 0, or -1 with err. */
int metrics_http_parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *len,
                              char *err, size_t errlen);

#endif
