/*
 * fuzz_broker.c - libFuzzer harness for the broker reply parsers.
 *
 * Each input goes to every parser, exactly as a reply body arrives (not
 * NUL-terminated), and as a NUL-terminated string to the time and
 * Retry-After parsers. Whatever a parser says, it must not crash, leak or
 * read outside the buffer, and a success must leave well-formed output.
 *
 * Build and run (from the repository root; a seed corpus helps but is not
 * required):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Isrc tests/fuzz/fuzz_broker.c src/broker.c src/broker_json.c \
 *     $(pkg-config --cflags --libs libcjson) -lm -o build/fuzz_broker
 *   mkdir -p build/fuzz-corpus && build/fuzz_broker -max_total_time=60 \
 *     -max_len=65536 build/fuzz-corpus
 *
 * Not part of `make test`: it lives outside the tests/test_*.c glob.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

#define FUZZ_ERRLEN 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parser that succeeds must hand back NUL-terminated strings. */
static void check_str(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL)
        abort();
}

static void check_err(const char *err)
{
    if (memchr(err, '\0', FUZZ_ERRLEN) == NULL || err[0] == '\0')
        abort(); /* a failure always says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    char err[FUZZ_ERRLEN];

    account_info info;
    err[0] = '\0';
    if (broker_parse_account_info(body, size, &info, err, sizeof err) == 0) {
        check_str(info.broker, sizeof info.broker);
        check_str(info.currency, sizeof info.currency);
        check_str(info.name, sizeof info.name);
        if (!isfinite(info.balance) || !isfinite(info.equity) || info.leverage < 1)
            abort();
    } else {
        check_err(err);
    }

    position *pos = NULL;
    size_t n = 0;
    err[0] = '\0';
    if (broker_parse_positions(body, size, &pos, &n, err, sizeof err) == 0) {
        if (n > BROKER_MAX_POSITIONS || (n == 0) != (pos == NULL))
            abort();
        for (size_t i = 0; i < n; i++) {
            check_str(pos[i].id, sizeof pos[i].id);
            check_str(pos[i].comment, sizeof pos[i].comment);
            if (!(pos[i].volume > 0) || !isfinite(pos[i].profit) || pos[i].stop_loss == 0)
                abort();
        }
        free(pos);
    } else {
        check_err(err);
    }

    deal *deals = NULL;
    err[0] = '\0';
    if (broker_parse_deals(body, size, &deals, &n, err, sizeof err) == 0) {
        for (size_t i = 0; i < n; i++)
            check_str(deals[i].comment, sizeof deals[i].comment);
        free(deals);
    } else {
        check_err(err);
    }

    trade_result tr;
    err[0] = '\0';
    if (broker_parse_trade_result(body, size, &tr, err, sizeof err) == 0) {
        check_str(tr.message, sizeof tr.message);
        (void)broker_trade_done(&tr);
    } else {
        check_err(err);
    }

    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms;
    (void)broker_parse_time(s, &ms);
    int64_t wait = broker_parse_retry_after(s, 1795251662000LL);
    if (wait < -1 || wait > 3600 * 1000)
        abort();
    free(s);
    return 0;
}
