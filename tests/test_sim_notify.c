/*
 * test_sim_notify.c - the simulator's Telegram and Slack far ends, over HTTP
 * against a started tradeops-sim: what each protocol accepts and refuses,
 * Telegram's HTML rules and length limit, chat migration, the 429/403/500
 * faults (counted down, or every request until reset), what GET
 * /_sim/notify records, and that the broker's faults and auth-token do not
 * apply to these routes.
 *
 * Every request to a far end is made without the auth-token header, as the
 * notifier makes it (the secret is in the URL).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness/th.h"

#define HTTP_TIMEOUT_MS 10000L
#define TG_TOKEN "123456789:AAF-test_token_0123"
#define TG_SEND "/bot" TG_TOKEN "/sendMessage"
#define SLACK_HOOK "/services/T0001/B0002/abcDEF123"
#define JSON "application/json"
#define TG_MAX_TEXT 4096

static th_sim sim;
static bool sim_up;

static void setup(void)
{
    sim_up = th_sim_start(&sim, (const char *const[]){"--start-paused", NULL}) == 0;
    cr_assert(sim_up, "the simulator did not start (see stderr)");
}

static void teardown(void)
{
    if (sim_up)
        th_sim_stop(&sim);
    sim_up = false;
}

TestSuite(sim_notify, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ---- */

/* A request to a far end (no auth-token); the reply must come. */
static th_reply post(const char *path, const char *body)
{
    th_reply r;
    int rc = th_sim_http(&sim, "POST", path, JSON, body, false, HTTP_TIMEOUT_MS, &r);
    cr_assert_eq(rc, 0, "POST %s: no reply", path);
    return r;
}

static cJSON *json_of(const th_reply *r)
{
    cJSON *j = cJSON_Parse(r->body);
    cr_assert_not_null(j, "reply is not JSON: %.300s", r->body);
    return j;
}

/* Telegram: POSTs body, checks the status, returns the JSON reply. */
static cJSON *tg(const char *body, long want_status)
{
    th_reply r = post(TG_SEND, body);
    cr_assert_eq(r.status, want_status, "sendMessage %.200s: HTTP %ld %.300s (wanted %ld)", body,
                 r.status, r.body, want_status);
    char ct[128] = "";
    cr_assert(th_reply_header(&r, "Content-Type", ct, sizeof ct) &&
                  strncmp(ct, "application/json", 16) == 0,
              "Telegram answers JSON, got Content-Type '%s'", ct);
    cJSON *j = json_of(&r);
    th_reply_free(&r);
    return j;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsString(v), "field %s is missing or not a string", key);
    return v->valuestring;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "field %s is missing or not a number", key);
    return v->valuedouble;
}

/* A Telegram error reply: ok false, error_code, and the description. */
static void tg_refused(const char *body, long status, const char *description)
{
    cJSON *j = tg(body, status);
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "ok")), "ok must be false");
    cr_expect_eq(num(j, "error_code"), (double)status);
    cr_expect_str_eq(str(j, "description"), description, "for %.200s", body);
    cJSON_Delete(j);
}

/* Control: POST /_sim/notify with the auth-token; the reply's status. */
static long control(const char *body)
{
    long status = 0;
    char *reply = th_sim_request(&sim, "POST", "/_sim/notify", body, &status);
    cr_assert_not_null(reply, "/_sim/notify: no reply");
    free(reply);
    return status;
}

static cJSON *records(void)
{
    long status = 0;
    char *reply = th_sim_request(&sim, "GET", "/_sim/notify", NULL, &status);
    cr_assert_not_null(reply);
    cr_assert_eq(status, 200, "GET /_sim/notify: HTTP %ld %.300s", status, reply);
    cJSON *j = cJSON_Parse(reply);
    cr_assert_not_null(j, "GET /_sim/notify is not JSON: %.300s", reply);
    free(reply);
    return j;
}

static int list_len(const cJSON *rec, const char *target)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, target);
    cr_assert(cJSON_IsArray(a), "/_sim/notify has no %s list", target);
    return cJSON_GetArraySize(a);
}

static double attempts(const cJSON *rec, const char *target)
{
    return num(cJSON_GetObjectItemCaseSensitive(rec, "attempts"), target);
}

/* Slack: POSTs body to path; checks status and the exact plain-text body. */
static void slack(const char *path, const char *body, long status, const char *want)
{
    th_reply r = post(path, body);
    cr_expect_eq(r.status, status, "%s %.200s: HTTP %ld '%.100s' (wanted %ld)", path, body,
                 r.status, r.body, status);
    cr_expect_str_eq(r.body, want, "%s %.200s", path, body);
    char ct[128] = "";
    cr_expect(th_reply_header(&r, "Content-Type", ct, sizeof ct) &&
                  strncmp(ct, "text/plain", 10) == 0,
              "Slack answers text/plain, got '%s'", ct);
    th_reply_free(&r);
}

/* ---- Telegram ---- */

Test(sim_notify, telegram_delivers_and_records)
{
    cJSON *j = tg("{\"chat_id\":\"-1001234567\",\"text\":\"<b>demo-2</b> equity &lt; floor "
                  "&amp; falling\",\"parse_mode\":\"HTML\",\"disable_web_page_preview\":true}",
                  200);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")));
    cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
    cr_assert(cJSON_IsObject(res), "no result");
    cr_expect_str_eq(str(res, "text"), "demo-2 equity < floor & falling",
                     "result.text is the text as shown: tags gone, entities decoded");
    cr_expect_eq(num(cJSON_GetObjectItemCaseSensitive(res, "chat"), "id"), -1001234567.0);
    cr_expect_gt(num(res, "message_id"), 0);
    cr_expect_gt(num(res, "date"), 1.6e9, "date is Unix seconds");
    double first_id = num(res, "message_id");
    cJSON_Delete(j);

    j = tg("{\"chat_id\":42,\"text\":\"plain <text> & more\"}", 200);
    res = cJSON_GetObjectItemCaseSensitive(j, "result");
    cr_expect_str_eq(str(res, "text"), "plain <text> & more", "no parse_mode: nothing parsed");
    cr_expect_gt(num(res, "message_id"), first_id, "message ids increase");
    cJSON_Delete(j);

    cJSON *rec = records();
    cr_assert_eq(list_len(rec, "telegram"), 2);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "telegram");
    cJSON *a = cJSON_GetArrayItem(t, 0), *b = cJSON_GetArrayItem(t, 1);
    cr_expect_str_eq(str(a, "chat_id"), "-1001234567");
    cr_expect_str_eq(str(a, "text"), "<b>demo-2</b> equity &lt; floor &amp; falling",
                     "the record keeps the text as sent");
    cr_expect_str_eq(str(a, "parse_mode"), "HTML");
    cr_expect_str_eq(str(b, "chat_id"), "42", "an integer chat id is recorded as text");
    cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(b, "parse_mode")),
              "no parse_mode is recorded as null");
    cr_expect_geq(num(b, "at"), num(a, "at"));
    cr_expect_gt(num(a, "at"), 1.6e12, "at is epoch milliseconds");
    cr_expect_eq(attempts(rec, "telegram"), 2);
    cr_expect_eq(list_len(rec, "slack"), 0);
    cJSON_Delete(rec);
}

Test(sim_notify, telegram_token_and_method_checked)
{
    static const char *const bad[] = {
        "/bot123456789AAF-test_token_0123/sendMessage",         /* no colon */
        "/bot123:short_sec/sendMessage",                        /* secret of 9 */
        "/botabc:AAF-test_token_0123/sendMessage",              /* id not digits */
        "/bot123456789012345678901:AAF-test_token/sendMessage", /* 21 digits */
        "/bot123:AAF-test%20token_0123/sendMessage",            /* a space */
        "/bot123:AAF-test_token_0123/getUpdates",               /* another method */
        "/bot123:AAF-test_token_0123/sendMessage/x",
        "/bot123:AAF-test_token_0123",
        "/bot",
    };
    const char *body = "{\"chat_id\":1,\"text\":\"x\"}";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        th_reply r;
        cr_assert_eq(th_sim_http(&sim, "POST", bad[i], JSON, body, false, HTTP_TIMEOUT_MS, &r), 0);
        cr_expect_eq(r.status, 404, "%s: HTTP %ld", bad[i], r.status);
        cr_expect_str_eq(r.body, "{\"ok\":false,\"error_code\":404,\"description\":\"Not Found\"}",
                         "%s", bad[i]);
        th_reply_free(&r);
    }
    /* The shortest secret allowed, and the method name in another case. */
    th_reply r = post("/bot1:abcdefghij/sendmessage", body);
    cr_expect_eq(r.status, 200, "a 10-character secret is a valid token: HTTP %ld %s", r.status,
                 r.body);
    th_reply_free(&r);
    cJSON *rec = records();
    cr_expect_eq(list_len(rec, "telegram"), 1, "only the good request was delivered");
    cr_expect_eq(attempts(rec, "telegram"), (double)(sizeof bad / sizeof bad[0]) + 1,
                 "every request is an attempt");
    cJSON_Delete(rec);
}

Test(sim_notify, telegram_missing_or_bad_fields)
{
    tg_refused("{\"chat_id\":5}", 400, "Bad Request: message text is empty");
    tg_refused("{\"chat_id\":5,\"text\":\"\"}", 400, "Bad Request: message text is empty");
    tg_refused("{\"chat_id\":5,\"text\":7}", 400, "Bad Request: message text is empty");
    tg_refused("{\"chat_id\":5,\"text\":\"<b> </b>\",\"parse_mode\":\"HTML\"}", 400,
               "Bad Request: message text is empty");
    tg_refused("{\"text\":\"x\"}", 400, "Bad Request: chat_id is empty");
    tg_refused("{\"chat_id\":\"general\",\"text\":\"x\"}", 400, "Bad Request: chat not found");
    tg_refused("{\"chat_id\":1.5,\"text\":\"x\"}", 400, "Bad Request: chat not found");
    tg_refused("{\"chat_id\":5,\"text\":\"x\",\"parse_mode\":\"BBCode\"}", 400,
               "Bad Request: unsupported parse_mode");
    tg_refused("{\"chat_id\":5,\"text\":\"bad \xff utf8\"}", 400,
               "Bad Request: text must be encoded in UTF-8");
    cJSON *j = tg("not json", 400);
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "ok")));
    cJSON_Delete(j);
    /* A channel name is a chat id too. */
    cJSON_Delete(tg("{\"chat_id\":\"@tradeops_alerts\",\"text\":\"x\"}", 200));
    cJSON *rec = records();
    cr_expect_eq(list_len(rec, "telegram"), 1, "refused messages are not recorded");
    cJSON_Delete(rec);
}

static void html_case(const char *html, bool ok, const char *what)
{
    cJSON *text = cJSON_CreateString(html);
    char *quoted = cJSON_PrintUnformatted(text);
    char body[2048];
    snprintf(body, sizeof body, "{\"chat_id\":7,\"parse_mode\":\"HTML\",\"text\":%s}", quoted);
    free(quoted);
    cJSON_Delete(text);
    cJSON *j = tg(body, ok ? 200 : 400);
    if (!ok) {
        const char *d = str(j, "description");
        cr_expect(strncmp(d, "Bad Request: can't parse entities: ", 35) == 0,
                  "%s: description '%s'", what, d);
        cr_expect(strstr(d, what) != NULL, "%s: description '%s' does not say so", html, d);
    }
    cJSON_Delete(j);
}

Test(sim_notify, telegram_html_rules)
{
    static const char *const good[] = {
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins>",
        "<s>s</s><strike>k</strike><del>d</del><code>c</code><pre>p</pre>",
        "<tg-spoiler>t</tg-spoiler><blockquote>q</blockquote>",
        "<span class=\"tg-spoiler\">sp</span> <a href=\"https://example.com/?a=1&amp;b=2\">l</a>",
        "<pre><code class=\"language-c\">int x;</code></pre>",
        "<b>bold <i>italic <u>under</u></i></b>",
        "&lt;&gt;&amp;&quot; &#65;&#x42; &#128200;",
        "<B>upper-case tag</B>",
        "DD 23.9% &gt; 20% on <b>demo-3</b>",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        html_case(good[i], true, "accepted");
    static const struct {
        const char *html, *what;
    } bad[] = {
        {"<div>x</div>", "Unsupported start tag \"div\" at byte offset 0"},
        {"a <br/> b", "Unsupported start tag \"br\""},
        {"<b>x</i>", "Unmatched end tag at byte offset 4, expected \"</b>\", found \"</i>\""},
        {"<b><i>x</b></i>", "Unmatched end tag"},
        {"<b>never closed", "Can't find end tag corresponding to start tag \"b\""},
        {"x</b>", "Unexpected end tag at byte offset 1"},
        {"1 < 2", "unescaped \"<\" at byte offset 2"},
        {"2 > 1", "unescaped \">\" at byte offset 2"},
        {"R&D", "unescaped \"&\" at byte offset 1"},
        {"&nbsp;", "unsupported HTML entity \"&nbsp;\""},
        {"&#xD800;", "not a Unicode character"},
        {"<b", "Unclosed start tag at byte offset 0"},
        {"<a>no href</a>", "needs a non-empty href"},
        {"<span>x</span>", "must have class \"tg-spoiler\""},
        {"<span class=\"red\">x</span>", "must have class \"tg-spoiler\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        html_case(bad[i].html, false, bad[i].what);
    cJSON *rec = records();
    cr_expect_eq(list_len(rec, "telegram"), (int)(sizeof good / sizeof good[0]),
                 "only the accepted messages are recorded");
    cJSON_Delete(rec);
}

/* A body whose text is n copies of unit, as JSON. */
static char *repeated(const char *unit, int n, bool html)
{
    size_t ulen = strlen(unit);
    char *text = malloc(ulen * (size_t)n + 1);
    cr_assert_not_null(text);
    for (int i = 0; i < n; i++)
        memcpy(text + ulen * (size_t)i, unit, ulen);
    text[ulen * (size_t)n] = '\0';
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "chat_id", 9);
    cJSON_AddStringToObject(o, "text", text);
    if (html)
        cJSON_AddStringToObject(o, "parse_mode", "HTML");
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(text);
    cr_assert_not_null(body);
    return body;
}

Test(sim_notify, telegram_length_in_code_points_after_entities)
{
    static const struct {
        const char *unit;
        bool html;
    } kinds[] = {{"\xc3\xa9", false}, {"&amp;", true}, {"<b>x</b>", true}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char *at_limit = repeated(kinds[k].unit, TG_MAX_TEXT, kinds[k].html);
        char *over = repeated(kinds[k].unit, TG_MAX_TEXT + 1, kinds[k].html);
        cJSON_Delete(tg(at_limit, 200));
        tg_refused(over, 400, "Bad Request: message is too long");
        free(at_limit);
        free(over);
    }
}

Test(sim_notify, telegram_chat_migration)
{
    cr_assert_eq(control("{\"migrate\":{\"from\":\"-100200\",\"to\":\"-1001234567\"}}"), 200);
    cJSON *j = tg("{\"chat_id\":-100200,\"text\":\"to the old group\"}", 400);
    cr_expect_str_eq(str(j, "description"),
                     "Bad Request: group chat was upgraded to a supergroup chat");
    cJSON *par = cJSON_GetObjectItemCaseSensitive(j, "parameters");
    cr_assert(cJSON_IsObject(par), "no parameters in %s", cJSON_PrintUnformatted(j));
    cr_expect_eq(num(par, "migrate_to_chat_id"), -1001234567.0,
                 "migrate_to_chat_id is the new chat, as an integer");
    cJSON_Delete(j);
    cJSON_Delete(tg("{\"chat_id\":\"-1001234567\",\"text\":\"to the supergroup\"}", 200));
    cJSON_Delete(tg("{\"chat_id\":\"-100300\",\"text\":\"another chat\"}", 200));
    cJSON *rec = records();
    cr_expect_eq(list_len(rec, "telegram"), 2);
    cr_expect_str_eq(
        str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rec, "telegram"), 0), "chat_id"),
        "-1001234567");
    cJSON_Delete(rec);
    /* Reset forgets it. */
    cr_assert_eq(control("{\"reset\":true}"), 200);
    cJSON_Delete(tg("{\"chat_id\":-100200,\"text\":\"after reset\"}", 200));
}

Test(sim_notify, telegram_faults_count_down)
{
    cr_assert_eq(
        control("{\"target\":\"telegram\",\"fail_next\":2,\"status\":429,\"retry_after\":7}"), 200);
    for (int i = 0; i < 2; i++) {
        th_reply r = post(TG_SEND, "{\"chat_id\":1,\"text\":\"x\"}");
        cr_expect_eq(r.status, 429, "attempt %d: HTTP %ld", i, r.status);
        char ra[32] = "";
        cr_expect(th_reply_header(&r, "Retry-After", ra, sizeof ra), "no Retry-After header");
        cr_expect_str_eq(ra, "7");
        cJSON *j = json_of(&r);
        cr_expect_str_eq(str(j, "description"), "Too Many Requests: retry after 7");
        cr_expect_eq(num(cJSON_GetObjectItemCaseSensitive(j, "parameters"), "retry_after"), 7);
        cJSON_Delete(j);
        th_reply_free(&r);
    }
    cJSON_Delete(tg("{\"chat_id\":1,\"text\":\"third goes through\"}", 200));

    cr_assert_eq(control("{\"target\":\"telegram\",\"fail_next\":1,\"status\":403}"), 200);
    tg_refused("{\"chat_id\":1,\"text\":\"x\"}", 403, "Forbidden: bot was blocked by the user");
    cr_assert_eq(control("{\"target\":\"telegram\",\"fail_next\":1,\"status\":500}"), 200);
    tg_refused("{\"chat_id\":1,\"text\":\"x\"}", 500, "Internal Server Error");

    /* -1: every request fails until reset. */
    cr_assert_eq(control("{\"target\":\"telegram\",\"fail_next\":-1,\"status\":500}"), 200);
    for (int i = 0; i < 5; i++)
        tg_refused("{\"chat_id\":1,\"text\":\"x\"}", 500, "Internal Server Error");
    cJSON *rec = records();
    cr_expect_eq(list_len(rec, "telegram"), 1, "faulted requests are not delivered");
    cr_expect_eq(attempts(rec, "telegram"), 10, "faulted requests are attempts");
    cJSON_Delete(rec);
    cr_assert_eq(control("{\"reset\":true}"), 200);
    cJSON_Delete(tg("{\"chat_id\":1,\"text\":\"after reset\"}", 200));
    rec = records();
    cr_expect_eq(list_len(rec, "telegram"), 1, "reset cleared the records");
    cr_expect_eq(attempts(rec, "telegram"), 1, "reset cleared the attempts");
    cJSON_Delete(rec);
}

/* ---- Slack ---- */

Test(sim_notify, slack_delivers_and_records)
{
    slack(SLACK_HOOK, "{\"text\":\"demo-2 breached: closing 3 positions\"}", 200, "ok");
    slack(SLACK_HOOK,
          "{\"text\":\"with blocks\",\"mrkdwn\":true,\"blocks\":[{\"type\":\"section\"}]}", 200,
          "ok");
    cJSON *rec = records();
    cr_assert_eq(list_len(rec, "slack"), 2);
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rec, "slack"), 0);
    cr_expect_str_eq(str(a, "path"), SLACK_HOOK);
    cr_expect_str_eq(str(a, "text"), "demo-2 breached: closing 3 positions");
    cr_expect_gt(num(a, "at"), 1.6e12);
    cr_expect_eq(attempts(rec, "slack"), 2);
    cr_expect_eq(list_len(rec, "telegram"), 0);
    cJSON_Delete(rec);
}

Test(sim_notify, slack_refuses_bad_payloads_and_paths)
{
    slack(SLACK_HOOK, "not json", 400, "invalid_payload");
    slack(SLACK_HOOK, "{}", 400, "invalid_payload");
    slack(SLACK_HOOK, "{\"text\":\"\"}", 400, "invalid_payload");
    slack(SLACK_HOOK, "{\"text\":5}", 400, "invalid_payload");
    slack(SLACK_HOOK, "{\"text\":\"x\",\"blocks\":{}}", 400, "invalid_payload");
    slack(SLACK_HOOK, "[\"text\"]", 400, "invalid_payload");
    static const char *const paths[] = {
        "/services/T0001/B0002",
        "/services/T0001/B0002/abc/def",
        "/services/T0001/B0002/abc-def",
        "/services/T0001//abc",
        "/services",
        "/services/",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        slack(paths[i], "{\"text\":\"x\"}", 404, "no_service");
    cJSON *rec = records();
    cr_expect_eq(list_len(rec, "slack"), 0, "nothing refused is recorded");
    cr_expect_eq(attempts(rec, "slack"), 6 + (double)(sizeof paths / sizeof paths[0]));
    cJSON_Delete(rec);
}

Test(sim_notify, slack_faults)
{
    cr_assert_eq(control("{\"target\":\"slack\",\"fail_next\":1,\"status\":429,\"retry_after\":9}"),
                 200);
    th_reply r = post(SLACK_HOOK, "{\"text\":\"x\"}");
    cr_expect_eq(r.status, 429);
    cr_expect_str_eq(r.body, "rate_limited");
    char ra[32] = "";
    cr_expect(th_reply_header(&r, "Retry-After", ra, sizeof ra) && strcmp(ra, "9") == 0,
              "Retry-After '%s'", ra);
    th_reply_free(&r);
    slack(SLACK_HOOK, "{\"text\":\"then ok\"}", 200, "ok");
    cr_assert_eq(control("{\"target\":\"slack\",\"fail_next\":1,\"status\":403}"), 200);
    slack(SLACK_HOOK, "{\"text\":\"x\"}", 403, "action_prohibited");
    cr_assert_eq(control("{\"target\":\"slack\",\"fail_next\":-1,\"status\":500}"), 200);
    slack(SLACK_HOOK, "{\"text\":\"x\"}", 500, "internal_error");
    slack(SLACK_HOOK, "{\"text\":\"x\"}", 500, "internal_error");
    /* Telegram is not affected by Slack's faults. */
    cJSON_Delete(tg("{\"chat_id\":1,\"text\":\"x\"}", 200));
    cr_assert_eq(control("{\"target\":\"slack\",\"fail_next\":0}"), 200);
    slack(SLACK_HOOK, "{\"text\":\"fault cleared\"}", 200, "ok");
    cJSON *rec = records();
    cr_expect_eq(list_len(rec, "slack"), 2);
    cr_expect_eq(attempts(rec, "slack"), 6);
    cJSON_Delete(rec);
}

/* ---- control and isolation ---- */

Test(sim_notify, control_refuses_bad_settings_whole)
{
    static const char *const bad[] = {
        "{\"target\":\"email\",\"fail_next\":1}",
        "{\"target\":\"telegram\",\"fail_next\":1,\"status\":404}",
        "{\"target\":\"telegram\",\"fail_next\":-2}",
        "{\"target\":\"telegram\",\"fail_next\":1.5}",
        "{\"target\":\"telegram\",\"retry_after\":-1}",
        "{\"fail_next\":1}",
        "{\"migrate\":{\"from\":\"-1\"}}",
        "{\"migrate\":{\"from\":\"-1\",\"to\":\"@channel\"}}",
        "{\"reset\":\"yes\"}",
        "{\"reset\":true,\"colour\":\"red\"}",
        "{}",
        "[]",
        "nope",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(control(bad[i]), 400, "%s was accepted", bad[i]);
    /* None of them changed anything: a message goes through. */
    cJSON_Delete(tg("{\"chat_id\":1,\"text\":\"x\"}", 200));
    slack(SLACK_HOOK, "{\"text\":\"x\"}", 200, "ok");
    /* The control route itself needs the auth-token. */
    th_reply r;
    cr_assert_eq(th_sim_http(&sim, "GET", "/_sim/notify", NULL, NULL, false, HTTP_TIMEOUT_MS, &r),
                 0);
    cr_expect_eq(r.status, 401, "GET /_sim/notify without auth-token: HTTP %ld", r.status);
    th_reply_free(&r);
}

Test(sim_notify, broker_faults_do_not_apply)
{
    long status = 0;
    char *reply =
        th_sim_request(&sim, "POST", "/_sim/faults",
                       "{\"error_rate\":1,\"malformed_rate\":1,\"latency_ms\":50}", &status);
    cr_assert_not_null(reply);
    cr_assert_eq(status, 200, "%s", reply);
    free(reply);
    reply = th_sim_request(&sim, "GET", "/users/current/accounts/demo-1/positions", NULL, &status);
    cr_assert_not_null(reply);
    cr_expect_eq(status, 500, "the broker route was not faulted: HTTP %ld", status);
    free(reply);
    for (int i = 0; i < 5; i++) {
        cJSON_Delete(tg("{\"chat_id\":1,\"text\":\"x\"}", 200));
        slack(SLACK_HOOK, "{\"text\":\"x\"}", 200, "ok");
    }
    cJSON *rec = records();
    cr_expect_eq(list_len(rec, "telegram"), 5);
    cr_expect_eq(list_len(rec, "slack"), 5);
    cJSON_Delete(rec);
}
