/*
 * sim_world.h - the simulator's shared state and its clock: the market, the
 * live fault settings, request statistics, and the tick thread.
 *
 * Threads and locks: ONE mutex (the world mutex) guards everything in a
 * sim_world: the market, the faults, the stats, the fault rng and the
 * paused/stopping flags. The tick thread (started by sim_world_start) is the
 * only thread that ticks on its own; HTTP connection threads read and close
 * positions through sim_world_lock/sim_world_market/sim_world_unlock and
 * use the other functions, which take the mutex themselves. Hold the lock
 * only to copy or change state; render and send outside it.
 * sim_world_new/start/stop/free and sim_world_attach belong to the main
 * thread. The bot (sim_bot.h) and the scenarios (sim_scenario.h) are
 * attached before start and read-only after; the scenarios' state is
 * guarded by this same mutex, the bot's queue by the bot's own (taken
 * after this one, never before). The notifier far ends (sim_notify.h) are
 * owned by the world but guarded by their own mutex, never taken with this
 * one held.
 */
#ifndef TRADEOPS_SIM_WORLD_H
#define TRADEOPS_SIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sim_faults.h"
#include "sim_market.h"

#define SIM_WORLD_MIN_TICK_MS 1L
#define SIM_WORLD_MAX_TICK_MS 3600000L
#define SIM_WORLD_MAX_STEP 100000L /* most ticks one /_sim/tick may run */

/* Counters shown by GET /_sim/stats. The first SIM_STAT_ROUTES are routes. */
enum sim_stat {
    SIM_STAT_ACCOUNT_INFO = 0,
    SIM_STAT_POSITIONS,
    SIM_STAT_DEALS,
    SIM_STAT_TRADE,
    SIM_STAT_SIM_FAULTS,
    SIM_STAT_SIM_PAUSE,
    SIM_STAT_SIM_RESUME,
    SIM_STAT_SIM_TICK,
    SIM_STAT_SIM_STATS,
    SIM_STAT_SIM_SCENARIO,
    SIM_STAT_SIM_SCENARIOS,
    SIM_STAT_SIM_DRAWDOWN,
    SIM_STAT_SIM_NOTIFY,
    SIM_STAT_TELEGRAM,
    SIM_STAT_SLACK,
    SIM_STAT_SIM_JOURNAL, /* GET /_sim/journal, POST /_sim/journal/reset */
    SIM_STAT_TRADERVUE,   /* /api/v1/... (sim_journal.h) */
    SIM_STAT_WEBHOOK,     /* /hooks/... */
    SIM_STAT_UNKNOWN_ROUTE,
    SIM_STAT_ROUTES, /* not a counter: the number of route counters */
    SIM_STAT_UNAUTHORIZED = SIM_STAT_ROUTES,
    SIM_STAT_FAULT_DROP,
    SIM_STAT_FAULT_RATE_LIMIT,
    SIM_STAT_FAULT_ERROR,
    SIM_STAT_FAULT_MALFORMED,
    SIM_STAT_FAULT_OVERSIZED,
    SIM_STAT_FAULT_WRONG_TYPES,
    SIM_STAT_CLOSES_RECEIVED,
    SIM_STAT_CLOSES_DONE,
    SIM_STAT_TICK_ERRORS,
    SIM_STAT_COUNT
};

/* Per-account counts of the trade route's closes (/_sim/stats "closes"). */
enum sim_closes_kind {
    SIM_CLOSES_RECEIVED = 0, /* well-formed close requests, faulted ones too */
    SIM_CLOSES_DONE,         /* answered TRADE_RETCODE_DONE */
    SIM_CLOSES_FAULTED,      /* answered by a trade_*_next fault (hang: counted, then done) */
    SIM_CLOSES_KINDS
};

/* What the count-based trade faults make of the next close request. */
enum sim_trade_fault {
    SIM_TRADE_NORMAL = 0,
    SIM_TRADE_ERROR,   /* HTTP 500 */
    SIM_TRADE_REJECT,  /* 200 TRADE_RETCODE_REJECT */
    SIM_TRADE_REQUOTE, /* 200 TRADE_RETCODE_REQUOTE */
    SIM_TRADE_HANG     /* wait, then close */
};

typedef struct sim_world sim_world;
typedef struct sim_bot sim_bot;
typedef struct sim_scenarios sim_scenarios;
typedef struct sim_notify sim_notify;
typedef struct sim_journal sim_journal;

typedef struct sim_world_config {
    sim_market_config market;
    long tick_ms;
    bool start_paused;
    sim_faults faults;
} sim_world_config;

sim_world *sim_world_new(const sim_world_config *cfg, char *err, size_t errlen);
/* Starts the tick thread. Returns 0 or -1 with err. */
int sim_world_start(sim_world *w, char *err, size_t errlen);
/* Stops and joins the tick thread and wakes every sim_world_sleep_ms; after
 * it, sleeps return at once. Safe to call twice or without start. */
void sim_world_stop(sim_world *w);
void sim_world_free(sim_world *w);

/* Attaches the bot and the scenarios (either may be NULL). Before start. */
void sim_world_attach(sim_world *w, sim_bot *bot, sim_scenarios *scenarios);
sim_bot *sim_world_bot(const sim_world *w);
sim_scenarios *sim_world_scenarios(const sim_world *w);
/* True once sim_world_stop has begun. */
bool sim_world_stopping(sim_world *w);
/* The Telegram and Slack far ends (made by sim_world_new, freed with it). */
sim_notify *sim_world_notify(const sim_world *w);
/* The journal far ends (likewise; own mutex, never taken with the world's). */
sim_journal *sim_world_journal(const sim_world *w);

void sim_world_lock(sim_world *w);
void sim_world_unlock(sim_world *w);
/* The market; only while holding the lock. */
sim_market *sim_world_market(sim_world *w);

void sim_world_faults(sim_world *w, sim_faults *out);
/* All-or-nothing update from a JSON object; *now gets the result. */
int sim_world_set_faults(sim_world *w, const cJSON *obj, sim_faults *now, char *err, size_t errlen);
void sim_world_set_paused(sim_world *w, bool paused);
/* Runs count ticks now, paused or not. Returns 0, or -1 with err. */
int sim_world_step(sim_world *w, long count, char *err, size_t errlen);

void sim_world_count(sim_world *w, enum sim_stat s);
/* Counts one close of account acc (and the global closes_received/done). */
void sim_world_count_close(sim_world *w, size_t acc, enum sim_closes_kind k);
/* Takes the next count-based trade fault, counting its knob down; for
 * SIM_TRADE_HANG *hang_ms gets how long to wait. */
enum sim_trade_fault sim_world_take_trade_fault(sim_world *w, long *hang_ms);
/* Counts down the first of n count knobs (offsets: offsetof(sim_faults, a
 * long field)) that is above 0; returns its index in offsets, or -1 when
 * every one is 0. */
int sim_world_take_next(sim_world *w, const size_t *offsets, int n);
/* A fresh 64-bit seed for one request's fault decisions; drawn from the
 * world's fault rng, which is separate from the market's so requests never
 * change what the market does. */
uint64_t sim_world_request_seed(sim_world *w);
/* Sleeps ms milliseconds, or less if the world is stopping. */
void sim_world_sleep_ms(sim_world *w, long ms);

/* {"ticks","paused","requests":{route:n},"unauthorized","faults_injected":{},
 *  "closes_received","closes_done","tick_errors",
 *  "closes":{"demo-N":{"received","done","faulted"}} (accounts with any)};
 * NULL when out of memory. */
cJSON *sim_world_stats_json(sim_world *w);

#endif
