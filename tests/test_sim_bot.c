/*
 * test_sim_bot.c - the simulator playing the trading bot (--pg) and its
 * reconciliation scenarios, against a fresh database and the simulator over
 * HTTP.
 *
 * Every test runs a paused simulator (--start-paused) and moves it with
 * /_sim/tick, so what it trades is fixed by the seed. The bot writes from its
 * own thread; a test waits (bounded) until the bot's queue in /_sim/stats is
 * empty, which means everything queued so far has been committed, and then
 * compares bot_positions with the broker's positions over HTTP the way the
 * reconciler does (by position id; side, volume, SL, TP).
 */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "broker.h"
#include "harness/th.h"
#include "migrate.h"

#define N_ACCOUNTS 6
#define SEED "7"
#define BOT_WAIT_MS 15000
#define DEMO_WAIT_MS 20000
#define WARM_TICKS "{\"count\":20}"
#define LASTING_TICKS "{\"count\":60}"
#define LONG_TICKS "{\"count\":400}"
#define VOLUME_TOLERANCE 1e-6 /* lots, as the reconciler's default */
#define PRICE_EPSILON 1e-9
#define MOVE_POINTS 50.0 /* what sl_moved/tp_moved promise */
#define MIN_TOLERANCE_POINTS 10.0
#define MAX_FINDINGS 64
#define ACCOUNT_ID_LEN 24 /* "demo-" and any int */
#define ALL_HISTORY "/history-deals/time/2000-01-01T00:00:00Z/2100-01-01T00:00:00Z"

static th_sim sim;
static bool sim_up;
static char *db;
static PGconn *pg;

static void setup(void)
{
    sim_up = false;
    db = NULL;
    pg = NULL;
}

static void teardown(void)
{
    if (sim_up)
        th_sim_stop(&sim);
    sim_up = false;
    PQfinish(pg);
    pg = NULL;
    th_db_drop(db);
    db = NULL;
}

/* ---- HTTP ---- */

/* The reply's JSON (caller deletes); *status gets the HTTP status. */
static cJSON *http(const char *method, const char *path, const char *body, long *status)
{
    char *reply = th_sim_request(&sim, method, path, body, status);
    cr_assert_not_null(reply, "%s %s: no reply (see stderr)", method, path);
    cJSON *j = cJSON_Parse(reply);
    cr_assert_not_null(j, "%s %s: reply is not JSON: %.200s", method, path, reply);
    free(reply);
    return j;
}

static cJSON *http_ok(const char *method, const char *path, const char *body)
{
    long status = 0;
    cJSON *j = http(method, path, body, &status);
    if (status != 200) {
        char *text = cJSON_PrintUnformatted(j);
        cr_assert_fail("%s %s %s: HTTP %ld %s", method, path, body ? body : "", status, text);
    }
    return j;
}

static void tick(const char *count_json)
{
    cJSON_Delete(http_ok("POST", "/_sim/tick", count_json));
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "field %s is missing or not a number", key);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsString(v), "field %s is missing or not a string", key);
    return v->valuestring;
}

static cJSON *bot_stats(cJSON *stats)
{
    cJSON *b = cJSON_GetObjectItemCaseSensitive(stats, "bot");
    cr_assert(cJSON_IsObject(b), "/_sim/stats has no bot object");
    return b;
}

/* ---- waiting for the bot ---- */

static bool bot_idle(void *arg)
{
    (void)arg;
    cJSON *s = http_ok("GET", "/_sim/stats", NULL);
    bool idle = num(bot_stats(s), "queue_length") == 0;
    cJSON_Delete(s);
    return idle;
}

static void wait_bot(void)
{
    cr_assert(th_wait_until(bot_idle, NULL, BOT_WAIT_MS),
              "the bot still had events queued after %d ms (see bot.last_error in /_sim/stats)",
              BOT_WAIT_MS);
}

/* ---- the comparison the reconciler makes ---- */

typedef struct finding {
    char account[ACCOUNT_ID_LEN];
    char position[32];
    char kind[32];
} finding;

typedef struct findings {
    finding f[MAX_FINDINGS];
    size_t n;
} findings;

static void add(findings *fs, const char *acc, const char *pos, const char *kind)
{
    cr_assert_lt(fs->n, MAX_FINDINGS, "too many differences");
    finding *f = &fs->f[fs->n++];
    snprintf(f->account, sizeof f->account, "%s", acc);
    snprintf(f->position, sizeof f->position, "%s", pos);
    snprintf(f->kind, sizeof f->kind, "%s", kind);
}

static cJSON *positions(const char *acc)
{
    char path[128];
    snprintf(path, sizeof path, "/users/current/accounts/%s/positions", acc);
    return http_ok("GET", path, NULL);
}

static cJSON *find_position(cJSON *list, const char *id)
{
    for (cJSON *p = list ? list->child : NULL; p; p = p->next)
        if (strcmp(str(p, "id"), id) == 0)
            return p;
    return NULL;
}

static PGresult *q(const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
    return r;
}

/* A level as the bot wrote it (NULL: unset) against the broker's (absent:
 * unset). */
static bool level_differs(PGresult *r, int row, int col, const cJSON *bp, const char *key)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(bp, key);
    bool bot_set = !PQgetisnull(r, row, col);
    if (bot_set != (b != NULL))
        return true;
    return bot_set && fabs(atof(PQgetvalue(r, row, col)) - b->valuedouble) > PRICE_EPSILON;
}

static void diff_account(const char *acc, findings *fs)
{
    cJSON *broker = positions(acc);
    const char *p[1] = {acc};
    PGresult *r = q("select position_id, side, volume, stop_loss, take_profit from bot_positions "
                    "where account_id = $1 and closed_at is null",
                    1, p);
    for (int i = 0; i < PQntuples(r); i++) {
        const char *id = PQgetvalue(r, i, 0);
        cJSON *bp = find_position(broker, id);
        if (!bp) {
            add(fs, acc, id, "missing_at_broker");
            continue;
        }
        const char *side = strcmp(str(bp, "type"), "POSITION_TYPE_BUY") == 0 ? "BUY" : "SELL";
        if (strcmp(side, PQgetvalue(r, i, 1)) != 0)
            add(fs, acc, id, "side");
        if (fabs(atof(PQgetvalue(r, i, 2)) - num(bp, "volume")) > VOLUME_TOLERANCE)
            add(fs, acc, id, "volume");
        if (level_differs(r, i, 3, bp, "stopLoss"))
            add(fs, acc, id, "sl");
        if (level_differs(r, i, 4, bp, "takeProfit"))
            add(fs, acc, id, "tp");
    }
    cJSON *bp;
    cJSON_ArrayForEach(bp, broker)
    {
        bool known = false;
        for (int i = 0; i < PQntuples(r) && !known; i++)
            known = strcmp(PQgetvalue(r, i, 0), str(bp, "id")) == 0;
        if (!known)
            add(fs, acc, str(bp, "id"), "unexpected_at_broker");
    }
    PQclear(r);
    cJSON_Delete(broker);
}

static void diff_all(findings *fs)
{
    fs->n = 0;
    for (int a = 1; a <= N_ACCOUNTS; a++) {
        char acc[ACCOUNT_ID_LEN];
        snprintf(acc, sizeof acc, "demo-%d", a);
        diff_account(acc, fs);
    }
}

static void expect_in_sync(const char *when)
{
    findings fs;
    diff_all(&fs);
    for (size_t i = 0; i < fs.n; i++)
        cr_expect_fail("%s: %s %s differs: %s", when, fs.f[i].account, fs.f[i].position,
                       fs.f[i].kind);
    cr_assert_eq(fs.n, 0, "%s: the bot's rows and the broker differ in %zu ways", when, fs.n);
}

static void expect_only(const char *acc, const char *pos, const char *kind, const char *when)
{
    findings fs;
    diff_all(&fs);
    for (size_t i = 0; i < fs.n; i++)
        cr_expect(strcmp(fs.f[i].account, acc) == 0 && strcmp(fs.f[i].position, pos) == 0 &&
                      strcmp(fs.f[i].kind, kind) == 0,
                  "%s: unexpected difference %s %s %s", when, fs.f[i].account, fs.f[i].position,
                  fs.f[i].kind);
    cr_assert_eq(fs.n, 1, "%s: want exactly one difference (%s %s %s), got %zu", when, acc, pos,
                 kind, fs.n);
}

/* ---- set-up helpers ---- */

static void connect_db(void)
{
    pg = PQconnectdb(db);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
}

/* Fresh migrated database, paused simulator with the bot on it. */
static void start_with_bot(const char *const *more)
{
    db = th_db_fresh();
    cr_assert_not_null(db, "no test database (see stderr)");
    connect_db();
    const char *args[16] = {"--pg", db, "--start-paused", "--seed", SEED};
    int n = 5;
    for (int i = 0; more && more[i] && n < 15; i++)
        args[n++] = more[i];
    args[n] = NULL;
    cr_assert_eq(th_sim_start(&sim, args), 0, "the simulator did not start (see stderr)");
    sim_up = true;
}

static cJSON *scenario(const char *acc, const char *kind, const char *action)
{
    char body[256];
    snprintf(body, sizeof body, "{\"account\":\"%s\",\"kind\":\"%s\",\"action\":\"%s\"}", acc, kind,
             action);
    return http_ok("POST", "/_sim/scenario", body);
}

/* Bot row of pos: NULL when there is none; else a one-row result with
 * volume, stop_loss, take_profit, closed_at is null, magic, strategy. */
static PGresult *bot_row(const char *acc, const char *pos)
{
    const char *p[2] = {acc, pos};
    PGresult *r = q("select volume, stop_loss, take_profit, closed_at is null, magic, strategy "
                    "from bot_positions where account_id = $1 and position_id = $2",
                    2, p);
    if (PQntuples(r) == 1)
        return r;
    PQclear(r);
    return NULL;
}

static bool bot_row_open(const char *acc, const char *pos)
{
    PGresult *r = bot_row(acc, pos);
    cr_assert_not_null(r, "%s %s: the bot has no row", acc, pos);
    bool open = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    PQclear(r);
    return open;
}

/* The deals of pos in acc's history: how many IN and OUT, the last OUT. */
typedef struct deals_of {
    int in, out;
    double out_volume;
    char out_comment[64];
} deals_of;

static deals_of deals_for(const char *acc, const char *pos)
{
    char path[256];
    snprintf(path, sizeof path, "/users/current/accounts/%s%s", acc, ALL_HISTORY);
    cJSON *list = http_ok("GET", path, NULL);
    deals_of d = {0};
    cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(e, "positionId");
        if (!cJSON_IsString(pid) || strcmp(pid->valuestring, pos) != 0)
            continue;
        if (strcmp(str(e, "entryType"), "DEAL_ENTRY_IN") == 0) {
            d.in++;
        } else {
            d.out++;
            d.out_volume = num(e, "volume");
            snprintf(d.out_comment, sizeof d.out_comment, "%s", str(e, "comment"));
        }
    }
    cJSON_Delete(list);
    return d;
}

/* MT5 point of a symbol: 10^-digits (the simulator's price decimals). */
static double point_of(const char *symbol)
{
    static const struct {
        const char *symbol;
        double point;
    } POINTS[] = {{"EURUSD", 1e-5}, {"GBPUSD", 1e-5}, {"AUDUSD", 1e-5}, {"USDCHF", 1e-5},
                  {"USDJPY", 1e-3}, {"XAUUSD", 1e-2}, {"BTCUSD", 1e-2}, {"US30", 1e-1}};
    for (size_t i = 0; i < sizeof POINTS / sizeof POINTS[0]; i++)
        if (strcmp(POINTS[i].symbol, symbol) == 0)
            return POINTS[i].point;
    cr_assert_fail("unknown symbol %s", symbol);
    return 0;
}

TestSuite(sim_bot, .init = setup, .fini = teardown);

/* ---- the bot follows the strategy ---- */

Test(sim_bot, rows_follow_the_broker_and_closes_set_closed_at)
{
    start_with_bot(NULL);
    wait_bot();
    expect_in_sync("at start");

    /* Every open position at start has a row with the broker's magic and a
     * strategy name. */
    PGresult *r = q("select count(*), count(strategy), count(*) filter (where magic <> 0) "
                    "from bot_positions where closed_at is null",
                    0, NULL);
    int open_rows = atoi(PQgetvalue(r, 0, 0));
    cr_expect_gt(open_rows, 0, "no bot rows at start");
    cr_expect_eq(atoi(PQgetvalue(r, 0, 1)), open_rows, "rows without a strategy");
    cr_expect_eq(atoi(PQgetvalue(r, 0, 2)), open_rows, "rows with magic 0 (not the bot's)");
    PQclear(r);
    cJSON *p1 = positions("demo-1");
    cJSON *first = cJSON_GetArrayItem(p1, 0);
    if (first) {
        PGresult *row = bot_row("demo-1", str(first, "id"));
        cr_assert_not_null(row);
        cr_expect_eq(atof(PQgetvalue(row, 0, 4)), num(first, "magic"), "magic differs");
        PQclear(row);
    }
    cJSON_Delete(p1);

    tick(LONG_TICKS);
    wait_bot();
    expect_in_sync("after 400 ticks");

    /* Closed rows: gone at the broker, an OUT deal each, closed_at its time. */
    r = q("select account_id, position_id, "
          "(extract(epoch from closed_at) * 1000)::bigint from bot_positions "
          "where closed_at is not null order by account_id, position_id",
          0, NULL);
    cr_assert_gt(PQntuples(r), 0, "no row was closed in 400 ticks");
    for (int i = 0; i < PQntuples(r); i++) {
        const char *acc = PQgetvalue(r, i, 0), *pos = PQgetvalue(r, i, 1);
        cJSON *list = positions(acc);
        cr_expect_null(find_position(list, pos), "%s %s is closed in the bot but open", acc, pos);
        cJSON_Delete(list);
        deals_of d = deals_for(acc, pos);
        cr_expect_eq(d.out, 1, "%s %s: %d OUT deals", acc, pos, d.out);
    }
    /* One closed_at checked against its deal's time exactly. */
    const char *acc0 = PQgetvalue(r, 0, 0), *pos0 = PQgetvalue(r, 0, 1);
    long long closed_ms = atoll(PQgetvalue(r, 0, 2));
    char path[256];
    snprintf(path, sizeof path, "/users/current/accounts/%s%s", acc0, ALL_HISTORY);
    cJSON *list = http_ok("GET", path, NULL), *e;
    bool seen = false;
    cJSON_ArrayForEach(e, list)
    {
        if (strcmp(str(e, "positionId"), pos0) != 0 ||
            strcmp(str(e, "entryType"), "DEAL_ENTRY_OUT") != 0)
            continue;
        int64_t t;
        cr_assert_eq(broker_parse_time(str(e, "time"), &t), 0);
        cr_expect_eq(t, closed_ms, "closed_at %lld is not the OUT deal's time %lld", closed_ms,
                     (long long)t);
        seen = true;
    }
    cr_expect(seen, "no OUT deal for %s %s", acc0, pos0);
    cJSON_Delete(list);
    PQclear(r);

    cJSON *s = http_ok("GET", "/_sim/stats", NULL);
    cJSON *b = bot_stats(s);
    cr_expect_gt(num(b, "rows_written"), open_rows, "rows_written did not count the writes");
    cr_expect_eq(num(b, "write_errors"), 0);
    cr_expect_eq(num(b, "dropped"), 0);
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "connected")));
    cJSON_Delete(s);
}

/* A position the bot holds, closed through the trade route (as the guard or
 * an operator would), is closed in the bot's row too. */
Test(sim_bot, api_close_reaches_the_bot)
{
    start_with_bot(NULL);
    tick(WARM_TICKS);
    wait_bot();
    cJSON *list = positions("demo-1");
    cJSON *p = cJSON_GetArrayItem(list, 0);
    cr_assert_not_null(p, "demo-1 has no position to close");
    char pos[32], body[128];
    snprintf(pos, sizeof pos, "%s", str(p, "id"));
    cJSON_Delete(list);
    snprintf(body, sizeof body, "{\"actionType\":\"POSITION_CLOSE_ID\",\"positionId\":\"%s\"}",
             pos);
    cJSON *res = http_ok("POST", "/users/current/accounts/demo-1/trade", body);
    cr_assert_str_eq(str(res, "stringCode"), "TRADE_RETCODE_DONE");
    cJSON_Delete(res);
    wait_bot();
    cr_expect_not(bot_row_open("demo-1", pos), "the bot's row of %s stayed open", pos);
    expect_in_sync("after the close");
}

/* ---- scenarios, one kind each ---- */

typedef struct started {
    char pos[32];
    long id;
    char before_symbol[16];
    double before_volume;
} started;

/* Warms up, starts kind on demo-2, checks the one difference appears and
 * lasts through ticks, and that GET /_sim/scenarios lists it. */
static started start_one(const char *kind, const char *want)
{
    start_with_bot(NULL);
    tick(WARM_TICKS);
    wait_bot();
    expect_in_sync("before the scenario");
    cJSON *r = scenario("demo-2", kind, "start");
    started s = {.id = (long)num(r, "id")};
    snprintf(s.pos, sizeof s.pos, "%s", str(r, "position"));
    cr_expect_str_eq(str(r, "kind"), kind);
    cr_expect_str_eq(str(r, "account"), "demo-2");
    cr_expect_str_eq(str(r, "state"), "active");
    cJSON_Delete(r);
    wait_bot();
    expect_only("demo-2", s.pos, want, "after start");
    cJSON *list = http_ok("GET", "/_sim/scenarios", NULL);
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(list, "scenarios");
    cr_assert_eq(cJSON_GetArraySize(arr), 1, "GET /_sim/scenarios lists %d",
                 cJSON_GetArraySize(arr));
    cr_expect_eq((long)num(cJSON_GetArrayItem(arr, 0), "id"), s.id);
    cr_expect_str_eq(str(cJSON_GetArrayItem(arr, 0), "position"), s.pos);
    cJSON_Delete(list);
    return s;
}

static void lasts_then_ends(const started *s, const char *kind, const char *want)
{
    tick(LASTING_TICKS);
    wait_bot();
    expect_only("demo-2", s->pos, want, "60 ticks after start");
    cJSON *r = scenario("demo-2", kind, "end");
    cr_expect_eq((long)num(r, "id"), s->id);
    cr_expect_str_eq(str(r, "state"), "ended");
    cr_expect_str_eq(str(r, "position"), s->pos);
    cJSON_Delete(r);
    wait_bot();
    expect_in_sync("after end");
    cJSON *list = http_ok("GET", "/_sim/scenarios", NULL);
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "scenarios")), 0,
                 "the ended scenario is still listed");
    cJSON_Delete(list);
}

Test(sim_bot, stop_out_is_missing_at_broker_until_the_bot_learns)
{
    started s = start_one("stop_out", "missing_at_broker");
    deals_of d = deals_for("demo-2", s.pos);
    cr_expect_eq(d.out, 1, "no OUT deal for the stop-out");
    cr_expect(strncmp(d.out_comment, "[so ", 4) == 0, "OUT deal comment '%s'", d.out_comment);
    cr_expect(bot_row_open("demo-2", s.pos), "the bot was told of the stop-out");
    lasts_then_ends(&s, "stop_out", "missing_at_broker");
    cr_expect_not(bot_row_open("demo-2", s.pos), "closed_at not set at the end");
}

Test(sim_bot, manual_trade_is_unexpected_at_broker_until_closed)
{
    started s = start_one("manual_trade", "unexpected_at_broker");
    cJSON *list = positions("demo-2");
    cJSON *p = find_position(list, s.pos);
    cr_assert_not_null(p, "the manual trade is not open at the broker");
    cr_expect_eq(num(p, "magic"), 0);
    cr_expect_str_eq(str(p, "comment"), "manual");
    cJSON_Delete(list);
    cr_expect_null(bot_row("demo-2", s.pos), "the bot wrote a row for a manual trade");
    lasts_then_ends(&s, "manual_trade", "unexpected_at_broker");
    list = positions("demo-2");
    cr_expect_null(find_position(list, s.pos), "the manual trade is still open after end");
    cJSON_Delete(list);
    deals_of d = deals_for("demo-2", s.pos);
    cr_expect_eq(d.in, 1, "IN deals of the manual trade: %d", d.in);
    cr_expect_eq(d.out, 1, "OUT deals of the manual trade: %d", d.out);
    cr_expect_null(bot_row("demo-2", s.pos), "the bot wrote a row for a manual trade");
}

Test(sim_bot, partial_close_is_volume_until_the_bot_updates)
{
    started s = start_one("partial_close", "volume");
    PGresult *row = bot_row("demo-2", s.pos);
    cr_assert_not_null(row);
    double bot_volume = atof(PQgetvalue(row, 0, 0));
    PQclear(row);
    cJSON *list = positions("demo-2");
    cJSON *p = find_position(list, s.pos);
    cr_assert_not_null(p, "the partly closed position is gone");
    double held = num(p, "volume");
    cJSON_Delete(list);
    deals_of d = deals_for("demo-2", s.pos);
    cr_expect_eq(d.out, 1, "OUT deals: %d", d.out);
    cr_expect_lt(fabs(d.out_volume + held - bot_volume), VOLUME_TOLERANCE,
                 "OUT %.2f + held %.2f != %.2f", d.out_volume, held, bot_volume);
    cr_expect_lt(fabs(d.out_volume - round(bot_volume / 2 * 100) / 100), VOLUME_TOLERANCE,
                 "closed %.2f of %.2f, not half", d.out_volume, bot_volume);
    lasts_then_ends(&s, "partial_close", "volume");
    row = bot_row("demo-2", s.pos);
    cr_assert_not_null(row);
    cr_expect_lt(fabs(atof(PQgetvalue(row, 0, 0)) - held), VOLUME_TOLERANCE);
    cr_expect_str_eq(PQgetvalue(row, 0, 3), "t", "the row was closed");
    PQclear(row);
}

/* sl_moved / tp_moved: the broker's level moved by MOVE_POINTS from the
 * bot's, or set when the bot has none; the other level untouched. */
static void stop_moved(const char *kind, const char *want, const char *key, int col,
                       const char *other_key, int other_col)
{
    started s = start_one(kind, want);
    PGresult *row = bot_row("demo-2", s.pos);
    cr_assert_not_null(row);
    cJSON *list = positions("demo-2");
    cJSON *p = find_position(list, s.pos);
    cr_assert_not_null(p);
    const cJSON *lvl = cJSON_GetObjectItemCaseSensitive(p, key);
    cr_assert(cJSON_IsNumber(lvl), "the broker has no %s", key);
    double pt = point_of(str(p, "symbol"));
    if (!PQgetisnull(row, 0, col)) {
        double moved = fabs(lvl->valuedouble - atof(PQgetvalue(row, 0, col))) / pt;
        cr_expect_lt(fabs(moved - MOVE_POINTS), 0.5, "%s moved %.1f points", key, moved);
    }
    cr_expect_gt(MOVE_POINTS, MIN_TOLERANCE_POINTS);
    const cJSON *other = cJSON_GetObjectItemCaseSensitive(p, other_key);
    cr_expect_eq(other != NULL, !PQgetisnull(row, 0, other_col), "%s changed", other_key);
    double level = lvl->valuedouble;
    PQclear(row);
    cJSON_Delete(list);
    lasts_then_ends(&s, kind, want);
    row = bot_row("demo-2", s.pos);
    cr_assert_not_null(row);
    cr_assert_not(PQgetisnull(row, 0, col), "the bot's %s is still unset", key);
    cr_expect_lt(fabs(atof(PQgetvalue(row, 0, col)) - level), PRICE_EPSILON);
    PQclear(row);
}

Test(sim_bot, sl_moved_is_sl_until_the_bot_updates)
{
    stop_moved("sl_moved", "sl", "stopLoss", 1, "takeProfit", 2);
}

Test(sim_bot, tp_moved_is_tp_until_the_bot_updates)
{
    stop_moved("tp_moved", "tp", "takeProfit", 2, "stopLoss", 1);
}

Test(sim_bot, never_opened_is_missing_at_broker_until_closed)
{
    started s = start_one("never_opened", "missing_at_broker");
    cr_expect(bot_row_open("demo-2", s.pos));
    deals_of d = deals_for("demo-2", s.pos);
    cr_expect_eq(d.in + d.out, 0, "the broker has deals for a position it never opened");
    lasts_then_ends(&s, "never_opened", "missing_at_broker");
    cr_expect_not(bot_row_open("demo-2", s.pos), "closed_at not set at the end");
}

static void expect_400(const char *body, const char *want)
{
    long status = 0;
    cJSON *r = http("POST", "/_sim/scenario", body, &status);
    cr_expect_eq(status, 400, "%s: HTTP %ld", body, status);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(r, "message");
    cr_expect(cJSON_IsString(msg) && strstr(msg->valuestring, want), "%s: message '%s' lacks '%s'",
              body, cJSON_IsString(msg) ? msg->valuestring : "", want);
    cJSON_Delete(r);
}

static void close_all(const char *acc)
{
    cJSON *list = positions(acc);
    for (cJSON *p = list->child; p; p = p->next) {
        char path[128], body[128];
        snprintf(path, sizeof path, "/users/current/accounts/%s/trade", acc);
        snprintf(body, sizeof body, "{\"actionType\":\"POSITION_CLOSE_ID\",\"positionId\":\"%s\"}",
                 str(p, "id"));
        cJSON *r = http_ok("POST", path, body);
        cr_assert_str_eq(str(r, "stringCode"), "TRADE_RETCODE_DONE", "closing %s", body);
        cJSON_Delete(r);
    }
    cJSON_Delete(list);
}

/* An account with nothing to act on gets a bot position first; the row is
 * written with it, so the scenario still makes one difference. An account
 * whose bot is halted (demo-3 after a close through the API) gets a 400. */
Test(sim_bot, scenario_on_an_empty_account_opens_a_position_first)
{
    start_with_bot(NULL);
    close_all("demo-1");
    wait_bot();
    expect_in_sync("after emptying demo-1");
    cJSON *r = scenario("demo-1", "sl_moved", "start");
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "opened_for_it")),
              "no position was opened for the scenario");
    char pos[32];
    snprintf(pos, sizeof pos, "%s", str(r, "position"));
    cJSON_Delete(r);
    wait_bot();
    expect_only("demo-1", pos, "sl", "after start on an empty account");
    cJSON_Delete(scenario("demo-1", "sl_moved", "end"));
    wait_bot();
    expect_in_sync("after end");

    close_all("demo-3");
    expect_400("{\"account\":\"demo-3\",\"kind\":\"stop_out\",\"action\":\"start\"}", "halted");
}

/* ---- bad requests ---- */

Test(sim_bot, bad_scenario_requests_are_400_with_a_reason)
{
    start_with_bot(NULL);
    tick(WARM_TICKS);
    wait_bot();
    expect_400("{\"account\":\"demo-99\",\"kind\":\"stop_out\",\"action\":\"start\"}", "not found");
    expect_400("{\"account\":\"demo-2\",\"kind\":\"meteor\",\"action\":\"start\"}", "meteor");
    expect_400("{\"account\":\"demo-2\",\"kind\":\"stop_out\",\"action\":\"pause\"}", "action");
    expect_400("{\"account\":\"demo-2\",\"action\":\"start\"}", "kind");
    expect_400("not json", "JSON");
    expect_400("{\"account\":\"demo-2\",\"kind\":\"stop_out\",\"action\":\"end\"}",
               "no stop_out scenario");
    expect_400("{\"account\":\"demo-2\",\"kind\":\"sl_moved\",\"action\":\"start\","
               "\"position\":\"1\"}",
               "not open");
    expect_400("{\"account\":\"demo-2\",\"kind\":\"manual_trade\",\"action\":\"start\","
               "\"position\":\"46648037\"}",
               "leave out");

    cJSON *r = scenario("demo-2", "sl_moved", "start");
    char body[256];
    snprintf(body, sizeof body,
             "{\"account\":\"demo-2\",\"kind\":\"tp_moved\",\"action\":\"start\","
             "\"position\":\"%s\"}",
             str(r, "position"));
    cJSON_Delete(r);
    expect_400(body, "already running");
    wait_bot();
    /* The refused requests changed nothing: only the sl_moved difference. */
    findings fs;
    diff_all(&fs);
    cr_expect_eq(fs.n, 1, "refused requests changed the state (%zu differences)", fs.n);
}

Test(sim_bot, without_pg_scenarios_are_refused_and_stats_unchanged)
{
    cr_assert_eq(th_sim_start(&sim, (const char *const[]){"--start-paused", NULL}), 0);
    sim_up = true;
    expect_400("{\"account\":\"demo-2\",\"kind\":\"stop_out\",\"action\":\"start\"}", "--pg");
    cJSON *s = http_ok("GET", "/_sim/stats", NULL);
    cr_expect_null(cJSON_GetObjectItemCaseSensitive(s, "bot"), "a bot object without --pg");
    cJSON_Delete(s);
}

/* ---- PostgreSQL not there yet ---- */

static bool has_errors(void *arg)
{
    (void)arg;
    cJSON *s = http_ok("GET", "/_sim/stats", NULL);
    bool yes = num(bot_stats(s), "write_errors") > 0;
    cJSON_Delete(s);
    return yes;
}

static bool error_mentions(void *arg)
{
    cJSON *s = http_ok("GET", "/_sim/stats", NULL);
    bool yes = strstr(str(bot_stats(s), "last_error"), (const char *)arg) != NULL;
    cJSON_Delete(s);
    return yes;
}

Test(sim_bot, rows_arrive_once_postgresql_is_there)
{
    const char *base = th_env("TRADEOPS_TEST_PG");
    char name[64];
    snprintf(name, sizeof name, "t_bot_late_%d_%ld", (int)getpid(), random() % 100000);
    db = malloc(strlen(base) + sizeof name + 16);
    cr_assert_not_null(db);
    sprintf(db, "%s dbname=%s", base, name);
    cr_assert_eq(th_sim_start(&sim, (const char *const[]){"--pg", db, "--start-paused", "--seed",
                                                          SEED, NULL}),
                 0);
    sim_up = true;

    /* No database: queued, counted, nothing written. */
    cr_assert(th_wait_until(has_errors, NULL, BOT_WAIT_MS), "no write error without a database");
    cJSON *s = http_ok("GET", "/_sim/stats", NULL);
    cJSON *b = bot_stats(s);
    cr_expect_eq(num(b, "rows_written"), 0);
    cr_expect_gt(num(b, "queue_length"), 0, "events were not kept");
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(b, "connected")));
    cJSON_Delete(s);
    tick(WARM_TICKS); /* more events while it waits */

    /* The database, not migrated: still waiting, now for the table. */
    char *admin = malloc(strlen(base) + 32);
    cr_assert_not_null(admin);
    sprintf(admin, "%s dbname=postgres", base);
    PGconn *a = PQconnectdb(admin);
    free(admin);
    cr_assert_eq(PQstatus(a), CONNECTION_OK, "%s", PQerrorMessage(a));
    char sql[128];
    snprintf(sql, sizeof sql, "create database %s", name);
    PGresult *r = PQexec(a, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(a);
    cr_assert(th_wait_until(error_mentions, "bot_positions", BOT_WAIT_MS),
              "the bot did not reach the new database");
    s = http_ok("GET", "/_sim/stats", NULL);
    cr_expect_eq(num(bot_stats(s), "rows_written"), 0);
    cJSON_Delete(s);

    /* Migrated: everything queued arrives, in order. */
    connect_db();
    int applied = 0;
    char err[256] = "";
    cr_assert_eq(migrate_up(pg, &applied, err, sizeof err), 0, "%s", err);
    wait_bot();
    expect_in_sync("once PostgreSQL was there");
    s = http_ok("GET", "/_sim/stats", NULL);
    cr_expect_gt(num(bot_stats(s), "rows_written"), 0);
    cJSON_Delete(s);
}

/* ---- demo mode ---- */

static bool demo_cycled(void *arg)
{
    (void)arg;
    cJSON *s = http_ok("GET", "/_sim/stats", NULL);
    cJSON *sc = cJSON_GetObjectItemCaseSensitive(s, "scenarios");
    bool yes = cJSON_IsObject(sc) && num(sc, "started") >= 2 && num(sc, "ended") >= 1;
    cJSON_Delete(s);
    return yes;
}

Test(sim_bot, scenario_every_starts_and_ends_scenarios)
{
    start_with_bot((const char *const[]){"--scenario-every", "1", NULL});
    cr_assert(th_wait_until(demo_cycled, NULL, DEMO_WAIT_MS),
              "--scenario-every 1 did not start two scenarios and end one in %d ms", DEMO_WAIT_MS);
}
