/*
 * engine.h - the backend engine: threads that feed the model.
 *
 * Threads: the broker poller (below), the reconciler (reconciler.h), the
 * closed-trade detector (detector.h), the guard (guard.h), the watcher
 * (watcher.h), the notifier (notifier.h), the journal sync workers
 * (sync_worker.h), the Sync screen's loader (sync_view.h) and the command
 * thread (command_queue.h).
 *
 * The broker poller thread. Each cycle it fetches every visible account
 * whose poll lock it holds (one instance polls each account; see engine_poll.c)
 * at once, keeps the last good data of accounts that failed (with their
 * error and growing age), writes them to PostgreSQL in one transaction,
 * caches each in Redis with a short TTL, reads the accounts other
 * instances poll from Redis (PostgreSQL on a miss), and publishes a new
 * model snapshot.
 *
 * Threads: engine_new/start/stop/free from one controlling thread (main).
 * The poller thread owns its PostgreSQL connection, Redis context and curl
 * handles; nothing of them crosses threads. engine_cycle_once is for
 * headless commands that run no thread.
 */
#ifndef TRADEOPS_ENGINE_H
#define TRADEOPS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "command.h"
#include "config.h"
#include "model.h"

typedef struct engine engine;

/* scope: the operator whose accounts are visible (a trader sees only their
 * own); NULL for all. Both cfg and scope must outlive the engine. Loads
 * the last stored state and publishes it as the first snapshot. */
engine *engine_new(const config *cfg, const operator_id *scope, model *m, char *err,
                   size_t errlen);
int engine_start(engine *e, char *err, size_t errlen);
/* Stops and joins the threads; bounded by the request timeouts. */
void engine_stop(engine *e);
void engine_free(engine *e);

/* A port to the engine's command thread (console actions). All zero when
 * the engine was made without an operator (scope NULL: the daemon). */
void engine_command_port(engine *e, command_port *port);

/* Runs one poll cycle on the calling thread (no thread started). */
int engine_cycle_once(engine *e, char *err, size_t errlen);

/* on: poll every account at the broker, whoever holds its poll lock (what
 * `tradeops positions --live` asks for). Default off. */
void engine_poll_everything(engine *e, bool on);

#endif
