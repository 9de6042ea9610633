/*
 * broker.h - the MetaApi-shaped broker bridge: reply parsers and the poller.
 *
 * Parsers validate a reply field by field (cJSON). A reply that is not what
 * the protocol promises is an error with a message naming the field and the
 * problem; the output is only written when the whole reply is good, so a bad
 * reply never half-applies.
 *
 * Threads: parsers are pure and safe anywhere. A broker_poller (and its
 * CURLM/CURL handles) belongs to the thread that created it.
 */
#ifndef TRADEOPS_BROKER_H
#define TRADEOPS_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Largest reply body accepted; anything bigger is an error, not a crash. */
#define BROKER_MAX_BODY (4u * 1024u * 1024u)
/* Most positions accepted in one reply. */
#define BROKER_MAX_POSITIONS 10000

int broker_parse_account_info(const char *body, size_t len, account_info *out,
                              char *err, size_t errlen);
/* *out is malloc'ed (NULL when n is 0); caller frees. */
int broker_parse_positions(const char *body, size_t len, position **out, size_t *n,
                           char *err, size_t errlen);

enum deal_entry { DEAL_ENTRY_IN = 0, DEAL_ENTRY_OUT, DEAL_ENTRY_INOUT, DEAL_ENTRY_OUT_BY,
                  DEAL_ENTRY_NONE /* balance operations carry no entryType */ };
typedef struct deal {
    char id[40];
    char type[40];          /* DEAL_TYPE_BUY, DEAL_TYPE_SELL, DEAL_TYPE_BALANCE, ... */
    enum deal_entry entry;
    char symbol[32];
    int64_t magic;
    int64_t time_ms;
    double volume, price, commission, swap, profit;
    char position_id[40];
    char order_id[40];
    char comment[64];
} deal;
int broker_parse_deals(const char *body, size_t len, deal **out, size_t *n,
                       char *err, size_t errlen);

typedef struct trade_result {
    int64_t numeric_code;
    char string_code[48];
    char message[160];
    char order_id[40];
} trade_result;
int broker_parse_trade_result(const char *body, size_t len, trade_result *out,
                              char *err, size_t errlen);
/* True only for TRADE_RETCODE_DONE. */
int broker_trade_done(const trade_result *r);

/* Parses a reply's ISO-8601 time ("2026-11-21T09:01:02.345Z", without the
 * fraction, or with a +hh:mm/-hh:mm offset) into UTC epoch ms. 0 or -1. */
int broker_parse_time(const char *s, int64_t *out_ms);

/* Longest wait a Retry-After may impose; a broker asking for more is wrong. */
#define BROKER_RETRY_AFTER_MAX_MS (3600 * 1000)

/* Parses a Retry-After header value (delta-seconds or IMF-fixdate HTTP-date)
 * relative to now_ms; returns milliseconds to wait (>= 0, a date in the past
 * is 0, at most BROKER_RETRY_AFTER_MAX_MS) or -1 when unparseable. */
int64_t broker_parse_retry_after(const char *value, int64_t now_ms);

/* ---- poller: one cycle fetches every account's information and positions
 * with all requests in flight at once (libcurl multi). ---- */

typedef struct broker_poller broker_poller;

typedef struct broker_poller_config {
    const char *base_url;       /* e.g. http://127.0.0.1:7301 */
    const char *token;          /* auth-token header value */
    long timeout_ms;            /* per request, connect included */
    long connect_timeout_ms;
    int64_t default_backoff_ms; /* after a 429 without Retry-After */
} broker_poller_config;

typedef struct poll_outcome {
    int ok;                     /* 1: info and positions both good */
    int skipped;                /* 1: not fetched (rate-limit wait pending) */
    account_info info;
    position *positions;        /* malloc'ed, caller frees; NULL if none */
    size_t n_positions;
    long http_status;           /* last non-2xx status seen, 0 if none */
    double latency_ms;          /* slowest of the account's requests */
    int64_t retry_at_ms;        /* when skipped or 429: not before this */
    char error[200];            /* what went wrong, "" when ok */
} poll_outcome;

broker_poller *broker_poller_new(const broker_poller_config *cfg, char *err, size_t errlen);
void broker_poller_free(broker_poller *p);

/* Fetches every id at once; out[i] matches ids[i]. Returns 0, or -1 with err
 * only for failures of the whole cycle (out of memory, curl setup). */
int broker_poller_cycle(broker_poller *p, const char *const *ids, size_t n,
                        poll_outcome *out, char *err, size_t errlen);
void poll_outcome_clear(poll_outcome *o);

/* Closes one position: POST .../trade POSITION_CLOSE_ID. Blocking, bounded
 * by the configured timeout. Returns 0 when a reply was parsed into *res. */
int broker_close_position(broker_poller *p, const char *account_id,
                          const char *position_id, trade_result *res,
                          long *http_status, char *err, size_t errlen);

#endif
