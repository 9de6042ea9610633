/*
 * sim_market.h - the simulated broker: symbols on seeded random walks, demo
 * accounts, their positions and their deal history.
 *
 * Everything that happens is driven by sim_market_tick and sim_market_close
 * and by the market's own rng, never by the wall clock or by who asks, so the
 * same seed gives the same ticks, opens and closes (time only stamps them).
 * Account "demo-3" is scripted to slide into a drawdown (see sim_market.c).
 *
 * Threads: a sim_market has no lock of its own and is not thread-safe. The
 * world (sim_world.h) owns it and every call is made under the world mutex.
 */
#ifndef TRADEOPS_SIM_MARKET_H
#define TRADEOPS_SIM_MARKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MARKET_MAX_ACCOUNTS 20000
#define SIM_MARKET_MAX_POSITIONS 8 /* per account */
#define SIM_MARKET_ID_LEN 24       /* "demo-20000" and a NUL, with room */
#define SIM_MARKET_NAME_LEN 48
#define SIM_MARKET_COMMENT_LEN 32

typedef struct sim_market sim_market;

typedef struct sim_market_config {
    size_t accounts; /* 1..SIM_MARKET_MAX_ACCOUNTS */
    uint64_t seed;
    /* The bot is on (--pg): every position the strategy opens is the bot's,
     * so manual trades (magic 0) come from the manual_trade scenario only. */
    bool no_random_manual;
} sim_market_config;

enum sim_side { SIM_SIDE_BUY = 0, SIM_SIDE_SELL };

typedef struct sim_position {
    uint64_t ticket;
    int symbol; /* index for sim_market_symbol_name */
    enum sim_side side;
    int64_t magic;
    int64_t open_ms; /* UTC epoch milliseconds */
    double volume, open_price, current_price;
    double stop_loss, take_profit; /* 0 when unset, as in MT5 */
    double swap, commission, profit;
    char comment[SIM_MARKET_COMMENT_LEN];
    bool held; /* a scenario holds it: no strategy exit, no SL/TP trigger */
    /* Money a drawdown slide (POST /_sim/drawdown) has marked it against
     * the market by; kept after the slide ends, so the loss stays until the
     * position closes and realises it. 0 for every other position. */
    double adverse;
} sim_position;

enum sim_deal_type { SIM_DEAL_BUY = 0, SIM_DEAL_SELL, SIM_DEAL_BALANCE };
enum sim_deal_entry { SIM_ENTRY_NONE = 0, SIM_ENTRY_IN, SIM_ENTRY_OUT };

typedef struct sim_deal {
    uint64_t id;
    uint64_t position_id, order_id; /* 0 on balance deals */
    int64_t time_ms, magic;
    double volume, price, commission, swap, profit;
    int symbol; /* -1 on balance deals */
    enum sim_deal_type type;
    enum sim_deal_entry entry;
    char comment[SIM_MARKET_COMMENT_LEN];
} sim_deal;

typedef struct sim_account_info {
    char id[SIM_MARKET_ID_LEN];
    char name[SIM_MARKET_NAME_LEN];
    int64_t login;
    int64_t leverage;
    double balance, equity, margin, free_margin, credit;
    double margin_level; /* meaningful only when margin > 0 */
} sim_account_info;

enum sim_close_result { SIM_CLOSE_DONE = 0, SIM_CLOSE_NOT_FOUND };

/* Builds the accounts as of now_ms: a deposit 30 days back and a few
 * positions opened in the last hours. NULL with err on failure. */
sim_market *sim_market_new(const sim_market_config *cfg, int64_t now_ms, char *err, size_t errlen);
void sim_market_free(sim_market *m);

size_t sim_market_accounts(const sim_market *m);
uint64_t sim_market_ticks(const sim_market *m);

/* Index of account id ("demo-1" is 0), or -1 when there is no such account. */
long sim_market_find(const sim_market *m, const char *id);

/* One step: prices move, stops and targets trigger, the bot opens and closes.
 * Returns 0, or -1 when memory ran out (state stays consistent: whatever
 * could not be recorded did not happen). */
int sim_market_tick(sim_market *m, int64_t now_ms);

/* Closes position_id (decimal ticket) of account acc at the current price,
 * as the trade route asks (the observer is told; sim_market_ops.c).
 * Returns SIM_CLOSE_DONE with the closing order's ticket in *order_id,
 * SIM_CLOSE_NOT_FOUND, or -1 when memory ran out. */
int sim_market_close(sim_market *m, size_t acc, const char *position_id, int64_t now_ms,
                     uint64_t *order_id);

void sim_market_info(const sim_market *m, size_t acc, sim_account_info *out);

/* Copies the open positions (at most SIM_MARKET_MAX_POSITIONS); returns how many. */
size_t sim_market_positions(const sim_market *m, size_t acc, sim_position *out);

/* Copies deals with from_ms <= time < to_ms, in time order, skipping the first
 * offset of them, at most limit into out. Returns how many were copied. */
size_t sim_market_deals(const sim_market *m, size_t acc, int64_t from_ms, int64_t to_ms,
                        size_t offset, size_t limit, sim_deal *out);

/* Symbol table: name and price decimals; NULL / 0 for a bad index. */
const char *sim_market_symbol_name(int symbol);
int sim_market_symbol_digits(int symbol);
int sim_market_symbol_count(void);
/* The strategy name the bot records for a magic number ("trend-a"), or NULL
 * for a magic the simulator's strategy never uses. */
const char *sim_market_strategy_name(int64_t magic);
/* One of the bot strategies' magic numbers: pick modulo how many there are. */
int64_t sim_market_bot_magic(uint64_t pick);

/* ---- The observer (the bot) and scenarios' changes: sim_market_ops.c ---- */

enum sim_market_event_kind { SIM_MARKET_OPENED = 0, SIM_MARKET_CLOSED };

/* pos is the position as opened, or as it was just before it closed; valid
 * only during the call. */
typedef struct sim_market_event {
    enum sim_market_event_kind kind;
    size_t account;
    const sim_position *pos;
    int64_t at_ms;
} sim_market_event;

/* Called under the world mutex for each open and close the strategy, a
 * stop or target, or the trade route makes (never for a scenario's quiet
 * changes below). It must not call back into the market. */
typedef void (*sim_market_observer)(void *ctx, const sim_market_event *ev);
void sim_market_observe(sim_market *m, sim_market_observer fn, void *ctx);

/* Copies open position ticket of acc into *out; false when it is not open. */
bool sim_market_position(const sim_market *m, size_t acc, uint64_t ticket, sim_position *out);
/* Sets or clears a position's held flag; -1 when it is not open. */
int sim_market_hold(sim_market *m, size_t acc, uint64_t ticket, bool held);
bool sim_market_halted(const sim_market *m, size_t acc);

enum sim_open_kind { SIM_OPEN_BOT = 0, SIM_OPEN_MANUAL };
/* Opens a position now: SIM_OPEN_BOT as the strategy would, observer told;
 * SIM_OPEN_MANUAL with magic 0 and comment "manual", observer not told. At
 * least min_volume lots. Returns 0 with *ticket; 1 when the account is full
 * or its bot halted (err says which); -1 out of memory. */
int sim_market_open_now(sim_market *m, size_t acc, enum sim_open_kind kind, double min_volume,
                        int64_t now_ms, uint64_t *ticket, char *err, size_t errlen);
/* Closes ticket with an OUT deal commented comment, observer not told.
 * SIM_CLOSE_DONE, SIM_CLOSE_NOT_FOUND or -1 out of memory. */
int sim_market_close_quietly(sim_market *m, size_t acc, uint64_t ticket, const char *comment,
                             int64_t now_ms);
/* Closes volume lots of ticket (less than it holds) with an OUT deal; the
 * rest stays open. Observer not told. SIM_CLOSE_DONE, SIM_CLOSE_NOT_FOUND
 * or -1 out of memory. */
int sim_market_reduce(sim_market *m, size_t acc, uint64_t ticket, double volume,
                      const char *comment, int64_t now_ms);
/* Sets ticket's stop loss and take profit (0 = unset), observer not told.
 * 0, or -1 when it is not open. */
int sim_market_set_stops(sim_market *m, size_t acc, uint64_t ticket, double sl, double tp);
/* A ticket no position will ever have (the counter moves past it). */
uint64_t sim_market_reserve_ticket(sim_market *m);

/* ---- Drawdown slides on demand (POST /_sim/drawdown): sim_market_slide.c ----
 *
 * A slide takes an account's equity linearly, over duration_ms of monotonic
 * time, from what it is at the start down to (1 - depth) x its peak equity
 * (the higher of the market's recorded peak and the equity at the start),
 * then holds it there. It marks the account's open positions against the
 * market (sim_position.adverse), never in their favour, so equity is never
 * above the path; the market may take it lower. While a slide is active the
 * strategy neither opens nor closes positions on that account and their
 * SL/TP do not trigger, so whoever acts on the drawdown finds a known set;
 * closes through the trade route still work and realise the marked loss.
 * Ending a slide keeps each position's adverse mark (equity stays where it
 * is) and lets the strategy trade the account again.
 *
 * The path follows time, not ticks, so a paused market still slides: reads
 * call sim_market_slide_apply to bring equity onto the path at that moment. */

#define SIM_SLIDE_MIN_POSITIONS 3 /* opened at the start when fewer are open */

typedef struct sim_slide_info {
    size_t account;
    bool active;
    int64_t started_ms;  /* wall clock, for display */
    int64_t duration_ms; /* how long the way down takes */
    int64_t elapsed_ms;  /* monotonic time since the start */
    double depth;
    double peak;         /* the equity the depth is measured from */
    double start_equity; /* equity when it started */
    double floor;        /* (1 - depth) x peak: where it ends */
    double target;       /* where the path is now */
    double equity, balance;
    size_t opened; /* positions opened at the start to make SIM_SLIDE_MIN_POSITIONS */
    size_t n_tickets;
    uint64_t tickets[SIM_MARKET_MAX_POSITIONS]; /* open positions now */
} sim_slide_info;

/* Starts a slide on acc (see above); now_ms stamps what it opens. 0 with
 * *out; 1 with err when refused (already sliding); -1 out of memory. */
int sim_market_slide_start(sim_market *m, size_t acc, double depth, int64_t duration_ms,
                           int64_t now_ms, sim_slide_info *out, char *err, size_t errlen);
/* Ends acc's slide. 0 with *out (the state at the end), 1 with err when acc
 * has no active slide. */
int sim_market_slide_end(sim_market *m, size_t acc, sim_slide_info *out, char *err, size_t errlen);
/* Brings acc's equity down onto its slide's path now; no-op without one. */
void sim_market_slide_apply(sim_market *m, size_t acc);
/* The active slides, by account, at most max of them into out (may be NULL
 * to count). Returns how many are active. */
size_t sim_market_slides(sim_market *m, sim_slide_info *out, size_t max);

#endif
