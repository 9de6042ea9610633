/*
 * sim_routes.h - what each URL of the simulator does.
 *
 * Broker routes (MetaApi's shape; faults apply to these only):
 *   GET  /users/current/accounts/{id}/account-information
 *   GET  /users/current/accounts/{id}/positions
 *   GET  /users/current/accounts/{id}/history-deals/time/{from}/{to}?offset=&limit=
 *   POST /users/current/accounts/{id}/trade   {"actionType":"POSITION_CLOSE_ID","positionId"}
 * Control routes (never faulted, so a test can always steer):
 *   GET|POST /_sim/faults   POST /_sim/pause   POST /_sim/resume
 *   POST /_sim/tick {"count":N}   GET /_sim/stats
 *   POST /_sim/scenario {"account","kind","action":"start"|"end"[,"position"][,"id"]}
 *   GET  /_sim/scenarios   (the active ones; see sim_scenario.h)
 *
 * No HTTP library here: the caller passes the request's parts and sends the
 * reply. Threads: called from any connection thread; state is reached only
 * through the world's locked functions.
 */
#ifndef TRADEOPS_SIM_ROUTES_H
#define TRADEOPS_SIM_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "sim_faults.h"
#include "sim_world.h"

#define SIM_ROUTES_SEGMENT_LEN 128 /* longest path segment kept */

typedef struct sim_route_match {
    enum sim_stat route; /* SIM_STAT_UNKNOWN_ROUTE when nothing matches */
    const char *method;  /* the one method (or "GET, POST") the route takes */
    char account[SIM_ROUTES_SEGMENT_LEN];
    char from[SIM_ROUTES_SEGMENT_LEN], to[SIM_ROUTES_SEGMENT_LEN];
} sim_route_match;

typedef struct sim_request {
    const char *method;
    const char *path;
    const char *body; /* NUL-terminated; "" when none */
    size_t body_len;
    bool body_too_big;
    const char *offset, *limit; /* query arguments, NULL when absent */
} sim_request;

typedef struct sim_reply {
    unsigned status;
    cJSON *json;       /* owned by the reply; NULL only when out of memory */
    const char *allow; /* set on 405 */
} sim_reply;

/* Most bytes of request body read; more is answered 413. */
#define SIM_ROUTES_MAX_BODY 65536u

void sim_routes_match(const char *path, sim_route_match *m);
bool sim_routes_is_broker(enum sim_stat route);

/* Answers one request into *out (status and JSON, never NULL json unless out
 * of memory). faults supplies hostile_text for rendering. */
void sim_routes_handle(sim_world *w, const sim_route_match *m, const sim_request *rq,
                       const sim_faults *faults, sim_reply *out);

#endif
