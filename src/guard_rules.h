/*
 * guard_rules.h - per-account guard rules in PostgreSQL (table guard_rules,
 * migration 003): read them (with the defaults for an account without a
 * row), write them (admin only, validated, audited, refusals too), and show
 * them as JSON.
 *
 * Threads: any, each on its own connection; no state of its own.
 */
#ifndef TRADEOPS_GUARD_RULES_H
#define TRADEOPS_GUARD_RULES_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "guard_eval.h"

struct cJSON;

/* A select-list over guard_rules aliased r, GUARD_RULES_NCOLS columns, that
 * guard_rules_from_row parses. Meant for a left join from accounts:
 *   select a.id, GUARD_RULES_COLUMNS from accounts a
 *     left join guard_rules r on r.account_id = a.id
 * The first column says whether the account has a row at all. */
#define GUARD_RULES_COLUMNS                                                                        \
    "r.account_id is not null, r.preset, r.max_loss_pct, r.max_loss_mode, r.initial_balance,"      \
    " r.lock_pct, r.daily_loss_pct,"                                                               \
    " extract(hour from r.reset_time)::int * 60 + extract(minute from r.reset_time)::int,"         \
    " r.reset_tz, array_to_string(r.warn_levels, ','), r.countdown_s, r.blind_after_s"
#define GUARD_RULES_NCOLS 12

/* Parses the GUARD_RULES_NCOLS columns starting at col0 of row. A missing
 * row (left join: the first column false or NULL) gives the defaults. 0
 * with *out filled, or -1 with what is wrong in err (a value the rules
 * cannot use; *out is then the defaults). */
int guard_rules_from_row(const PGresult *res, int row, int col0, guard_rules *out, char *err,
                         size_t errlen);
/* True when that row is the account's own (not the defaults). */
bool guard_rules_row_custom(const PGresult *res, int row, int col0);

/* The rules of one account; the defaults (and *custom false) when it has
 * no row. -1 with err when the account does not exist or on a database
 * error. */
int guard_rules_load(PGconn *c, const char *account, guard_rules *out, bool *custom, char *err,
                     size_t errlen);

enum guard_save_result {
    GUARD_SAVE_OK = 0,
    GUARD_SAVE_FAILED = -1,    /* database error: nothing changed */
    GUARD_SAVE_REFUSED = -2,   /* not an admin (audited as refused) */
    GUARD_SAVE_INVALID = -3,   /* the rules or the time zone are wrong (audited as failed) */
    GUARD_SAVE_NOT_FOUND = -4, /* no such account (audited as failed) */
};

/* Writes an account's rules ("account.set_guard"): re-reads the operator's
 * role (admin only), checks the rules and that PostgreSQL knows the time
 * zone, upserts the row, sets accounts.dd_limit_pct to max_loss_pct (the
 * Positions screen's limit), and writes the audit record (details: the new
 * and the previous rules), all in one transaction. A refusal or a rejected
 * value is audited and committed on its own; nothing else changes.
 * Returns a guard_save_result; err says why for anything but OK. */
int guard_rules_save(PGconn *c, const operator_id *op, const char *account, const guard_rules *r,
                     char *err, size_t errlen);

/* Adds the rules' fields to obj (a cJSON object): preset (null when
 * custom), maxLossPct, mode, initialBalance, lockPct, dailyLossPct (null
 * when unset), reset ("HH:MM"), resetTz, warn (array), countdownS (null:
 * alert only), autoClose, blindAfterS. 0, or -1 when out of memory. */
int guard_rules_to_json(const guard_rules *r, struct cJSON *obj);

#endif
