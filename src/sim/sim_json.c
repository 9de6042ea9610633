/*
 * sim_json.c - MetaApi-shaped reply bodies and the fault mutations of them.
 *
 * Hostile text is applied at render time, by ticket, so it can be switched on
 * and off at run time without touching market state, and the same positions
 * are hostile on every poll (a sanitiser bug shows up steadily, not once).
 *
 * Pure functions, safe from any thread.
 */
#include "sim_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_rng.h"
#include "sim_time.h"

/* Bytes a terminal would act on, or a UTF-8 decoder should reject. cJSON
 * escapes bytes below 0x20 as \u00XX (so the client decodes them back to raw
 * control bytes) and passes bytes from 0x80 up through raw. */
static const char *const HOSTILE[] = {
    "\x1b]0;pwned\x07", /* OSC: retitles the terminal */
    "\x1b[2J\x1b[H",    /* clears the screen */
    "\x9b"
    "31m", /* raw C1 CSI (also invalid UTF-8) */
    "\xc2\x9b"
    "31m",                          /* C1 CSI encoded as valid UTF-8 */
    "bad\xff\xfeutf8\xc3\x28",      /* invalid bytes and a broken pair */
    "over\xc0\xaflong\xed\xa0\x80", /* overlong '/' and a UTF-16 surrogate */
    "\r\n\b\x7f\x1b[31mRED",        /* CR, LF, BS, DEL and colour */
    "\xe2\x80\xae"
    "evil", /* right-to-left override */
};
#define N_HOSTILE (sizeof HOSTILE / sizeof HOSTILE[0])
/* Which tickets get hostile text: one in HOSTILE_EVERY in the comment, one in
 * HOSTILE_EVERY in the symbol. */
#define HOSTILE_EVERY 4
#define P_NUMBER_AS_STRING 0.5
#define P_ID_AS_NUMBER 0.3
#define P_DROP_FIELD 0.5

enum hostile_field { HOSTILE_NONE, HOSTILE_COMMENT, HOSTILE_SYMBOL };

static enum hostile_field hostile_pick(bool hostile, uint64_t ticket)
{
    if (!hostile)
        return HOSTILE_NONE;
    switch (ticket % HOSTILE_EVERY) {
    case 0: return HOSTILE_COMMENT;
    case 1: return HOSTILE_SYMBOL;
    default: return HOSTILE_NONE;
    }
}

static const char *hostile_text(uint64_t ticket)
{
    return HOSTILE[(ticket / HOSTILE_EVERY) % N_HOSTILE];
}

static void put_num(cJSON *o, const char *key, double v, bool *ok)
{
    if (*ok && !cJSON_AddNumberToObject(o, key, v))
        *ok = false;
}

static void put_str(cJSON *o, const char *key, const char *v, bool *ok)
{
    if (*ok && !cJSON_AddStringToObject(o, key, v))
        *ok = false;
}

static cJSON *finish(cJSON *o, bool ok)
{
    if (ok)
        return o;
    cJSON_Delete(o);
    return NULL;
}

static void put_times(cJSON *o, int64_t ms, bool *ok)
{
    char t[SIM_TIME_TEXT_LEN], bt[SIM_TIME_TEXT_LEN];
    sim_time_iso(ms, t, sizeof t);
    sim_time_broker(ms, bt, sizeof bt);
    put_str(o, "time", t, ok);
    put_str(o, "brokerTime", bt, ok);
}

/* Symbol and comment as shown, hostile or not. */
static void text_fields(int symbol, const char *comment, uint64_t ticket, bool hostile, char *sym,
                        size_t symlen, char *com, size_t comlen)
{
    const char *name = sim_market_symbol_name(symbol);
    enum hostile_field h = hostile_pick(hostile, ticket);
    snprintf(sym, symlen, "%s%s", name ? name : "",
             h == HOSTILE_SYMBOL ? hostile_text(ticket) : "");
    snprintf(com, comlen, "%s%s", comment, h == HOSTILE_COMMENT ? hostile_text(ticket) : "");
}

cJSON *sim_json_account_info(const sim_account_info *info, bool hostile)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    char name[SIM_MARKET_NAME_LEN + 32];
    snprintf(name, sizeof name, "%s%s", info->name,
             hostile ? hostile_text((uint64_t)info->login) : "");
    put_str(o, "broker", "Tradeops Simulated Markets Ltd", &ok);
    put_str(o, "currency", "USD", &ok);
    put_str(o, "server", "TradeopsSim-Demo", &ok);
    put_num(o, "balance", info->balance, &ok);
    put_num(o, "equity", info->equity, &ok);
    put_num(o, "margin", info->margin, &ok);
    put_num(o, "freeMargin", info->free_margin, &ok);
    put_num(o, "leverage", (double)info->leverage, &ok);
    if (info->margin > 0) /* MetaApi leaves it out rather than divide by zero */
        put_num(o, "marginLevel", info->margin_level, &ok);
    put_num(o, "credit", info->credit, &ok);
    put_num(o, "login", (double)info->login, &ok);
    put_str(o, "name", name, &ok);
    put_str(o, "type", "ACCOUNT_TRADE_MODE_DEMO", &ok);
    return finish(o, ok);
}

static cJSON *position_json(const sim_position *p, bool hostile)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    char id[24], sym[64], com[SIM_MARKET_COMMENT_LEN + 32];
    snprintf(id, sizeof id, "%llu", (unsigned long long)p->ticket);
    text_fields(p->symbol, p->comment, p->ticket, hostile, sym, sizeof sym, com, sizeof com);
    put_str(o, "id", id, &ok);
    put_str(o, "type", p->side == SIM_SIDE_BUY ? "POSITION_TYPE_BUY" : "POSITION_TYPE_SELL", &ok);
    put_str(o, "symbol", sym, &ok);
    put_num(o, "magic", (double)p->magic, &ok);
    put_times(o, p->open_ms, &ok);
    put_num(o, "openPrice", p->open_price, &ok);
    put_num(o, "currentPrice", p->current_price, &ok);
    if (p->stop_loss > 0)
        put_num(o, "stopLoss", p->stop_loss, &ok);
    if (p->take_profit > 0)
        put_num(o, "takeProfit", p->take_profit, &ok);
    put_num(o, "volume", p->volume, &ok);
    put_num(o, "swap", p->swap, &ok);
    put_num(o, "commission", p->commission, &ok);
    put_num(o, "profit", p->profit, &ok);
    put_str(o, "comment", com, &ok);
    return finish(o, ok);
}

static const char *DEAL_TYPES[] = {[SIM_DEAL_BUY] = "DEAL_TYPE_BUY",
                                   [SIM_DEAL_SELL] = "DEAL_TYPE_SELL",
                                   [SIM_DEAL_BALANCE] = "DEAL_TYPE_BALANCE"};

/* Balance deals keep every field but entryType, with neutral values, so a
 * parser can tell them apart by type alone. */
static cJSON *deal_json(const sim_deal *d, bool hostile)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    bool trade = d->type != SIM_DEAL_BALANCE;
    char id[24], pos[24] = "", ord[24] = "", sym[64], com[SIM_MARKET_COMMENT_LEN + 32];
    snprintf(id, sizeof id, "%llu", (unsigned long long)d->id);
    if (trade) {
        snprintf(pos, sizeof pos, "%llu", (unsigned long long)d->position_id);
        snprintf(ord, sizeof ord, "%llu", (unsigned long long)d->order_id);
    }
    text_fields(d->symbol, d->comment, d->position_id, hostile && trade, sym, sizeof sym, com,
                sizeof com);
    put_str(o, "id", id, &ok);
    put_str(o, "type", DEAL_TYPES[d->type], &ok);
    if (trade)
        put_str(o, "entryType", d->entry == SIM_ENTRY_IN ? "DEAL_ENTRY_IN" : "DEAL_ENTRY_OUT", &ok);
    put_str(o, "symbol", sym, &ok);
    put_num(o, "magic", (double)d->magic, &ok);
    put_times(o, d->time_ms, &ok);
    put_num(o, "volume", d->volume, &ok);
    put_num(o, "price", d->price, &ok);
    put_num(o, "commission", d->commission, &ok);
    put_num(o, "swap", d->swap, &ok);
    put_num(o, "profit", d->profit, &ok);
    put_str(o, "positionId", pos, &ok);
    put_str(o, "orderId", ord, &ok);
    put_str(o, "comment", com, &ok);
    return finish(o, ok);
}

cJSON *sim_json_positions(const sim_position *p, size_t n, bool hostile)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *item = position_json(&p[i], hostile);
        if (!item || !cJSON_AddItemToArray(a, item)) {
            cJSON_Delete(item);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

cJSON *sim_json_deals(const sim_deal *d, size_t n, bool hostile)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *item = deal_json(&d[i], hostile);
        if (!item || !cJSON_AddItemToArray(a, item)) {
            cJSON_Delete(item);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

cJSON *sim_json_trade_done(uint64_t order_id, const char *position_id)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    char ord[24];
    snprintf(ord, sizeof ord, "%llu", (unsigned long long)order_id);
    put_num(o, "numericCode", 10009, &ok);
    put_str(o, "stringCode", "TRADE_RETCODE_DONE", &ok);
    put_str(o, "message", "Request completed", &ok);
    put_str(o, "orderId", ord, &ok);
    put_str(o, "positionId", position_id, &ok);
    return finish(o, ok);
}

cJSON *sim_json_trade_closed(void)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    put_num(o, "numericCode", 10036, &ok);
    put_str(o, "stringCode", "TRADE_RETCODE_POSITION_CLOSED", &ok);
    put_str(o, "message", "Position already closed", &ok);
    return finish(o, ok);
}

cJSON *sim_json_error(const char *error, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    put_str(o, "error", error, &ok);
    put_str(o, "message", message, &ok);
    return finish(o, ok);
}

cJSON *sim_json_rate_limited(int64_t now_ms, long retry_after_s)
{
    char msg[128], when[SIM_TIME_TEXT_LEN];
    snprintf(msg, sizeof msg, "Too many requests (simulated); retry after %ld s", retry_after_s);
    sim_time_iso(now_ms + (int64_t)retry_after_s * 1000, when, sizeof when);
    cJSON *o = sim_json_error("TooManyRequestsError", msg);
    cJSON *meta = o ? cJSON_AddObjectToObject(o, "metadata") : NULL;
    bool ok = meta != NULL;
    put_str(meta, "recommendedRetryTime", when, &ok);
    return finish(o, ok);
}

static int replace_with(cJSON *obj, cJSON *item, cJSON *with)
{
    if (!with)
        return -1;
    if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, item->string, with)) {
        cJSON_Delete(with);
        return -1;
    }
    return 0;
}

static int mangle_object(cJSON *o, sim_rng *r, bool force)
{
    bool changed = false;
    for (cJSON *c = o->child, *next; c; c = next) {
        next = c->next;
        bool pick = sim_rng_chance(r, P_NUMBER_AS_STRING);
        if (cJSON_IsNumber(c) && (pick || (force && !changed))) {
            char buf[40];
            snprintf(buf, sizeof buf, "%.15g", c->valuedouble);
            if (replace_with(o, c, cJSON_CreateString(buf)) != 0)
                return -1;
            changed = true;
        } else if (cJSON_IsString(c) && strcmp(c->string, "id") == 0 &&
                   sim_rng_chance(r, P_ID_AS_NUMBER)) {
            if (replace_with(o, c, cJSON_CreateNumber(strtod(c->valuestring, NULL))) != 0)
                return -1;
            changed = true;
        }
    }
    int n = cJSON_GetArraySize(o);
    if (n > 0 && (sim_rng_chance(r, P_DROP_FIELD) || !changed))
        cJSON_DeleteItemFromArray(o, (int)sim_rng_below(r, (uint64_t)n));
    return 0;
}

int sim_json_wrong_types(cJSON *root, uint64_t seed)
{
    sim_rng r;
    sim_rng_seed(&r, seed);
    if (cJSON_IsObject(root))
        return mangle_object(root, &r, true);
    bool first = true;
    cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        if (cJSON_IsObject(item) && mangle_object(item, &r, first) != 0)
            return -1;
        first = false;
    }
    return 0;
}

enum malformed_kind { MAL_TRUNCATED, MAL_NAN, MAL_HTML, MAL_EMPTY, MAL_KINDS };

static const char HTML_BODY[] = "<html><head><title>502 Bad Gateway</title></head>"
                                "<body><h1>502 Bad Gateway</h1></body></html>\n";

/* Position of the first number value after a ':' in body, or NULL. */
static const char *first_number(const char *body, size_t len, size_t *numlen)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (body[i] != ':' || !(body[i + 1] == '-' || (body[i + 1] >= '0' && body[i + 1] <= '9')))
            continue;
        size_t j = i + 1;
        while (j < len && strchr("-+.eE0123456789", body[j]))
            j++;
        *numlen = j - (i + 1);
        return body + i + 1;
    }
    return NULL;
}

char *sim_json_malformed(const char *body, size_t len, uint64_t seed, size_t *outlen)
{
    sim_rng r;
    sim_rng_seed(&r, seed);
    enum malformed_kind kind = (enum malformed_kind)sim_rng_below(&r, MAL_KINDS);
    size_t numlen = 0;
    const char *num = kind == MAL_NAN ? first_number(body, len, &numlen) : NULL;
    if (kind == MAL_NAN && !num)
        kind = MAL_TRUNCATED;
    size_t cap = len + sizeof HTML_BODY + 4;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    switch (kind) {
    case MAL_NAN: {
        size_t head = (size_t)(num - body);
        memcpy(out, body, head);
        memcpy(out + head, "NaN", 3);
        memcpy(out + head + 3, num + numlen, len - head - numlen);
        *outlen = len - numlen + 3;
        break;
    }
    case MAL_HTML:
        memcpy(out, HTML_BODY, sizeof HTML_BODY - 1);
        *outlen = sizeof HTML_BODY - 1;
        break;
    case MAL_EMPTY: *outlen = 0; break;
    case MAL_TRUNCATED:
    case MAL_KINDS:
    default:
        /* Every body we send is an object or array, so any strict prefix is
         * invalid; keep at least one byte so it is not mistaken for empty. */
        *outlen = len > 1 ? 1 + (size_t)sim_rng_below(&r, len - 1) : 0;
        memcpy(out, body, *outlen);
        break;
    }
    return out;
}

char *sim_json_oversized(const char *body, size_t len, size_t *outlen)
{
    const size_t target = SIM_JSON_OVERSIZED_BYTES;
    char *out = malloc(target + len + 4);
    if (!out)
        return NULL;
    size_t n = 0;
    if (len > 2 && body[0] == '[' && body[len - 1] == ']') {
        /* A huge but well-formed list: the same elements over and over. */
        const char *items = body + 1;
        size_t ilen = len - 2;
        out[n++] = '[';
        while (n + ilen + 2 <= target + len) {
            if (n > 1)
                out[n++] = ',';
            memcpy(out + n, items, ilen);
            n += ilen;
            if (n >= target)
                break;
        }
        out[n++] = ']';
    } else if (len > 0) {
        /* An empty list or an object: legal whitespace after the opener. */
        out[n++] = body[0];
        memset(out + n, ' ', target);
        n += target;
        memcpy(out + n, body + 1, len - 1);
        n += len - 1;
    } else {
        memset(out, ' ', target);
        n = target;
    }
    *outlen = n;
    return out;
}
