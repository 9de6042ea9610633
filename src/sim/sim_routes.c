/*
 * sim_routes.c - URL matching and the handler of each route.
 *
 * Handlers copy what they need from the market under the world mutex and
 * render outside it, so a slow client or a big history never holds up ticks.
 *
 * Threads: any connection thread; see sim_world.h for the lock.
 */
#include "sim_routes.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sim_bot.h"
#include "sim_drawdown.h"
#include "sim_journal.h"
#include "sim_json.h"
#include "sim_notify.h"
#include "sim_open.h"
#include "sim_scenario.h"
#include "sim_time.h"

#define MAX_SEGMENTS 8
#define DEALS_DEFAULT_LIMIT 1000L /* MetaApi's default and maximum page */
#define DEALS_MAX_LIMIT 1000L
#define DEALS_MAX_OFFSET 1000000000L

static const struct {
    const char *name;
    enum sim_stat route;
    const char *method;
} CONTROL[] = {
    {"faults", SIM_STAT_SIM_FAULTS, "GET, POST"}, {"pause", SIM_STAT_SIM_PAUSE, "POST"},
    {"resume", SIM_STAT_SIM_RESUME, "POST"},      {"tick", SIM_STAT_SIM_TICK, "POST"},
    {"stats", SIM_STAT_SIM_STATS, "GET"},         {"scenario", SIM_STAT_SIM_SCENARIO, "POST"},
    {"scenarios", SIM_STAT_SIM_SCENARIOS, "GET"}, {"drawdown", SIM_STAT_SIM_DRAWDOWN, "GET, POST"},
    {"notify", SIM_STAT_SIM_NOTIFY, "GET, POST"},
    {"journal", SIM_STAT_SIM_JOURNAL, "GET"},     {"control", SIM_STAT_SIM_FAULTS, "GET, POST"},
};

/* The notifier far ends are matched by prefix: their handlers judge the rest
 * of the path and answer in their own protocol's words (Telegram's 404 JSON,
 * Slack's no_service). */
#define TELEGRAM_PREFIX "/bot"
#define SLACK_PREFIX "/services"
/* The journal far ends likewise (sim_journal.h). */
#define TRADERVUE_PREFIX "/api/v1"
#define WEBHOOK_PREFIX "/hooks/"

static const struct {
    const char *name;
    enum sim_stat route;
    const char *method;
} ACCOUNT_ROUTES[] = {
    {"account-information", SIM_STAT_ACCOUNT_INFO, "GET"},
    {"positions", SIM_STAT_POSITIONS, "GET"},
    {"trade", SIM_STAT_TRADE, "POST"},
};

/* Splits "/a/b/c" into segments; -1 on an empty or over-long segment. */
static int split(const char *path, char seg[][SIM_ROUTES_SEGMENT_LEN], int max)
{
    if (*path != '/')
        return -1;
    int n = 0;
    for (const char *p = path + 1;; n++) {
        size_t len = strcspn(p, "/");
        if (n == max || len == 0 || len >= SIM_ROUTES_SEGMENT_LEN)
            return -1;
        memcpy(seg[n], p, len);
        seg[n][len] = '\0';
        p += len;
        if (*p == '\0')
            return n + 1;
        p++;
    }
}

void sim_routes_match(const char *path, sim_route_match *m)
{
    char seg[MAX_SEGMENTS][SIM_ROUTES_SEGMENT_LEN];
    memset(m, 0, sizeof *m);
    m->route = SIM_STAT_UNKNOWN_ROUTE;
    size_t slack_len = strlen(SLACK_PREFIX);
    if (strncmp(path, TELEGRAM_PREFIX, strlen(TELEGRAM_PREFIX)) == 0) {
        m->route = SIM_STAT_TELEGRAM;
        m->method = "POST";
        return;
    }
    if (strncmp(path, SLACK_PREFIX, slack_len) == 0 &&
        (path[slack_len] == '\0' || path[slack_len] == '/')) {
        m->route = SIM_STAT_SLACK;
        m->method = "POST";
        return;
    }
    size_t tv_len = strlen(TRADERVUE_PREFIX);
    if (strncmp(path, TRADERVUE_PREFIX, tv_len) == 0 &&
        (path[tv_len] == '\0' || path[tv_len] == '/')) {
        m->route = SIM_STAT_TRADERVUE;
        m->method = "GET, POST";
        return;
    }
    if (strncmp(path, WEBHOOK_PREFIX, strlen(WEBHOOK_PREFIX)) == 0) {
        m->route = SIM_STAT_WEBHOOK;
        m->method = "POST";
        return;
    }
    int n = split(path, seg, MAX_SEGMENTS);
    if (n == 3 && strcmp(seg[0], "_sim") == 0 && strcmp(seg[1], "journal") == 0 &&
        strcmp(seg[2], "reset") == 0) {
        m->route = SIM_STAT_SIM_JOURNAL;
        m->method = "POST";
        return;
    }
    if (n == 2 && strcmp(seg[0], "_sim") == 0) {
        for (size_t i = 0; i < sizeof CONTROL / sizeof CONTROL[0]; i++)
            if (strcmp(seg[1], CONTROL[i].name) == 0) {
                m->route = CONTROL[i].route;
                m->method = CONTROL[i].method;
            }
        return;
    }
    if (n < 5 || strcmp(seg[0], "users") != 0 || strcmp(seg[1], "current") != 0 ||
        strcmp(seg[2], "accounts") != 0)
        return;
    memcpy(m->account, seg[3], sizeof m->account);
    if (n == 5) {
        for (size_t i = 0; i < sizeof ACCOUNT_ROUTES / sizeof ACCOUNT_ROUTES[0]; i++)
            if (strcmp(seg[4], ACCOUNT_ROUTES[i].name) == 0) {
                m->route = ACCOUNT_ROUTES[i].route;
                m->method = ACCOUNT_ROUTES[i].method;
            }
    } else if (n == 8 && strcmp(seg[4], "history-deals") == 0 && strcmp(seg[5], "time") == 0) {
        m->route = SIM_STAT_DEALS;
        m->method = "GET";
        memcpy(m->from, seg[6], sizeof m->from);
        memcpy(m->to, seg[7], sizeof m->to);
    }
}

bool sim_routes_is_broker(enum sim_stat route)
{
    return route == SIM_STAT_ACCOUNT_INFO || route == SIM_STAT_POSITIONS ||
           route == SIM_STAT_DEALS || route == SIM_STAT_TRADE;
}

bool sim_routes_needs_auth(enum sim_stat route)
{
    return route != SIM_STAT_TELEGRAM && route != SIM_STAT_SLACK && route != SIM_STAT_TRADERVUE &&
           route != SIM_STAT_WEBHOOK && route != SIM_STAT_SIM_JOURNAL;
}

void sim_reply_free(sim_reply *r)
{
    cJSON_Delete(r->json);
    free(r->text);
    r->json = NULL;
    r->text = NULL;
}

__attribute__((format(printf, 4, 5))) static void
reply_error(sim_reply *out, unsigned status, const char *error, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    out->status = status;
    out->json = sim_json_error(error, msg);
}

static void reply_ok(sim_reply *out, cJSON *json)
{
    out->status = 200;
    out->json = json;
}

/* Index of the account, or -1 after answering 404. */
static long find_account(sim_world *w, const char *id, sim_reply *out)
{
    sim_world_lock(w);
    const sim_market *mk = sim_world_market(w);
    long acc = sim_market_find(mk, id);
    size_t n = sim_market_accounts(mk);
    sim_world_unlock(w);
    if (acc < 0)
        reply_error(out, 404, "NotFoundError",
                    "account '%.64s' not found; this simulator has demo-1 .. demo-%zu", id, n);
    return acc;
}

static void account_info(sim_world *w, const sim_route_match *m, const sim_faults *f,
                         sim_reply *out)
{
    long acc = find_account(w, m->account, out);
    if (acc < 0)
        return;
    sim_account_info info;
    sim_world_lock(w);
    sim_market_slide_apply(sim_world_market(w), (size_t)acc);
    sim_market_info(sim_world_market(w), (size_t)acc, &info);
    sim_world_unlock(w);
    reply_ok(out, sim_json_account_info(&info, f->hostile_text));
}

static void positions(sim_world *w, const sim_route_match *m, const sim_faults *f, sim_reply *out)
{
    long acc = find_account(w, m->account, out);
    if (acc < 0)
        return;
    sim_position pos[SIM_MARKET_MAX_POSITIONS];
    sim_world_lock(w);
    sim_market_slide_apply(sim_world_market(w), (size_t)acc);
    size_t n = sim_market_positions(sim_world_market(w), (size_t)acc, pos);
    sim_world_unlock(w);
    reply_ok(out, sim_json_positions(pos, n, f->hostile_text));
}

/* Parses a query count; absent means dflt. Returns -1 when not in [lo, hi]. */
static int query_count(const char *s, long dflt, long lo, long hi, long *out)
{
    if (!s) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s < '0' || *s > '9' || errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void deals(sim_world *w, const sim_route_match *m, const sim_request *rq,
                  const sim_faults *f, sim_reply *out)
{
    int64_t from, to;
    long offset, limit;
    if (sim_time_parse_iso(m->from, &from) != 0 || sim_time_parse_iso(m->to, &to) != 0) {
        reply_error(out, 400, "ValidationError",
                    "'%.40s' is not an ISO-8601 time; use e.g. 2026-11-21T09:01:02.345Z",
                    sim_time_parse_iso(m->from, &from) != 0 ? m->from : m->to);
        return;
    }
    if (query_count(rq->offset, 0, 0, DEALS_MAX_OFFSET, &offset) != 0 ||
        query_count(rq->limit, DEALS_DEFAULT_LIMIT, 1, DEALS_MAX_LIMIT, &limit) != 0) {
        reply_error(out, 400, "ValidationError",
                    "offset must be a whole number from 0 and limit one from 1 to %ld",
                    DEALS_MAX_LIMIT);
        return;
    }
    long acc = find_account(w, m->account, out);
    if (acc < 0)
        return;
    sim_deal *buf = malloc((size_t)limit * sizeof *buf);
    if (!buf) {
        reply_error(out, 500, "InternalError", "out of memory");
        return;
    }
    sim_world_lock(w);
    size_t n = sim_market_deals(sim_world_market(w), (size_t)acc, from, to, (size_t)offset,
                                (size_t)limit, buf);
    sim_world_unlock(w);
    reply_ok(out, sim_json_deals(buf, n, f->hostile_text));
    free(buf);
}

/* Parses the body as a JSON object, or answers 400 and returns NULL. */
static cJSON *body_object(const sim_request *rq, sim_reply *out)
{
    cJSON *j = cJSON_ParseWithLength(rq->body, rq->body_len);
    if (!j || !cJSON_IsObject(j)) {
        reply_error(out, 400, "ValidationError", "request body must be a JSON object%s",
                    j ? "" : " (it is not valid JSON)");
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* A trade reply that is not DONE: {"numericCode","stringCode","message"}. */
static cJSON *trade_code(int code, const char *string_code, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddNumberToObject(o, "numericCode", code) ||
              !cJSON_AddStringToObject(o, "stringCode", string_code) ||
              !cJSON_AddStringToObject(o, "message", message))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* One well-formed close request: counted for its account, then answered as
 * the count-based trade faults say, or closed. */
static void close_position(sim_world *w, size_t acc, const char *pid, sim_reply *out)
{
    sim_world_count_close(w, acc, SIM_CLOSES_RECEIVED);
    long hang_ms = 0;
    enum sim_trade_fault tf = sim_world_take_trade_fault(w, &hang_ms);
    if (tf != SIM_TRADE_NORMAL)
        sim_world_count_close(w, acc, SIM_CLOSES_FAULTED);
    switch (tf) {
    case SIM_TRADE_ERROR:
        reply_error(out, 500, "InternalError", "simulated close failure (trade_error_next)");
        return;
    case SIM_TRADE_REJECT:
        reply_ok(out, trade_code(10006, "TRADE_RETCODE_REJECT", "Request rejected"));
        return;
    case SIM_TRADE_REQUOTE:
        reply_ok(out, trade_code(10004, "TRADE_RETCODE_REQUOTE", "Requote"));
        return;
    case SIM_TRADE_HANG: sim_world_sleep_ms(w, hang_ms); break;
    case SIM_TRADE_NORMAL: break;
    }
    uint64_t order = 0;
    sim_world_lock(w);
    int rc = sim_market_close(sim_world_market(w), acc, pid, clock_now_ms(), &order);
    sim_world_unlock(w);
    if (rc == SIM_CLOSE_DONE) {
        sim_world_count_close(w, acc, SIM_CLOSES_DONE);
        reply_ok(out, sim_json_trade_done(order, pid));
    } else if (rc == SIM_CLOSE_NOT_FOUND) {
        reply_ok(out, sim_json_trade_closed());
    } else {
        reply_error(out, 500, "InternalError", "out of memory recording the close");
    }
}

static void trade(sim_world *w, const sim_route_match *m, const sim_request *rq, sim_reply *out)
{
    long acc = find_account(w, m->account, out);
    if (acc < 0)
        return;
    cJSON *body = body_object(rq, out);
    if (!body)
        return;
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(body, "actionType");
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(body, "positionId");
    if (!cJSON_IsString(action)) {
        reply_error(out, 400, "ValidationError", "actionType must be a string");
    } else if (strcmp(action->valuestring, "POSITION_CLOSE_ID") != 0) {
        reply_error(out, 400, "ValidationError",
                    "actionType '%.40s' is not supported; the simulator takes POSITION_CLOSE_ID",
                    action->valuestring);
    } else if (!cJSON_IsString(pid) || pid->valuestring[0] == '\0') {
        reply_error(out, 400, "ValidationError", "positionId must be a non-empty string");
    } else {
        close_position(w, (size_t)acc, pid->valuestring, out);
    }
    cJSON_Delete(body);
}

static void faults(sim_world *w, const sim_request *rq, sim_reply *out)
{
    sim_faults now;
    if (strcmp(rq->method, "GET") == 0) {
        sim_world_faults(w, &now);
        reply_ok(out, sim_faults_to_json(&now));
        return;
    }
    cJSON *body = body_object(rq, out);
    if (!body)
        return;
    char err[160];
    if (sim_world_set_faults(w, body, &now, err, sizeof err) != 0)
        reply_error(out, 400, "ValidationError", "%s", err);
    else
        reply_ok(out, sim_faults_to_json(&now));
    cJSON_Delete(body);
}

static cJSON *clock_state(sim_world *w)
{
    sim_world_lock(w);
    double ticks = (double)sim_market_ticks(sim_world_market(w));
    sim_world_unlock(w);
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddNumberToObject(o, "ticks", ticks)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void pause_resume(sim_world *w, bool paused, sim_reply *out)
{
    sim_world_set_paused(w, paused);
    cJSON *o = clock_state(w);
    if (o && !cJSON_AddBoolToObject(o, "paused", paused)) {
        cJSON_Delete(o);
        o = NULL;
    }
    reply_ok(out, o);
}

static void tick(sim_world *w, const sim_request *rq, sim_reply *out)
{
    long count = 1;
    if (rq->body_len > 0) {
        cJSON *body = body_object(rq, out);
        if (!body)
            return;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(body, "count");
        double v = cJSON_IsNumber(c) ? c->valuedouble : -1;
        /* Range first: converting an out-of-range double to long is undefined. */
        count = v >= 1 && v <= (double)SIM_WORLD_MAX_STEP && v == floor(v) ? (long)v : -1;
        cJSON_Delete(body);
    }
    char err[160];
    if (sim_world_step(w, count, err, sizeof err) != 0)
        reply_error(out, 400, "ValidationError", "%s", err);
    else
        reply_ok(out, clock_state(w));
}

/* The bot's and the scenarios' counters join the world's when the bot is
 * on; without --pg the reply is what it always was. */
static void stats(sim_world *w, sim_reply *out)
{
    cJSON *o = sim_world_stats_json(w);
    sim_bot *bot = sim_world_bot(w);
    sim_scenarios *sc = sim_world_scenarios(w);
    if (o && bot) {
        cJSON *b = sim_bot_stats_json(bot);
        cJSON *s = sc ? sim_scenarios_stats_json(sc) : NULL;
        bool ok = b && cJSON_AddItemToObject(o, "bot", b);
        if (!ok)
            cJSON_Delete(b);
        if (ok && sc) {
            ok = s && cJSON_AddItemToObject(o, "scenarios", s);
            if (!ok)
                cJSON_Delete(s);
        }
        if (!ok) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    if (!o)
        reply_error(out, 500, "InternalError", "out of memory");
    else
        reply_ok(out, o);
}

/* An optional ticket: a string, or a whole number; "" into buf when absent.
 * -1 for any other type. */
static int ticket_field(const cJSON *body, char *buf, size_t buflen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "position");
    buf[0] = '\0';
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v)) {
        snprintf(buf, buflen, "%s", v->valuestring);
        return 0;
    }
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e18 &&
        v->valuedouble == floor(v->valuedouble)) {
        snprintf(buf, buflen, "%.0f", v->valuedouble);
        return 0;
    }
    return -1;
}

static void scenario(sim_world *w, const sim_request *rq, sim_reply *out)
{
    sim_scenarios *scs = sim_world_scenarios(w);
    if (!scs) {
        reply_error(out, 400, "ValidationError",
                    "scenarios need the bot: start tradeops-sim with --pg CONNINFO");
        return;
    }
    cJSON *body = body_object(rq, out);
    if (!body)
        return;
    const cJSON *account = cJSON_GetObjectItemCaseSensitive(body, "account");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(body, "kind");
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(body, "action");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
    char position[SIM_ROUTES_SEGMENT_LEN];
    bool start = cJSON_IsString(action) && strcmp(action->valuestring, "start") == 0;
    bool end = cJSON_IsString(action) && strcmp(action->valuestring, "end") == 0;
    char err[320];
    sim_scenario sc;
    if (!cJSON_IsString(account)) {
        reply_error(out, 400, "ValidationError", "account must be a string such as \"demo-2\"");
    } else if (!cJSON_IsString(kind)) {
        reply_error(out, 400, "ValidationError",
                    "kind must be a string: stop_out, manual_trade, partial_close, sl_moved, "
                    "tp_moved or never_opened");
    } else if (!start && !end) {
        reply_error(out, 400, "ValidationError", "action must be \"start\" or \"end\"");
    } else if (ticket_field(body, position, sizeof position) != 0) {
        reply_error(out, 400, "ValidationError",
                    "position must be a ticket, as a string such as \"46648037\"");
    } else if (id && !(cJSON_IsNumber(id) && id->valuedouble >= 1 && id->valuedouble < 1e15 &&
                       id->valuedouble == floor(id->valuedouble))) {
        reply_error(out, 400, "ValidationError",
                    "id must be a scenario id (a whole number from 1)");
    } else if (start && id) {
        reply_error(out, 400, "ValidationError",
                    "id is for ending a scenario; leave it out to start one");
    } else {
        const char *pos = position[0] ? position : NULL;
        int rc = start ? sim_scenarios_start(scs, account->valuestring, kind->valuestring, pos,
                                             clock_now_ms(), &sc, err, sizeof err)
                       : sim_scenarios_end(scs, account->valuestring, kind->valuestring,
                                           id ? (long)id->valuedouble : 0, pos, clock_now_ms(), &sc,
                                           err, sizeof err);
        if (rc != 0)
            reply_error(out, 400, "ValidationError", "%s", err);
        else
            reply_ok(out, sim_scenario_json(&sc, start ? "active" : "ended"));
    }
    cJSON_Delete(body);
}

static void scenarios(sim_world *w, sim_reply *out)
{
    sim_scenarios *scs = sim_world_scenarios(w);
    if (!scs) {
        reply_error(out, 400, "ValidationError",
                    "scenarios need the bot: start tradeops-sim with --pg CONNINFO");
        return;
    }
    reply_ok(out, sim_scenarios_json(scs));
}

static bool method_allowed(const char *allowed, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = allowed; (p = strstr(p, method)) != NULL; p += n)
        if ((p == allowed || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
            return true;
    return false;
}

void sim_routes_handle(sim_world *w, const sim_route_match *m, const sim_request *rq,
                       const sim_faults *f, sim_reply *out)
{
    memset(out, 0, sizeof *out);
    if (m->route == SIM_STAT_UNKNOWN_ROUTE && sim_open_route(w, rq, out))
        return; /* POST /_sim/open, sim_open.h */
    if (m->route == SIM_STAT_UNKNOWN_ROUTE) {
        reply_error(out, 404, "NotFoundError", "no route for %.8s %.200s", rq->method, rq->path);
        return;
    }
    if (m->route == SIM_STAT_TRADERVUE || m->route == SIM_STAT_WEBHOOK) {
        sim_journal_handle(w, m->route == SIM_STAT_TRADERVUE, rq, f, out);
        return; /* methods, 413 and faults in the journals' own words */
    }
    if (!method_allowed(m->method, rq->method)) {
        reply_error(out, 405, "MethodNotAllowedError", "use %s for %.200s", m->method, rq->path);
        out->allow = m->method;
        return;
    }
    if (rq->body_too_big) {
        reply_error(out, 413, "ValidationError", "request body is larger than %u bytes",
                    SIM_ROUTES_MAX_BODY);
        return;
    }
    switch (m->route) {
    case SIM_STAT_ACCOUNT_INFO: account_info(w, m, f, out); break;
    case SIM_STAT_POSITIONS: positions(w, m, f, out); break;
    case SIM_STAT_DEALS: deals(w, m, rq, f, out); break;
    case SIM_STAT_TRADE: trade(w, m, rq, out); break;
    case SIM_STAT_SIM_FAULTS: faults(w, rq, out); break;
    case SIM_STAT_SIM_PAUSE: pause_resume(w, true, out); break;
    case SIM_STAT_SIM_RESUME: pause_resume(w, false, out); break;
    case SIM_STAT_SIM_TICK: tick(w, rq, out); break;
    case SIM_STAT_SIM_STATS: stats(w, out); break;
    case SIM_STAT_SIM_SCENARIO: scenario(w, rq, out); break;
    case SIM_STAT_SIM_SCENARIOS: scenarios(w, out); break;
    case SIM_STAT_SIM_DRAWDOWN: sim_drawdown_route(w, rq, out); break;
    case SIM_STAT_SIM_NOTIFY:
        if (strcmp(rq->method, "GET") == 0)
            reply_ok(out, sim_notify_json(sim_world_notify(w)));
        else
            sim_notify_control(sim_world_notify(w), rq->body, rq->body_len, out);
        break;
    case SIM_STAT_SIM_JOURNAL: sim_journal_control(sim_world_journal(w), rq, out); break;
    case SIM_STAT_TELEGRAM:
        sim_notify_telegram(sim_world_notify(w), rq->path, rq->body, rq->body_len, out);
        break;
    case SIM_STAT_SLACK:
        sim_notify_slack(sim_world_notify(w), rq->path, rq->body, rq->body_len, out);
        break;
    default: reply_error(out, 404, "NotFoundError", "no route for %.200s", rq->path); break;
    }
}
