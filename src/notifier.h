/*
 * notifier.h - the thread that delivers queued notifications (notify.h) to
 * Telegram and Slack.
 *
 * A pass, for each destination this instance has configured (notify.h,
 * notify_configured) and not disabled:
 *   1. Rescue: rows left 'sending' longer than a request could last (a dead
 *      process's claim) go back to 'failed' (due now), or 'dead' when their
 *      attempts are spent. Such a message may reach the chat twice.
 *   2. Claim, in one transaction: the destination's row FOR UPDATE (so every
 *      instance shares its rate limit), and when next_send_at has passed one
 *      due message, most severe first, by one UPDATE ... WHERE id IN (SELECT
 *      ... FOR UPDATE SKIP LOCKED) setting 'sending'; next_send_at moves on
 *      by the chat's interval (1 s; 3 s for a Telegram group or channel).
 *   3. Send outside any transaction, and record what the reply means
 *      (notify_proto.h): sent; Telegram's HTML refused -> the same message
 *      as plain text at once; migrate_to_chat_id -> stored on the
 *      destination and sent there at once; 429 -> next_send_at moved past
 *      retry_after / Retry-After (the attempt is not counted); Telegram
 *      401/403/404 or Slack 4xx -> the destination is disabled with the reason
 *      and its queue skipped; 5xx, timeouts, connection errors -> retried
 *      after [notify] retry_base_ms * 2^(attempt-1) +-10% (at most
 *      retry_max_s) until max_attempts, then dead; other 4xx -> dead.
 * A disabled destination is enabled again by a notifier starting with a
 * different configuration for it (notify_config_fingerprint).
 *
 * Secrets: the bot token and the webhook URL go into the request and
 * nowhere else; every error text is masked (notify_redact) before it is
 * logged or stored.
 *
 * Threads: notifier_new/start/stop/free from one controlling thread (main,
 * the engine); notifier_last_stats from any thread. The PostgreSQL
 * connection (LISTEN NOTIFY_CHANNEL) and the curl handle belong to the
 * thread running passes: the notifier's own thread after notifier_start, or
 * the caller of notifier_run_once when the thread is not running, never
 * both. The thread sleeps in poll(2) on its connection's socket and an
 * eventfd (stop), at most one second; notifier_stop aborts an in-flight
 * request and returns once the thread has ended.
 */
#ifndef TRADEOPS_NOTIFIER_H
#define TRADEOPS_NOTIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct notifier notifier;

typedef struct notifier_stats {
    uint64_t passes;
    uint64_t requests; /* HTTP requests made */
    uint64_t sent;
    uint64_t retries; /* transient failures scheduled again */
    uint64_t dead;
    uint64_t rescued;
    uint64_t rate_limited;
    uint64_t disabled; /* destinations disabled */
    int64_t last_pass_ms;
    char last_error[256]; /* masked; "" when the last pass went well */
} notifier_stats;

/* Checks [notify] (notify_check_config) and sets up. NULL with err on bad
 * configuration or out of memory. A notifier with no destination
 * configured (or notify.enabled false) is valid and does nothing. */
notifier *notifier_new(const config *cfg, char *err, size_t errlen);

/* Starts the thread (none when there is nothing to deliver). */
int notifier_start(notifier *n, char *err, size_t errlen);
/* Stops the thread, bounded by [notify] timeout_ms; safe when not started. */
void notifier_stop(notifier *n);
void notifier_free(notifier *n);

/* One pass on the calling thread (only while the thread is not running).
 * Returns how many messages were attempted, or -1 with err when PostgreSQL
 * failed. */
int notifier_run_once(notifier *n, char *err, size_t errlen);

void notifier_last_stats(notifier *n, notifier_stats *out);

/* How many destinations this notifier delivers to (0: it does nothing). */
int notifier_destinations(const notifier *n);

#endif
