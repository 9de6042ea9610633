/*
 * test_notify_proto.c - the Telegram and Slack protocols without I/O (suite
 * "notify_proto"): message text and escaping of hostile input, request
 * bodies, judging every class of reply, backoff, masking and redaction.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "config.h"
#include "notify.h"
#include "notify_proto.h"

#define TOKEN "123456:ABCdefGHIjkl"
#define HOOK "https://hooks.slack.com/services/T000/B000/abcdefXYZ123"

/* True when s holds no byte below 0x20 other than '\n', and no DEL. */
static bool no_controls(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            return false;
    return true;
}

static const char *HOSTILE_TITLE = "<script>x</script> & \x1b[31mred\x1b[0m \xc2\x9b"
                                   "2J \xff\xfe end";

Test(notify_proto, clean_replaces_controls_and_invalid_utf8)
{
    char out[128];
    notify_clean("a\x1b[2Jb\x07"
                 "c\xc2\x9b"
                 "d\xff"
                 "e\x7f"
                 "f\xe2\x80\xae"
                 "g",
                 out, sizeof out, false);
    cr_assert_str_eq(out, "a?[2Jb?c?d?e?f?g");
    notify_clean("line1\r\nline2\n\tx", out, sizeof out, true);
    cr_assert_str_eq(out, "line1\nline2\n x");
    notify_clean("one\ntwo", out, sizeof out, false);
    cr_assert_str_eq(out, "one?two");
    notify_clean(NULL, out, sizeof out, false);
    cr_assert_str_eq(out, "");
    /* Valid UTF-8 survives. */
    notify_clean("Prague \xc5\x99\xc3\xad \xe2\x82\xac", out, sizeof out, false);
    cr_assert_str_eq(out, "Prague \xc5\x99\xc3\xad \xe2\x82\xac");
}

Test(notify_proto, clean_cuts_at_a_utf8_boundary_with_an_ellipsis)
{
    char out[10];
    size_t n =
        notify_clean("\xc5\x99\xc5\x99\xc5\x99\xc5\x99\xc5\x99\xc5\x99", out, sizeof out, false);
    cr_assert_lt(n, sizeof out);
    cr_assert_str_eq(out, "\xc5\x99\xc5\x99\xc5\x99...");
    n = notify_clean("12345678", out, sizeof out, false);
    cr_assert_str_eq(out, "12345678"); /* fits exactly: no ellipsis */
    n = notify_clean("1234567890", out, sizeof out, false);
    cr_assert_str_eq(out, "123456...");
    cr_assert_eq(n, 9);
}

Test(notify_proto, escape_amp_lt_gt)
{
    char *e = notify_escape("a<b>&c\"'");
    cr_assert_str_eq(e, "a&lt;b&gt;&amp;c\"'");
    free(e);
}

Test(notify_proto, telegram_html_escapes_every_outside_string)
{
    notify_text t = {.severity = ALERT_CRITICAL,
                     .account = "acc<1>",
                     .title = HOSTILE_TITLE,
                     .body = "equity 9 < floor 10 & falling\n<b>bold?</b>\x1b]0;pwn\x07",
                     .alert_id = 42};
    char *html = notify_text_telegram(&t, true);
    cr_assert_not_null(html);
    cr_assert(no_controls(html), "raw control in %s", html);
    cr_assert(
        strncmp(html, "<b>[CRITICAL] &lt;script&gt;x&lt;/script&gt; &amp; ?[31mred?[0m ?", 60) == 0,
        "%s", html);
    /* The only tags are ours. */
    const char *p = html;
    int tags = 0;
    while ((p = strchr(p, '<')) != NULL) {
        cr_assert(strncmp(p, "<b>", 3) == 0 || strncmp(p, "</b>", 4) == 0, "stray tag at %s", p);
        tags++;
        p++;
    }
    cr_assert_eq(tags, 2);
    cr_assert(
        strstr(html, "equity 9 &lt; floor 10 &amp; falling\n&lt;b&gt;bold?&lt;/b&gt;?]0;pwn?"),
        "%s", html);
    cr_assert(strstr(html, "\naccount acc&lt;1&gt; \xc2\xb7 alert #42"), "%s", html);
    free(html);

    char *plain = notify_text_telegram(&t, false);
    cr_assert(no_controls(plain));
    cr_assert(strncmp(plain, "[CRITICAL] <script>x</script> & ?[31mred", 40) == 0, "%s", plain);
    cr_assert_null(strstr(plain, "&lt;"));
    free(plain);
}

Test(notify_proto, slack_mrkdwn_escapes)
{
    notify_text t = {.severity = ALERT_WARNING, .title = "a <@U123> & <!channel>", .body = NULL};
    char *s = notify_text_slack(&t);
    cr_assert_str_eq(s, "*[WARNING] a &lt;@U123&gt; &amp; &lt;!channel&gt;*");
    free(s);
}

Test(notify_proto, request_bodies_are_json_with_the_fields)
{
    char *j = notify_request_telegram("-100200", "x \"q\"\n<b>", true);
    cJSON *o = cJSON_Parse(j);
    cr_assert_not_null(o, "%s", j);
    cr_assert_str_eq(cJSON_GetObjectItem(o, "chat_id")->valuestring, "-100200");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "text")->valuestring, "x \"q\"\n<b>");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "parse_mode")->valuestring, "HTML");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(o, "disable_web_page_preview")));
    cJSON_Delete(o);
    free(j);
    j = notify_request_telegram("42", "plain", false);
    o = cJSON_Parse(j);
    cr_assert_null(cJSON_GetObjectItem(o, "parse_mode"), "%s", j);
    cJSON_Delete(o);
    free(j);
    j = notify_request_slack("hi & bye");
    cr_assert_str_eq(j, "{\"text\":\"hi & bye\"}");
    free(j);
}

Test(notify_proto, chat_ids_and_intervals)
{
    cr_assert(notify_chat_id_ok("12345"));
    cr_assert(notify_chat_id_ok("-1001234567890"));
    cr_assert(notify_chat_id_ok("@my_channel"));
    cr_assert_not(notify_chat_id_ok(""));
    cr_assert_not(notify_chat_id_ok("-"));
    cr_assert_not(notify_chat_id_ok("12a"));
    cr_assert_not(notify_chat_id_ok("@a b"));
    cr_assert_eq(notify_chat_interval_ms("12345"), 1000);
    cr_assert_eq(notify_chat_interval_ms("-100200"), 3000); /* 20 a minute */
    cr_assert_eq(notify_chat_interval_ms("@my_channel"), 3000);
}

/* ---- judging ---- */

static notify_judgement tg(long status, const char *body, const char *retry_after)
{
    notify_reply r = {.transport_ok = true,
                      .status = status,
                      .body = body,
                      .len = body ? strlen(body) : 0,
                      .retry_after = retry_after,
                      .now_ms = 1700000000000};
    notify_judgement j;
    notify_judge_telegram(&r, &j);
    return j;
}

static notify_judgement sl(long status, const char *body, const char *retry_after)
{
    notify_reply r = {.transport_ok = true,
                      .status = status,
                      .body = body,
                      .len = body ? strlen(body) : 0,
                      .retry_after = retry_after,
                      .now_ms = 1700000000000};
    notify_judgement j;
    notify_judge_slack(&r, &j);
    return j;
}

Test(notify_proto, telegram_ok)
{
    notify_judgement j = tg(200, "{\"ok\":true,\"result\":{\"message_id\":5}}", NULL);
    cr_assert_eq(j.verdict, NOTIFY_SENT, "%s", j.reason);
}

Test(notify_proto, telegram_200_that_is_not_ok_is_not_sent)
{
    notify_judgement j = tg(200, "<html>proxy</html>", NULL);
    cr_assert_eq(j.verdict, NOTIFY_PERMANENT);
    cr_assert(strstr(j.reason, "not JSON"), "%s", j.reason);
    j = tg(200, "", NULL);
    cr_assert_eq(j.verdict, NOTIFY_PERMANENT);
    j = tg(200, "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot was blocked\"}",
           NULL);
    cr_assert_eq(j.verdict, NOTIFY_DISABLE, "%s", j.reason);
    cr_assert_eq(j.status, 403);
}

Test(notify_proto, telegram_parse_entities_resends_plain)
{
    notify_judgement j = tg(400,
                            "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: "
                            "can't parse entities: Unsupported start tag \\\"x\\\" at byte "
                            "offset 3\"}",
                            NULL);
    cr_assert_eq(j.verdict, NOTIFY_RESEND_PLAIN, "%s", j.reason);
    cr_assert(strstr(j.reason, "can't parse entities"), "%s", j.reason);
}

Test(notify_proto, telegram_migrate)
{
    notify_judgement j = tg(400,
                            "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: "
                            "group chat was upgraded to a supergroup chat\",\"parameters\":"
                            "{\"migrate_to_chat_id\":-1001234567}}",
                            NULL);
    cr_assert_eq(j.verdict, NOTIFY_MIGRATE, "%s", j.reason);
    cr_assert_str_eq(j.new_chat_id, "-1001234567");
    /* A migrate_to_chat_id that is no chat id is a plain 400. */
    j = tg(400, "{\"ok\":false,\"error_code\":400,\"parameters\":{\"migrate_to_chat_id\":\"x;y\"}}",
           NULL);
    cr_assert_eq(j.verdict, NOTIFY_PERMANENT);
}

Test(notify_proto, telegram_other_4xx_is_dead_with_the_description)
{
    notify_judgement j =
        tg(400, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}",
           NULL);
    cr_assert_eq(j.verdict, NOTIFY_PERMANENT);
    cr_assert_str_eq(j.reason, "HTTP 400: Bad Request: chat not found");
    j = tg(413, "{\"ok\":false,\"error_code\":413,\"description\":\"\\u001b[2Jtoo big\"}", NULL);
    cr_assert_eq(j.verdict, NOTIFY_PERMANENT);
    cr_assert(no_controls(j.reason), "%s", j.reason);
}

Test(notify_proto, telegram_403_and_401_disable)
{
    notify_judgement j = tg(403,
                            "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot "
                            "was kicked from the group chat\"}",
                            NULL);
    cr_assert_eq(j.verdict, NOTIFY_DISABLE);
    cr_assert(strstr(j.reason, "bot was kicked"), "%s", j.reason);
    j = tg(401, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}", NULL);
    cr_assert_eq(j.verdict, NOTIFY_DISABLE);
}

Test(notify_proto, telegram_429_retry_after_body_and_header)
{
    const char *b = "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry "
                    "after 7\",\"parameters\":{\"retry_after\":7}}";
    notify_judgement j = tg(429, b, NULL);
    cr_assert_eq(j.verdict, NOTIFY_RATE_LIMITED);
    cr_assert_eq(j.retry_after_ms, 7000);
    j = tg(429, b, "12"); /* the longer of the two */
    cr_assert_eq(j.retry_after_ms, 12000);
    j = tg(429, "{\"ok\":false,\"error_code\":429}", "3");
    cr_assert_eq(j.retry_after_ms, 3000);
    j = tg(429, "not json", NULL);
    cr_assert_eq(j.verdict, NOTIFY_RATE_LIMITED);
    cr_assert_eq(j.retry_after_ms, NOTIFY_DEFAULT_RETRY_AFTER_MS);
    j = tg(429, "{\"ok\":false,\"parameters\":{\"retry_after\":99999999}}", NULL);
    cr_assert_eq(j.retry_after_ms, NOTIFY_MAX_RETRY_AFTER_MS);
}

Test(notify_proto, telegram_5xx_and_no_reply_are_transient)
{
    notify_judgement j =
        tg(500, "{\"ok\":false,\"error_code\":500,\"description\":\"Internal\"}", NULL);
    cr_assert_eq(j.verdict, NOTIFY_TRANSIENT);
    j = tg(502, "<html>Bad gateway</html>", NULL);
    cr_assert_eq(j.verdict, NOTIFY_TRANSIENT);
    cr_assert(strstr(j.reason, "HTTP 502: reply is not JSON"), "%s", j.reason);
    notify_reply r = {.transport_ok = false};
    notify_judge_telegram(&r, &j);
    cr_assert_eq(j.verdict, NOTIFY_TRANSIENT);
    notify_judge_slack(&r, &j);
    cr_assert_eq(j.verdict, NOTIFY_TRANSIENT);
}

Test(notify_proto, telegram_malformed_json_of_every_shape)
{
    const char *bodies[] = {"{", "[1,2]", "{\"ok\":\"yes\"}", "null", "{\"ok\":true", "\x01\x02"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        notify_judgement j = tg(200, bodies[i], NULL);
        cr_assert_eq(j.verdict, NOTIFY_PERMANENT, "%s: %s", bodies[i], j.reason);
        cr_assert(no_controls(j.reason));
    }
}

Test(notify_proto, slack_replies)
{
    cr_assert_eq(sl(200, "ok", NULL).verdict, NOTIFY_SENT);
    notify_judgement j = sl(200, "ok then", NULL);
    cr_assert_eq(j.verdict, NOTIFY_PERMANENT, "200 with a body other than ok is no success");
    cr_assert_eq(sl(200, "", NULL).verdict, NOTIFY_PERMANENT);
    j = sl(429, "rate_limited", "30");
    cr_assert_eq(j.verdict, NOTIFY_RATE_LIMITED);
    cr_assert_eq(j.retry_after_ms, 30000);
    const char *cfg_errors[][2] = {{"400", "invalid_payload"},
                                   {"403", "action_prohibited"},
                                   {"404", "no_service"},
                                   {"410", "channel_is_archived"}};
    for (size_t i = 0; i < 4; i++) {
        j = sl(atol(cfg_errors[i][0]), cfg_errors[i][1], NULL);
        cr_assert_eq(j.verdict, NOTIFY_DISABLE, "%s", cfg_errors[i][0]);
        cr_assert(strstr(j.reason, cfg_errors[i][1]), "%s", j.reason);
    }
    cr_assert_eq(sl(500, "", NULL).verdict, NOTIFY_TRANSIENT);
    cr_assert_eq(sl(503, "down", NULL).verdict, NOTIFY_TRANSIENT);
    cr_assert_eq(sl(302, "", NULL).verdict, NOTIFY_PERMANENT);
}

Test(notify_proto, backoff_doubles_with_jitter_and_cap)
{
    cr_assert_eq(notify_backoff_ms(1, 2000, 600000, 1.0), 2000);
    cr_assert_eq(notify_backoff_ms(2, 2000, 600000, 1.0), 4000);
    cr_assert_eq(notify_backoff_ms(4, 2000, 600000, 1.1), 17600);
    cr_assert_eq(notify_backoff_ms(40, 2000, 600000, 1.0), 600000);
    cr_assert_eq(notify_backoff_ms(0, 2000, 600000, 0.9), 1800);
}

/* ---- secrets ---- */

Test(notify_proto, masks)
{
    char out[128];
    notify_mask_token(TOKEN, out, sizeof out);
    cr_assert_str_eq(out, "bot123\xe2\x80\xa6:***");
    notify_mask_token("garbage", out, sizeof out);
    cr_assert_str_eq(out, "***");
    notify_mask_url(HOOK, out, sizeof out);
    cr_assert_str_eq(out, "https://hooks.slack.com/services/T000/***");
    notify_mask_url("http://127.0.0.1:8080/services/T000/B000/abcdef", out, sizeof out);
    cr_assert_str_eq(out, "http://127.0.0.1:8080/services/T000/***");
    notify_mask_url("https://user:pw@example.com/hook/s3cr3t?x=1", out, sizeof out);
    cr_assert_str_eq(out, "https://example.com/hook/***");
    notify_mask_url("https://example.com/s3cr3t", out, sizeof out);
    cr_assert_str_eq(out, "https://example.com/***");
    notify_mask_url("not a url", out, sizeof out);
    cr_assert_str_eq(out, "***");
}

Test(notify_proto, redact_removes_the_secret_and_its_part)
{
    char s[256] = "POST /bot" TOKEN "/sendMessage failed; secret ABCdefGHIjkl echoed";
    notify_redact(s, sizeof s, "bot" TOKEN, "bot123\xe2\x80\xa6:***");
    cr_assert_null(strstr(s, "ABCdefGHIjkl"), "%s", s);
    cr_assert_str_eq(s, "POST /bot123\xe2\x80\xa6:***/sendMessage failed; secret *** echoed");
    char h[256] = "connect " HOOK " failed; path abcdefXYZ123";
    notify_redact(h, sizeof h, HOOK, "https://hooks.slack.com/services/T000/***");
    cr_assert_null(strstr(h, "abcdefXYZ123"), "%s", h);
    /* A small buffer: cut, never overrun, still no secret. */
    char tiny[24] = "x" TOKEN;
    notify_redact(tiny, sizeof tiny, TOKEN, "a-very-long-mask-that-does-not-fit");
    cr_assert_null(strstr(tiny, "ABC"), "%s", tiny);
    cr_assert_lt(strlen(tiny), sizeof tiny);
}

/* ---- configuration ---- */

Test(notify_proto, routes_and_config_checks)
{
    config c;
    char err[256];
    config_defaults(&c);
    unsigned m;
    cr_assert_eq(notify_route(&c, ALERT_CRITICAL, &m, err, sizeof err), 0, "%s", err);
    cr_assert_eq(m, (1u << NOTIFY_TELEGRAM) | (1u << NOTIFY_SLACK));
    cr_assert_eq(notify_route(&c, ALERT_WARNING, &m, err, sizeof err), 0);
    cr_assert_eq(m, 1u << NOTIFY_SLACK);
    cr_assert_eq(notify_route(&c, ALERT_INFO, &m, err, sizeof err), 0);
    cr_assert_eq(m, 0u);
    snprintf(c.notify_route_info, sizeof c.notify_route_info, " Slack , ,telegram");
    cr_assert_eq(notify_route(&c, ALERT_INFO, &m, err, sizeof err), 0);
    cr_assert_eq(m, 3u);
    snprintf(c.notify_route_warning, sizeof c.notify_route_warning, "slak");
    cr_assert_eq(notify_check_config(&c, err, sizeof err), -1);
    cr_assert(strstr(err, "notify.route_warning") && strstr(err, "slak"), "%s", err);
    config_defaults(&c);
    snprintf(c.notify_telegram_chat_id, sizeof c.notify_telegram_chat_id, "chat; drop");
    cr_assert_eq(notify_check_config(&c, err, sizeof err), -1);
    cr_assert(strstr(err, "telegram_chat_id"), "%s", err);
    config_defaults(&c);
    snprintf(c.notify_telegram_token, sizeof c.notify_telegram_token, "123:abc/../x");
    cr_assert_eq(notify_check_config(&c, err, sizeof err), -1);
    cr_assert_null(strstr(err, "abc/../x"), "the token is not echoed: %s", err);
    config_defaults(&c);
    cr_assert_eq(notify_check_config(&c, err, sizeof err), 0, "%s", err);
    cr_assert_not(notify_configured(&c, NOTIFY_TELEGRAM));
    cr_assert_not(notify_configured(&c, NOTIFY_SLACK));
}

Test(notify_proto, help_config_never_prints_the_secrets)
{
    config c;
    config_defaults(&c);
    snprintf(c.notify_telegram_token, sizeof c.notify_telegram_token, TOKEN);
    snprintf(c.notify_slack_webhook_url, sizeof c.notify_slack_webhook_url, HOOK);
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    config_print_reference(f);
    static char text[32768];
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    cr_assert(strstr(text, "[notify]") && strstr(text, "telegram_token_file"));
    cr_assert_null(strstr(text, "ABCdefGHIjkl"));
    cr_assert_null(strstr(text, "abcdefXYZ123"));
}

Test(notify_proto, fingerprint_changes_with_the_secret_and_hides_it)
{
    config c;
    config_defaults(&c);
    snprintf(c.notify_telegram_chat_id, sizeof c.notify_telegram_chat_id, "42");
    snprintf(c.notify_telegram_token, sizeof c.notify_telegram_token, TOKEN);
    char a[33], b[33];
    notify_config_fingerprint(&c, NOTIFY_TELEGRAM, a);
    cr_assert_eq(strlen(a), 32);
    cr_assert_null(strstr(a, "123456"));
    c.notify_telegram_token[7] = 'X';
    notify_config_fingerprint(&c, NOTIFY_TELEGRAM, b);
    cr_assert_str_neq(a, b);
}

Test(notify_proto, secrets_from_files_and_environment)
{
    char tok[] = "/tmp/notify-tok-XXXXXX", hook[] = "/tmp/notify-hook-XXXXXX";
    int a = mkstemp(tok), b = mkstemp(hook);
    cr_assert(a >= 0 && b >= 0);
    cr_assert(write(a, TOKEN "\n", strlen(TOKEN) + 1) > 0 &&
              write(b, HOOK "  \n", strlen(HOOK) + 3) > 0);
    close(a);
    close(b);
    config c;
    char err[256] = "";
    config_defaults(&c);
    snprintf(c.notify_telegram_token_file, sizeof c.notify_telegram_token_file, "%s", tok);
    snprintf(c.notify_slack_webhook_url_file, sizeof c.notify_slack_webhook_url_file, "%s", hook);
    cr_assert_eq(config_load_secrets(&c, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(c.notify_telegram_token, TOKEN);
    cr_assert_str_eq(c.notify_slack_webhook_url, HOOK);
    /* The environment wins over the file. */
    config_defaults(&c);
    snprintf(c.notify_telegram_token_file, sizeof c.notify_telegram_token_file, "%s", tok);
    setenv("TRADEOPS_TELEGRAM_TOKEN", "999:fromTheEnvironment", 1);
    setenv("TRADEOPS_SLACK_WEBHOOK_URL", "https://example.com/hook/env", 1);
    cr_assert_eq(config_load_env(&c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(config_load_secrets(&c, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(c.notify_telegram_token, "999:fromTheEnvironment");
    cr_assert_str_eq(c.notify_slack_webhook_url, "https://example.com/hook/env");
    setenv("TRADEOPS_TELEGRAM_TOKEN", "two\nlines", 1);
    cr_assert_eq(config_load_env(&c, err, sizeof err), -1);
    cr_assert_null(strstr(err, "two"), "the secret is not echoed: %s", err);
    unsetenv("TRADEOPS_TELEGRAM_TOKEN");
    unsetenv("TRADEOPS_SLACK_WEBHOOK_URL");
    /* A missing file is an error naming the key. */
    config_defaults(&c);
    snprintf(c.notify_slack_webhook_url_file, sizeof c.notify_slack_webhook_url_file,
             "/nonexistent/hook");
    cr_assert_eq(config_load_secrets(&c, err, sizeof err), -1);
    cr_assert(strstr(err, "notify.slack_webhook_url_file"), "%s", err);
    unlink(tok);
    unlink(hook);
}
