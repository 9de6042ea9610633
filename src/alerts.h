/*
 * alerts.h - raising and resolving alerts (table alerts, migration 003).
 *
 * An alert is one row while its condition lasts: raising a kind that is
 * already active for the account changes nothing but the title and details
 * (and last_seen_at), so a guard evaluated twice a second does not write a
 * row twice a second. A newly raised alert is queued for notification
 * (notify.h) in the same transaction, routed by severity.
 *
 * Kinds in use: guard.warning, guard.breach, guard.countdown, guard.closing,
 * guard.closed, guard.close_failed, guard.aborted, guard.blind,
 * broker.link_down, notify.destination_disabled, sync.sla_breach. docs/runbook.md says what to do for each.
 *
 * Threads: any, on the caller's own connection.
 */
#ifndef TRADEOPS_ALERTS_H
#define TRADEOPS_ALERTS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"

typedef struct alert_spec {
    const char *kind;          /* "guard.countdown" */
    enum alert_severity severity;
    const char *account;       /* NULL or "" when not about one account */
    const char *rule;          /* for notification dedupe ("max_loss"); NULL: the kind */
    const char *level;         /* for notification dedupe ("warning-2"); NULL: the severity */
    const char *title;         /* one line for people */
    const char *details_json;  /* an object, NULL for {} */
} alert_spec;

/* Raises (or refreshes) an alert. *id gets its id (may be NULL); *raised is
 * set when a new row was made (and queued for notification). cfg may be
 * NULL: nothing is queued. Runs in the caller's transaction (or alone). */
int alert_raise(PGconn *c, const config *cfg, const alert_spec *a, int64_t *id, bool *raised,
                char *err, size_t errlen);

/* Resolves every active alert of account whose kind is one of kinds (n of
 * them) with resolved_by = by. *n_resolved may be NULL. */
int alert_resolve(PGconn *c, const char *account, const char *const *kinds, size_t n,
                  const char *by, size_t *n_resolved, char *err, size_t errlen);

#endif
