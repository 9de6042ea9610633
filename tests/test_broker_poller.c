/*
 * test_broker_poller.c - the poller against the real simulator over HTTP:
 * a clean cycle, then each fault the simulator can play, then closing a
 * position. Faults are switched at run time through /_sim/faults.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "clock.h"
#include "harness/th.h"

#define N_ACCOUNTS 6
#define TIMEOUT_MS 5000
#define CONNECT_TIMEOUT_MS 2000
#define SHORT_TIMEOUT_MS 500
#define SLOW_REPLY_MS 3000
#define DEFAULT_BACKOFF_MS 10000
#define RETRY_AFTER_S 30
/* Slack for the gap between our clock reads and the poller's. */
#define CLOCK_SLACK_MS 2000
#define WRONG_TOKEN "wrong-token-7f3a9c"

static const char *const IDS[N_ACCOUNTS] = {"demo-1", "demo-2", "demo-3",
                                            "demo-4", "demo-5", "demo-6"};

static th_sim sim;
static bool sim_up;
static broker_poller *poller;
static poll_outcome out[N_ACCOUNTS];

static broker_poller *make_poller(const char *url, const char *token, long timeout_ms)
{
    broker_poller_config cfg = {
        .base_url = url,
        .token = token,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = CONNECT_TIMEOUT_MS < timeout_ms ? CONNECT_TIMEOUT_MS : timeout_ms,
        .default_backoff_ms = DEFAULT_BACKOFF_MS,
    };
    char err[256] = "";
    broker_poller *p = broker_poller_new(&cfg, err, sizeof err);
    cr_assert_not_null(p, "broker_poller_new: %s", err);
    return p;
}

static void setup(void)
{
    cr_assert_eq(th_sim_start(&sim, NULL), 0, "the simulator did not start (see stderr)");
    sim_up = true;
    poller = make_poller(sim.url, sim.token, TIMEOUT_MS);
}

static void teardown(void)
{
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        poll_outcome_clear(&out[i]);
    broker_poller_free(poller);
    poller = NULL;
    if (sim_up)
        th_sim_stop(&sim);
    sim_up = false;
}

static void cycle(broker_poller *p)
{
    char err[256] = "";
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        poll_outcome_clear(&out[i]);
    cr_assert_eq(broker_poller_cycle(p, IDS, N_ACCOUNTS, out, err, sizeof err), 0,
                 "cycle failed as a whole: %s", err);
}

static void faults(const char *json)
{
    cr_assert_eq(th_sim_control(&sim, "/_sim/faults", json), 0, "the simulator refused %s", json);
}

/* Every account failed, and its error mentions want. */
static void expect_all_errors(const char *want)
{
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        cr_expect_eq(out[i].ok, 0, "%s: ok despite the fault", IDS[i]);
        cr_expect_eq(out[i].skipped, 0, "%s: skipped", IDS[i]);
        cr_expect_null(out[i].positions, "%s: positions handed out on error", IDS[i]);
        cr_expect(strstr(out[i].error, want) != NULL, "%s: error \"%s\" lacks \"%s\"", IDS[i],
                  out[i].error, want);
    }
}

/* No .timeout: every wait here is bounded by the poller's own timeouts and
 * th_sim_start's, and Criterion 2.4's timeout machinery leaks in the runner,
 * which fails the SAN=1 run. */
TestSuite(broker_poller, .init = setup, .fini = teardown);

Test(broker_poller, six_accounts_all_ok_with_plausible_values)
{
    for (int round = 0; round < 2; round++) { /* the second reuses the connections */
        cycle(poller);
        for (size_t i = 0; i < N_ACCOUNTS; i++) {
            const poll_outcome *o = &out[i];
            cr_expect_eq(o->ok, 1, "%s: %s", IDS[i], o->error);
            cr_expect_str_empty(o->error, "%s", IDS[i]);
            cr_expect_eq(o->skipped, 0);
            cr_expect_eq(o->http_status, 0);
            cr_expect_gt(o->latency_ms, 0.0);
            cr_expect_lt(o->latency_ms, (double)TIMEOUT_MS);
            cr_expect_str_not_empty(o->info.currency, "%s: no currency", IDS[i]);
            cr_expect_gt(o->info.equity, 0.0, "%s: equity %f", IDS[i], o->info.equity);
            cr_expect_gt(o->info.balance, 0.0);
            cr_expect_geq(o->info.leverage, 1);
            cr_expect_geq(o->info.margin, 0.0);
            for (size_t k = 0; k < o->n_positions; k++) {
                const position *p = &o->positions[k];
                cr_expect_str_not_empty(p->id);
                cr_expect_str_not_empty(p->symbol);
                cr_expect_gt(p->volume, 0.0);
                cr_expect_gt(p->open_price, 0.0);
                cr_expect_gt(p->open_time_ms, 0);
                cr_expect_leq(p->open_time_ms, clock_now_ms() + CLOCK_SLACK_MS);
            }
        }
    }
}

Test(broker_poller, wrong_token_is_401_and_never_echoed)
{
    broker_poller *bad = make_poller(sim.url, WRONG_TOKEN, TIMEOUT_MS);
    cycle(bad);
    expect_all_errors("401");
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        cr_expect_eq(out[i].http_status, 401);
        cr_expect_null(strstr(out[i].error, WRONG_TOKEN), "token leaked: %s", out[i].error);
        cr_expect_null(strstr(out[i].error, sim.token), "token leaked: %s", out[i].error);
    }
    broker_poller_free(bad);
}

Test(broker_poller, server_errors_are_http_500)
{
    faults("{\"error_rate\":1}");
    cycle(poller);
    expect_all_errors("HTTP 500");
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        cr_expect_eq(out[i].http_status, 500);
}

Test(broker_poller, rate_limit_is_honoured_until_retry_after)
{
    char json[96];
    snprintf(json, sizeof json, "{\"rate_limit_rate\":1,\"retry_after\":%d}", RETRY_AFTER_S);
    faults(json);
    int64_t before = clock_now_ms();
    cycle(poller);
    int64_t after = clock_now_ms();
    expect_all_errors("429");
    int64_t retry_at[N_ACCOUNTS];
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        retry_at[i] = out[i].retry_at_ms;
        cr_expect_eq(out[i].http_status, 429);
        cr_expect_geq(retry_at[i], before + RETRY_AFTER_S * 1000 - CLOCK_SLACK_MS,
                      "%s: retry_at %lld too early", IDS[i], (long long)retry_at[i]);
        cr_expect_leq(retry_at[i], after + RETRY_AFTER_S * 1000 + CLOCK_SLACK_MS,
                      "%s: retry_at %lld too late", IDS[i], (long long)retry_at[i]);
    }
    /* The broker is healthy again, but we promised to wait. */
    faults("{\"rate_limit_rate\":0}");
    cycle(poller);
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        cr_expect_eq(out[i].skipped, 1, "%s: fetched during the wait", IDS[i]);
        cr_expect_eq(out[i].ok, 0);
        cr_expect_eq(out[i].retry_at_ms, retry_at[i]);
        cr_expect(strstr(out[i].error, "rate limited by the broker; next try in ") != NULL,
                  "%s: %s", IDS[i], out[i].error);
    }
}

Test(broker_poller, malformed_bodies_are_json_errors)
{
    faults("{\"malformed_rate\":1}");
    cycle(poller);
    expect_all_errors("JSON");
}

Test(broker_poller, oversized_bodies_are_refused)
{
    faults("{\"oversized_rate\":1}");
    cycle(poller);
    expect_all_errors("reply too large");
}

Test(broker_poller, wrong_types_are_named_errors)
{
    faults("{\"wrong_types_rate\":1}");
    cycle(poller);
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        cr_expect_eq(out[i].ok, 0, "%s: wrong types accepted", IDS[i]);
        cr_expect(strstr(out[i].error, "expected") != NULL ||
                      strstr(out[i].error, "missing") != NULL,
                  "%s: vague error \"%s\"", IDS[i], out[i].error);
    }
}

Test(broker_poller, dropped_connections_are_errors)
{
    faults("{\"drop_rate\":1}");
    cycle(poller);
    expect_all_errors("connection");
}

Test(broker_poller, hostile_text_is_accepted_verbatim)
{
    faults("{\"hostile_text\":true}");
    cycle(poller);
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        cr_expect_eq(out[i].ok, 1, "%s: %s", IDS[i], out[i].error);
}

Test(broker_poller, slow_broker_times_out_on_every_account)
{
    char json[64];
    snprintf(json, sizeof json, "{\"latency_ms\":%d}", SLOW_REPLY_MS);
    faults(json);
    broker_poller *impatient = make_poller(sim.url, sim.token, SHORT_TIMEOUT_MS);
    cycle(impatient);
    char want[64];
    snprintf(want, sizeof want, "timeout after %d ms", SHORT_TIMEOUT_MS);
    expect_all_errors(want);
    broker_poller_free(impatient);
}

Test(broker_poller, close_position_then_it_is_gone)
{
    cycle(poller);
    size_t acct = N_ACCOUNTS;
    for (size_t i = 0; i < N_ACCOUNTS && acct == N_ACCOUNTS; i++)
        if (out[i].ok && out[i].n_positions > 0)
            acct = i;
    cr_assert_neq(acct, N_ACCOUNTS, "no demo account has an open position to close");
    char ticket[sizeof out[acct].positions[0].id];
    memcpy(ticket, out[acct].positions[0].id, sizeof ticket);

    trade_result r;
    long status = 0;
    char err[256] = "";
    cr_assert_eq(broker_close_position(poller, IDS[acct], ticket, &r, &status, err, sizeof err), 0,
                 "close %s/%s: %s", IDS[acct], ticket, err);
    cr_expect(broker_trade_done(&r), "close returned %s (%lld): %s", r.string_code,
              (long long)r.numeric_code, r.message);
    cr_expect_eq(status, 200);

    cycle(poller);
    cr_assert_eq(out[acct].ok, 1, "%s", out[acct].error);
    for (size_t k = 0; k < out[acct].n_positions; k++)
        cr_expect_str_neq(out[acct].positions[k].id, ticket, "closed ticket %s still open", ticket);
}

Test(broker_poller, closing_an_unknown_ticket_is_not_done)
{
    trade_result r;
    memset(&r, 0, sizeof r);
    long status = 0;
    char err[256] = "";
    int rc = broker_close_position(poller, IDS[0], "999999999", &r, &status, err, sizeof err);
    cr_expect(rc != 0 || !broker_trade_done(&r), "an unknown ticket was closed");
    cr_expect(rc == 0 || err[0] != '\0', "failure without a message");
    cr_expect_neq(status, 0, "no HTTP status recorded");
}

/* ---- without a simulator ---- */

Test(broker_poller_nosim, closed_port_is_connection_refused)
{
    /* A socket bound but not listening holds the port and refuses connects. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(sa.sin_port));

    broker_poller *p = make_poller(url, "token", TIMEOUT_MS);
    cycle(p);
    expect_all_errors("connection refused");
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        cr_expect(strstr(out[i].error, "account-information: connection refused") != NULL);
        cr_expect(strstr(out[i].error, "positions: connection refused") != NULL);
        poll_outcome_clear(&out[i]);
    }
    trade_result r;
    long status = -1;
    char err[256] = "";
    cr_expect_eq(broker_close_position(p, "demo-1", "1", &r, &status, err, sizeof err), -1);
    cr_expect_str_eq(err, "trade: connection refused");
    cr_expect_eq(status, 0);
    broker_poller_free(p);
    close(fd);
}

Test(broker_poller_nosim, bad_configuration_is_refused)
{
    static const struct {
        broker_poller_config cfg;
        const char *want;
    } cases[] = {
        {{"ftp://x", "t", 1000, 1000, 0}, "must start with http:// or https://"},
        {{"file:///etc/passwd", "t", 1000, 1000, 0}, "must start with http://"},
        {{"http://127.0.0.1:1", "", 1000, 1000, 0}, "token must be non-empty"},
        {{"http://127.0.0.1:1", "t\r\nX-Evil: 1", 1000, 1000, 0}, "line break"},
        {{"http://127.0.0.1:1", "t", 0, 1000, 0}, "timeouts must be > 0"},
        {{"http://127.0.0.1:1", "t", 1000, 1000, -1}, "backoff >= 0"},
        {{NULL, "t", 1000, 1000, 0}, "base_url and token are required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        broker_poller *p = broker_poller_new(&cases[i].cfg, err, sizeof err);
        cr_expect_null(p, "case %zu accepted", i);
        broker_poller_free(p);
        cr_expect(strstr(err, cases[i].want) != NULL, "\"%s\" lacks \"%s\"", err, cases[i].want);
    }
    cr_expect_null(broker_poller_new(NULL, NULL, 0));
}

Test(broker_poller_nosim, empty_ids_and_empty_cycle)
{
    broker_poller *p = make_poller("http://127.0.0.1:9/", "t", TIMEOUT_MS);
    char err[64] = "";
    cr_expect_eq(broker_poller_cycle(p, NULL, 0, NULL, err, sizeof err), 0);
    const char *const ids[] = {""};
    poll_outcome o;
    cr_expect_eq(broker_poller_cycle(p, ids, 1, &o, err, sizeof err), 0);
    cr_expect_eq(o.ok, 0);
    cr_expect_str_eq(o.error, "account id is empty");
    poll_outcome_clear(&o);
    broker_poller_free(p);
}
