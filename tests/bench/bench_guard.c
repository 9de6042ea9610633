/*
 * bench_guard.c - `make bench`: how long from the moment an account's equity
 * crosses its guard's floor at the simulator to the alert in the engine's
 * model (what a console shows), p50 and p99.
 *
 * A whole engine runs (poller, guard, watcher, default intervals) on a
 * database of its own with BENCH_GUARD_N accounts of the bench simulator,
 * each guarded in alert-only mode (20% trailing intraday, no countdown).
 * The accounts are sent into a 1-second slide to 30% below their peak, a
 * few at a time; the crossing time is computed from the slide's linear
 * path (the simulator reports its start and target), and the alert time is
 * when a snapshot carrying the account's guard.breach alert is published.
 * Beside it, the reference: the broker poll interval and the guard
 * interval, the two waits the path cannot avoid.
 *
 * Environment: BENCH_PG, BENCH_SIM_URL, BENCH_SIM_TOKEN, BENCH_ACCOUNTS.
 */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench.h"
#include "clock.h"
#include "config.h"
#include "engine.h"
#include "migrate.h"
#include "model.h"
#include "pg.h"

#define BENCH_GUARD_N 40
#define FIRST_ACCOUNT 901   /* away from the accounts the other parts use */
#define SLIDE_DEPTH 0.30
#define SLIDE_S 1
#define FLOOR_FRACTION 0.80 /* the default rule: 20% below the peak */
#define STAGGER_MS 150
#define DEADLINE_MS 60000

typedef struct sample {
    char account[32];
    double cross_ms; /* wall ms when the slide crossed the floor */
    double seen_ms;  /* wall ms when the alert reached the model, 0 before */
} sample;

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t sink(char *d, size_t s, size_t n, void *u)
{
    buf *b = u;
    char *p = realloc(b->p, b->n + s * n + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, d, s * n);
    b->n += s * n;
    p[b->n] = '\0';
    b->p = p;
    return s * n;
}

/* POSTs json to the simulator; the reply's JSON or NULL. */
static cJSON *sim_post(const char *url, const char *token, const char *path, const char *json)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    char full[512], auth[300];
    snprintf(full, sizeof full, "%s%s", url, path);
    snprintf(auth, sizeof auth, "auth-token: %s", token);
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    buf b = {0};
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    cJSON *j = status == 200 && b.p ? cJSON_Parse(b.p) : NULL;
    if (status != 200)
        fprintf(stderr, "bench_guard: %s: HTTP %ld %s\n", path, status, b.p ? b.p : "");
    free(b.p);
    return j;
}

static int exec_ok(PGconn *c, const char *sql)
{
    char err[300];
    if (pg_exec_ok(c, sql, err, sizeof err) != 0) {
        fprintf(stderr, "bench_guard: %s\n", err);
        return -1;
    }
    return 0;
}

/* A fresh database bench_guard beside BENCH_PG's, migrated, with the
 * accounts; its conninfo in out. */
static int make_db(const char *base, char *out, size_t outlen)
{
    char err[300];
    PGconn *c = pg_connect(base, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench_guard: %s\n", err);
        return -1;
    }
    int rc = exec_ok(c, "drop database if exists bench_guard") == 0 &&
                     exec_ok(c, "create database bench_guard") == 0
                 ? 0
                 : -1;
    PQfinish(c);
    if (rc != 0)
        return -1;
    snprintf(out, outlen, "%s dbname=bench_guard", base);
    c = pg_connect(out, err, sizeof err);
    int applied = 0;
    if (!c || migrate_up(c, &applied, err, sizeof err) != 0) {
        fprintf(stderr, "bench_guard: %s\n", err);
        if (c)
            PQfinish(c);
        return -1;
    }
    char sql[400];
    snprintf(sql, sizeof sql,
             "insert into accounts (id, name, created_by) select 'demo-' || i, 'Bench ' || i,"
             " 'bench' from generate_series(%d, %d) i;"
             " insert into guard_rules (account_id, countdown_s, updated_by)"
             " select id, null, 'bench' from accounts",
             FIRST_ACCOUNT, FIRST_ACCOUNT + BENCH_GUARD_N - 1);
    rc = exec_ok(c, sql);
    PQfinish(c);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Marks the samples whose breach alert the snapshot carries. */
static void look(model *m, sample *s, size_t n)
{
    model_snapshot *snap = model_acquire(m);
    if (!snap)
        return;
    double now = (double)clock_now_ms();
    if (snap->alerts)
        for (size_t i = 0; i < snap->alerts->n_rows; i++) {
            const alert_row *a = &snap->alerts->rows[i];
            if (a->state == ALERT_RESOLVED || strcmp(a->kind, "guard.breach") != 0)
                continue;
            for (size_t k = 0; k < n; k++)
                if (s[k].cross_ms > 0 && !s[k].seen_ms && strcmp(s[k].account, a->account) == 0)
                    s[k].seen_ms = now;
        }
    model_release(snap);
}

/* Sends account into its slide; its crossing time from the reply. */
static int slide(const char *url, const char *token, sample *s)
{
    char body[160];
    snprintf(body, sizeof body, "{\"account\":\"%s\",\"depth\":%.2f,\"seconds\":%d}", s->account,
             SLIDE_DEPTH, SLIDE_S);
    double t0 = (double)clock_now_ms();
    cJSON *j = sim_post(url, token, "/_sim/drawdown", body);
    if (!j)
        return -1;
    double peak = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "peak"));
    double start = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "start_equity"));
    double target = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "target"));
    cJSON_Delete(j);
    double floor = FLOOR_FRACTION * peak;
    double f = start > target ? (start - floor) / (start - target) : 0;
    if (!isfinite(f) || f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    s->cross_ms = t0 + f * SLIDE_S * 1000.0;
    return 0;
}

int bench_guard(void)
{
    const char *pg = getenv("BENCH_PG"), *url = getenv("BENCH_SIM_URL"),
               *token = getenv("BENCH_SIM_TOKEN");
    const char *acc = getenv("BENCH_ACCOUNTS");
    if (!pg || !url || !token || !acc || atoi(acc) < FIRST_ACCOUNT + BENCH_GUARD_N - 1) {
        fprintf(stderr, "bench_guard: BENCH_PG, BENCH_SIM_URL, BENCH_SIM_TOKEN and"
                        " BENCH_ACCOUNTS >= %d are needed\n",
                FIRST_ACCOUNT + BENCH_GUARD_N - 1);
        return -1;
    }
    config cfg;
    config_defaults(&cfg);
    if (make_db(pg, cfg.pg_url, sizeof cfg.pg_url) != 0)
        return -1;
    snprintf(cfg.broker_url, sizeof cfg.broker_url, "%s", url);
    snprintf(cfg.broker_token, sizeof cfg.broker_token, "%s", token);
    cfg.redis_url[0] = '\0';
    char err[400];
    model *m = model_new();
    engine *e = m ? engine_new(&cfg, NULL, m, err, sizeof err) : NULL;
    if (!e || engine_start(e, err, sizeof err) != 0) {
        fprintf(stderr, "bench_guard: %s\n", e || m ? err : "out of memory");
        engine_free(e);
        model_free(m);
        return -1;
    }
    /* Let every guard see data first (a few polls). */
    int64_t settle_until = clock_mono_ms() + 4 * cfg.poll_interval_ms + 2000;
    while (clock_mono_ms() < settle_until)
        poll(NULL, 0, 100);

    sample s[BENCH_GUARD_N] = {0};
    for (size_t i = 0; i < BENCH_GUARD_N; i++)
        snprintf(s[i].account, sizeof s[i].account, "demo-%zu", FIRST_ACCOUNT + i);
    int rc = 0;
    size_t next = 0;
    int64_t next_at = clock_mono_ms(), deadline = clock_mono_ms() + DEADLINE_MS;
    size_t seen = 0;
    while (seen < BENCH_GUARD_N && clock_mono_ms() < deadline) {
        if (next < BENCH_GUARD_N && clock_mono_ms() >= next_at) {
            if (slide(url, token, &s[next]) != 0) {
                rc = -1;
                break;
            }
            next++;
            next_at += STAGGER_MS;
        }
        struct pollfd p = {.fd = model_wake_fd(m), .events = POLLIN};
        poll(&p, 1, 20);
        model_drain_wake(m);
        look(m, s, next);
        seen = 0;
        for (size_t i = 0; i < next; i++)
            seen += s[i].seen_ms > 0;
    }
    engine_free(e);
    model_free(m);
    double lat[BENCH_GUARD_N];
    size_t n = 0;
    for (size_t i = 0; i < BENCH_GUARD_N; i++)
        if (s[i].seen_ms > 0)
            lat[n++] = s[i].seen_ms - s[i].cross_ms;
    if (n < BENCH_GUARD_N) {
        fprintf(stderr, "bench_guard: only %zu of %d alerts arrived\n", n, BENCH_GUARD_N);
        rc = -1;
    }
    if (n) {
        qsort(lat, n, sizeof *lat, cmp_double);
        double p50 = lat[(n - 1) / 2], p99 = lat[(size_t)ceil(0.99 * (double)n) - 1];
        printf("guard: equity crossing the floor at the simulator -> alert in the model, %zu "
               "accounts: p50 %.0f ms, p99 %.0f ms\n",
               n, p50, p99);
        printf("       reference: broker poll every %d ms + guard pass every %d ms (the waits "
               "the path cannot avoid: up to %d ms, %d ms on average)\n",
               cfg.poll_interval_ms, cfg.guard_interval_ms,
               cfg.poll_interval_ms + cfg.guard_interval_ms,
               (cfg.poll_interval_ms + cfg.guard_interval_ms) / 2);
    }
    return rc;
}
