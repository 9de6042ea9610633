/*
 * command.c - see command.h.
 *
 * Every command runs the same steps in one transaction: look the operator
 * up again (a role changed by an admin counts from the next command, not
 * the next login), lock and read the target, check the role and the
 * account scope, write the audit record, and only then act. A refusal or a
 * bad argument is audited too, and that audit record is committed.
 *
 * Threads: command_execute uses only the connection it is given.
 */
#include "command.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "command_int.h"
#include "pg.h"
#include "sanitize.h"

typedef struct command_spec {
    const char *name;
    enum role min_role;
    bool needs_note;
    const char *done; /* what the result message says first: "resolved" */
    /* Reads and locks the target: 1 found, 0 not found, -1 database error. */
    int (*lookup)(PGconn *c, const command *cmd, target *t, char *err, size_t errlen);
    /* Acts; 0 or -1 with err. Runs after the audit record is written. */
    int (*act)(PGconn *c, const operator_id *op, const command *cmd, const target *t, char *err,
               size_t errlen);
    /* NULL, or runs after the commit and may decide the result (command_int.h). */
    bool (*post)(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                 command_result *res);
} command_spec;

static int recon_lookup(PGconn *c, const command *cmd, target *t, char *err, size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, cmd->target_id);
    const char *p[1] = {id};
    PGresult *r = pg_exec_params(c,
                                 "select account_id, position_id, kind, resolved_at is not null,"
                                 " coalesce(resolved_by, ''), coalesce(resolution, '')"
                                 " from recon_log where id = $1 for update",
                                 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    snprintf(t->account, sizeof t->account, "%s", PQgetvalue(r, 0, 0));
    snprintf(t->label, sizeof t->label, "recon #%s %.63s %.39s %s", id, PQgetvalue(r, 0, 0),
             PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "account", PQgetvalue(r, 0, 0));
    cJSON_AddStringToObject(d, "position", PQgetvalue(r, 0, 1));
    cJSON_AddStringToObject(d, "kind", PQgetvalue(r, 0, 2));
    char *js = d ? cJSON_PrintUnformatted(d) : NULL;
    snprintf(t->details, sizeof t->details, "%s", js ? js : "{}");
    cJSON_free(js);
    cJSON_Delete(d);
    t->done_already = PQgetvalue(r, 0, 3)[0] == 't';
    if (t->done_already)
        snprintf(t->done_by, sizeof t->done_by, "%s",
                 strcmp(PQgetvalue(r, 0, 5), "auto") == 0
                     ? "automatically (the divergence went away)"
                     : PQgetvalue(r, 0, 4));
    PQclear(r);
    return 1;
}

static int recon_act(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                     char *err, size_t errlen)
{
    (void)t;
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, cmd->target_id);
    const char *p[3] = {id, op->actor, cmd->note};
    return pg_exec_params_ok(c,
                             "update recon_log set resolved_at = now(), resolution = 'operator',"
                             " resolved_by = $2, note = $3 where id = $1 and resolved_at is null",
                             3, p, err, errlen);
}

/* Runs a one-row query with params; 1 found, 0 none, -1 error. *out is
 * the result (caller clears) when found. */
static int query_one(PGconn *c, const char *sql, int n, const char *const *p, PGresult **out,
                     char *err, size_t errlen)
{
    PGresult *r = pg_exec_params(c, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    *out = r;
    return 1;
}

static void details_json(target *t, const char *k1, const char *v1, const char *k2,
                         const char *v2)
{
    cJSON *d = cJSON_CreateObject();
    if (d && k1)
        cJSON_AddStringToObject(d, k1, v1);
    if (d && k2)
        cJSON_AddStringToObject(d, k2, v2);
    char *js = d ? cJSON_PrintUnformatted(d) : NULL;
    snprintf(t->details, sizeof t->details, "%s", js ? js : "{}");
    cJSON_free(js);
    cJSON_Delete(d);
}

static int alert_lookup(PGconn *c, const command *cmd, target *t, char *err, size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, cmd->target_id);
    const char *p[1] = {id};
    PGresult *r = NULL;
    int found = query_one(c,
                          "select coalesce(account_id, ''), kind, state, coalesce(acked_by, ''),"
                          " coalesce(resolved_by, '') from alerts where id = $1 for update",
                          1, p, &r, err, errlen);
    if (found <= 0)
        return found;
    snprintf(t->account, sizeof t->account, "%s", PQgetvalue(r, 0, 0));
    snprintf(t->label, sizeof t->label, "alert #%s %.47s%s%.63s", id, PQgetvalue(r, 0, 1),
             t->account[0] ? " " : "", t->account);
    details_json(t, "account", t->account, "kind", PQgetvalue(r, 0, 1));
    const char *state = PQgetvalue(r, 0, 2);
    if (strcmp(state, "acknowledged") == 0)
        snprintf(t->invalid, sizeof t->invalid, "%.150s was already acknowledged by %.60s",
                 t->label, PQgetvalue(r, 0, 3));
    else if (strcmp(state, "resolved") == 0)
        snprintf(t->invalid, sizeof t->invalid, "%.150s is already resolved (%.60s)", t->label,
                 PQgetvalue(r, 0, 4));
    PQclear(r);
    return 1;
}

static int alert_ack(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                     char *err, size_t errlen)
{
    (void)t;
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, cmd->target_id);
    const char *p[3] = {id, op->actor, cmd->note};
    return pg_exec_params_ok(c,
                             "update alerts set state = 'acknowledged', acked_at = now(),"
                             " acked_by = $2, note = nullif($3, '') where id = $1 and state = 'open'",
                             3, p, err, errlen);
}

/* The guard of cmd->account, or of the account of alert cmd->target_id,
 * locked. The row is created (state ok) for an account never guarded yet,
 * so a command and the guard thread always meet on the same lock. */
static int guard_lookup(PGconn *c, const command *cmd, target *t, char *err, size_t errlen)
{
    char account[64];
    snprintf(account, sizeof account, "%s", cmd->account);
    if (!account[0] && cmd->target_id > 0) {
        char id[24];
        snprintf(id, sizeof id, "%" PRId64, cmd->target_id);
        const char *p[1] = {id};
        PGresult *r = NULL;
        int found = query_one(c, "select coalesce(account_id, '') from alerts where id = $1", 1, p,
                              &r, err, errlen);
        if (found <= 0)
            return found;
        snprintf(account, sizeof account, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    const char *p[1] = {account};
    if (!account[0] || pg_exec_params_ok(c,
                                         "insert into guard_state (account_id) select id from"
                                         " accounts where id = $1 on conflict do nothing",
                                         1, p, err, errlen) != 0)
        return account[0] ? -1 : 0;
    PGresult *r = NULL;
    int found = query_one(c,
                          "select state, coalesce(owner, ''), coalesce(aborted_by, '')"
                          " from guard_state where account_id = $1 for update",
                          1, p, &r, err, errlen);
    if (found <= 0)
        return found;
    const char *state = PQgetvalue(r, 0, 0);
    snprintf(t->account, sizeof t->account, "%s", account);
    snprintf(t->label, sizeof t->label, "guard %.63s (%.15s)", account, state);
    details_json(t, "account", account, "state", state);
    bool closing = strcmp(state, "closing") == 0 || strcmp(state, "closed") == 0;
    switch (cmd->kind) {
    case CMD_GUARD_ABORT:
        if (closing)
            snprintf(t->invalid, sizeof t->invalid,
                     "too late: the close of %.63s has already started (guard %s); "
                     "an abort cannot stop it",
                     account, state);
        else if (strcmp(state, "countdown") != 0)
            snprintf(t->invalid, sizeof t->invalid,
                     "%.63s has no auto-close countdown running (guard %s)", account, state);
        break;
    case CMD_GUARD_CLOSE_ALL:
        if (strcmp(state, "closing") == 0)
            snprintf(t->invalid, sizeof t->invalid, "%.63s is already being closed", account);
        break;
    case CMD_GUARD_REARM:
        if (strcmp(state, "closed") != 0 && strcmp(state, "aborted") != 0 &&
            strcmp(state, "breached") != 0)
            snprintf(t->invalid, sizeof t->invalid,
                     "the guard of %.63s is %s: only a closed, aborted or breached guard is "
                     "re-armed",
                     account, state);
        break;
    default: break;
    }
    PQclear(r);
    return 1;
}

/* One guard_events row for a command's change of state. */
static int guard_event(PGconn *c, const char *account, const char *to, const char *detail,
                       char *err, size_t errlen)
{
    const char *p[3] = {account, to, detail};
    return pg_exec_params_ok(c,
                             "insert into guard_events (account_id, from_state, to_state, equity,"
                             " floor, rule, detail) select account_id, state, $2, equity, floor,"
                             " rule, $3 from guard_state where account_id = $1",
                             3, p, err, errlen);
}

static int guard_abort(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                       char *err, size_t errlen)
{
    char detail[COMMAND_NOTE_MAX + 200];
    snprintf(detail, sizeof detail, "auto-close aborted by %s: %s", op->actor, cmd->note);
    if (guard_event(c, t->account, "aborted", detail, err, errlen) != 0)
        return -1;
    const char *p[3] = {t->account, op->actor, cmd->note};
    return pg_exec_params_ok(c,
                             "update guard_state set state = 'aborted', countdown_ends_at = null,"
                             " aborted_by = $2, abort_reason = $3, updated_at = now()"
                             " where account_id = $1 and state = 'countdown'",
                             3, p, err, errlen);
}

static int guard_close_all(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                           char *err, size_t errlen)
{
    char detail[COMMAND_NOTE_MAX + 200];
    snprintf(detail, sizeof detail, "close-all now by %s%s%s", op->actor, cmd->note[0] ? ": " : "",
             cmd->note);
    if (guard_event(c, t->account, "closing", detail, err, errlen) != 0)
        return -1;
    const char *p[2] = {t->account, detail};
    return pg_exec_params_ok(c,
                             "update guard_state set state = 'closing', countdown_ends_at = null,"
                             " tripped_at = now(), trip_reason = $2, updated_at = now()"
                             " where account_id = $1",
                             2, p, err, errlen);
}

static int guard_rearm_act(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                           char *err, size_t errlen)
{
    char detail[COMMAND_NOTE_MAX + 200];
    snprintf(detail, sizeof detail, "re-armed by %s%s%s", op->actor, cmd->note[0] ? ": " : "",
             cmd->note);
    if (guard_event(c, t->account, "ok", detail, err, errlen) != 0)
        return -1;
    /* Trailing baselines restart from what the account holds now
     * (guard_rearm in guard_eval.h); the static initial and the day start
     * are kept. */
    const char *p[1] = {t->account};
    return pg_exec_params_ok(c,
                             "update guard_state set state = 'ok', level = 0,"
                             " peak_equity = coalesce(equity, peak_equity),"
                             " eod_high = coalesce(balance, eod_high), countdown_ends_at = null,"
                             " tripped_at = null, trip_reason = null, aborted_by = null,"
                             " abort_reason = null, closed_at = null, updated_at = now()"
                             " where account_id = $1",
                             1, p, err, errlen);
}

static const command_spec SPECS[CMD_KIND_COUNT] = {
    [CMD_RECON_RESOLVE] = {"recon.resolve", ROLE_ONCALL, true, "resolved", recon_lookup, recon_act},
    [CMD_ALERT_ACK] = {"alert.ack", ROLE_ONCALL, false, "acknowledged", alert_lookup, alert_ack},
    [CMD_GUARD_ABORT] = {"guard.abort", ROLE_ONCALL, true, "auto-close aborted:", guard_lookup,
                         guard_abort},
    [CMD_GUARD_CLOSE_ALL] = {"guard.close_all", ROLE_ADMIN, false, "closing every position of",
                             guard_lookup, guard_close_all},
    [CMD_GUARD_REARM] = {"guard.rearm", ROLE_ADMIN, false, "re-armed", guard_lookup,
                         guard_rearm_act},
    [CMD_SYNC_RETRY] = {"sync.retry", ROLE_ONCALL, false, "retried", command_sync_lookup,
                        command_sync_act, command_sync_post},
    [CMD_SYNC_CANCEL] = {"sync.cancel", ROLE_ADMIN, false, "cancelled", command_sync_lookup,
                         command_sync_act, command_sync_post},
    [CMD_SYNC_RESET] = {"sync.reset", ROLE_ADMIN, false, "reset", command_sync_lookup,
                        command_sync_act, command_sync_post},
    [CMD_SYNC_DELETE] = {"sync.delete", ROLE_ADMIN, false, "deleted", command_sync_lookup,
                         command_sync_act, command_sync_post},
    [CMD_DIGEST_SEND] = {"digest.send", ROLE_ADMIN, false, "queued to post now:",
                         command_digest_lookup, command_digest_act},
};

const char *command_name(enum command_kind k)
{
    return (unsigned)k < CMD_KIND_COUNT ? SPECS[k].name : "unknown";
}

enum role command_min_role(enum command_kind k)
{
    return (unsigned)k < CMD_KIND_COUNT ? SPECS[k].min_role : ROLE_ADMIN;
}

int command_check_text(const char *text, const char *what, char *err, size_t errlen)
{
    size_t n = strlen(text);
    if (n == 0) {
        snprintf(err, errlen, "a %s is required", what);
        return -1;
    }
    if (n > COMMAND_NOTE_MAX) {
        snprintf(err, errlen, "the %s is %zu bytes; at most %d are kept", what, n,
                 COMMAND_NOTE_MAX);
        return -1;
    }
    if (!sanitize_is_clean(text)) {
        snprintf(err, errlen,
                 "the %s contains control characters or bytes that are not UTF-8; "
                 "type plain text",
                 what);
        return -1;
    }
    return 0;
}

static enum command_status finish(command_result *res, enum command_status st, const char *a,
                                  const char *b, const char *c)
{
    res->status = st;
    /* A message cut at the buffer's end is still worth showing. */
    if (snprintf(res->message, sizeof res->message, "%s%s%s", a, b, c) < 0)
        res->message[0] = '\0';
    return st;
}

/* Writes the audit record of a refusal or a rejected argument and commits
 * it: the attempt is on record even though nothing else happens. */
static void audit_and_commit(PGconn *c, const operator_id *op, const command_spec *s,
                             const target *t, const char *reason, const char *outcome,
                             const char *why, command_result *res)
{
    char err[256];
    cJSON *d = cJSON_Parse(t->details[0] ? t->details : "{}");
    if (!d)
        d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "why", why);
    char *js = d ? cJSON_PrintUnformatted(d) : NULL;
    if (audit_write(c, op, s->name, t->label[0] ? t->label : NULL, reason, outcome, js, err,
                    sizeof err) != 0 ||
        pg_exec_ok(c, "commit", err, sizeof err) != 0) {
        PQclear(pg_exec(c, "rollback"));
        size_t len = strlen(res->message);
        snprintf(res->message + len, sizeof res->message - len,
                 " (and it could not be audited: %s)", err);
    }
    cJSON_free(js);
    cJSON_Delete(d);
}

enum command_status command_execute(PGconn *c, const operator_id *op, const command *cmd,
                                    command_result *res)
{
    memset(res, 0, sizeof *res);
    res->seq = cmd->seq;
    res->kind = cmd->kind;
    res->target_id = cmd->target_id;
    if ((unsigned)cmd->kind >= CMD_KIND_COUNT)
        return finish(res, CMD_INVALID, "unknown command", "", "");
    const command_spec *s = &SPECS[cmd->kind];
    char err[256];
    target t = {0};
    /* The note as stored in the audit record: inert even when rejected. */
    char reason[COMMAND_NOTE_MAX + 1];
    sanitize_text(cmd->note, reason, sizeof reason, true);

    if (pg_exec_ok(c, "begin", err, sizeof err) != 0)
        return finish(res, CMD_FAILED, s->name, ": ", err);

    /* The role as the database says now, not as it was at login. */
    operator_id now = *op;
    now.accounts = NULL;
    now.n_accounts = 0;
    if (auth_load(c, &now, err, sizeof err) != 0) {
        now.role = ROLE_NONE;
        finish(res, CMD_REFUSED, "refused: ", err, "");
        audit_and_commit(c, &now, s, &t, reason, "refused", err, res);
        auth_free(&now);
        return res->status;
    }

    int found = s->lookup(c, cmd, &t, err, sizeof err);
    if (found < 0) {
        PQclear(pg_exec(c, "rollback"));
        auth_free(&now);
        return finish(res, CMD_FAILED, s->name, ": ", err);
    }
    char why[300];
    enum command_status st = CMD_OK;
    if (!auth_at_least(&now, s->min_role)) {
        snprintf(why, sizeof why, "%s needs the %s role; %s is %s", s->name, role_name(s->min_role),
                 now.user, role_name(now.role));
        st = CMD_REFUSED;
    } else if (!found) {
        if (cmd->account[0])
            snprintf(why, sizeof why, "%s: no such account (%.63s)", s->name, cmd->account);
        else
            snprintf(why, sizeof why, "%s: no such target (#%" PRId64 ")", s->name,
                     cmd->target_id);
        st = CMD_INVALID;
    } else if (!auth_can_see(&now, t.account)) {
        snprintf(why, sizeof why, "%s: %s may not act on account %s", s->name, now.user, t.account);
        st = CMD_REFUSED;
    } else if ((s->needs_note || cmd->note[0]) &&
               command_check_text(cmd->note, s->needs_note && cmd->kind == CMD_GUARD_ABORT
                                                 ? "reason"
                                                 : "note",
                                  err, sizeof err) != 0) {
        snprintf(why, sizeof why, "%s", err);
        st = CMD_INVALID;
    } else if (t.invalid[0]) {
        snprintf(why, sizeof why, "%s", t.invalid);
        st = CMD_INVALID;
    } else if (t.done_already) {
        snprintf(why, sizeof why, "%.150s was already resolved %s%.100s", t.label,
                 strchr(t.done_by, ' ') ? "" : "by ", t.done_by);
        st = CMD_INVALID;
    }
    if (st != CMD_OK) {
        finish(res, st, st == CMD_REFUSED ? "refused: " : "", why, "");
        audit_and_commit(c, &now, s, &t, reason, st == CMD_REFUSED ? "refused" : "failed", why,
                         res);
        auth_free(&now);
        return st;
    }
    /* Audit first, then act, then commit both together. */
    if (audit_write(c, &now, s->name, t.label, reason, "ok", t.details, err, sizeof err) != 0 ||
        s->act(c, &now, cmd, &t, err, sizeof err) != 0 ||
        pg_exec_ok(c, "commit", err, sizeof err) != 0) {
        PQclear(pg_exec(c, "rollback"));
        auth_free(&now);
        return finish(res, CMD_FAILED, s->name, " failed, nothing changed: ", err);
    }
    if (s->post && s->post(c, &now, cmd, &t, res)) {
        auth_free(&now);
        return res->status;
    }
    auth_free(&now);
    return finish(res, CMD_OK, s->done, " ", t.label);
}
