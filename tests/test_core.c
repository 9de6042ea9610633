/*
 * test_core.c - unit tests: sanitiser, latency percentiles, model
 * publication, configuration parsing.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "latency.h"
#include "model.h"
#include "sanitize.h"

/* ---- sanitiser ---- */

struct san_case {
    const char *in;
    const char *want_utf8;
    const char *want_ascii;
};

Test(core_sanitize, table)
{
    static const struct san_case cases[] = {
        {"EURUSD", "EURUSD", "EURUSD"},
        {"\x1b[2Jwipe", "?[2Jwipe", "?[2Jwipe"},
        {"\x1b]0;pwned\x07title", "?]0;pwned?title", "?]0;pwned?title"},
        {"tab\there\r\n", "tab?here??", "tab?here??"},
        {"del\x7f", "del?", "del?"},
        {"c1 csi \xc2\x9b" "31m", "c1 csi ?31m", "c1 csi ?31m"},
        {"raw c1 \x9b" "31m", "raw c1 ?31m", "raw c1 ?31m"},
        {"caf\xc3\xa9", "caf\xc3\xa9", "caf?"},
        {"overlong \xc0\xaf", "overlong ??", "overlong ??"},
        {"surrogate \xed\xa0\x80", "surrogate ???", "surrogate ???"},
        {"bidi \xe2\x80\xae" "evil", "bidi ?evil", "bidi ?evil"},
        {"truncated \xe2\x82", "truncated ??", "truncated ??"},
        {"", "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[128];
        sanitize_text(cases[i].in, out, sizeof out, true);
        cr_expect_str_eq(out, cases[i].want_utf8, "case %zu (utf8)", i);
        sanitize_text(cases[i].in, out, sizeof out, false);
        cr_expect_str_eq(out, cases[i].want_ascii, "case %zu (ascii)", i);
        cr_expect(sanitize_is_clean(cases[i].want_utf8) || strchr(cases[i].want_utf8, '?'));
    }
}

Test(core_sanitize, never_splits_utf8_and_never_passes_esc)
{
    char out[6];
    /* "ab€€": the second euro sign does not fit in 5 bytes + NUL. */
    size_t n = sanitize_text("ab\xe2\x82\xac\xe2\x82\xac", out, sizeof out, true);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(out, "ab\xe2\x82\xac");
    /* Every byte value, alone: none may produce ESC or a C1 byte. */
    for (int b = 1; b < 256; b++) {
        char in[2] = {(char)b, 0}, o[8];
        sanitize_text(in, o, sizeof o, true);
        for (char *p = o; *p; p++) {
            unsigned char c = (unsigned char)*p;
            cr_assert(c >= 0x20 && c != 0x7f && !(c >= 0x80 && c <= 0x9f), "byte %d leaked", b);
        }
    }
    cr_assert_not(sanitize_is_clean("a\x1b"));
    cr_assert(sanitize_is_clean("caf\xc3\xa9"));
}

/* ---- latency ---- */

Test(core_latency, nearest_rank_percentiles)
{
    latency_window *w = malloc(sizeof *w);
    cr_assert_not_null(w);
    latency_init(w);
    latency_summary empty = latency_summarize(w);
    cr_expect(isnan(empty.p50));
    for (int i = 1; i <= 100; i++)
        latency_add(w, (double)(101 - i)); /* 100..1, out of order */
    latency_add(w, NAN);                   /* ignored */
    latency_add(w, -1);                    /* ignored */
    latency_summary s = latency_summarize(w);
    cr_expect_eq(s.count, 100);
    cr_expect_float_eq(s.p50, 50.0, 1e-12);
    cr_expect_float_eq(s.p95, 95.0, 1e-12);
    cr_expect_float_eq(s.p99, 99.0, 1e-12);
    /* The window forgets the oldest samples. */
    for (int i = 0; i < LATENCY_WINDOW; i++)
        latency_add(w, 7.0);
    s = latency_summarize(w);
    cr_expect_float_eq(s.p99, 7.0, 1e-12);
    free(w);
}

/* ---- model ---- */

Test(core_model, publish_wakes_and_generation_counts)
{
    model *m = model_new();
    cr_assert_not_null(m);
    cr_expect_null(model_acquire(m));
    struct pollfd pfd = {model_wake_fd(m), POLLIN, 0};
    cr_expect_eq(poll(&pfd, 1, 0), 0, "no wake-up before a publish");

    model_snapshot *a = model_snapshot_new(1);
    snprintf(a->accounts[0].id, sizeof a->accounts[0].id, "acc-1");
    model_publish(m, a);
    cr_expect_eq(poll(&pfd, 1, 0), 1, "readable after a publish");
    model_drain_wake(m);
    cr_expect_eq(poll(&pfd, 1, 0), 0, "drained");

    model_snapshot *held = model_acquire(m);
    cr_assert_eq(held, a);
    cr_expect_eq(held->generation, 1);
    model_publish(m, model_snapshot_new(0));
    /* The reader still holds generation 1 intact. */
    cr_expect_str_eq(held->accounts[0].id, "acc-1");
    cr_expect_eq(model_generation(m), 2);
    model_release(held);
    model_snapshot *b = model_acquire(m);
    cr_expect_eq(b->generation, 2);
    model_release(b);
    model_free(m);
}

/* Another thread's set (here the system metrics) is published with a copy
 * of the poller's accounts and links: nothing of the poller's is lost. */
Test(core_model, a_set_carries_the_pollers_figures_along)
{
    model *m = model_new();
    cr_assert_not_null(m);
    model_snapshot *a = model_snapshot_new(2);
    snprintf(a->accounts[1].id, sizeof a->accounts[1].id, "acc-2");
    a->accounts[1].info.equity = 1234.5;
    a->redis = LINK_DOWN;
    snprintf(a->redis_error, sizeof a->redis_error, "gone");
    a->poll_latency = (latency_summary){1, 2, 3, 4};
    a->poll_cycles = 9;
    a->n_polled = 2;
    model_publish(m, a);
    cr_assert_eq(model_publish_sys(m, sys_set_new()), 0);
    model_snapshot *b = model_acquire(m);
    cr_assert_neq(b, a);
    cr_assert_not_null(b->sys);
    cr_expect_str_eq(b->accounts[1].id, "acc-2");
    cr_expect_float_eq(b->accounts[1].info.equity, 1234.5, 1e-12);
    cr_expect_eq(b->redis, LINK_DOWN);
    cr_expect_str_eq(b->redis_error, "gone");
    cr_expect_eq(b->poll_latency.count, 4);
    cr_expect_eq(b->poll_cycles, 9);
    cr_expect_eq(b->n_polled, 2, "accounts polled here");
    model_release(b);
    model_free(m);
}

Test(core_model, drawdown_age_and_staleness)
{
    model_snapshot *s = model_snapshot_new(1);
    s->stale_after_ms = 10000;
    account_view *a = &s->accounts[0];
    cr_expect(isnan(account_drawdown_pct(a)));
    a->has_info = true;
    a->info.balance = 1000;
    a->info.equity = 850;
    a->peak_equity = 1000;
    cr_expect_float_eq(account_drawdown_pct(a), 15.0, 1e-9);
    cr_expect_float_eq(account_floating_pnl(a), -150.0, 1e-9);
    a->info.equity = 1200; /* above an old peak: no negative drawdown */
    cr_expect_float_eq(account_drawdown_pct(a), 0.0, 1e-9);
    cr_expect_eq(account_age_ms(a, 5000), INT64_MAX);
    cr_expect(account_is_stale(s, a, 5000));
    a->updated_ms = 1000;
    cr_expect_eq(account_age_ms(a, 4000), 3000);
    cr_expect_not(account_is_stale(s, a, 4000));
    cr_expect(account_is_stale(s, a, 11001));
    cr_expect_eq(model_oldest_age_ms(s, 4000), 3000);
    model_snapshot_free(s);
}

/* ---- configuration ---- */

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/tradeops-cfg-XXXXXX"); /* mkstemp's template */
    cr_assert_not_null(path);
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(core_config, file_env_and_errors_name_file_and_line)
{
    config c;
    char err[512];
    char *good = write_tmp("; comment\n[database]\nurl = host=/tmp dbname=x\n\n[broker]\n"
                           "poll_interval_ms = 250\n[console]\nenvironment = live\n");
    config_defaults(&c);
    cr_assert_eq(config_load_file(&c, good, true, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(c.pg_url, "host=/tmp dbname=x");
    cr_expect_eq(c.poll_interval_ms, 250);
    cr_expect_str_eq(c.environment, "LIVE");
    cr_expect_eq(c.cache_ttl_s, 5, "defaults stay");

    setenv("TRADEOPS_PG", "dbname=fromenv", 1);
    setenv("TRADEOPS_BROKER_TIMEOUT_MS", "1234", 1);
    cr_assert_eq(config_load_env(&c, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(c.pg_url, "dbname=fromenv");
    cr_expect_eq(c.broker_timeout_ms, 1234);
    setenv("TRADEOPS_BROKER_TIMEOUT_MS", "soon", 1);
    cr_expect_eq(config_load_env(&c, err, sizeof err), -1);
    cr_expect(strstr(err, "TRADEOPS_BROKER_TIMEOUT_MS") && strstr(err, "whole number"), "%s", err);
    unsetenv("TRADEOPS_PG");
    unsetenv("TRADEOPS_BROKER_TIMEOUT_MS");

    char *unknown = write_tmp("[broker]\nurl = http://x\npoll_intervall_ms = 5\n");
    config_defaults(&c);
    cr_expect_eq(config_load_file(&c, unknown, true, err, sizeof err), -1);
    cr_expect(strstr(err, unknown) && strstr(err, ":3:") && strstr(err, "poll_intervall_ms") &&
                  strstr(err, "poll_interval_ms"),
              "%s", err);

    char *badval = write_tmp("[redis]\ncache_ttl_s = 0\n");
    cr_expect_eq(config_load_file(&c, badval, true, err, sizeof err), -1);
    cr_expect(strstr(err, ":2:") && strstr(err, "from 1 to 3600"), "%s", err);

    char *badsec = write_tmp("[brokr]\nurl = x\n");
    cr_expect_eq(config_load_file(&c, badsec, true, err, sizeof err), -1);
    cr_expect(strstr(err, "unknown section [brokr]"), "%s", err);

    char *garbage = write_tmp("[console]\nthis is not ini\n");
    cr_expect_eq(config_load_file(&c, garbage, true, err, sizeof err), -1);
    cr_expect(strstr(err, ":2:"), "%s", err);

    char *badenum = write_tmp("[console]\ncolor = purple\n");
    cr_expect_eq(config_load_file(&c, badenum, true, err, sizeof err), -1);
    cr_expect(strstr(err, "auto|never|always"), "%s", err);

    cr_expect_eq(config_load_file(&c, "/nonexistent/x.ini", true, err, sizeof err), -1);
    cr_expect_eq(config_load_file(&c, "/nonexistent/x.ini", false, err, sizeof err), 0,
                 "the default path may be absent");
    char *files[] = {good, unknown, badval, badsec, garbage, badenum};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        unlink(files[i]);
        free(files[i]);
    }
}

Test(core_config, redis_key_prefix_is_a_plain_name)
{
    config c;
    char err[256];
    config_defaults(&c);
    cr_expect_str_eq(c.redis_prefix, "tradeops:");
    cr_expect_eq(config_set(&c, "redis", "key_prefix", "desk-2.prod:", err, sizeof err), 0, "%s",
                 err);
    cr_expect_str_eq(c.redis_prefix, "desk-2.prod:");
    /* A glob character would widen the invalidation's SCAN MATCH. */
    const char *bad[] = {"", "trade*", "a b", "x?", "[x]", "tr\x1b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(config_set(&c, "redis", "key_prefix", bad[i], err, sizeof err), -1, "%s",
                     bad[i]);
        cr_expect(strstr(err, "redis.key_prefix"), "%s", err);
    }
    cr_expect_str_eq(c.redis_prefix, "desk-2.prod:", "a refused value changes nothing");
    char longer[80];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    cr_expect_eq(config_set(&c, "redis", "key_prefix", longer, err, sizeof err), -1);
    cr_expect(strstr(err, "1 to 63"), "%s", err);
}

Test(core_config, token_file_first_line_trimmed)
{
    config c;
    char err[256];
    char *tok = write_tmp("s3cret-token  \nsecond line\n");
    config_defaults(&c);
    snprintf(c.broker_token_file, sizeof c.broker_token_file, "%s", tok);
    cr_assert_eq(config_load_secrets(&c, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(c.broker_token, "s3cret-token");
    char *empty = write_tmp("");
    config_defaults(&c);
    snprintf(c.broker_token_file, sizeof c.broker_token_file, "%s", empty);
    cr_expect_eq(config_load_secrets(&c, err, sizeof err), -1);
    cr_expect(strstr(err, "empty"), "%s", err);
    unlink(tok);
    unlink(empty);
    free(tok);
    free(empty);
}

Test(core_config, example_file_documents_every_key_and_parses)
{
    config c;
    char err[512];
    config_defaults(&c);
    cr_assert_eq(config_load_file(&c, "data/tradeops.example.ini", true, err, sizeof err), 0,
                 "%s", err);
    /* Every key the binary knows appears in the example as "key =". */
    FILE *ref = tmpfile();
    cr_assert_not_null(ref);
    config_print_reference(ref);
    rewind(ref);
    FILE *ex = fopen("data/tradeops.example.ini", "r");
    cr_assert_not_null(ex);
    static char example[16384];
    size_t n = fread(example, 1, sizeof example - 1, ex);
    example[n] = '\0';
    fclose(ex);
    char line[512];
    int keys = 0;
    while (fgets(line, sizeof line, ref)) {
        char key[64], want[80];
        if (line[0] == ' ' && sscanf(line, " %63s", key) == 1 && line[2] != ' ') {
            snprintf(want, sizeof want, "\n%s =", key);
            cr_expect(strstr(example, want), "key %s is not in the example file", key);
            keys++;
        }
    }
    fclose(ref);
    cr_expect_gt(keys, 10);
}
