/*
 * guard_close.c - the guard closing an account: every position the broker
 * holds, all at once, each reply checked, then checked again at the broker.
 *
 * 1. Ask the broker which positions are open (the stored ones if it cannot
 *    say: better to try a closed ticket than to miss an open one).
 * 2. Close them all in parallel (broker_close.h: DONE required, transient
 *    failures retried up to [guard] close_attempts).
 * 3. Ask the broker again: a ticket still open is a failure whatever the
 *    reply said; a position that appeared meanwhile (the bot opening as we
 *    close) gets a second round.
 * 4. Audit every close with the reason (the trip's why: equity, floor,
 *    rule), record the result on guard_state (state closed, close_summary)
 *    and raise guard.closed, and guard.close_failed for what is left open.
 * Stopped half-way (shutdown), the state stays closing: the next owner, or
 * this one after a restart, carries on, and tickets already closed answer
 * "gone".
 *
 * Threads: the guard thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alerts.h"
#include "audit.h"
#include "broker_close.h"
#include "guard_int.h"
#include "pg.h"

#define CLOSE_ROUNDS 2 /* the second catches positions opened during the first */
#define LIST_ATTEMPTS 3

void guard_close_free(guard *g)
{
    broker_closer_free(g->closer);
    g->closer = NULL;
}

/* The broker's open tickets; the stored ones when the broker cannot say.
 * *from_broker tells which. */
static int open_tickets(guard *g, const char *account, char (**ids)[40], size_t *n,
                        bool *from_broker, char *err, size_t errlen)
{
    *from_broker = false;
    for (int i = 0; i < LIST_ATTEMPTS && !atomic_load(&g->stop_flag); i++)
        if (broker_closer_positions(g->closer, account, ids, n, err, errlen) == 0) {
            *from_broker = true;
            return 0;
        }
    const char *p[1] = {account};
    PGresult *r =
        pg_exec_params(g->pg, "select position_id from broker_positions where account_id = $1", 1,
                       NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    size_t k = (size_t)PQntuples(r);
    *ids = calloc(k ? k : 1, sizeof **ids);
    if (!*ids) {
        PQclear(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < k; i++)
        snprintf((*ids)[i], sizeof(*ids)[i], "%s", PQgetvalue(r, (int)i, 0));
    *n = k;
    PQclear(r);
    return 0;
}

static bool listed(char (*ids)[40], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

static void audit_close(guard *g, const char *account, const close_item *it, const char *reason)
{
    operator_id sys = {.role = ROLE_NONE};
    snprintf(sys.user, sizeof sys.user, "tradeops-guard");
    snprintf(sys.actor, sizeof sys.actor, "guard@%.140s", g->owner);
    snprintf(sys.source, sizeof sys.source, "engine");
    char target[120];
    snprintf(target, sizeof target, "%.63s position %.39s", account, it->position);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "account", account);
    cJSON_AddStringToObject(d, "position", it->position);
    cJSON_AddStringToObject(d, "result",
                            it->outcome == CLOSE_DONE   ? "done"
                            : it->outcome == CLOSE_GONE ? "already closed"
                                                        : "failed");
    cJSON_AddNumberToObject(d, "attempts", it->attempts);
    cJSON_AddNumberToObject(d, "httpStatus", (double)it->http_status);
    cJSON_AddNumberToObject(d, "numericCode", (double)it->numeric_code);
    cJSON_AddStringToObject(d, "code", it->code);
    cJSON_AddStringToObject(d, "message", it->message);
    if (it->order_id[0])
        cJSON_AddStringToObject(d, "orderId", it->order_id);
    char *js = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    char err[256];
    if (audit_write(g->pg, &sys, "guard.close_position", target, reason,
                    it->outcome == CLOSE_FAILED ? "failed" : "ok", js, err, sizeof err) != 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "cannot audit the close of %.100s: %.250s", target, err);
        fprintf(stderr, "tradeops: guard: %s\n", msg);
    }
    cJSON_free(js);
}

/* Runs the close rounds; items grows as positions appear. */
static int close_rounds(guard *g, const char *account, close_item **items, size_t *n_items,
                        char *err, size_t errlen)
{
    for (int round = 0; round < CLOSE_ROUNDS && !atomic_load(&g->stop_flag); round++) {
        char(*ids)[40] = NULL;
        size_t n = 0;
        bool from_broker;
        if (open_tickets(g, account, &ids, &n, &from_broker, err, errlen) != 0)
            return -1;
        /* Tickets not tried yet (or tried and still open) make this round. */
        size_t first = *n_items;
        close_item *grown = realloc(*items, (*n_items + n + 1) * sizeof **items);
        if (!grown) {
            free(ids);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        *items = grown;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            bool known = false;
            for (size_t j = 0; j < first; j++)
                if (strcmp((*items)[j].position, ids[i]) == 0) {
                    known = true;
                    if ((*items)[j].outcome != CLOSE_FAILED && from_broker) {
                        /* Said closed, still open at the broker. */
                        (*items)[j].outcome = CLOSE_FAILED;
                        snprintf((*items)[j].message, sizeof(*items)[j].message,
                                 "still open at the broker after a %s reply",
                                 (*items)[j].code[0] ? (*items)[j].code : "close");
                    }
                }
            if (!known) {
                memset(&(*items)[first + k], 0, sizeof **items);
                snprintf((*items)[first + k].position, sizeof(*items)[first + k].position, "%s",
                         ids[i]);
                k++;
            }
        }
        free(ids);
        if (k == 0)
            break; /* nothing new open: the first round's list is the answer */
        *n_items = first + k;
        if (broker_close_all(g->closer, account, *items + first, k, g->cfg->guard_close_attempts,
                             &g->stop_flag, err, errlen) != 0)
            return -1;
    }
    /* The broker's word after the last round. */
    char(*ids)[40] = NULL;
    size_t n = 0;
    if (!atomic_load(&g->stop_flag) &&
        broker_closer_positions(g->closer, account, &ids, &n, err, errlen) == 0) {
        for (size_t j = 0; j < *n_items; j++)
            if ((*items)[j].outcome != CLOSE_FAILED && listed(ids, n, (*items)[j].position)) {
                (*items)[j].outcome = CLOSE_FAILED;
                snprintf((*items)[j].message, sizeof(*items)[j].message,
                         "still open at the broker after a %s reply",
                         (*items)[j].code[0] ? (*items)[j].code : "close");
            }
    }
    free(ids);
    return 0;
}

static char *summary_json(const close_item *items, size_t n, size_t *closed, size_t *failed,
                          bool *stopped)
{
    *closed = *failed = 0;
    *stopped = false;
    cJSON *d = cJSON_CreateObject();
    cJSON *f = cJSON_AddArrayToObject(d, "failures");
    for (size_t i = 0; i < n; i++) {
        if (items[i].outcome != CLOSE_FAILED) {
            (*closed)++;
            continue;
        }
        (*failed)++;
        if (strstr(items[i].message, "stopped"))
            *stopped = true;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "position", items[i].position);
        cJSON_AddStringToObject(o, "code", items[i].code);
        cJSON_AddStringToObject(o, "message", items[i].message);
        cJSON_AddItemToArray(f, o);
    }
    cJSON_AddNumberToObject(d, "closed", (double)*closed);
    cJSON_AddNumberToObject(d, "failed", (double)*failed);
    char *js = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return js;
}

/* The record of the close: state closed, summary, event, alerts. */
static int finish(guard *g, guard_acc *a, const char *summary, size_t closed, size_t failed,
                  const close_item *items, size_t n, char *err, size_t errlen)
{
    char detail[200];
    snprintf(detail, sizeof detail, "%zu position%s closed, %zu could not be closed", closed,
             closed == 1 ? "" : "s", failed);
    const char *p[3] = {a->id, detail, g->owner};
    if (pg_exec_ok(g->pg, "begin", err, errlen) != 0)
        return -1;
    if (pg_exec_params_ok(g->pg,
                          "insert into guard_events (account_id, from_state, to_state, equity,"
                          " floor, rule, detail, owner) select account_id, state, 'closed',"
                          " equity, floor, rule, $2, $3 from guard_state where account_id = $1",
                          3, p, err, errlen) != 0 ||
        pg_exec_params_ok(g->pg,
                          "update guard_state set state = 'closed', closed_at = now(),"
                          " close_summary = $2::jsonb, why = $3, updated_at = now()"
                          " where account_id = $1 and state = 'closing'",
                          3, (const char *const[]){a->id, summary, detail}, err, errlen) != 0)
        goto fail;
    guard_status st = {.state = GS_CLOSED};
    snprintf(st.why, sizeof st.why, "%.150s", detail);
    guard_rules defaults;
    guard_rules_default(&defaults);
    if (guard_sync_alerts(g, a->id, &st, GS_CLOSING, &defaults, err, errlen) != 0)
        goto fail;
    if (failed) {
        char title[400], list[120] = ""; /* alert_raise clips the title */
        size_t used = 0;
        for (size_t i = 0; i < n && used < sizeof list - 45; i++)
            if (items[i].outcome == CLOSE_FAILED)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%.39s",
                                         used ? ", " : "", items[i].position);
        snprintf(title, sizeof title, "%.63s: %zu position%s could not be closed: %.110s", a->id,
                 failed, failed == 1 ? "" : "s", list);
        alert_spec s = {.kind = "guard.close_failed",
                        .severity = ALERT_CRITICAL,
                        .account = a->id,
                        .rule = "guard",
                        .level = "close_failed",
                        .title = title,
                        .details_json = summary};
        if (alert_raise(g->pg, g->cfg, &s, NULL, NULL, err, errlen) != 0)
            goto fail;
    }
    if (pg_exec_ok(g->pg, "commit", err, errlen) != 0)
        goto fail;
    a->last_state = GS_CLOSED;
    a->synced = true;
    return 0;
fail:
    PQclear(pg_exec(g->pg, "rollback"));
    return -1;
}

int guard_close_account(guard *g, guard_acc *a, char *err, size_t errlen)
{
    a->closing = false;
    if (!g->closer) {
        broker_poller_config bc = {
            .base_url = g->cfg->broker_url,
            .token = g->cfg->broker_token,
            .timeout_ms = g->cfg->broker_timeout_ms,
            .connect_timeout_ms = g->cfg->broker_connect_timeout_ms,
            .default_backoff_ms = (int64_t)g->cfg->rate_limit_backoff_s * 1000,
        };
        g->closer = broker_closer_new(&bc, err, errlen);
        if (!g->closer)
            return -1;
    }
    /* The reason every close is audited with: why the guard tripped. */
    char reason[512] = "";
    const char *p[1] = {a->id};
    PGresult *r =
        pg_exec_params(g->pg,
                       "select coalesce(trip_reason, why, 'guard closing') from guard_state"
                       " where account_id = $1",
                       1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        guard_clean(PQgetvalue(r, 0, 0), reason, sizeof reason);
    PQclear(r);

    close_item *items = NULL;
    size_t n = 0;
    if (close_rounds(g, a->id, &items, &n, err, errlen) != 0) {
        /* Whatever was sent is audited; the state stays closing and the
         * next pass tries again. */
        for (size_t i = 0; i < n; i++)
            if (items[i].attempts)
                audit_close(g, a->id, &items[i], reason);
        free(items);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        audit_close(g, a->id, &items[i], reason);
    size_t closed, failed;
    bool stopped;
    char *summary = summary_json(items, n, &closed, &failed, &stopped);
    int rc = 0;
    if (!summary) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    } else if (!stopped && !atomic_load(&g->stop_flag)) {
        rc = finish(g, a, summary, closed, failed, items, n, err, errlen);
    }
    pthread_mutex_lock(&g->lock);
    g->stats.closes += closed;
    g->stats.close_failures += failed;
    pthread_mutex_unlock(&g->lock);
    cJSON_free(summary);
    free(items);
    return rc;
}
