/*
 * test_trades.c - closed trades from deals (suite "trades": pure and
 * table-driven), and the closed-trade detector against a fresh database and
 * a paused simulator (suite "trades_int").
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

/* ---- the detector against PostgreSQL and the simulator (trades_int) ---- */

#include <curl/curl.h>
#include <libpq-fe.h>

#include "clock.h"
#include "config.h"
#include "detector.h"
#include "engine.h"
#include "harness/th.h"
#include "model.h"
#include "view_json.h"

#define N_ACC 6
#define TICKS 300
#define PAGE 7 /* small pages, so every account's history spans several */
#define MAX_POS 512
#define WAIT_MS 5000
#define SIM_PAGE 1000
#define CHANNEL "tradeops_trade_closed"

static th_sim sim;
static bool sim_up;
static char *db;
static PGconn *pg; /* the test's own connection */
static config cfg;

static void sql(const char *q)
{
    PGresult *r = PQexec(pg, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
}

/* The first column of the first row as an integer, $1 = p. */
static long long sql_int(const char *q, const char *p)
{
    PGresult *r = PQexecParams(pg, q, p ? 1 : 0, NULL, &p, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q, PQresultErrorMessage(r));
    long long v =
        PQntuples(r) && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return v;
}

static void int_setup(void)
{
    db = th_db_fresh();
    cr_assert_not_null(db, "no fresh database (see stderr)");
    static const char *const args[] = {"--start-paused", NULL};
    cr_assert_eq(th_sim_start(&sim, args), 0, "the simulator did not start");
    sim_up = true;
    pg = PQconnectdb(db);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
    sql("insert into accounts (id, name, created_by)"
        " select 'demo-' || g, 'Demo ' || g, 'test' from generate_series(1, 6) g");
    config_defaults(&cfg);
    snprintf(cfg.pg_url, sizeof cfg.pg_url, "%s", db);
    snprintf(cfg.broker_url, sizeof cfg.broker_url, "%s", sim.url);
    snprintf(cfg.broker_token, sizeof cfg.broker_token, "%s", sim.token);
    cfg.trades_overlap_s = 300;
    cfg.trades_lookback_h = 168;
}

static void int_teardown(void)
{
    PQfinish(pg);
    pg = NULL;
    if (sim_up)
        th_sim_stop(&sim);
    sim_up = false;
    th_db_drop(db);
    db = NULL;
}

static bool clock_passed(void *arg)
{
    return clock_now_ms() > *(int64_t *)arg;
}

/* Runs n ticks, then waits out the millisecond they were stamped with, so
 * every deal so far lies before the next window's end. */
static void tick(int n)
{
    char body[48];
    snprintf(body, sizeof body, "{\"count\":%d}", n);
    cr_assert_eq(th_sim_control(&sim, "/_sim/tick", body), 0, "tick refused");
    int64_t t = clock_now_ms();
    cr_assert(th_wait_until(clock_passed, &t, WAIT_MS));
}

static void faults(const char *json)
{
    cr_assert_eq(th_sim_control(&sim, "/_sim/faults", json), 0, "faults %s refused", json);
}

static detector *new_detector(int page)
{
    char err[256] = "";
    detector *d = detector_new(&cfg, err, sizeof err);
    cr_assert_not_null(d, "detector_new: %s", err);
    cr_assert_eq(detector_set_page_limit(d, page), 0);
    return d;
}

static detector_stats pass(detector *d)
{
    detector_stats st;
    char err[256] = "";
    cr_assert_eq(detector_pass_once(d, &st, err, sizeof err), 0, "pass: %s", err);
    return st;
}

static void pass_ok(detector *d, detector_stats *st)
{
    *st = pass(d);
    cr_assert_eq(st->errors, 0, "%zu errors, last: %s", st->errors, st->last_error);
    cr_assert_eq(st->accounts_read, N_ACC);
}

/* ---- what the simulator says, read over HTTP without the code under test */

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    char **buf = ud;
    size_t old = *buf ? strlen(*buf) : 0, add = size * n;
    char *nb = realloc(*buf, old + add + 1);
    cr_assert_not_null(nb);
    memcpy(nb + old, p, add);
    nb[old + add] = '\0';
    *buf = nb;
    return add;
}

static cJSON *sim_get(const char *path)
{
    char url[512], auth[128];
    snprintf(url, sizeof url, "%s%s", sim.url, path);
    snprintf(auth, sizeof auth, "auth-token: %s", sim.token);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    char *body = NULL;
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    cr_assert(rc == CURLE_OK && status == 200, "GET %s: curl %d, HTTP %ld", path, rc, status);
    cJSON *j = cJSON_Parse(body);
    free(body);
    cr_assert_not_null(j, "GET %s: not JSON", path);
    return j;
}

typedef struct sim_pos {
    char id[40];
    double in_vol, out_vol, profit;
    int64_t in_ms; /* 0: no IN deal */
    bool closed, out_is_sell;
} sim_pos;

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* Every position of the account with deals before until_ms; returns the
 * count and how many trade deals there were. */
static size_t sim_positions(const char *acc, int64_t until_ms, sim_pos *out, size_t *n_deals)
{
    char to[40], path[256];
    view_iso_time(until_ms, to, sizeof to);
    size_t n = 0, got;
    *n_deals = 0;
    for (size_t offset = 0;; offset += got) {
        snprintf(path, sizeof path,
                 "/users/current/accounts/%s/history-deals/time/2000-01-01T00:00:00Z/%s"
                 "?offset=%zu&limit=%d",
                 acc, to, offset, SIM_PAGE);
        cJSON *arr = sim_get(path);
        got = (size_t)cJSON_GetArraySize(arr);
        const cJSON *dl;
        cJSON_ArrayForEach(dl, arr)
        {
            const char *entry = jstr(dl, "entryType"), *pid = jstr(dl, "positionId");
            if (!*entry)
                continue; /* a balance deal */
            (*n_deals)++;
            size_t i = 0;
            while (i < n && strcmp(out[i].id, pid) != 0)
                i++;
            if (i == n) {
                cr_assert_lt(n, MAX_POS);
                memset(&out[n], 0, sizeof out[n]);
                snprintf(out[n++].id, sizeof out->id, "%s", pid);
            }
            sim_pos *p = &out[i];
            int64_t t;
            cr_assert_eq(broker_parse_time(jstr(dl, "time"), &t), 0);
            p->profit += jnum(dl, "profit");
            if (strcmp(entry, "DEAL_ENTRY_IN") == 0) {
                p->in_vol += jnum(dl, "volume");
                p->in_ms = t;
            } else {
                p->out_vol += jnum(dl, "volume");
                p->closed = true;
                p->out_is_sell = strcmp(jstr(dl, "type"), "DEAL_TYPE_SELL") == 0;
            }
        }
        cJSON_Delete(arr);
        if (got < SIM_PAGE)
            return n;
    }
}

static int64_t cursor_of(const char *acc)
{
    return sql_int("select (extract(epoch from read_until) * 1000)::bigint from deal_cursors"
                   " where account_id = $1",
                   acc);
}

/* closed_trades equals, account by account, the positions the simulator
 * closed before the account's cursor; IN deals older than in_before are
 * expected missing (0: none). Returns the number of trades. */
static size_t check_against_sim(int64_t in_before)
{
    size_t total = 0;
    for (int a = 1; a <= N_ACC; a++) {
        char acc[24];
        snprintf(acc, sizeof acc, "demo-%d", a);
        int64_t cur = cursor_of(acc);
        cr_assert_gt(cur, 0, "%s has no cursor", acc);
        static sim_pos sp[MAX_POS];
        size_t nd, n = sim_positions(acc, cur, sp, &nd), closed = 0;
        const char *p[1] = {acc};
        PGresult *r = PQexecParams(pg,
                                   "select t.position_id, t.volume, t.profit, t.incomplete,"
                                   " t.open_time is null, t.side,"
                                   " t.strategy is not distinct from b.strategy"
                                   " from closed_trades t left join bot_positions b"
                                   " on b.account_id = t.account_id"
                                   " and b.position_id = t.position_id"
                                   " where t.account_id = $1",
                                   1, NULL, p, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
        for (size_t i = 0; i < n; i++) {
            if (!sp[i].closed)
                continue;
            closed++;
            int row = -1;
            for (int k = 0; k < PQntuples(r) && row < 0; k++)
                if (strcmp(PQgetvalue(r, k, 0), sp[i].id) == 0)
                    row = k;
            cr_assert_geq(row, 0, "%s: position %s closed but not recorded", acc, sp[i].id);
            bool missing = in_before > 0 && sp[i].in_ms < in_before;
            double vol = strtod(PQgetvalue(r, row, 1), NULL);
            cr_expect_float_eq(vol, missing ? sp[i].out_vol : sp[i].in_vol, EPS, "%s %s volume",
                               acc, sp[i].id);
            /* With the IN deal missing, so is its (zero) profit. */
            cr_expect_float_eq(strtod(PQgetvalue(r, row, 2), NULL), sp[i].profit, 1e-6,
                               "%s %s profit", acc, sp[i].id);
            cr_expect_eq(PQgetvalue(r, row, 3)[0] == 't', missing, "%s %s incomplete", acc,
                         sp[i].id);
            cr_expect_eq(PQgetvalue(r, row, 4)[0] == 't', missing, "%s %s open time", acc,
                         sp[i].id);
            cr_expect_str_eq(PQgetvalue(r, row, 5), sp[i].out_is_sell ? "BUY" : "SELL");
            cr_expect_eq(PQgetvalue(r, row, 6)[0], 't', "%s %s: not the bot's strategy", acc,
                         sp[i].id);
        }
        cr_expect_eq((size_t)PQntuples(r), closed, "%s: %d recorded, %zu closed", acc, PQntuples(r),
                     closed);
        PQclear(r);
        total += closed;
    }
    return total;
}

/* The bot's rows for demo-1's positions (strategy "strat-ID"). */
static void bot_rows_for_demo1(void)
{
    static sim_pos sp[MAX_POS];
    size_t nd, n = sim_positions("demo-1", clock_now_ms(), sp, &nd);
    for (size_t i = 0; i < n; i++) {
        char strat[64];
        snprintf(strat, sizeof strat, "strat-%.39s", sp[i].id);
        const char *p[2] = {sp[i].id, strat};
        PGresult *r = PQexecParams(pg,
                                   "insert into bot_positions (account_id, position_id, symbol,"
                                   " side, volume, strategy) values ('demo-1', $1, 'X', 'BUY', 1,"
                                   " $2) on conflict do nothing",
                                   2, NULL, p, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
        PQclear(r);
    }
}

/* ---- NOTIFY ---- */

typedef struct listener {
    PGconn *c;
    long long ids[MAX_POS * N_ACC];
    size_t n;
    bool synced;
} listener;

static void listen_on(listener *l)
{
    memset(l, 0, sizeof *l);
    l->c = PQconnectdb(db);
    cr_assert_eq(PQstatus(l->c), CONNECTION_OK);
    PQclear(PQexec(l->c, "listen " CHANNEL));
}

static bool drained(void *arg)
{
    listener *l = arg;
    PQconsumeInput(l->c);
    for (PGnotify *n; (n = PQnotifies(l->c)) != NULL; PQfreemem(n)) {
        if (strcmp(n->extra, "sync") == 0)
            l->synced = true;
        else if (l->n < sizeof l->ids / sizeof l->ids[0])
            l->ids[l->n++] = strtoll(n->extra, NULL, 10);
    }
    return l->synced;
}

/* Everything committed before now has been delivered (PostgreSQL delivers
 * in commit order): returns how many trade notifications arrived since the
 * last call, each checked against closed_trades. */
static size_t notified(listener *l)
{
    size_t before = l->n;
    l->synced = false;
    sql("notify " CHANNEL ", 'sync'");
    cr_assert(th_wait_until(drained, l, WAIT_MS), "no NOTIFY within %d ms", WAIT_MS);
    for (size_t i = before; i < l->n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%lld", l->ids[i]);
        cr_expect_eq(sql_int("select count(*) from closed_trades where id = $1::bigint", id), 1,
                     "NOTIFY of an unknown trade id %s", id);
        for (size_t k = 0; k < i; k++)
            cr_expect_neq(l->ids[k], l->ids[i], "trade %lld notified twice", l->ids[i]);
    }
    return l->n - before;
}

TestSuite(trades_int, .init = int_setup, .fini = int_teardown);

Test(trades_int, records_each_closed_position_once_across_passes_and_a_restart)
{
    listener l;
    listen_on(&l);
    tick(TICKS);
    bot_rows_for_demo1();
    detector *d = new_detector(PAGE);
    detector_stats st;
    pass_ok(d, &st);
    size_t n1 = check_against_sim(0);
    cr_assert_gt(n1, 0, "the simulator closed nothing in %d ticks", TICKS);
    cr_expect_eq(st.trades_recorded, n1);
    cr_expect_eq(st.deals_new, st.deals_seen, "a fresh database had seen none of them");
    cr_expect_eq(notified(&l), n1, "one NOTIFY per trade");
    cr_expect_gt(sql_int("select count(*) from closed_trades where strategy like 'strat-%'", NULL),
                 0, "no trade took its strategy from bot_positions");

    pass_ok(d, &st);
    cr_expect_eq(st.trades_recorded, 0, "a second pass recorded %zu", st.trades_recorded);
    cr_expect_eq(st.deals_new, 0);
    cr_expect_gt(st.deals_seen, 0, "the overlap re-reads recent deals");
    cr_expect_eq(notified(&l), 0);

    /* A restart: a new detector, with positions closed meanwhile. */
    detector_free(d);
    tick(TICKS);
    bot_rows_for_demo1();
    d = new_detector(PAGE);
    pass_ok(d, &st);
    size_t n2 = check_against_sim(0);
    cr_expect_gt(n2, n1);
    cr_expect_eq(st.trades_recorded, n2 - n1);
    cr_expect_lt(st.deals_new, st.deals_seen);
    cr_expect_eq(notified(&l), n2 - n1);
    cr_expect_eq(sql_int("select count(*) from closed_trades", NULL), (long long)n2);
    detector_free(d);
    PQfinish(l.c);
}

Test(trades_int, broker_failures_move_nothing_and_the_next_good_pass_catches_up)
{
    static const struct {
        const char *on, *off, *says;
    } FAULTS[] = {
        {"{\"error_rate\":1}", "{\"error_rate\":0}", "HTTP 500"},
        {"{\"malformed_rate\":1}", "{\"malformed_rate\":0}", "history-deals"},
    };
    tick(TICKS);
    bot_rows_for_demo1(); /* the bot writes its row before any close is read */
    detector *d = new_detector(PAGE);
    detector_stats st;
    pass_ok(d, &st);
    size_t n1 = check_against_sim(0);
    for (size_t f = 0; f < sizeof FAULTS / sizeof FAULTS[0]; f++) {
        tick(TICKS);
        bot_rows_for_demo1();
        int64_t before = cursor_of("demo-4");
        faults(FAULTS[f].on);
        st = pass(d);
        faults(FAULTS[f].off);
        cr_expect_eq(st.errors, N_ACC, "%s: %zu errors", FAULTS[f].on, st.errors);
        cr_expect_eq(st.accounts_read, 0);
        cr_expect_eq(st.trades_recorded, 0);
        cr_expect(strstr(st.last_error, FAULTS[f].says) != NULL, "last error: %s", st.last_error);
        cr_expect_eq(cursor_of("demo-4"), before, "the cursor moved on a failure");
        cr_expect_eq(sql_int("select count(*) from closed_trades", NULL), (long long)n1);
        pass_ok(d, &st);
        size_t n2 = check_against_sim(0);
        cr_expect_gt(n2, n1, "nothing closed to catch up on");
        cr_expect_eq(st.trades_recorded, n2 - n1);
        cr_expect_gt(cursor_of("demo-4"), before);
        n1 = n2;
    }
    detector_free(d);
}

Test(trades_int, rate_limit_is_honoured_per_account)
{
    tick(TICKS);
    detector *d = new_detector(DETECTOR_PAGE_LIMIT);
    /* Only demo-1..3 meet the 429 (the others are disabled meanwhile). */
    sql("update accounts set enabled = id <= 'demo-3'");
    faults("{\"rate_limit_rate\":1,\"retry_after\":120}");
    detector_stats st = pass(d);
    faults("{\"rate_limit_rate\":0}");
    sql("update accounts set enabled = true");
    cr_expect_eq(st.errors, 3, "%zu errors", st.errors);
    cr_expect(strstr(st.last_error, "HTTP 429") && strstr(st.last_error, "120s"), "%s",
              st.last_error);
    /* The broker is fine again, but the limited accounts wait their turn. */
    st = pass(d);
    cr_expect_eq(st.errors, 0, "%s", st.last_error);
    cr_expect_eq(st.accounts_skipped, 3);
    cr_expect_eq(st.accounts_read, 3);
    cr_expect_eq(sql_int("select count(*) from deal_cursors where account_id <= 'demo-3'", NULL),
                 0);
    cr_expect_eq(sql_int("select count(*) from deal_cursors", NULL), 3);
    /* A restart does not remember waits: everything is read again. */
    detector_free(d);
    d = new_detector(DETECTOR_PAGE_LIMIT);
    pass_ok(d, &st);
    cr_expect_eq(sql_int("select count(*) from deal_cursors", NULL), N_ACC);
    check_against_sim(0);
    detector_free(d);
}

Test(trades_int, missing_in_waits_for_the_broker_to_let_go)
{
    cfg.trades_lookback_h = 1; /* the simulator's first positions are older */
    cfg.trades_overlap_s = 0;
    snprintf(cfg.redis_url, sizeof cfg.redis_url, "%s", th_env("TRADEOPS_TEST_REDIS"));
    tick(2 * TICKS);
    detector *d = new_detector(DETECTOR_PAGE_LIMIT);
    detector_stats st;
    int64_t t0 = clock_now_ms();
    pass_ok(d, &st);
    int64_t window_start = t0 - 3600 * 1000;
    /* No broker state yet: only the trades whose IN deal was read. */
    size_t complete = (size_t)sql_int("select count(*) from closed_trades", NULL);
    cr_expect_eq(sql_int("select count(*) from closed_trades where incomplete", NULL), 0);
    /* The poller stores what the broker holds now; then they are closed. */
    char err[256] = "";
    model *m = model_new();
    engine *e = engine_new(&cfg, NULL, m, err, sizeof err);
    cr_assert_not_null(e, "engine_new: %s", err);
    cr_assert_eq(engine_cycle_once(e, err, sizeof err), 0, "%s", err);
    engine_free(e);
    model_free(m);
    pass_ok(d, &st);
    size_t all = check_against_sim(window_start);
    long long incomplete = sql_int("select count(*) from closed_trades where incomplete", NULL);
    cr_expect_gt(incomplete, 0, "no position with a missing IN closed: the test proves nothing");
    cr_expect_eq((size_t)incomplete, all - complete);
    cr_expect_eq(st.trades_recorded, (size_t)incomplete);
    detector_free(d);
}

Test(trades_int, carries_on_after_postgresql_drops_the_connection)
{
    tick(TICKS);
    detector *d = new_detector(DETECTOR_PAGE_LIMIT);
    detector_stats st;
    pass_ok(d, &st);
    size_t n1 = check_against_sim(0);
    cr_expect_eq(sql_int("select count(*) from (select pg_terminate_backend(pid, 5000)"
                         " from pg_stat_activity where datname = current_database()"
                         " and application_name = 'tradeops') k",
                         NULL),
                 1, "the detector's connection was not found");
    tick(TICKS);
    pass_ok(d, &st);
    size_t n2 = check_against_sim(0);
    cr_expect_gt(n2, n1);
    cr_expect_eq(st.trades_recorded, n2 - n1);
    detector_free(d);
}

static bool passed_once(void *arg)
{
    detector_stats st;
    detector_last_stats(arg, &st);
    return st.passes >= 1;
}

Test(trades_int, thread_runs_a_pass_at_once_and_stops_without_waiting_the_interval)
{
    cfg.trades_interval_s = 3600;
    tick(TICKS);
    detector *d = new_detector(DETECTOR_PAGE_LIMIT);
    char err[256] = "";
    cr_assert_eq(detector_start(d, err, sizeof err), 0, "%s", err);
    cr_assert(th_wait_until(passed_once, d, WAIT_MS * 4), "no pass within %d ms", WAIT_MS * 4);
    int64_t t = clock_mono_ms();
    detector_stop(d);
    /* Not a timing test: an hour's wait would mean the wake-up is broken. */
    cr_expect_lt(clock_mono_ms() - t, (int64_t)cfg.trades_interval_s * 1000 / 2);
    detector_stats st;
    detector_last_stats(d, &st);
    cr_expect_eq(st.passes, 1);
    cr_expect_eq(st.errors, 0, "%s", st.last_error);
    cr_expect_eq(st.trades_recorded, check_against_sim(0));
    detector_free(d);
}

Test(trades_int, wrong_token_is_an_error_per_account_and_never_echoed)
{
    snprintf(cfg.broker_token, sizeof cfg.broker_token, "wrong-token-9c1d");
    detector *d = new_detector(DETECTOR_PAGE_LIMIT);
    detector_stats st = pass(d);
    cr_expect_eq(st.errors, N_ACC);
    cr_expect(strstr(st.last_error, "HTTP 401") != NULL, "%s", st.last_error);
    cr_expect(strstr(st.last_error, "check the broker auth token") != NULL);
    cr_expect_null(strstr(st.last_error, "wrong-token-9c1d"));
    cr_expect_eq(sql_int("select count(*) from deal_cursors", NULL), 0);
    detector_free(d);
}

Test(trades_int, hostile_text_is_stored_without_losing_a_trade)
{
    tick(TICKS);
    faults("{\"hostile_text\":true}");
    detector *d = new_detector(PAGE);
    detector_stats st;
    pass_ok(d, &st);
    faults("{\"hostile_text\":false}");
    size_t n = check_against_sim(0);
    cr_expect_eq(st.trades_recorded, n);
    /* Control bytes are kept (the display sanitises them); bytes that are
     * not UTF-8 could not be stored at all. */
    cr_expect_gt(sql_int("select count(*) from broker_deals where comment ~ '[\\x01-\\x1f]'"
                         " or symbol ~ '[\\x01-\\x1f]'",
                         NULL),
                 0, "no hostile text reached the database: the test proves nothing");
    detector_free(d);
}
