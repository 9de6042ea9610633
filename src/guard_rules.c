/*
 * guard_rules.c - see guard_rules.h.
 *
 * A rule set travels as text parameters: unset amounts as NULL, the warning
 * levels as a float8[] literal built from numbers, the countdown's "alert
 * only" (-1 in guard_rules) as NULL. Whatever comes back from the table is
 * parsed strictly and checked again with guard_rules_check, so a row edited
 * by hand cannot hand the guard a rule it would misread.
 *
 * Threads: any, on the caller's connection.
 */
#include "guard_rules.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "pg.h"
#include "sanitize.h"

#define MINUTES_PER_HOUR 60
#define ACTION_SET_GUARD "account.set_guard"

bool guard_rules_row_custom(const PGresult *res, int row, int col0)
{
    return !PQgetisnull(res, row, col0) && PQgetvalue(res, row, col0)[0] == 't';
}

/* A float8 column: NAN for NULL when nullable, else an error. */
static int col_double(const PGresult *res, int row, int col, bool nullable, double *out)
{
    if (PQgetisnull(res, row, col)) {
        *out = NAN;
        return nullable ? 0 : -1;
    }
    const char *s = PQgetvalue(res, row, col);
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

static int col_int(const PGresult *res, int row, int col, int null_value, int *out)
{
    if (PQgetisnull(res, row, col)) {
        *out = null_value;
        return 0;
    }
    const char *s = PQgetvalue(res, row, col);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno == ERANGE || v < -1000000 || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

/* "0.5,0.8" (array_to_string of warn_levels). */
static int parse_warn(const char *s, guard_rules *r)
{
    r->n_warn = 0;
    while (*s) {
        if (r->n_warn == GUARD_MAX_WARN)
            return -1;
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (end == s || errno == ERANGE || !isfinite(d) || (*end && *end != ','))
            return -1;
        r->warn[r->n_warn++] = d;
        s = *end ? end + 1 : end;
    }
    return 0;
}

int guard_rules_from_row(const PGresult *res, int row, int col0, guard_rules *out, char *err,
                         size_t errlen)
{
    guard_rules r;
    guard_rules_default(&r);
    *out = r;
    if (PQnfields(res) < col0 + GUARD_RULES_NCOLS || row >= PQntuples(res)) {
        snprintf(err, errlen, "guard rules: the query did not select GUARD_RULES_COLUMNS");
        return -1;
    }
    if (!guard_rules_row_custom(res, row, col0))
        return 0;
    const char *what = NULL;
    int c = col0 + 1;
    if (!PQgetisnull(res, row, c)) {
        const char *p = PQgetvalue(res, row, c);
        if (strlen(p) >= sizeof r.preset)
            what = "preset";
        else
            snprintf(r.preset, sizeof r.preset, "%s", p);
    }
    c++;
    if (!what && col_double(res, row, c, false, &r.max_loss_pct) != 0)
        what = "max_loss_pct";
    c++;
    if (!what && guard_mode_parse(PQgetvalue(res, row, c), &r.mode) != 0)
        what = "max_loss_mode";
    c++;
    if (!what && col_double(res, row, c, true, &r.initial_balance) != 0)
        what = "initial_balance";
    c++;
    if (!what && col_double(res, row, c, true, &r.lock_pct) != 0)
        what = "lock_pct";
    c++;
    if (!what && col_double(res, row, c, true, &r.daily_loss_pct) != 0)
        what = "daily_loss_pct";
    c++;
    if (!what && (PQgetisnull(res, row, c) || col_int(res, row, c, 0, &r.reset_minute) != 0))
        what = "reset_time";
    c++;
    if (!what) {
        const char *tz = PQgetvalue(res, row, c);
        if (PQgetisnull(res, row, c) || strlen(tz) >= sizeof r.reset_tz)
            what = "reset_tz";
        else
            snprintf(r.reset_tz, sizeof r.reset_tz, "%s", tz);
    }
    c++;
    if (!what && parse_warn(PQgetvalue(res, row, c), &r) != 0)
        what = "warn_levels";
    c++;
    if (!what && col_int(res, row, c, -1, &r.countdown_s) != 0)
        what = "countdown_s";
    c++;
    if (!what && (PQgetisnull(res, row, c) || col_int(res, row, c, 0, &r.blind_after_s) != 0))
        what = "blind_after_s";
    if (what) {
        snprintf(err, errlen, "guard rules: column %s cannot be read", what);
        return -1;
    }
    char why[200];
    if (guard_rules_check(&r, why, sizeof why) != 0) {
        snprintf(err, errlen, "guard rules in the database are not usable: %s", why);
        return -1;
    }
    *out = r;
    return 0;
}

int guard_rules_load(PGconn *c, const char *account, guard_rules *out, bool *custom, char *err,
                     size_t errlen)
{
    guard_rules_default(out);
    if (custom)
        *custom = false;
    const char *p[1] = {account};
    PGresult *res =
        pg_exec_params(c,
                       "select a.id, " GUARD_RULES_COLUMNS " from accounts a"
                       " left join guard_rules r on r.account_id = a.id where a.id = $1",
                       1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    if (PQntuples(res) == 0) {
        char safe[80];
        sanitize_text(account, safe, sizeof safe, true);
        snprintf(err, errlen, "no account \"%s\" (see `tradeops account list`)", safe);
        PQclear(res);
        return -1;
    }
    int rc = guard_rules_from_row(res, 0, 1, out, err, errlen);
    if (rc == 0 && custom)
        *custom = guard_rules_row_custom(res, 0, 1);
    PQclear(res);
    return rc;
}

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

int guard_rules_to_json(const guard_rules *r, cJSON *obj)
{
    char reset[8];
    snprintf(reset, sizeof reset, "%02d:%02d", (r->reset_minute / MINUTES_PER_HOUR) % 100,
             r->reset_minute % MINUTES_PER_HOUR);
    cJSON *warn = cJSON_CreateArray();
    if (!warn)
        return -1;
    for (int i = 0; i < r->n_warn && i < GUARD_MAX_WARN; i++)
        cJSON_AddItemToArray(warn, cJSON_CreateNumber(r->warn[i]));
    bool ok =
        cJSON_AddItemToObject(obj, "preset",
                              r->preset[0] ? cJSON_CreateString(r->preset) : cJSON_CreateNull()) &&
        cJSON_AddNumberToObject(obj, "maxLossPct", r->max_loss_pct) &&
        cJSON_AddStringToObject(obj, "mode", guard_mode_name(r->mode)) &&
        cJSON_AddItemToObject(obj, "initialBalance", num_or_null(r->initial_balance)) &&
        cJSON_AddItemToObject(obj, "lockPct", num_or_null(r->lock_pct)) &&
        cJSON_AddItemToObject(obj, "dailyLossPct", num_or_null(r->daily_loss_pct)) &&
        cJSON_AddStringToObject(obj, "reset", reset) &&
        cJSON_AddStringToObject(obj, "resetTz", r->reset_tz);
    if (!ok || !cJSON_AddItemToObject(obj, "warn", warn)) {
        if (!ok)
            cJSON_Delete(warn);
        return -1;
    }
    ok = cJSON_AddItemToObject(obj, "countdownS",
                               r->countdown_s >= 0 ? cJSON_CreateNumber(r->countdown_s)
                                                   : cJSON_CreateNull()) &&
         cJSON_AddBoolToObject(obj, "autoClose", r->countdown_s >= 0) &&
         cJSON_AddNumberToObject(obj, "blindAfterS", r->blind_after_s);
    return ok ? 0 : -1;
}

/* {"rules": ..., "previous": ... | null, "why": ...} for the audit record;
 * malloc'ed, NULL when out of memory. */
static char *audit_details(const guard_rules *r, const guard_rules *prev, const char *why)
{
    /* Rejected rules may carry whatever was typed: keep the record inert
     * (and valid UTF-8, or jsonb refuses the whole record). */
    guard_rules safe = *r;
    sanitize_text(r->preset, safe.preset, sizeof safe.preset, true);
    sanitize_text(r->reset_tz, safe.reset_tz, sizeof safe.reset_tz, true);
    cJSON *d = cJSON_CreateObject();
    cJSON *rj = cJSON_CreateObject();
    cJSON *pj = prev ? cJSON_CreateObject() : cJSON_CreateNull();
    char *out = NULL;
    if (d && rj && pj && guard_rules_to_json(&safe, rj) == 0 &&
        (!prev || guard_rules_to_json(prev, pj) == 0)) {
        cJSON_AddItemToObject(d, "rules", rj);
        cJSON_AddItemToObject(d, "previous", pj);
        rj = pj = NULL;
        if (why)
            cJSON_AddStringToObject(d, "why", why);
        out = cJSON_PrintUnformatted(d);
    }
    cJSON_Delete(rj);
    cJSON_Delete(pj);
    cJSON_Delete(d);
    return out;
}

/* Audits an attempt that changes nothing, and commits that record alone. */
static int refuse(PGconn *c, const operator_id *op, const char *target, const guard_rules *r,
                  const char *outcome, int result, char *err, size_t errlen)
{
    char why[400], aerr[256];
    snprintf(why, sizeof why, "%s", err);
    char *details = audit_details(r, NULL, why);
    if (audit_write(c, op, ACTION_SET_GUARD, target, NULL, outcome, details, aerr, sizeof aerr) !=
            0 ||
        pg_exec_ok(c, "commit", aerr, sizeof aerr) != 0) {
        PQclear(pg_exec(c, "rollback"));
        snprintf(err, errlen, "%.250s (and it could not be audited: %.120s)", why, aerr);
    }
    cJSON_free(details);
    return result;
}

static void fmt_num(double v, char *buf, size_t n)
{
    if (isfinite(v))
        snprintf(buf, n, "%.17g", v);
    else
        buf[0] = '\0';
}

/* Upsert, dd_limit_pct, audit: the part that needs every check passed. */
static int write_rules(PGconn *c, const operator_id *op, const char *account, const guard_rules *r,
                       const guard_rules *prev, char *err, size_t errlen)
{
    char loss[32], init[32], lock[32], daily[32], reset[8], cd[16], blind[16];
    char warn[GUARD_MAX_WARN * 26 + 4];
    fmt_num(r->max_loss_pct, loss, sizeof loss);
    fmt_num(r->initial_balance, init, sizeof init);
    fmt_num(r->lock_pct, lock, sizeof lock);
    fmt_num(r->daily_loss_pct, daily, sizeof daily);
    snprintf(reset, sizeof reset, "%d", r->reset_minute);
    snprintf(cd, sizeof cd, "%d", r->countdown_s);
    snprintf(blind, sizeof blind, "%d", r->blind_after_s);
    size_t o = (size_t)snprintf(warn, sizeof warn, "{");
    for (int i = 0; i < r->n_warn; i++)
        o += (size_t)snprintf(warn + o, sizeof warn - o, "%s%.17g", i ? "," : "", r->warn[i]);
    snprintf(warn + o, sizeof warn - o, "}");
    const char *p[13] = {account,
                         r->preset[0] ? r->preset : NULL,
                         loss,
                         guard_mode_name(r->mode),
                         init[0] ? init : NULL,
                         lock[0] ? lock : NULL,
                         daily[0] ? daily : NULL,
                         reset,
                         r->reset_tz,
                         warn,
                         r->countdown_s >= 0 ? cd : NULL,
                         blind,
                         op->actor};
    if (pg_exec_params_ok(
            c,
            "insert into guard_rules (account_id, preset, max_loss_pct, max_loss_mode,"
            " initial_balance, lock_pct, daily_loss_pct, reset_time, reset_tz, warn_levels,"
            " countdown_s, blind_after_s, updated_at, updated_by)"
            " values ($1, $2, $3::float8, $4, $5::float8, $6::float8, $7::float8,"
            " make_time($8::int / 60, $8::int % 60, 0), $9, $10::float8[], $11::int, $12::int,"
            " now(), $13)"
            " on conflict (account_id) do update set preset = excluded.preset,"
            " max_loss_pct = excluded.max_loss_pct, max_loss_mode = excluded.max_loss_mode,"
            " initial_balance = excluded.initial_balance, lock_pct = excluded.lock_pct,"
            " daily_loss_pct = excluded.daily_loss_pct, reset_time = excluded.reset_time,"
            " reset_tz = excluded.reset_tz, warn_levels = excluded.warn_levels,"
            " countdown_s = excluded.countdown_s, blind_after_s = excluded.blind_after_s,"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            13, p, err, errlen) != 0)
        return -1;
    const char *q[2] = {account, loss};
    if (pg_exec_params_ok(c, "update accounts set dd_limit_pct = $2::float8 where id = $1", 2, q,
                          err, errlen) != 0)
        return -1;
    char *details = audit_details(r, prev, NULL);
    if (!details) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = audit_write(c, op, ACTION_SET_GUARD, account, NULL, "ok", details, err, errlen);
    cJSON_free(details);
    return rc;
}

int guard_rules_save(PGconn *c, const operator_id *op, const char *account, const guard_rules *r,
                     char *err, size_t errlen)
{
    /* The target as audited: inert even when the caller typed garbage. */
    char target[80];
    sanitize_text(account, target, sizeof target, true);
    if (pg_exec_ok(c, "begin", err, errlen) != 0)
        return GUARD_SAVE_FAILED;

    /* The role as the database says now, not as it was at login. */
    operator_id now = *op;
    now.accounts = NULL;
    now.n_accounts = 0;
    char why[300];
    if (auth_load(c, &now, why, sizeof why) != 0) {
        now.role = ROLE_NONE;
        snprintf(err, errlen, "%s", why);
        auth_free(&now);
        return refuse(c, &now, target, r, "refused", GUARD_SAVE_REFUSED, err, errlen);
    }
    int rc;
    if (!auth_at_least(&now, ROLE_ADMIN)) {
        snprintf(err, errlen, ACTION_SET_GUARD " needs the admin role; %s is %s", now.user,
                 role_name(now.role));
        rc = refuse(c, &now, target, r, "refused", GUARD_SAVE_REFUSED, err, errlen);
        goto out;
    }
    if (guard_rules_check(r, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s", why);
        rc = refuse(c, &now, target, r, "failed", GUARD_SAVE_INVALID, err, errlen);
        goto out;
    }
    /* Lock the account so two admins' changes are applied one after the other. */
    const char *p[1] = {account};
    PGresult *res = pg_exec_params(c, "select 1 from accounts where id = $1 for update", 1, NULL, p,
                                   NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(res));
        PQclear(res);
        PQclear(pg_exec(c, "rollback"));
        rc = GUARD_SAVE_FAILED;
        goto out;
    }
    int found = PQntuples(res);
    PQclear(res);
    if (!found) {
        snprintf(err, errlen, "no account \"%s\" (see `tradeops account list`)", target);
        rc = refuse(c, &now, target, r, "failed", GUARD_SAVE_NOT_FOUND, err, errlen);
        goto out;
    }
    /* PostgreSQL computes the trading day (guard_day), so it must know the zone. */
    const char *tz[1] = {r->reset_tz};
    if (pg_exec_ok(c, "savepoint guard_tz", err, errlen) != 0) {
        PQclear(pg_exec(c, "rollback"));
        rc = GUARD_SAVE_FAILED;
        goto out;
    }
    res = pg_exec_params(c, "select now() at time zone $1", 1, NULL, tz, NULL, NULL, 0);
    bool tz_ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (!tz_ok) {
        PQclear(pg_exec(c, "rollback to savepoint guard_tz"));
        snprintf(err, errlen,
                 "unknown time zone \"%s\": PostgreSQL does not know it; use an IANA name "
                 "such as Europe/Prague, America/New_York or UTC",
                 r->reset_tz);
        rc = refuse(c, &now, target, r, "failed", GUARD_SAVE_INVALID, err, errlen);
        goto out;
    }
    guard_rules prev;
    bool custom = false;
    if (guard_rules_load(c, account, &prev, &custom, err, errlen) != 0) {
        /* A row that cannot be read is about to be replaced; say so in the audit. */
        custom = false;
    }
    if (write_rules(c, &now, account, r, custom ? &prev : NULL, err, errlen) != 0 ||
        pg_exec_ok(c, "commit", err, errlen) != 0) {
        PQclear(pg_exec(c, "rollback"));
        rc = GUARD_SAVE_FAILED;
        goto out;
    }
    rc = GUARD_SAVE_OK;
out:
    auth_free(&now);
    return rc;
}
