/*
 * sync_view_sql.c - sync_view_load and sync_view_load_job: what the Sync
 * screen shows, read from the queue in one short read-only transaction of
 * parameterised statements (sync_view.h).
 *
 * Whole-queue figures (counts, rates, latency, health, the error
 * analysis) cover every job in the operator's scope; the rows and
 * match_by_state cover the jobs the filter matches (sync_filter_sql), so
 * a bulk confirmation counts all of them, not only the loaded rows.
 *
 * Attempt times in the errors arrays may be stored as a timestamp text or
 * as epoch milliseconds; AT_MS reads either and ignores anything else.
 *
 * Threads: any; works on the caller's connection, leaves no transaction open.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pg.h"
#include "sync_view.h"

#define SCOPE_ARG 1        /* $1: the trader's accounts (text[]) or null */
#define FILTER_PARAMS 16   /* placeholders sync_filter_sql may add */
#define WHERE_MAX 2048
#define SQL_MAX 4096
#define DETAIL_ATTEMPTS_MAX 1000 /* newest attempts a detail view keeps */

/* Epoch ms of the time under key k of a JSON object e (SQL text):
 * timestamp text or epoch ms (or seconds); null for anything else. */
#define AT_MS(e, k)                                                                                \
    "(case jsonb_typeof(" e "->'" k "')"                                                           \
    " when 'number' then case when (" e "->>'" k "')::float8 < 1e11"                               \
    "  then (" e "->>'" k "')::float8 * 1000 else (" e "->>'" k "')::float8 end"                   \
    " when 'string' then case when " e "->>'" k "' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'"               \
    "  then extract(epoch from (" e "->>'" k "')::timestamptz) * 1000 end end)"

#define SCOPE_J "($1::text[] is null or j.account_id = any($1))"
#define LIVE "('available', 'running', 'retryable')"
#define DAY "interval '24 hours'"

static const char SQL_SUMMARY[] =
    "select count(*) filter (where state = 'available'),"
    " count(*) filter (where state = 'running'),"
    " count(*) filter (where state = 'retryable'),"
    " count(*) filter (where state = 'completed'),"
    " count(*) filter (where state = 'dead'),"
    " count(*) filter (where state = 'cancelled'),"
    " count(*) filter (where state in " LIVE " and sla_breached_at is not null),"
    " count(*) filter (where sla_breached_at > now() - " DAY "),"
    " count(*) filter (where state = 'completed' and finalized_at > now() - " DAY "),"
    " count(*) filter (where state = 'dead' and finalized_at > now() - " DAY "),"
    " percentile_cont(array[0.5, 0.95, 0.99]) within group"
    "  (order by extract(epoch from completed_at - closed_at) * 1000)"
    "  filter (where state = 'completed' and completed_at > now() - " DAY "),"
    " count(*) filter (where state = 'completed' and completed_at > now() - " DAY ")"
    " from sync_jobs j where " SCOPE_J;

/* Per provider: jobs now and the last success (one pass over the jobs),
 * and the newest failure among the jobs still failed (retryable, dead: few,
 * and indexed by state); the attempts of the last hour refine both below. */
static const char SQL_PROVIDERS[] =
    "select p.provider, coalesce(c.live, 0), coalesce(c.dead, 0), c.last_ok,"
    " f.at_ms, coalesce(f.last_error, ''),"
    " exists (select 1 from sync_targets t where t.provider = p.provider and t.enabled"
    "  and ($1::text[] is null or t.account_id = any($1)))"
    " from unnest(array['tradervue', 'webhook', 'csv']) p(provider)"
    " left join (select j.provider, count(*) filter (where j.state in " LIVE ") live,"
    "  count(*) filter (where j.state = 'dead') dead,"
    "  extract(epoch from max(j.completed_at)) * 1000 last_ok"
    "  from sync_jobs j where " SCOPE_J " group by j.provider) c on c.provider = p.provider"
    " left join lateral (select extract(epoch from j.attempted_at) * 1000 at_ms, j.last_error"
    "  from sync_jobs j where j.provider = p.provider and j.state in ('retryable', 'dead')"
    "  and j.attempted_at is not null and " SCOPE_J
    "  order by j.attempted_at desc limit 1) f on true";

/* Attempts of the last hour, from the jobs attempted in it (bounded). */
static const char SQL_HOUR[] =
    "with a as (select j.provider, coalesce(e->>'class', '') cls,"
    "  left(coalesce(e->>'message', ''), 159) msg, " AT_MS("e", "at") " at_ms"
    "  from sync_jobs j cross join lateral jsonb_array_elements(j.errors) e"
    "  where j.attempted_at > now() - interval '1 hour' and " SCOPE_J ")"
    " select provider, count(*) filter (where cls = ''), count(*) filter (where cls <> ''),"
    " max(at_ms) filter (where cls = ''), max(at_ms) filter (where cls <> ''),"
    " coalesce((array_agg(msg order by at_ms desc) filter (where cls <> ''))[1], '')"
    " from a where at_ms > extract(epoch from now() - interval '1 hour') * 1000"
    " group by provider";

static const char SQL_GROUPS[] =
    "select g.cls, g.n, s.id, coalesce(s.last_status, 0), coalesce(s.last_error, '')"
    " from (select coalesce(j.last_class, '') cls, count(*) n, max(j.id) newest"
    "  from sync_jobs j where j.state in ('retryable', 'dead') and " SCOPE_J " group by 1) g"
    " join sync_jobs s on s.id = g.newest order by g.n desc, g.cls";

#define ROW_COLS                                                                                   \
    "j.id, j.provider, j.state, j.attempt, j.max_attempts, j.manual_retries, j.account_id,"       \
    " j.trade_id, t.position_id, t.symbol, extract(epoch from j.closed_at) * 1000,"              \
    " extract(epoch from j.created_at) * 1000, extract(epoch from j.scheduled_at) * 1000,"      \
    " extract(epoch from j.attempted_at) * 1000, extract(epoch from j.finalized_at) * 1000,"    \
    " extract(epoch from j.completed_at) * 1000, j.sla_breached_at is not null,"                \
    " coalesce(j.last_class, ''), coalesce(j.last_status, 0), coalesce(j.last_error, ''),"      \
    " coalesce(j.attempted_by, '')"
#define ROW_NCOLS 21

static int64_t ms_of(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : (int64_t)strtod(PQgetvalue(r, row, col), NULL);
}

static int64_t int_of(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

#define COPY(dst, r, row, col) snprintf((dst), sizeof(dst), "%s", PQgetvalue((r), (row), (col)))

static PGresult *run(PGconn *c, const char *sql, int n, const char *const *p, char *err,
                     size_t errlen)
{
    PGresult *r = pg_exec_params(c, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

static void fill_row(sync_row *w, const PGresult *r, int row)
{
    w->id = int_of(r, row, 0);
    enum sync_provider p;
    w->provider = sync_provider_parse(PQgetvalue(r, row, 1), &p) == 0 ? p : SYNC_TRADERVUE;
    enum sync_state st;
    /* The schema's check allows only known states; running is the safe
     * guess for anything else (no action offers itself on it). */
    w->state = sync_state_parse(PQgetvalue(r, row, 2), &st) == 0 ? st : SYNC_RUNNING;
    w->attempt = (int)int_of(r, row, 3);
    w->max_attempts = (int)int_of(r, row, 4);
    w->manual_retries = (int)int_of(r, row, 5);
    COPY(w->account, r, row, 6);
    w->trade_id = int_of(r, row, 7);
    COPY(w->position, r, row, 8);
    COPY(w->symbol, r, row, 9);
    w->closed_ms = ms_of(r, row, 10);
    w->created_ms = ms_of(r, row, 11);
    w->scheduled_ms = ms_of(r, row, 12);
    w->attempted_ms = ms_of(r, row, 13);
    w->finalized_ms = ms_of(r, row, 14);
    w->completed_ms = ms_of(r, row, 15);
    w->breached = PQgetvalue(r, row, 16)[0] == 't';
    enum sync_error_class cls;
    const char *cn = PQgetvalue(r, row, 17);
    w->last_class = cn[0] && sync_error_class_parse(cn, &cls) == 0 ? cls : SYNC_ERR_NONE;
    w->last_status = (long)int_of(r, row, 18);
    COPY(w->last_error, r, row, 19);
    COPY(w->attempted_by, r, row, 20);
}

/* Parses "{1.5,2,3}" (a float8[] as text) into out[0..2]; NAN when null. */
static void parse_percentiles(const PGresult *r, int col, latency_summary *l)
{
    l->p50 = l->p95 = l->p99 = NAN;
    if (PQgetisnull(r, 0, col))
        return;
    const char *p = PQgetvalue(r, 0, col);
    double *dst[3] = {&l->p50, &l->p95, &l->p99};
    if (*p == '{')
        p++;
    for (int i = 0; i < 3 && *p; i++) {
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            break;
        *dst[i] = v;
        p = *end == ',' ? end + 1 : end;
    }
}

static void fill_summary(sync_set *s, const PGresult *r)
{
    for (int i = 0; i < SYNC_STATE_COUNT; i++)
        s->by_state[i] = int_of(r, 0, i);
    s->breached_live = int_of(r, 0, 6);
    s->breached_24h = int_of(r, 0, 7);
    int64_t done = int_of(r, 0, 8), dead = int_of(r, 0, 9);
    s->success_rate = done + dead ? (double)done / (double)(done + dead) : NAN;
    parse_percentiles(r, 10, &s->latency);
    s->latency.count = (uint64_t)int_of(r, 0, 11);
}

static void fill_providers(sync_set *s, const PGresult *rp, const PGresult *rh)
{
    for (int i = 0; i < PQntuples(rp); i++) {
        enum sync_provider p;
        if (sync_provider_parse(PQgetvalue(rp, i, 0), &p) != 0)
            continue;
        sync_provider_health *h = &s->providers[p];
        h->live = int_of(rp, i, 1);
        h->dead = int_of(rp, i, 2);
        h->last_ok_ms = ms_of(rp, i, 3);
        h->last_fail_ms = ms_of(rp, i, 4);
        COPY(h->last_error, rp, i, 5);
        h->configured = PQgetvalue(rp, i, 6)[0] == 't';
    }
    for (int i = 0; i < PQntuples(rh); i++) {
        enum sync_provider p;
        if (sync_provider_parse(PQgetvalue(rh, i, 0), &p) != 0)
            continue;
        sync_provider_health *h = &s->providers[p];
        h->ok_1h = int_of(rh, i, 1);
        h->failed_1h = int_of(rh, i, 2);
        int64_t ok = ms_of(rh, i, 3), fail = ms_of(rh, i, 4);
        if (ok > h->last_ok_ms)
            h->last_ok_ms = ok;
        /* The attempt itself is newer than its job's claim time. */
        if (fail && fail >= h->last_fail_ms) {
            h->last_fail_ms = fail;
            COPY(h->last_error, rh, i, 5);
        }
    }
}

static void fill_groups(sync_set *s, const PGresult *r)
{
    for (size_t i = 0; i < s->n_groups; i++) {
        sync_class_group *g = &s->groups[i];
        int row = (int)i;
        enum sync_error_class c;
        const char *cn = PQgetvalue(r, row, 0);
        g->cls = cn[0] && sync_error_class_parse(cn, &c) == 0 ? c : SYNC_ERR_NONE;
        g->count = int_of(r, row, 1);
        g->sample_id = int_of(r, row, 2);
        g->sample_status = (long)int_of(r, row, 3);
        COPY(g->sample, r, row, 4);
    }
}

static void fill_matching(sync_set *s, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        enum sync_state st;
        if (sync_state_parse(PQgetvalue(r, i, 0), &st) != 0)
            continue;
        s->match_by_state[st] = int_of(r, i, 1);
        s->n_matching += s->match_by_state[st];
    }
}

/* The scope parameter: NULL (every account) or a text[] literal. */
static bool scope_param(const operator_id *scope, char **lit)
{
    *lit = NULL;
    if (!scope || scope->role != ROLE_TRADER)
        return true;
    *lit = pg_text_array_literal(scope->accounts, scope->n_accounts);
    return *lit != NULL;
}

sync_set *sync_view_load(PGconn *c, const sync_filter *f, size_t max_rows,
                         const operator_id *scope, char *err, size_t errlen)
{
    char *scope_lit;
    if (!scope_param(scope, &scope_lit)) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *params[1 + FILTER_PARAMS + 1] = {scope_lit};
    char bufs[1 + FILTER_PARAMS + 1][32];
    int n = SCOPE_ARG;
    char where[WHERE_MAX] = "";
    if (sync_filter_sql(f, where, sizeof where, params, bufs, &n, 1 + FILTER_PARAMS) != 0) {
        snprintf(err, errlen, "the filter is too long to load");
        free(scope_lit);
        return NULL;
    }
    char limit[24];
    snprintf(limit, sizeof limit, "%zu", max_rows);
    params[n] = limit;
    char sql_rows[SQL_MAX], sql_match[SQL_MAX];
    snprintf(sql_rows, sizeof sql_rows,
             "select " ROW_COLS " from sync_jobs j join closed_trades t on t.id = j.trade_id"
             " where " SCOPE_J "%s order by j.id desc limit $%d::bigint",
             where, n + 1);
    snprintf(sql_match, sizeof sql_match,
             "select j.state, count(*) from sync_jobs j join closed_trades t on t.id = j.trade_id"
             " where " SCOPE_J "%s group by j.state",
             where);
    PGresult *rs = NULL, *rp = NULL, *rh = NULL, *rg = NULL, *rr = NULL, *rm = NULL;
    sync_set *s = NULL;
    if (pg_exec_ok(c, "begin isolation level repeatable read read only", err, errlen) != 0)
        goto out;
    const char *const *p1 = params;
    if ((rs = run(c, SQL_SUMMARY, 1, p1, err, errlen)) &&
        (rp = run(c, SQL_PROVIDERS, 1, p1, err, errlen)) &&
        (rh = run(c, SQL_HOUR, 1, p1, err, errlen)) && (rg = run(c, SQL_GROUPS, 1, p1, err, errlen)) &&
        (rr = run(c, sql_rows, n + 1, p1, err, errlen)))
        rm = run(c, sql_match, n, p1, err, errlen);
    PQclear(pg_exec(c, rm ? "commit" : "rollback"));
    if (!rm)
        goto out;
    s = sync_set_new((size_t)PQntuples(rr), (size_t)PQntuples(rg));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    fill_summary(s, rs);
    fill_providers(s, rp, rh);
    fill_groups(s, rg);
    for (size_t i = 0; i < s->n_rows; i++)
        fill_row(&s->rows[i], rr, (int)i);
    fill_matching(s, rm);
    s->filter = *f;
    s->loaded_ms = clock_now_ms();
out:
    PQclear(rs);
    PQclear(rp);
    PQclear(rh);
    PQclear(rg);
    PQclear(rr);
    PQclear(rm);
    free(scope_lit);
    return s;
}

int sync_view_load_summary(PGconn *c, const operator_id *scope, sync_set *out, char *err,
                           size_t errlen)
{
    char *scope_lit;
    if (!scope_param(scope, &scope_lit)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *params[1] = {scope_lit};
    PGresult *r = run(c, SQL_SUMMARY, 1, params, err, errlen);
    free(scope_lit);
    if (!r)
        return -1;
    fill_summary(out, r);
    PQclear(r);
    return 0;
}

/* ---- one job's every attempt ----------------------------------------- */

static const char SQL_JOB[] =
    "select " ROW_COLS ", t.side, t.volume, t.open_price, t.close_price, t.profit,"
    " extract(epoch from t.open_time) * 1000, coalesce(t.strategy, ''),"
    " coalesce(j.result::text, ''), jsonb_array_length(j.archived_errors)"
    " from sync_jobs j join closed_trades t on t.id = j.trade_id where j.id = $2 and " SCOPE_J;

/* Every attempt: archived ones by reset (oldest reset first), then the
 * current ones, each oldest first; the newest DETAIL_ATTEMPTS_MAX. */
static const char SQL_ATTEMPTS[] =
    "select * from (select x.reset, x.reset_ms, x.ord,"
    " case jsonb_typeof(x.e->'n') when 'number'"
    "  then least(greatest((x.e->>'n')::numeric, 0), 1000000)::int end n,"
    " " AT_MS("x.e", "at") " at_ms,"
    " case jsonb_typeof(x.e->'ms') when 'number'"
    "  then least(greatest((x.e->>'ms')::numeric, 0), 1e15)::bigint end ms,"
    " case jsonb_typeof(x.e->'status') when 'number'"
    "  then least(greatest((x.e->>'status')::numeric, 0), 999)::int end status,"
    " left(coalesce(x.e->>'class', ''), 23) cls, left(coalesce(x.e->>'message', ''), 299) msg"
    " from (select r.ord reset, " AT_MS("r.a", "reset_at") " reset_ms, e.ord, e.e"
    "   from sync_jobs j cross join lateral jsonb_array_elements(j.archived_errors)"
    "    with ordinality r(a, ord)"
    "   cross join lateral jsonb_array_elements(case"
    "    when jsonb_typeof(r.a) = 'array' then r.a"
    "    when jsonb_typeof(r.a) = 'object' and jsonb_typeof(r.a->'errors') = 'array'"
    "     then r.a->'errors' else '[]'::jsonb end) with ordinality e(e, ord)"
    "   where j.id = $2 and " SCOPE_J
    "  union all"
    "  select 0, null, e.ord, e.e from sync_jobs j"
    "   cross join lateral jsonb_array_elements(j.errors) with ordinality e(e, ord)"
    "   where j.id = $2 and " SCOPE_J ") x"
    " where jsonb_typeof(x.e) = 'object'"
    " order by x.reset = 0, x.reset, x.ord desc limit $3::int) y"
    " order by y.reset = 0, y.reset, y.ord";

static void fill_attempt(sync_attempt_view *a, const PGresult *r, int row)
{
    a->reset = (int)int_of(r, row, 0);
    a->reset_ms = ms_of(r, row, 1);
    a->n = (int)int_of(r, row, 3);
    a->at_ms = ms_of(r, row, 4);
    a->duration_ms = PQgetisnull(r, row, 5) ? -1 : int_of(r, row, 5);
    a->status = (long)int_of(r, row, 6);
    COPY(a->class_name, r, row, 7);
    enum sync_error_class c;
    a->cls = a->class_name[0] && sync_error_class_parse(a->class_name, &c) == 0 ? c
                                                                                : SYNC_ERR_NONE;
    COPY(a->message, r, row, 8);
}

static double num_of(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

int sync_view_load_job(PGconn *c, int64_t job_id, const operator_id *scope, sync_detail **out,
                       char *err, size_t errlen)
{
    *out = NULL;
    char *scope_lit;
    if (!scope_param(scope, &scope_lit)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char id[24], cap[16];
    snprintf(id, sizeof id, "%" PRId64, job_id);
    snprintf(cap, sizeof cap, "%d", DETAIL_ATTEMPTS_MAX);
    const char *params[3] = {scope_lit, id, cap};
    PGresult *rj = NULL, *ra = NULL;
    int rc = -1;
    if (pg_exec_ok(c, "begin isolation level repeatable read read only", err, errlen) != 0)
        goto out;
    if ((rj = run(c, SQL_JOB, 2, params, err, errlen)) != NULL)
        ra = run(c, SQL_ATTEMPTS, 3, params, err, errlen);
    PQclear(pg_exec(c, ra ? "commit" : "rollback"));
    if (!ra)
        goto out;
    bool found = PQntuples(rj) == 1;
    sync_detail *d = sync_detail_new(found ? (size_t)PQntuples(ra) : 0);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (found) {
        fill_row(&d->job, rj, 0);
        int k = ROW_NCOLS;
        COPY(d->side, rj, 0, k);
        d->volume = num_of(rj, 0, k + 1);
        d->open_price = num_of(rj, 0, k + 2);
        d->close_price = num_of(rj, 0, k + 3);
        d->profit = num_of(rj, 0, k + 4);
        d->open_ms = ms_of(rj, 0, k + 5);
        COPY(d->strategy, rj, 0, k + 6);
        COPY(d->result, rj, 0, k + 7);
        d->n_resets = (int)int_of(rj, 0, k + 8);
        for (size_t i = 0; i < d->n_attempts; i++)
            fill_attempt(&d->attempts[i], ra, (int)i);
    }
    *out = d;
    rc = 0;
out:
    PQclear(rj);
    PQclear(ra);
    free(scope_lit);
    return rc;
}
