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
    char side[16];      /* "BUY" / "SELL" (anything else is invalid on the bot's side) */
    double volume;      /* lots */
    double stop_loss;   /* NAN when unset */
    double take_profit; /* NAN when unset */
    double price;       /* a current or open price, for the point size; NAN if unknown */
    int64_t magic;
    char strategy[64];
    bool invalid; /* set by recon_expected_check */
    char invalid_reason[120];
} recon_pos;

typedef struct recon_tolerance {
    double price_points; /* SL/TP may differ by this many points (default 10) */
    double volume_lots;  /* volumes may differ by this much (default 1e-6) */
} recon_tolerance;

typedef struct recon_finding {
    char position[40];
    enum recon_kind kind;
    recon_pos expected, actual;
    bool has_expected, has_actual;
    char detail[200]; /* for a person: "volume 0.50 expected, 0.20 at the broker" */
} recon_finding;

/* Validates a bot row: id and symbol non-empty, side exactly "BUY" or
 * "SELL", volume finite and > 0, SL/TP unset (NAN) or finite and > 0 (0 is
 * not "unset": the bot writes null for that). Sets p->invalid and
 * p->invalid_reason (the first problem, for a person: `side "LONG" is not
 * BUY or SELL`, "volume -0.10 is not positive"; the bot's text in it is
 * sanitised), or clears them; returns !p->invalid. */
bool recon_expected_check(recon_pos *p);

/* Size of one point for a symbol at a price: 0.001 for JPY crosses and
 * silver, 0.01 for gold, indices and anything priced over 1000, 0.00001
 * for other currency pairs. An approximation documented in docs/; the
 * tolerance is configurable because it is one.
 * In order, case-insensitively: "XAU"/"GOLD" in the name, 0.01; a finite
 * price over 1000, 0.01; "XAG"/"SILVER"/"JPY" in the name, 0.001; a
 * currency pair (two known ISO codes in the first six letters, after any
 * leading punctuation, any suffix: "eurusd.m", "#GBPUSDm"), 0.00001;
 * anything else (indices, stocks, energies, unknown), 0.01. price may be
 * NAN; symbol may be NULL. */
double recon_point_size(const char *symbol, double price);

/* Compares one account. exp/act need not be sorted (the function sorts
 * copies). An invalid expected row yields RECON_BAD_EXPECTED and matches
 * its id (so the broker's position of that id is not also "unexpected").
 * A matched pair may yield several findings (side, volume, sl, tp); a side
 * mismatch still reports volume/SL/TP if they differ. Findings come out
 * sorted by (position, kind). Returns 0, or -1 when memory ran out.
 * *out is malloc'ed (NULL when *n_out is 0).
 *
 * The rules, decided here:
 * - Expected rows are checked by recon_expected_check's rules (the caller
 *   need not call it first); a row the caller already marked invalid keeps
 *   the caller's reason. A bad row gives only BAD_EXPECTED (its copy marked
 *   invalid, with the reason), with the broker's row of that id attached
 *   (has_actual) when there is one.
 * - Ids compare as bytes (strncmp): "10" sorts before "2". Of rows sharing
 *   an id on one side, the first in the caller's array is used and the
 *   others are ignored without a finding.
 * - VOLUME when |expected - actual| > tol->volume_lots (NaN at the broker
 *   counts as different).
 * - SIDE when the sides differ, and also when the symbols differ (a
 *   position on another instrument is as wrong as one in the other
 *   direction): one SIDE finding whose detail says which, or both
 *   ("symbol EURUSD expected, GBPUSD at the broker; side BUY expected, SELL
 *   at the broker"). Symbols compare exactly, suffixes included.
 * - SL (TP likewise) when one side has it and the other not, or both have
 *   it and they differ by more than tol->price_points points, the point
 *   from recon_point_size(actual symbol, actual price), or with the level
 *   itself (the bot's, else the broker's) as the price when the broker
 *   gives none.
 * - "Exactly at the tolerance" is not a mismatch: differences within 1e-6
 *   points (1e-9 lots) of it count as at it, since 1.08510 - 1.08500 is not
 *   exactly 0.0001 in binary.
 * - tol NULL, or a field NaN or negative, means the default (10 points,
 *   1e-6 lots).
 * - detail is for a person: "volume 0.50 expected, 0.25 at the broker",
 *   "SL 1.08500 expected, 1.08000 at the broker (500.0 points)", "SL unset
 *   expected, 1.08000 at the broker", "BUY 0.50 EURUSD expected, none at
 *   the broker", "SELL 1.00 XAUUSD at the broker, none expected"; prices
 *   with the point's decimals, lots with 2, more digits when those would
 *   hide the difference. Outside text in it is sanitised.
 * - The side a finding lacks is zeroed, its numbers NAN.
 * Also -1 (with *out NULL) when out or n_out is NULL, or a count is
 * non-zero with its array NULL. */
int recon_diff(const recon_pos *exp, size_t n_exp, const recon_pos *act, size_t n_act,
               const recon_tolerance *tol, recon_finding **out, size_t *n_out);

/* Persistence: a divergence must be seen in `need` consecutive passes of
 * its account before it is logged. One tracker per account. */
typedef struct recon_seen {
    char position[40];
    enum recon_kind kind;
    int count;        /* consecutive passes seen so far */
    int64_t first_ms; /* when the first of them was seen */
} recon_seen;

typedef struct recon_tracker {
    recon_seen *seen; /* sorted by (position, kind) */
    size_t n, cap;
} recon_tracker;

/* Feeds one pass of one account (findings sorted as recon_diff gives them)
 * at now_ms. ready[i] is set when findings[i] has now been seen `need`
 * consecutive times (or more); first_ms[i] gets when it was first seen.
 * Keys absent this pass are forgotten (a divergence that flaps never
 * reaches `need`). Returns 0, or -1 when memory ran out.
 * The key is (position, kind). A need below 1 counts as 1 (ready at once).
 * ready and first_ms may be NULL when not wanted. Findings in another
 * order work too; a key given twice in one pass counts once. A pass with
 * no findings forgets everything: call it for a clean account too. On -1
 * the tracker is unchanged. Start from a zeroed tracker ({0}). */
int recon_tracker_pass(recon_tracker *t, const recon_finding *findings, size_t n, int need,
                       int64_t now_ms, bool *ready, int64_t *first_ms);
void recon_tracker_free(recon_tracker *t);

#endif
