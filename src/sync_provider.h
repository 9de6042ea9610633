/*
 * sync_provider.h - sending closed trades to journals.
 *
 * Each provider turns jobs into requests, sends them, and fills one
 * sync_attempt per job: success with the journal's answer, or an error
 * class (sync.h), the HTTP status, a Retry-After and a message with every
 * secret masked. Providers never touch the queue: the worker records the
 * attempts (sync_queue.h).
 *
 *   Tradervue  POST {tradervue_url}/imports, HTTP Basic auth from the
 *              secret "user:password", a User-Agent, allow_duplicates
 *              "false", account_tag from the target's settings, two
 *              executions per trade (open and close; quantity in units =
 *              lots x the symbol's multiplier, negative for a sell). One
 *              import per user at a time: a 424 is "busy". After a 200 it
 *              polls GET {tradervue_url}/imports until status is
 *              "succeeded" or "failed" and keeps that reply (Tradervue
 *              clears it once read) as each job's result.
 *   webhook    POST of the trade as JSON to the target's url, with
 *              Idempotency-Key "tradeops-{trade_id}-{provider}",
 *              X-Tradeops-Timestamp (unix seconds) and X-Tradeops-Signature
 *              "sha256=" hex HMAC-SHA256(secret, timestamp "." body).
 *   csv        appends the trade to the target's file in one write under
 *              an exclusive lock, after checking it is not already there
 *              (a rescued job may run twice); format "tradervue" (Tradervue's
 *              generic import: Date,Time,Symbol,Quantity,Price,Side,Commission,
 *              two rows per trade) or "roundtrip" (one row per trade).
 *
 * Replies are capped (SYNC_MAX_REPLY bytes; more is a payload error) and
 * never shown raw: messages quote at most a sanitised excerpt.
 *
 * Threads: a sync_http belongs to one worker thread.
 */
#ifndef TRADEOPS_SYNC_PROVIDER_H
#define TRADEOPS_SYNC_PROVIDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "secret.h"
#include "sync.h"
#include "sync_queue.h"

#define SYNC_MAX_REPLY (256 * 1024)

/* A worker's HTTP state (a reusable curl handle) and settings. */
typedef struct sync_http sync_http;

sync_http *sync_http_new(const config *cfg);    /* NULL when out of memory */
void sync_http_free(sync_http *h);
/* A flag the worker sets to stop: a transfer in flight is cut and the wait
 * for a Tradervue import ends (its jobs get a TIMEOUT attempt). NULL: none. */
void sync_http_set_stop(sync_http *h, const atomic_bool *stop);

/* Sends n jobs (1..SYNC_TRADERVUE_BATCH), all of one account, as one
 * import with the credentials secret ("user:password"); fills att[0..n).
 * Returns after the import finished or failed, or the poll gave up
 * ([sync] import_timeout_ms: then every job gets a TIMEOUT attempt: the
 * duplicate check makes the retry safe). */
#define SYNC_TRADERVUE_BATCH 100
void sync_tradervue_send(sync_http *h, const sync_job *jobs, int n, const char *secret,
                         sync_attempt *att);

/* Sends one job to the webhook target, signed with secret. */
void sync_webhook_send(sync_http *h, const sync_job *job, const char *secret, sync_attempt *att);

/* Appends one job to its CSV target. */
void sync_csv_send(const sync_job *job, sync_attempt *att);

/* The CSV lines for a job in format ("tradervue" or "roundtrip"), quoted
 * per RFC 4180 (fields with a comma, quote, CR or LF are quoted, quotes
 * doubled; a leading = + - @ is prefixed with ' so spreadsheets do not run
 * it). Returns a malloc'd string or NULL with err (unknown format, a field
 * that cannot be held: e.g. a NUL or invalid UTF-8). */
char *sync_csv_lines(const sync_job *job, const char *format, char *err, size_t errlen);
/* The header line of format. */
const char *sync_csv_header(const char *format);

/* The webhook body for a job (malloc'd JSON) and its signature
 * ("sha256=" + 64 hex) over "timestamp.body". */
char *sync_webhook_body(const sync_job *job);
void sync_webhook_sign(const char *secret, const char *timestamp, const char *body,
                       char out[72]);

/* The Tradervue import body for n jobs (malloc'd JSON), or NULL with err
 * (bad settings, a multiplier that is not a positive number). */
char *sync_tradervue_body(const sync_job *jobs, int n, char *err, size_t errlen);

#endif
