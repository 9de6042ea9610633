/*
 * store.c - see store.h.
 *
 * A cycle travels as two JSON documents (accounts, positions) expanded by
 * jsonb_to_recordset: one round trip whatever the number of accounts, and
 * still no SQL built from values.
 */
#include "store.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "pg.h"
#include "view_json.h"

static void copy_str(char *dst, size_t n, const PGresult *r, int row, int col)
{
    snprintf(dst, n, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static double get_num(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

static int64_t get_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* The trader's scope as a text[] parameter; NULL (no filter) for everyone
 * else. */
static char *scope_literal(const operator_id *scope)
{
    if (!scope || scope->role != ROLE_TRADER)
        return NULL;
    return pg_text_array_literal(scope->accounts, scope->n_accounts);
}

static const char *SNAPSHOT_ACCOUNTS =
    "select a.id, a.name, a.dd_limit_pct, s.broker, s.currency, s.server, s.broker_name,"
    " s.account_type, s.balance, s.equity, s.margin, s.free_margin, s.margin_level, s.credit,"
    " s.leverage, s.login, s.peak_equity,"
    " (extract(epoch from s.fetched_at) * 1000)::bigint, coalesce(s.link, 'unknown'),"
    " s.last_error"
    " from accounts a left join broker_account_state s on s.account_id = a.id"
    " where a.enabled and ($1::text[] is null or a.id = any($1::text[]))"
    " and ($2::text is null or a.id = $2)"
    " order by a.id";

static const char *SNAPSHOT_POSITIONS =
    "select p.account_id, p.position_id, p.symbol, p.side, p.magic,"
    " (extract(epoch from p.opened_at) * 1000)::bigint, p.volume, p.open_price,"
    " p.current_price, p.stop_loss, p.take_profit, p.swap, p.commission, p.profit, p.comment"
    " from broker_positions p join accounts a on a.id = p.account_id"
    " where a.enabled and ($1::text[] is null or a.id = any($1::text[]))"
    " and ($2::text is null or a.id = $2)"
    " order by p.account_id, p.opened_at, p.position_id";

static enum link_state link_parse(const char *s)
{
    return strcmp(s, "up") == 0 ? LINK_UP : strcmp(s, "down") == 0 ? LINK_DOWN : LINK_UNKNOWN;
}

static void fill_account(account_view *a, const PGresult *r, int i)
{
    copy_str(a->id, sizeof a->id, r, i, 0);
    copy_str(a->name, sizeof a->name, r, i, 1);
    a->dd_limit_pct = get_num(r, i, 2);
    a->has_info = !PQgetisnull(r, i, 9);
    account_info *in = &a->info;
    copy_str(in->broker, sizeof in->broker, r, i, 3);
    copy_str(in->currency, sizeof in->currency, r, i, 4);
    copy_str(in->server, sizeof in->server, r, i, 5);
    copy_str(in->name, sizeof in->name, r, i, 6);
    copy_str(in->type, sizeof in->type, r, i, 7);
    in->balance = get_num(r, i, 8);
    in->equity = get_num(r, i, 9);
    in->margin = get_num(r, i, 10);
    in->free_margin = get_num(r, i, 11);
    in->margin_level = get_num(r, i, 12);
    in->credit = get_num(r, i, 13);
    in->leverage = get_i64(r, i, 14);
    in->login = get_i64(r, i, 15);
    a->peak_equity = PQgetisnull(r, i, 16) ? 0 : get_num(r, i, 16);
    a->updated_ms = get_i64(r, i, 17);
    a->link = link_parse(PQgetvalue(r, i, 18));
    copy_str(a->error, sizeof a->error, r, i, 19);
}

static void fill_position(position *p, const PGresult *r, int i)
{
    copy_str(p->id, sizeof p->id, r, i, 1);
    copy_str(p->symbol, sizeof p->symbol, r, i, 2);
    p->side = strcmp(PQgetvalue(r, i, 3), "SELL") == 0 ? SIDE_SELL : SIDE_BUY;
    p->magic = get_i64(r, i, 4);
    p->open_time_ms = get_i64(r, i, 5);
    p->volume = get_num(r, i, 6);
    p->open_price = get_num(r, i, 7);
    p->current_price = get_num(r, i, 8);
    p->stop_loss = get_num(r, i, 9);
    p->take_profit = get_num(r, i, 10);
    p->swap = get_num(r, i, 11);
    p->commission = get_num(r, i, 12);
    p->profit = get_num(r, i, 13);
    copy_str(p->comment, sizeof p->comment, r, i, 14);
}

int store_load_snapshot(PGconn *c, const operator_id *scope, const char *only_account,
                        int64_t stale_after_ms, model_snapshot **out, char *err, size_t errlen)
{
    *out = NULL;
    char *lit = scope_literal(scope);
    if (scope && scope->role == ROLE_TRADER && !lit) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *p[2] = {lit, only_account};
    PGresult *ra = pg_exec_params(c, SNAPSHOT_ACCOUNTS, 2, NULL, p, NULL, NULL, 0);
    PGresult *rp = NULL;
    int rc = -1;
    if (PQresultStatus(ra) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(ra));
        goto done;
    }
    rp = pg_exec_params(c, SNAPSHOT_POSITIONS, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(rp) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(rp));
        goto done;
    }
    int na = PQntuples(ra), np = PQntuples(rp);
    model_snapshot *s = model_snapshot_new((size_t)na);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    s->stale_after_ms = stale_after_ms;
    s->built_ms = clock_now_ms();
    /* Both result sets are ordered by account id: walk them together. */
    int j = 0;
    for (int i = 0; i < na; i++) {
        account_view *a = &s->accounts[i];
        fill_account(a, ra, i);
        int start = j;
        while (j < np && strcmp(PQgetvalue(rp, j, 0), a->id) == 0)
            j++;
        if (j > start) {
            a->positions = calloc((size_t)(j - start), sizeof *a->positions);
            if (!a->positions) {
                model_snapshot_free(s);
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            for (int k = start; k < j; k++)
                fill_position(&a->positions[k - start], rp, k);
            a->n_positions = (size_t)(j - start);
        }
    }
    *out = s;
    rc = 0;
done:
    PQclear(ra);
    PQclear(rp);
    free(lit);
    return rc;
}

static const char *UPSERT_STATE =
    "insert into broker_account_state as s (account_id, broker, currency, server, broker_name,"
    " account_type, balance, equity, margin, free_margin, margin_level, credit, leverage, login,"
    " peak_equity, fetched_at, link, last_error, updated_at)"
    " select x.id, x.broker, x.currency, x.server, x.\"brokerName\", x.type, x.balance, x.equity,"
    " x.margin, x.\"freeMargin\", x.\"marginLevel\", x.credit, x.leverage, x.login,"
    " x.\"peakEquity\", x.\"fetchedAt\", 'up', null, now()"
    " from jsonb_to_recordset($1::jsonb) as x(id text, broker text, currency text, server text,"
    " \"brokerName\" text, type text, balance float8, equity float8, margin float8,"
    " \"freeMargin\" float8, \"marginLevel\" float8, credit float8, leverage bigint, login bigint,"
    " \"peakEquity\" float8, \"fetchedAt\" timestamptz)"
    " where exists (select 1 from accounts a where a.id = x.id)"
    " on conflict (account_id) do update set broker = excluded.broker,"
    " currency = excluded.currency, server = excluded.server,"
    " broker_name = excluded.broker_name, account_type = excluded.account_type,"
    " balance = excluded.balance, equity = excluded.equity, margin = excluded.margin,"
    " free_margin = excluded.free_margin, margin_level = excluded.margin_level,"
    " credit = excluded.credit, leverage = excluded.leverage, login = excluded.login,"
    " peak_equity = greatest(s.peak_equity, excluded.peak_equity),"
    " fetched_at = excluded.fetched_at, link = 'up', last_error = null, updated_at = now()";

static const char *MARK_DOWN =
    "insert into broker_account_state as s (account_id, link, last_error, updated_at)"
    " select x.id, 'down', x.error, now()"
    " from jsonb_to_recordset($1::jsonb) as x(id text, error text)"
    " where exists (select 1 from accounts a where a.id = x.id)"
    " on conflict (account_id) do update set link = 'down', last_error = excluded.last_error,"
    " updated_at = now()";

static const char *DELETE_GONE =
    "delete from broker_positions p"
    " where p.account_id in (select x.id from jsonb_to_recordset($1::jsonb) as x(id text))"
    " and not exists (select 1 from jsonb_to_recordset($2::jsonb) as n(account text, id text)"
    " where n.account = p.account_id and n.id = p.position_id)";

static const char *UPSERT_POSITIONS =
    "insert into broker_positions as p (account_id, position_id, symbol, side, magic, opened_at,"
    " volume, open_price, current_price, stop_loss, take_profit, swap, commission, profit,"
    " comment, fetched_at)"
    " select n.account, n.id, n.symbol, n.side, n.magic, n.time, n.volume, n.\"openPrice\","
    " n.\"currentPrice\", n.\"stopLoss\", n.\"takeProfit\", n.swap, n.commission, n.profit,"
    " n.comment, n.\"fetchedAt\""
    " from jsonb_to_recordset($1::jsonb) as n(account text, id text, symbol text, side text,"
    " magic bigint, time timestamptz, volume float8, \"openPrice\" float8,"
    " \"currentPrice\" float8, \"stopLoss\" float8, \"takeProfit\" float8, swap float8,"
    " commission float8, profit float8, comment text, \"fetchedAt\" timestamptz)"
    " where exists (select 1 from accounts a where a.id = n.account)"
    " on conflict (account_id, position_id) do update set symbol = excluded.symbol,"
    " side = excluded.side, magic = excluded.magic, opened_at = excluded.opened_at,"
    " volume = excluded.volume, open_price = excluded.open_price,"
    " current_price = excluded.current_price, stop_loss = excluded.stop_loss,"
    " take_profit = excluded.take_profit, swap = excluded.swap,"
    " commission = excluded.commission, profit = excluded.profit, comment = excluded.comment,"
    " fetched_at = excluded.fetched_at";

/* Prints and frees. The text is safe to pass to libpq as a C string:
 * cJSON escapes every control character as \uXXXX, and a NUL cannot be in
 * our values because they are C strings. */
static char *print_free(cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

int store_write_cycle(PGconn *c, const account_view *accounts, const bool *fetched, size_t n,
                      char *err, size_t errlen)
{
    cJSON *ok = cJSON_CreateArray(), *down = cJSON_CreateArray(), *pos = cJSON_CreateArray();
    char *s_ok = NULL, *s_down = NULL, *s_pos = NULL;
    int rc = -1;
    if (!ok || !down || !pos)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const account_view *a = &accounts[i];
        char t[40];
        if (!fetched[i]) {
            cJSON *d = cJSON_CreateObject();
            if (!d)
                goto oom;
            cJSON_AddStringToObject(d, "id", a->id);
            cJSON_AddStringToObject(d, "error", a->error);
            cJSON_AddItemToArray(down, d);
            continue;
        }
        cJSON *o = view_json_account(a, a->updated_ms, INT64_MAX, 0);
        if (!o)
            goto oom;
        view_iso_time(a->updated_ms, t, sizeof t);
        cJSON_AddItemToArray(ok, o);
        for (size_t k = 0; k < a->n_positions; k++) {
            cJSON *p = view_json_position(&a->positions[k]);
            if (!p)
                goto oom;
            cJSON_AddStringToObject(p, "account", a->id);
            cJSON_AddStringToObject(p, "fetchedAt", t);
            cJSON_AddItemToArray(pos, p);
        }
    }
    s_ok = print_free(ok);
    s_down = print_free(down);
    s_pos = print_free(pos);
    ok = down = pos = NULL;
    if (!s_ok || !s_down || !s_pos)
        goto oom;
    if (pg_exec_ok(c, "begin", err, errlen) != 0)
        goto out;
    const char *p1[1] = {s_ok};
    const char *p2[2] = {s_ok, s_pos};
    const char *p3[1] = {s_pos};
    const char *p4[1] = {s_down};
    if (pg_exec_params_ok(c, UPSERT_STATE, 1, p1, err, errlen) != 0 ||
        pg_exec_params_ok(c, DELETE_GONE, 2, p2, err, errlen) != 0 ||
        pg_exec_params_ok(c, UPSERT_POSITIONS, 1, p3, err, errlen) != 0 ||
        pg_exec_params_ok(c, MARK_DOWN, 1, p4, err, errlen) != 0) {
        PQclear(pg_exec(c, "rollback"));
        goto out;
    }
    rc = pg_exec_ok(c, "commit", err, errlen);
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    cJSON_Delete(ok);
    cJSON_Delete(down);
    cJSON_Delete(pos);
    cJSON_free(s_ok);
    cJSON_free(s_down);
    cJSON_free(s_pos);
    return rc;
}

int store_account_add(PGconn *c, const operator_id *op, const char *id, const char *name,
                      double dd_limit_pct, bool *existed, char *err, size_t errlen)
{
    *existed = false;
    char lim[32];
    snprintf(lim, sizeof lim, "%.17g", dd_limit_pct);
    char details[160];
    snprintf(details, sizeof details, "{\"dd_limit_pct\": %s}", lim);
    if (pg_exec_ok(c, "begin", err, errlen) != 0)
        return -1;
    const char *p[4] = {id, name, lim, op->actor};
    PGresult *r = pg_exec_params(c,
                                 "insert into accounts (id, name, dd_limit_pct, created_by)"
                                 " values ($1, $2, $3::float8, $4)"
                                 " on conflict (id) do nothing returning id",
                                 4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "23514") == 0)
            snprintf(err, errlen,
                     "invalid account: the id must be 1-64 letters, digits or ._:- (starting "
                     "with a letter or digit), the name 1-64 characters and the drawdown "
                     "limit between 0 and 100 percent");
        else
            pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        PQclear(pg_exec(c, "rollback"));
        return -1;
    }
    *existed = PQntuples(r) == 0;
    PQclear(r);
    if (*existed) {
        PQclear(pg_exec(c, "rollback"));
        return 0;
    }
    if (audit_write(c, op, "account.add", id, NULL, "ok", details, err, errlen) != 0) {
        PQclear(pg_exec(c, "rollback"));
        return -1;
    }
    return pg_exec_ok(c, "commit", err, errlen);
}
