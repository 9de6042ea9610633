/*
 * trades.h - closed trades built from a position's broker deals.
 *
 * A closed trade is the group of one position's deals once its closing
 * deals have brought its volume back to zero. The rules, in the order the
 * deals are walked (sorted by time, then by id; a deal id seen twice counts
 * once, keeping its earliest report):
 *
 * - Only DEAL_TYPE_BUY and DEAL_TYPE_SELL deals with a position id and an
 *   entry belong to a trade. DEAL_TYPE_BALANCE (deposits, withdrawals) and
 *   every other cash deal are not trades and are skipped, whatever they carry.
 * - DEAL_ENTRY_IN adds its volume; DEAL_ENTRY_OUT and DEAL_ENTRY_OUT_BY take
 *   it away. The position is closed when what is held is zero within
 *   TRADES_VOLUME_EPS lots after at least one closing deal; a partial close
 *   leaves it open.
 * - DEAL_ENTRY_INOUT (a netting account's reversal: sell 2 lots against 1
 *   held) closes what is held and opens the remainder the other way under
 *   the same position id. It counts as an OUT of the volume held before it
 *   and an IN of the rest. Since closed_trades keeps one row per position, a
 *   reversed position is one trade until it is flat: side is the first IN
 *   deal's, volume all volume opened, and the prices are averaged over all
 *   opening and all closing volume whatever their direction (profit,
 *   commission and swap, summed from the deals, stay exact).
 * - When the IN side is missing (the first deal is not an IN, or a closing
 *   deal takes more than is held: the IN deal lies before the history that
 *   was read), volumes cannot tell whether the position is closed. It is
 *   closed only when the caller says the broker no longer holds it open, and
 *   the trade is marked incomplete: open time and price unknown, volume the
 *   volume closed, side the opposite of the first closing deal's.
 *
 * Times are UTC epoch milliseconds; an unknown time is 0 and an unknown
 * price NAN. Pure functions (no I/O); safe on any thread.
 */
#ifndef TRADEOPS_TRADES_H
#define TRADEOPS_TRADES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "model.h"

/* Lots below which a remaining volume counts as zero. */
#define TRADES_VOLUME_EPS 1e-6
/* Room for an account id (accounts.id is at most 64 characters). */
#define TRADES_ACCOUNT_LEN 72

enum trades_status { TRADES_ERROR = -1, TRADES_OPEN = 0, TRADES_CLOSED = 1 };

typedef struct trade {
    char account_id[TRADES_ACCOUNT_LEN];
    char position_id[sizeof(((deal *)0)->position_id)];
    char symbol[sizeof(((deal *)0)->symbol)];
    enum pos_side side;
    double volume;                   /* lots opened (incomplete: lots closed) */
    int64_t open_time_ms;            /* first IN deal; 0 when incomplete */
    int64_t close_time_ms;           /* last closing deal */
    double open_price;               /* volume-weighted over opening volume; NAN when incomplete */
    double close_price;              /* volume-weighted over closing volume */
    double profit, commission, swap; /* summed over the trade's deals */
    int64_t magic;                   /* of the first IN deal (else the first deal) */
    deal *deals;                     /* the trade's deals in order, each once; malloc'ed */
    size_t n_deals;
    bool incomplete; /* the IN side was never seen */
} trade;

/* True for a deal that can belong to a trade (BUY or SELL, with a position
 * id and an entry). */
bool trades_deal_is_trade(const deal *d);

/* Builds position_id's trade from deals (any order; deals of other positions
 * and non-trade deals are ignored). broker_holds_open matters only when the
 * IN side is missing. Returns TRADES_CLOSED with *out filled (free it with
 * trade_clear), TRADES_OPEN when the position is not closed (or has no
 * deals), or TRADES_ERROR with err (out of memory, a deal with a volume or
 * price that is not a finite number). */
int trades_build(const char *account_id, const char *position_id, const deal *deals, size_t n,
                 bool broker_holds_open, trade *out, char *err, size_t errlen);

/* Whether the broker still holds position_id open, asked only for a
 * position whose IN side is missing; last_deal_ms is the time of its latest
 * deal (a broker state read before that proves nothing). */
typedef bool (*trades_holds_fn)(void *ctx, const char *position_id, int64_t last_deal_ms);

/* Groups an account's deals by position and builds every closed trade, in
 * order of close time. holds NULL means "assume still held". *out is
 * malloc'ed (NULL when *n_out is 0); free with trades_free. A position whose
 * deals are bad is skipped and counted in *n_bad (may be NULL), with the
 * first problem in err; the others are still built. Returns 0, or -1 (out
 * of memory; nothing is returned). */
int trades_build_all(const char *account_id, const deal *deals, size_t n, trades_holds_fn holds,
                     void *ctx, trade **out, size_t *n_out, size_t *n_bad, char *err,
                     size_t errlen);

/* DEAL_ENTRY_IN ... names; NULL for DEAL_ENTRY_NONE. */
const char *trades_entry_name(enum deal_entry e);
/* The entry named s, DEAL_ENTRY_NONE for anything else. */
enum deal_entry trades_entry_parse(const char *s);

/* ---- JSON: how broker_deals rows and closed_trades are written ----
 * Text fields keep what the broker sent except bytes that are not UTF-8,
 * which become '?' (PostgreSQL refuses them, and the length stays the same
 * so every field still fits its buffer when read back). Unknown numbers and
 * times are null. Both return NULL when out of memory. */
struct cJSON;
/* A deal in MetaApi's field names (id, type, entryType, symbol, magic,
 * time, volume, price, commission, swap, profit, positionId, orderId,
 * comment). */
struct cJSON *trades_deal_json(const deal *d);
/* A trade in closed_trades' column names, with its deals array. */
struct cJSON *trades_trade_json(const trade *t);
/* JSON arrays of the above as text, for a jsonb parameter; free with
 * cJSON_free. */
char *trades_deals_doc(const deal *d, size_t n);
char *trades_trades_doc(const trade *t, size_t n);

void trade_clear(trade *t);
void trades_free(trade *t, size_t n);

#endif
