/*
 * broker_close.h - closing every open position of an account at the broker
 * bridge, all requests in flight at once, each reply verified.
 *
 * The drawdown guard (guard.c) calls this when a countdown ends, and the
 * close-all-now command when an admin asks. Each close is a POST .../trade
 * {"actionType":"POSITION_CLOSE_ID","positionId":...}; success is the reply's
 * TRADE_RETCODE_DONE, never the HTTP status. Failures that may clear by
 * themselves (connection errors, timeouts, HTTP 5xx and 429, transient trade
 * retcodes) are retried a bounded number of times with a short backoff;
 * everything else fails at once with the broker's code and words, so the
 * caller can raise the positions that stay open as a critical alert.
 *
 * Closing by position id is safe to repeat: a second close of a position the
 * first one closed is answered "position closed", reported CLOSE_GONE. What
 * must not happen is libcurl silently resending a request on a reused
 * connection that turned out dead, so every close goes out on a fresh
 * connection that is not kept (as broker_close_position does).
 *
 * The token travels only in the auth-token header; every message leaving
 * this module is scrubbed of it and sanitised for a terminal or a log.
 *
 * Threads: a broker_closer, its CURLM and every CURL handle in it belong to
 * the thread that created it (the guard thread, or a command worker); it
 * takes no lock. Only *stop is read from elsewhere (an atomic).
 * broker_retcode_transient is pure and safe anywhere.
 */
#ifndef TRADEOPS_BROKER_CLOSE_H
#define TRADEOPS_BROKER_CLOSE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"

/* Most close requests in flight at once; the rest of a batch go out as
 * earlier ones finish (each one's own timeout still starts when it goes out). */
#define BROKER_CLOSE_MAX_IN_FLIGHT 256
/* Most attempts per position a caller may ask for. */
#define BROKER_CLOSE_MAX_ATTEMPTS 10
/* Backoff before retry k (k = 1, 2, ...): base x 2^(k-1), at most max. */
#define BROKER_CLOSE_BACKOFF_BASE_MS 250
#define BROKER_CLOSE_BACKOFF_MAX_MS 1000
/* Longest Retry-After a 429 may impose on a close; a broker asking for more
 * gets no retry (the position is reported FAILED, saying so). */
#define BROKER_CLOSE_RETRY_AFTER_MAX_MS 10000

enum close_outcome {
    CLOSE_DONE = 0, /* the broker answered TRADE_RETCODE_DONE */
    CLOSE_GONE,     /* the broker says the position no longer exists: closed */
    CLOSE_FAILED,   /* still open as far as we know; message says why */
};

typedef struct close_item {
    char position[40]; /* in: the ticket */
    enum close_outcome outcome;
    int attempts;         /* requests sent for it */
    long http_status;     /* of the last attempt, 0 when none came */
    int64_t numeric_code; /* of the last reply, 0 when none */
    char code[48];        /* stringCode of the last reply, "" when none */
    char message[200];    /* what happened, for the audit log: sanitised, token-free */
    char order_id[40];    /* the closing order, when DONE and the broker named it */
} close_item;

/* Owns a curl multi handle and its transfers; one thread (see above). */
typedef struct broker_closer broker_closer;

/* Uses cfg's base_url, token, timeout_ms and connect_timeout_ms (each close
 * request's bound); default_backoff_ms is not used: a 429 naming no wait is
 * retried on the normal close backoff. cfg's strings are copied. NULL with
 * err on bad configuration or out of memory. */
broker_closer *broker_closer_new(const broker_poller_config *cfg, char *err, size_t errlen);
void broker_closer_free(broker_closer *c);

/* Closes items[0..n) of account with every request in flight at once
 * (up to BROKER_CLOSE_MAX_IN_FLIGHT). Transient failures (connection
 * errors and timeouts, HTTP 5xx, 429 -- honouring Retry-After up to
 * BROKER_CLOSE_RETRY_AFTER_MAX_MS, for every position of the account --,
 * and the transient retcodes, see broker_retcode_transient) are retried,
 * each position at most max_attempts (1..BROKER_CLOSE_MAX_ATTEMPTS) times,
 * with a short backoff (250 ms, 500 ms, 1 s, 1 s, ...); other non-DONE
 * codes (REJECT 10006, INVALID 10013, MARKET_CLOSED 10018, NO_MONEY 10019,
 * TRADE_DISABLED 10017, ...) and HTTP 4xx other than 429 fail at once. A
 * reply saying the position no longer exists (TRADE_RETCODE_POSITION_CLOSED
 * 10036, which the simulator answers for an unknown ticket, or MetaApi's
 * ERR_TRADE_POSITION_NOT_FOUND 4753) is CLOSE_GONE. Bounded: returns within
 * about max_attempts x (timeout + backoff). Checks *stop (may be NULL)
 * before sending anything and between rounds; once set, nothing new goes
 * out, replies in flight are still read, and the positions left are FAILED
 * ("stopped ..."). Returns 0 when it ran (every item's outcome set), -1 with
 * err for setup failures (bad arguments, out of memory, curl). */
int broker_close_all(broker_closer *c, const char *account, close_item *items, size_t n,
                     int max_attempts, const atomic_bool *stop, char *err, size_t errlen);

/* Fresh list of the account's open position tickets (GET .../positions),
 * for before and after a close-all. *ids is malloc'ed (NULL when *n is 0);
 * the caller frees it. 0, or -1 with err (nothing allocated). */
int broker_closer_positions(broker_closer *c, const char *account, char (**ids)[40], size_t *n,
                            char *err, size_t errlen);

/* Retcode classes, exposed for tests. True for the codes worth retrying a
 * close on: REQUOTE 10004, PLACED 10008 and DONE_PARTIAL 10010 (the
 * position may still be open), ERROR 10011, TIMEOUT 10012, PRICE_CHANGED
 * 10020, PRICE_OFF 10021, TOO_MANY_REQUESTS 10024, LOCKED 10028, FROZEN
 * 10029, CONNECTION 10031, and MetaApi's own ERR_NOT_SYNCHRONIZED -5,
 * ERR_NO_QUOTES -6, ERR_TRADE_TIMED_OUT -7, DISCONNECTED_BEFORE_TRADE -10
 * and DISCONNECTED_DURING_TRADE -11. Either the number or the string
 * matching is enough (a bridge may fill only one well). */
bool broker_retcode_transient(int64_t numeric_code, const char *string_code);

#endif
