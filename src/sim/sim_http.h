/*
 * sim_http.h - the simulator's HTTP server (libmicrohttpd) on loopback only:
 * authentication, fault injection and replies around sim_routes.
 *
 * Threads: sim_http_start/stop belong to the main thread. libmicrohttpd runs
 * one thread per connection (a latency fault then delays only its own
 * client); those threads touch shared state only through sim_world.
 */
#ifndef TRADEOPS_SIM_HTTP_H
#define TRADEOPS_SIM_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "sim_world.h"

typedef struct sim_http sim_http;

typedef struct sim_http_config {
    const char *listen; /* numeric loopback address: 127.x.x.x or ::1 */
    long port;          /* 0: any free port */
    const char *token;  /* the auth-token every request must carry */
    bool verbose;       /* one log line per request */
} sim_http_config;

/* 0 when addr is a numeric loopback address, else -1 with err saying why. */
int sim_http_check_listen(const char *addr, char *err, size_t errlen);

/* Binds, listens and starts serving. NULL with err on failure. */
sim_http *sim_http_start(sim_world *w, const sim_http_config *cfg, char *err, size_t errlen);

/* The port actually listened on (the chosen one when 0 was asked for). */
int sim_http_port(const sim_http *h);

/* Stops serving (waits for connection threads) and frees h. */
void sim_http_stop(sim_http *h);

#endif
