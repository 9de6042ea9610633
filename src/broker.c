/*
 * broker.c - the broker bridge's reply schemas, times and Retry-After (see
 * broker.h; the JSON reading itself is in broker_json.c).
 *
 * Every reply is untrusted. Each parser checks the body's size and shape
 * before cJSON sees it, then reads fields one by one into a private copy and
 * publishes that copy only when the whole reply is good, so a bad reply never
 * half-applies. Error messages name the element, the field and the problem
 * (`positions[3].volume: expected a positive number, got string "abc"`).
 *
 * Field policy (the MetaApi REST shape):
 * - Ids, symbols, codes and currencies identify things: they must be JSON
 *   strings that fit their buffer. Truncating one could make two tickets look
 *   alike or close the wrong position, so a too-long id is an error. MetaApi
 *   sends every id as a string; a numeric id is rejected rather than guessed
 *   at (a double cannot hold every 64-bit ticket anyway).
 * - Free text (broker, server, name, comment, message) is truncated to fit at
 *   a UTF-8 boundary and otherwise stored verbatim: sanitising is the
 *   display's job, so control bytes are kept here.
 * - Numbers must be finite (cJSON turns 1e999 into inf). Integers (magic,
 *   leverage, login, numericCode) must be exact: |v| <= 2^53.
 * - JSON null counts as absent. Unknown fields are ignored, so a bridge that
 *   adds fields keeps working.
 *
 * Threads: every function here is pure and may run on any thread.
 */
#include "broker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker_json.h"

/* One page of history deals; MetaApi pages at 1000, so this is generous. */
#define BROKER_MAX_DEALS 10000
#define BROKER_RETRY_AFTER_MAX_S (BROKER_RETRY_AFTER_MAX_MS / MS_PER_S)
#define MS_PER_S 1000
#define S_PER_MIN 60
#define S_PER_HOUR 3600
#define EPOCH_YEAR 1970
#define MAX_YEAR 9999
#define TM_YEAR_BASE 1900
#define FRACTION_MAX_DIGITS 9
#define MS_DIGITS 3

/* ---- time ---- */

static bool digits(const char *s, int n, int *val)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!broker_json_is_digit(s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *val = v;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Epoch seconds of a validated UTC calendar time, or -1. */
static int64_t utc_seconds(int year, int mon, int day, int hour, int min, int sec)
{
    struct tm tm = {0};
    tm.tm_year = year - TM_YEAR_BASE;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t;
}

int broker_parse_time(const char *s, int64_t *out_ms)
{
    int year, mon, day, hour, min, sec;
    if (s == NULL || out_ms == NULL)
        return -1;
    /* YYYY-MM-DDTHH:MM:SS is 19 bytes with fixed separators. */
    if (strnlen(s, 20) < 19 || !digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &mon) ||
        s[7] != '-' || !digits(s + 8, 2, &day) || s[10] != 'T' || !digits(s + 11, 2, &hour) ||
        s[13] != ':' || !digits(s + 14, 2, &min) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return -1;
    if (year < EPOCH_YEAR || year > MAX_YEAR || mon < 1 || mon > 12 || day < 1 ||
        day > days_in_month(year, mon) || hour > 23 || min > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    int64_t ms = 0;
    if (*p == '.') {
        int n = 0, scale = 100;
        for (p++; broker_json_is_digit(*p); p++, n++) {
            if (n >= FRACTION_MAX_DIGITS)
                return -1;
            if (n < MS_DIGITS) {
                ms += (*p - '0') * scale;
                scale /= 10;
            }
        }
        if (n == 0)
            return -1;
    }
    int64_t offset_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_s = (int64_t)(oh * S_PER_HOUR + om * S_PER_MIN) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1; /* a time without a zone is ambiguous */
    }
    if (*p != '\0')
        return -1;
    int64_t t = utc_seconds(year, mon, day, hour, min, sec);
    if (t < 0)
        return -1;
    *out_ms = (t - offset_s) * MS_PER_S + ms;
    return 0;
}
/* The start every single-object reply shares: an output to fill, the body
 * parsed as one JSON object, and a context naming the reply in errors. */
static cJSON *open_object(const char *body, size_t len, const char *what, const void *out,
                          broker_json_ctx *c, char *err, size_t errlen)
{
    if (out == NULL) {
        broker_json_set_err(err, errlen, "%s: no place to store the result", what);
        return NULL;
    }
    cJSON *root = broker_json_parse_body(body, len, what, cJSON_Object, 0, err, errlen);
    if (root == NULL)
        return NULL;
    *c = (broker_json_ctx){err, errlen, ""};
    snprintf(c->where, sizeof c->where, "%s", what);
    return root;
}

/* ---- account information ---- */

int broker_parse_account_info(const char *body, size_t len, account_info *out, char *err,
                              size_t errlen)
{
    broker_json_ctx c;
    cJSON *root = open_object(body, len, "account-information", out, &c, err, errlen);
    if (root == NULL)
        return -1;
    account_info a;
    memset(&a, 0, sizeof a);
    int rc = 0;
    if (broker_json_str(&c, root, "broker", true, BROKER_JSON_TEXT, a.broker, sizeof a.broker) ||
        broker_json_str(&c, root, "currency", true, BROKER_JSON_IDENT, a.currency,
                        sizeof a.currency) ||
        broker_json_str(&c, root, "server", true, BROKER_JSON_TEXT, a.server, sizeof a.server) ||
        broker_json_str(&c, root, "name", false, BROKER_JSON_TEXT, a.name, sizeof a.name) ||
        broker_json_str(&c, root, "type", false, BROKER_JSON_TEXT, a.type, sizeof a.type) ||
        broker_json_num(&c, root, "balance", true, BROKER_JSON_ANY, 0, &a.balance) ||
        broker_json_num(&c, root, "equity", true, BROKER_JSON_ANY, 0, &a.equity) ||
        broker_json_num(&c, root, "margin", true, BROKER_JSON_NONNEG, 0, &a.margin) ||
        broker_json_num(&c, root, "freeMargin", true, BROKER_JSON_ANY, 0, &a.free_margin) ||
        broker_json_num(&c, root, "credit", false, BROKER_JSON_ANY, 0, &a.credit) ||
        broker_json_int(&c, root, "leverage", true, false, 1, &a.leverage) ||
        broker_json_int(&c, root, "login", false, true, 0, &a.login) ||
        /* MetaApi omits marginLevel when no margin is used. */
        broker_json_num(&c, root, "marginLevel", false, BROKER_JSON_ANY, NAN, &a.margin_level))
        rc = -1;
    cJSON_Delete(root);
    if (rc == 0)
        *out = a;
    return rc;
}

/* ---- positions ---- */

static int parse_position(const broker_json_ctx *c, const cJSON *o, position *p)
{
    char type[32];
    if (broker_json_str(c, o, "id", true, BROKER_JSON_IDENT, p->id, sizeof p->id) ||
        broker_json_str(c, o, "type", true, BROKER_JSON_TEXT, type, sizeof type))
        return -1;
    if (strcmp(type, "POSITION_TYPE_BUY") == 0) {
        p->side = SIDE_BUY;
    } else if (strcmp(type, "POSITION_TYPE_SELL") == 0) {
        p->side = SIDE_SELL;
    } else {
        return broker_json_wrong(c, "type", "POSITION_TYPE_BUY or POSITION_TYPE_SELL",
                                 broker_json_member(o, "type"));
    }
    if (broker_json_str(c, o, "symbol", true, BROKER_JSON_IDENT, p->symbol, sizeof p->symbol) ||
        broker_json_int(c, o, "magic", false, false, BROKER_JSON_ANY_INT, &p->magic) ||
        broker_json_time(c, o, "time", true, &p->open_time_ms) ||
        broker_json_num(c, o, "volume", true, BROKER_JSON_POSITIVE, 0, &p->volume) ||
        broker_json_num(c, o, "openPrice", true, BROKER_JSON_ANY, 0, &p->open_price) ||
        broker_json_num(c, o, "currentPrice", true, BROKER_JSON_ANY, 0, &p->current_price) ||
        broker_json_num(c, o, "stopLoss", false, BROKER_JSON_LEVEL, 0, &p->stop_loss) ||
        broker_json_num(c, o, "takeProfit", false, BROKER_JSON_LEVEL, 0, &p->take_profit) ||
        broker_json_num(c, o, "swap", false, BROKER_JSON_ANY, 0, &p->swap) ||
        broker_json_num(c, o, "commission", false, BROKER_JSON_ANY, 0, &p->commission) ||
        broker_json_num(c, o, "profit", true, BROKER_JSON_ANY, 0, &p->profit) ||
        broker_json_str(c, o, "comment", false, BROKER_JSON_TEXT, p->comment, sizeof p->comment))
        return -1;
    return 0;
}

static int position_elem(const broker_json_ctx *c, const cJSON *o, void *elem)
{
    return parse_position(c, o, elem);
}

int broker_parse_positions(const char *body, size_t len, position **out, size_t *n, char *err,
                           size_t errlen)
{
    void *arr = NULL;
    size_t count = 0;
    if (broker_json_parse_array(body, len, "positions", BROKER_MAX_POSITIONS, sizeof(position),
                                position_elem, &arr, &count, err, errlen) != 0)
        return -1;
    *out = arr;
    *n = count;
    return 0;
}

/* ---- deals ---- */

static const struct {
    const char *name;
    enum deal_entry entry;
} deal_entries[] = {
    {"DEAL_ENTRY_IN", DEAL_ENTRY_IN},
    {"DEAL_ENTRY_OUT", DEAL_ENTRY_OUT},
    {"DEAL_ENTRY_INOUT", DEAL_ENTRY_INOUT},
    {"DEAL_ENTRY_OUT_BY", DEAL_ENTRY_OUT_BY},
};

static int deal_elem(const broker_json_ctx *c, const cJSON *o, void *elem)
{
    deal *d = elem;
    static const char type_prefix[] = "DEAL_TYPE_";
    if (broker_json_str(c, o, "id", true, BROKER_JSON_IDENT, d->id, sizeof d->id) ||
        broker_json_str(c, o, "type", true, BROKER_JSON_IDENT, d->type, sizeof d->type))
        return -1;
    if (strncmp(d->type, type_prefix, sizeof type_prefix - 1) != 0)
        return broker_json_wrong(c, "type", "a DEAL_TYPE_... value", broker_json_member(o, "type"));
    /* Trades carry a symbol, an entry, a volume and a price; balance and
     * other cash deals carry none of them. */
    bool trade = strcmp(d->type, "DEAL_TYPE_BUY") == 0 || strcmp(d->type, "DEAL_TYPE_SELL") == 0;
    char entry[32];
    if (broker_json_str(c, o, "entryType", trade, BROKER_JSON_TEXT, entry, sizeof entry))
        return -1;
    d->entry = DEAL_ENTRY_NONE;
    if (entry[0] != '\0') {
        size_t k = 0, nk = sizeof deal_entries / sizeof deal_entries[0];
        while (k < nk && strcmp(entry, deal_entries[k].name) != 0)
            k++;
        if (k == nk)
            return broker_json_wrong(c, "entryType", "DEAL_ENTRY_IN, _OUT, _INOUT or _OUT_BY",
                                     broker_json_member(o, "entryType"));
        d->entry = deal_entries[k].entry;
    }
    if (broker_json_str(c, o, "symbol", trade, BROKER_JSON_IDENT, d->symbol, sizeof d->symbol) ||
        broker_json_int(c, o, "magic", false, false, BROKER_JSON_ANY_INT, &d->magic) ||
        broker_json_time(c, o, "time", true, &d->time_ms) ||
        broker_json_num(c, o, "volume", trade, trade ? BROKER_JSON_POSITIVE : BROKER_JSON_NONNEG, 0,
                        &d->volume) ||
        broker_json_num(c, o, "price", trade, BROKER_JSON_ANY, 0, &d->price) ||
        broker_json_num(c, o, "commission", false, BROKER_JSON_ANY, 0, &d->commission) ||
        broker_json_num(c, o, "swap", false, BROKER_JSON_ANY, 0, &d->swap) ||
        broker_json_num(c, o, "profit", true, BROKER_JSON_ANY, 0, &d->profit) ||
        broker_json_str(c, o, "positionId", trade, BROKER_JSON_IDENT, d->position_id,
                        sizeof d->position_id) ||
        broker_json_str(c, o, "orderId", false, BROKER_JSON_IDENT, d->order_id,
                        sizeof d->order_id) ||
        broker_json_str(c, o, "comment", false, BROKER_JSON_TEXT, d->comment, sizeof d->comment))
        return -1;
    return 0;
}

int broker_parse_deals(const char *body, size_t len, deal **out, size_t *n, char *err,
                       size_t errlen)
{
    void *arr = NULL;
    size_t count = 0;
    if (broker_json_parse_array(body, len, "deals", BROKER_MAX_DEALS, sizeof(deal), deal_elem, &arr,
                                &count, err, errlen) != 0)
        return -1;
    *out = arr;
    *n = count;
    return 0;
}

/* ---- trade result ---- */

int broker_parse_trade_result(const char *body, size_t len, trade_result *out, char *err,
                              size_t errlen)
{
    broker_json_ctx c;
    cJSON *root = open_object(body, len, "trade", out, &c, err, errlen);
    if (root == NULL)
        return -1;
    trade_result r;
    memset(&r, 0, sizeof r);
    int rc = 0;
    if (broker_json_int(&c, root, "numericCode", true, false, BROKER_JSON_ANY_INT,
                        &r.numeric_code) ||
        broker_json_str(&c, root, "stringCode", true, BROKER_JSON_IDENT, r.string_code,
                        sizeof r.string_code) ||
        broker_json_str(&c, root, "message", false, BROKER_JSON_TEXT, r.message,
                        sizeof r.message) ||
        broker_json_str(&c, root, "orderId", false, BROKER_JSON_IDENT, r.order_id,
                        sizeof r.order_id))
        rc = -1;
    cJSON_Delete(root);
    if (rc == 0)
        *out = r;
    return rc;
}

int broker_trade_done(const trade_result *r)
{
    return r != NULL && strcmp(r->string_code, "TRADE_RETCODE_DONE") == 0;
}

/* ---- Retry-After ---- */

static int month_index(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (strncmp(s, names + i * 3, 3) == 0)
            return i + 1;
    return 0;
}

static bool weekday_name(const char *s)
{
    static const char names[] = "MonTueWedThuFriSatSun";
    for (int i = 0; i < 7; i++)
        if (strncmp(s, names + i * 3, 3) == 0)
            return true;
    return false;
}

/* IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". */
static int parse_imf_fixdate(const char *s, size_t len, int64_t *epoch_s)
{
    static const size_t imf_len = 29;
    int day, year, hour, min, sec;
    if (len != imf_len || !weekday_name(s) || s[3] != ',' || s[4] != ' ' ||
        !digits(s + 5, 2, &day) || s[7] != ' ' || s[11] != ' ' || !digits(s + 12, 4, &year) ||
        s[16] != ' ' || !digits(s + 17, 2, &hour) || s[19] != ':' || !digits(s + 20, 2, &min) ||
        s[22] != ':' || !digits(s + 23, 2, &sec) || strncmp(s + 25, " GMT", 4) != 0)
        return -1;
    int mon = month_index(s + 8);
    if (mon == 0 || year < EPOCH_YEAR || day < 1 || day > days_in_month(year, mon) || hour > 23 ||
        min > 59 || sec > 60)
        return -1;
    int64_t t = utc_seconds(year, mon, day, hour, min, sec);
    if (t < 0)
        return -1;
    *epoch_s = t;
    return 0;
}

int64_t broker_parse_retry_after(const char *value, int64_t now_ms)
{
    if (value == NULL)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t len = strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' || value[len - 1] == '\r' ||
                       value[len - 1] == '\n'))
        len--;
    if (len == 0)
        return -1;
    const int64_t max_ms = BROKER_RETRY_AFTER_MAX_MS;
    if (broker_json_is_digit(value[0])) {
        int64_t secs = 0;
        for (size_t i = 0; i < len; i++) {
            if (!broker_json_is_digit(value[i]))
                return -1;
            if (secs <= BROKER_RETRY_AFTER_MAX_S) /* stop growing: no overflow */
                secs = secs * 10 + (value[i] - '0');
        }
        return secs > BROKER_RETRY_AFTER_MAX_S ? max_ms : secs * MS_PER_S;
    }
    int64_t when_s;
    if (parse_imf_fixdate(value, len, &when_s) != 0)
        return -1;
    int64_t wait = when_s * MS_PER_S - now_ms;
    if (wait < 0)
        return 0;
    return wait > max_ms ? max_ms : wait;
}
