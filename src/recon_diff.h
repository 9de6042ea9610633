/*
 * recon_diff.h - the reconciliation diff: one account's expected positions
 * (the bot's) against its actual ones (the broker's), by position id, and
 * the persistence rule that keeps a race between a bot write and a poll
 * from becoming an incident.
 *
 * Pure: no I/O, no clock, no globals. The reconciler thread (reconciler.c)
 * loads the inputs, calls these, and writes what they decide.
 *
 * Threads: any; a recon_tracker belongs to one thread.
 */
#ifndef TRADEOPS_RECON_DIFF_H
#define TRADEOPS_RECON_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* One position as either side sees it. For the bot's rows, side_text is
 * what the bot wrote; recon_expected_check validates it. */
typedef struct recon_pos {
    char id[40];
    char symbol[32];
    char side[16];          /* "BUY" / "SELL" (anything else is invalid on the bot's side) */
    double volume;          /* lots */
    double stop_loss;       /* NAN when unset */
    double take_profit;     /* NAN when unset */
    double price;           /* a current or open price, for the point size; NAN if unknown */
    int64_t magic;
    char strategy[64];
    bool invalid;           /* set by recon_expected_check */
    char invalid_reason[120];
} recon_pos;

typedef struct recon_tolerance {
    double price_points;    /* SL/TP may differ by this many points (default 10) */
    double volume_lots;     /* volumes may differ by this much (default 1e-6) */
} recon_tolerance;

typedef struct recon_finding {
    char position[40];
    enum recon_kind kind;
    recon_pos expected, actual;
    bool has_expected, has_actual;
    char detail[200];       /* for a person: "volume 0.50 expected, 0.20 at the broker" */
} recon_finding;

/* Validates a bot row: side must be BUY or SELL, volume finite and > 0,
 * symbol non-empty, SL/TP finite or unset (NAN), not negative. Sets
 * p->invalid and p->invalid_reason; returns !p->invalid. */
bool recon_expected_check(recon_pos *p);

/* Size of one point for a symbol at a price: 0.001 for JPY crosses and
 * silver, 0.01 for gold, indices and anything priced over 1000, 0.00001
 * for other currency pairs. An approximation documented in docs/; the
 * tolerance is configurable because it is one. */
double recon_point_size(const char *symbol, double price);

/* Compares one account. exp/act need not be sorted (the function sorts
 * copies). An invalid expected row yields RECON_BAD_EXPECTED and matches
 * its id (so the broker's position of that id is not also "unexpected").
 * A matched pair may yield several findings (side, volume, sl, tp); a side
 * mismatch still reports volume/SL/TP if they differ. Findings come out
 * sorted by (position, kind). Returns 0, or -1 when memory ran out.
 * *out is malloc'ed (NULL when *n_out is 0). */
int recon_diff(const recon_pos *exp, size_t n_exp, const recon_pos *act, size_t n_act,
               const recon_tolerance *tol, recon_finding **out, size_t *n_out);

/* Persistence: a divergence must be seen in `need` consecutive passes of
 * its account before it is logged. One tracker per account. */
typedef struct recon_seen {
    char position[40];
    enum recon_kind kind;
    int count;              /* consecutive passes seen so far */
    int64_t first_ms;       /* when the first of them was seen */
} recon_seen;

typedef struct recon_tracker {
    recon_seen *seen;       /* sorted by (position, kind) */
    size_t n, cap;
} recon_tracker;

/* Feeds one pass of one account (findings sorted as recon_diff gives them)
 * at now_ms. ready[i] is set when findings[i] has now been seen `need`
 * consecutive times (or more); first_ms[i] gets when it was first seen.
 * Keys absent this pass are forgotten (a divergence that flaps never
 * reaches `need`). Returns 0, or -1 when memory ran out. */
int recon_tracker_pass(recon_tracker *t, const recon_finding *findings, size_t n, int need,
                       int64_t now_ms, bool *ready, int64_t *first_ms);
void recon_tracker_free(recon_tracker *t);

#endif
