/*
 * sim_bot.c - the bot's queue of bot_positions changes and the writer thread
 * that puts them into PostgreSQL.
 *
 * The queue is a ring that grows on demand up to SIM_BOT_QUEUE_MAX events;
 * events leave it only once their transaction has committed, so a failure at
 * any point loses nothing and the next attempt starts from the same event.
 * A batch is one transaction. SQLSTATE classes 22 (data exception) and 23
 * (integrity violation) mean that one event can never be written: it is
 * skipped, counted as rejected and logged, and the events before it in the
 * batch are written again without it. Every other failure (no server, no
 * database, no table yet, a dropped connection, a timeout) is transient: the
 * batch stays queued and is retried every SIM_BOT_RETRY_MS.
 *
 * Threads and locks: see sim_bot.h. `mu` guards the queue, the counters and
 * the flags; the writer holds it only to copy a batch out and to account for
 * the result, never across a PostgreSQL call.
 */
#include "sim_bot.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "clock.h"

#define QUEUE_INITIAL_CAP 1024
#define CONNECT_TIMEOUT_S "5"
#define STATEMENT_TIMEOUT_MS "5000" /* a hung server cannot stall shutdown for long */
#define APP_NAME "tradeops-sim-bot"
#define LAST_ERROR_LEN 240
#define ID_TEXT_LEN 24  /* "demo-20000", a ticket, a count */
#define NUM_TEXT_LEN 32 /* a double in %.17g */
#define N_OPEN_PARAMS 10
#define N_MODIFY_PARAMS 5
#define N_CLOSE_PARAMS 3

enum bot_op { BOT_OPEN = 0, BOT_MODIFY, BOT_CLOSE, BOT_RESYNC };

/* Compact: text is rendered only when written. */
typedef struct bot_event {
    enum bot_op op;
    size_t account;
    uint64_t ticket;
    int symbol;
    enum sim_side side;
    double volume, sl, tp; /* sl, tp: 0 = unset (null) */
    int64_t at_ms;         /* OPEN: opened_at; CLOSE: closed_at */
    int64_t magic;
} bot_event;

typedef struct bot_counts {
    uint64_t events_written, rows_written, write_errors, dropped, rejected;
} bot_counts;

struct sim_bot {
    char *conninfo;
    size_t accounts;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* events queued, or stopping */
    pthread_t thread;
    bool started, stopping;
    bot_event *q; /* ring: len events from head */
    size_t head, len, cap;
    bot_counts n;
    bool connected, failing, full_logged;
    char last_error[LAST_ERROR_LEN];
};

/* The times in bot_positions are exact milliseconds, not float seconds. */
#define SQL_MS_TIME(n) "timestamptz 'epoch' + $" #n "::bigint * interval '1 millisecond'"

static const char SQL_OPEN[] =
    "insert into bot_positions (account_id, position_id, symbol, side, volume, stop_loss, "
    "take_profit, opened_at, closed_at, strategy, magic, updated_at) "
    "values ($1, $2, $3, $4, $5::float8, $6::float8, $7::float8, " SQL_MS_TIME(
        8) ", null, $9, $10::bigint, now()) "
           "on conflict (account_id, position_id) do update set symbol = excluded.symbol, "
           "side = excluded.side, volume = excluded.volume, stop_loss = excluded.stop_loss, "
           "take_profit = excluded.take_profit, opened_at = excluded.opened_at, closed_at = null, "
           "strategy = excluded.strategy, magic = excluded.magic, updated_at = now()";
static const char SQL_MODIFY[] =
    "update bot_positions set volume = $3::float8, stop_loss = $4::float8, "
    "take_profit = $5::float8, updated_at = now() where account_id = $1 and position_id = $2";
static const char SQL_CLOSE[] = "update bot_positions set closed_at = " SQL_MS_TIME(
    3) ", updated_at = now() "
       "where account_id = $1 and position_id = $2 and closed_at is null";
/* The simulator's accounts are demo-1 .. demo-N. */
static const char SQL_RESYNC[] =
    "update bot_positions set closed_at = now(), updated_at = now() where closed_at is null "
    "and account_id in (select 'demo-' || g from generate_series(1, $1::int) g)";

int sim_bot_check_conninfo(const char *conninfo, char *err, size_t errlen)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (!opts) {
        size_t n = perr ? strcspn(perr, "\n") : 0;
        snprintf(err, errlen, "--pg: not a libpq connection string: %.*s", (int)n,
                 perr ? perr : "out of memory");
        PQfreemem(perr);
        return -1;
    }
    PQconninfoFree(opts);
    return 0;
}

sim_bot *sim_bot_new(const char *conninfo, size_t accounts, char *err, size_t errlen)
{
    if (sim_bot_check_conninfo(conninfo, err, errlen) != 0)
        return NULL;
    sim_bot *b = calloc(1, sizeof *b);
    if (!b || !(b->conninfo = strdup(conninfo)) ||
        !(b->q = malloc(QUEUE_INITIAL_CAP * sizeof *b->q))) {
        if (b)
            free(b->conninfo);
        free(b);
        snprintf(err, errlen, "out of memory for the bot");
        return NULL;
    }
    pthread_condattr_t ca;
    bool ok_ca = pthread_condattr_init(&ca) == 0;
    bool ok = ok_ca && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0;
    bool ok_mu = ok && pthread_mutex_init(&b->mu, NULL) == 0;
    bool ok_cv = ok_mu && pthread_cond_init(&b->cv, &ca) == 0;
    if (ok_ca)
        pthread_condattr_destroy(&ca);
    if (!ok_cv) {
        if (ok_mu)
            pthread_mutex_destroy(&b->mu);
        free(b->q);
        free(b->conninfo);
        free(b);
        snprintf(err, errlen, "cannot initialise the bot's locks");
        return NULL;
    }
    b->cap = QUEUE_INITIAL_CAP;
    b->accounts = accounts;
    return b;
}

/* ---- the queue (any thread) ---- */

static int grow(sim_bot *b)
{
    size_t ncap = b->cap * 2 > SIM_BOT_QUEUE_MAX ? SIM_BOT_QUEUE_MAX : b->cap * 2;
    bot_event *nq = malloc(ncap * sizeof *nq);
    if (!nq)
        return -1;
    for (size_t i = 0; i < b->len; i++)
        nq[i] = b->q[(b->head + i) % b->cap];
    free(b->q);
    b->q = nq;
    b->cap = ncap;
    b->head = 0;
    return 0;
}

static void push(sim_bot *b, const bot_event *e)
{
    pthread_mutex_lock(&b->mu);
    if (b->len == b->cap && (b->cap >= SIM_BOT_QUEUE_MAX || grow(b) != 0)) {
        b->n.dropped++;
        if (!b->full_logged) /* once per outage; the counter tells the rest */
            fprintf(stderr,
                    "tradeops-sim: bot: %zu events are waiting for PostgreSQL, the most kept; "
                    "newer ones are dropped (see dropped in /_sim/stats) and bot_positions "
                    "stays out of date until the simulator restarts\n",
                    b->len);
        b->full_logged = true;
    } else {
        b->q[(b->head + b->len) % b->cap] = *e;
        b->len++;
        pthread_cond_signal(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
}

static void event_from(bot_event *e, enum bot_op op, size_t acc, const sim_position *p)
{
    memset(e, 0, sizeof *e);
    e->op = op;
    e->account = acc;
    e->ticket = p->ticket;
    e->symbol = p->symbol;
    e->side = p->side;
    e->volume = p->volume;
    e->sl = p->stop_loss;
    e->tp = p->take_profit;
    e->at_ms = p->open_ms;
    e->magic = p->magic;
}

void sim_bot_opened(sim_bot *b, size_t acc, const sim_position *p)
{
    bot_event e;
    event_from(&e, BOT_OPEN, acc, p);
    push(b, &e);
}

void sim_bot_modified(sim_bot *b, size_t acc, const sim_position *p, int64_t at_ms)
{
    bot_event e;
    event_from(&e, BOT_MODIFY, acc, p);
    e.at_ms = at_ms;
    push(b, &e);
}

void sim_bot_closed(sim_bot *b, size_t acc, uint64_t ticket, int64_t at_ms)
{
    bot_event e = {.op = BOT_CLOSE, .account = acc, .ticket = ticket, .at_ms = at_ms};
    push(b, &e);
}

/* Positions placed by hand (magic 0) are not the bot's: it never hears of them. */
static void on_market(void *ctx, const sim_market_event *ev)
{
    sim_bot *b = ctx;
    if (ev->pos->magic == 0)
        return;
    if (ev->kind == SIM_MARKET_OPENED)
        sim_bot_opened(b, ev->account, ev->pos);
    else
        sim_bot_closed(b, ev->account, ev->pos->ticket, ev->at_ms);
}

void sim_bot_follow(sim_bot *b, sim_market *m)
{
    bot_event resync = {.op = BOT_RESYNC};
    push(b, &resync);
    sim_position pos[SIM_MARKET_MAX_POSITIONS];
    for (size_t acc = 0; acc < sim_market_accounts(m); acc++) {
        size_t n = sim_market_positions(m, acc, pos);
        for (size_t i = 0; i < n; i++)
            if (pos[i].magic != 0)
                sim_bot_opened(b, acc, &pos[i]);
    }
    sim_market_observe(m, on_market, b);
}

/* ---- the writer thread ---- */

enum outcome { WRITE_OK = 0, WRITE_TRANSIENT, WRITE_REJECTED };

/* First line of a libpq message, without its newline. */
static void first_line(char *out, size_t outlen, const char *what, const char *msg)
{
    size_t n = msg ? strcspn(msg, "\n") : 0;
    snprintf(out, outlen, "%s%s%.*s", what, n ? ": " : "", (int)n, msg ? msg : "");
}

static PGconn *connect_db(const char *conninfo, char *err, size_t errlen)
{
    /* Entries before dbname are defaults the connection string may override. */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const vals[] = {CONNECT_TIMEOUT_S, APP_NAME, conninfo, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c) {
        snprintf(err, errlen, "out of memory connecting to PostgreSQL");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        first_line(err, errlen, "cannot connect", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    const char *const params[] = {STATEMENT_TIMEOUT_MS};
    PGresult *r = PQexecParams(c, "select set_config('statement_timeout', $1, false)", 1, NULL,
                               params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        first_line(err, errlen, "cannot set statement_timeout", PQresultErrorMessage(r));
    PQclear(r);
    if (!ok) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static bool command(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok && err)
        first_line(err, errlen, sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

static void fmt_num(char *out, double v)
{
    snprintf(out, NUM_TEXT_LEN, "%.17g", v);
}

static PGresult *exec_event(PGconn *c, const bot_event *e, size_t accounts)
{
    char acc[ID_TEXT_LEN], pos[ID_TEXT_LEN], at[ID_TEXT_LEN], magic[ID_TEXT_LEN];
    char vol[NUM_TEXT_LEN], sl[NUM_TEXT_LEN], tp[NUM_TEXT_LEN];
    snprintf(acc, sizeof acc, "demo-%zu", e->account + 1);
    snprintf(pos, sizeof pos, "%" PRIu64, e->ticket);
    snprintf(at, sizeof at, "%" PRId64, e->at_ms);
    snprintf(magic, sizeof magic, "%" PRId64, e->magic);
    fmt_num(vol, e->volume);
    fmt_num(sl, e->sl);
    fmt_num(tp, e->tp);
    const char *slp = e->sl > 0 ? sl : NULL, *tpp = e->tp > 0 ? tp : NULL;
    switch (e->op) {
    case BOT_OPEN: {
        const char *name = sim_market_symbol_name(e->symbol);
        const char *strategy = sim_market_strategy_name(e->magic);
        const char *v[N_OPEN_PARAMS] = {acc,
                                        pos,
                                        name ? name : "",
                                        e->side == SIM_SIDE_BUY ? "BUY" : "SELL",
                                        vol,
                                        slp,
                                        tpp,
                                        at,
                                        strategy,
                                        magic};
        return PQexecParams(c, SQL_OPEN, N_OPEN_PARAMS, NULL, v, NULL, NULL, 0);
    }
    case BOT_MODIFY: {
        const char *v[N_MODIFY_PARAMS] = {acc, pos, vol, slp, tpp};
        return PQexecParams(c, SQL_MODIFY, N_MODIFY_PARAMS, NULL, v, NULL, NULL, 0);
    }
    case BOT_CLOSE: {
        const char *v[N_CLOSE_PARAMS] = {acc, pos, at};
        return PQexecParams(c, SQL_CLOSE, N_CLOSE_PARAMS, NULL, v, NULL, NULL, 0);
    }
    case BOT_RESYNC: {
        char n[ID_TEXT_LEN];
        snprintf(n, sizeof n, "%zu", accounts);
        const char *v[1] = {n};
        return PQexecParams(c, SQL_RESYNC, 1, NULL, v, NULL, NULL, 0);
    }
    }
    return NULL;
}

static bool permanent_state(const char *sqlstate)
{
    return sqlstate && (strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0);
}

/* Writes ev[0..n) in one transaction. WRITE_OK: all written. WRITE_REJECTED:
 * ev[0..*done) written and ev[*done] can never be. WRITE_TRANSIENT: nothing
 * written. err says what failed. */
static enum outcome write_batch(PGconn *c, const bot_event *ev, size_t n, size_t accounts,
                                size_t *done, uint64_t *rows, char *err, size_t errlen)
{
    *done = 0;
    *rows = 0;
    if (!command(c, "begin", err, errlen))
        return WRITE_TRANSIENT;
    uint64_t affected = 0;
    for (size_t i = 0; i < n; i++) {
        PGresult *r = exec_event(c, &ev[i], accounts);
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            affected += strtoull(PQcmdTuples(r), NULL, 10);
            PQclear(r);
            continue;
        }
        bool permanent = permanent_state(PQresultErrorField(r, PG_DIAG_SQLSTATE));
        char what[80];
        if (ev[i].op == BOT_RESYNC)
            snprintf(what, sizeof what, "closing the rows a restarted bot no longer holds");
        else
            snprintf(what, sizeof what, "writing demo-%zu position %" PRIu64, ev[i].account + 1,
                     ev[i].ticket);
        first_line(err, errlen, what, r ? PQresultErrorMessage(r) : "out of memory");
        PQclear(r);
        command(c, "rollback", NULL, 0);
        if (!permanent)
            return WRITE_TRANSIENT;
        /* Write the good events before it again, without it. */
        size_t again = 0;
        char err2[LAST_ERROR_LEN];
        if (i > 0 && write_batch(c, ev, i, accounts, &again, rows, err2, sizeof err2) != WRITE_OK) {
            snprintf(err, errlen, "%s", err2);
            return WRITE_TRANSIENT;
        }
        *done = i;
        return WRITE_REJECTED;
    }
    if (!command(c, "commit", err, errlen))
        return WRITE_TRANSIENT;
    *done = n;
    *rows = affected;
    return WRITE_OK;
}

/* Called with mu held; returns with it held. Waits out the retry interval
 * unless told to stop; events arriving meanwhile do not cut it short. */
static void retry_wait(sim_bot *b)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += SIM_BOT_RETRY_MS / 1000;
    deadline.tv_nsec += (SIM_BOT_RETRY_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (!b->stopping && pthread_cond_timedwait(&b->cv, &b->mu, &deadline) != ETIMEDOUT)
        ;
}

/* With mu held: the result of one attempt at the first n queued events. */
static void account_for(sim_bot *b, enum outcome oc, size_t done, uint64_t rows, const char *err)
{
    size_t gone = done + (oc == WRITE_REJECTED ? 1 : 0);
    b->head = (b->head + gone) % b->cap;
    b->len -= gone;
    b->n.events_written += done;
    b->n.rows_written += rows;
    if (oc == WRITE_REJECTED) {
        b->n.rejected++;
        b->n.write_errors++;
        snprintf(b->last_error, sizeof b->last_error, "%s", err);
        fprintf(stderr, "tradeops-sim: bot: PostgreSQL refused an event, skipped: %s\n", err);
        return;
    }
    if (oc == WRITE_TRANSIENT) {
        b->n.write_errors++;
        snprintf(b->last_error, sizeof b->last_error, "%s", err);
        if (!b->failing)
            fprintf(stderr,
                    "tradeops-sim: bot: cannot write bot_positions (%s); keeping the bot's "
                    "events queued (at most %d) and retrying every %ld ms\n",
                    err, SIM_BOT_QUEUE_MAX, SIM_BOT_RETRY_MS);
        b->failing = true;
        return;
    }
    if (b->failing)
        fprintf(stderr, "tradeops-sim: bot: writing bot_positions again\n");
    b->failing = false;
    b->full_logged = false;
}

static void *writer_main(void *arg)
{
    sim_bot *b = arg;
    PGconn *conn = NULL;
    bot_event *batch = malloc(SIM_BOT_BATCH_MAX * sizeof *batch);
    pthread_mutex_lock(&b->mu);
    if (!batch) {
        snprintf(b->last_error, sizeof b->last_error, "out of memory for the writer's batch");
        fprintf(stderr, "tradeops-sim: bot: %s; nothing will be written\n", b->last_error);
    }
    while (batch) {
        while (b->len == 0 && !b->stopping)
            pthread_cond_wait(&b->cv, &b->mu);
        if (b->len == 0)
            break; /* stopping, and everything is written */
        size_t n = b->len < SIM_BOT_BATCH_MAX ? b->len : SIM_BOT_BATCH_MAX;
        for (size_t i = 0; i < n; i++)
            batch[i] = b->q[(b->head + i) % b->cap];
        pthread_mutex_unlock(&b->mu);

        char err[LAST_ERROR_LEN] = "";
        size_t done = 0;
        uint64_t rows = 0;
        enum outcome oc = WRITE_TRANSIENT;
        if (conn && PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = NULL;
        }
        if (!conn)
            conn = connect_db(b->conninfo, err, sizeof err);
        if (conn)
            oc = write_batch(conn, batch, n, b->accounts, &done, &rows, err, sizeof err);

        pthread_mutex_lock(&b->mu);
        b->connected = conn && PQstatus(conn) == CONNECTION_OK;
        account_for(b, oc, done, rows, err);
        if (oc == WRITE_TRANSIENT) {
            if (b->stopping) {
                fprintf(stderr, "tradeops-sim: bot: stopping with %zu events not written (%s)\n",
                        b->len, err);
                break;
            }
            retry_wait(b);
        }
    }
    b->connected = false;
    pthread_mutex_unlock(&b->mu);
    PQfinish(conn);
    free(batch);
    return NULL;
}

int sim_bot_start(sim_bot *b, char *err, size_t errlen)
{
    int rc = pthread_create(&b->thread, NULL, writer_main, b);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the bot's writer thread: %s", strerror(rc));
        return -1;
    }
    b->started = true;
    return 0;
}

void sim_bot_stop(sim_bot *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stopping = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    if (b->started) {
        pthread_join(b->thread, NULL);
        b->started = false;
    }
}

void sim_bot_free(sim_bot *b)
{
    if (!b)
        return;
    sim_bot_stop(b);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b->q);
    free(b->conninfo);
    free(b);
}

static bool add_count(cJSON *o, const char *name, uint64_t v)
{
    return cJSON_AddNumberToObject(o, name, (double)v) != NULL;
}

cJSON *sim_bot_stats_json(sim_bot *b)
{
    pthread_mutex_lock(&b->mu);
    bot_counts n = b->n;
    size_t len = b->len;
    bool connected = b->connected;
    char last_error[LAST_ERROR_LEN];
    memcpy(last_error, b->last_error, sizeof last_error);
    pthread_mutex_unlock(&b->mu);
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddBoolToObject(o, "enabled", true) &&
              cJSON_AddBoolToObject(o, "connected", connected) &&
              add_count(o, "rows_written", n.rows_written) &&
              add_count(o, "events_written", n.events_written) &&
              add_count(o, "write_errors", n.write_errors) && add_count(o, "queue_length", len) &&
              add_count(o, "queue_max", SIM_BOT_QUEUE_MAX) && add_count(o, "dropped", n.dropped) &&
              add_count(o, "rejected", n.rejected) &&
              cJSON_AddStringToObject(o, "last_error", last_error);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
