/*
 * guard_account.c - one owned account's guard pass, and its alerts.
 *
 * In one transaction: lock the account's guard_state row (commands take the
 * same lock, so an abort and a pass never interleave), add the deposits and
 * withdrawals stored since the last pass, step the state machine from the
 * stored state, write it back, record a change of state in guard_events,
 * and bring the guard's alerts in line with the state.
 *
 * Alerts are declarative: each state has at most one guard alert (warning,
 * breach, countdown, closing, closed, aborted, blind); entering a state
 * raises its alert and resolves the others. Notifications are deduplicated
 * by (account, rule, level, day) where the level of every alert of one
 * breach (breach, countdown, closing, closed, aborted) is "breach": the
 * on-call engineer is paged once per breach and day, at its start, and
 * follows it in the console. A close failure and a blind guard have levels
 * of their own, so they page too.
 *
 * Threads: the guard thread only.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alerts.h"
#include "guard_int.h"
#include "pg.h"
#include "sanitize.h"

void guard_clean(const char *in, char *out, size_t outlen)
{
    sanitize_text(in ? in : "", out, outlen, true);
}

static const char *const STATE_KINDS[] = {
    "guard.warning", "guard.breach",  "guard.countdown", "guard.closing",
    "guard.closed",  "guard.aborted", "guard.blind",
};
#define N_STATE_KINDS (sizeof STATE_KINDS / sizeof STATE_KINDS[0])

/* The alert kind of a state, NULL for ok. */
static const char *state_kind(enum guard_state s)
{
    switch (s) {
    case GS_WARNING: return "guard.warning";
    case GS_BREACHED: return "guard.breach";
    case GS_COUNTDOWN: return "guard.countdown";
    case GS_CLOSING: return "guard.closing";
    case GS_CLOSED: return "guard.closed";
    case GS_ABORTED: return "guard.aborted";
    case GS_BLIND: return "guard.blind";
    default: return NULL;
    }
}

static char *details_json(const guard_status *st, const guard_rules *r)
{
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return NULL;
    cJSON_AddStringToObject(d, "state", guard_state_name(st->state));
    if (isfinite(st->floor))
        cJSON_AddNumberToObject(d, "floor", st->floor);
    if (isfinite(st->daily_floor))
        cJSON_AddNumberToObject(d, "dailyFloor", st->daily_floor);
    if (isfinite(st->used))
        cJSON_AddNumberToObject(d, "used", st->used);
    cJSON_AddStringToObject(d, "rule", guard_rule_name(st->rule));
    cJSON_AddStringToObject(d, "mode", guard_mode_name(r->mode));
    cJSON_AddNumberToObject(d, "maxLossPct", r->max_loss_pct);
    if (r->preset[0])
        cJSON_AddStringToObject(d, "preset", r->preset);
    cJSON_AddStringToObject(d, "why", st->why);
    if (st->countdown_ends_ms)
        cJSON_AddNumberToObject(d, "countdownEndsMs", (double)st->countdown_ends_ms);
    char *js = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return js;
}

int guard_sync_alerts(guard *g, const char *account, const guard_status *st, enum guard_state prev,
                      const guard_rules *rules, char *err, size_t errlen)
{
    const char *want = state_kind(st->state);
    const char *drop[N_STATE_KINDS + 1];
    size_t n_drop = 0;
    for (size_t i = 0; i < N_STATE_KINDS; i++)
        if (!want || strcmp(want, STATE_KINDS[i]) != 0)
            drop[n_drop++] = STATE_KINDS[i];
    /* Back to ok or warning means re-armed or recovered: a close failure
     * has been dealt with. */
    if (st->state == GS_OK || st->state == GS_WARNING)
        drop[n_drop++] = "guard.close_failed";
    if (alert_resolve(g->pg, account, drop, n_drop, "auto", NULL, err, errlen) != 0)
        return -1;
    if (!want)
        return 0;

    char why[160];
    guard_clean(st->why, why, sizeof why);
    char title[512], level[24]; /* alert_raise clips the title */
    enum alert_severity sev = ALERT_CRITICAL;
    snprintf(level, sizeof level, "breach");
    switch (st->state) {
    case GS_WARNING:
        sev = ALERT_WARNING;
        snprintf(level, sizeof level, "warning-%d", st->level);
        snprintf(title, sizeof title, "%.63s: warning level %d: %s", account, st->level, why);
        break;
    case GS_BREACHED:
        snprintf(title, sizeof title, "%.63s: guard breached, alert only: %s", account, why);
        break;
    case GS_COUNTDOWN:
        snprintf(title, sizeof title,
                 "%.63s: auto-close of every position in %d s unless aborted: %s", account,
                 rules->countdown_s, why);
        break;
    case GS_CLOSING:
        snprintf(title, sizeof title, "%.63s: closing every position (%s)", account, why);
        break;
    case GS_CLOSED:
        snprintf(title, sizeof title,
                 "%.63s: the guard closed the account (%.80s); tripped until an admin re-arms it",
                 account, why);
        break;
    case GS_ABORTED:
        sev = ALERT_WARNING;
        snprintf(title, sizeof title,
                 "%.63s: auto-close aborted by an operator; still at or below the floor", account);
        break;
    case GS_BLIND:
        /* Blind in the middle of a countdown is worse: the close it would
         * have made will not happen. */
        sev = prev == GS_COUNTDOWN ? ALERT_CRITICAL : ALERT_WARNING;
        snprintf(level, sizeof level, "blind");
        snprintf(title, sizeof title,
                 "%.63s: guard blind, nothing will be closed automatically: %s", account, why);
        break;
    default: return 0;
    }
    char *js = details_json(st, rules);
    alert_spec a = {.kind = want,
                    .severity = sev,
                    .account = account,
                    .level = level,
                    /* One breach is one page whichever state shows it. */
                    .rule = st->state == GS_WARNING && guard_rule_name(st->rule)[0]
                                ? guard_rule_name(st->rule)
                                : "guard",
                    .title = title,
                    .details_json = js};
    int rc = alert_raise(g->pg, g->cfg, &a, NULL, NULL, err, errlen);
    free(js);
    return rc;
}

static double col_num(const PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? NAN : strtod(PQgetvalue(r, 0, col), NULL);
}

static void fmt_num(char *buf, size_t len, double v)
{
    if (isfinite(v))
        snprintf(buf, len, "%.17g", v);
    else
        buf[0] = '\0';
}

static const char SQL_LOCK[] =
    "select state, level, initialised, initial_base, peak_equity, eod_high, trading_day,"
    " day_start_balance, last_balance, net_deposits,"
    " (extract(epoch from countdown_ends_at) * 1000)::bigint, floor, daily_floor, used,"
    " coalesce(rule, ''), coalesce(why, ''),"
    " (select coalesce(sum(d.profit), 0) from broker_deals d where d.account_id = $1"
    "   and d.deal_type = 'DEAL_TYPE_BALANCE' and g.initialised"
    "   and d.fetched_at > coalesce(g.deals_until, '-infinity')),"
    " (select max(d.fetched_at)::text from broker_deals d where d.account_id = $1"
    "   and d.deal_type = 'DEAL_TYPE_BALANCE')"
    " from guard_state g where account_id = $1 for update";

static const char SQL_WRITE[] =
    "update guard_state set state = $2, level = $3, initialised = $4, initial_base = $5,"
    " peak_equity = $6, eod_high = $7, trading_day = $8, day_start_balance = $9,"
    " last_balance = $10, equity = $11, balance = $12, floor = $13, daily_floor = $14,"
    " used = $15, rule = nullif($16, ''), why = $17,"
    " data_at = case when $18::bigint > 0 then to_timestamp($18::bigint / 1000.0) end,"
    " countdown_ends_at = case when $19::bigint > 0 then to_timestamp($19::bigint / 1000.0) end,"
    " deals_until = coalesce($20::timestamptz, deals_until, now()),"
    " tripped_at = case when $21 then now() else tripped_at end,"
    " trip_reason = case when $21 then $17 else trip_reason end,"
    " owner = $22, net_deposits = $23, evaluated_at = now(), updated_at = now()"
    " where account_id = $1";

/* Status and baselines as stored (the last row of SQL_LOCK). */
static void read_state(const PGresult *r, guard_status *st, guard_baselines *b, double *deposits)
{
    memset(st, 0, sizeof *st);
    memset(b, 0, sizeof *b);
    if (guard_state_parse(PQgetvalue(r, 0, 0), &st->state) != 0)
        st->state = GS_OK;
    st->level = atoi(PQgetvalue(r, 0, 1));
    b->initialised = PQgetvalue(r, 0, 2)[0] == 't';
    b->initial = col_num(r, 3);
    b->peak_equity = col_num(r, 4);
    b->eod_high = col_num(r, 5);
    b->day = PQgetisnull(r, 0, 6) ? 0 : (int32_t)atol(PQgetvalue(r, 0, 6));
    b->day_start_balance = col_num(r, 7);
    b->last_balance = col_num(r, 8);
    b->net_deposits = col_num(r, 9);
    if (!isfinite(b->net_deposits))
        b->net_deposits = 0;
    st->countdown_ends_ms = PQgetisnull(r, 0, 10) ? 0 : strtoll(PQgetvalue(r, 0, 10), NULL, 10);
    st->floor = col_num(r, 11);
    st->daily_floor = col_num(r, 12);
    st->used = col_num(r, 13);
    const char *rule = PQgetvalue(r, 0, 14);
    st->rule = strcmp(rule, "max_loss") == 0     ? GR_MAX_LOSS
               : strcmp(rule, "daily_loss") == 0 ? GR_DAILY_LOSS
                                                 : GR_NONE;
    snprintf(st->why, sizeof st->why, "%s", PQgetvalue(r, 0, 15));
    *deposits = col_num(r, 16);
    if (!isfinite(*deposits))
        *deposits = 0;
}

static int write_state(guard *g, const char *account, const guard_status *st,
                       const guard_baselines *b, const guard_input *in, const char *deals_until,
                       bool tripped, char *err, size_t errlen)
{
    char level[16], init_b[16], day[16], data_ms[24], ends[24];
    char nums[9][32];
    snprintf(level, sizeof level, "%d", st->level);
    snprintf(init_b, sizeof init_b, "%s", b->initialised ? "true" : "false");
    snprintf(day, sizeof day, "%" PRId32, b->day);
    snprintf(data_ms, sizeof data_ms, "%" PRId64, in->has_data ? in->data_ms : 0);
    snprintf(ends, sizeof ends, "%" PRId64, st->countdown_ends_ms);
    const double v[9] = {b->initial,           b->peak_equity,  b->eod_high,
                         b->day_start_balance, b->last_balance, in->equity,
                         in->balance,          st->floor,       st->daily_floor};
    for (int i = 0; i < 9; i++)
        fmt_num(nums[i], sizeof nums[i], v[i]);
    char used[32], net[32];
    fmt_num(used, sizeof used, st->used);
    fmt_num(net, sizeof net, b->net_deposits);
    const char *p[23] = {
        account,
        guard_state_name(st->state),
        level,
        init_b,
        nums[0][0] ? nums[0] : NULL,
        nums[1][0] ? nums[1] : NULL,
        nums[2][0] ? nums[2] : NULL,
        b->initialised ? day : NULL,
        nums[3][0] ? nums[3] : NULL,
        nums[4][0] ? nums[4] : NULL,
        nums[5][0] ? nums[5] : NULL,
        nums[6][0] ? nums[6] : NULL,
        nums[7][0] ? nums[7] : NULL,
        nums[8][0] ? nums[8] : NULL,
        used[0] ? used : NULL,
        guard_rule_name(st->rule),
        st->why,
        data_ms,
        ends,
        deals_until,
        tripped ? "true" : "false",
        g->owner,
        net[0] ? net : "0",
    };
    return pg_exec_params_ok(g->pg, SQL_WRITE, 23, p, err, errlen);
}

static int log_event(guard *g, const char *account, enum guard_state from, const guard_status *st,
                     double equity, char *err, size_t errlen)
{
    char eq[32], fl[32];
    fmt_num(eq, sizeof eq, equity);
    fmt_num(fl, sizeof fl, st->floor);
    const char *p[8] = {account,
                        guard_state_name(from),
                        guard_state_name(st->state),
                        eq[0] ? eq : NULL,
                        fl[0] ? fl : NULL,
                        guard_rule_name(st->rule),
                        st->why,
                        g->owner};
    return pg_exec_params_ok(g->pg,
                             "insert into guard_events (account_id, from_state, to_state, equity,"
                             " floor, rule, detail, owner) values ($1, $2, $3, $4, $5,"
                             " nullif($6, ''), $7, $8)",
                             8, p, err, errlen);
}

int guard_eval_account(guard *g, guard_acc *a, const guard_input *in, char *err, size_t errlen)
{
    const char *p[1] = {a->id};
    a->closing = false;
    if (pg_exec_ok(g->pg, "begin", err, errlen) != 0)
        return -1;
    if (pg_exec_params_ok(g->pg,
                          "insert into guard_state (account_id) values ($1) on conflict do nothing",
                          1, p, err, errlen) != 0)
        goto fail;
    PGresult *r = pg_exec_params(g->pg, SQL_LOCK, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        pg_error_copy(err, errlen,
                      PQresultStatus(r) == PGRES_TUPLES_OK ? "guard_state row vanished"
                                                           : PQresultErrorMessage(r));
        PQclear(r);
        goto fail;
    }
    guard_status st;
    guard_baselines b;
    double deposits;
    read_state(r, &st, &b, &deposits);
    char deals_until[64] = "";
    if (!PQgetisnull(r, 0, 17))
        snprintf(deals_until, sizeof deals_until, "%s", PQgetvalue(r, 0, 17));
    PQclear(r);

    enum guard_state stored = st.state;
    guard_sample s = {.has_data = in->has_data,
                      .equity = in->equity,
                      .balance = in->balance,
                      .data_ms = in->data_ms,
                      .now_ms = in->now_ms,
                      .day = in->day,
                      .deposits = deposits};
    unsigned ev = guard_step(&in->rules, &b, &s, &st);
    bool tripped = (ev & (GE_COUNTDOWN | GE_CLOSE | GE_BREACH)) != 0;
    if (write_state(g, a->id, &st, &b, in, deals_until[0] ? deals_until : NULL, tripped, err,
                    errlen) != 0)
        goto fail;
    if (st.state != stored && log_event(g, a->id, stored, &st, in->equity, err, errlen) != 0)
        goto fail;
    /* The state as this instance last saw it: a command (abort, re-arm,
     * close-all) changes the stored state between passes, and its alerts
     * follow too. */
    enum guard_state prev = a->synced ? a->last_state : stored;
    /* An account never seen with data, just taken over: its first poll is
     * on the way. Blind is its state, but not an alert until the data is
     * late by the rule's own bound. */
    bool settling = st.state == GS_BLIND && !b.initialised &&
                    in->now_ms - a->owned_since_ms < (int64_t)in->rules.blind_after_s * 1000;
    if (settling) {
        a->synced = false;
    } else if (!a->synced || st.state != a->last_state || st.level != a->last_level ||
               st.state != stored) {
        if (guard_sync_alerts(g, a->id, &st, prev, &in->rules, err, errlen) != 0)
            goto fail;
    }
    if (pg_exec_ok(g->pg, "commit", err, errlen) != 0)
        goto fail;
    a->synced = !settling;
    a->last_state = st.state;
    a->last_level = st.level;
    a->closing = st.state == GS_CLOSING;
    return 0;
fail:
    PQclear(pg_exec(g->pg, "rollback"));
    a->synced = false;
    return -1;
}
