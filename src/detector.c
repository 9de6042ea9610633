/*
 * detector.c - see detector.h.
 *
 * An account's deals and its new trades each travel to PostgreSQL as one
 * JSON document (trades.h) expanded by jsonb_to_recordset: one statement per
 * account and step whatever the count, and still no SQL built from values.
 *
 * Threads: see detector.h. The lock guards last (the figures) and the stop
 * flag's wake-up; everything else belongs to the thread running passes.
 */
#include "detector.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "broker_xfer.h"
#include "clock.h"
#include "pg.h"
#include "trades.h"
#include "view_json.h"

#define MS_PER_S 1000
#define S_PER_HOUR 3600
#define ERR_LEN 256
#define ISO_LEN 40
#define URL_SUFFIX_LEN 192
#define URL_WHAT_LEN 64

typedef struct wait_entry {
    char id[TRADES_ACCOUNT_LEN];
    int64_t retry_at_ms;
} wait_entry;

struct detector {
    const config *cfg;
    char *base_url; /* without a trailing '/' */
    struct curl_slist *headers;
    int page_limit;

    /* The pass-running thread's. */
    PGconn *pg;
    broker_xfer *x;
    wait_entry *waits; /* accounts told to back off by a 429 */
    size_t n_waits;
    char printed[ERR_LEN]; /* the last error the thread reported */

    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t lock; /* guards last, and the wake-up below */
    pthread_cond_t wake;
    detector_stats last;
};

/* ---- the broker ---- */

enum { FETCH_OK = 0, FETCH_FAILED = -1, FETCH_STOPPED = 1 };

/* Appends one page of the account's deals in [f, t) from offset *n. 1 when
 * it was the last (short) page, 0 when more may follow, -1 on failure. */
static int fetch_page(detector *d, const char *id, const char *f, const char *t, deal **all,
                      size_t *n, int64_t *retry_at, char *err, size_t errlen)
{
    char suffix[URL_SUFFIX_LEN], what[URL_WHAT_LEN];
    snprintf(suffix, sizeof suffix, "/history-deals/time/%s/%s?offset=%zu&limit=%d", f, t, *n,
             d->page_limit);
    snprintf(what, sizeof what, "history-deals (offset %zu)", *n);
    broker_xfer_reset(d->x);
    if (broker_xfer_set_url(d->x, d->base_url, id, suffix) != 0) {
        snprintf(err, errlen, "history-deals: out of memory setting up the request");
        return -1;
    }
    d->x->result = curl_easy_perform(d->x->easy);
    deal *page = NULL, *grown = NULL;
    size_t k = 0;
    char perr[ERR_LEN - URL_WHAT_LEN - 2]; /* room for "what: " */
    int64_t default_backoff_ms = (int64_t)d->cfg->rate_limit_backoff_s * MS_PER_S;
    if (broker_xfer_judge(d->x, what, clock_now_ms(), default_backoff_ms, NULL, retry_at, err,
                          errlen) != 0)
        return -1;
    if (broker_parse_deals(d->x->body, d->x->len, &page, &k, perr, sizeof perr) != 0) {
        snprintf(err, errlen, "%s: %s", what, perr);
        return -1;
    }
    if (k && !(grown = realloc(*all, (*n + k) * sizeof *grown))) {
        free(page);
        snprintf(err, errlen, "history-deals: out of memory holding %zu deals", *n + k);
        return -1;
    }
    if (k) {
        memcpy(grown + *n, page, k * sizeof *page);
        *all = grown;
    }
    free(page);
    *n += k;
    return k < (size_t)d->page_limit;
}

/* Reads every page of the account's deals in [from, to). */
static int fetch_deals(detector *d, const char *id, int64_t from, int64_t to, deal **out,
                       size_t *n_out, int64_t *retry_at, char *err, size_t errlen)
{
    char f[ISO_LEN], t[ISO_LEN];
    view_iso_time(from, f, sizeof f);
    view_iso_time(to, t, sizeof t);
    *out = NULL;
    *n_out = 0;
    if (!d->x && !(d->x = broker_xfer_new(d->cfg->broker_timeout_ms,
                                          d->cfg->broker_connect_timeout_ms, d->headers))) {
        snprintf(err, errlen, "history-deals: out of memory setting up the request");
        return FETCH_FAILED;
    }
    int last = 0, page = 0;
    for (; last == 0 && page < DETECTOR_MAX_PAGES && !atomic_load(&d->stop); page++)
        last = fetch_page(d, id, f, t, out, n_out, retry_at, err, errlen);
    broker_xfer_trim(d->x);
    if (last == 1)
        return FETCH_OK;
    if (last == 0 && page == DETECTOR_MAX_PAGES)
        snprintf(err, errlen,
                 "history-deals: still full pages after %zu deals; is the bridge ignoring "
                 "offset? The window was not advanced",
                 *n_out);
    free(*out);
    *out = NULL;
    *n_out = 0;
    broker_xfer_redact(err, d->cfg->broker_token);
    return last == 0 && page < DETECTOR_MAX_PAGES ? FETCH_STOPPED : FETCH_FAILED;
}

/* ---- PostgreSQL ---- */

static const char *SQL_CURSOR =
    "select (extract(epoch from read_until) * 1000)::bigint from deal_cursors"
    " where account_id = $1";

static const char *SQL_INSERT_DEALS =
    "with ins as (insert into broker_deals (account_id, deal_id, position_id, order_id,"
    " deal_type, entry_type, symbol, magic, at, volume, price, commission, swap, profit, comment)"
    " select $1, x.id, nullif(x.\"positionId\", ''), nullif(x.\"orderId\", ''), x.type,"
    " x.\"entryType\", nullif(x.symbol, ''), x.magic, x.time, x.volume, x.price, x.commission,"
    " x.swap, x.profit, x.comment"
    " from jsonb_to_recordset($2::jsonb) as x(id text, \"positionId\" text, \"orderId\" text,"
    " type text, \"entryType\" text, symbol text, magic bigint, time timestamptz,"
    " volume float8, price float8, commission float8, swap float8, profit float8, comment text)"
    " on conflict (account_id, deal_id) do nothing returning 1)"
    " select count(*) from ins";

static const char *SQL_ADVANCE =
    "insert into deal_cursors (account_id, read_until, updated_at) values ($1, $2, now())"
    " on conflict (account_id) do update"
    " set read_until = greatest(deal_cursors.read_until, excluded.read_until), updated_at = now()";

/* Positions with a closing deal and no trade yet, and whether the broker is
 * known to have let go of each (for the missing-IN case; see detector.h). */
static const char *SQL_CANDIDATES =
    "select c.position_id, coalesce(s.link = 'up' and s.fetched_at > c.last_at"
    " and not exists (select 1 from broker_positions p"
    " where p.account_id = $1 and p.position_id = c.position_id), false)"
    " from (select d.position_id, max(d.at) as last_at from broker_deals d"
    " where d.account_id = $1 and d.position_id is not null"
    " and d.position_id in (select o.position_id from broker_deals o where o.account_id = $1"
    " and o.entry_type in ('DEAL_ENTRY_OUT', 'DEAL_ENTRY_OUT_BY', 'DEAL_ENTRY_INOUT'))"
    " and not exists (select 1 from closed_trades t"
    " where t.account_id = $1 and t.position_id = d.position_id)"
    " group by d.position_id) c"
    " left join broker_account_state s on s.account_id = $1"
    " order by c.position_id collate \"C\"";

static const char *SQL_DEALS_OF =
    "select deal_id, deal_type, coalesce(entry_type, ''), coalesce(symbol, ''),"
    " coalesce(magic, 0), (extract(epoch from at) * 1000)::bigint, volume, price, commission,"
    " swap, profit, coalesce(position_id, ''), coalesce(order_id, ''), coalesce(comment, '')"
    " from broker_deals where account_id = $1 and position_id = any($2::text[])";

static const char *SQL_INSERT_TRADES =
    "with ins as (insert into closed_trades (account_id, position_id, symbol, side, volume,"
    " open_time, close_time, open_price, close_price, profit, commission, swap, strategy, magic,"
    " deals, incomplete)"
    " select $1, x.position_id, x.symbol, x.side, x.volume, x.open_time, x.close_time,"
    " x.open_price, x.close_price, x.profit, x.commission, x.swap, b.strategy, x.magic,"
    " x.deals, x.incomplete"
    " from jsonb_to_recordset($2::jsonb) as x(position_id text, symbol text, side text,"
    " volume float8, open_time timestamptz, close_time timestamptz, open_price float8,"
    " close_price float8, profit float8, commission float8, swap float8, magic bigint,"
    " deals jsonb, incomplete boolean)"
    " left join bot_positions b on b.account_id = $1 and b.position_id = x.position_id"
    " order by x.close_time, x.position_id"
    " on conflict (account_id, position_id) do nothing returning id)"
    " select id, pg_notify('tradeops_trade_closed', id::text) from ins order by id";

static PGresult *query(detector *d, const char *sql, int n, const char *const *p, char *err,
                       size_t errlen)
{
    PGresult *r = pg_exec_params(d->pg, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    pg_error_copy(err, errlen, PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

static int read_cursor(detector *d, const char *id, int64_t now, int64_t *cursor, char *err,
                       size_t errlen)
{
    const char *p[1] = {id};
    PGresult *r = query(d, SQL_CURSOR, 1, p, err, errlen);
    if (!r)
        return -1;
    *cursor = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                           : now - (int64_t)d->cfg->trades_lookback_h * S_PER_HOUR * MS_PER_S;
    PQclear(r);
    return 0;
}

/* Runs sql (returning rows) and then sql2 (when not NULL) in one
 * transaction; the rows of sql, or NULL with err after a rollback. */
static PGresult *in_transaction(detector *d, const char *sql, const char *const *p,
                                const char *sql2, const char *const *p2, char *err, size_t errlen)
{
    if (pg_exec_ok(d->pg, "begin", err, errlen) != 0)
        return NULL;
    PGresult *r = query(d, sql, 2, p, err, errlen);
    if (!r || (sql2 && pg_exec_params_ok(d->pg, sql2, 2, p2, err, errlen) != 0) ||
        pg_exec_ok(d->pg, "commit", err, errlen) != 0) {
        PQclear(r);
        PQclear(pg_exec(d->pg, "rollback"));
        return NULL;
    }
    return r;
}

/* One transaction: the deals, then the cursor. */
static int store_window(detector *d, const char *id, const deal *deals, size_t n, int64_t to,
                        size_t *n_new, char *err, size_t errlen)
{
    char until[ISO_LEN], *doc = trades_deals_doc(deals, n);
    if (!doc) {
        snprintf(err, errlen, "out of memory storing %zu deals", n);
        return -1;
    }
    view_iso_time(to, until, sizeof until);
    const char *p[2] = {id, doc}, *q[2] = {id, until};
    PGresult *r = in_transaction(d, SQL_INSERT_DEALS, p, SQL_ADVANCE, q, err, errlen);
    cJSON_free(doc);
    if (!r)
        return -1;
    *n_new = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

static double num_at(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NAN : strtod(PQgetvalue(r, i, c), NULL);
}

static void row_to_deal(const PGresult *r, int i, deal *x)
{
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", PQgetvalue(r, i, 0));
    snprintf(x->type, sizeof x->type, "%s", PQgetvalue(r, i, 1));
    x->entry = trades_entry_parse(PQgetvalue(r, i, 2));
    snprintf(x->symbol, sizeof x->symbol, "%s", PQgetvalue(r, i, 3));
    x->magic = strtoll(PQgetvalue(r, i, 4), NULL, 10);
    x->time_ms = strtoll(PQgetvalue(r, i, 5), NULL, 10);
    x->volume = num_at(r, i, 6);
    x->price = num_at(r, i, 7);
    x->commission = num_at(r, i, 8);
    x->swap = num_at(r, i, 9);
    x->profit = num_at(r, i, 10);
    snprintf(x->position_id, sizeof x->position_id, "%s", PQgetvalue(r, i, 11));
    snprintf(x->order_id, sizeof x->order_id, "%s", PQgetvalue(r, i, 12));
    snprintf(x->comment, sizeof x->comment, "%s", PQgetvalue(r, i, 13));
}

/* Candidates are sorted by position id (collate "C" is strcmp's order). */
static bool broker_holds(void *ctx, const char *position_id, int64_t last_deal_ms)
{
    (void)last_deal_ms; /* the query compared it with the state's age */
    const PGresult *c = ctx;
    int lo = 0, hi = PQntuples(c);
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, cmp = strcmp(PQgetvalue(c, mid, 0), position_id);
        if (cmp == 0)
            return PQgetvalue(c, mid, 1)[0] != 't';
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return true;
}

/* Inserts the trades with their NOTIFYs in one transaction. */
static int insert_trades(detector *d, const char *id, const trade *t, size_t n, size_t *recorded,
                         char *err, size_t errlen)
{
    char *doc = trades_trades_doc(t, n);
    if (!doc) {
        snprintf(err, errlen, "out of memory recording %zu trades", n);
        return -1;
    }
    const char *p[2] = {id, doc};
    PGresult *r = in_transaction(d, SQL_INSERT_TRADES, p, NULL, NULL, err, errlen);
    cJSON_free(doc);
    if (!r)
        return -1;
    *recorded = (size_t)PQntuples(r);
    PQclear(r);
    return 0;
}

/* Builds and records the account's newly closed trades. */
static int record_trades(detector *d, const char *id, size_t *recorded, char *err, size_t errlen)
{
    *recorded = 0;
    const char *p1[1] = {id};
    PGresult *cand = query(d, SQL_CANDIDATES, 1, p1, err, errlen), *rows = NULL;
    int nc = cand ? PQntuples(cand) : 0, nr = 0, rc = cand && nc == 0 ? 0 : -1;
    char **ids = nc ? calloc((size_t)nc, sizeof *ids) : NULL, *lit = NULL;
    for (int i = 0; ids && i < nc; i++)
        ids[i] = PQgetvalue(cand, i, 0);
    if (ids && (lit = pg_text_array_literal(ids, (size_t)nc))) {
        const char *p2[2] = {id, lit};
        rows = query(d, SQL_DEALS_OF, 2, p2, err, errlen);
        nr = rows ? PQntuples(rows) : 0;
    } else if (nc) {
        snprintf(err, errlen, "out of memory building trades");
    }
    deal *deals = rows ? calloc(nr ? (size_t)nr : 1, sizeof *deals) : NULL;
    trade *trades = NULL;
    size_t nt = 0, n_bad = 0;
    char berr[ERR_LEN] = "";
    for (int i = 0; deals && i < nr; i++)
        row_to_deal(rows, i, &deals[i]);
    if (rows && !deals) {
        snprintf(err, errlen, "out of memory building trades");
    } else if (deals && trades_build_all(id, deals, (size_t)nr, broker_holds, cand, &trades, &nt,
                                         &n_bad, berr, sizeof berr) != 0) {
        snprintf(err, errlen, "%s", berr);
    } else if (deals && (nt == 0 || insert_trades(d, id, trades, nt, recorded, err, errlen) == 0)) {
        rc = 0;
        if (n_bad > 0) { /* reported, never silently dropped */
            snprintf(err, errlen, "%zu position(s) not recorded: %.200s", n_bad, berr);
            rc = -1;
        }
    }
    trades_free(trades, nt);
    free(deals);
    free(lit);
    free(ids);
    PQclear(rows);
    PQclear(cand);
    return rc;
}

/* ---- the pass ---- */

/* The account's 429 wait, created when create is set (NULL on OOM: the
 * next pass then simply asks again). */
static wait_entry *wait_for(detector *d, const char *id, bool create)
{
    for (size_t i = 0; i < d->n_waits; i++)
        if (strcmp(d->waits[i].id, id) == 0)
            return &d->waits[i];
    wait_entry *nw = create ? realloc(d->waits, (d->n_waits + 1) * sizeof *nw) : NULL;
    if (!nw)
        return NULL;
    d->waits = nw;
    snprintf(nw[d->n_waits].id, sizeof nw->id, "%s", id);
    return &nw[d->n_waits++];
}

static void note_error(detector_stats *st, const char *id, const char *err)
{
    st->errors++;
    snprintf(st->last_error, sizeof st->last_error, "%.64s: %.180s", id, err);
}

static void account_pass(detector *d, const char *id, detector_stats *st)
{
    char err[ERR_LEN] = "";
    int64_t now = clock_now_ms(), cursor, retry_at = 0;
    wait_entry *w = wait_for(d, id, false);
    if (w && now < w->retry_at_ms) {
        st->accounts_skipped++;
        return;
    }
    if (pg_ensure(&d->pg, d->cfg->pg_url, err, sizeof err) != 0 ||
        read_cursor(d, id, now, &cursor, err, sizeof err) != 0) {
        note_error(st, id, err);
        return;
    }
    /* A cursor ahead of our clock (a clock step back) must not make an
     * empty or inverted window. */
    int64_t to = now,
            from = (cursor < to ? cursor : to) - (int64_t)d->cfg->trades_overlap_s * MS_PER_S;
    deal *deals;
    size_t n, n_new = 0, recorded = 0;
    int f = fetch_deals(d, id, from, to, &deals, &n, &retry_at, err, sizeof err);
    if (f == FETCH_STOPPED)
        return;
    if (f != FETCH_OK) {
        if (retry_at > 0 && (w = wait_for(d, id, true)))
            w->retry_at_ms = retry_at;
        note_error(st, id, err);
        return;
    }
    st->deals_seen += n;
    int rc = store_window(d, id, deals, n, to, &n_new, err, sizeof err);
    free(deals);
    if (rc != 0) {
        note_error(st, id, err);
        return;
    }
    st->accounts_read++;
    st->deals_new += n_new;
    rc = record_trades(d, id, &recorded, err, sizeof err);
    st->trades_recorded += recorded;
    if (rc != 0)
        note_error(st, id, err);
}

/* Makes st the last pass's figures (and *out's). */
static void publish(detector *d, detector_stats *st, detector_stats *out)
{
    st->finished_ms = clock_now_ms();
    pthread_mutex_lock(&d->lock);
    st->passes = d->last.passes + 1;
    d->last = *st;
    pthread_mutex_unlock(&d->lock);
    if (out)
        *out = *st;
}

int detector_pass_once(detector *d, detector_stats *out, char *err, size_t errlen)
{
    detector_stats st;
    memset(&st, 0, sizeof st);
    PGresult *r = NULL;
    /* A connection that died since the last pass shows only when used:
     * one retry after reconnecting. */
    for (int attempt = 0; attempt < 2 && !r; attempt++) {
        if (pg_ensure(&d->pg, d->cfg->pg_url, err, errlen) != 0)
            break;
        r = query(d, "select id from accounts where enabled order by id", 0, NULL, err, errlen);
        if (!r && PQstatus(d->pg) == CONNECTION_OK)
            break;
    }
    if (!r) {
        st.errors = 1;
        snprintf(st.last_error, sizeof st.last_error, "%s", err);
        publish(d, &st, out);
        return -1;
    }
    for (int i = 0; i < PQntuples(r) && !atomic_load(&d->stop); i++)
        account_pass(d, PQgetvalue(r, i, 0), &st);
    PQclear(r);
    publish(d, &st, out);
    return 0;
}

/* ---- lifecycle ---- */

detector *detector_new(const config *cfg, char *err, size_t errlen)
{
    const char *url = cfg->broker_url, *tok = cfg->broker_token;
    if (!broker_xfer_url_scheme_ok(url)) {
        snprintf(err, errlen, "trades: [broker] url must start with http:// or https://");
        return NULL;
    }
    if (!tok[0] || !broker_xfer_one_line(tok) || !broker_xfer_one_line(url)) {
        snprintf(err, errlen,
                 "trades: the broker token must be set ([broker] token_file or "
                 "TRADEOPS_BROKER_TOKEN) and neither it nor the URL may contain a "
                 "line break");
        return NULL;
    }
    detector *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "trades: out of memory setting up the detector");
        return NULL;
    }
    /* From here on detector_free can undo whatever was done. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(d);
        snprintf(err, errlen, "trades: libcurl failed to initialise");
        return NULL;
    }
    d->cfg = cfg;
    d->page_limit = DETECTOR_PAGE_LIMIT;
    atomic_init(&d->stop, false);
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->wake, &ca);
    pthread_condattr_destroy(&ca);
    d->base_url = broker_xfer_base_url(url);
    d->headers = d->base_url ? broker_xfer_headers(tok, NULL) : NULL;
    if (!d->headers) {
        detector_free(d);
        snprintf(err, errlen, "trades: out of memory setting up the detector");
        return NULL;
    }
    return d;
}

static void *detector_main(void *arg)
{
    detector *d = arg;
    while (!atomic_load(&d->stop)) {
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        next.tv_sec += d->cfg->trades_interval_s;
        char err[ERR_LEN] = "";
        detector_stats st;
        detector_pass_once(d, &st, err, sizeof err); /* a failure is in st */
        /* Say each new problem once (stderr is the log file under the
         * console); the figures carry the rest. */
        if (st.errors && strcmp(st.last_error, d->printed) != 0)
            fprintf(stderr, "tradeops: trades: %s\n", st.last_error);
        snprintf(d->printed, sizeof d->printed, "%s", st.errors ? st.last_error : "");
        pthread_mutex_lock(&d->lock);
        while (!atomic_load(&d->stop) && pthread_cond_timedwait(&d->wake, &d->lock, &next) == 0)
            ;
        pthread_mutex_unlock(&d->lock);
    }
    return NULL;
}

int detector_start(detector *d, char *err, size_t errlen)
{
    if (d->started) {
        snprintf(err, errlen, "trades: the detector is already running");
        return -1;
    }
    atomic_store(&d->stop, false);
    int rc = pthread_create(&d->thread, NULL, detector_main, d);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the closed-trade detector thread: %s", strerror(rc));
        return -1;
    }
    d->started = true;
    return 0;
}

void detector_stop(detector *d)
{
    if (!d || !d->started)
        return;
    pthread_mutex_lock(&d->lock);
    atomic_store(&d->stop, true);
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    d->started = false;
}

void detector_free(detector *d)
{
    if (!d)
        return;
    detector_stop(d);
    broker_xfer_free(d->x);
    curl_slist_free_all(d->headers);
    if (d->pg)
        PQfinish(d->pg);
    free(d->waits);
    free(d->base_url);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
    curl_global_cleanup();
}

void detector_last_stats(detector *d, detector_stats *out)
{
    pthread_mutex_lock(&d->lock);
    *out = d->last;
    pthread_mutex_unlock(&d->lock);
}

int detector_set_page_limit(detector *d, int limit)
{
    if (limit < 1 || limit > DETECTOR_PAGE_LIMIT)
        return -1;
    d->page_limit = limit;
    return 0;
}
