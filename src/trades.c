/*
 * trades.c - see trades.h for the rules.
 *
 * Each position's deals are copied, deduplicated by id, sorted by time and
 * walked once, keeping what is held, what was opened and closed (with
 * volume x price sums for the averages) and whether the IN side is missing.
 *
 * Threads: pure; any thread.
 */
#include "trades.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view_json.h"

/* Room for an ISO-8601 time with milliseconds. */
#define ISO_LEN 40

static const char TYPE_BUY[] = "DEAL_TYPE_BUY";
static const char TYPE_SELL[] = "DEAL_TYPE_SELL";

bool trades_deal_is_trade(const deal *d)
{
    return (strcmp(d->type, TYPE_BUY) == 0 || strcmp(d->type, TYPE_SELL) == 0) &&
           d->position_id[0] != '\0' && d->entry != DEAL_ENTRY_NONE;
}

/* Ids are decimal tickets in MetaApi: a shorter one is a smaller number.
 * Length first, then bytes, is also a total order for any other string. */
static int id_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

static int by_id_then_time(const void *pa, const void *pb)
{
    const deal *a = pa, *b = pb;
    int c = id_cmp(a->id, b->id);
    if (c != 0)
        return c;
    return a->time_ms < b->time_ms ? -1 : a->time_ms > b->time_ms;
}

static int by_time_then_id(const void *pa, const void *pb)
{
    const deal *a = pa, *b = pb;
    if (a->time_ms != b->time_ms)
        return a->time_ms < b->time_ms ? -1 : 1;
    return id_cmp(a->id, b->id);
}

/* Sorts by time and drops repeated ids (the earliest report of each is
 * kept); returns the new count. */
static size_t dedup_sort(deal *d, size_t n)
{
    if (n == 0)
        return 0;
    qsort(d, n, sizeof *d, by_id_then_time);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (strcmp(d[i].id, d[k - 1].id) != 0)
            d[k++] = d[i];
    qsort(d, k, sizeof *d, by_time_then_id);
    return k;
}

/* The walk's result for one position (deals sorted and unique). */
typedef struct tally {
    double held, opened, closed;
    double open_pv, close_pv; /* sum of volume x price */
    double profit, commission, swap;
    const deal *first_in, *first_close;
    int64_t last_close_ms, last_deal_ms;
    size_t n_closes;
    bool missing_in;
} tally;

static void open_part(tally *t, const deal *d, double v)
{
    t->held += v;
    t->opened += v;
    t->open_pv += v * d->price;
}

static void close_part(tally *t, const deal *d, double v)
{
    t->held = t->held - v > TRADES_VOLUME_EPS ? t->held - v : 0;
    t->closed += v;
    t->close_pv += v * d->price;
    t->last_close_ms = d->time_ms;
    if (!t->first_close)
        t->first_close = d;
    t->n_closes++;
}

static int walk(const deal *d, size_t n, tally *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        const deal *x = &d[i];
        if (!isfinite(x->volume) || x->volume <= 0 || !isfinite(x->price)) {
            snprintf(err, errlen,
                     "position %s, deal %s: volume %g and price %g must be finite, volume > 0",
                     x->position_id, x->id, x->volume, x->price);
            return -1;
        }
        t->profit += isfinite(x->profit) ? x->profit : 0;
        t->commission += isfinite(x->commission) ? x->commission : 0;
        t->swap += isfinite(x->swap) ? x->swap : 0;
        t->last_deal_ms = x->time_ms;
        switch (x->entry) {
        case DEAL_ENTRY_IN:
            if (!t->first_in)
                t->first_in = x;
            open_part(t, x, x->volume);
            break;
        case DEAL_ENTRY_OUT:
        case DEAL_ENTRY_OUT_BY:
            /* Closing more than is held: an opening deal was never seen. */
            if (x->volume > t->held + TRADES_VOLUME_EPS)
                t->missing_in = true;
            close_part(t, x, x->volume);
            break;
        case DEAL_ENTRY_INOUT:
            if (t->held <= TRADES_VOLUME_EPS) {
                /* Nothing known to reverse: the IN side is missing, and all
                 * of it is taken as closing (the broker's word decides). */
                t->missing_in = true;
                close_part(t, x, x->volume);
            } else {
                double c = x->volume < t->held ? x->volume : t->held;
                close_part(t, x, c);
                if (x->volume - c > TRADES_VOLUME_EPS)
                    open_part(t, x, x->volume - c);
            }
            break;
        case DEAL_ENTRY_NONE: break; /* filtered out before the walk */
        }
    }
    if (n > 0 && d[0].entry != DEAL_ENTRY_IN)
        t->missing_in = true;
    return 0;
}

static enum pos_side side_of_type(const char *type)
{
    return strcmp(type, TYPE_SELL) == 0 ? SIDE_SELL : SIDE_BUY;
}

static void fill(trade *out, const char *account_id, const char *position_id, const tally *t,
                 deal *deals, size_t n)
{
    memset(out, 0, sizeof *out);
    snprintf(out->account_id, sizeof out->account_id, "%s", account_id);
    snprintf(out->position_id, sizeof out->position_id, "%s", position_id);
    const deal *ref = t->first_in ? t->first_in : &deals[0];
    snprintf(out->symbol, sizeof out->symbol, "%s", ref->symbol);
    out->magic = ref->magic;
    out->incomplete = t->missing_in;
    if (t->missing_in) {
        /* A SELL deal closes a BUY position. */
        out->side = side_of_type(t->first_close->type) == SIDE_SELL ? SIDE_BUY : SIDE_SELL;
        out->volume = t->closed;
        out->open_time_ms = 0;
        out->open_price = NAN;
    } else {
        out->side = side_of_type(t->first_in->type);
        out->volume = t->opened;
        out->open_time_ms = t->first_in->time_ms;
        out->open_price = t->open_pv / t->opened;
    }
    out->close_time_ms = t->last_close_ms;
    out->close_price = t->closed > 0 ? t->close_pv / t->closed : NAN;
    out->profit = t->profit;
    out->commission = t->commission;
    out->swap = t->swap;
    out->deals = deals;
    out->n_deals = n;
}

/* The position's trade deals, copied, unique and in order. */
static int collect(const char *position_id, const deal *deals, size_t n, deal **out, size_t *n_out,
                   char *err, size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += trades_deal_is_trade(&deals[i]) && strcmp(deals[i].position_id, position_id) == 0;
    if (k == 0)
        return 0;
    deal *c = malloc(k * sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory building position %s", position_id);
        return -1;
    }
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (trades_deal_is_trade(&deals[i]) && strcmp(deals[i].position_id, position_id) == 0)
            c[k++] = deals[i];
    *out = c;
    *n_out = dedup_sort(c, k);
    return 0;
}

/* Decides on collected deals (taking ownership of them). */
static int decide(const char *account_id, const char *position_id, deal *c, size_t k,
                  trades_holds_fn holds, void *ctx, const bool *holds_now, trade *out, char *err,
                  size_t errlen)
{
    tally t;
    if (k == 0) {
        free(c);
        return TRADES_OPEN;
    }
    if (walk(c, k, &t, err, errlen) != 0) {
        free(c);
        return TRADES_ERROR;
    }
    bool closed;
    if (t.n_closes == 0)
        closed = false;
    else if (!t.missing_in)
        closed = t.held <= TRADES_VOLUME_EPS;
    else if (holds_now)
        closed = !*holds_now;
    else
        closed = holds ? !holds(ctx, position_id, t.last_deal_ms) : false;
    if (!closed) {
        free(c);
        return TRADES_OPEN;
    }
    fill(out, account_id, position_id, &t, c, k);
    return TRADES_CLOSED;
}

int trades_build(const char *account_id, const char *position_id, const deal *deals, size_t n,
                 bool broker_holds_open, trade *out, char *err, size_t errlen)
{
    deal *c;
    size_t k;
    if (collect(position_id, deals, n, &c, &k, err, errlen) != 0)
        return TRADES_ERROR;
    return decide(account_id, position_id, c, k, NULL, NULL, &broker_holds_open, out, err, errlen);
}

static int by_position(const void *pa, const void *pb)
{
    const deal *const *a = pa, *const *b = pb;
    return strcmp((*a)->position_id, (*b)->position_id);
}

static int by_close_time(const void *pa, const void *pb)
{
    const trade *a = pa, *b = pb;
    if (a->close_time_ms != b->close_time_ms)
        return a->close_time_ms < b->close_time_ms ? -1 : 1;
    return id_cmp(a->position_id, b->position_id);
}

int trades_build_all(const char *account_id, const deal *deals, size_t n, trades_holds_fn holds,
                     void *ctx, trade **out, size_t *n_out, size_t *n_bad, char *err, size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    if (n_bad)
        *n_bad = 0;
    /* Pointers grouped by position: each group is then one position's. */
    const deal **idx = malloc((n ? n : 1) * sizeof *idx);
    trade *res = malloc((n ? n : 1) * sizeof *res);
    if (!idx || !res) {
        free(idx);
        free(res);
        snprintf(err, errlen, "out of memory building trades");
        return -1;
    }
    size_t m = 0, nt = 0;
    for (size_t i = 0; i < n; i++)
        if (trades_deal_is_trade(&deals[i]))
            idx[m++] = &deals[i];
    qsort(idx, m, sizeof *idx, by_position);
    char first_err[256] = "";
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && strcmp(idx[j]->position_id, idx[i]->position_id) == 0)
            j++;
        deal *c = malloc((j - i) * sizeof *c);
        if (!c) {
            trades_free(res, nt);
            free(idx);
            snprintf(err, errlen, "out of memory building trades");
            return -1;
        }
        for (size_t k = i; k < j; k++)
            c[k - i] = *idx[k];
        size_t k = dedup_sort(c, j - i);
        char perr[256] = "";
        int st = decide(account_id, idx[i]->position_id, c, k, holds, ctx, NULL, &res[nt], perr,
                        sizeof perr);
        if (st == TRADES_CLOSED) {
            nt++;
        } else if (st == TRADES_ERROR) {
            if (n_bad)
                (*n_bad)++;
            if (!first_err[0])
                snprintf(first_err, sizeof first_err, "%s", perr);
        }
        i = j;
    }
    free(idx);
    if (first_err[0])
        snprintf(err, errlen, "%s", first_err);
    if (nt == 0) {
        free(res);
        return 0;
    }
    qsort(res, nt, sizeof *res, by_close_time);
    *out = res;
    *n_out = nt;
    return 0;
}

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at p (overlongs, surrogates and
 * > U+10FFFF are not), 0 when there is none. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF; /* the second byte's range */
    size_t len = c < 0x80                 ? 1
                 : c >= 0xC2 && c <= 0xDF ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    /* Checked in order, so a NUL ends the walk before anything past it. */
    for (size_t i = 1; i < len; i++)
        if (i == 1 ? p[i] < lo || p[i] > hi : (p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* Copies s, replacing every byte that does not begin a valid UTF-8
 * sequence by '?'; stops before a sequence that does not fit. */
static void utf8_repair(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t len = utf8_len(p);
        if (o + (len ? len : 1) >= cap)
            break;
        if (len == 0) {
            out[o++] = '?';
            p++;
        } else {
            memcpy(out + o, p, len);
            o += len;
            p += len;
        }
    }
    out[o] = '\0';
}

static bool add_text(cJSON *o, const char *name, const char *s)
{
    char buf[sizeof(((deal *)0)->comment) * 2];
    utf8_repair(s, buf, sizeof buf);
    return cJSON_AddStringToObject(o, name, buf) != NULL;
}

static bool add_time(cJSON *o, const char *name, int64_t ms)
{
    char t[ISO_LEN];
    if (ms == 0)
        return cJSON_AddNullToObject(o, name) != NULL;
    view_iso_time(ms, t, sizeof t);
    return cJSON_AddStringToObject(o, name, t) != NULL;
}

static bool add_num(cJSON *o, const char *name, double v)
{
    return (isfinite(v) ? cJSON_AddNumberToObject(o, name, v) : cJSON_AddNullToObject(o, name)) !=
           NULL;
}

static const char *const ENTRY_NAMES[] = {[DEAL_ENTRY_IN] = "DEAL_ENTRY_IN",
                                          [DEAL_ENTRY_OUT] = "DEAL_ENTRY_OUT",
                                          [DEAL_ENTRY_INOUT] = "DEAL_ENTRY_INOUT",
                                          [DEAL_ENTRY_OUT_BY] = "DEAL_ENTRY_OUT_BY",
                                          [DEAL_ENTRY_NONE] = NULL};

const char *trades_entry_name(enum deal_entry e)
{
    return e >= DEAL_ENTRY_IN && e < DEAL_ENTRY_NONE ? ENTRY_NAMES[e] : NULL;
}

enum deal_entry trades_entry_parse(const char *s)
{
    for (int e = DEAL_ENTRY_IN; e < DEAL_ENTRY_NONE; e++)
        if (strcmp(s, ENTRY_NAMES[e]) == 0)
            return (enum deal_entry)e;
    return DEAL_ENTRY_NONE;
}

/* A deal in MetaApi's field names, as broker_deals rows and closed_trades'
 * deals array both take it. NULL when out of memory. */
cJSON *trades_deal_json(const deal *d)
{
    cJSON *o = cJSON_CreateObject();
    const char *entry = trades_entry_name(d->entry);
    bool ok = o && add_text(o, "id", d->id) && add_text(o, "type", d->type) &&
              (entry ? cJSON_AddStringToObject(o, "entryType", entry) != NULL
                     : cJSON_AddNullToObject(o, "entryType") != NULL) &&
              add_text(o, "symbol", d->symbol) &&
              cJSON_AddNumberToObject(o, "magic", (double)d->magic) &&
              add_time(o, "time", d->time_ms) && add_num(o, "volume", d->volume) &&
              add_num(o, "price", d->price) && add_num(o, "commission", d->commission) &&
              add_num(o, "swap", d->swap) && add_num(o, "profit", d->profit) &&
              add_text(o, "positionId", d->position_id) && add_text(o, "orderId", d->order_id) &&
              add_text(o, "comment", d->comment);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *trades_trade_json(const trade *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *deals = cJSON_CreateArray();
    bool ok =
        o && deals && add_text(o, "position_id", t->position_id) &&
        add_text(o, "symbol", t->symbol) &&
        cJSON_AddStringToObject(o, "side", side_name(t->side)) && add_num(o, "volume", t->volume) &&
        add_time(o, "open_time", t->open_time_ms) && add_time(o, "close_time", t->close_time_ms) &&
        add_num(o, "open_price", t->open_price) && add_num(o, "close_price", t->close_price) &&
        add_num(o, "profit", t->profit) && add_num(o, "commission", t->commission) &&
        add_num(o, "swap", t->swap) && cJSON_AddNumberToObject(o, "magic", (double)t->magic) &&
        cJSON_AddBoolToObject(o, "incomplete", t->incomplete);
    for (size_t i = 0; ok && i < t->n_deals; i++) {
        cJSON *dj = trades_deal_json(&t->deals[i]);
        ok = dj && cJSON_AddItemToArray(deals, dj);
        if (!ok)
            cJSON_Delete(dj);
    }
    if (!ok || !cJSON_AddItemToObject(o, "deals", deals)) {
        cJSON_Delete(deals);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Prints an array of n items made by fn; NULL when out of memory. */
static char *doc_of(const void *items, size_t n, size_t size, cJSON *(*fn)(const void *))
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *o = fn((const char *)items + i * size);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            arr = NULL;
        }
    }
    char *s = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return s;
}

static cJSON *deal_item(const void *d)
{
    return trades_deal_json(d);
}
static cJSON *trade_item(const void *t)
{
    return trades_trade_json(t);
}

char *trades_deals_doc(const deal *d, size_t n)
{
    return doc_of(d, n, sizeof *d, deal_item);
}

char *trades_trades_doc(const trade *t, size_t n)
{
    return doc_of(t, n, sizeof *t, trade_item);
}

void trade_clear(trade *t)
{
    if (!t)
        return;
    free(t->deals);
    t->deals = NULL;
    t->n_deals = 0;
}

void trades_free(trade *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        trade_clear(&t[i]);
    free(t);
}
