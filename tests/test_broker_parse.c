/*
 * test_broker_parse.c - the broker reply parsers and Retry-After, fed good
 * replies and every kind of bad one. Each failure must name the element and
 * field, and must leave the caller's output untouched.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

#define ERRLEN 256
#define SENTINEL 0xA5

static const char GOOD_INFO[] =
    "{\"platform\":\"mt5\",\"broker\":\"Demo Broker Ltd\",\"currency\":\"USD\","
    "\"server\":\"Demo-Server\",\"balance\":10000.5,\"equity\":10123.25,\"margin\":250,"
    "\"freeMargin\":9873.25,\"leverage\":100,\"marginLevel\":4049.3,\"credit\":0,"
    "\"login\":5012345,\"name\":\"Jane Doe\",\"type\":\"ACCOUNT_TRADE_MODE_DEMO\","
    "\"tradeAllowed\":true}";

static const char GOOD_POSITION[] =
    "{\"id\":\"46648037\",\"type\":\"POSITION_TYPE_BUY\",\"symbol\":\"EURUSD\",\"magic\":1001,"
    "\"time\":\"2026-11-21T09:01:02.345Z\",\"brokerTime\":\"2026-11-21 11:01:02.345\","
    "\"openPrice\":1.0832,\"currentPrice\":1.0851,\"stopLoss\":1.079,\"takeProfit\":1.09,"
    "\"volume\":0.1,\"swap\":-0.12,\"commission\":-0.7,\"profit\":19,\"comment\":\"grid #3\"}";

/* 2026-11-21T09:01:02Z */
#define GOOD_TIME_S 1795251662LL

/* Parses src, lets the caller change it, prints it back (caller frees). */
static char *mutate(const char *src, const char *key, cJSON *replacement)
{
    cJSON *root = cJSON_Parse(src);
    cr_assert_not_null(root);
    cJSON *obj =
        cJSON_IsArray(root) ? cJSON_GetArrayItem(root, cJSON_GetArraySize(root) - 1) : root;
    if (replacement == NULL)
        cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    else if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, replacement);
    else
        cJSON_AddItemToObject(obj, key, replacement);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    cr_assert_not_null(out);
    return out;
}

/* Like mutate, but puts raw JSON text in place: cJSON would print a parsed
 * 1e999 back as null. */
static char *mutate_raw(const char *src, const char *key, const char *raw)
{
    static const char marker[] = "\"@@RAW@@\"";
    char *m = mutate(src, key, cJSON_CreateString("@@RAW@@"));
    char *at = strstr(m, marker);
    cr_assert_not_null(at);
    size_t len = strlen(m) - strlen(marker) + strlen(raw) + 1;
    char *out = malloc(len);
    cr_assert_not_null(out);
    snprintf(out, len, "%.*s%s%s", (int)(at - m), m, raw, at + strlen(marker));
    free(m);
    return out;
}

/* Two positions; the second one is the one tests break, so errors must say [1]. */
static char *two_positions(void)
{
    size_t n = 2 * sizeof GOOD_POSITION + 8;
    char *s = malloc(n);
    cr_assert_not_null(s);
    snprintf(s, n, "[%s,%s]", GOOD_POSITION, GOOD_POSITION);
    return s;
}

static void expect_info_error(const char *body, const char *want)
{
    account_info out, before;
    memset(&out, SENTINEL, sizeof out);
    before = out;
    char err[ERRLEN] = "";
    cr_expect_eq(broker_parse_account_info(body, strlen(body), &out, err, sizeof err), -1,
                 "accepted: %s", body);
    cr_expect(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
    cr_expect(memcmp(&out, &before, sizeof out) == 0, "output touched on error (%s)", want);
}

static void expect_positions_error(const char *body, size_t len, const char *want)
{
    position *out = (position *)&out; /* any recognisable non-NULL value */
    position *before = out;
    size_t n = 777;
    char err[ERRLEN] = "";
    cr_expect_eq(broker_parse_positions(body, len, &out, &n, err, sizeof err), -1,
                 "accepted a body, wanted \"%s\"", want);
    cr_expect(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
    cr_expect(out == before && n == 777, "output touched on error (%s)", want);
}

static position *expect_positions_ok(const char *body, size_t *n)
{
    position *out = NULL;
    char err[ERRLEN] = "";
    int rc = broker_parse_positions(body, strlen(body), &out, n, err, sizeof err);
    cr_assert_eq(rc, 0, "rejected: %s", err);
    return out;
}

/* ---- account information ---- */

Test(broker_parse_info, good_reply_fills_every_field)
{
    account_info a;
    char err[ERRLEN] = "";
    cr_assert_eq(broker_parse_account_info(GOOD_INFO, strlen(GOOD_INFO), &a, err, sizeof err), 0,
                 "%s", err);
    cr_expect_str_eq(a.broker, "Demo Broker Ltd");
    cr_expect_str_eq(a.currency, "USD");
    cr_expect_str_eq(a.server, "Demo-Server");
    cr_expect_str_eq(a.name, "Jane Doe");
    cr_expect_str_eq(a.type, "ACCOUNT_TRADE_MODE_DEMO");
    cr_expect_float_eq(a.balance, 10000.5, 1e-9);
    cr_expect_float_eq(a.equity, 10123.25, 1e-9);
    cr_expect_float_eq(a.margin, 250, 1e-9);
    cr_expect_float_eq(a.free_margin, 9873.25, 1e-9);
    cr_expect_float_eq(a.margin_level, 4049.3, 1e-9);
    cr_expect_eq(a.leverage, 100);
    cr_expect_eq(a.login, 5012345);
}

Test(broker_parse_info, absent_margin_level_is_nan_and_login_may_be_a_string)
{
    char *b1 = mutate(GOOD_INFO, "marginLevel", NULL);
    char *body = mutate(b1, "login", cJSON_CreateString("5012345"));
    account_info a;
    char err[ERRLEN] = "";
    cr_assert_eq(broker_parse_account_info(body, strlen(body), &a, err, sizeof err), 0, "%s", err);
    cr_expect(isnan(a.margin_level));
    cr_expect_eq(a.login, 5012345);
    free(b1);
    free(body);
}

Test(broker_parse_info, each_required_field_missing)
{
    static const char *const required[] = {"broker", "currency", "server",     "balance",
                                           "equity", "margin",   "freeMargin", "leverage"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        char *body = mutate(GOOD_INFO, required[i], NULL);
        char want[96];
        snprintf(want, sizeof want, "account-information.%s: missing", required[i]);
        expect_info_error(body, want);
        free(body);
    }
}

Test(broker_parse_info, wrong_types_are_named)
{
    static const struct {
        const char *key, *json, *want;
    } cases[] = {
        {"balance", "\"abc\"",
         "account-information.balance: expected a finite number, got string \"abc\""},
        {"equity", "1e999", "account-information.equity: expected a finite number, got number inf"},
        {"margin", "-1", "account-information.margin: expected a number >= 0, got number -1"},
        {"currency", "12", "account-information.currency: expected a string, got number 12"},
        {"broker", "[]", "account-information.broker: expected a string, got an array"},
        {"leverage", "1.5",
         "account-information.leverage: expected an integer >= 1, got number 1.5"},
        {"leverage", "0", "account-information.leverage: expected an integer >= 1, got number 0"},
        {"login", "\"12ab\"",
         "account-information.login: expected an integer >= 0, got string \"12ab\""},
        {"login", "true", "account-information.login: expected an integer >= 0, got true"},
        {"marginLevel", "\"x\"", "account-information.marginLevel: expected a finite number"},
        {"currency", "\"\"", "account-information.currency: expected a non-empty string"},
        {"currency", "\"USDOLLARS\"",
         "account-information.currency: 9 bytes long, more than the 7"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = mutate_raw(GOOD_INFO, cases[i].key, cases[i].json);
        expect_info_error(body, cases[i].want);
        free(body);
    }
}

Test(broker_parse_info, long_free_text_is_truncated_at_a_utf8_boundary)
{
    /* "ab" then 3-byte euro signs: 63 bytes fit, so 2 + 20*3 = 62 are kept. */
    char name[2 + 40 * 3 + 1] = "ab";
    for (int i = 0; i < 40; i++)
        strcat(name, "\xe2\x82\xac");
    char *body = mutate(GOOD_INFO, "name", cJSON_CreateString(name));
    account_info a;
    char err[ERRLEN] = "";
    cr_assert_eq(broker_parse_account_info(body, strlen(body), &a, err, sizeof err), 0, "%s", err);
    cr_expect_eq(strlen(a.name), 62);
    cr_expect(memcmp(a.name, name, 62) == 0);
    free(body);
}

/* ---- the body as a whole ---- */

Test(broker_parse_body, malformed_truncated_empty_and_wrong_top_level)
{
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"[{\"id\":}]", "positions: not valid JSON at byte 7"},
        {"[{\"id\":\"1\"", "positions: JSON ends early"},
        {"", "positions: empty reply"},
        {" \r\n\t ", "positions: empty reply"},
        {"{\"id\":\"1\"}", "positions: expected a JSON array, got an object"},
        {"\"positions\"", "positions: expected a JSON array, got string \"positions\""},
        {"null", "positions: expected a JSON array, got null"},
        {"[] trailing", "positions: not valid JSON at byte 3"},
        {"[NaN]", "positions: not valid JSON"},
        {"[1]", "positions[0]: expected an object, got number 1"},
        {"[{}, \"x\"]", "positions[0].id: missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_positions_error(cases[i].body, strlen(cases[i].body), cases[i].want);
    expect_info_error("[]", "account-information: expected a JSON object, got an array");
    expect_positions_error(NULL, 0, "positions: empty reply");
}

Test(broker_parse_body, nul_byte_inside_is_refused)
{
    static const char body[] = "[{\"id\":\"1\0\"}]";
    expect_positions_error(body, sizeof body - 1,
                           "positions: reply contains a NUL byte at offset 9");
}

Test(broker_parse_body, unterminated_buffer_is_read_only_up_to_len)
{
    /* The body ends at "[]"; what follows in memory must not be read. */
    static const char mem[] = "[]{\"junk";
    position *out = NULL;
    size_t n = 5;
    char err[ERRLEN] = "";
    cr_expect_eq(broker_parse_positions(mem, 2, &out, &n, err, sizeof err), 0, "%s", err);
    cr_expect_eq(n, 0);
    cr_expect_null(out);
}

Test(broker_parse_body, deep_nesting_is_refused_before_parsing)
{
    const size_t depth = 100000;
    char *body = malloc(2 * depth + 1);
    cr_assert_not_null(body);
    memset(body, '[', depth);
    memset(body + depth, ']', depth);
    body[2 * depth] = '\0';
    expect_positions_error(body, 2 * depth, "positions: JSON nested deeper than 64 levels");
    /* Brackets inside strings are text, not nesting. */
    char *inside = malloc(depth + 64);
    cr_assert_not_null(inside);
    int o = sprintf(inside, "[{\"id\":\"");
    memset(inside + o, '[', depth);
    strcpy(inside + o + depth, "\"}]");
    expect_positions_error(inside, strlen(inside), "positions[0].id: ");
    free(inside);
    free(body);
}

Test(broker_parse_body, over_the_size_limit_is_refused)
{
    const size_t len = 5u * 1024u * 1024u;
    char *body = malloc(len);
    cr_assert_not_null(body);
    memset(body, ' ', len);
    body[0] = '[';
    body[len - 1] = ']';
    expect_positions_error(body, len, "positions: reply too large (5242880 bytes, limit 4194304)");
    free(body);
}

/* ---- positions ---- */

Test(broker_parse_positions, good_reply)
{
    size_t n = 0;
    char *body = two_positions();
    position *p = expect_positions_ok(body, &n);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(p[0].id, "46648037");
    cr_expect_str_eq(p[0].symbol, "EURUSD");
    cr_expect_eq(p[0].side, SIDE_BUY);
    cr_expect_eq(p[0].magic, 1001);
    cr_expect_eq(p[0].open_time_ms, GOOD_TIME_S * 1000 + 345);
    cr_expect_float_eq(p[0].volume, 0.1, 1e-12);
    cr_expect_float_eq(p[0].open_price, 1.0832, 1e-12);
    cr_expect_float_eq(p[0].current_price, 1.0851, 1e-12);
    cr_expect_float_eq(p[0].stop_loss, 1.079, 1e-12);
    cr_expect_float_eq(p[0].take_profit, 1.09, 1e-12);
    cr_expect_float_eq(p[0].swap, -0.12, 1e-12);
    cr_expect_float_eq(p[0].commission, -0.7, 1e-12);
    cr_expect_float_eq(p[0].profit, 19, 1e-12);
    cr_expect_str_eq(p[0].comment, "grid #3");
    free(p);
    free(body);
}

Test(broker_parse_positions, empty_array_is_no_positions)
{
    size_t n = 9;
    position *p = expect_positions_ok(" [ ] ", &n);
    cr_expect_eq(n, 0);
    cr_expect_null(p);
}

Test(broker_parse_positions, sell_and_unset_levels)
{
    char *a = mutate(GOOD_POSITION, "stopLoss", NULL);
    char *b = mutate(a, "takeProfit", cJSON_CreateNumber(0));
    char *c = mutate(b, "type", cJSON_CreateString("POSITION_TYPE_SELL"));
    char *d = mutate(c, "stopLoss", cJSON_CreateNull());
    size_t n = 0, len = strlen(d) + 3;
    char *body = malloc(len);
    cr_assert_not_null(body);
    snprintf(body, len, "[%s]", d);
    position *p = expect_positions_ok(body, &n);
    cr_assert_eq(n, 1);
    cr_expect_eq(p[0].side, SIDE_SELL);
    cr_expect(isnan(p[0].stop_loss), "absent/null stopLoss must be NAN");
    cr_expect(isnan(p[0].take_profit), "takeProfit 0 must be NAN");
    free(p);
    free(a);
    free(b);
    free(c);
    free(d);
    free(body);
}

Test(broker_parse_positions, each_required_field_missing)
{
    static const char *const required[] = {"id",        "type",         "symbol", "time",
                                           "openPrice", "currentPrice", "volume", "profit"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        char *base = two_positions();
        char *body = mutate(base, required[i], NULL);
        char want[64];
        snprintf(want, sizeof want, "positions[1].%s: missing", required[i]);
        expect_positions_error(body, strlen(body), want);
        free(base);
        free(body);
    }
}

Test(broker_parse_positions, wrong_values_are_named)
{
    static const struct {
        const char *key, *json, *want;
    } cases[] = {
        {"volume", "\"abc\"",
         "positions[1].volume: expected a positive number, got string \"abc\""},
        {"volume", "0", "positions[1].volume: expected a positive number, got number 0"},
        {"volume", "-0.1", "positions[1].volume: expected a positive number, got number -0.1"},
        {"volume", "1e999", "positions[1].volume: expected a positive number, got number inf"},
        {"profit", "-1e999", "positions[1].profit: expected a finite number, got number -inf"},
        {"openPrice", "null", "positions[1].openPrice: missing"},
        {"id", "46648037", "positions[1].id: expected a string, got number 46648037"},
        {"id", "\"\"", "positions[1].id: expected a non-empty string"},
        {"id", "\"0123456789012345678901234567890123456789\"",
         "positions[1].id: 40 bytes long, more than the 39 this field holds"},
        {"symbol", "{}", "positions[1].symbol: expected a string, got an object"},
        {"type", "\"POSITION_TYPE_FOO\"",
         "positions[1].type: expected POSITION_TYPE_BUY or POSITION_TYPE_SELL, got string "
         "\"POSITION_TYPE_FOO\""},
        {"type", "\"position_type_buy\"", "positions[1].type: expected POSITION_TYPE_BUY"},
        {"magic", "1.5", "positions[1].magic: expected an integer"},
        {"magic", "9007199254740994", "positions[1].magic: expected an integer"},
        {"stopLoss", "\"1.1\"", "positions[1].stopLoss: expected a finite number (0 or absent"},
        {"comment", "7", "positions[1].comment: expected a string, got number 7"},
        {"time", "1795251662345", "positions[1].time: expected an ISO-8601 UTC time"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *base = two_positions();
        char *body = mutate_raw(base, cases[i].key, cases[i].json);
        expect_positions_error(body, strlen(body), cases[i].want);
        free(base);
        free(body);
    }
}

Test(broker_parse_positions, bad_excerpt_is_escaped_and_short)
{
    char *base = two_positions();
    char *body = mutate(base, "volume",
                        cJSON_CreateString("\x1b[2J\"quoted\" and a lot of trailing text here"));
    expect_positions_error(body, strlen(body),
                           "positions[1].volume: expected a positive number, got string "
                           "\"\\x1b[2J\\x22quoted\\x22 and a lot o...\"");
    free(base);
    free(body);
}

Test(broker_parse_positions, time_formats)
{
    static const struct {
        const char *time;
        long long ms;
    } good[] = {
        {"2026-11-21T09:01:02.345Z", GOOD_TIME_S * 1000 + 345},
        {"2026-11-21T09:01:02Z", GOOD_TIME_S * 1000},
        {"2026-11-21T09:01:02+00:00", GOOD_TIME_S * 1000},
        {"2026-11-21T09:01:02.345+00:00", GOOD_TIME_S * 1000 + 345},
        {"2026-11-21T11:01:02.5+02:00", GOOD_TIME_S * 1000 + 500},
        {"2026-11-21T08:31:02.123456-00:30", GOOD_TIME_S * 1000 + 123},
        {"2028-02-29T00:00:00Z", 1835395200000LL},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = 0;
        cr_expect_eq(broker_parse_time(good[i].time, &ms), 0, "rejected %s", good[i].time);
        cr_expect_eq(ms, good[i].ms, "%s -> %lld, want %lld", good[i].time, (long long)ms,
                     good[i].ms);
    }
    static const char *const bad[] = {
        "",
        "yesterday",
        "2026-11-21",
        "2026-11-21T09:01:02",
        "2026-11-21 09:01:02.345Z",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2026-11-21T24:00:00Z",
        "2026-11-21T09:60:00Z",
        "2026-11-21T09:01:02.Z",
        "2026-11-21T09:01:02.1234567890Z",
        "2026-11-21T09:01:02Zjunk",
        "2026-11-21T09:01:02+0200",
        "2026-11-21T09:01:02+24:00",
        "+2026-11-21T09:01:02Z",
        " 2026-11-21T09:01:02Z",
        "1969-12-31T23:59:59Z",
        "2026-1-21T09:01:02Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 42;
        cr_expect_eq(broker_parse_time(bad[i], &ms), -1, "accepted \"%s\"", bad[i]);
        cr_expect_eq(ms, 42);
        char *base = two_positions();
        char *body = mutate(base, "time", cJSON_CreateString(bad[i]));
        expect_positions_error(body, strlen(body), "positions[1].time: expected an ISO-8601");
        free(base);
        free(body);
    }
}

Test(broker_parse_positions, control_bytes_are_kept_verbatim)
{
    char *a = mutate(GOOD_POSITION, "comment", cJSON_CreateString("\x1b[31mred\x07"));
    size_t len = strlen(a) + 3, n = 0;
    char *body = malloc(len);
    cr_assert_not_null(body);
    snprintf(body, len, "[%s]", a);
    position *p = expect_positions_ok(body, &n);
    cr_expect_str_eq(p[0].comment, "\x1b[31mred\x07");
    free(p);
    free(a);
    free(body);
}

Test(broker_parse_positions, long_comment_keeps_utf8_whole)
{
    /* 2-byte characters after one ASCII byte: 63 bytes fit exactly. */
    char comment[1 + 100 * 2 + 1] = "x";
    for (int i = 0; i < 100; i++)
        strcat(comment, "\xc3\xa9");
    char *a = mutate(GOOD_POSITION, "comment", cJSON_CreateString(comment));
    /* 4-byte characters: 63 = 15*4 + 3, so the 16th must go entirely. */
    char symbol_ok[] = "XAUUSD";
    char *b = mutate(a, "symbol", cJSON_CreateString(symbol_ok));
    size_t len = strlen(b) + 3, n = 0;
    char *body = malloc(len);
    cr_assert_not_null(body);
    snprintf(body, len, "[%s]", b);
    position *p = expect_positions_ok(body, &n);
    cr_expect_eq(strlen(p[0].comment), 63);
    cr_expect(memcmp(p[0].comment, comment, 63) == 0);
    free(p);
    free(a);
    free(b);
    free(body);

    char emoji[100 * 4 + 1] = "";
    for (int i = 0; i < 100; i++)
        strcat(emoji, "\xf0\x9f\x98\x80");
    a = mutate(GOOD_POSITION, "comment", cJSON_CreateString(emoji));
    len = strlen(a) + 3;
    body = malloc(len);
    cr_assert_not_null(body);
    snprintf(body, len, "[%s]", a);
    p = expect_positions_ok(body, &n);
    cr_expect_eq(strlen(p[0].comment), 60);
    cr_expect(memcmp(p[0].comment, emoji, 60) == 0);
    free(p);
    free(a);
    free(body);
}

static char *many_positions(size_t count)
{
    size_t each = sizeof GOOD_POSITION; /* element plus a comma */
    char *body = malloc(count * each + 3);
    cr_assert_not_null(body);
    char *o = body;
    *o++ = '[';
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            *o++ = ',';
        memcpy(o, GOOD_POSITION, sizeof GOOD_POSITION - 1);
        o += sizeof GOOD_POSITION - 1;
    }
    *o++ = ']';
    *o = '\0';
    return body;
}

Test(broker_parse_positions, limit_is_10000)
{
    char *body = many_positions(BROKER_MAX_POSITIONS);
    size_t n = 0;
    position *p = expect_positions_ok(body, &n);
    cr_expect_eq(n, BROKER_MAX_POSITIONS);
    free(p);
    free(body);
    body = many_positions(BROKER_MAX_POSITIONS + 1);
    expect_positions_error(body, strlen(body),
                           "positions: 10001 elements, more than the 10000 accepted");
    free(body);
}

/* ---- deals ---- */

static const char GOOD_DEALS[] =
    "[{\"id\":\"33230099\",\"type\":\"DEAL_TYPE_BALANCE\",\"time\":\"2026-11-01T00:00:00Z\","
    "\"profit\":10000,\"comment\":\"deposit\"},"
    "{\"id\":\"33230100\",\"type\":\"DEAL_TYPE_BUY\",\"entryType\":\"DEAL_ENTRY_IN\","
    "\"symbol\":\"EURUSD\",\"magic\":1001,\"time\":\"2026-11-21T09:01:02.345Z\",\"volume\":0.1,"
    "\"price\":1.0832,\"commission\":-0.35,\"swap\":0,\"profit\":0,\"positionId\":\"46648037\","
    "\"orderId\":\"46648037\"},"
    "{\"id\":\"33230101\",\"type\":\"DEAL_TYPE_SELL\",\"entryType\":\"DEAL_ENTRY_OUT\","
    "\"symbol\":\"EURUSD\",\"time\":\"2026-11-21T10:00:00Z\",\"volume\":0.1,\"price\":1.0851,"
    "\"profit\":19,\"positionId\":\"46648037\"}]";

Test(broker_parse_deals, good_reply_with_balance_and_trade_deals)
{
    deal *d = NULL;
    size_t n = 0;
    char err[ERRLEN] = "";
    cr_assert_eq(broker_parse_deals(GOOD_DEALS, strlen(GOOD_DEALS), &d, &n, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(n, 3);
    cr_expect_str_eq(d[0].type, "DEAL_TYPE_BALANCE");
    cr_expect_eq(d[0].entry, DEAL_ENTRY_NONE);
    cr_expect_float_eq(d[0].profit, 10000, 1e-9);
    cr_expect_str_eq(d[0].symbol, "");
    cr_expect_eq(d[1].entry, DEAL_ENTRY_IN);
    cr_expect_str_eq(d[1].position_id, "46648037");
    cr_expect_eq(d[1].time_ms, GOOD_TIME_S * 1000 + 345);
    cr_expect_float_eq(d[1].commission, -0.35, 1e-12);
    cr_expect_eq(d[2].entry, DEAL_ENTRY_OUT);
    cr_expect_float_eq(d[2].profit, 19, 1e-12);
    free(d);
}

Test(broker_parse_deals, empty_optional_ids_of_a_balance_deal_mean_absent)
{
    /* MetaApi (and the simulator) send a deposit with empty strings where a
     * trade has its symbol and position; a required id stays required. */
    static const char BODY[] =
        "[{\"id\":\"9\",\"type\":\"DEAL_TYPE_BALANCE\",\"time\":\"2026-11-01T00:00:00Z\","
        "\"symbol\":\"\",\"positionId\":\"\",\"orderId\":\"\",\"profit\":500}]";
    deal *d = NULL;
    size_t n = 0;
    char err[ERRLEN] = "";
    cr_assert_eq(broker_parse_deals(BODY, strlen(BODY), &d, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 1);
    cr_expect_str_eq(d[0].position_id, "");
    cr_expect_str_eq(d[0].symbol, "");
    free(d);
    char *body = mutate_raw(GOOD_DEALS, "positionId", "\"\"");
    cr_expect_eq(broker_parse_deals(body, strlen(body), &d, &n, err, sizeof err), -1,
                 "a trade deal's empty positionId is still an error");
    cr_expect(strstr(err, "positionId"), "%s", err);
    free(body);
}

Test(broker_parse_deals, bad_deals_are_named)
{
    static const struct {
        const char *key, *json, *want;
    } cases[] = {
        {"positionId", NULL, "deals[2].positionId: missing"},
        {"entryType", NULL, "deals[2].entryType: missing"},
        {"volume", NULL, "deals[2].volume: missing"},
        {"entryType", "\"DEAL_ENTRY_SIDEWAYS\"", "deals[2].entryType: expected DEAL_ENTRY_IN"},
        {"type", "\"BUY\"", "deals[2].type: expected a DEAL_TYPE_... value, got string \"BUY\""},
        {"time", "\"2026-11-21\"", "deals[2].time: expected an ISO-8601"},
        {"profit", "\"19\"", "deals[2].profit: expected a finite number, got string \"19\""},
        {"id", "33230101", "deals[2].id: expected a string, got number 33230101"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = cases[i].json ? mutate_raw(GOOD_DEALS, cases[i].key, cases[i].json)
                                   : mutate(GOOD_DEALS, cases[i].key, NULL);
        deal *d = (deal *)&d;
        deal *before = d;
        size_t n = 555;
        char err[ERRLEN] = "";
        cr_expect_eq(broker_parse_deals(body, strlen(body), &d, &n, err, sizeof err), -1);
        cr_expect(strstr(err, cases[i].want) != NULL, "error \"%s\" lacks \"%s\"", err,
                  cases[i].want);
        cr_expect(d == before && n == 555);
        free(body);
    }
}

/* ---- trade result ---- */

Test(broker_parse_trade, done_and_not_done)
{
    static const char done[] = "{\"numericCode\":10009,\"stringCode\":\"TRADE_RETCODE_DONE\","
                               "\"message\":\"Request completed\",\"orderId\":\"46870472\"}";
    trade_result r;
    char err[ERRLEN] = "";
    cr_assert_eq(broker_parse_trade_result(done, strlen(done), &r, err, sizeof err), 0, "%s", err);
    cr_expect_eq(r.numeric_code, 10009);
    cr_expect_str_eq(r.string_code, "TRADE_RETCODE_DONE");
    cr_expect_str_eq(r.message, "Request completed");
    cr_expect_str_eq(r.order_id, "46870472");
    cr_expect(broker_trade_done(&r));

    static const char invalid[] = "{\"numericCode\":10013,\"stringCode\":\"TRADE_RETCODE_INVALID\","
                                  "\"message\":\"Invalid request\"}";
    cr_assert_eq(broker_parse_trade_result(invalid, strlen(invalid), &r, err, sizeof err), 0);
    cr_expect_not(broker_trade_done(&r));
    cr_expect_str_eq(r.order_id, "");
    cr_expect_not(broker_trade_done(NULL));
}

Test(broker_parse_trade, bad_results_are_named)
{
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"{\"numericCode\":10009}", "trade.stringCode: missing"},
        {"{\"stringCode\":\"TRADE_RETCODE_DONE\"}", "trade.numericCode: missing"},
        {"{\"numericCode\":\"10009\",\"stringCode\":\"TRADE_RETCODE_DONE\"}",
         "trade.numericCode: expected an integer"},
        {"{\"numericCode\":10009,\"stringCode\":10009}",
         "trade.stringCode: expected a string, got number 10009"},
        {"{\"error\":\"NotFoundError\",\"message\":\"Position not found\"}",
         "trade.numericCode: missing"},
        {"[]", "trade: expected a JSON object, got an array"},
        {"", "trade: empty reply"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        trade_result r, before;
        memset(&r, SENTINEL, sizeof r);
        before = r;
        char err[ERRLEN] = "";
        cr_expect_eq(
            broker_parse_trade_result(cases[i].body, strlen(cases[i].body), &r, err, sizeof err),
            -1);
        cr_expect(strstr(err, cases[i].want) != NULL, "error \"%s\" lacks \"%s\"", err,
                  cases[i].want);
        cr_expect(memcmp(&r, &before, sizeof r) == 0);
    }
}

/* ---- Retry-After ---- */

/* Sun, 06 Nov 1994 08:49:37 GMT */
#define RFC_EXAMPLE_MS 784111777000LL

Test(broker_retry_after, delta_seconds_and_http_dates)
{
    static const struct {
        const char *value;
        long long want;
    } cases[] = {
        {"5", 5000},
        {"0", 0},
        {" 7 ", 7000},
        {"3600", 3600000},
        {"3601", 3600000},
        {"99999999999999999999999999", 3600000},
        {"-1", -1},
        {"+5", -1},
        {"5s", -1},
        {"1.5", -1},
        {"", -1},
        {"   ", -1},
        {"soon", -1},
        {"Sun, 06 Nov 1994 08:50:07 GMT", 30000},
        {"Sun, 06 Nov 1994 08:49:37 GMT", 0},
        {"Sun, 06 Nov 1994 08:00:00 GMT", 0},       /* in the past: go now */
        {"Mon, 07 Nov 1994 08:49:37 GMT", 3600000}, /* a day: capped at an hour */
        {"Sun, 06 Nov 1994 08:49:37 UTC", -1},
        {"Sunday, 06-Nov-94 08:49:37 GMT", -1}, /* RFC 850: obsolete, refused */
        {"Sun, 06 Foo 1994 08:49:37 GMT", -1},
        {"Sun, 31 Nov 1994 08:49:37 GMT", -1},
        {"Sun, 06 Nov 1994 8:49:37 GMT", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long got = broker_parse_retry_after(cases[i].value, RFC_EXAMPLE_MS);
        cr_expect_eq(got, cases[i].want, "\"%s\" -> %lld, want %lld", cases[i].value, got,
                     cases[i].want);
    }
    cr_expect_eq(broker_parse_retry_after(NULL, RFC_EXAMPLE_MS), -1);
}
