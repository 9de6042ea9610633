/*
 * digest_run.c - rendering a digest for one account and period, posting a
 * run through the notification queue, the scheduler's pass, and the list
 * the console shows. See digest.h for the decisions.
 *
 * Posting a run: the run's row is claimed with FOR UPDATE SKIP LOCKED, its
 * notifications (one per account and configured destination, rule
 * "digest", level "NAME@SLOT_MS") are inserted in the same transaction as
 * the row's change to queued, so a slot posts once whoever runs it.
 *
 * Threads: the caller's connection only; no shared state.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "metrics.h"
#include "metrics_store.h"
#include "notify.h"
#include "pg.h"
#include "sanitize.h"
#include "template.h"

#define DAY_MS 86400000LL
#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct run_def {
    char name[64], kind[16], tz[64], dest[32];
    char *tpl;
    char slot_txt[64], start_txt[64];
    int64_t slot_ms, start_ms;
    char label[96];
    char group[72];   /* "" or the group name: one post for the scope */
} run_def;

static int64_t floor_day(int64_t ms)
{
    return ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
}

/* The definition and period of digest name at slot (text, "" for the
 * latest slot at or before now_ms). 1 found, 0 none, -1 error. */
static int load_def(PGconn *c, const char *name, const char *slot, int64_t now_ms, run_def *d,
                    char *err, size_t errlen)
{
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    const char *p[3] = {name, slot, now};
    PGresult *r = pg_query(
        c,
        "with d as (select *, case when kind = 'weekly' or (kind = 'message' and weekday is not"
        " null) then interval '7 days' else interval '1 day' end as len from digests"
        " where name = $1), s as (select d.*, coalesce(nullif($2, '')::timestamptz,"
        " digest_slot(d.kind, d.at_time, d.weekday, d.tz, to_timestamp($3::bigint / 1000.0), 0))"
        " as slot from d), p as (select s.*, ((s.slot at time zone s.tz) - s.len) at time zone"
        " s.tz as start from s)"
        " select kind, tz, array_to_string(destinations, ','), template, slot::text, start::text,"
        " (extract(epoch from slot) * 1000)::bigint, (extract(epoch from start) * 1000)::bigint,"
        " to_char(slot at time zone tz, 'YYYY-MM-DD HH24:MI'), coalesce(group_name, '') from p",
        3, p, err, errlen);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        char clean[64];
        sanitize_text(name, clean, sizeof clean, true);
        snprintf(err, errlen, "no digest named %s (tradeops digest list)", clean);
        return 0;
    }
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->kind, sizeof d->kind, "%s", PQgetvalue(r, 0, 0));
    snprintf(d->tz, sizeof d->tz, "%s", PQgetvalue(r, 0, 1));
    snprintf(d->dest, sizeof d->dest, "%s", PQgetvalue(r, 0, 2));
    d->tpl = strdup(PQgetvalue(r, 0, 3));
    snprintf(d->slot_txt, sizeof d->slot_txt, "%s", PQgetvalue(r, 0, 4));
    snprintf(d->start_txt, sizeof d->start_txt, "%s", PQgetvalue(r, 0, 5));
    d->slot_ms = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
    d->start_ms = strtoll(PQgetvalue(r, 0, 7), NULL, 10);
    const char *what = strcmp(d->kind, "daily") == 0    ? "day to "
                       : strcmp(d->kind, "weekly") == 0 ? "week to "
                                                        : "";
    snprintf(d->label, sizeof d->label, "%s%s %s", what, PQgetvalue(r, 0, 8), d->tz);
    snprintf(d->group, sizeof d->group, "%s", PQgetvalue(r, 0, 9));
    PQclear(r);
    if (!d->tpl) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 1;
}

/* The accounts a digest covers: id, name rows (caller clears). */
static PGresult *scope_accounts(PGconn *c, const char *name, char *err, size_t errlen)
{
    const char *p[1] = {name};
    return pg_query(c,
                 "select a.id, a.name from accounts a, digests d where d.name = $1 and"
                 " ((cardinality(d.accounts) = 0 and a.enabled) or a.id = any(d.accounts))"
                 " order by a.id",
                 1, p, err, errlen);
}

/* The metrics of the trades of accounts ids[0..n) closed in [start,
 * slot), merged in close-time order. */
static int period_metrics(PGconn *c, const run_def *d, char *const *ids, size_t n_ids,
                          metrics_result *m, char *err, size_t errlen)
{
    char *lit = pg_text_array_literal(ids, n_ids);
    if (!lit) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *p[3] = {lit, d->start_txt, d->slot_txt};
    PGresult *r = pg_query(c,
                        "select (extract(epoch from close_time) * 1000)::bigint,"
                        " profit + swap + commission from closed_trades"
                        " where account_id = any($1::text[])"
                        " and close_time >= $2::timestamptz and close_time < $3::timestamptz"
                        " order by close_time, account_id, id",
                        3, p, err, errlen);
    if (!r) {
        free(lit);
        return -1;
    }
    /* The period opens at the accounts' starting balances (as the stored
     * metrics define them, metrics_store.h) plus every trade before it;
     * unknown when any one account's is. */
    double balance = 0;
    bool known = n_ids > 0;
    for (size_t i = 0; i < n_ids; i++) {
        double one = NAN;
        bool one_known = false;
        if (metrics_store_starting_balance(c, ids[i], &one, &one_known, err, errlen) != 0) {
            PQclear(r);
            free(lit);
            return -1;
        }
        known = known && one_known;
        balance += one;
    }
    PGresult *b = pg_query(c,
                        "select coalesce(sum(profit + swap + commission), 0)::float8::text"
                        " from closed_trades where account_id = any($1::text[])"
                        " and close_time < $2::timestamptz",
                        2, p, err, errlen);
    free(lit);
    if (!b) {
        PQclear(r);
        return -1;
    }
    double start = balance + strtod(PQgetvalue(b, 0, 0), NULL);
    PQclear(b);
    known = known && isfinite(start) && start > 0;
    size_t n = (size_t)PQntuples(r);
    metrics_trade *t = calloc(n ? n : 1, sizeof *t);
    if (!t) {
        PQclear(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        t[i].close_ms = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
        t[i].pnl = strtod(PQgetvalue(r, (int)i, 1), NULL);
    }
    PQclear(r);
    int rc = metrics_compute(t, n, known ? start : 1.0, m);
    free(t);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!known) /* no balance: every figure that needs one is unknown */
        m->starting_balance = m->final_equity = m->total_return = m->cagr = NAN,
        m->annual_volatility = m->sharpe = m->downside_risk = m->sortino = NAN,
        m->max_drawdown = m->max_drawdown_amount = m->calmar = NAN,
        m->max_drawdown_trade_curve = m->max_drawdown_amount_trade_curve = NAN,
        m->recovery_factor = m->recovery_factor_trade_curve = NAN;
    return 0;
}

/* Renders d for accounts ids[0..n) (one account, or a group's; none for
 * a message) named display. *title and *body malloc'ed. 0 or -1. */
static int render_one(PGconn *c, const run_def *d, char *const *ids, size_t n_ids,
                      const char *display, char **title, char **body, char *err, size_t errlen)
{
    *title = *body = NULL;
    bool message = strcmp(d->kind, "message") == 0;
    size_t n_known;
    const char *const *known = template_metrics_fields(&n_known);
    template *t = NULL;
    char terr[300];
    if (template_compile(d->tpl, known, n_known, &t, terr, sizeof terr) != 0) {
        snprintf(err, errlen, "the stored template no longer loads: %s", terr);
        return -1;
    }
    metrics_result m;
    memset(&m, 0, sizeof m);
    if (!message && period_metrics(c, d, ids, n_ids, &m, err, errlen) != 0) {
        template_free(t);
        return -1;
    }
    template_metrics_ctx ctx = {.m = &m,
                                .account = display,
                                .period = d->label,
                                .period_start = floor_day(d->start_ms),
                                .period_end = floor_day(d->slot_ms - 1)};
    int rc = template_render(t, template_metrics_lookup, &ctx, TEMPLATE_ESC_NONE, body, terr,
                             sizeof terr);
    template_free(t);
    if (rc != 0) {
        snprintf(err, errlen, "rendering failed: %s", terr);
        return -1;
    }
    size_t tl = strlen(d->name) + strlen(display) + strlen(d->label) + 16;
    *title = malloc(tl);
    if (!*title) {
        free(*body);
        *body = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (message)
        snprintf(*title, tl, "%s", d->name);
    else
        snprintf(*title, tl, "%s: %s, %s", d->name, display, d->label);
    return 0;
}

/* Renders d for row of its scope a (scope_accounts' rows), or for every
 * row together when d is a group digest (row ignored). 0 or -1. */
static int render_scope(PGconn *c, const run_def *d, const PGresult *a, int row, char **title,
                        char **body, char *err, size_t errlen)
{
    if (!d->group[0]) {
        char *id[1] = {PQgetvalue(a, row, 0)};
        return render_one(c, d, id, 1, PQgetvalue(a, row, 1), title, body, err, errlen);
    }
    int n = PQntuples(a);
    char **ids = calloc(n > 0 ? (size_t)n : 1, sizeof *ids);
    if (!ids) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        ids[i] = PQgetvalue(a, i, 0);
    int rc = render_one(c, d, ids, (size_t)n, d->group, title, body, err, errlen);
    free(ids);
    return rc;
}

int digest_preview(PGconn *c, const char *name, const char *account, int64_t now_ms, char **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    run_def d;
    int found = load_def(c, name, "", now_ms, &d, err, errlen);
    if (found <= 0)
        return found < 0 ? -1 : 1;
    int rc = 1;
    char *title = NULL, *body = NULL;
    if (strcmp(d.kind, "message") == 0) {
        rc = render_one(c, &d, NULL, 0, "", &title, &body, err, errlen) ? -1 : 0;
    } else if (d.group[0] && account && account[0]) {
        char clean[72];
        sanitize_text(d.group, clean, sizeof clean, true);
        snprintf(err, errlen, "this digest posts one message for the group %s: preview it "
                 "without an account", clean);
    } else {
        PGresult *a = scope_accounts(c, name, err, errlen);
        int row = -1;
        for (int i = 0; a && i < PQntuples(a) && row < 0; i++)
            if (!account || !account[0] || strcmp(PQgetvalue(a, i, 0), account) == 0)
                row = i;
        if (!a)
            rc = -1;
        else if (row < 0)
            snprintf(err, errlen, "%s", account && account[0]
                                            ? "that account is not in the digest's scope"
                                            : "the digest covers no account");
        else
            rc = render_scope(c, &d, a, row, &title, &body, err, errlen) ? -1 : 0;
        PQclear(a);
    }
    if (rc == 0) {
        size_t n = strlen(title) + strlen(body) + 2;
        if ((*out = malloc(n)))
            snprintf(*out, n, "%s\n%s", title, body);
        else
            snprintf(err, errlen, "out of memory"), rc = -1;
    }
    free(title);
    free(body);
    free(d.tpl);
    return rc;
}

int digest_request_send(PGconn *c, const char *name, char *err, size_t errlen)
{
    const char *p[1] = {name};
    return pg_exec_params_ok(c,
                             "insert into digest_runs (digest, slot, manual, status)"
                             " values ($1, clock_timestamp(), true, 'pending')",
                             1, p, err, errlen);
}

/* The destinations of dest (csv) that are configured, as csv into out;
 * the skipped ones into why. */
static void usable_destinations(const config *cfg, const char *dest, char *out, size_t outlen,
                                char *why, size_t whylen)
{
    out[0] = why[0] = '\0';
    for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
        const char *n = notify_kind_name((enum notify_kind)k);
        if (!strstr(dest, n))
            continue;
        char *o = notify_configured(cfg, (enum notify_kind)k) ? out : why;
        size_t cap = o == out ? outlen : whylen, len = strlen(o);
        snprintf(o + len, cap - len, "%s%s", len ? "," : "", n);
    }
}

static const char *SQL_POST =
    "insert into notifications (destination, account_id, rule, level, day, severity, title, body)"
    " select d.name, nullif($1, ''), $2, $3, (now() at time zone 'UTC')::date, 'info', $4,"
    " nullif($5, '') from notify_destinations d where d.name = any(string_to_array($6, ','))"
    " and d.disabled_at is null order by d.name on conflict do nothing"
    " returning id, pg_notify('" NOTIFY_CHANNEL "', destination)";

/* Queues one post; appends the notification ids to ids. */
static int post_one(PGconn *c, const run_def *d, const char *dests, const char *account,
                    const char *title, const char *body, char *ids, size_t idslen, int *n,
                    char *err, size_t errlen)
{
    char level[80], t[NOTIFY_TITLE_MAX + 1];
    char *b = malloc(NOTIFY_BODY_MAX + 1);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(level, sizeof level, "%s@%" PRId64, d->name, d->slot_ms);
    notify_clean(title, t, sizeof t, false);
    notify_clean(body, b, NOTIFY_BODY_MAX + 1, true);
    const char *p[6] = {account ? account : "",
                        strcmp(d->kind, "message") ? "digest" : "digest.message",
                        level, t[0] ? t : d->name, b, dests};
    PGresult *r = pg_query(c, SQL_POST, 6, p, err, errlen);
    free(b);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        size_t len = strlen(ids);
        snprintf(ids + len, idslen - len, "%s%s", len > 1 ? "," : "", PQgetvalue(r, i, 0));
        (*n)++;
    }
    PQclear(r);
    return 0;
}

/* Renders and queues every post of run d. 0 or -1. */
static int post_run(PGconn *c, const config *cfg, const run_def *d, char *ids, size_t idslen,
                    int *n, char *note, size_t notelen, char *err, size_t errlen)
{
    char dests[32], skipped[32];
    usable_destinations(cfg, d->dest, dests, sizeof dests, skipped, sizeof skipped);
    note[0] = '\0';
    if (!cfg->notify_enabled) {
        snprintf(err, errlen, "notifications are disabled ([notify] enabled = false)");
        return -1;
    }
    if (!dests[0]) {
        snprintf(err, errlen, "%s not configured ([notify])", skipped);
        return -1;
    }
    if (skipped[0])
        snprintf(note, notelen, "%s not configured: skipped", skipped);
    char *title = NULL, *body = NULL;
    if (strcmp(d->kind, "message") == 0) {
        int rc = render_one(c, d, NULL, 0, "", &title, &body, err, errlen);
        if (rc == 0)
            rc = post_one(c, d, dests, NULL, title, body, ids, idslen, n, err, errlen);
        free(title);
        free(body);
        return rc;
    }
    PGresult *a = scope_accounts(c, d->name, err, errlen);
    if (!a)
        return -1;
    int rc = 0;
    /* A group's accounts are one post; otherwise one post per account. */
    int posts = d->group[0] ? PQntuples(a) > 0 : PQntuples(a);
    for (int i = 0; i < posts && rc == 0; i++) {
        rc = render_scope(c, d, a, i, &title, &body, err, errlen);
        if (rc == 0)
            rc = post_one(c, d, dests, d->group[0] ? NULL : PQgetvalue(a, i, 0), title, body,
                          ids, idslen, n, err, errlen);
        free(title);
        free(body);
        title = body = NULL;
    }
    PQclear(a);
    return rc;
}

/* Claims and posts one run. 1 posted (or failed and recorded), 0 none, -1. */
static int post_next(PGconn *c, const config *cfg, int64_t now_ms, int *posted, char *err,
                     size_t errlen)
{
    char now[24], grace[24];
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    snprintf(grace, sizeof grace, "%d", DIGEST_GRACE_MS);
    const char *p[2] = {now, grace};
    if (pg_exec_ok(c, "begin", err, errlen) != 0)
        return -1;
    PGresult *r = pg_query(c,
                        "select r.id, r.digest, r.slot::text, r.manual, (extract(epoch from"
                        " to_timestamp($1::bigint / 1000.0) - r.slot) * 1000)::bigint > $2::bigint"
                        " from digest_runs r where r.status = 'pending' or (r.status = 'failed'"
                        " and r.attempts < " STR(DIGEST_MAX_ATTEMPTS) " and r.at < now() - interval"
                        " '1 minute') order by r.id limit 1 for update skip locked",
                        2, p, err, errlen);
    if (!r || PQntuples(r) == 0) {
        PQclear(r);
        PQclear(pg_exec(c, r ? "commit" : "rollback"));
        return r ? 0 : -1;
    }
    char id[24], name[64], slot[64];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    snprintf(name, sizeof name, "%s", PQgetvalue(r, 0, 1));
    snprintf(slot, sizeof slot, "%s", PQgetvalue(r, 0, 2));
    bool late = PQgetvalue(r, 0, 3)[0] != 't' && PQgetvalue(r, 0, 4)[0] == 't';
    PQclear(r);
    char ids[4096] = "{", note[120] = "", why[300] = "";
    int n = 0, rc = -1;
    run_def d = {0};
    if (late)
        snprintf(why, sizeof why, "missed: the slot is more than %d min old",
                 DIGEST_GRACE_MS / 60000);
    else if (pg_exec_ok(c, "savepoint post", why, sizeof why) == 0 &&
             load_def(c, name, slot, now_ms, &d, why, sizeof why) == 1)
        rc = post_run(c, cfg, &d, ids, sizeof ids - 1, &n, note, sizeof note, why, sizeof why);
    free(d.tpl);
    if (rc != 0 && !late)
        PQclear(pg_exec(c, "rollback to savepoint post"));
    strcat(ids, "}");
    char count[16];
    snprintf(count, sizeof count, "%d", n);
    char clean[300];
    sanitize_text(rc == 0 ? note : why, clean, sizeof clean, true);
    const char *u[5] = {id, rc == 0 ? "queued" : "failed", clean, count, ids};
    if (pg_exec_params_ok(c,
                          "update digest_runs set status = $2, error = nullif($3, ''),"
                          " n_posts = $4::int, notification_ids = $5::bigint[],"
                          " attempts = attempts + 1, at = now() where id = $1",
                          5, u, err, errlen) != 0 ||
        pg_exec_ok(c, "commit", err, errlen) != 0) {
        PQclear(pg_exec(c, "rollback"));
        return -1;
    }
    if (rc == 0 && posted)
        (*posted)++;
    return 1;
}

int digest_post_pending(PGconn *c, const config *cfg, int64_t now_ms, int *posted, char *err,
                        size_t errlen)
{
    if (posted)
        *posted = 0;
    for (int i = 0; i < 1000; i++) {
        int rc = post_next(c, cfg, now_ms, posted, err, errlen);
        if (rc <= 0)
            return rc;
    }
    return 0;
}

int digest_sched_tick(PGconn *c, const config *cfg, int64_t now_ms, int *posted, char *err,
                      size_t errlen)
{
    if (posted)
        *posted = 0;
    PGresult *r = pg_query(c, "select pg_try_advisory_lock(" DIGEST_LOCK_KEY ")", 0, NULL, err,
                        errlen);
    if (!r)
        return -1;
    bool mine = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!mine)
        return 0;
    char now[24], grace[24];
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    snprintf(grace, sizeof grace, "%d", DIGEST_GRACE_MS);
    const char *p[2] = {now, grace};
    int rc = pg_exec_params_ok(
        c,
        "insert into digest_runs (digest, slot, status) select d.name, s.slot, 'pending'"
        " from digests d cross join lateral (select digest_slot(d.kind, d.at_time, d.weekday,"
        " d.tz, to_timestamp($1::bigint / 1000.0), 0) as slot) s where d.enabled"
        " and s.slot > to_timestamp($1::bigint / 1000.0) - $2::bigint * interval '1 ms'"
        " on conflict (digest, slot) do nothing",
        2, p, err, errlen);
    if (rc == 0)
        rc = digest_post_pending(c, cfg, now_ms, posted, err, errlen);
    char uerr[256];
    if (pg_exec_ok(c, "select pg_advisory_unlock(" DIGEST_LOCK_KEY ")", uerr, sizeof uerr) != 0 &&
        rc == 0) {
        snprintf(err, errlen, "%s", uerr);
        rc = -1;
    }
    return rc;
}
