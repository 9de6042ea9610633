/*
 * sim_open.c - POST /_sim/open: open positions on demand (see sim_open.h).
 *
 * The room check and every open happen under one hold of the world mutex,
 * so a tick cannot fill the account between them; the reply is rendered
 * after the lock is released.
 *
 * Threads: any connection thread; the world mutex guards the market.
 */
#include "sim_open.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sim_json.h"
#include "sim_market.h"

#define OPEN_METHOD "POST"
#define TICKET_TEXT 24 /* a uint64 in decimal and a NUL */

__attribute__((format(printf, 4, 5))) static void fail(sim_reply *out, unsigned status,
                                                       const char *error, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    out->status = status;
    out->json = sim_json_error(error, msg);
}

/* Reads {"account","count"}; false after answering 400. */
static bool read_body(const sim_request *rq, char *account, size_t accountlen, long *count,
                      sim_reply *out)
{
    cJSON *body = cJSON_ParseWithLength(rq->body, rq->body_len);
    if (!body || !cJSON_IsObject(body)) {
        fail(out, 400, "ValidationError", "request body must be a JSON object%s",
             body ? "" : " (it is not valid JSON)");
        cJSON_Delete(body);
        return false;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, "account");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(body, "count");
    bool ok = false;
    if (!cJSON_IsString(a) || a->valuestring[0] == '\0' || strlen(a->valuestring) >= accountlen) {
        fail(out, 400, "ValidationError",
             "account must be a string such as \"demo-1\" (at most %zu bytes)", accountlen - 1);
    } else if (!cJSON_IsNumber(c) || !(c->valuedouble >= 1) ||
               c->valuedouble > SIM_OPEN_MAX_COUNT || c->valuedouble != floor(c->valuedouble)) {
        fail(out, 400, "ValidationError", "count must be a whole number from 1 to %d",
             SIM_OPEN_MAX_COUNT);
    } else {
        snprintf(account, accountlen, "%s", a->valuestring);
        *count = (long)c->valuedouble; /* range checked above */
        ok = true;
    }
    cJSON_Delete(body);
    return ok;
}

static cJSON *render(const char *account, const uint64_t *tickets, long opened, size_t open_now)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "account", account);
    cJSON *list = ok ? cJSON_AddArrayToObject(o, "opened") : NULL;
    ok = list && cJSON_AddNumberToObject(o, "positions", (double)open_now);
    for (long i = 0; ok && i < opened; i++) {
        char t[TICKET_TEXT];
        snprintf(t, sizeof t, "%llu", (unsigned long long)tickets[i]);
        cJSON *s = cJSON_CreateString(t);
        ok = s && cJSON_AddItemToArray(list, s);
        if (!ok)
            cJSON_Delete(s);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Opens count positions on account acc (the lock held). Returns how many
 * were opened; on a shortfall (no room, halted bot, out of memory) none or
 * fewer, with why in err and *status set. */
static long open_locked(sim_market *mk, size_t acc, long count, uint64_t *tickets, size_t *open_now,
                        unsigned *status, char *err, size_t errlen)
{
    sim_position *pos = malloc(SIM_MARKET_MAX_POSITIONS * sizeof *pos);
    if (!pos) {
        *status = 500;
        snprintf(err, errlen, "out of memory");
        return 0;
    }
    size_t have = sim_market_positions(mk, acc, pos);
    free(pos);
    size_t room = have < SIM_MARKET_MAX_POSITIONS ? SIM_MARKET_MAX_POSITIONS - have : 0;
    if ((size_t)count > room) {
        *status = 400;
        snprintf(err, errlen,
                 "demo-%zu holds %zu open positions and an account holds at most %d here, so "
                 "%ld more do not fit (room for %zu); nothing was opened",
                 acc + 1, have, SIM_MARKET_MAX_POSITIONS, count, room);
        *open_now = have;
        return 0;
    }
    if (sim_market_halted(mk, acc)) {
        *status = 400;
        snprintf(err, errlen,
                 "the bot of demo-%zu is halted (a position was closed through the API) and "
                 "opens nothing; nothing was opened",
                 acc + 1);
        *open_now = have;
        return 0;
    }
    long opened = 0;
    int64_t now = clock_now_ms();
    while (opened < count) {
        uint64_t t = 0;
        int rc = sim_market_open_now(mk, acc, SIM_OPEN_BOT, 0, now, &t, err, errlen);
        if (rc != 0) {
            *status = rc < 0 ? 500 : 400;
            break;
        }
        sim_market_hold(mk, acc, t, true);
        tickets[opened++] = t;
    }
    *open_now = have + (size_t)opened;
    return opened;
}

bool sim_open_route(sim_world *w, const sim_request *rq, sim_reply *out)
{
    if (strcmp(rq->path, SIM_OPEN_PATH) != 0)
        return false;
    if (strcmp(rq->method, OPEN_METHOD) != 0) {
        fail(out, 405, "MethodNotAllowedError", "use %s for %s", OPEN_METHOD, SIM_OPEN_PATH);
        out->allow = OPEN_METHOD;
        return true;
    }
    if (rq->body_too_big) {
        fail(out, 413, "ValidationError", "request body is larger than %u bytes",
             SIM_ROUTES_MAX_BODY);
        return true;
    }
    char account[SIM_MARKET_ID_LEN];
    long count = 0;
    if (!read_body(rq, account, sizeof account, &count, out))
        return true;
    uint64_t *tickets = malloc((size_t)count * sizeof *tickets);
    if (!tickets) {
        fail(out, 500, "InternalError", "out of memory");
        return true;
    }
    char err[240] = "";
    unsigned status = 200;
    size_t open_now = 0;
    long opened = 0;
    sim_world_lock(w);
    sim_market *mk = sim_world_market(w);
    long acc = sim_market_find(mk, account);
    size_t n_accounts = sim_market_accounts(mk);
    if (acc >= 0)
        opened = open_locked(mk, (size_t)acc, count, tickets, &open_now, &status, err, sizeof err);
    sim_world_unlock(w);
    if (acc < 0) {
        fail(out, 404, "NotFoundError",
             "account '%.64s' not found; this simulator has demo-1 .. demo-%zu", account,
             n_accounts);
    } else if (status != 200) {
        /* A shortfall after some opened (out of memory) says how many did. */
        char done[64] = "";
        if (opened > 0)
            snprintf(done, sizeof done, "; %ld of %ld opened", opened, count);
        fail(out, status, status == 400 ? "ValidationError" : "InternalError", "%s%s", err, done);
    } else {
        out->status = 200;
        out->json = render(account, tickets, opened, open_now);
    }
    free(tickets);
    return true;
}
