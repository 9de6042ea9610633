/*
 * sim_routes.h - what each URL of the simulator does.
 *
 * Broker routes (MetaApi's shape; faults apply to these only):
 *   GET  /users/current/accounts/{id}/account-information
 *   GET  /users/current/accounts/{id}/positions
 *   GET  /users/current/accounts/{id}/history-deals/time/{from}/{to}?offset=&limit=
 *   POST /users/current/accounts/{id}/trade   {"actionType":"POSITION_CLOSE_ID","positionId"}
 *        (also subject to the count-based trade_*_next faults, sim_faults.h)
 * Control routes (never faulted, so a test can always steer):
 *   GET|POST /_sim/faults   POST /_sim/pause   POST /_sim/resume
 *   POST /_sim/tick {"count":N}   GET /_sim/stats
 *   POST /_sim/scenario {"account","kind","action":"start"|"end"[,"position"][,"id"]}
 *   GET  /_sim/scenarios   (the active ones; see sim_scenario.h)
 *   POST /_sim/drawdown {"account"[,"depth"][,"seconds"][,"action":"start"|"end"]}
 *   GET  /_sim/drawdown    (the active slides; see sim_drawdown.h)
 *   POST /_sim/notify {"reset"|"migrate"|"target","fail_next","status","retry_after"}
 *   GET  /_sim/notify      (what Telegram and Slack received; see sim_notify.h)
 *   GET  /_sim/journal     (what the journal far ends received; sim_journal.h;
 *   POST /_sim/journal/reset  these two need no auth-token)
 *   GET|POST /_sim/control (the same as /_sim/faults)
 * Notifier far ends (no auth-token: the secret is in the URL; never faulted
 * by the broker knobs, only by POST /_sim/notify):
 *   POST /bot{TOKEN}/sendMessage        Telegram Bot API
 *   POST /services/{T}/{B}/{SECRET}     Slack incoming webhook
 * Journal far ends (no auth-token: they carry their own auth; faulted only
 * by the journal_* knobs; see sim_journal.h):
 *   GET|POST /api/v1/imports            Tradervue (HTTP Basic auth)
 *   POST /hooks/{...}                   signed webhook receiver (HMAC)
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
    /* A request header's value by name (case-insensitive), NULL when absent;
     * conn is the HTTP library's connection it reads. Either may be NULL:
     * then no header is present. */
    const char *(*header)(const struct sim_request *rq, const char *name);
    void *conn;
    const char *method;
    const char *path;
    const char *body; /* NUL-terminated; "" when none */
    size_t body_len;
    bool body_too_big;
    const char *offset, *limit; /* query arguments, NULL when absent */
} sim_request;

typedef struct sim_reply {
    unsigned status;
    cJSON *json; /* owned by the reply; NULL only when out of memory (or text is set) */
    char *text;  /* when set: sent as is instead of json (malloc'ed, owned) */
    const char *content_type; /* NULL: application/json */
    const char *allow;        /* set on 405 */
    bool has_retry_after;
    long retry_after; /* seconds, sent as Retry-After when has_retry_after */
} sim_reply;

/* Most bytes of request body read; more is answered 413. */
#define SIM_ROUTES_MAX_BODY 65536u

void sim_routes_match(const char *path, sim_route_match *m);
bool sim_routes_is_broker(enum sim_stat route);
/* False for the notifier far ends, whose secret is in the URL, the
 * journal far ends, which check their own credentials, and /_sim/journal
 * (the journal protocol's records: open, as that protocol says). */
bool sim_routes_needs_auth(enum sim_stat route);
/* Frees what a reply owns (json, text). */
void sim_reply_free(sim_reply *r);

/* Answers one request into *out (status and JSON, never NULL json unless out
 * of memory). faults supplies hostile_text for rendering. */
void sim_routes_handle(sim_world *w, const sim_route_match *m, const sim_request *rq,
                       const sim_faults *faults, sim_reply *out);

#endif
