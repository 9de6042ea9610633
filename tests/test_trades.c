/*
 * test_trades.c - closed trades from deals (suite "trades": pure and
 * table-driven). The detector against PostgreSQL and the simulator is in
 * test_trades_int.c.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trades.h"

#define MAX_DEALS 8
#define EPS 1e-9
#define T0 1800000000000LL /* 2027-01-15, epoch ms */
#define MIN_MS 60000LL

/* One deal, tersely: id, type (B/S/balance), entry, position, minutes after
 * T0, volume, price, profit, commission, swap. */
typedef struct d_spec {
    const char *id;
    char type; /* 'B' buy, 'S' sell, 'M' money (DEAL_TYPE_BALANCE) */
    enum deal_entry entry;
    const char *pos;
    int minute;
    double vol, price, profit, comm, swap;
} d_spec;

static deal make_deal(const d_spec *s)
{
    deal d;
    memset(&d, 0, sizeof d);
    snprintf(d.id, sizeof d.id, "%s", s->id);
    snprintf(d.type, sizeof d.type, "%s",
             s->type == 'B'   ? "DEAL_TYPE_BUY"
             : s->type == 'S' ? "DEAL_TYPE_SELL"
                              : "DEAL_TYPE_BALANCE");
    d.entry = s->entry;
    snprintf(d.symbol, sizeof d.symbol, "%s", s->type == 'M' ? "" : "EURUSD");
    snprintf(d.position_id, sizeof d.position_id, "%s", s->pos ? s->pos : "");
    d.magic = s->type == 'M' ? 0 : 20260101;
    d.time_ms = T0 + s->minute * MIN_MS;
    d.volume = s->vol;
    d.price = s->price;
    d.profit = s->profit;
    d.commission = s->comm;
    d.swap = s->swap;
    return d;
}

static size_t make_deals(const d_spec *specs, deal *out)
{
    size_t n = 0;
    for (; n < MAX_DEALS && specs[n].id; n++)
        out[n] = make_deal(&specs[n]);
    return n;
}

#define IN DEAL_ENTRY_IN
#define OUT DEAL_ENTRY_OUT
#define INOUT DEAL_ENTRY_INOUT
#define OUT_BY DEAL_ENTRY_OUT_BY
#define NONE DEAL_ENTRY_NONE
#define UNKNOWN NAN

typedef struct build_case {
    const char *name;
    d_spec deals[MAX_DEALS + 1];
    bool holds_open;
    int status;
    /* expected when closed */
    enum pos_side side;
    double volume;
    int open_min, close_min; /* open_min -1: unknown */
    double open_price, close_price, profit, commission, swap;
    size_t n_deals;
    bool incomplete;
    const char *first_deal; /* the trade's deals start with this id */
} build_case;

/* One case per block reads better than one value per line. */
/* clang-format off */
static const build_case CASES[] = {
    {"buy opened and closed",
     {{"10", 'B', IN, "P1", 0, 1.0, 1.1000, 0, -3.5, 0},
      {"11", 'S', OUT, "P1", 30, 1.0, 1.1050, 500, -3.5, -1.2}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 1.0, 0, 30, 1.1000, 1.1050, 500, -7, -1.2, 2, false, "10"},
    {"sell side comes from the IN deal",
     {{"10", 'S', IN, "P1", 0, 0.5, 2350, 0, -1, 0},
      {"11", 'B', OUT, "P1", 5, 0.5, 2340, 500, -1, 0}, {0}},
     false, TRADES_CLOSED, SIDE_SELL, 0.5, 0, 5, 2350, 2340, 500, -2, 0, 2, false, "10"},
    {"out of order: sorted by time, then id",
     {{"12", 'S', OUT, "P1", 30, 0.6, 1.2, 60, 0, 0},
      {"11", 'S', OUT, "P1", 10, 0.4, 1.3, 80, 0, 0},
      {"10", 'B', IN, "P1", 0, 1.0, 1.0, 0, 0, 0}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 1.0, 0, 30, 1.0, 0.4 * 1.3 + 0.6 * 1.2, 140, 0, 0, 3, false,
     "10"},
    {"same time: the smaller id first",
     {{"100", 'S', OUT, "P1", 0, 1.0, 1.2, 20, 0, 0},
      {"99", 'B', IN, "P1", 0, 1.0, 1.0, 0, 0, 0}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 1.0, 0, 0, 1.0, 1.2, 20, 0, 0, 2, false, "99"},
    {"the same deal twice counts once",
     {{"10", 'B', IN, "P1", 0, 1.0, 1.0, 0, -3.5, 0},
      {"10", 'B', IN, "P1", 0, 1.0, 1.0, 0, -3.5, 0},
      {"11", 'S', OUT, "P1", 9, 1.0, 1.1, 100, -3.5, 0},
      {"11", 'S', OUT, "P1", 9, 1.0, 1.1, 100, -3.5, 0}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 1.0, 0, 9, 1.0, 1.1, 100, -7, 0, 2, false, "10"},
    {"partial close leaves it open",
     {{"10", 'B', IN, "P1", 0, 1.0, 1.0, 0, 0, 0},
      {"11", 'S', OUT, "P1", 5, 0.4, 1.1, 40, 0, 0}, {0}},
     false, TRADES_OPEN},
    {"partial close then full close",
     {{"10", 'B', IN, "P1", 0, 1.0, 1.0, 0, 0, 0},
      {"11", 'S', OUT, "P1", 5, 0.4, 1.1, 40, 0, 0},
      {"12", 'S', OUT, "P1", 8, 0.6, 1.2, 120, 0, 0}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 1.0, 0, 8, 1.0, 0.4 * 1.1 + 0.6 * 1.2, 160, 0, 0, 3, false,
     "10"},
    {"scaled in: first IN time, volume-weighted open price",
     {{"10", 'B', IN, "P1", 0, 1.0, 1.0, 0, 0, 0},
      {"11", 'B', IN, "P1", 2, 3.0, 1.4, 0, 0, 0},
      {"12", 'S', OUT, "P1", 8, 4.0, 1.5, 100, 0, 0}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 4.0, 0, 8, 1.3, 1.5, 100, 0, 0, 3, false, "10"},
    {"rounding: 0.1 + 0.2 closes 0.3 (tolerance)",
     {{"10", 'B', IN, "P1", 0, 0.3, 1.0, 0, 0, 0},
      {"11", 'S', OUT, "P1", 1, 0.1, 1.0, 0, 0, 0},
      {"12", 'S', OUT, "P1", 2, 0.2, 1.0, 0, 0, 0}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 0.3, 0, 2, 1.0, 1.0, 0, 0, 0, 3, false, "10"},
    {"closed by an opposite position (OUT_BY)",
     {{"10", 'B', IN, "P1", 0, 1.0, 1.0, 0, 0, 0},
      {"11", 'S', OUT_BY, "P1", 3, 1.0, 1.2, 200, 0, 0}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 1.0, 0, 3, 1.0, 1.2, 200, 0, 0, 2, false, "10"},
    {"missing IN while the broker still holds it: open",
     {{"11", 'S', OUT, "P1", 5, 1.0, 1.1, 40, 0, 0}, {0}},
     true, TRADES_OPEN},
    {"missing IN, broker let go: closed, incomplete",
     {{"11", 'S', OUT, "P1", 5, 0.4, 1.1, 40, -1, 0},
      {"12", 'S', OUT, "P1", 7, 0.6, 1.2, 60, -1, -2}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 1.0, -1, 7, UNKNOWN, 0.4 * 1.1 + 0.6 * 1.2, 100, -2, -2, 2,
     true, "11"},
    {"part of the IN side missing (closes more than seen): incomplete",
     {{"10", 'S', IN, "P1", 0, 0.5, 2.0, 0, 0, 0},
      {"12", 'B', OUT, "P1", 7, 1.5, 1.9, 10, 0, 0}, {0}},
     false, TRADES_CLOSED, SIDE_SELL, 1.5, -1, 7, UNKNOWN, 1.9, 10, 0, 0, 2, true, "10"},
    {"no closing deal: open whatever the broker says",
     {{"10", 'B', IN, "P1", 0, 1.0, 1.0, 0, 0, 0}, {0}},
     false, TRADES_OPEN},
    {"INOUT reverses: one trade until flat",
     {{"10", 'B', IN, "P1", 0, 1.0, 1.10, 0, 0, 0},
      {"11", 'S', INOUT, "P1", 5, 2.0, 1.20, 100, 0, 0},
      {"12", 'B', OUT, "P1", 9, 1.0, 1.15, 50, 0, 0}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 2.0, 0, 9, (1.10 + 1.20) / 2, (1.20 + 1.15) / 2, 150, 0, 0, 3,
     false, "10"},
    {"INOUT reversal not yet flat: open",
     {{"10", 'B', IN, "P1", 0, 1.0, 1.10, 0, 0, 0},
      {"11", 'S', INOUT, "P1", 5, 2.0, 1.20, 100, 0, 0}, {0}},
     false, TRADES_OPEN},
    {"INOUT of exactly what is held closes it",
     {{"10", 'B', IN, "P1", 0, 1.0, 1.10, 0, 0, 0},
      {"11", 'S', INOUT, "P1", 5, 1.0, 1.20, 100, 0, 0}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 1.0, 0, 5, 1.10, 1.20, 100, 0, 0, 2, false, "10"},
    {"balance deals and other positions are not part of it",
     {{"1", 'M', NONE, NULL, -9, 0, 0, 10000, 0, 0},
      {"10", 'B', IN, "P1", 0, 1.0, 1.0, 0, 0, 0},
      {"20", 'B', IN, "P2", 1, 1.0, 1.0, 0, 0, 0},
      {"11", 'S', OUT, "P1", 2, 1.0, 1.1, 100, 0, 0},
      {"2", 'M', NONE, NULL, 3, 0, 0, -500, 0, 0}, {0}},
     false, TRADES_CLOSED, SIDE_BUY, 1.0, 0, 2, 1.0, 1.1, 100, 0, 0, 2, false, "10"},
    {"only balance deals: nothing",
     {{"1", 'M', NONE, NULL, 0, 0, 0, 10000, 0, 0}, {0}},
     false, TRADES_OPEN},
};
/* clang-format on */

static void check_trade(const build_case *c, const trade *t)
{
    cr_expect_str_eq(t->account_id, "acc-1", "%s", c->name);
    cr_expect_str_eq(t->position_id, "P1", "%s", c->name);
    cr_expect_str_eq(t->symbol, "EURUSD", "%s", c->name);
    cr_expect_eq(t->side, c->side, "%s: side", c->name);
    cr_expect_float_eq(t->volume, c->volume, EPS, "%s: volume %g", c->name, t->volume);
    if (c->open_min < 0)
        cr_expect_eq(t->open_time_ms, 0, "%s: open time should be unknown", c->name);
    else
        cr_expect_eq(t->open_time_ms, T0 + c->open_min * MIN_MS, "%s: open time", c->name);
    cr_expect_eq(t->close_time_ms, T0 + c->close_min * MIN_MS, "%s: close time", c->name);
    if (isnan(c->open_price))
        cr_expect(isnan(t->open_price), "%s: open price %g should be unknown", c->name,
                  t->open_price);
    else
        cr_expect_float_eq(t->open_price, c->open_price, EPS, "%s: open price %g", c->name,
                           t->open_price);
    cr_expect_float_eq(t->close_price, c->close_price, EPS, "%s: close price %g", c->name,
                       t->close_price);
    cr_expect_float_eq(t->profit, c->profit, EPS, "%s: profit %g", c->name, t->profit);
    cr_expect_float_eq(t->commission, c->commission, EPS, "%s: commission", c->name);
    cr_expect_float_eq(t->swap, c->swap, EPS, "%s: swap", c->name);
    cr_expect_eq(t->magic, 20260101, "%s: magic", c->name);
    cr_expect_eq(t->incomplete, c->incomplete, "%s: incomplete", c->name);
    cr_expect_eq(t->n_deals, c->n_deals, "%s: %zu deals", c->name, t->n_deals);
    if (t->n_deals > 0)
        cr_expect_str_eq(t->deals[0].id, c->first_deal, "%s: first deal", c->name);
    for (size_t i = 1; i < t->n_deals; i++)
        cr_expect_leq(t->deals[i - 1].time_ms, t->deals[i].time_ms, "%s: deals out of order",
                      c->name);
}

Test(trades, build_table)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const build_case *c = &CASES[i];
        deal d[MAX_DEALS];
        size_t n = make_deals(c->deals, d);
        trade t;
        char err[256] = "";
        int st = trades_build("acc-1", "P1", d, n, c->holds_open, &t, err, sizeof err);
        cr_expect_eq(st, c->status, "%s: status %d, want %d (%s)", c->name, st, c->status, err);
        if (st == TRADES_CLOSED && c->status == TRADES_CLOSED)
            check_trade(c, &t);
        if (st == TRADES_CLOSED)
            trade_clear(&t);
    }
}

/* ---- several positions at once ---- */

typedef struct holds_ctx {
    int calls;
    char asked[4][40];
    const char *released; /* the one position the broker let go */
} holds_ctx;

static bool holds(void *ctx, const char *position_id, int64_t last_deal_ms)
{
    holds_ctx *h = ctx;
    cr_expect_gt(last_deal_ms, 0);
    if (h->calls < 4)
        snprintf(h->asked[h->calls], sizeof h->asked[0], "%s", position_id);
    h->calls++;
    return strcmp(position_id, h->released) != 0;
}

Test(trades, build_all_groups_orders_and_asks_only_for_missing_in)
{
    static const d_spec specs[] = {
        {"1", 'M', NONE, NULL, -60, 0, 0, 10000, 0, 0},
        {"30", 'S', OUT, "C", 3, 1.0, 1.0, 5, 0, 0},  /* IN missing, released */
        {"20", 'B', IN, "B", 1, 1.0, 1.0, 0, 0, 0},   /* B closes first */
        {"10", 'B', IN, "A", 0, 1.0, 1.0, 0, 0, 0},   /* A closes last */
        {"21", 'S', OUT, "B", 2, 1.0, 1.1, 10, 0, 0}, /* */
        {"40", 'S', OUT, "D", 4, 1.0, 1.0, 7, 0, 0},  /* IN missing, still held */
        {"11", 'S', OUT, "A", 6, 1.0, 0.9, -10, 0, 0},
        {"50", 'B', IN, "E", 5, 1.0, 1.0, 0, 0, 0}, /* still open */
        {0},
    };
    deal d[MAX_DEALS + 1];
    size_t n = 0;
    for (; specs[n].id; n++)
        d[n] = make_deal(&specs[n]);
    holds_ctx h = {.released = "C"};
    trade *t = NULL;
    size_t nt = 0, bad = 9;
    char err[256] = "";
    cr_assert_eq(trades_build_all("acc-1", d, n, holds, &h, &t, &nt, &bad, err, sizeof err), 0,
                 "%s", err);
    cr_expect_eq(bad, 0);
    cr_assert_eq(nt, 3, "closed trades: %zu", nt);
    /* In order of close time: B (2), C (3), A (6). */
    cr_expect_str_eq(t[0].position_id, "B");
    cr_expect_str_eq(t[1].position_id, "C");
    cr_expect_str_eq(t[2].position_id, "A");
    cr_expect(t[1].incomplete);
    cr_expect_float_eq(t[0].profit, 10, EPS);
    cr_expect_float_eq(t[2].profit, -10, EPS);
    cr_expect_eq(h.calls, 2, "the broker was asked %d times", h.calls);
    cr_expect(strcmp(h.asked[0], "C") == 0 || strcmp(h.asked[1], "C") == 0);
    cr_expect(strcmp(h.asked[0], "D") == 0 || strcmp(h.asked[1], "D") == 0);
    trades_free(t, nt);

    /* No callback: a missing IN is assumed still held. */
    cr_assert_eq(trades_build_all("acc-1", d, n, NULL, NULL, &t, &nt, NULL, err, sizeof err), 0);
    cr_expect_eq(nt, 2);
    trades_free(t, nt);
}

Test(trades, build_all_skips_a_bad_position_and_keeps_the_others)
{
    static const d_spec specs[] = {
        {"10", 'B', IN, "A", 0, 1.0, 1.0, 0, 0, 0},
        {"11", 'S', OUT, "A", 1, 1.0, 1.0, 0, 0, 0},
        {"20", 'B', IN, "B", 0, 1.0, 1.0, 0, 0, 0},
        {"21", 'S', OUT, "B", 1, 1.0, 1.0, 0, 0, 0},
        {0},
    };
    deal d[4];
    size_t n = make_deals(specs, d);
    d[3].price = NAN; /* a stored deal without a price */
    trade *t = NULL;
    size_t nt = 0, bad = 0;
    char err[256] = "";
    cr_assert_eq(trades_build_all("acc-1", d, n, NULL, NULL, &t, &nt, &bad, err, sizeof err), 0);
    cr_expect_eq(bad, 1);
    cr_expect(strstr(err, "position B, deal 21") != NULL, "err: %s", err);
    cr_assert_eq(nt, 1);
    cr_expect_str_eq(t[0].position_id, "A");
    trades_free(t, nt);
    cr_expect_eq(trades_build("acc-1", "B", d, n, false, &(trade){0}, err, sizeof err),
                 TRADES_ERROR);
}

Test(trades, entry_names_round_trip)
{
    for (int e = DEAL_ENTRY_IN; e < DEAL_ENTRY_NONE; e++)
        cr_expect_eq((int)trades_entry_parse(trades_entry_name((enum deal_entry)e)), e);
    cr_expect_null(trades_entry_name(DEAL_ENTRY_NONE));
    cr_expect_eq(trades_entry_parse("DEAL_ENTRY_SIDEWAYS"), DEAL_ENTRY_NONE);
}

Test(trades, json_has_every_field_and_only_valid_utf8)
{
    static const d_spec specs[] = {{"11", 'S', OUT, "P1", 5, 1.0, 1.1, 40, -1, 0}, {0}};
    deal d[1];
    make_deals(specs, d);
    snprintf(
        d[0].comment, sizeof d[0].comment,
        "bad\xff\xfe utf8 \xc3\x28 ok \xc3\xa9 \x1b[2J \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98\x80");
    trade t;
    char err[256];
    cr_assert_eq(trades_build("acc-1", "P1", d, 1, false, &t, err, sizeof err), TRADES_CLOSED);
    cJSON *j = trades_trade_json(&t);
    cr_assert_not_null(j);
    static const char *const keys[] = {
        "position_id", "symbol", "side",       "volume", "open_time", "close_time", "open_price",
        "close_price", "profit", "commission", "swap",   "magic",     "incomplete", "deals"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect_not_null(cJSON_GetObjectItemCaseSensitive(j, keys[i]), "missing %s", keys[i]);
    cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "open_time")));
    cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "open_price")));
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "incomplete")));
    cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(j, "side")->valuestring, "BUY");
    const cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "deals"), 0);
    cr_assert_not_null(d0);
    cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(d0, "entryType")->valuestring,
                     "DEAL_ENTRY_OUT");
    cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(d0, "time")->valuestring,
                     "2027-01-15T08:05:00.000Z");
    /* Bad bytes (overlong, surrogate, stray) become '?', one for one; valid
     * UTF-8 and controls stay (the display sanitises controls). */
    cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(d0, "comment")->valuestring,
                     "bad?? utf8 ?( ok \xc3\xa9 \x1b[2J ?? ??? \xf0\x9f\x98\x80");
    char *doc = trades_trades_doc(&t, 1);
    cr_assert_not_null(doc);
    cr_expect_eq(doc[0], '[');
    cJSON_free(doc);
    cJSON_Delete(j);
    trade_clear(&t);
}
