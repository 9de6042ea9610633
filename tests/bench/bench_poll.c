/*
 * bench_poll.c - one poll cycle over many accounts, and the cycle's write to
 * PostgreSQL, each beside a reference measured in the same run:
 *   poll:  tradeops' curl-multi cycle  vs  the same requests one at a time
 *   store: one-transaction JSON cycle  vs  one upsert statement per account
 * Environment (set by tests/bench/run.sh): BENCH_SIM_URL, BENCH_SIM_TOKEN,
 * BENCH_ACCOUNTS, BENCH_PG (a fresh migrated database).
 */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "bench.h"
#include "broker.h"
#include "clock.h"
#include "model.h"
#include "pg.h"
#include "store.h"

#define POLL_ROUNDS 5

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* Reference: the same 2 requests per account, sequentially, one easy handle. */
static double serial_reference_ms(const char *url, const char *token, char **ids, size_t n)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char auth[300];
    snprintf(auth, sizeof auth, "auth-token: %s", token);
    hdr = curl_slist_append(hdr, auth);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    double t0 = clock_mono_us();
    for (size_t i = 0; i < n; i++) {
        char u[512];
        snprintf(u, sizeof u, "%s/users/current/accounts/%s/account-information", url, ids[i]);
        curl_easy_setopt(h, CURLOPT_URL, u);
        curl_easy_perform(h);
        snprintf(u, sizeof u, "%s/users/current/accounts/%s/positions", url, ids[i]);
        curl_easy_setopt(h, CURLOPT_URL, u);
        curl_easy_perform(h);
    }
    double ms = (clock_mono_us() - t0) / 1000.0;
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return ms;
}

int bench_poll(void)
{
    const char *url = getenv("BENCH_SIM_URL"), *token = getenv("BENCH_SIM_TOKEN");
    const char *pg = getenv("BENCH_PG");
    size_t n = getenv("BENCH_ACCOUNTS") ? strtoul(getenv("BENCH_ACCOUNTS"), NULL, 10) : 1000;
    if (!url || !token || !pg) {
        fprintf(stderr, "bench_poll: BENCH_SIM_URL, BENCH_SIM_TOKEN and BENCH_PG are needed\n");
        return -1;
    }
    char **ids = calloc(n, sizeof *ids);
    account_view *acc = calloc(n, sizeof *acc);
    poll_outcome *out = calloc(n, sizeof *out);
    bool *fetched = calloc(n, sizeof *fetched);
    if (!ids || !acc || !out || !fetched)
        return -1;
    for (size_t i = 0; i < n; i++) {
        ids[i] = malloc(32);
        snprintf(ids[i], 32, "demo-%zu", i + 1);
    }
    char err[512];
    broker_poller_config bc = {url, token, 30000, 5000, 1000};
    broker_poller *p = broker_poller_new(&bc, err, sizeof err);
    if (!p) {
        fprintf(stderr, "bench_poll: %s\n", err);
        return -1;
    }
    /* Warm-up cycle opens the connections, as a running engine has them. */
    broker_poller_cycle(p, (const char *const *)ids, n, out, err, sizeof err);
    for (size_t i = 0; i < n; i++)
        poll_outcome_clear(&out[i]);
    double best = 1e18, total = 0;
    size_t ok = 0;
    for (int r = 0; r < POLL_ROUNDS; r++) {
        double t0 = clock_mono_us();
        broker_poller_cycle(p, (const char *const *)ids, n, out, err, sizeof err);
        double ms = (clock_mono_us() - t0) / 1000.0;
        total += ms;
        if (ms < best)
            best = ms;
        for (size_t i = 0; i < n; i++) {
            ok += out[i].ok;
            if (r < POLL_ROUNDS - 1)
                poll_outcome_clear(&out[i]);
        }
    }
    double serial = serial_reference_ms(url, token, ids, n);
    printf("poll cycle, %zu accounts (2 requests each), %d rounds:\n", n, POLL_ROUNDS);
    printf("  %-44s %10.1f ms/cycle (best %.1f)  %8.0f accounts/s  %zu/%zu ok\n",
           "tradeops (curl multi, all in flight)", total / POLL_ROUNDS, best,
           (double)n / (total / POLL_ROUNDS / 1000.0), ok, n * POLL_ROUNDS);
    printf("  %-44s %10.1f ms/cycle             %8.0f accounts/s\n",
           "reference: same requests one at a time", serial, (double)n / (serial / 1000.0));

    /* The store: accounts rows first. */
    PGconn *c = pg_connect(pg, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench_poll: %s\n", err);
        return -1;
    }
    operator_id op;
    memset(&op, 0, sizeof op);
    snprintf(op.actor, sizeof op.actor, "bench");
    snprintf(op.source, sizeof op.source, "local");
    op.role = ROLE_ADMIN;
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) {
        bool existed;
        store_account_add(c, &op, ids[i], ids[i], 20, &existed, err, sizeof err);
        snprintf(acc[i].id, sizeof acc[i].id, "%s", ids[i]);
        if (out[i].ok) {
            acc[i].info = out[i].info;
            acc[i].has_info = true;
            acc[i].positions = out[i].positions;
            acc[i].n_positions = out[i].n_positions;
            out[i].positions = NULL;
            npos += acc[i].n_positions;
        }
        acc[i].updated_ms = clock_now_ms();
        fetched[i] = out[i].ok;
    }
    double t0 = clock_mono_us();
    int rounds = 5;
    for (int r = 0; r < rounds; r++)
        if (store_write_cycle(c, acc, fetched, n, err, sizeof err) != 0)
            fprintf(stderr, "bench_poll: %s\n", err);
    double batch = (clock_mono_us() - t0) / 1000.0 / rounds;
    /* Reference: the naive way, one parameterised upsert per account and per
     * position inside one transaction. */
    t0 = clock_mono_us();
    PQclear(PQexec(c, "begin"));
    for (size_t i = 0; i < n; i++) {
        char eq[32], bal[32];
        snprintf(eq, sizeof eq, "%.17g", acc[i].info.equity);
        snprintf(bal, sizeof bal, "%.17g", acc[i].info.balance);
        const char *pp[3] = {acc[i].id, bal, eq};
        PQclear(PQexecParams(c,
                             "insert into broker_account_state (account_id, balance, equity, "
                             "fetched_at, link) values ($1, $2::float8, $3::float8, now(), 'up')"
                             " on conflict (account_id) do update set balance = excluded.balance,"
                             " equity = excluded.equity, fetched_at = now()",
                             3, NULL, pp, NULL, NULL, 0));
        for (size_t k = 0; k < acc[i].n_positions; k++) {
            char vol[32], prof[32];
            snprintf(vol, sizeof vol, "%.17g", acc[i].positions[k].volume);
            snprintf(prof, sizeof prof, "%.17g", acc[i].positions[k].profit);
            const char *q[5] = {acc[i].id, acc[i].positions[k].id, acc[i].positions[k].symbol, vol,
                                prof};
            PQclear(PQexecParams(c,
                                 "insert into broker_positions (account_id, position_id, symbol,"
                                 " side, volume, profit, fetched_at) values ($1, $2, $3, 'BUY',"
                                 " $4::float8, $5::float8, now()) on conflict (account_id,"
                                 " position_id) do update set profit = excluded.profit,"
                                 " fetched_at = now()",
                                 5, NULL, q, NULL, NULL, 0));
        }
    }
    PQclear(PQexec(c, "commit"));
    double naive = (clock_mono_us() - t0) / 1000.0;
    printf("store one cycle, %zu accounts, %zu positions:\n", n, npos);
    printf("  %-44s %10.1f ms/cycle\n", "tradeops (one transaction, JSON recordsets)", batch);
    printf("  %-44s %10.1f ms/cycle\n", "reference: one upsert statement per row", naive);
    PQfinish(c);

    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
        free(acc[i].positions);
        poll_outcome_clear(&out[i]);
    }
    free(ids);
    free(acc);
    free(out);
    free(fetched);
    broker_poller_free(p);
    return 0;
}
