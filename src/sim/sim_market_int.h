/*
 * sim_market_int.h - the market's insides, shared by sim_market.c (the
 * rules: prices, the strategy, ticks), sim_market_ops.c (the one-off
 * changes scenarios make, and reading the market) and sim_market_slide.c
 * (drawdown slides on demand). Nothing else includes this file; everyone
 * else goes through sim_market.h.
 *
 * Threads: as sim_market.h: no lock of its own, every call under the world
 * mutex.
 */
#ifndef TRADEOPS_SIM_MARKET_INT_H
#define TRADEOPS_SIM_MARKET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_market.h"
#include "sim_rng.h"

#define SIM_MKT_SYMBOLS 8 /* entries of sim_market.c's symbol table */
#define SIM_MKT_MIN_LOT 0.01
#define SIM_MKT_COMMISSION_PER_LOT 3.5 /* USD, each side */

/* A drawdown slide on one account (sim_market_slide.c). Monotonic times. */
typedef struct sim_mkt_slide {
    bool active;
    int64_t start_mono_ms, duration_ms, started_ms;
    double depth, peak, start_equity;
} sim_mkt_slide;

typedef struct sim_mkt_account {
    char name[SIM_MARKET_NAME_LEN];
    int64_t login;
    double balance;
    double peak_equity;
    int scripted;
    int halted; /* bot stopped: no new positions */
    size_t n_pos;
    sim_position pos[SIM_MARKET_MAX_POSITIONS];
    sim_deal *deals; /* time order */
    size_t n_deals, cap_deals;
    sim_mkt_slide slide;
} sim_mkt_account;

struct sim_market {
    sim_rng rng;
    size_t n_accounts;
    sim_mkt_account *acc;
    double price[SIM_MKT_SYMBOLS];
    uint64_t next_ticket, next_deal;
    uint64_t ticks;
    size_t deal_cap; /* per account */
    bool no_random_manual;
    sim_market_observer observer; /* NULL: nobody is told */
    void *observer_ctx;
};

/* How one position is opened: by the strategy (the default, all zero) or a
 * scenario's variations of it. */
typedef struct sim_mkt_open_opts {
    bool manual;       /* magic 0, comment "manual": placed by hand, not by the bot */
    double min_volume; /* at least this many lots (0: whatever the draw gives) */
    bool quiet;        /* the observer is not told */
    bool heavy;        /* sized like the demo-3 script's (2-4 x balance) */
} sim_mkt_open_opts;

/* Opens one position on account a (no-op when it is full); opts may be NULL.
 * The new position is the account's last. Returns 0, or -1 out of memory. */
int sim_mkt_open(sim_market *m, sim_mkt_account *a, int64_t open_ms, double shift_sigmas,
                 const sim_mkt_open_opts *opts);
/* Closes position i of a with an OUT deal commented why; the observer is
 * told when notify. Returns 0, or -1 out of memory (nothing changed). */
int sim_mkt_close(sim_market *m, sim_mkt_account *a, size_t i, int64_t now_ms, const char *why,
                  bool notify, uint64_t *order_id);
/* Makes room for one more deal on a. 0, or -1 out of memory. */
int sim_mkt_deal_reserve(const sim_market *m, sim_mkt_account *a);
/* Appends d (room reserved) keeping the history in time order. */
void sim_mkt_deal_push(sim_mkt_account *a, sim_deal *d);
/* Prices p at the market and recomputes its profit. */
void sim_mkt_mark(const sim_market *m, sim_position *p);
double sim_mkt_round(double x, int digits);
double sim_mkt_money(double x);
/* Index of ticket among a's open positions, or -1. */
long sim_mkt_find_ticket(const sim_mkt_account *a, uint64_t ticket);
/* p's profit at its current price, in account money (cents). */
double sim_mkt_profit(const sim_position *p);
/* Notional in USD at price: what margin and the drawdown scripts weigh by. */
double sim_mkt_notional(const sim_position *p, double price);
/* balance + sum(profit + swap + commission) of the open positions. */
double sim_mkt_equity(const sim_mkt_account *a);
/* A symbol's contract size, whether its P&L is converted at the current
 * price (USDxxx pairs), its lowest price, and its price decimals. */
void sim_mkt_symbol_facts(int symbol, double *contract, bool *base_usd, double *min_px,
                          int *digits);

/* Drawdown slides (sim_market_slide.c), called from the tick. After a
 * position is marked at the market: while a slide is active its adverse
 * mark is cleared (the tick's end puts equity back on the path), after one
 * the position is marked against by its adverse amount again. */
void sim_mkt_slide_mark(sim_mkt_account *a, sim_position *p);
/* At the end of an account's tick: equity onto the active slide's path. */
void sim_mkt_slide_tick(sim_mkt_account *a);

#endif
