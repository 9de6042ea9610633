/*
 * recon_store.h - PostgreSQL side of reconciliation: read a pass's inputs
 * (accounts with the age of their data, the broker's positions, the bot's
 * open positions), write a pass's findings into recon_log in one
 * statement, and read the log back for the console and the command line.
 *
 * Threads: functions use only the connection they are given.
 */
#ifndef TRADEOPS_RECON_STORE_H
#define TRADEOPS_RECON_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "model.h"
#include "recon_diff.h"

/* One account's inputs for a pass: slices of recon_input's arrays. */
typedef struct recon_account {
    char id[64];
    bool known;         /* in the accounts table (the bot may name others) */
    bool fresh;         /* its broker data is younger than stale_after */
    size_t exp_first, n_exp;
    size_t act_first, n_act;
} recon_account;

typedef struct recon_input {
    recon_account *accounts; /* sorted by id */
    size_t n_accounts;
    recon_pos *exp;          /* the bot's open rows, grouped by account */
    size_t n_exp;
    recon_pos *act;          /* the broker's positions, grouped by account */
    size_t n_act;
} recon_input;

/* Reads every enabled account (and every account the bot names), marking
 * those whose data is older than stale_after_s. */
int recon_store_load(PGconn *c, int stale_after_s, recon_input *in, char *err, size_t errlen);
void recon_input_free(recon_input *in);

/* What one pass decided for the accounts it reconciled. */
typedef struct recon_write_item {
    const char *account;
    const recon_finding *f;
    bool ready;         /* lasted long enough to open a row */
    int64_t first_ms;   /* when it was first seen */
} recon_write_item;

typedef struct recon_write_counts {
    long opened, updated, cleared;
} recon_write_counts;

/* One statement, so a pass is applied whole or not at all: active rows of
 * the reconciled accounts whose divergence is gone are cleared (and
 * resolved automatically unless an operator did first), rows still seen are
 * brought up to date, and ready findings without an active row open one. */
int recon_store_write(PGconn *c, char *const *accounts, size_t n_accounts,
                      const recon_write_item *items, size_t n_items, recon_write_counts *counts,
                      char *err, size_t errlen);

typedef struct recon_query {
    bool open_only;
    const char *account;     /* NULL: all the operator may see */
    long resolved_limit;     /* resolved rows besides the open ones */
} recon_query;

/* Every open row plus the newest resolved ones, newest first, filtered to
 * what scope may see (NULL: everything). */
int recon_store_load_set(PGconn *c, const operator_id *scope, const recon_query *q,
                         recon_set **out, char *err, size_t errlen);

/* The JSON stored for one side ({"symbol","side","volume","sl","tp",
 * "magic","strategy"}; unset prices are null). malloc'ed string. */
char *recon_side_json(const recon_pos *p);

#endif
