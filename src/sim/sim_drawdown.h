/*
 * sim_drawdown.h - the /_sim/drawdown control route: start, end and list
 * drawdown slides (the market side is in sim_market.h, "Drawdown slides").
 *
 *   POST /_sim/drawdown {"account":"demo-2","depth":0.3,"seconds":5}
 *        starts a slide: over seconds (default 5, 1..600) the account's
 *        equity goes linearly down to (1 - depth) x its peak equity (depth
 *        default 0.3, more than 0 and less than 0.95) and stays there. At
 *        least SIM_SLIDE_MIN_POSITIONS positions are open from the start
 *        (opened when fewer); the strategy leaves them alone until the end.
 *   POST /_sim/drawdown {"account":"demo-2","action":"end"}
 *        ends it: equity stays where it is, the strategy trades again.
 *   GET  /_sim/drawdown  -> {"drawdowns":[...]} the active ones.
 * Each slide is shown as {"account","state":"active"|"ended","depth",
 * "seconds","started_at","elapsed_ms","peak","start_equity","floor",
 * "target","equity","balance","opened","positions":["ticket",...]}: floor
 * is where it ends, target where the path is now. A bad account, depth,
 * seconds, action or an unknown key is answered 400 with what is wrong.
 *
 * Threads: any connection thread; takes the world mutex itself.
 */
#ifndef TRADEOPS_SIM_DRAWDOWN_H
#define TRADEOPS_SIM_DRAWDOWN_H

#include "sim_routes.h"
#include "sim_world.h"

#define SIM_DRAWDOWN_DEFAULT_DEPTH 0.3
#define SIM_DRAWDOWN_MAX_DEPTH 0.95 /* exclusive */
#define SIM_DRAWDOWN_DEFAULT_SECONDS 5.0
#define SIM_DRAWDOWN_MIN_SECONDS 1.0
#define SIM_DRAWDOWN_MAX_SECONDS 600.0

void sim_drawdown_route(sim_world *w, const sim_request *rq, sim_reply *out);

#endif
