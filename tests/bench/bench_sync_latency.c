/*
 * bench_sync_latency.c - `make bench`: close-to-synced latency of journal
 * sync, p50 and p99, at LAT_RATE closed trades per second for LAT_SECONDS
 * through the simulator's Tradervue and webhook far ends, beside the
 * promise ([sync] deadline_s).
 *
 * A simulator of its own (journal records of this run only), a database of
 * its own (bench_sync_l) with account demo-1, targets tradervue and webhook,
 * credentials sealed under a key made for the run, and the real worker
 * threads (sync_workers_new, [sync] workers LAT_WORKERS, every other [sync]
 * setting at its default). The main thread inserts one closed trade every
 * 1000 / LAT_RATE ms on an absolute timer (close_time = now(); prices vary
 * so Tradervue's duplicate check merges nothing), waits until every job is
 * completed (bounded: an error when not), then reads percentile_cont of
 * completed_at - closed_at per provider and overall.
 *
 * The latency starts at the closed trade's insert: the trade detector's lag
 * (one [trades] interval_s at most, between the broker closing the position
 * and the row being written) is not included; the printed line says so.
 * Figures only: nothing here asserts on timing.
 *
 * Environment (tests/bench/run.sh): BENCH_PG, BIN_SIM.
 *
 * Threads: the main thread; the sync workers run their own threads.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_sync.h"
#include "clock.h"
#include "config.h"
#include "pg.h"
#include "secret.h"
#include "sync.h"
#include "sync_worker.h"

#define LAT_RATE 100 /* closed trades per second */
#define LAT_SECONDS 20
#define LAT_TRADES (LAT_RATE * LAT_SECONDS)
#define LAT_WORKERS 4
#define LAT_DB "bench_sync_l"
#define LAT_ACCOUNT "demo-1"
#define LAT_WAIT_MS 300000 /* after the last insert, for every job to complete */
#define LAT_STALL_MS 60000 /* ... and no job completing for this long ends the wait */
#define SIM_START_MS 10000
#define SIM_TOKEN "bench-sync-token"
#define REPLY_MAX (16u << 20)

typedef struct sim_proc {
    pid_t pid;
    char url[64];
} sim_proc;

/* Starts BIN_SIM on a loopback port written to dir/sim.port. 0 or -1. */
static int sim_start(sim_proc *s, const char *dir)
{
    const char *bin = getenv("BIN_SIM");
    if (!bin || !bin[0])
        bin = "./tradeops-sim";
    char portfile[300];
    snprintf(portfile, sizeof portfile, "%s/sim.port", dir);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execl(bin, bin, "--listen", "127.0.0.1", "--port", "0", "--port-file", portfile, "--token",
              SIM_TOKEN, "--accounts", "1", "--start-paused", (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    for (int waited = 0; waited < SIM_START_MS; waited += 20) {
        FILE *f = fopen(portfile, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port > 0) {
            unlink(portfile);
            snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", port);
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "bench_sync: the simulator %s exited during start-up\n", bin);
            s->pid = 0;
            return -1;
        }
        poll(NULL, 0, 20);
    }
    fprintf(stderr, "bench_sync: the simulator did not start within %d ms\n", SIM_START_MS);
    return -1;
}

static void sim_stop(sim_proc *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        s->pid = 0;
    }
}

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t sink(char *d, size_t s, size_t n, void *u)
{
    buf *b = u;
    if (b->n + s * n > REPLY_MAX)
        return 0;
    char *p = realloc(b->p, b->n + s * n + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, d, s * n);
    b->n += s * n;
    p[b->n] = '\0';
    b->p = p;
    return s * n;
}

/* GET /_sim/journal: how many executions Tradervue stored and how many
 * distinct trades the webhook received. 0 or -1. */
static int sim_journal_counts(const sim_proc *s, long *tv_execs, long *wh_trades)
{
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    char url[128];
    snprintf(url, sizeof url, "%s/_sim/journal", s->url);
    buf b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    cJSON *j = status == 200 && b.p ? cJSON_Parse(b.p) : NULL;
    free(b.p);
    const cJSON *tv = cJSON_GetObjectItemCaseSensitive(j, "tradervue");
    const cJSON *wh = cJSON_GetObjectItemCaseSensitive(j, "webhook");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(tv, "executions");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(wh, "trades");
    int rc = cJSON_IsNumber(ex) && cJSON_IsArray(tr) ? 0 : -1;
    if (rc == 0) {
        *tv_execs = (long)ex->valuedouble;
        *wh_trades = cJSON_GetArraySize(tr);
    } else {
        fprintf(stderr, "bench_sync: GET /_sim/journal: HTTP %ld, not the expected records\n",
                status);
    }
    cJSON_Delete(j);
    return rc;
}

/* Key, sealed credentials the simulator accepts, the account and its two
 * targets. 0 or -1. */
static int setup_sync(PGconn *c, const config *cfg, const char *sim_url)
{
    char err[300];
    secret_key key;
    if (secret_key_generate(cfg->sync_key_file, err, sizeof err) != 0 ||
        secret_key_load(cfg, &key, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sync: %s\n", err);
        return -1;
    }
    int rc = secret_store(c, &key, SYNC_TRADERVUE, "", "demo:demo-pass", "bench", err,
                          sizeof err) == 0 &&
                     secret_store(c, &key, SYNC_WEBHOOK, "", "demo-webhook-secret", "bench", err,
                                  sizeof err) == 0
                 ? 0
                 : -1;
    secret_key_wipe(&key);
    if (rc != 0) {
        fprintf(stderr, "bench_sync: %s\n", err);
        return -1;
    }
    if (bench_sync_exec(c, "insert into accounts (id, name, created_by) values"
                           " ('" LAT_ACCOUNT "', 'Demo 1', 'bench');"
                           " insert into sync_targets (account_id, provider, settings,"
                           " updated_by) values ('" LAT_ACCOUNT "', 'tradervue',"
                           " '{\"account_tag\":\"" LAT_ACCOUNT "\","
                           "\"multipliers\":{\"*\":100000}}', 'bench')") != 0)
        return -1;
    char settings[200];
    snprintf(settings, sizeof settings, "{\"url\":\"%s/hooks/journal\"}", sim_url);
    const char *p[1] = {settings};
    if (pg_exec_params_ok(c,
                          "insert into sync_targets (account_id, provider, settings, updated_by)"
                          " values ('" LAT_ACCOUNT "', 'webhook', $1::jsonb, 'bench')",
                          1, p, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sync: %s\n", err);
        return -1;
    }
    return 0;
}

/* One closed trade; the enqueue trigger makes its two jobs. */
static int insert_trade(PGconn *c, int i)
{
    char pos[32], open_p[32], close_p[32];
    snprintf(pos, sizeof pos, "lat-%d", i);
    /* A price of its own per trade: no two executions look alike. */
    snprintf(open_p, sizeof open_p, "%.5f", 1.05 + i * 0.00001);
    snprintf(close_p, sizeof close_p, "%.5f", 1.05 + i * 0.00001 + 0.0004);
    const char *p[4] = {pos, i % 2 ? "SELL" : "BUY", open_p, close_p};
    char err[300];
    if (pg_exec_params_ok(c,
                          "insert into closed_trades (account_id, position_id, symbol, side,"
                          " volume, open_time, close_time, open_price, close_price, profit,"
                          " deals) values ('" LAT_ACCOUNT "', $1, 'EURUSD', $2, 0.1,"
                          " now() - interval '5 minutes', now(), $3::float8, $4::float8, 4,"
                          " '[]'::jsonb)",
                          4, p, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sync: insert trade %d: %s\n", i, err);
        return -1;
    }
    return 0;
}

/* LAT_TRADES inserts, one every 1000 / LAT_RATE ms from an absolute
 * timer; *secs gets how long they took. */
static int insert_all(PGconn *c, double *secs)
{
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    double t0 = clock_mono_us();
    for (int i = 0; i < LAT_TRADES; i++) {
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        if (insert_trade(c, i) != 0)
            return -1;
        next.tv_nsec += 1000000000L / LAT_RATE;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
    }
    *secs = (clock_mono_us() - t0) / 1e6;
    return 0;
}

/* Waits until every job is completed, a job ended otherwise, the bound
 * passed or nothing moved for LAT_STALL_MS. 0 when all completed. */
static int wait_done(PGconn *c, long long *left_out)
{
    int64_t until = clock_mono_ms() + LAT_WAIT_MS, moved = clock_mono_ms();
    long long last = -1;
    for (;;) {
        long long left = bench_sync_scalar(c, "select count(*) from sync_jobs"
                                              " where state <> 'completed'");
        long long ended = bench_sync_scalar(c, "select count(*) from sync_jobs"
                                               " where state in ('dead', 'cancelled')");
        *left_out = left;
        if (left == 0)
            return 0;
        if (left < 0 || ended != 0) {
            if (ended > 0)
                fprintf(stderr, "bench_sync: %lld job(s) ended without reaching the journal\n",
                        ended);
            return -1;
        }
        int64_t now = clock_mono_ms();
        if (left != last) {
            last = left;
            moved = now;
        }
        if (now >= until || now - moved >= LAT_STALL_MS) {
            fprintf(stderr, "bench_sync: %lld job(s) still not completed after %s\n", left,
                    now >= until ? "the bound" : "a minute without progress");
            return -1;
        }
        poll(NULL, 0, 250);
    }
}

/* Prints the percentiles of completed jobs: per provider and overall. */
static int report(PGconn *c, double secs, int wait_rc, long long left, const config *cfg)
{
    PGresult *r =
        PQexec(c, "select coalesce(provider, ''), count(*),"
                  " percentile_cont(0.5) within group (order by extract(epoch from completed_at -"
                  " closed_at) * 1000),"
                  " percentile_cont(0.99) within group (order by extract(epoch from completed_at -"
                  " closed_at) * 1000),"
                  " max(extract(epoch from completed_at - closed_at) * 1000)"
                  " from sync_jobs where state = 'completed' group by rollup(provider)"
                  " order by provider nulls first");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
        fprintf(stderr, "bench_sync: percentiles: %s\n", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    char per[400] = "";
    size_t used = 0;
    for (int i = 1; i < PQntuples(r) && used < sizeof per; i++)
        used += (size_t)snprintf(per + used, sizeof per - used, "%s%s p50/p99 %.0f/%.0f ms",
                                 i > 1 ? ", " : "", PQgetvalue(r, i, 0), atof(PQgetvalue(r, i, 2)),
                                 atof(PQgetvalue(r, i, 3)));
    printf("close-to-synced at %d trades/s (%d trades in %.1f s, tradervue+webhook via "
           "tradeops-sim, %d workers): p50 %.0f ms, p99 %.0f ms, max %.0f ms (%s); the promise "
           "is %d ms\n",
           LAT_RATE, LAT_TRADES, secs, LAT_WORKERS, atof(PQgetvalue(r, 0, 2)),
           atof(PQgetvalue(r, 0, 3)), atof(PQgetvalue(r, 0, 4)), per, cfg->sync_deadline_s * 1000);
    printf("            measured from the trade row's insert: the detector's lag (up to [trades] "
           "interval_s = %d s) is not included%s\n",
           cfg->trades_interval_s,
           wait_rc == 0 ? ""
                        : "; NOT ALL JOBS COMPLETED (above: the "
                          "completed ones only)");
    if (wait_rc != 0)
        printf("            %lld of %d jobs not completed at the end of the wait\n", left,
               2 * LAT_TRADES);
    PQclear(r);
    return 0;
}

int bench_sync_latency(void)
{
    const char *base = getenv("BENCH_PG");
    if (!base) {
        fprintf(stderr, "bench_sync: BENCH_PG is needed\n");
        return -1;
    }
    char dir[] = "/tmp/tradeops-bench-sync-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_sync: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    config cfg;
    config_defaults(&cfg);
    snprintf(cfg.instance, sizeof cfg.instance, "bench");
    snprintf(cfg.sync_key_file, sizeof cfg.sync_key_file, "%s/sync.key", dir);
    cfg.sync_workers = LAT_WORKERS;
    cfg.sync_enabled = true;
    sim_proc sim = {0};
    PGconn *c = NULL;
    sync_workers *sw = NULL;
    char err[400];
    int rc = -1;
    if (bench_sync_make_db(base, LAT_DB, cfg.pg_url, sizeof cfg.pg_url) != 0 ||
        sim_start(&sim, dir) != 0)
        goto out;
    snprintf(cfg.sync_tradervue_url, sizeof cfg.sync_tradervue_url, "%s/api/v1", sim.url);
    c = pg_connect(cfg.pg_url, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench_sync: %s\n", err);
        goto out;
    }
    if (setup_sync(c, &cfg, sim.url) != 0)
        goto out;
    sw = sync_workers_new(&cfg, err, sizeof err);
    if (!sw || sync_workers_start(sw, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sync: %s\n", err);
        goto out;
    }
    double secs = 0;
    if (insert_all(c, &secs) != 0)
        goto out;
    long long left = -1;
    int wait_rc = wait_done(c, &left);
    sync_workers_stop(sw);
    if (report(c, secs, wait_rc, left, &cfg) != 0)
        goto out;
    long tv_execs = 0, wh_trades = 0;
    if (sim_journal_counts(&sim, &tv_execs, &wh_trades) != 0)
        goto out;
    if (wait_rc == 0 && (tv_execs != 2L * LAT_TRADES || wh_trades != LAT_TRADES)) {
        fprintf(stderr,
                "bench_sync: the simulator holds %ld Tradervue executions (want %d) and %ld "
                "webhook trades (want %d)\n",
                tv_execs, 2 * LAT_TRADES, wh_trades, LAT_TRADES);
        goto out;
    }
    rc = wait_rc;
out:
    sync_workers_free(sw);
    if (c)
        PQfinish(c);
    sim_stop(&sim);
    unlink(cfg.sync_key_file);
    rmdir(dir);
    return rc;
}
