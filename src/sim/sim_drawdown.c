/*
 * sim_drawdown.c - the /_sim/drawdown route (see sim_drawdown.h): reads and
 * checks the request, starts or ends a slide under the world mutex, renders
 * outside it.
 *
 * Threads: any connection thread; the world mutex is held only to change or
 * copy the market.
 */
#include "sim_drawdown.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sim_json.h"
#include "sim_time.h"

__attribute__((format(printf, 2, 3))) static void bad_request(sim_reply *out, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    out->status = 400;
    out->json = sim_json_error("ValidationError", msg);
}

static cJSON *slide_json(const sim_slide_info *s)
{
    char id[32], when[SIM_TIME_TEXT_LEN]; /* id: "demo-" and any size_t */
    snprintf(id, sizeof id, "demo-%zu", s->account + 1);
    sim_time_iso(s->started_ms, when, sizeof when);
    cJSON *o = cJSON_CreateObject();
    cJSON *pos = NULL;
    bool ok = o && cJSON_AddStringToObject(o, "account", id) &&
              cJSON_AddStringToObject(o, "state", s->active ? "active" : "ended") &&
              cJSON_AddNumberToObject(o, "depth", s->depth) &&
              cJSON_AddNumberToObject(o, "seconds", (double)s->duration_ms / 1000.0) &&
              cJSON_AddStringToObject(o, "started_at", when) &&
              cJSON_AddNumberToObject(o, "elapsed_ms", (double)s->elapsed_ms) &&
              cJSON_AddNumberToObject(o, "peak", s->peak) &&
              cJSON_AddNumberToObject(o, "start_equity", s->start_equity) &&
              cJSON_AddNumberToObject(o, "floor", s->floor) &&
              cJSON_AddNumberToObject(o, "target", s->target) &&
              cJSON_AddNumberToObject(o, "equity", s->equity) &&
              cJSON_AddNumberToObject(o, "balance", s->balance) &&
              cJSON_AddNumberToObject(o, "opened", (double)s->opened) &&
              (pos = cJSON_AddArrayToObject(o, "positions")) != NULL;
    for (size_t i = 0; ok && i < s->n_tickets; i++) {
        char t[24];
        snprintf(t, sizeof t, "%llu", (unsigned long long)s->tickets[i]);
        cJSON *v = cJSON_CreateString(t);
        ok = v && cJSON_AddItemToArray(pos, v);
        if (!ok)
            cJSON_Delete(v);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void list(sim_world *w, sim_reply *out)
{
    sim_world_lock(w);
    sim_market *m = sim_world_market(w);
    size_t n = sim_market_slides(m, NULL, 0);
    sim_slide_info *all = n ? malloc(n * sizeof *all) : NULL;
    if (all)
        n = sim_market_slides(m, all, n);
    sim_world_unlock(w);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "drawdowns") : NULL;
    bool ok = arr && (n == 0 || all);
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *one = slide_json(&all[i]);
        ok = one && cJSON_AddItemToArray(arr, one);
        if (!ok)
            cJSON_Delete(one);
    }
    free(all);
    if (!ok) {
        cJSON_Delete(o);
        out->status = 500;
        out->json = sim_json_error("InternalError", "out of memory");
        return;
    }
    out->status = 200;
    out->json = o;
}

/* A number field within [lo, hi] (lo_open: strictly above lo, hi_open:
 * strictly below hi), or dflt when absent. -1 when present and not so. */
static int number_field(const cJSON *body, const char *key, double dflt, double lo, bool lo_open,
                        double hi, bool hi_open, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return -1;
    double x = v->valuedouble;
    if ((lo_open ? x <= lo : x < lo) || (hi_open ? x >= hi : x > hi))
        return -1;
    *out = x;
    return 0;
}

static const char *const KEYS[] = {"account", "depth", "seconds", "action"};

static void start_or_end(sim_world *w, const cJSON *body, sim_reply *out)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, body)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
            known = known || strcmp(item->string, KEYS[i]) == 0;
        if (!known) {
            bad_request(out, "unknown key '%.64s'; use account, depth, seconds, action",
                        item->string);
            return;
        }
    }
    const cJSON *account = cJSON_GetObjectItemCaseSensitive(body, "account");
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(body, "action");
    bool end = cJSON_IsString(action) && strcmp(action->valuestring, "end") == 0;
    bool start = !action || (cJSON_IsString(action) && strcmp(action->valuestring, "start") == 0);
    double depth, seconds;
    if (!cJSON_IsString(account)) {
        bad_request(out, "account must be a string such as \"demo-2\"");
        return;
    }
    if (!start && !end) {
        bad_request(out, "action must be \"start\" (the default) or \"end\"");
        return;
    }
    if (number_field(body, "depth", SIM_DRAWDOWN_DEFAULT_DEPTH, 0, true, SIM_DRAWDOWN_MAX_DEPTH,
                     true, &depth) != 0) {
        bad_request(out,
                    "depth must be a number more than 0 and less than %.2f (0.3 is 30%% "
                    "below the peak)",
                    SIM_DRAWDOWN_MAX_DEPTH);
        return;
    }
    if (number_field(body, "seconds", SIM_DRAWDOWN_DEFAULT_SECONDS, SIM_DRAWDOWN_MIN_SECONDS, false,
                     SIM_DRAWDOWN_MAX_SECONDS, false, &seconds) != 0) {
        bad_request(out, "seconds must be a number from %.0f to %.0f", SIM_DRAWDOWN_MIN_SECONDS,
                    SIM_DRAWDOWN_MAX_SECONDS);
        return;
    }
    char err[320];
    sim_slide_info info;
    sim_world_lock(w);
    sim_market *m = sim_world_market(w);
    long acc = sim_market_find(m, account->valuestring);
    size_t n_accounts = sim_market_accounts(m);
    int rc = 1;
    if (acc < 0)
        snprintf(err, sizeof err,
                 "account '%.64s' not found; this simulator has demo-1 .. demo-%zu",
                 account->valuestring, n_accounts);
    else if (start)
        rc = sim_market_slide_start(m, (size_t)acc, depth, (int64_t)llround(seconds * 1000.0),
                                    clock_now_ms(), &info, err, sizeof err);
    else
        rc = sim_market_slide_end(m, (size_t)acc, &info, err, sizeof err);
    sim_world_unlock(w);
    if (rc > 0) {
        bad_request(out, "%s", err);
    } else if (rc < 0) {
        out->status = 500;
        out->json = sim_json_error("InternalError", err);
    } else {
        out->status = 200;
        out->json = slide_json(&info);
    }
}

void sim_drawdown_route(sim_world *w, const sim_request *rq, sim_reply *out)
{
    if (strcmp(rq->method, "GET") == 0) {
        list(w, out);
        return;
    }
    cJSON *body = cJSON_ParseWithLength(rq->body, rq->body_len);
    if (!cJSON_IsObject(body))
        bad_request(out,
                    "request body must be a JSON object such as "
                    "{\"account\":\"demo-2\",\"depth\":0.3,\"seconds\":5}%s",
                    body ? "" : " (it is not valid JSON)");
    else
        start_or_end(w, body, out);
    cJSON_Delete(body);
}
