/*
 * sim_open.h - POST /_sim/open {"account":"demo-1","count":N}: opens N
 * positions (1..SIM_OPEN_MAX_COUNT) on that account right now, through the
 * market's normal open path (the bot, when there is one, is told and
 * writes its rows), and answers their tickets:
 *   {"account":"demo-1","opened":["46648100",...],"positions":<open now>}
 * The new positions are held still (sim_position.held): the strategy neither
 * closes them nor lets their SL/TP trigger, so they stay open until closed
 * through the trade route. It is how tests and benches get a known, large
 * set of positions to close. All or nothing: when the account has no room
 * for N more (or its bot is halted) nothing is opened and the answer is 400
 * saying why; any other bad input is 400 naming the field.
 *
 * A control route like /_sim/faults: never faulted; it checks the
 * auth-token like every route (sim_http.c).
 *
 * Threads: any connection thread; takes the world mutex itself (so must be
 * called without it).
 */
#ifndef TRADEOPS_SIM_OPEN_H
#define TRADEOPS_SIM_OPEN_H

#include <stdbool.h>

#include "sim_routes.h"
#include "sim_world.h"

#define SIM_OPEN_PATH "/_sim/open"
#define SIM_OPEN_MAX_COUNT 1000

/* When rq is for SIM_OPEN_PATH, answers it into *out (405 for a method other
 * than POST, 413 for a body too big) and returns true; else returns false
 * and leaves *out alone. */
bool sim_open_route(sim_world *w, const sim_request *rq, sim_reply *out);

#endif
