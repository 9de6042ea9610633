/* view_json.c - see view_json.h. */
#include "view_json.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"

void view_iso_time(int64_t ms, char *out, size_t outlen)
{
    if (ms <= 0) {
        snprintf(out, outlen, "%s", "");
        return;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

void view_json_add_number(cJSON *o, const char *name, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

cJSON *view_json_position(const position *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char t[40];
    view_iso_time(p->open_time_ms, t, sizeof t);
    cJSON_AddStringToObject(o, "id", p->id);
    cJSON_AddStringToObject(o, "symbol", p->symbol);
    cJSON_AddStringToObject(o, "side", side_name(p->side));
    cJSON_AddNumberToObject(o, "magic", (double)p->magic);
    if (t[0])
        cJSON_AddStringToObject(o, "time", t);
    else
        cJSON_AddNullToObject(o, "time");
    view_json_add_number(o, "volume", p->volume);
    view_json_add_number(o, "openPrice", p->open_price);
    view_json_add_number(o, "currentPrice", p->current_price);
    view_json_add_number(o, "stopLoss", p->stop_loss);
    view_json_add_number(o, "takeProfit", p->take_profit);
    view_json_add_number(o, "swap", p->swap);
    view_json_add_number(o, "commission", p->commission);
    view_json_add_number(o, "profit", p->profit);
    cJSON_AddStringToObject(o, "comment", p->comment);
    return o;
}

cJSON *view_json_account(const account_view *a, int64_t now_ms, int64_t stale_after_ms,
                         int with_positions)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char t[40];
    cJSON_AddStringToObject(o, "id", a->id);
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddStringToObject(o, "link", link_state_name(a->link));
    if (a->error[0])
        cJSON_AddStringToObject(o, "error", a->error);
    else
        cJSON_AddNullToObject(o, "error");
    view_iso_time(a->updated_ms, t, sizeof t);
    if (t[0]) {
        cJSON_AddStringToObject(o, "fetchedAt", t);
        cJSON_AddNumberToObject(o, "ageMs", (double)account_age_ms(a, now_ms));
    } else {
        cJSON_AddNullToObject(o, "fetchedAt");
        cJSON_AddNullToObject(o, "ageMs");
    }
    cJSON_AddBoolToObject(o, "stale", account_age_ms(a, now_ms) > stale_after_ms);
    view_json_add_number(o, "ddLimitPct", a->dd_limit_pct);
    if (a->has_info) {
        const account_info *i = &a->info;
        cJSON_AddStringToObject(o, "broker", i->broker);
        cJSON_AddStringToObject(o, "currency", i->currency);
        cJSON_AddStringToObject(o, "server", i->server);
        cJSON_AddStringToObject(o, "brokerName", i->name);
        cJSON_AddStringToObject(o, "type", i->type);
        view_json_add_number(o, "balance", i->balance);
        view_json_add_number(o, "equity", i->equity);
        view_json_add_number(o, "margin", i->margin);
        view_json_add_number(o, "freeMargin", i->free_margin);
        view_json_add_number(o, "marginLevel", i->margin_level);
        view_json_add_number(o, "credit", i->credit);
        cJSON_AddNumberToObject(o, "leverage", (double)i->leverage);
        cJSON_AddNumberToObject(o, "login", (double)i->login);
        view_json_add_number(o, "floatingPnl", account_floating_pnl(a));
        view_json_add_number(o, "peakEquity", a->peak_equity);
        view_json_add_number(o, "drawdownPct", account_drawdown_pct(a));
    }
    cJSON_AddNumberToObject(o, "positionCount", (double)a->n_positions);
    if (with_positions) {
        cJSON *arr = cJSON_AddArrayToObject(o, "positions");
        for (size_t k = 0; arr && k < a->n_positions; k++) {
            cJSON *p = view_json_position(&a->positions[k]);
            if (p)
                cJSON_AddItemToArray(arr, p);
        }
    }
    return o;
}

/* ---- parsing a cached account back ---- */

/* A string member into dst (truncated to fit). Absent or null leaves ""
 * when optional; anything else is refused. */
static bool get_str(const cJSON *o, const char *name, bool optional, char *dst, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    dst[0] = '\0';
    if (cJSON_IsString(v) && v->valuestring) {
        snprintf(dst, n, "%s", v->valuestring);
        return true;
    }
    return optional && (!v || cJSON_IsNull(v));
}

/* A number member; null (what a non-finite number became) is NAN. */
static bool get_num(const cJSON *o, const char *name, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return true;
    }
    if (cJSON_IsNull(v)) {
        *out = NAN;
        return true;
    }
    return false;
}

static bool get_i64(const cJSON *o, const char *name, int64_t *out)
{
    double d;
    if (!get_num(o, name, &d) || !isfinite(d) || d < -9.0e15 || d > 9.0e15)
        return false;
    *out = (int64_t)d;
    return true;
}

static bool get_time(const cJSON *o, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v || cJSON_IsNull(v)) {
        *out = 0;
        return true;
    }
    return cJSON_IsString(v) && v->valuestring && broker_parse_time(v->valuestring, out) == 0;
}

static bool parse_position(const cJSON *o, position *p, const char **bad)
{
    char side[8];
    memset(p, 0, sizeof *p);
#define NEED(x, field)                                                                             \
    if (!(x)) {                                                                                    \
        *bad = field;                                                                              \
        return false;                                                                              \
    }
    NEED(cJSON_IsObject(o), "positions[]");
    NEED(get_str(o, "id", false, p->id, sizeof p->id) && p->id[0], "positions[].id");
    NEED(get_str(o, "symbol", false, p->symbol, sizeof p->symbol), "positions[].symbol");
    NEED(get_str(o, "side", false, side, sizeof side) &&
             (strcmp(side, "BUY") == 0 || strcmp(side, "SELL") == 0),
         "positions[].side");
    p->side = side[0] == 'S' ? SIDE_SELL : SIDE_BUY;
    NEED(get_i64(o, "magic", &p->magic), "positions[].magic");
    NEED(get_time(o, "time", &p->open_time_ms), "positions[].time");
    NEED(get_num(o, "volume", &p->volume), "positions[].volume");
    NEED(get_num(o, "openPrice", &p->open_price), "positions[].openPrice");
    NEED(get_num(o, "currentPrice", &p->current_price), "positions[].currentPrice");
    NEED(get_num(o, "stopLoss", &p->stop_loss), "positions[].stopLoss");
    NEED(get_num(o, "takeProfit", &p->take_profit), "positions[].takeProfit");
    NEED(get_num(o, "swap", &p->swap), "positions[].swap");
    NEED(get_num(o, "commission", &p->commission), "positions[].commission");
    NEED(get_num(o, "profit", &p->profit), "positions[].profit");
    NEED(get_str(o, "comment", true, p->comment, sizeof p->comment), "positions[].comment");
    return true;
}

static bool parse_account(const cJSON *o, const char *id, account_view *a, const char **bad)
{
    char link[16], got_id[sizeof a->id];
    NEED(cJSON_IsObject(o), "the snapshot");
    NEED(get_str(o, "id", false, got_id, sizeof got_id), "id");
    NEED(strcmp(got_id, id) == 0, "id (another account's)");
    snprintf(a->id, sizeof a->id, "%s", got_id);
    NEED(get_str(o, "name", false, a->name, sizeof a->name), "name");
    NEED(get_str(o, "link", false, link, sizeof link), "link");
    a->link = strcmp(link, "up") == 0 ? LINK_UP : strcmp(link, "down") == 0 ? LINK_DOWN
                                                                             : LINK_UNKNOWN;
    NEED(get_str(o, "error", true, a->error, sizeof a->error), "error");
    NEED(get_time(o, "fetchedAt", &a->updated_ms), "fetchedAt");
    NEED(get_num(o, "ddLimitPct", &a->dd_limit_pct), "ddLimitPct");
    /* An account that was never fetched has no info fields at all. */
    a->has_info = cJSON_GetObjectItemCaseSensitive(o, "equity") != NULL;
    if (a->has_info) {
        account_info *i = &a->info;
        NEED(get_str(o, "broker", false, i->broker, sizeof i->broker), "broker");
        NEED(get_str(o, "currency", false, i->currency, sizeof i->currency), "currency");
        NEED(get_str(o, "server", false, i->server, sizeof i->server), "server");
        NEED(get_str(o, "brokerName", false, i->name, sizeof i->name), "brokerName");
        NEED(get_str(o, "type", false, i->type, sizeof i->type), "type");
        NEED(get_num(o, "balance", &i->balance), "balance");
        NEED(get_num(o, "equity", &i->equity), "equity");
        NEED(get_num(o, "margin", &i->margin), "margin");
        NEED(get_num(o, "freeMargin", &i->free_margin), "freeMargin");
        NEED(get_num(o, "marginLevel", &i->margin_level), "marginLevel");
        NEED(get_num(o, "credit", &i->credit), "credit");
        NEED(get_i64(o, "leverage", &i->leverage), "leverage");
        NEED(get_i64(o, "login", &i->login), "login");
        NEED(get_num(o, "peakEquity", &a->peak_equity), "peakEquity");
        if (!isfinite(a->peak_equity))
            a->peak_equity = 0;
    }
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "positions");
    NEED(cJSON_IsArray(arr), "positions");
    int n = cJSON_GetArraySize(arr);
    NEED(n >= 0 && n <= 100000, "positions (too many)");
    a->n_positions = 0;
    a->positions = n ? calloc((size_t)n, sizeof *a->positions) : NULL;
    NEED(n == 0 || a->positions, "positions (out of memory)");
    const cJSON *p;
    cJSON_ArrayForEach(p, arr)
    {
        if (!parse_position(p, &a->positions[a->n_positions], bad))
            return false;
        a->n_positions++;
    }
    return true;
#undef NEED
}

int view_json_parse_account(const char *text, const char *id, account_view *a, char *err,
                            size_t errlen)
{
    cJSON *o = cJSON_Parse(text);
    if (!o) {
        snprintf(err, errlen, "cached snapshot of %.64s is not JSON", id);
        return -1;
    }
    account_view v;
    memset(&v, 0, sizeof v);
    const char *bad = "";
    bool ok = parse_account(o, id, &v, &bad);
    cJSON_Delete(o);
    if (!ok) {
        free(v.positions);
        snprintf(err, errlen, "cached snapshot of %.64s has a bad %s", id, bad);
        return -1;
    }
    *a = v;
    return 0;
}
