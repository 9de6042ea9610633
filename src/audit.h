/*
 * audit.h - the append-only record of every action by every operator.
 *
 * Written before an action takes effect (and for refusals too), in the same
 * transaction as the change where there is one. The table's triggers reject
 * UPDATE, DELETE and TRUNCATE, so nothing here can rewrite history.
 *
 * Threads: any, on the caller's own connection.
 */
#ifndef TRADEOPS_AUDIT_H
#define TRADEOPS_AUDIT_H

#include <libpq-fe.h>
#include <stddef.h>

#include "auth.h"

/* outcome: "ok", "refused" or "failed". details_json may be NULL. */
int audit_write(PGconn *c, const operator_id *op, const char *action, const char *target,
                const char *reason, const char *outcome, const char *details_json, char *err,
                size_t errlen);

#endif
