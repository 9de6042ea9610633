/*
 * engine_poll.c - the broker poller's cycle (engine.h, engine_int.h).
 *
 * The poller keeps its own working copy of the accounts (with positions);
 * each cycle it updates that copy from the outcomes and publishes a deep
 * copy, so the published snapshot is never touched again.
 *
 * One instance polls each account: the holder of the account's session
 * advisory lock (POLL_LOCK_CLASS, hashtext(id)) on the poller's own
 * connection, tried each cycle for the accounts it lacks. The holder polls
 * the broker and writes PostgreSQL and Redis; every other instance reads
 * the holder's snapshot from Redis (a cache hit), or from PostgreSQL when
 * Redis has none or is down (a miss). When the holder's session ends its
 * locks go and the next cycle of another instance takes them. Without
 * PostgreSQL nothing can be coordinated, so an instance then polls every
 * account itself: the console keeps working.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "engine_int.h"
#include "pg.h"
#include "store.h"
#include "sysmetrics.h"
#include "view_json.h"

/* First half of the poll ownership lock: "pol" in ASCII (the guard's is
 * "grd"); the second half is hashtext(account). */
#define POLL_LOCK_CLASS "7368556"

void engine_free_accounts(account_view *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].positions);
    free(a);
}

/* Merges a freshly loaded account list into the working copy: accounts
 * keep their live data, new ones start from the stored state, removed ones
 * go. Takes ownership of the loaded snapshot's accounts. */
static int merge_accounts(engine *e, model_snapshot *loaded)
{
    bool *owned = calloc(loaded->n_accounts ? loaded->n_accounts : 1, sizeof *owned);
    if (!owned) {
        model_snapshot_free(loaded);
        return -1;
    }
    for (size_t i = 0; i < loaded->n_accounts; i++) {
        account_view *nw = &loaded->accounts[i];
        for (size_t j = 0; j < e->n_acc; j++) {
            account_view *old = &e->acc[j];
            if (strcmp(old->id, nw->id) != 0)
                continue;
            owned[i] = e->owned[j];
            /* Keep what this process saw most recently. */
            if (old->updated_ms >= nw->updated_ms) {
                free(nw->positions);
                char name[sizeof nw->name];
                double limit = nw->dd_limit_pct;
                double peak = fmax(nw->peak_equity, old->peak_equity);
                memcpy(name, nw->name, sizeof name);
                *nw = *old;
                old->positions = NULL;
                memcpy(nw->name, name, sizeof name);
                nw->dd_limit_pct = limit;
                nw->peak_equity = peak;
            }
            break;
        }
    }
    engine_free_accounts(e->acc, e->n_acc);
    free(e->owned);
    e->acc = loaded->accounts;
    e->n_acc = loaded->n_accounts;
    e->owned = owned;
    loaded->accounts = NULL;
    loaded->n_accounts = 0;
    model_snapshot_free(loaded);
    return 0;
}

int engine_reload_accounts(engine *e, char *err, size_t errlen)
{
    model_snapshot *loaded;
    if (store_load_snapshot(e->pg, e->scope, NULL, (int64_t)e->cfg->stale_after_s * 1000, &loaded,
                            err, errlen) != 0)
        return -1;
    if (merge_accounts(e, loaded) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->accounts_loaded_ms = clock_mono_ms();
    return 0;
}

static int copy_positions(account_view *dst, const account_view *src)
{
    dst->positions = NULL;
    if (src->n_positions == 0)
        return 0;
    dst->positions = malloc(src->n_positions * sizeof *dst->positions);
    if (!dst->positions)
        return -1;
    memcpy(dst->positions, src->positions, src->n_positions * sizeof *dst->positions);
    return 0;
}

void engine_publish(engine *e)
{
    model_snapshot *s = model_snapshot_new(e->n_acc);
    if (!s)
        return; /* out of memory: the console keeps the previous snapshot */
    for (size_t i = 0; i < e->n_acc; i++) {
        s->accounts[i] = e->acc[i];
        if (copy_positions(&s->accounts[i], &e->acc[i]) != 0) {
            s->accounts[i].n_positions = 0;
            model_snapshot_free(s);
            return;
        }
    }
    s->built_ms = clock_now_ms();
    s->stale_after_ms = (int64_t)e->cfg->stale_after_s * 1000;
    s->pg = e->pg_state;
    s->redis = e->redis_state;
    s->broker = e->broker_state;
    memcpy(s->pg_error, e->pg_error, sizeof s->pg_error);
    memcpy(s->redis_error, e->redis_error, sizeof s->redis_error);
    memcpy(s->broker_error, e->broker_error, sizeof s->broker_error);
    s->poll_latency = latency_summarize(&e->lat);
    s->poll_cycles = e->cycles;
    s->n_polled = e->n_polled;
    model_publish(e->m, s);
}
static void apply_outcome(account_view *a, poll_outcome *o, int64_t now_ms)
{
    if (o->ok) {
        a->info = o->info;
        a->has_info = true;
        free(a->positions);
        a->positions = o->positions;
        a->n_positions = o->n_positions;
        o->positions = NULL;
        o->n_positions = 0;
        a->updated_ms = now_ms;
        a->link = LINK_UP;
        a->error[0] = '\0';
        a->consecutive_errors = 0;
        if (isfinite(a->info.equity) && a->info.equity > a->peak_equity)
            a->peak_equity = a->info.equity;
    } else {
        snprintf(a->error, sizeof a->error, "%s", o->error);
        /* A rate-limit wait is not a broken link. */
        if (!o->skipped) {
            a->link = LINK_DOWN;
            a->consecutive_errors++;
        }
    }
}

/* Caches every account this instance polled (polled[i]): fresh data, or
 * for a failed poll the last good data with the link down and the error,
 * so the instances reading it see the failure at once. */
static void write_cache(engine *e, const bool *polled, int64_t now_ms)
{
    size_t n = 0;
    const char **ids = calloc(e->n_acc ? e->n_acc : 1, sizeof *ids);
    char **json = calloc(e->n_acc ? e->n_acc : 1, sizeof *json);
    if (!ids || !json)
        goto out;
    for (size_t i = 0; i < e->n_acc; i++) {
        if (!polled[i])
            continue;
        cJSON *o = view_json_account(&e->acc[i], now_ms, (int64_t)e->cfg->stale_after_s * 1000, 1);
        json[n] = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!json[n])
            goto out;
        ids[n++] = e->acc[i].id;
    }
    if (n == 0 && e->n_acc > 0) {
        /* Nothing polled: still probe, so the status line tells the truth. */
        e->redis_state =
            cache_ok(e->redis, e->redis_error, sizeof e->redis_error) == 0 ? LINK_UP : LINK_DOWN;
        goto out;
    }
    if (cache_put_accounts(e->redis, ids, (const char *const *)json, n, e->cfg->cache_ttl_s,
                           e->redis_error, sizeof e->redis_error) == 0 &&
        cache_publish_generation(e->redis, e->cycles, e->redis_error, sizeof e->redis_error) == 0) {
        e->redis_state = LINK_UP;
        e->redis_error[0] = '\0';
    } else {
        e->redis_state = LINK_DOWN;
    }
out:
    for (size_t i = 0; json && i < n; i++)
        cJSON_free(json[i]);
    free(json);
    free(ids);
}

/* Takes the poll locks this instance lacks (one statement). True when
 * ownership decides who polls; false when this instance must poll every
 * account itself: without PostgreSQL, when the statement fails, or when
 * told to (engine_poll_everything). */
static bool take_ownership(engine *e)
{
    if (e->poll_all || e->pg_state != LINK_UP || !e->pg || PQstatus(e->pg) != CONNECTION_OK)
        return false;
    int pid = PQbackendPID(e->pg);
    if (pid != e->lock_pid) {
        /* A new session (a reconnect) holds none of the old one's locks. */
        for (size_t i = 0; i < e->n_acc; i++)
            e->owned[i] = false;
        e->lock_pid = pid;
    }
    char **want = calloc(e->n_acc ? e->n_acc : 1, sizeof *want);
    if (!want)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < e->n_acc; i++)
        if (!e->owned[i])
            want[n++] = e->acc[i].id;
    bool ok = true;
    if (n > 0) {
        char *lit = pg_text_array_literal(want, n);
        const char *p[1] = {lit};
        char msg[200];
        PGresult *r = lit ? pg_query(e->pg,
                                     "select id, pg_try_advisory_lock(" POLL_LOCK_CLASS
                                     ", hashtext(id)) from unnest($1::text[]) id",
                                     1, p, msg, sizeof msg)
                          : NULL;
        ok = r != NULL;
        for (int k = 0; r && k < PQntuples(r); k++) {
            if (PQgetvalue(r, k, 1)[0] != 't')
                continue;
            for (size_t i = 0; i < e->n_acc; i++)
                if (strcmp(e->acc[i].id, PQgetvalue(r, k, 0)) == 0)
                    e->owned[i] = true;
        }
        PQclear(r);
        free(lit);
    }
    free(want);
    return ok;
}

/* Takes another instance's snapshot v of account a when it is newer than
 * what a holds; a keeps its name and limit (the account list's). */
static void adopt(account_view *a, account_view *v)
{
    if (v->updated_ms < a->updated_ms && v->link == a->link) {
        free(v->positions); /* v's, which may sit in a snapshot freed later */
        v->positions = NULL;
        v->n_positions = 0;
        return;
    }
    double peak = fmax(a->peak_equity, v->peak_equity);
    free(a->positions);
    a->has_info = v->has_info;
    if (v->has_info)
        a->info = v->info;
    a->positions = v->positions;
    a->n_positions = v->n_positions;
    a->updated_ms = v->updated_ms;
    a->link = v->link;
    snprintf(a->error, sizeof a->error, "%s", v->error);
    a->consecutive_errors = v->link == LINK_DOWN ? a->consecutive_errors + 1 : 0;
    a->peak_equity = peak;
    v->positions = NULL;
    v->n_positions = 0;
}

/* The accounts another instance polls: its snapshots from Redis, and from
 * PostgreSQL for those Redis does not have (expired, never written, Redis
 * down, or unreadable). */
static void read_shared(engine *e, const bool *polled)
{
    size_t n = 0;
    const char **ids = calloc(e->n_acc, sizeof *ids);
    size_t *idx = calloc(e->n_acc, sizeof *idx);
    char **json = calloc(e->n_acc, sizeof *json);
    bool *missed = calloc(e->n_acc, sizeof *missed);
    if (!ids || !idx || !json || !missed)
        goto out;
    for (size_t i = 0; i < e->n_acc; i++)
        if (!polled[i]) {
            idx[n] = i;
            ids[n++] = e->acc[i].id;
        }
    size_t n_missed = 0;
    if (cache_get_accounts(e->redis, ids, n, json, e->redis_error, sizeof e->redis_error) != 0) {
        e->redis_state = LINK_DOWN;
    } else {
        e->redis_state = LINK_UP;
        e->redis_error[0] = '\0';
    }
    for (size_t k = 0; k < n; k++) {
        account_view v;
        char msg[200];
        bool usable = json[k] && view_json_parse_account(json[k], ids[k], &v, msg, sizeof msg) == 0;
        sysm_cache_lookup(usable);
        if (usable) {
            adopt(&e->acc[idx[k]], &v);
            continue;
        }
        if (json[k]) {
            /* Ours to read, and not what we write: say so once a cycle. */
            sysm_count_error();
            fprintf(stderr, "tradeops: %s; reading PostgreSQL instead\n", msg);
        }
        missed[idx[k]] = true;
        n_missed++;
    }
    if (n_missed == 0 || e->pg_state != LINK_UP)
        goto out;
    model_snapshot *s;
    char msg[200];
    if (store_load_snapshot(e->pg, e->scope, NULL, (int64_t)e->cfg->stale_after_s * 1000, &s, msg,
                            sizeof msg) != 0) {
        snprintf(e->pg_error, sizeof e->pg_error, "reading shared accounts: %.150s", msg);
        goto out;
    }
    for (size_t j = 0; j < s->n_accounts; j++)
        for (size_t i = 0; i < e->n_acc; i++)
            if (missed[i] && strcmp(e->acc[i].id, s->accounts[j].id) == 0)
                adopt(&e->acc[i], &s->accounts[j]);
    model_snapshot_free(s);
out:
    for (size_t k = 0; json && k < n; k++)
        free(json[k]);
    free(json);
    free(ids);
    free(idx);
    free(missed);
}

/* Writes the accounts this instance polled (idx[0..np)) as one cycle. */
static int write_polled(engine *e, const size_t *idx, size_t np, const bool *fetched, char *err,
                        size_t errlen)
{
    account_view *sub = calloc(np, sizeof *sub);
    bool *f = calloc(np, sizeof *f);
    int rc = -1;
    if (!sub || !f) {
        snprintf(err, errlen, "out of memory");
    } else {
        for (size_t k = 0; k < np; k++) {
            sub[k] = e->acc[idx[k]]; /* shallow: positions stay e->acc's */
            f[k] = fetched[idx[k]];
        }
        rc = store_write_cycle(e->pg, sub, f, np, err, errlen);
    }
    free(sub);
    free(f);
    return rc;
}

int engine_cycle_once(engine *e, char *err, size_t errlen)
{
    char msg[200];
    /* PostgreSQL: reconnect when it went away; re-read the account list now
     * and then so added or removed accounts show up. */
    if (pg_ensure(&e->pg, e->cfg->pg_url, msg, sizeof msg) == 0) {
        if (e->pg_state != LINK_UP ||
            clock_mono_ms() - e->accounts_loaded_ms >= (int64_t)e->cfg->account_refresh_s * 1000) {
            if (engine_reload_accounts(e, msg, sizeof msg) != 0) {
                e->pg_state = LINK_DOWN;
                snprintf(e->pg_error, sizeof e->pg_error, "%s", msg);
            }
        }
        if (PQstatus(e->pg) == CONNECTION_OK) {
            e->pg_state = LINK_UP;
            e->pg_error[0] = '\0';
        }
    } else {
        e->pg_state = LINK_DOWN;
        snprintf(e->pg_error, sizeof e->pg_error, "%s", msg);
    }

    size_t n = e->n_acc;
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    size_t *idx = calloc(n ? n : 1, sizeof *idx);
    poll_outcome *out = calloc(n ? n : 1, sizeof *out);
    bool *fetched = calloc(n ? n : 1, sizeof *fetched);
    bool *polled = calloc(n ? n : 1, sizeof *polled);
    int rc = -1;
    if (!ids || !idx || !out || !fetched || !polled) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    /* Which accounts this instance polls: those whose lock it holds, or
     * all of them when it cannot coordinate. */
    bool coordinated = take_ownership(e);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        polled[i] = !coordinated || e->owned[i];
        if (polled[i]) {
            idx[np] = i;
            ids[np++] = e->acc[i].id;
        }
    }
    if (np > 0 && broker_poller_cycle(e->broker, ids, np, out, err, errlen) != 0)
        goto done;
    int64_t now = clock_now_ms();
    size_t n_ok = 0, n_down = 0;
    e->broker_error[0] = '\0';
    for (size_t k = 0; k < np; k++) {
        size_t i = idx[k];
        if (out[k].latency_ms > 0)
            latency_add(&e->lat, out[k].latency_ms);
        fetched[i] = out[k].ok;
        n_ok += out[k].ok;
        if (!out[k].ok && !out[k].skipped) {
            n_down++;
            if (!e->broker_error[0])
                snprintf(e->broker_error, sizeof e->broker_error, "%.40s: %.150s", e->acc[i].id,
                         out[k].error);
        }
        apply_outcome(&e->acc[i], &out[k], now);
    }
    e->n_polled = np;
    if (np < n) {
        read_shared(e, polled);
        /* The broker as the polling instances see it. */
        for (size_t i = 0; i < n; i++) {
            if (polled[i])
                continue;
            n_ok += e->acc[i].link == LINK_UP;
            if (e->acc[i].link == LINK_DOWN) {
                n_down++;
                if (!e->broker_error[0] && e->acc[i].error[0])
                    snprintf(e->broker_error, sizeof e->broker_error, "%.40s: %.150s", e->acc[i].id,
                             e->acc[i].error);
            }
        }
    }
    if (n > 0)
        e->broker_state = n_ok > 0 ? LINK_UP : n_down > 0 ? LINK_DOWN : e->broker_state;
    e->cycles++;
    if (np > 0 && e->pg_state == LINK_UP &&
        write_polled(e, idx, np, fetched, msg, sizeof msg) != 0) {
        e->pg_state = PQstatus(e->pg) == CONNECTION_OK ? LINK_UP : LINK_DOWN;
        snprintf(e->pg_error, sizeof e->pg_error, "writing cycle: %.150s", msg);
    }
    write_cache(e, polled, now);
    engine_publish(e);
    rc = 0;
done:
    for (size_t k = 0; out && k < n; k++)
        poll_outcome_clear(&out[k]);
    free(out);
    free(ids);
    free(idx);
    free(fetched);
    free(polled);
    return rc;
}

void engine_poll_everything(engine *e, bool on)
{
    e->poll_all = on;
}
