/* view_json.c - see view_json.h. */
#include "view_json.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

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
