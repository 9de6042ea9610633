/*
 * watcher.h - the thread that shows every instance the same alerts, guards
 * and audit log, whichever instance acts.
 *
 * It LISTENs on tradeops_alerts (raised by triggers on alerts and on
 * guard_state's state) and reloads at once when told, and at least every
 * [guard] watch_interval_ms otherwise (equity and the audit log change
 * without a notification). What it reads it publishes as the model's
 * alert_set, only when something differs from the last one, so an idle
 * console draws nothing.
 *
 * Scope: a trader sees the alerts and guards of their own accounts and
 * their own audit records; other roles see everything.
 *
 * Threads: one thread of its own with its own PostgreSQL connection.
 */
#ifndef TRADEOPS_WATCHER_H
#define TRADEOPS_WATCHER_H

#include <stddef.h>

#include "auth.h"
#include "config.h"
#include "model.h"

#define WATCHER_RESOLVED_SHOWN 200 /* resolved alerts kept for the history view */
#define WATCHER_AUDIT_SHOWN 1000   /* newest audit records kept */

typedef struct watcher watcher;

watcher *watcher_new(const config *cfg, const operator_id *scope, model *m, char *err,
                     size_t errlen);
int watcher_start(watcher *w, char *err, size_t errlen);
void watcher_stop(watcher *w);
void watcher_free(watcher *w);

/* One load and publish on the calling thread (tests, headless use). */
int watcher_load_once(watcher *w, char *err, size_t errlen);

#endif
