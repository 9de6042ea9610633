/*
 * bench_sync.c - `make bench`: the journal sync queue's claim + complete
 * throughput with a no-op provider, beside pgbench running the very same
 * SQL (SYNC_SQL_CLAIM, SYNC_SQL_COMPLETE from sync_queue.c) on the same
 * server and database, printed as a ratio.
 *
 * A database of its own (bench_sync_q) holds one account with a webhook
 * target and QUEUE_JOBS closed trades: the enqueue trigger makes one job
 * each. Then:
 *   tradeops:  QUEUE_THREADS threads, each with its own connection, loop
 *              sync_queue_claim(max 1) + sync_queue_complete (the attempt a
 *              success with an empty result: no provider is called) until
 *              no job is left; jobs/s = QUEUE_JOBS / wall time.
 *   reference: the jobs reset to available, then `pgbench -n -c 4 -j 4 -t
 *              5000 -f script`, the script being the claim statement (its
 *              $1..$3 replaced by literals) with \gset, then begin, the
 *              complete statement on the claimed id, commit: one job per
 *              transaction, so its tps is jobs/s.
 *   batch:     claim max 16 then 16 completes, tradeops only (a pgbench
 *              script cannot loop over the rows of one claim).
 * The table is vacuumed (full) before each run so every run starts alike.
 * Figures only: nothing here asserts on timing.
 *
 * Environment (tests/bench/run.sh): BENCH_PG; BENCH_PGBENCH may name the
 * pgbench binary (else the newest /usr/lib/postgresql/x/bin/pgbench, else
 * pgbench on PATH).
 *
 * Threads: the main thread; during a timed run QUEUE_THREADS threads, each
 * owning its connection.
 */
#include <errno.h>
#include <glob.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "bench_sync.h"
#include "clock.h"
#include "config.h"
#include "migrate.h"
#include "pg.h"
#include "sync.h"
#include "sync_queue.h"
#include "sync_queue_int.h"

#define QUEUE_JOBS 20000
#define QUEUE_THREADS 4
#define QUEUE_BATCH 16
#define QUEUE_DB "bench_sync_q"
#define QUEUE_ACCOUNT "bench-q"
#define PGBENCH_WORKER "bench/pgbench/0"
#define PGBENCH_OUT_MAX 65536

int bench_sync_exec(PGconn *c, const char *sql)
{
    char err[400];
    if (pg_exec_ok(c, sql, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sync: %s\n", err);
        return -1;
    }
    return 0;
}

long long bench_sync_scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = atoll(PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "bench_sync: %s: %s\n", sql,
                PQresultStatus(r) == PGRES_TUPLES_OK ? "no value" : PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

int bench_sync_make_db(const char *base, const char *name, char *out, size_t outlen)
{
    char err[400], sql[160];
    PGconn *c = pg_connect(base, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench_sync: %s\n", err);
        return -1;
    }
    snprintf(sql, sizeof sql, "drop database if exists %s", name);
    int rc = bench_sync_exec(c, sql);
    snprintf(sql, sizeof sql, "create database %s", name);
    if (rc == 0)
        rc = bench_sync_exec(c, sql);
    PQfinish(c);
    if (rc != 0)
        return -1;
    /* libpq takes the last of a repeated keyword: this dbname wins. */
    snprintf(out, outlen, "%s dbname=%s", base, name);
    c = pg_connect(out, err, sizeof err);
    int applied = 0;
    if (!c || migrate_up(c, &applied, err, sizeof err) != 0) {
        fprintf(stderr, "bench_sync: %s\n", err);
        rc = -1;
    }
    if (c)
        PQfinish(c);
    return rc;
}

/* ---- the tradeops side ------------------------------------------------ */

/* The line every worker waits at, so all start together. */
typedef struct start_line {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready; /* workers connected and waiting */
    bool go, cancel;
} start_line;

typedef struct qworker {
    const char *conninfo;
    const config *cfg;
    int idx, max;
    start_line *start;
    long done;
    int rc;
    double end_us;
    char err[300];
} qworker;

static void *qworker_run(void *arg)
{
    qworker *w = arg;
    char name[64];
    snprintf(name, sizeof name, "bench/queue/%d", w->idx);
    PGconn *c = pg_connect(w->conninfo, w->err, sizeof w->err);
    pthread_mutex_lock(&w->start->mu);
    w->start->ready++;
    pthread_cond_broadcast(&w->start->cv);
    while (!w->start->go && !w->start->cancel)
        pthread_cond_wait(&w->start->cv, &w->start->mu);
    bool cancel = w->start->cancel;
    pthread_mutex_unlock(&w->start->mu);
    w->rc = c && !cancel ? 0 : -1;
    sync_job jobs[QUEUE_BATCH];
    while (w->rc == 0) {
        int n = 0;
        if (sync_queue_claim(c, -1, w->max, name, jobs, &n, w->err, sizeof w->err) != 0) {
            w->rc = -1;
            break;
        }
        if (n == 0)
            break;
        for (int i = 0; i < n && w->rc == 0; i++) {
            sync_attempt a;
            memset(&a, 0, sizeof a); /* a success with an empty result: the no-op provider */
            a.cls = SYNC_ERR_NONE;
            bool applied = false;
            if (sync_queue_complete(c, w->cfg, &jobs[i], name, &a, &applied, w->err,
                                    sizeof w->err) != 0)
                w->rc = -1;
            w->done += applied;
        }
    }
    w->end_us = clock_mono_us();
    if (c)
        PQfinish(c);
    return NULL;
}

/* QUEUE_THREADS workers claiming max at a time until nothing is left.
 * Wall ms, or -1; *done gets the completes that applied. */
static double run_tradeops(const char *conninfo, const config *cfg, int max, long *done)
{
    start_line sl = {.ready = 0, .go = false, .cancel = false};
    pthread_mutex_init(&sl.mu, NULL);
    pthread_cond_init(&sl.cv, NULL);
    qworker w[QUEUE_THREADS];
    pthread_t th[QUEUE_THREADS];
    int started = 0;
    for (; started < QUEUE_THREADS; started++) {
        w[started] =
            (qworker){.conninfo = conninfo, .cfg = cfg, .idx = started, .max = max, .start = &sl};
        if (pthread_create(&th[started], NULL, qworker_run, &w[started]) != 0)
            break;
    }
    /* Connections are made before the line: their time is not counted. */
    pthread_mutex_lock(&sl.mu);
    while (sl.ready < started)
        pthread_cond_wait(&sl.cv, &sl.mu);
    sl.go = started == QUEUE_THREADS;
    sl.cancel = !sl.go;
    double t0 = clock_mono_us(), end = t0;
    pthread_cond_broadcast(&sl.cv);
    pthread_mutex_unlock(&sl.mu);
    int rc = sl.go ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "bench_sync: cannot start %d threads\n", QUEUE_THREADS);
    *done = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        if (w[i].rc != 0 && rc == 0) {
            fprintf(stderr, "bench_sync: worker %d: %s\n", i, w[i].err);
            rc = -1;
        }
        if (w[i].end_us > end)
            end = w[i].end_us;
        *done += w[i].done;
    }
    pthread_cond_destroy(&sl.cv);
    pthread_mutex_destroy(&sl.mu);
    return rc == 0 ? (end - t0) / 1000.0 : -1;
}

/* ---- the pgbench side ------------------------------------------------- */

/* sql with each $N (1 <= N <= n) replaced by vals[N-1]; malloc'd, or NULL
 * when sql names a parameter past n or memory ran out. */
static char *subst(const char *sql, const char *const *vals, int n)
{
    for (int pass = 0, len = 0;; pass++) {
        char *out = pass ? malloc((size_t)len + 1) : NULL;
        if (pass && !out)
            return NULL;
        int k = 0;
        for (const char *p = sql; *p;) {
            if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
                char *end;
                long i = strtol(p + 1, &end, 10);
                if (i < 1 || i > n) {
                    free(out);
                    return NULL;
                }
                size_t vl = strlen(vals[i - 1]);
                if (out)
                    memcpy(out + k, vals[i - 1], vl);
                k += (int)vl;
                p = end;
            } else {
                if (out)
                    out[k] = *p;
                k++;
                p++;
            }
        }
        if (out) {
            out[k] = '\0';
            return out;
        }
        len = k;
    }
}

/* The pgbench script: claim one job into :id, complete it in a
 * transaction of its own, as sync_queue_complete does. Simple protocol
 * with literals (the statements hold ':' inside string literals, which
 * the extended mode would take for variables); like the unnamed statement
 * libpq uses for the tradeops side, each is planned with its values. */
static int write_script(const char *path)
{
    const char *claim_p[3] = {"'" PGBENCH_WORKER "'", "null", "1"};
    const char *done_p[6] = {":id", "'" PGBENCH_WORKER "'", "0", "null", "120000", "0"};
    char *claim = subst(SYNC_SQL_CLAIM, claim_p, 3);
    char *complete = subst(SYNC_SQL_COMPLETE, done_p, 6);
    FILE *f = claim && complete ? fopen(path, "w") : NULL;
    int rc = -1;
    if (f) {
        fprintf(f,
                "-- bench_sync.c: one journal sync job per transaction\n%s\n\\gset\n"
                "begin;\n%s;\ncommit;\n",
                claim, complete);
        rc = fclose(f) == 0 ? 0 : -1;
    }
    if (rc != 0)
        fprintf(stderr, "bench_sync: cannot write the pgbench script %s\n", path);
    free(claim);
    free(complete);
    return rc;
}

static int cmp_version(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* BENCH_PGBENCH, else the newest server version's pgbench, else "pgbench". */
static void find_pgbench(char *out, size_t n)
{
    const char *env = getenv("BENCH_PGBENCH");
    if (env && env[0]) {
        snprintf(out, n, "%s", env);
        return;
    }
    snprintf(out, n, "pgbench");
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/pgbench", 0, NULL, &g) == 0 && g.gl_pathc > 0) {
        qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, cmp_version);
        snprintf(out, n, "%s", g.gl_pathv[g.gl_pathc - 1]);
    }
    globfree(&g);
}

/* Runs pgbench; its tps (connection time excluded), or -1 with its output
 * on stderr when it failed or did not process every transaction. */
static double run_pgbench(const char *conninfo, const char *script)
{
    char bin[512], clients[16], tx[16];
    find_pgbench(bin, sizeof bin);
    snprintf(clients, sizeof clients, "%d", QUEUE_THREADS);
    snprintf(tx, sizeof tx, "%d", QUEUE_JOBS / QUEUE_THREADS);
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        /* The positional database argument may be a whole conninfo. */
        execlp(bin, bin, "-n", "-M", "simple", "-c", clients, "-j", clients, "-t", tx, "-f", script,
               conninfo, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    char *out = calloc(1, PGBENCH_OUT_MAX);
    size_t len = 0;
    ssize_t r;
    while (out && len < PGBENCH_OUT_MAX - 1 &&
           (r = read(fd[0], out + len, PGBENCH_OUT_MAX - 1 - len)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        len += (size_t)r;
    }
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!out)
        return -1;
    char want[64];
    snprintf(want, sizeof want, "actually processed: %d/%d", QUEUE_JOBS, QUEUE_JOBS);
    const char *t = strstr(out, "\ntps = ");
    double tps = t ? strtod(t + 7, NULL) : -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(out, want) || tps <= 0) {
        fprintf(stderr, "bench_sync: %s did not run every transaction:\n%s\n", bin, out);
        tps = -1;
    }
    free(out);
    return tps;
}

/* ---- the part --------------------------------------------------------- */

static const char *SQL_RESET =
    "update sync_jobs set state = 'available', attempt = 0, attempted_at = null,"
    " attempted_by = null, completed_at = null, finalized_at = null, result = null,"
    " errors = '[]', last_class = null, last_status = null, last_error = null,"
    " sla_breached_at = null";

/* Every job back to available, and the table compacted, for a fair start. */
static int reset_jobs(PGconn *c)
{
    return bench_sync_exec(c, SQL_RESET) == 0 &&
                   bench_sync_exec(c, "vacuum full analyze sync_jobs") == 0
               ? 0
               : -1;
}

/* Every job completed after a run? */
static int check_all_done(PGconn *c, const char *what)
{
    long long left = bench_sync_scalar(c, "select count(*) from sync_jobs where state <> "
                                          "'completed'");
    if (left != 0) {
        fprintf(stderr, "bench_sync: %s left %lld job(s) not completed\n", what, left);
        return -1;
    }
    return 0;
}

static int seed(PGconn *c)
{
    char sql[900];
    snprintf(sql, sizeof sql,
             "insert into accounts (id, name, created_by) values ('" QUEUE_ACCOUNT
             "', 'Bench queue', 'bench');"
             " insert into sync_targets (account_id, provider, settings, updated_by) values"
             " ('" QUEUE_ACCOUNT "', 'webhook', '{\"url\":\"http://127.0.0.1:9/never\"}', 'bench');"
             " insert into closed_trades (account_id, position_id, symbol, side, volume,"
             " open_time, close_time, open_price, close_price, profit, deals)"
             " select '" QUEUE_ACCOUNT "', 'q-' || i, 'EURUSD', 'BUY', 0.1,"
             " now() - interval '1 hour', now() - interval '1 minute',"
             " 1.1 + i * 1e-6, 1.1005 + i * 1e-6, 5, '[]'::jsonb from generate_series(1, %d) i",
             QUEUE_JOBS);
    if (bench_sync_exec(c, sql) != 0)
        return -1;
    long long jobs = bench_sync_scalar(c, "select count(*) from sync_jobs");
    if (jobs != QUEUE_JOBS) {
        fprintf(stderr, "bench_sync: the trigger made %lld jobs, not %d\n", jobs, QUEUE_JOBS);
        return -1;
    }
    return bench_sync_exec(c, "vacuum full analyze sync_jobs");
}

int bench_sync_queue(void)
{
    const char *base = getenv("BENCH_PG");
    if (!base) {
        fprintf(stderr, "bench_sync: BENCH_PG is needed\n");
        return -1;
    }
    char ci[600], err[400], script[] = "/tmp/tradeops-bench-sync-XXXXXX";
    if (bench_sync_make_db(base, QUEUE_DB, ci, sizeof ci) != 0)
        return -1;
    PGconn *c = pg_connect(ci, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench_sync: %s\n", err);
        return -1;
    }
    config cfg;
    config_defaults(&cfg);
    int fd = mkstemp(script);
    if (fd < 0) {
        fprintf(stderr, "bench_sync: cannot create a pgbench script: %s\n", strerror(errno));
        PQfinish(c);
        return -1;
    }
    close(fd);
    int rc = seed(c) == 0 && write_script(script) == 0 ? 0 : -1;
    long done1 = 0, done16 = 0;
    double ms1 = -1, ms16 = -1, tps = -1;
    if (rc == 0) {
        ms1 = run_tradeops(ci, &cfg, 1, &done1);
        rc = ms1 > 0 && check_all_done(c, "tradeops (max 1)") == 0 ? 0 : -1;
    }
    if (rc == 0 && reset_jobs(c) == 0) {
        tps = run_pgbench(ci, script);
        rc = tps > 0 && check_all_done(c, "pgbench") == 0 ? 0 : -1;
    } else {
        rc = -1;
    }
    if (rc == 0 && reset_jobs(c) == 0) {
        ms16 = run_tradeops(ci, &cfg, QUEUE_BATCH, &done16);
        rc = ms16 > 0 && check_all_done(c, "tradeops (max 16)") == 0 ? 0 : -1;
    } else {
        rc = -1;
    }
    unlink(script);
    PQfinish(c);
    if (ms1 > 0 && tps > 0) {
        double jps = done1 / (ms1 / 1000.0);
        printf("sync queue: %d workers claim+complete %ld jobs: %.0f jobs/s; pgbench same SQL "
               "(-c %d -j %d, claim then begin/complete/commit): %.0f tx/s; ratio %.2f\n",
               QUEUE_THREADS, done1, jps, QUEUE_THREADS, QUEUE_THREADS, tps, jps / tps);
    }
    if (ms16 > 0)
        printf("sync queue, batch: %d workers claim %d then %d completes, %ld jobs: %.0f "
               "jobs/s (tradeops only: a pgbench script cannot loop over a claim's rows)\n",
               QUEUE_THREADS, QUEUE_BATCH, QUEUE_BATCH, done16, done16 / (ms16 / 1000.0));
    return rc;
}

int bench_sync(void)
{
    int rc = bench_sync_queue();
    if (bench_sync_latency() != 0)
        rc = -1;
    return rc;
}
