/*
 * sync_queue.c - the workers' side of the journal sync queue (sync_queue.h):
 * claiming due jobs, recording each attempt, rescuing jobs whose worker is
 * gone, and flagging jobs past their deadline. The operators' actions are
 * in sync_queue_admin.c.
 *
 * Every attempt is appended to sync_jobs.errors as
 *   {"n": attempt, "at": ISO time, "ms": duration, "status": HTTP status or null,
 *    "class": error class ("" on success, "rescued" for a rescue), "message": text}
 * keeping the newest SQ_ERRORS_KEPT. A job past its deadline raises one
 * sync.sla_breach alert per account (rule "sync.sla", level the UTC date:
 * one page per account and day), resolved "auto" once the account has no
 * live breached job left.
 *
 * Threads: any; each function works on the caller's connection and leaves
 * no transaction open.
 */
#include "sync_queue.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "alerts.h"
#include "clock.h"
#include "pg.h"
#include "sanitize.h"
#include "sync_queue_int.h"

#define SLA_KIND "sync.sla_breach"
#define SLA_RULE "sync.sla"
#define MAX_CLAIM 1000 /* jobs one claim may take */

int sq_sqlstate_is(const PGresult *r, const char *code)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s && strcmp(s, code) == 0;
}

/* A uniform 32-bit value for the backoff's jitter. */
static uint32_t random32(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
        return v;
    /* No entropy yet (very early boot): the jitter only spreads retries. */
    uint64_t x = (uint64_t)clock_mono_us() * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(x >> 32);
}

static int fail_result(PGresult *r, char *err, size_t errlen)
{
    pg_error_copy(err, errlen, PQresultErrorMessage(r));
    PQclear(r);
    return -1;
}

static void rollback(PGconn *c)
{
    PQclear(pg_exec(c, "rollback"));
}

static void copy_col(char *dst, size_t n, const PGresult *r, int i, int col)
{
    snprintf(dst, n, "%s", PQgetisnull(r, i, col) ? "" : PQgetvalue(r, i, col));
}

static double col_num(const PGresult *r, int i, int col)
{
    return PQgetisnull(r, i, col) ? NAN : strtod(PQgetvalue(r, i, col), NULL);
}

static int64_t col_i64(const PGresult *r, int i, int col)
{
    return PQgetisnull(r, i, col) ? 0 : strtoll(PQgetvalue(r, i, col), NULL, 10);
}

void sync_policy_from_config(const config *cfg, sync_policy *p)
{
    p->unit_ms = cfg->sync_unit_ms;
    p->deadline_ms = (int64_t)cfg->sync_deadline_s * 1000;
    p->slow_cap_ms = (int64_t)cfg->sync_slow_cap_s * 1000;
    p->max_attempts = cfg->sync_max_attempts;
}

/* ---- claim ----------------------------------------------------------- */

enum {
    C_ID,
    C_PROV,
    C_ATT,
    C_MAX,
    C_CLOSED,
    C_BREACHED,
    C_ACCOUNT,
    C_TRADE,
    C_POS,
    C_SYM,
    C_SIDE,
    C_VOL,
    C_OPEN,
    C_OPRICE,
    C_CPRICE,
    C_PROFIT,
    C_COMM,
    C_SWAP,
    C_STRAT,
    C_MAGIC,
    C_SETTINGS
};

const char *const SYNC_SQL_CLAIM =
    "with c as ("
    " update sync_jobs j set state = 'running', attempt = j.attempt + 1,"
    " attempted_at = now(), attempted_by = $1"
    " where j.id in (select d.id from sync_jobs d"
    "  where d.state in ('available', 'retryable') and d.scheduled_at <= now()"
    "  and ($2::text is null or d.provider = $2)"
    "  order by d.scheduled_at, d.id limit $3::int for update skip locked)"
    " returning j.*)"
    " select c.id, c.provider, c.attempt, c.max_attempts,"
    " (extract(epoch from c.closed_at) * 1000)::bigint,"
    " c.sla_breached_at is not null as breached," /* named: the bench's pgbench \gset needs names */
    " c.account_id, c.trade_id, t.position_id, t.symbol, t.side, t.volume,"
    " (extract(epoch from t.open_time) * 1000)::bigint, t.open_price, t.close_price,"
    " t.profit, t.commission, t.swap, coalesce(t.strategy, ''), coalesce(t.magic, 0),"
    " coalesce(s.settings::text, '{}')"
    " from c join closed_trades t on t.id = c.trade_id"
    " left join sync_targets s on s.account_id = c.account_id and s.provider = c.provider"
    " order by c.scheduled_at, c.id";

static void fill_job(const PGresult *r, int i, sync_job *j)
{
    memset(j, 0, sizeof *j);
    j->id = col_i64(r, i, C_ID);
    enum sync_provider p = SYNC_TRADERVUE;
    if (sync_provider_parse(PQgetvalue(r, i, C_PROV), &p) != 0)
        p = SYNC_TRADERVUE; /* the column's check constraint allows only known names */
    j->provider = p;
    j->attempt = (int)col_i64(r, i, C_ATT);
    j->max_attempts = (int)col_i64(r, i, C_MAX);
    j->closed_ms = col_i64(r, i, C_CLOSED);
    j->breached = PQgetvalue(r, i, C_BREACHED)[0] == 't';
    copy_col(j->account, sizeof j->account, r, i, C_ACCOUNT);
    j->trade_id = col_i64(r, i, C_TRADE);
    copy_col(j->position, sizeof j->position, r, i, C_POS);
    copy_col(j->symbol, sizeof j->symbol, r, i, C_SYM);
    copy_col(j->side, sizeof j->side, r, i, C_SIDE);
    j->volume = col_num(r, i, C_VOL);
    j->open_ms = col_i64(r, i, C_OPEN);
    j->open_price = col_num(r, i, C_OPRICE);
    j->close_price = col_num(r, i, C_CPRICE);
    j->profit = col_num(r, i, C_PROFIT);
    j->commission = col_num(r, i, C_COMM);
    j->swap = col_num(r, i, C_SWAP);
    copy_col(j->strategy, sizeof j->strategy, r, i, C_STRAT);
    j->magic = col_i64(r, i, C_MAGIC);
    /* Settings that do not fit are left empty rather than cut into
     * invalid JSON: the provider then reports a configuration error. */
    const char *s = PQgetvalue(r, i, C_SETTINGS);
    if (strlen(s) < sizeof j->settings)
        snprintf(j->settings, sizeof j->settings, "%s", s);
}

int sync_queue_claim(PGconn *c, int provider, int max, const char *worker, sync_job *jobs, int *n,
                     char *err, size_t errlen)
{
    *n = 0;
    if (max <= 0)
        return 0;
    if (max > MAX_CLAIM)
        max = MAX_CLAIM;
    if (!worker || !worker[0]) {
        snprintf(err, errlen, "sync claim: a worker name is required");
        return -1;
    }
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max);
    const char *prov = NULL;
    if (provider >= 0) {
        if (provider >= SYNC_PROVIDER_COUNT) {
            snprintf(err, errlen, "sync claim: unknown provider %d", provider);
            return -1;
        }
        prov = sync_provider_name((enum sync_provider)provider);
    }
    const char *p[3] = {worker, prov, lim};
    PGresult *r = pg_exec_params(c, SYNC_SQL_CLAIM, 3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return fail_result(r, err, errlen);
    int rows = PQntuples(r);
    for (int i = 0; i < rows && i < max; i++)
        fill_job(r, i, &jobs[i]);
    *n = rows < max ? rows : max;
    PQclear(r);
    return 0;
}

/* ---- alerts ---------------------------------------------------------- */

static void deadline_words(int64_t ms, char *out, size_t n)
{
    if (ms >= 60000 && ms % 60000 == 0)
        snprintf(out, n, "%" PRId64 " min", ms / 60000);
    else if (ms >= 1000 && ms % 1000 == 0)
        snprintf(out, n, "%" PRId64 " s", ms / 1000);
    else
        snprintf(out, n, "%" PRId64 " ms", ms);
}

/* Raises (or refreshes) the account's sync.sla_breach alert. n_late > 1
 * names the count instead of one trade. */
static int raise_breach(PGconn *c, const config *cfg, const char *account, int64_t job_id,
                        const char *provider, const char *pos, int64_t n_late, int64_t deadline_ms,
                        char *err, size_t errlen)
{
    char when[32], title[240], level[16];
    deadline_words(deadline_ms, when, sizeof when);
    if (n_late > 1)
        snprintf(title, sizeof title,
                 "journal sync late: %" PRId64 " jobs of %.63s not in their journal %s after "
                 "the trade's close",
                 n_late, account, when);
    else
        snprintf(title, sizeof title,
                 "journal sync late: trade %.63s/%.39s not in %s %s after its close", account, pos,
                 provider, when);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(level, sizeof level, "%Y-%m-%d", &tm);
    cJSON *d = cJSON_CreateObject();
    if (d) {
        cJSON_AddNumberToObject(d, "job", (double)job_id);
        cJSON_AddStringToObject(d, "provider", provider);
        cJSON_AddStringToObject(d, "position", pos);
        if (n_late > 1)
            cJSON_AddNumberToObject(d, "late", (double)n_late);
    }
    char *js = d ? cJSON_PrintUnformatted(d) : NULL;
    cJSON_Delete(d);
    alert_spec a = {.kind = SLA_KIND,
                    .severity = ALERT_WARNING,
                    .account = account,
                    .rule = SLA_RULE,
                    .level = level,
                    .title = title,
                    .details_json = js};
    int rc = alert_raise(c, cfg, &a, NULL, NULL, err, errlen);
    cJSON_free(js);
    return rc;
}

int sync_queue_resolve_breaches(PGconn *c, const char *account, size_t *n_resolved, char *err,
                                size_t errlen)
{
    if (n_resolved)
        *n_resolved = 0;
    const char *p[1] = {account && account[0] ? account : NULL};
    PGresult *r = pg_exec_params(c,
                                 "select a.account_id from alerts a"
                                 " where a.kind = '" SLA_KIND "' and a.state <> 'resolved'"
                                 " and a.account_id is not null"
                                 " and ($1::text is null or a.account_id = $1)"
                                 " and not exists (select 1 from sync_jobs j"
                                 "  where j.account_id = a.account_id"
                                 "  and j.sla_breached_at is not null and j.state in " SQ_LIVE ")",
                                 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return fail_result(r, err, errlen);
    static const char *const kinds[1] = {SLA_KIND};
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        size_t k = 0;
        rc = alert_resolve(c, PQgetvalue(r, i, 0), kinds, 1, "auto", &k, err, errlen);
        if (n_resolved)
            *n_resolved += k;
    }
    PQclear(r);
    return rc;
}

/* ---- complete / fail ------------------------------------------------- */

/* The attempt's message as stored: valid UTF-8, no control characters
 * (it is shown on terminals), under the column's 300 characters. */
static void clean_message(const char *in, char *out, size_t n)
{
    sanitize_text(in ? in : "", out, n < 300 ? n : 300, true);
}

/* The result as JSON text: the provider's document when it parses, else
 * the text as a JSON string; NULL when there is none. malloc'ed. */
static char *result_json(const char *text)
{
    if (!text || !text[0])
        return NULL;
    cJSON *d = cJSON_Parse(text);
    if (!d) {
        char clean[sizeof((sync_attempt *)0)->result];
        sanitize_text(text, clean, sizeof clean, true);
        d = cJSON_CreateString(clean);
    }
    char *s = d ? cJSON_PrintUnformatted(d) : NULL;
    cJSON_Delete(d);
    return s;
}

const char *const SYNC_SQL_COMPLETE =
    "update sync_jobs j set state = 'completed', completed_at = now(), finalized_at = now(),"
    " result = $4::jsonb, last_class = null, last_status = null, last_error = null,"
    " sla_breached_at = case when j.sla_breached_at is null"
    "  and now() > j.closed_at + $5::bigint * interval '1 millisecond' then now()"
    "  else j.sla_breached_at end,"
    " errors = " SQ_ERRORS_APPEND(
        "jsonb_build_object('n', j.attempt, 'at', " SQ_NOW_ISO
        ", 'ms', $3::bigint, 'status', nullif($6::int, 0),"
        " 'class', '', 'message', '')") " where j.id = $1 and j.state = 'running' and "
                                        "j.attempted_by = $2"
                                        " returning j.account_id, exists (select 1 from alerts a"
                                        " where a.kind = 'sync.sla_breach' and coalesce(a.account_id, '') ="
                                        " j.account_id and a.state <> 'resolved')";

int sync_queue_complete(PGconn *c, const config *cfg, const sync_job *job, const char *worker,
                        const sync_attempt *a, bool *applied, char *err, size_t errlen)
{
    *applied = false;
    char id[24], ms[24], deadline[24], status[16];
    snprintf(id, sizeof id, "%" PRId64, job->id);
    snprintf(ms, sizeof ms, "%" PRId64, a->duration_ms > 0 ? a->duration_ms : 0);
    snprintf(deadline, sizeof deadline, "%" PRId64,
             cfg ? (int64_t)cfg->sync_deadline_s * 1000 : (int64_t)120000);
    snprintf(status, sizeof status, "%ld", a->status > 0 && a->status < 1000 ? a->status : 0L);
    char *result = result_json(a->result);
    if (a->result[0] && !result) {
        snprintf(err, errlen, "sync complete: out of memory");
        return -1;
    }
    const char *p[6] = {id, worker ? worker : "", ms, result, deadline, status};
    if (pg_exec_ok(c, "begin", err, errlen) != 0) {
        cJSON_free(result);
        return -1;
    }
    PGresult *r = pg_exec_params(c, SYNC_SQL_COMPLETE, 6, NULL, p, NULL, NULL, 0);
    cJSON_free(result);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail_result(r, err, errlen);
        rollback(c);
        return -1;
    }
    if (PQntuples(r) == 0) { /* no longer ours: rescued, re-claimed or deleted */
        PQclear(r);
        rollback(c);
        return 0;
    }
    char account[64];
    copy_col(account, sizeof account, r, 0, 0);
    /* Only an account with an active deadline alert has one to resolve. */
    bool alerted = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    if ((alerted && sync_queue_resolve_breaches(c, account, NULL, err, errlen) != 0) ||
        pg_exec_ok(c, "commit", err, errlen) != 0) {
        rollback(c);
        return -1;
    }
    *applied = true;
    return 0;
}

static const char *SQL_FAIL_LOCK =
    "select j.state = 'running' and j.attempted_by = $2, j.attempt, j.max_attempts,"
    " j.manual_retries, j.sla_breached_at is not null,"
    " (extract(epoch from j.closed_at) * 1000)::bigint,"
    " (extract(epoch from now()) * 1000)::bigint, j.account_id, j.provider, t.position_id"
    " from sync_jobs j join closed_trades t on t.id = j.trade_id where j.id = $1 for update of j";

static const char *SQL_FAIL =
    "update sync_jobs j set state = $3,"
    " scheduled_at = case when $3 = 'retryable'"
    "  then now() + $4::bigint * interval '1 millisecond' else j.scheduled_at end,"
    " finalized_at = case when $3 = 'dead' then now() end,"
    " max_attempts = $5::int,"
    " sla_breached_at = case when $6::boolean and j.sla_breached_at is null then now()"
    "  else j.sla_breached_at end,"
    " last_class = $7, last_status = nullif($8::int, 0), last_error = $9,"
    " errors = " SQ_ERRORS_APPEND(
        "jsonb_build_object('n', j.attempt, 'at', " SQ_NOW_ISO
        ", 'ms', $10::bigint, 'status', nullif($8::int, 0),"
        " 'class', $7::text, 'message', $9::text)") " where j.id = $1 and j.state = 'running' and "
                                                    "j.attempted_by = $2";

int sync_queue_fail(PGconn *c, const config *cfg, const sync_policy *p, const sync_job *job,
                    const char *worker, const sync_attempt *a, bool *applied, char *err,
                    size_t errlen)
{
    *applied = false;
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, job->id);
    const char *lp[2] = {id, worker ? worker : ""};
    if (pg_exec_ok(c, "begin", err, errlen) != 0)
        return -1;
    PGresult *r = pg_exec_params(c, SQL_FAIL_LOCK, 2, NULL, lp, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail_result(r, err, errlen);
        rollback(c);
        return -1;
    }
    if (PQntuples(r) == 0 || PQgetvalue(r, 0, 0)[0] != 't') {
        PQclear(r);
        rollback(c);
        return 0;
    }
    int attempt = (int)col_i64(r, 0, 1);
    int job_max = (int)col_i64(r, 0, 2);
    bool manual = col_i64(r, 0, 3) > 0;
    bool flagged = PQgetvalue(r, 0, 4)[0] == 't';
    int64_t closed_ms = col_i64(r, 0, 5), now_ms = col_i64(r, 0, 6);
    char account[64], provider[16], pos[40];
    copy_col(account, sizeof account, r, 0, 7);
    copy_col(provider, sizeof provider, r, 0, 8);
    copy_col(pos, sizeof pos, r, 0, 9);
    PQclear(r);

    /* The limit: the configured one, unless an operator's retry raised the
     * job's own past it (a manual retry does not count against it). */
    sync_policy pp = *p;
    if (manual && job_max > pp.max_attempts)
        pp.max_attempts = job_max;
    if (pp.max_attempts < 1)
        pp.max_attempts = 1;
    if (pp.max_attempts > 100)
        pp.max_attempts = 100;
    enum sync_error_class cls = a->cls == SYNC_ERR_NONE ? SYNC_ERR_PAYLOAD : a->cls;
    sync_next next = sync_after_failure(&pp, cls, attempt, closed_ms, now_ms,
                                        a->retry_after_ms > 0 ? a->retry_after_ms : 0, random32());
    bool breach = next.breach || now_ms > closed_ms + p->deadline_ms;

    char st_s[16], delay[24], max_s[16], breach_s[8], status[16], msg[300], ms[24];
    snprintf(st_s, sizeof st_s, "%s", sync_state_name(next.state));
    snprintf(delay, sizeof delay, "%" PRId64, next.delay_ms > 0 ? next.delay_ms : 0);
    snprintf(max_s, sizeof max_s, "%d", pp.max_attempts);
    snprintf(breach_s, sizeof breach_s, "%s", breach ? "true" : "false");
    snprintf(status, sizeof status, "%ld", a->status > 0 && a->status < 1000 ? a->status : 0L);
    clean_message(a->message[0] ? a->message : sync_error_class_name(cls), msg, sizeof msg);
    snprintf(ms, sizeof ms, "%" PRId64, a->duration_ms > 0 ? a->duration_ms : 0);
    const char *up[10] = {id,     lp[1], st_s, delay, max_s, breach_s, sync_error_class_name(cls),
                          status, msg,   ms};
    if (pg_exec_params_ok(c, SQL_FAIL, 10, up, err, errlen) != 0) {
        rollback(c);
        return -1;
    }
    if (breach && !flagged &&
        raise_breach(c, cfg, account, job->id, provider, pos, 1, p->deadline_ms, err, errlen) !=
            0) {
        rollback(c);
        return -1;
    }
    if (pg_exec_ok(c, "commit", err, errlen) != 0) {
        rollback(c);
        return -1;
    }
    *applied = true;
    return 0;
}

/* ---- rescue and the deadline sweep ----------------------------------- */

/* The update re-checks that the job is still running under the same
 * worker, so a job completed meanwhile is left alone. */
static const char *SQL_RESCUE =
    "with r as (select x.id, x.attempted_by, x.ms, x.ours from (select j.id, j.attempted_by,"
    "  (extract(epoch from now() - j.attempted_at) * 1000)::bigint as ms,"
    "  $1::text is not null and left(j.attempted_by, length($1)) = $1"
    "  and ($2::text is null or left(j.attempted_by, length($2)) <> $2) as ours"
    "  from sync_jobs j where j.state = 'running') x"
    " where x.ours or ($3::bigint > 0 and x.ms > $3::bigint))"
    " update sync_jobs j set state = 'retryable', scheduled_at = now(),"
    " attempt = greatest(j.attempt - 1, 0), last_class = 'rescued', last_status = null,"
    " last_error = left(m.msg, 300),"
    " errors = " SQ_ERRORS_APPEND(
        "jsonb_build_object('n', j.attempt, 'at', " SQ_NOW_ISO
        ", 'ms', r.ms, 'status', null, 'class', 'rescued',"
        " 'message', left(m.msg, 300))") " from r cross join lateral (select case when r.ours"
                                         "  then 'taken back from ' || r.attempted_by || ': a "
                                         "previous run of this instance'"
                                         "  else 'taken back from ' || r.attempted_by || ' after ' "
                                         "|| (r.ms / 1000)::text"
                                         "  || ' s running' end as msg) m"
                                         " where j.id = r.id and j.state = 'running' and "
                                         "j.attempted_by = r.attempted_by";

int sync_queue_rescue(PGconn *c, const char *instance, const char *boot, int64_t stale_ms, int *n,
                      char *err, size_t errlen)
{
    *n = 0;
    char dead[200], cur[300], stale[24];
    const char *p[3] = {NULL, NULL, stale};
    if (instance && boot && strlen(instance) + strlen(boot) + 3 > sizeof dead) {
        snprintf(err, errlen, "sync rescue: instance and boot names too long");
        return -1;
    }
    if (instance && instance[0] && boot && boot[0]) {
        snprintf(dead, sizeof dead, "%s/", instance);
        snprintf(cur, sizeof cur, "%s/%s/", instance, boot);
        p[0] = dead;
        p[1] = cur;
    }
    snprintf(stale, sizeof stale, "%" PRId64, stale_ms > 0 ? stale_ms : 0);
    if (!p[0] && stale_ms <= 0)
        return 0;
    PGresult *r = pg_exec_params(c, SQL_RESCUE, 3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return fail_result(r, err, errlen);
    *n = atoi(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

static const char *SQL_SWEEP =
    "with f as (update sync_jobs j set sla_breached_at = now()"
    " where j.state in " SQ_LIVE " and j.sla_breached_at is null"
    " and j.closed_at + $1::bigint * interval '1 millisecond' < now()"
    " returning j.id, j.account_id, j.provider, j.trade_id)"
    " select f.account_id, count(*), min(f.id), (array_agg(f.provider order by f.id))[1],"
    " (array_agg(t.position_id order by f.id))[1]"
    " from f join closed_trades t on t.id = f.trade_id group by f.account_id"
    " order by f.account_id";

int sync_queue_sla_sweep(PGconn *c, const config *cfg, const sync_policy *p, int *n, char *err,
                         size_t errlen)
{
    *n = 0;
    char deadline[24];
    snprintf(deadline, sizeof deadline, "%" PRId64, p->deadline_ms);
    const char *sp[1] = {deadline};
    if (pg_exec_ok(c, "begin", err, errlen) != 0)
        return -1;
    PGresult *r = pg_exec_params(c, SQL_SWEEP, 1, NULL, sp, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail_result(r, err, errlen);
        rollback(c);
        return -1;
    }
    int flagged = 0, rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        int64_t late = col_i64(r, i, 1);
        flagged += (int)late;
        rc = raise_breach(c, cfg, PQgetvalue(r, i, 0), col_i64(r, i, 2), PQgetvalue(r, i, 3),
                          PQgetvalue(r, i, 4), late, p->deadline_ms, err, errlen);
    }
    PQclear(r);
    /* Accounts whose late jobs are all done (or were stopped) meanwhile. */
    if (rc != 0 || sync_queue_resolve_breaches(c, NULL, NULL, err, errlen) != 0 ||
        pg_exec_ok(c, "commit", err, errlen) != 0) {
        rollback(c);
        return -1;
    }
    *n = flagged;
    return 0;
}
