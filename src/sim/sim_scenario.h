/*
 * sim_scenario.h - scenarios: the broker and the bot drift apart in one of
 * the ways the reconciler must catch, on demand (POST /_sim/scenario) or on
 * a timer (--scenario-every), and come back together when the scenario ends.
 *
 * Each kind makes exactly one divergence, of its own kind, on one position:
 *   stop_out       the broker closes a bot position ("[so ...]" OUT deal), the
 *                  bot is not told           -> missing_at_broker
 *                  end: the bot learns and sets closed_at
 *   manual_trade   a position placed by hand (magic 0, comment "manual"), the
 *                  bot has no row            -> unexpected_at_broker
 *                  end: the broker closes it
 *   partial_close  the broker closes half of a bot position -> volume
 *                  end: the bot writes the volume the broker holds
 *   sl_moved       the broker moves a bot position's SL by SIM_SCENARIO_MOVE_POINTS
 *                  (or sets one when it had none) -> sl
 *                  end: the bot writes the broker's SL
 *   tp_moved       the same for the TP       -> tp
 *   never_opened   the bot writes a row for a ticket the broker never opens
 *                                            -> missing_at_broker
 *                  end: the bot sets closed_at
 * A position a scenario acts on is held (sim_position.held): the strategy
 * neither closes nor modifies it and its SL/TP do not trigger until the end.
 * When an account has no bot position to act on, one is opened through the
 * bot's normal path first (the bot writes its row), then acted on.
 * Scenarios need the bot (--pg): without it there is nothing to diverge from.
 *
 * Threads and locks: the scenario list, its counters and its rng are guarded
 * by the world mutex; every function here takes that mutex itself, so none
 * may be called with it held. new/free and demo_start/demo_stop belong to
 * the main thread; the demo thread (--scenario-every) uses start and end
 * like an HTTP thread does.
 */
#ifndef TRADEOPS_SIM_SCENARIO_H
#define TRADEOPS_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sim_bot.h"
#include "sim_world.h"

#define SIM_SCENARIO_MAX_ACTIVE 256
/* How far sl_moved/tp_moved move a stop, in points of the symbol's price
 * decimals (10^-digits): never fewer than 50 of the reconciler's points,
 * whose default tolerance is 10. */
#define SIM_SCENARIO_MOVE_POINTS 50.0
#define SIM_SCENARIO_DETAIL_LEN 200

enum sim_scenario_kind {
    SIM_SCENARIO_STOP_OUT = 0,
    SIM_SCENARIO_MANUAL_TRADE,
    SIM_SCENARIO_PARTIAL_CLOSE,
    SIM_SCENARIO_SL_MOVED,
    SIM_SCENARIO_TP_MOVED,
    SIM_SCENARIO_NEVER_OPENED,
    SIM_SCENARIO_KINDS /* not a kind: how many there are */
};

typedef struct sim_scenario {
    long id;
    enum sim_scenario_kind kind;
    size_t account; /* index: demo-1 is 0 */
    uint64_t ticket;
    int64_t started_ms;
    bool opened_for_it; /* the account had nothing to act on: a position was opened */
    char detail[SIM_SCENARIO_DETAIL_LEN];
} sim_scenario;

typedef struct sim_scenarios sim_scenarios;

/* bot may be NULL (no --pg): every start is then refused with a message. */
sim_scenarios *sim_scenarios_new(sim_world *w, sim_bot *bot, uint64_t seed, char *err,
                                 size_t errlen);
void sim_scenarios_free(sim_scenarios *s);

const char *sim_scenario_kind_name(enum sim_scenario_kind k);

/* Starts kind on account, on position (a decimal ticket) or, when NULL, on
 * the account's oldest bot position no scenario holds. 0 with *out, or -1
 * with err saying what is wrong with the request (an HTTP 400). */
int sim_scenarios_start(sim_scenarios *s, const char *account, const char *kind,
                        const char *position, int64_t now_ms, sim_scenario *out, char *err,
                        size_t errlen);
/* Ends the oldest active scenario of kind on account; id (> 0) or position
 * (non-NULL) narrow the choice. 0 with *out, or -1 with err. */
int sim_scenarios_end(sim_scenarios *s, const char *account, const char *kind, long id,
                      const char *position, int64_t now_ms, sim_scenario *out, char *err,
                      size_t errlen);

/* The active scenarios, oldest first: {"scenarios":[...],"started","ended"}.
 * NULL out of memory. */
cJSON *sim_scenarios_json(sim_scenarios *s);
/* One scenario: {"id","account","kind","position","state","started_at",
 * "opened_for_it","detail"}. NULL out of memory. */
cJSON *sim_scenario_json(const sim_scenario *sc, const char *state);
/* {"active","started","ended"} for /_sim/stats. NULL out of memory. */
cJSON *sim_scenarios_stats_json(sim_scenarios *s);

/* --scenario-every: a thread starts a scenario on a random account every
 * every_s seconds (the first one at once) and ends it after 3/4 of that.
 * Kinds come in shuffled rounds (each kind once per round); every choice
 * comes from the seeded rng. The thread stops when the world does (call
 * demo_stop only after sim_world_stop; it joins). 0, or -1 with err. */
int sim_scenarios_demo_start(sim_scenarios *s, long every_s, char *err, size_t errlen);
void sim_scenarios_demo_stop(sim_scenarios *s);

#endif
