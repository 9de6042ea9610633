/*
 * bench_close.c - closing 200 positions at once, as the drawdown guard does
 * when a countdown ends, beside a reference measured in the same run:
 *   tradeops:  broker_close_all, every close in flight at once
 *   reference: broker_close_position, the same closes one after another
 * Wall time for the 200, median of CLOSE_RUNS runs each, then again with
 * CLOSE_LATENCY_MS of simulated broker latency per request (a real bridge
 * is that slow or slower); every run opens fresh positions first
 * (POST /_sim/open, not timed).
 *
 * The simulator holds at most SIM_MARKET_MAX_POSITIONS positions per
 * account. When that is fewer than 200 the positions are spread over as
 * many accounts as it takes and each account's batch runs in a thread of
 * its own (one closer each, started together), which is still every close
 * in flight at once; the header line says how they were spread.
 *
 * The simulator is paused for the bench (no tick opens or closes anything
 * in between) and resumed at the end. Environment (tests/bench/run.sh):
 * BENCH_SIM_URL, BENCH_SIM_TOKEN, BENCH_ACCOUNTS.
 *
 * Threads: the main thread, and during a timed run one thread per account
 * batch, each owning its closer.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "broker.h"
#include "broker_close.h"
#include "clock.h"
#include "sim/sim_market.h" /* SIM_MARKET_MAX_POSITIONS */

#define CLOSE_POSITIONS 200
#define CLOSE_RUNS 5
#define CLOSE_LATENCY_MS 20 /* the second set of runs: a bridge this slow per request */
#define CLOSE_LATENCY_RUNS 3
#define CLOSE_ATTEMPTS 3
#define CLOSE_TIMEOUT_MS 30000
#define CLOSE_CONNECT_TIMEOUT_MS 5000
#define CLOSE_MAX_BATCHES CLOSE_POSITIONS
#define HTTP_REPLY_MAX (1u << 20)

typedef struct reply_buf {
    char *p;
    size_t n;
} reply_buf;

static size_t collect(char *d, size_t s, size_t nm, void *u)
{
    reply_buf *b = u;
    size_t n = s * nm;
    if (b->n + n > HTTP_REPLY_MAX)
        return 0;
    char *np = realloc(b->p, b->n + n + 1);
    if (!np)
        return 0;
    memcpy(np + b->n, d, n);
    b->n += n;
    np[b->n] = '\0';
    b->p = np;
    return n;
}

/* POSTs json to the simulator's path; the reply's JSON (or NULL), *status. */
static cJSON *sim_post(const char *url, const char *token, const char *path, const char *json,
                       long *status)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    char u[512], auth[300];
    snprintf(u, sizeof u, "%s%s", url, path);
    snprintf(auth, sizeof auth, "auth-token: %s", token);
    struct curl_slist *hdr = curl_slist_append(NULL, auth);
    struct curl_slist *h2 = hdr ? curl_slist_append(hdr, "Content-Type: application/json") : NULL;
    reply_buf b = {0};
    cJSON *j = NULL;
    *status = 0;
    if (h2) {
        curl_easy_setopt(h, CURLOPT_URL, u);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, h2);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json ? json : "");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CLOSE_TIMEOUT_MS);
        if (curl_easy_perform(h) == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
            j = b.p ? cJSON_Parse(b.p) : NULL;
        }
    }
    free(b.p);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return j;
}

/* The start line every batch thread waits at, so all go out together. */
typedef struct start_line {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool go, cancel;
} start_line;

/* One account's share of the 200. */
typedef struct batch {
    char account[32];
    size_t n;
    close_item *items;
    /* a timed run */
    const broker_poller_config *cfg;
    start_line *start;
    int rc;
    double end_us;
    char err[256];
} batch;

/* Opens b->n positions on b->account into b->items. 0 or -1. */
static int open_batch(const char *url, const char *token, batch *b)
{
    char body[96];
    snprintf(body, sizeof body, "{\"account\":\"%s\",\"count\":%zu}", b->account, b->n);
    long status = 0;
    cJSON *r = sim_post(url, token, "/_sim/open", body, &status);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(r, "opened");
    int rc = status == 200 && cJSON_GetArraySize(list) == (int)b->n ? 0 : -1;
    size_t i = 0;
    for (const cJSON *t = list ? list->child : NULL; rc == 0 && t; t = t->next, i++) {
        memset(&b->items[i], 0, sizeof b->items[i]);
        if (!cJSON_IsString(t) || strlen(t->valuestring) >= sizeof b->items[i].position)
            rc = -1;
        else
            snprintf(b->items[i].position, sizeof b->items[i].position, "%s", t->valuestring);
    }
    if (rc != 0)
        fprintf(stderr, "bench_close: /_sim/open %s: HTTP %ld\n", body, status);
    cJSON_Delete(r);
    return rc;
}

static void *batch_run(void *arg)
{
    batch *b = arg;
    broker_closer *c = broker_closer_new(b->cfg, b->err, sizeof b->err);
    pthread_mutex_lock(&b->start->mu);
    while (!b->start->go && !b->start->cancel)
        pthread_cond_wait(&b->start->cv, &b->start->mu);
    bool cancel = b->start->cancel;
    pthread_mutex_unlock(&b->start->mu);
    b->rc = -1;
    if (c && !cancel)
        b->rc = broker_close_all(c, b->account, b->items, b->n, CLOSE_ATTEMPTS, NULL, b->err,
                                 sizeof b->err);
    b->end_us = clock_mono_us();
    broker_closer_free(c);
    return NULL;
}

/* Every batch at once; wall ms from the common start to the last reply,
 * *done the DONE count. -1 on a failure. */
static double run_parallel(batch *bs, size_t nb, const broker_poller_config *cfg, size_t *done)
{
    start_line sl = {.go = false, .cancel = false};
    pthread_mutex_init(&sl.mu, NULL);
    pthread_cond_init(&sl.cv, NULL);
    pthread_t th[CLOSE_MAX_BATCHES];
    size_t started = 0;
    for (; started < nb; started++) {
        bs[started].cfg = cfg;
        bs[started].start = &sl;
        if (pthread_create(&th[started], NULL, batch_run, &bs[started]) != 0)
            break;
    }
    pthread_mutex_lock(&sl.mu);
    sl.go = started == nb;
    sl.cancel = !sl.go;
    double t0 = clock_mono_us(), end = t0;
    pthread_cond_broadcast(&sl.cv);
    pthread_mutex_unlock(&sl.mu);
    *done = 0;
    int rc = started == nb ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "bench_close: cannot start %zu threads\n", nb);
    for (size_t i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        if (bs[i].rc != 0 && rc == 0) {
            fprintf(stderr, "bench_close: %s: %s\n", bs[i].account, bs[i].err);
            rc = -1;
        }
        if (bs[i].end_us > end)
            end = bs[i].end_us;
        for (size_t k = 0; k < bs[i].n; k++)
            *done += bs[i].items[k].outcome == CLOSE_DONE;
    }
    pthread_cond_destroy(&sl.cv);
    pthread_mutex_destroy(&sl.mu);
    return rc == 0 ? (end - t0) / 1000.0 : -1;
}

/* Reference: the same closes one at a time with broker_close_position. */
static double run_serial(broker_poller *p, batch *bs, size_t nb, size_t *done)
{
    *done = 0;
    double t0 = clock_mono_us();
    for (size_t i = 0; i < nb; i++)
        for (size_t k = 0; k < bs[i].n; k++) {
            trade_result r;
            long status = 0;
            char err[256];
            if (broker_close_position(p, bs[i].account, bs[i].items[k].position, &r, &status, err,
                                      sizeof err) == 0 &&
                broker_trade_done(&r))
                (*done)++;
        }
    return (clock_mono_us() - t0) / 1000.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Splits CLOSE_POSITIONS over accounts from the last one down, each filled
 * to what it can hold. Returns how many batches, 0 on failure. */
static size_t plan(broker_closer *c, size_t accounts, batch *bs)
{
    size_t nb = 0, left = CLOSE_POSITIONS;
    for (size_t a = accounts; a >= 1 && left > 0 && nb < CLOSE_MAX_BATCHES; a--) {
        batch *b = &bs[nb];
        memset(b, 0, sizeof *b);
        snprintf(b->account, sizeof b->account, "demo-%zu", a);
        char(*ids)[40] = NULL;
        size_t have = 0;
        char err[256];
        if (broker_closer_positions(c, b->account, &ids, &have, err, sizeof err) != 0) {
            fprintf(stderr, "bench_close: positions of %s: %s\n", b->account, err);
            return 0;
        }
        free(ids);
        size_t room = have < SIM_MARKET_MAX_POSITIONS ? SIM_MARKET_MAX_POSITIONS - have : 0;
        if (room == 0)
            continue;
        b->n = room < left ? room : left;
        b->items = calloc(b->n, sizeof *b->items);
        if (!b->items)
            return 0;
        left -= b->n;
        nb++;
    }
    return left == 0 ? nb : 0;
}

/* Timed runs of both ways at the simulator's current latency; prints the
 * two rows under title. 0, or -1 when a run could not be set up or a
 * parallel close was not DONE. */
static int measure(const char *url, const char *token, const broker_poller_config *cfg,
                   broker_poller *serial, batch *bs, size_t nb, int runs, const char *title)
{
    double par[CLOSE_RUNS], ser[CLOSE_RUNS];
    size_t par_done = 0, ser_done = 0;
    for (int r = 0; r < runs; r++) {
        size_t d = 0;
        for (size_t i = 0; i < nb; i++)
            if (open_batch(url, token, &bs[i]) != 0)
                return -1;
        par[r] = run_parallel(bs, nb, cfg, &d);
        if (par[r] < 0)
            return -1;
        par_done += d;
        for (size_t i = 0; i < nb; i++)
            if (open_batch(url, token, &bs[i]) != 0)
                return -1;
        ser[r] = run_serial(serial, bs, nb, &d);
        ser_done += d;
    }
    qsort(par, (size_t)runs, sizeof par[0], cmp_double);
    qsort(ser, (size_t)runs, sizeof ser[0], cmp_double);
    double pm = par[runs / 2], sm = ser[runs / 2];
    int total = CLOSE_POSITIONS * runs;
    printf("%s, median of %d runs:\n", title, runs);
    printf("  %-44s %10.1f ms (best %.1f)  %8.0f closes/s  %zu/%d done\n",
           "tradeops broker_close_all (all in flight)", pm, par[0], CLOSE_POSITIONS / (pm / 1000.0),
           par_done, total);
    printf("  %-44s %10.1f ms (best %.1f)  %8.0f closes/s  %zu/%d done\n",
           "reference: broker_close_position one by one", sm, ser[0],
           CLOSE_POSITIONS / (sm / 1000.0), ser_done, total);
    if (par_done != (size_t)total) {
        fprintf(stderr, "bench_close: %zu of %d closes were not DONE\n", (size_t)total - par_done,
                total);
        return -1;
    }
    return 0;
}

static int set_latency(const char *url, const char *token, long ms)
{
    char json[64];
    snprintf(json, sizeof json, "{\"latency_ms\":%ld}", ms);
    long status = 0;
    cJSON_Delete(sim_post(url, token, "/_sim/faults", json, &status));
    return status == 200 ? 0 : -1;
}

int bench_close(void)
{
    const char *url = getenv("BENCH_SIM_URL"), *token = getenv("BENCH_SIM_TOKEN");
    size_t accounts = getenv("BENCH_ACCOUNTS") ? strtoul(getenv("BENCH_ACCOUNTS"), NULL, 10) : 0;
    if (!url || !token || accounts == 0) {
        fprintf(stderr,
                "bench_close: BENCH_SIM_URL, BENCH_SIM_TOKEN and BENCH_ACCOUNTS are needed\n");
        return -1;
    }
    broker_poller_config cfg = {url, token, CLOSE_TIMEOUT_MS, CLOSE_CONNECT_TIMEOUT_MS, 1000};
    char err[256];
    broker_closer *lister = broker_closer_new(&cfg, err, sizeof err);
    broker_poller *serial = lister ? broker_poller_new(&cfg, err, sizeof err) : NULL;
    batch *bs = calloc(CLOSE_MAX_BATCHES, sizeof *bs);
    long status = 0;
    cJSON_Delete(sim_post(url, token, "/_sim/pause", NULL, &status));
    int rc = -1;
    size_t nb = 0;
    if (!lister || !serial || !bs || status != 200) {
        fprintf(stderr, "bench_close: setup failed: %s\n",
                !lister || !serial ? err
                : status != 200    ? "cannot pause the simulator"
                                   : "oom");
        goto out;
    }
    nb = plan(lister, accounts, bs);
    if (nb == 0) {
        fprintf(stderr, "bench_close: the simulator has no room for %d positions\n",
                CLOSE_POSITIONS);
        goto out;
    }
    char title[256];
    snprintf(title, sizeof title,
             "close %d positions at once (%zu account%s; the simulator holds at most %d per "
             "account)",
             CLOSE_POSITIONS, nb, nb == 1 ? "" : "s, one closer thread each",
             SIM_MARKET_MAX_POSITIONS);
    rc = measure(url, token, &cfg, serial, bs, nb, CLOSE_RUNS, title);
    /* A real bridge takes tens of milliseconds per close, not loopback's
     * fraction of one; that is where all-in-flight pays. */
    if (rc == 0 && set_latency(url, token, CLOSE_LATENCY_MS) == 0) {
        snprintf(title, sizeof title, "the same with %d ms broker latency per request",
                 CLOSE_LATENCY_MS);
        rc = measure(url, token, &cfg, serial, bs, nb, CLOSE_LATENCY_RUNS, title);
        if (set_latency(url, token, 0) != 0)
            rc = -1;
    } else if (rc == 0) {
        fprintf(stderr, "bench_close: cannot set the simulator's latency\n");
        rc = -1;
    }
out:
    cJSON_Delete(sim_post(url, token, "/_sim/resume", NULL, &status));
    for (size_t i = 0; bs && i < nb; i++)
        free(bs[i].items);
    free(bs);
    broker_poller_free(serial);
    broker_closer_free(lister);
    return rc;
}
