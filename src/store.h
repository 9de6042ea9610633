/*
 * store.h - PostgreSQL: accounts, latest broker state and positions.
 *
 * Every statement is parameterised. A poll cycle is written in one
 * transaction, so readers see a whole cycle or none of it.
 *
 * Threads: functions use only the connection they are given; each thread
 * owns its own connection.
 */
#ifndef TRADEOPS_STORE_H
#define TRADEOPS_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "model.h"

/* Reads accounts visible to scope (NULL: all) with their last stored state
 * and positions into a new snapshot (not yet published). only_account may
 * narrow it to one id. */
int store_load_snapshot(PGconn *c, const operator_id *scope, const char *only_account,
                        int64_t stale_after_ms, model_snapshot **out, char *err, size_t errlen);

/* Writes one poll cycle: fetched[i] says whether accounts[i] was fetched
 * (its data is new); the others only get their link state and error. */
int store_write_cycle(PGconn *c, const account_view *accounts, const bool *fetched, size_t n,
                      char *err, size_t errlen);

/* Adds an account (admin only; audited in the same transaction). *existed
 * is set when it was there already (then nothing changes). */
int store_account_add(PGconn *c, const operator_id *op, const char *id, const char *name,
                      double dd_limit_pct, bool *existed, char *err, size_t errlen);

#endif
