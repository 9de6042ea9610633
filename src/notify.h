/*
 * notify.h - queueing alerts for Telegram and Slack, and routing them by
 * severity from configuration ([notify] in config.h).
 *
 * A message is queued in PostgreSQL (table notifications, migration
 * 004_notify.sql) once per destination its severity is routed to, in the
 * caller's transaction, with a pg_notify on NOTIFY_CHANNEL that wakes the
 * notifier threads (notifier.h) when the transaction commits. A message is
 * deduplicated by (destination, account, rule, level, UTC day): the same
 * warning level of the same rule for the same account goes out once a day.
 *
 * The notifier's side of the queue (claiming, recording outcomes) is here
 * too, so that every statement on notifications and notify_destinations
 * lives in one file.
 *
 * Threads: notify_enqueue and notify_queue_* run on the caller's thread and
 * connection; the only shared state is a once-per-process flag per
 * destination for the "not configured" log line (atomic). The other
 * functions are pure.
 */
#ifndef TRADEOPS_NOTIFY_H
#define TRADEOPS_NOTIFY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"
#include "notify_proto.h"

/* LISTEN/NOTIFY channel; the payload is the destination's name. */
#define NOTIFY_CHANNEL "tradeops_notify"

typedef struct notify_msg {
    enum alert_severity severity; /* model.h */
    const char *account;          /* NULL or "" when not about one account */
    const char *rule;             /* dedupe key part: the alert kind, e.g. "guard.breach" */
    const char *level;            /* dedupe key part: e.g. "critical", "warning-2" */
    const char *title;            /* one line of plain text (untrusted: escape for HTML) */
    const char *body;             /* more plain text lines, may be NULL */
    int64_t alert_id;             /* 0 when none */
} notify_msg;

/* Queues msg for every destination its severity is routed to (configuration),
 * deduplicated by (destination, account, rule, level, UTC day): a duplicate is
 * skipped silently. Runs in the caller's transaction. Returns how many were
 * queued (0: routed nowhere or duplicates), -1 with err.
 *
 * Title, body and account are cleaned (controls and invalid UTF-8 become
 * '?') and cut to NOTIFY_TITLE_MAX / NOTIFY_BODY_MAX bytes; rule must match
 * [a-z][a-z0-9_.-]{0,63} and level be 1-64 printable bytes, else -1 before
 * any SQL. A disabled destination gets nothing. The work runs under a
 * savepoint (its own transaction when the caller has none), so a failure
 * here leaves the caller's transaction usable: the caller may log err and
 * commit its alert anyway. */
int notify_enqueue(PGconn *c, const config *cfg, const notify_msg *msg, char *err, size_t errlen);

/* True when destination k has what it needs: for Telegram the bot token and
 * the chat id, for Slack the webhook URL. (notify.enabled is not looked at.) */
bool notify_configured(const config *cfg, enum notify_kind k);

/* The destinations severity sev is routed to, as a bit mask (1u << kind),
 * configured or not. -1 with err naming the key when the route names an
 * unknown destination. */
int notify_route(const config *cfg, enum alert_severity sev, unsigned *mask, char *err,
                 size_t errlen);

/* Checks [notify]: routes, URLs (http/https, one line), the chat id, and
 * that secrets are one line. 0 or -1 with a message naming the key. */
int notify_check_config(const config *cfg, char *err, size_t errlen);

/* A fingerprint of destination k's configuration (hex, 32 chars + NUL): a
 * truncated SHA-256 of the URL, chat and secret, never the secret itself.
 * A destination disabled under one fingerprint is enabled again by a
 * notifier that starts with another. */
void notify_config_fingerprint(const config *cfg, enum notify_kind k, char out[33]);

/* ---- the queue's other end, for the notifier (notifier.h) ----
 * Each runs on the notifier's own connection, outside any transaction. */

typedef struct notify_claim {
    enum notify_kind kind;
    char id[24]; /* notifications.id */
    enum alert_severity severity;
    char account[72];
    const char *title, *body; /* owned by res */
    int64_t alert_id;
    int attempts;                  /* this one included */
    char chat[NOTIFY_CHAT_ID_LEN]; /* Telegram: where to send (a migrated chat if stored) */
    PGresult *res;
} notify_claim;

/* Why a claim found nothing. */
typedef struct notify_dest_state {
    bool disabled;
    char reason[NOTIFY_REASON_LEN]; /* disabled_reason */
    int64_t wait_ms;                /* > 0: the rate limit holds until then */
} notify_dest_state;

/* Claims one due message of destination k for instance (notifier.h, step
 * 2): 1 with *c (release with notify_claim_done), 0 with *st saying why
 * there is none, -1 with err. cfg_chat is the configured Telegram chat. */
int notify_queue_claim(PGconn *pg, enum notify_kind k, const char *instance, const char *cfg_chat,
                       notify_claim *c, notify_dest_state *st, char *err, size_t errlen);
void notify_claim_done(notify_claim *c);

enum notify_outcome {
    NOTIFY_OUT_SENT,
    NOTIFY_OUT_RETRY, /* a counted attempt: again after wait_ms, or dead when spent */
    NOTIFY_OUT_AGAIN, /* not counted (429, shutdown): again after wait_ms */
    NOTIFY_OUT_DEAD,
};

/* Records what became of claim c (only while it is still ours); *dead tells
 * whether it was given up. reason is stored as is: mask it first. */
int notify_queue_finish(PGconn *pg, const notify_claim *c, const char *instance,
                        enum notify_outcome o, int64_t wait_ms, long status, const char *reason,
                        int max_attempts, bool *dead, char *err, size_t errlen);
/* Nothing goes to destination k for wait_ms (a 429). */
int notify_queue_rate_limit(PGconn *pg, enum notify_kind k, int64_t wait_ms, char *err,
                            size_t errlen);
/* Disables c's destination (fingerprint: notify_config_fingerprint), marks c
 * dead and the destination's queue skipped (*skipped of them), at once. */
int notify_queue_disable(PGconn *pg, const notify_claim *c, const char *reason,
                         const char *fingerprint, long status, long *skipped, char *err,
                         size_t errlen);
/* Telegram moved configured chat from_chat to new_chat. */
int notify_queue_migrate(PGconn *pg, const char *new_chat, const char *from_chat, char *err,
                         size_t errlen);
/* Rows left 'sending' for over older_than_ms go back to 'failed' (or dead
 * past max_attempts); *rescued of them. */
int notify_queue_rescue(PGconn *pg, int max_attempts, int64_t older_than_ms, int *rescued,
                        char *err, size_t errlen);
/* Enables destination k again when it was disabled under another
 * fingerprint; *reenabled says whether it was. */
int notify_queue_reenable(PGconn *pg, enum notify_kind k, const char *fingerprint, bool *reenabled,
                          char *err, size_t errlen);

#endif
