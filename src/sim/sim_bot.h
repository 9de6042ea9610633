/*
 * sim_bot.h - the simulator playing the trading bot (--pg): it records the
 * bot's expected positions in PostgreSQL's bot_positions, as the contract in
 * docs/bot-contract.md asks of a real bot, when the simulator's strategy
 * opens and closes them (and when a scenario makes the bot learn something).
 *
 * Changes are queued in memory, in order, at the moment they happen at the
 * broker (under the world mutex, same tick), and a writer thread with its own
 * PGconn writes them, a batch per transaction. While PostgreSQL is down, the
 * database missing or not migrated yet, events stay queued (at most
 * SIM_BOT_QUEUE_MAX) and the writer retries every SIM_BOT_RETRY_MS; a
 * dropped connection is reopened. Every event is idempotent (insert or
 * update to a state), so a batch whose commit was lost is simply replayed.
 *
 * Threads and locks: sim_bot_new/start/stop/free belong to the main thread.
 * The enqueueing functions (sim_bot_opened/modified/closed/resync and the
 * market observer installed by sim_bot_follow) may run on any thread and
 * take only the bot's own queue mutex, which also guards the counters. They
 * are normally called under the world mutex, so the lock order is world,
 * then bot; the writer thread never takes the world mutex. The PGconn
 * belongs to the writer thread alone.
 */
#ifndef TRADEOPS_SIM_BOT_H
#define TRADEOPS_SIM_BOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sim_market.h"

#define SIM_BOT_QUEUE_MAX 262144 /* events kept while PostgreSQL is away */
#define SIM_BOT_RETRY_MS 1000L
#define SIM_BOT_BATCH_MAX 500 /* events per transaction */

typedef struct sim_bot sim_bot;

/* 0 when conninfo parses as a libpq connection string or URI (whether the
 * server is there is found out later); -1 with err otherwise. */
int sim_bot_check_conninfo(const char *conninfo, char *err, size_t errlen);

/* conninfo: a libpq connection string or URI. accounts: how many demo
 * accounts the simulator has (the bot trades all of them). NULL with err. */
sim_bot *sim_bot_new(const char *conninfo, size_t accounts, char *err, size_t errlen);
/* Starts the writer thread. 0, or -1 with err. */
int sim_bot_start(sim_bot *b, char *err, size_t errlen);
/* Makes one last attempt to write what is queued, then joins the writer.
 * Safe to call twice or without start. */
void sim_bot_stop(sim_bot *b);
void sim_bot_free(sim_bot *b);

/* Under the world mutex, before any tick: queues a resync (the bot's rows of
 * this simulator's accounts that are still open are closed: a restarted bot
 * forgets what it no longer holds) and an open for every position the
 * strategy holds now, then installs the market observer that queues each
 * later open and close of the bot's positions (magic != 0). */
void sim_bot_follow(sim_bot *b, sim_market *m);

/* The bot learns of a change; acc is the account index (demo-1 is 0).
 * opened: a new row (or the row made current again); modified: volume, SL
 * and TP as p has them; closed: closed_at = at_ms. */
void sim_bot_opened(sim_bot *b, size_t acc, const sim_position *p);
void sim_bot_modified(sim_bot *b, size_t acc, const sim_position *p, int64_t at_ms);
void sim_bot_closed(sim_bot *b, size_t acc, uint64_t ticket, int64_t at_ms);

/* {"enabled":true,"connected","rows_written","write_errors","queue_length",
 *  "queue_max","dropped","rejected","last_error"}; NULL out of memory. */
cJSON *sim_bot_stats_json(sim_bot *b);

#endif
