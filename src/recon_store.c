/*
 * recon_store.c - see recon_store.h.
 *
 * Rows are read sorted by account id in byte order (collate "C") so they
 * group with the same comparison (strcmp) the C side uses. A pass's
 * findings travel as one JSON document expanded by jsonb_to_recordset: one
 * round trip whatever the number of accounts, and no SQL built from values.
 */
#include "recon_store.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

static const char *LOAD_ACCOUNTS =
    "select * from ("
    " select a.id as id, true as known,"
    " coalesce(s.fetched_at > now() - make_interval(secs => $1::int), false) as fresh"
    " from accounts a left join broker_account_state s on s.account_id = a.id where a.enabled"
    " union all"
    " select distinct b.account_id, false, true from bot_positions b"
    " where b.closed_at is null and not exists (select 1 from accounts a where a.id = b.account_id)"
    ") u order by id collate \"C\"";

static const char *LOAD_EXPECTED =
    "select account_id, position_id, symbol, side, volume, stop_loss, take_profit, magic,"
    " coalesce(strategy, '') from bot_positions where closed_at is null"
    " order by account_id collate \"C\"";

static const char *LOAD_ACTUAL =
    "select account_id, position_id, symbol, side, volume, stop_loss, take_profit, magic, '',"
    " current_price from broker_positions order by account_id collate \"C\"";

static double get_num(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

static PGresult *query(PGconn *c, const char *sql, int n, const char *const *p, char *err,
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

static int cmp_account(const void *key, const void *elem)
{
    return strcmp(key, ((const recon_account *)elem)->id);
}

/* Reads positions (columns: account, id, symbol, side, volume, sl, tp,
 * magic, strategy[, price]) into *out, and marks each account's slice. */
static int read_positions(const PGresult *r, recon_input *in, bool expected, recon_pos **out,
                          size_t *n_out)
{
    int rows = PQntuples(r);
    *out = calloc(rows ? (size_t)rows : 1, sizeof **out);
    if (!*out)
        return -1;
    size_t n = 0;
    recon_account *acc = NULL;
    for (int i = 0; i < rows; i++) {
        const char *aid = PQgetvalue(r, i, 0);
        if (!acc || strcmp(acc->id, aid) != 0) {
            acc = bsearch(aid, in->accounts, in->n_accounts, sizeof *in->accounts, cmp_account);
            if (acc) {
                if (expected)
                    acc->exp_first = n;
                else
                    acc->act_first = n;
            }
        }
        if (!acc)
            continue; /* a disabled account: not reconciled */
        recon_pos *p = &(*out)[n++];
        snprintf(p->id, sizeof p->id, "%s", PQgetvalue(r, i, 1));
        snprintf(p->symbol, sizeof p->symbol, "%s", PQgetvalue(r, i, 2));
        snprintf(p->side, sizeof p->side, "%s", PQgetvalue(r, i, 3));
        p->volume = get_num(r, i, 4);
        p->stop_loss = get_num(r, i, 5);
        p->take_profit = get_num(r, i, 6);
        p->magic = PQgetisnull(r, i, 7) ? 0 : strtoll(PQgetvalue(r, i, 7), NULL, 10);
        snprintf(p->strategy, sizeof p->strategy, "%s", PQgetvalue(r, i, 8));
        p->price = expected ? NAN : get_num(r, i, 9);
        if (expected)
            acc->n_exp++;
        else
            acc->n_act++;
    }
    *n_out = n;
    return 0;
}

int recon_store_load(PGconn *c, int stale_after_s, recon_input *in, char *err, size_t errlen)
{
    memset(in, 0, sizeof *in);
    char secs[16];
    snprintf(secs, sizeof secs, "%d", stale_after_s);
    const char *p[1] = {secs};
    PGresult *ra = NULL, *re = NULL, *rp = NULL;
    int rc = -1;
    if (!(ra = query(c, LOAD_ACCOUNTS, 1, p, err, errlen)) ||
        !(re = query(c, LOAD_EXPECTED, 0, NULL, err, errlen)) ||
        !(rp = query(c, LOAD_ACTUAL, 0, NULL, err, errlen)))
        goto out;
    int n = PQntuples(ra);
    in->accounts = calloc(n ? (size_t)n : 1, sizeof *in->accounts);
    if (!in->accounts)
        goto oom;
    for (int i = 0; i < n; i++) {
        recon_account *a = &in->accounts[in->n_accounts];
        snprintf(a->id, sizeof a->id, "%s", PQgetvalue(ra, i, 0));
        /* An account both registered and named by the bot comes once. */
        if (in->n_accounts && strcmp(in->accounts[in->n_accounts - 1].id, a->id) == 0)
            continue;
        a->known = PQgetvalue(ra, i, 1)[0] == 't';
        a->fresh = PQgetvalue(ra, i, 2)[0] == 't';
        in->n_accounts++;
    }
    if (read_positions(re, in, true, &in->exp, &in->n_exp) != 0 ||
        read_positions(rp, in, false, &in->act, &in->n_act) != 0)
        goto oom;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory reading %d accounts' positions", n);
    recon_input_free(in);
out:
    PQclear(ra);
    PQclear(re);
    PQclear(rp);
    return rc;
}

void recon_input_free(recon_input *in)
{
    free(in->accounts);
    free(in->exp);
    free(in->act);
    memset(in, 0, sizeof *in);
}

static void add_price(cJSON *o, const char *name, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static cJSON *side_object(const recon_pos *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "symbol", p->symbol);
    cJSON_AddStringToObject(o, "side", p->side);
    add_price(o, "volume", p->volume);
    add_price(o, "sl", p->stop_loss);
    add_price(o, "tp", p->take_profit);
    cJSON_AddNumberToObject(o, "magic", (double)p->magic);
    cJSON_AddStringToObject(o, "strategy", p->strategy);
    return o;
}

char *recon_side_json(const recon_pos *p)
{
    cJSON *o = side_object(p);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static const char *WRITE_PASS =
    "with f as ("
    "  select * from jsonb_to_recordset($1::jsonb) as x(account_id text, position_id text,"
    "  kind text, symbol text, expected jsonb, actual jsonb, detail text, first_ms bigint,"
    "  ready boolean)),"
    " accts as (select unnest($2::text[]) as account_id),"
    " cleared as ("
    "  update recon_log r set cleared_at = now(), resolved_at = coalesce(r.resolved_at, now()),"
    "  resolution = coalesce(r.resolution, 'auto')"
    "  where r.cleared_at is null and r.account_id in (select account_id from accts)"
    "  and not exists (select 1 from f where f.account_id = r.account_id"
    "   and f.position_id = r.position_id and f.kind = r.kind)"
    "  returning r.id),"
    " updated as ("
    "  update recon_log r set last_seen = now(), expected = f.expected, actual = f.actual,"
    "  detail = f.detail, symbol = f.symbol from f"
    "  where r.cleared_at is null and r.account_id = f.account_id"
    "  and r.position_id = f.position_id and r.kind = f.kind"
    "  returning r.id),"
    " opened as ("
    "  insert into recon_log (account_id, position_id, kind, symbol, expected, actual, detail,"
    "   first_seen, last_seen)"
    "  select f.account_id, f.position_id, f.kind, f.symbol, f.expected, f.actual, f.detail,"
    "   to_timestamp(f.first_ms / 1000.0), now() from f"
    "  where f.ready and not exists (select 1 from recon_log r where r.cleared_at is null"
    "   and r.account_id = f.account_id and r.position_id = f.position_id and r.kind = f.kind)"
    "  on conflict (account_id, position_id, kind) where cleared_at is null do nothing"
    "  returning id)"
    " select (select count(*) from opened), (select count(*) from updated),"
    " (select count(*) from cleared)";

int recon_store_write(PGconn *c, char *const *accounts, size_t n_accounts,
                      const recon_write_item *items, size_t n_items, recon_write_counts *counts,
                      char *err, size_t errlen)
{
    memset(counts, 0, sizeof *counts);
    if (n_accounts == 0)
        return 0;
    int rc = -1;
    char *doc = NULL, *lit = NULL;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        goto oom;
    for (size_t i = 0; i < n_items; i++) {
        const recon_finding *f = items[i].f;
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o))
            goto oom;
        cJSON_AddStringToObject(o, "account_id", items[i].account);
        cJSON_AddStringToObject(o, "position_id", f->position);
        cJSON_AddStringToObject(o, "kind", recon_kind_name(f->kind));
        cJSON_AddStringToObject(o, "symbol", f->has_actual ? f->actual.symbol : f->expected.symbol);
        cJSON_AddItemToObject(o, "expected",
                              f->has_expected ? side_object(&f->expected) : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "actual",
                              f->has_actual ? side_object(&f->actual) : cJSON_CreateNull());
        cJSON_AddStringToObject(o, "detail", f->detail);
        cJSON_AddNumberToObject(o, "first_ms", (double)items[i].first_ms);
        cJSON_AddBoolToObject(o, "ready", items[i].ready);
    }
    doc = cJSON_PrintUnformatted(arr);
    lit = pg_text_array_literal(accounts, n_accounts);
    if (!doc || !lit)
        goto oom;
    const char *p[2] = {doc, lit};
    PGresult *r = query(c, WRITE_PASS, 2, p, err, errlen);
    if (r) {
        counts->opened = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        counts->updated = strtol(PQgetvalue(r, 0, 1), NULL, 10);
        counts->cleared = strtol(PQgetvalue(r, 0, 2), NULL, 10);
        PQclear(r);
        rc = 0;
    }
    goto out;
oom:
    snprintf(err, errlen, "out of memory writing %zu findings", n_items);
out:
    cJSON_Delete(arr);
    cJSON_free(doc);
    free(lit);
    return rc;
}

#define SET_COLS                                                                                   \
    "id, account_id, position_id, coalesce(symbol, ''), kind, coalesce(expected::text, ''),"       \
    " coalesce(actual::text, ''), detail, (extract(epoch from first_seen) * 1000)::bigint,"        \
    " (extract(epoch from last_seen) * 1000)::bigint,"                                             \
    " coalesce((extract(epoch from cleared_at) * 1000)::bigint, 0),"                               \
    " coalesce((extract(epoch from resolved_at) * 1000)::bigint, 0), coalesce(resolution, ''),"    \
    " coalesce(resolved_by, ''), coalesce(note, '')"

static const char *LOAD_SET =
    "(select " SET_COLS " from recon_log where resolved_at is null"
    "  and ($1::text is null or account_id = $1) and ($4::text[] is null or account_id = any($4)))"
    " union all"
    " (select " SET_COLS " from recon_log where resolved_at is not null and not $2::boolean"
    "  and ($1::text is null or account_id = $1) and ($4::text[] is null or account_id = any($4))"
    "  order by resolved_at desc limit $3)"
    " order by 1 desc";

static double json_num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void json_str(char *dst, size_t n, const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static void parse_side(const char *text, recon_side *s)
{
    memset(s, 0, sizeof *s);
    s->volume = s->stop_loss = s->take_profit = NAN;
    cJSON *o = text[0] ? cJSON_Parse(text) : NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return;
    }
    s->present = true;
    json_str(s->symbol, sizeof s->symbol, o, "symbol");
    json_str(s->side, sizeof s->side, o, "side");
    json_str(s->strategy, sizeof s->strategy, o, "strategy");
    s->volume = json_num(o, "volume");
    s->stop_loss = json_num(o, "sl");
    s->take_profit = json_num(o, "tp");
    double magic = json_num(o, "magic");
    s->magic = isfinite(magic) ? (int64_t)magic : 0;
    cJSON_Delete(o);
}

int recon_store_load_set(PGconn *c, const operator_id *scope, const recon_query *q, recon_set **out,
                         char *err, size_t errlen)
{
    *out = NULL;
    char limit[24];
    snprintf(limit, sizeof limit, "%ld", q->resolved_limit);
    char *scope_lit = NULL;
    if (scope && scope->role == ROLE_TRADER) {
        scope_lit = pg_text_array_literal(scope->accounts, scope->n_accounts);
        if (!scope_lit) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    const char *p[4] = {q->account, q->open_only ? "true" : "false", limit, scope_lit};
    PGresult *r = query(c, LOAD_SET, 4, p, err, errlen);
    free(scope_lit);
    if (!r)
        return -1;
    int n = PQntuples(r);
    recon_set *set = recon_set_new((size_t)n);
    if (!set) {
        PQclear(r);
        snprintf(err, errlen, "out of memory reading %d reconciliation rows", n);
        return -1;
    }
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (scope && !auth_can_see(scope, PQgetvalue(r, i, 1)))
            continue;
        recon_row *row = &set->rows[k++];
        row->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        snprintf(row->account, sizeof row->account, "%s", PQgetvalue(r, i, 1));
        snprintf(row->position, sizeof row->position, "%s", PQgetvalue(r, i, 2));
        snprintf(row->symbol, sizeof row->symbol, "%s", PQgetvalue(r, i, 3));
        if (recon_kind_parse(PQgetvalue(r, i, 4), &row->kind) != 0)
            row->kind = RECON_BAD_EXPECTED; /* the check constraint makes this unreachable */
        parse_side(PQgetvalue(r, i, 5), &row->expected);
        parse_side(PQgetvalue(r, i, 6), &row->actual);
        snprintf(row->detail, sizeof row->detail, "%s", PQgetvalue(r, i, 7));
        row->first_seen_ms = strtoll(PQgetvalue(r, i, 8), NULL, 10);
        row->last_seen_ms = strtoll(PQgetvalue(r, i, 9), NULL, 10);
        row->cleared_ms = strtoll(PQgetvalue(r, i, 10), NULL, 10);
        row->resolved_ms = strtoll(PQgetvalue(r, i, 11), NULL, 10);
        row->by_operator = strcmp(PQgetvalue(r, i, 12), "operator") == 0;
        snprintf(row->resolved_by, sizeof row->resolved_by, "%s", PQgetvalue(r, i, 13));
        snprintf(row->note, sizeof row->note, "%s", PQgetvalue(r, i, 14));
        if (row->resolved_ms == 0) {
            set->n_open++;
            set->open_by_kind[row->kind]++;
        }
    }
    set->n_rows = k;
    PQclear(r);
    *out = set;
    return 0;
}
