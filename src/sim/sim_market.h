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

/* Closes position_id (decimal ticket) of account acc at the current price.
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

#endif
