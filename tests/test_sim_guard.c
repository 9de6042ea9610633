/*
 * test_sim_guard.c - what the simulator gives the drawdown guard to act on,
 * over HTTP against a started tradeops-sim: a drawdown on demand (POST
 * /_sim/drawdown) that reaches its depth and holds, with a known set of at
 * least 3 positions the strategy leaves alone; closes that realise the
 * loss; the count-based faults of the trade (close) route; and the
 * per-account close counts in /_sim/stats that prove each position was
 * closed exactly once.
 *
 * Most tests run the market paused and move it with /_sim/tick, so what the
 * strategy would do is fixed by the seed; the slide itself follows time and
 * is brought onto its path by every read.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness/th.h"

#define ACCOUNT "demo-2"
#define INFO "/users/current/accounts/" ACCOUNT "/account-information"
#define POSITIONS "/users/current/accounts/" ACCOUNT "/positions"
#define TRADE "/users/current/accounts/" ACCOUNT "/trade"
#define SLIDE_WAIT_MS 30000
#define CLOSE_WAIT_MS 15000
#define MAX_POS 8
#define MANY_TICKS "{\"count\":600}"
/* Money: equity is never above the path by more than a cent per position
 * (profit rounding); the market may take it lower. */
#define MONEY_TOL 0.05
#define HANG_MS 3000
#define CLIENT_TIMEOUT_MS 300L

static th_sim sim;
static bool sim_up;

static void start_sim(bool paused)
{
    const char *const paused_args[] = {"--start-paused", "--seed", "11", NULL};
    const char *const running_args[] = {"--tick-ms", "50", "--seed", "11", NULL};
    sim_up = th_sim_start(&sim, paused ? paused_args : running_args) == 0;
    cr_assert(sim_up, "the simulator did not start (see stderr)");
}

static void teardown(void)
{
    if (sim_up)
        th_sim_stop(&sim);
    sim_up = false;
}

TestSuite(sim_guard, .fini = teardown, .timeout = 120);

/* ---- helpers ---- */

static cJSON *http(const char *method, const char *path, const char *body, long *status)
{
    char *reply = th_sim_request(&sim, method, path, body, status);
    cr_assert_not_null(reply, "%s %s: no reply", method, path);
    cJSON *j = cJSON_Parse(reply);
    cr_assert_not_null(j, "%s %s: not JSON: %.300s", method, path, reply);
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

typedef struct account {
    double balance, equity;
} account;

static account info(void)
{
    cJSON *j = http_ok("GET", INFO, NULL);
    account a = {num(j, "balance"), num(j, "equity")};
    cJSON_Delete(j);
    return a;
}

typedef struct tickets {
    char id[MAX_POS][24];
    int n;
} tickets;

static tickets positions_of(const char *path)
{
    cJSON *j = http_ok("GET", path, NULL);
    tickets t = {.n = 0};
    cJSON *p;
    cJSON_ArrayForEach(p, j)
    {
        cr_assert_lt(t.n, MAX_POS);
        snprintf(t.id[t.n++], sizeof t.id[0], "%s", str(p, "id"));
    }
    cJSON_Delete(j);
    return t;
}

static bool same_tickets(const tickets *a, const tickets *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->id[i], b->id[i]) != 0)
            return false;
    return true;
}

static cJSON *start_slide(const char *body)
{
    cJSON *j = http_ok("POST", "/_sim/drawdown", body);
    cr_assert_str_eq(str(j, "state"), "active");
    return j;
}

static void tick(const char *count_json)
{
    cJSON_Delete(http_ok("POST", "/_sim/tick", count_json));
}

/* The trade route's reply to closing ticket; *status its HTTP status. */
static cJSON *close_ticket(const char *account_trade_path, const char *ticket, long *status)
{
    char body[128];
    snprintf(body, sizeof body, "{\"actionType\":\"POSITION_CLOSE_ID\",\"positionId\":\"%s\"}",
             ticket);
    return http("POST", account_trade_path, body, status);
}

/* /_sim/stats closes of one account: received, done, faulted (0s when none). */
static void closes_of(const char *acc, double *received, double *done, double *faulted)
{
    cJSON *s = http_ok("GET", "/_sim/stats", NULL);
    cJSON *all = cJSON_GetObjectItemCaseSensitive(s, "closes");
    cr_assert(cJSON_IsObject(all), "/_sim/stats has no closes object");
    cJSON *one = cJSON_GetObjectItemCaseSensitive(all, acc);
    *received = one ? num(one, "received") : 0;
    *done = one ? num(one, "done") : 0;
    *faulted = one ? num(one, "faulted") : 0;
    cJSON_Delete(s);
}

/* ---- the slide ---- */

typedef struct watch {
    double floor, ceiling; /* ceiling: the equity at the start (never above it) */
    double highest;
    int polls;
} watch;

static bool at_floor(void *arg)
{
    watch *w = arg;
    account a = info();
    w->polls++;
    if (a.equity > w->highest)
        w->highest = a.equity;
    return a.equity <= w->floor + MONEY_TOL;
}

Test(sim_guard, drawdown_reaches_depth_and_holds)
{
    start_sim(false); /* the market ticks every 50 ms meanwhile */
    cJSON *s = start_slide("{\"account\":\"" ACCOUNT "\",\"depth\":0.3,\"seconds\":2}");
    double peak = num(s, "peak"), floor_eq = num(s, "floor"), start_eq = num(s, "start_equity");
    cr_expect_eq(num(s, "depth"), 0.3);
    cr_expect_eq(num(s, "seconds"), 2);
    cr_expect(fabs(floor_eq - 0.7 * peak) < 0.01, "floor %.2f is not 0.7 x peak %.2f", floor_eq,
              peak);
    cr_expect_geq(peak, start_eq, "the peak is at least the equity at the start");
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "positions"));
    cr_expect_geq(n, 3, "a slide holds at least 3 positions, has %d", n);
    cJSON_Delete(s);

    watch w = {.floor = floor_eq, .ceiling = start_eq, .highest = -INFINITY};
    cr_assert(th_wait_until(at_floor, &w, SLIDE_WAIT_MS),
              "equity did not reach the floor %.2f within %d ms (last highest %.2f)", floor_eq,
              SLIDE_WAIT_MS, w.highest);
    cr_expect_leq(w.highest, w.ceiling + MONEY_TOL,
                  "equity went above where it started (%.2f > %.2f)", w.highest, w.ceiling);
    /* It holds: later reads (and ticks) stay at or below the floor. */
    for (int i = 0; i < 10; i++)
        cr_expect_leq(info().equity, floor_eq + MONEY_TOL, "equity rose above the floor");

    cJSON *list = http_ok("GET", "/_sim/drawdown", NULL);
    cJSON *d = cJSON_GetObjectItemCaseSensitive(list, "drawdowns");
    cr_assert_eq(cJSON_GetArraySize(d), 1);
    cJSON *one = cJSON_GetArrayItem(d, 0);
    cr_expect_str_eq(str(one, "account"), ACCOUNT);
    cr_expect_eq(num(one, "target"), floor_eq, "past its seconds the path is at the floor");
    cJSON_Delete(list);
}

Test(sim_guard, drawdown_opens_to_three_and_strategy_leaves_them)
{
    start_sim(true);
    tickets before = positions_of(POSITIONS);
    cJSON *s = start_slide("{\"account\":\"" ACCOUNT "\",\"depth\":0.25,\"seconds\":1}");
    int opened = (int)num(s, "opened");
    cJSON_Delete(s);
    tickets held = positions_of(POSITIONS);
    cr_expect_geq(held.n, 3);
    cr_expect_eq(opened, before.n < 3 ? 3 - before.n : 0, "opened %d with %d open before", opened,
                 before.n);

    /* 600 ticks: without the freeze the strategy opens (3% a tick) and exits
     * (0.6% a position a tick) many times over. */
    tick(MANY_TICKS);
    tickets after = positions_of(POSITIONS);
    cr_expect(same_tickets(&held, &after), "the strategy changed demo-2's positions (%d -> %d)",
              held.n, after.n);

    account at_end = info();
    cJSON *e =
        http_ok("POST", "/_sim/drawdown", "{\"account\":\"" ACCOUNT "\",\"action\":\"end\"}");
    cr_expect_str_eq(str(e, "state"), "ended");
    cJSON_Delete(e);
    account just_after = info();
    cr_expect(fabs(just_after.equity - at_end.equity) < 1.0,
              "ending the slide moved equity from %.2f to %.2f", at_end.equity, just_after.equity);
    cJSON *list = http_ok("GET", "/_sim/drawdown", NULL);
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "drawdowns")), 0);
    cJSON_Delete(list);

    tick(MANY_TICKS);
    tickets resumed = positions_of(POSITIONS);
    cr_expect(!same_tickets(&held, &resumed), "after the end the strategy trades again");
}

Test(sim_guard, closes_realise_the_loss_exactly_once)
{
    start_sim(true);
    cJSON *s = start_slide("{\"account\":\"" ACCOUNT "\",\"depth\":0.3,\"seconds\":1}");
    double floor_eq = num(s, "floor"), peak = num(s, "peak");
    double start_balance = num(s, "balance");
    cJSON_Delete(s);
    watch w = {.floor = floor_eq, .ceiling = INFINITY, .highest = -INFINITY};
    cr_assert(th_wait_until(at_floor, &w, SLIDE_WAIT_MS), "the paused market did not slide");

    tickets open = positions_of(POSITIONS);
    cr_assert_geq(open.n, 3);
    for (int i = 0; i < open.n; i++) {
        long status = 0;
        cJSON *r = close_ticket(TRADE, open.id[i], &status);
        cr_expect_eq(status, 200);
        cr_expect_str_eq(str(r, "stringCode"), "TRADE_RETCODE_DONE");
        cr_expect_str_eq(str(r, "positionId"), open.id[i]);
        cJSON_Delete(r);
    }
    cr_expect_eq(positions_of(POSITIONS).n, 0, "every position closed");
    account flat = info();
    cr_expect_eq(flat.balance, flat.equity, "flat: equity is the balance");
    cr_expect_leq(flat.balance, floor_eq + MONEY_TOL, "the loss was realised: balance %.2f",
                  flat.balance);
    cr_expect_geq(flat.balance, floor_eq - 0.02 * peak,
                  "no more than the slide's loss (and commissions) was realised: %.2f",
                  flat.balance);
    cr_expect_lt(flat.balance, start_balance - 0.25 * peak);

    /* A second close of the same ticket finds nothing, and is counted. */
    long status = 0;
    cJSON *r = close_ticket(TRADE, open.id[0], &status);
    cr_expect_str_eq(str(r, "stringCode"), "TRADE_RETCODE_POSITION_CLOSED");
    cJSON_Delete(r);
    double received, done, faulted;
    closes_of(ACCOUNT, &received, &done, &faulted);
    cr_expect_eq(received, open.n + 1);
    cr_expect_eq(done, open.n, "each position was closed exactly once");
    cr_expect_eq(faulted, 0);
    closes_of("demo-1", &received, &done, &faulted);
    cr_expect_eq(received, 0, "other accounts' counts are their own");

    /* Still flat and still down after many ticks: the strategy is frozen. */
    tick(MANY_TICKS);
    account later = info();
    cr_expect_eq(later.balance, flat.balance);
    cr_expect_eq(positions_of(POSITIONS).n, 0);
}

/* ---- trade faults ---- */

static double fault_knob(const char *key)
{
    cJSON *f = http_ok("GET", "/_sim/faults", NULL);
    double v = num(f, key);
    cJSON_Delete(f);
    return v;
}

static bool is_open(const char *ticket)
{
    tickets t = positions_of(POSITIONS);
    for (int i = 0; i < t.n; i++)
        if (strcmp(t.id[i], ticket) == 0)
            return true;
    return false;
}

static bool closed(void *ticket)
{
    return !is_open(ticket);
}

static void expect_code(const char *ticket, double code, const char *string_code)
{
    long status = 0;
    cJSON *r = close_ticket(TRADE, ticket, &status);
    cr_expect_eq(status, 200, "HTTP %ld", status);
    cr_expect_eq(num(r, "numericCode"), code);
    cr_expect_str_eq(str(r, "stringCode"), string_code);
    cJSON_Delete(r);
    cr_expect(is_open(ticket), "%s left %s closed", string_code, ticket);
}

Test(sim_guard, trade_faults_count_down)
{
    start_sim(true);
    tickets t = positions_of(POSITIONS);
    if (t.n == 0) { /* make sure there is something to close */
        cJSON_Delete(start_slide("{\"account\":\"" ACCOUNT "\",\"depth\":0.1,\"seconds\":600}"));
        t = positions_of(POSITIONS);
    }
    cr_assert_gt(t.n, 0);
    const char *ticket = t.id[0];

    cJSON_Delete(http_ok("POST", "/_sim/faults",
                         "{\"trade_reject_next\":2,\"trade_requote_next\":1,"
                         "\"trade_error_next\":1}"));
    /* error goes first, then reject, then requote */
    long status = 0;
    cJSON *r = close_ticket(TRADE, ticket, &status);
    cr_expect_eq(status, 500, "trade_error_next: HTTP %ld", status);
    cJSON_Delete(r);
    cr_expect(is_open(ticket), "a 500 left the position closed");
    expect_code(ticket, 10006, "TRADE_RETCODE_REJECT");
    expect_code(ticket, 10006, "TRADE_RETCODE_REJECT");
    expect_code(ticket, 10004, "TRADE_RETCODE_REQUOTE");
    cr_expect_eq(fault_knob("trade_reject_next"), 0, "the knob counts down as used");
    cr_expect_eq(fault_knob("trade_requote_next"), 0);
    cr_expect_eq(fault_knob("trade_error_next"), 0);

    /* hang: the client gives up, the close still happens */
    char body[160];
    snprintf(body, sizeof body, "{\"trade_hang_next\":1,\"trade_hang_ms\":%d}", HANG_MS);
    cJSON_Delete(http_ok("POST", "/_sim/faults", body));
    char req[128];
    snprintf(req, sizeof req, "{\"actionType\":\"POSITION_CLOSE_ID\",\"positionId\":\"%s\"}",
             ticket);
    th_reply hr;
    int rc =
        th_sim_http(&sim, "POST", TRADE, "application/json", req, true, CLIENT_TIMEOUT_MS, &hr);
    cr_expect_eq(rc, -1, "a hung close answered within %ld ms (HTTP %ld)", CLIENT_TIMEOUT_MS,
                 hr.status);
    cr_expect(hr.timed_out, "the client should have timed out");
    th_reply_free(&hr);
    cr_expect(th_wait_until(closed, (void *)ticket, CLOSE_WAIT_MS),
              "the hung close never happened");
    cr_expect_eq(fault_knob("trade_hang_next"), 0);

    double received, done, faulted;
    closes_of(ACCOUNT, &received, &done, &faulted);
    cr_expect_eq(received, 5);
    cr_expect_eq(faulted, 5, "error, 2 rejects, requote and the hang");
    cr_expect_eq(done, 1, "closed once, by the hung request");
    cJSON *stats = http_ok("GET", "/_sim/stats", NULL);
    cr_expect_eq(num(stats, "closes_received"), 5);
    cr_expect_eq(num(stats, "closes_done"), 1);
    cJSON_Delete(stats);
}

Test(sim_guard, trade_fault_flags_on_the_command_line)
{
    const char *const args[] = {
        "--start-paused", "--trade-reject-next", "1", "--trade-hang-ms", "250", NULL};
    sim_up = th_sim_start(&sim, args) == 0;
    cr_assert(sim_up);
    cr_expect_eq(fault_knob("trade_reject_next"), 1);
    cr_expect_eq(fault_knob("trade_hang_ms"), 250);
    tickets t = positions_of("/users/current/accounts/demo-1/positions");
    cr_assert_gt(t.n, 0);
    long status = 0;
    cJSON *r = close_ticket("/users/current/accounts/demo-1/trade", t.id[0], &status);
    cr_expect_str_eq(str(r, "stringCode"), "TRADE_RETCODE_REJECT");
    cJSON_Delete(r);
    r = close_ticket("/users/current/accounts/demo-1/trade", t.id[0], &status);
    cr_expect_str_eq(str(r, "stringCode"), "TRADE_RETCODE_DONE");
    cJSON_Delete(r);
    long bad_status = 0;
    cJSON *bad = http("POST", "/_sim/faults", "{\"trade_reject_next\":-1}", &bad_status);
    cr_expect_eq(bad_status, 400);
    cJSON_Delete(bad);
}

/* ---- bad requests ---- */

static void refused(const char *body, const char *says)
{
    long status = 0;
    cJSON *j = http("POST", "/_sim/drawdown", body, &status);
    cr_expect_eq(status, 400, "%s: HTTP %ld", body, status);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    cr_expect(cJSON_IsString(m) && strstr(m->valuestring, says),
              "%s: message '%s' does not mention '%s'", body,
              cJSON_IsString(m) ? m->valuestring : "", says);
    cJSON_Delete(j);
}

Test(sim_guard, drawdown_refuses_bad_requests)
{
    start_sim(true);
    refused("{\"account\":\"demo-99\"}", "not found");
    refused("{\"account\":\"nobody\"}", "not found");
    refused("{\"account\":2}", "account must be a string");
    refused("{\"depth\":0.3}", "account must be a string");
    refused("{\"account\":\"demo-2\",\"depth\":0}", "depth");
    refused("{\"account\":\"demo-2\",\"depth\":0.95}", "depth");
    refused("{\"account\":\"demo-2\",\"depth\":-0.2}", "depth");
    refused("{\"account\":\"demo-2\",\"depth\":\"0.3\"}", "depth");
    refused("{\"account\":\"demo-2\",\"seconds\":0.5}", "seconds");
    refused("{\"account\":\"demo-2\",\"seconds\":601}", "seconds");
    refused("{\"account\":\"demo-2\",\"action\":\"stop\"}", "action");
    refused("{\"account\":\"demo-2\",\"dept\":0.3}", "unknown key 'dept'");
    refused("{\"account\":\"demo-2\",\"action\":\"end\"}", "no active drawdown");
    refused("not json", "JSON");
    cJSON *list = http_ok("GET", "/_sim/drawdown", NULL);
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "drawdowns")), 0,
                 "a refused request started a slide");
    cJSON_Delete(list);
    cJSON_Delete(start_slide("{\"account\":\"demo-2\"}"));
    refused("{\"account\":\"demo-2\",\"depth\":0.5}", "already sliding");
    /* defaults */
    list = http_ok("GET", "/_sim/drawdown", NULL);
    cJSON *one = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(list, "drawdowns"), 0);
    cr_assert_not_null(one);
    cr_expect_eq(num(one, "depth"), 0.3);
    cr_expect_eq(num(one, "seconds"), 5);
    cJSON_Delete(list);
}
