/*
 * sim_notify_control.c - /_sim/notify: what the Telegram and Slack far ends
 * received (GET) and their faults, chat migrations and reset (POST). See
 * sim_notify.h for the shapes.
 *
 * Threads: any connection thread; the notifier's mutex is held to check
 * and change the settings in one step (all-or-nothing) and to render.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_notify.h"
#include "sim_notify_int.h"

static const char *const TARGET_NAME[NT_T_COUNT] = {"telegram", "slack"};

/* The settings part of the replies; called with the mutex held. */
static bool add_settings(sim_notify *n, cJSON *o)
{
    cJSON *att = cJSON_AddObjectToObject(o, "attempts");
    cJSON *fl = cJSON_AddObjectToObject(o, "faults");
    cJSON *mig = cJSON_AddArrayToObject(o, "migrations");
    bool ok = att && fl && mig;
    for (int t = 0; ok && t < NT_T_COUNT; t++) {
        cJSON *f = cJSON_AddObjectToObject(fl, TARGET_NAME[t]);
        ok = f && cJSON_AddNumberToObject(att, TARGET_NAME[t], (double)n->attempts[t]) &&
             cJSON_AddNumberToObject(f, "fail_next", (double)n->faults[t].fail_next) &&
             cJSON_AddNumberToObject(f, "status", n->faults[t].status) &&
             cJSON_AddNumberToObject(f, "retry_after", (double)n->faults[t].retry_after);
    }
    for (size_t i = 0; ok && i < n->n_mig; i++) {
        cJSON *m = cJSON_CreateObject();
        ok = m && cJSON_AddStringToObject(m, "from", n->mig[i].from) &&
             cJSON_AddStringToObject(m, "to", n->mig[i].to) && cJSON_AddItemToArray(mig, m);
        if (!ok)
            cJSON_Delete(m);
    }
    return ok;
}

cJSON *sim_notify_json(sim_notify *n)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    pthread_mutex_lock(&n->mu);
    for (int t = 0; ok && t < NT_T_COUNT; t++) {
        cJSON *arr = cJSON_AddArrayToObject(o, TARGET_NAME[t]);
        ok = arr != NULL;
        const nt_ring *g = &n->rec[t];
        for (size_t i = 0; ok && i < g->n; i++) {
            const nt_record *r = &g->r[(g->head + i) % SIM_NOTIFY_MAX_RECORDS];
            cJSON *one = cJSON_CreateObject();
            ok = one &&
                 cJSON_AddStringToObject(one, t == NT_T_TELEGRAM ? "chat_id" : "path", r->where) &&
                 cJSON_AddStringToObject(one, "text", r->text) &&
                 (t == NT_T_SLACK ||
                  (r->parse_mode ? cJSON_AddStringToObject(one, "parse_mode", r->parse_mode)
                                 : cJSON_AddNullToObject(one, "parse_mode"))) &&
                 cJSON_AddNumberToObject(one, "at", (double)r->at_ms) &&
                 cJSON_AddItemToArray(arr, one);
            if (!ok)
                cJSON_Delete(one);
        }
    }
    ok = ok && add_settings(n, o);
    pthread_mutex_unlock(&n->mu);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void control_error(sim_reply *out, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "error", "ValidationError") ||
              !cJSON_AddStringToObject(o, "message", msg))) {
        cJSON_Delete(o);
        o = NULL;
    }
    out->status = 400;
    out->json = o;
}

/* A whole number field within [lo, hi], or dflt when absent; false when bad. */
static bool long_field(const cJSON *body, const char *key, long dflt, long lo, long hi, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v) {
        *out = dflt;
        return true;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)lo || v->valuedouble > (double)hi)
        return false;
    *out = (long)v->valuedouble;
    return true;
}

void sim_notify_control(sim_notify *n, const char *body, size_t len, sim_reply *out)
{
    static const char *const KEYS[] = {"reset",     "migrate", "target",
                                       "fail_next", "status",  "retry_after"};
    cJSON *req = cJSON_ParseWithLength(body, len);
    const cJSON *item;
    const char *bad = NULL;
    char msg[256];
    if (!cJSON_IsObject(req))
        bad = "the body must be a JSON object: {\"reset\":true}, {\"migrate\":{\"from\",\"to\"}} "
              "or {\"target\":\"telegram\"|\"slack\",\"fail_next\":N,\"status\":429|403|500,"
              "\"retry_after\":S}";
    cJSON *keys = bad ? NULL : req;
    cJSON_ArrayForEach(item, keys)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
            known = known || strcmp(item->string, KEYS[i]) == 0;
        if (!known && !bad) {
            snprintf(msg, sizeof msg,
                     "unknown key '%.64s'; use reset, migrate, target, fail_next, status, "
                     "retry_after",
                     item->string);
            bad = msg;
        }
    }
    const cJSON *reset = cJSON_GetObjectItemCaseSensitive(req, "reset");
    const cJSON *mig = cJSON_GetObjectItemCaseSensitive(req, "migrate");
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(req, "target");
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(mig, "from");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(mig, "to");
    char from_id[NT_CHAT_ID_LEN], to_id[NT_CHAT_ID_LEN];
    int t = -1;
    nt_fault f = {0, NT_DEFAULT_FAIL_STATUS, NT_DEFAULT_RETRY_AFTER_S};
    bool fault_keys = cJSON_GetObjectItemCaseSensitive(req, "fail_next") ||
                      cJSON_GetObjectItemCaseSensitive(req, "status") ||
                      cJSON_GetObjectItemCaseSensitive(req, "retry_after");
    long status = NT_DEFAULT_FAIL_STATUS;
    if (bad) {
    } else if (reset && !cJSON_IsBool(reset)) {
        bad = "reset must be true or false";
    } else if (mig && (!cJSON_IsObject(mig) || !sim_notify_chat_id(from, from_id, sizeof from_id) ||
                       !sim_notify_chat_id(to, to_id, sizeof to_id) || to_id[0] == '@')) {
        bad = "migrate must be {\"from\":CHAT,\"to\":CHAT}: chat ids as integers or decimal "
              "strings (from may also be \"@channel\"), e.g. {\"from\":\"-100200\","
              "\"to\":\"-1001234567\"}";
    } else if (target &&
               !(cJSON_IsString(target) && (strcmp(target->valuestring, "telegram") == 0 ||
                                            strcmp(target->valuestring, "slack") == 0))) {
        bad = "target must be \"telegram\" or \"slack\"";
    } else if (fault_keys && !target) {
        bad = "fail_next, status and retry_after need a target (\"telegram\" or \"slack\")";
    } else if (!long_field(req, "fail_next", 1, -1, SIM_NOTIFY_MAX_FAIL_NEXT, &f.fail_next)) {
        bad = "fail_next must be a whole number: -1 (every request until reset), 0 (none) or "
              "how many of the next requests fail";
    } else if (!long_field(req, "status", NT_DEFAULT_FAIL_STATUS, 0, 999, &status) ||
               (status != 429 && status != 403 && status != 500)) {
        bad = "status must be 429, 403 or 500";
    } else if (!long_field(req, "retry_after", NT_DEFAULT_RETRY_AFTER_S, 0,
                           SIM_NOTIFY_MAX_RETRY_AFTER, &f.retry_after)) {
        bad = "retry_after must be a whole number of seconds from 0 to 3600";
    } else if (!reset && !mig && !target) {
        bad = "nothing to do: give reset, migrate or target";
    }
    if (bad) {
        control_error(out, bad);
        cJSON_Delete(req);
        return;
    }
    f.status = (int)status;
    if (target)
        t = strcmp(target->valuestring, "telegram") == 0 ? NT_T_TELEGRAM : NT_T_SLACK;
    pthread_mutex_lock(&n->mu);
    /* Where the migration goes, known before anything changes (all-or-nothing). */
    size_t slot = 0;
    if (!cJSON_IsTrue(reset))
        while (slot < n->n_mig && strcmp(n->mig[slot].from, from_id) != 0)
            slot++;
    bool full = mig && slot == SIM_NOTIFY_MAX_MIGRATIONS;
    if (!full && cJSON_IsTrue(reset)) {
        for (int k = 0; k < NT_T_COUNT; k++) {
            sim_notify_ring_clear(&n->rec[k]);
            n->attempts[k] = 0;
        }
        sim_notify_faults_default(n);
        n->n_mig = 0;
    }
    if (!full && t >= 0)
        n->faults[t] = f;
    if (!full && mig) {
        memcpy(n->mig[slot].from, from_id, sizeof from_id);
        memcpy(n->mig[slot].to, to_id, sizeof to_id);
        if (slot == n->n_mig)
            n->n_mig++;
    }
    cJSON *o = full ? NULL : cJSON_CreateObject();
    bool ok = o && add_settings(n, o);
    pthread_mutex_unlock(&n->mu);
    cJSON_Delete(req);
    if (full) {
        snprintf(msg, sizeof msg, "at most %d migrations; reset first", SIM_NOTIFY_MAX_MIGRATIONS);
        control_error(out, msg);
        return;
    }
    if (!ok) {
        cJSON_Delete(o);
        o = NULL;
    }
    out->status = 200;
    out->json = o;
}
