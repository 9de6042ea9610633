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
#include "pg.h"
#include "sanitize.h"

/* What a command acts on, read (and locked) before deciding. */
typedef struct target {
    char account[64];
    char label[160];   /* for the audit record and messages */
    char details[400]; /* JSON for the audit record's details */
    bool done_already; /* e.g. a row someone resolved first */
    char done_by[200];
} target;

typedef struct command_spec {
    const char *name;
    enum role min_role;
    bool needs_note;
    const char *done; /* what the result message says first: "resolved" */
    /* Reads and locks the target: 1 found, 0 not found, -1 database error. */
    int (*lookup)(PGconn *c, const command *cmd, target *t, char *err, size_t errlen);
    /* Acts; 0 or -1 with err. Runs after the audit record is written. */
    int (*act)(PGconn *c, const operator_id *op, const command *cmd, char *err, size_t errlen);
} command_spec;

static int recon_lookup(PGconn *c, const command *cmd, target *t, char *err, size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, cmd->target_id);
    const char *p[1] = {id};
    PGresult *r = PQexecParams(c,
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

static int recon_act(PGconn *c, const operator_id *op, const command *cmd, char *err, size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, cmd->target_id);
    const char *p[3] = {id, op->actor, cmd->note};
    return pg_exec_params_ok(c,
                             "update recon_log set resolved_at = now(), resolution = 'operator',"
                             " resolved_by = $2, note = $3 where id = $1 and resolved_at is null",
                             3, p, err, errlen);
}

static const command_spec SPECS[CMD_KIND_COUNT] = {
    [CMD_RECON_RESOLVE] = {"recon.resolve", ROLE_ONCALL, true, "resolved", recon_lookup, recon_act},
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
        PQclear(PQexec(c, "rollback"));
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
        PQclear(PQexec(c, "rollback"));
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
        snprintf(why, sizeof why, "%s: no such target (#%" PRId64 ")", s->name, cmd->target_id);
        st = CMD_INVALID;
    } else if (!auth_can_see(&now, t.account)) {
        snprintf(why, sizeof why, "%s: %s may not act on account %s", s->name, now.user, t.account);
        st = CMD_REFUSED;
    } else if (s->needs_note && command_check_text(cmd->note, "note", err, sizeof err) != 0) {
        snprintf(why, sizeof why, "%s", err);
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
        s->act(c, &now, cmd, err, sizeof err) != 0 ||
        pg_exec_ok(c, "commit", err, sizeof err) != 0) {
        PQclear(PQexec(c, "rollback"));
        auth_free(&now);
        return finish(res, CMD_FAILED, s->name, " failed, nothing changed: ", err);
    }
    auth_free(&now);
    return finish(res, CMD_OK, s->done, " ", t.label);
}
