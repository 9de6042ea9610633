/*
 * command_sync.c - the operators' actions on journal sync jobs as commands
 * (CMD_SYNC_RETRY, _CANCEL, _RESET, _DELETE; command_int.h).
 *
 * One job (target_id > 0): the lookup locks the job, says why when its
 * state does not allow the action ("job 17 is running: it cannot be
 * retried until it finishes") or when a retry would meet another live job
 * of the same trade; the act changes it in the command's transaction,
 * after the audit record.
 *
 * Every job a filter names (target_id 0, cmd->filter): the lookup parses
 * the filter (a bad one is a CMD_INVALID with the parser's words) and
 * counts the jobs; the audit record ("filter: <canonical text>", details
 * {"matched", "applicable"}) is committed with an act that changes
 * nothing, and only then do the batches run, each in its own transaction
 * (sync_queue_admin), so a long bulk action is on record before it starts
 * and workers pick up the first batch while the rest are done.
 *
 * Threads: the caller's connection only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "command_int.h"
#include "pg.h"
#include "sync_queue.h"

static enum sync_admin_op op_of(enum command_kind k)
{
    switch (k) {
    case CMD_SYNC_CANCEL: return SYNC_OP_CANCEL;
    case CMD_SYNC_RESET: return SYNC_OP_RESET;
    case CMD_SYNC_DELETE: return SYNC_OP_DELETE;
    default: return SYNC_OP_RETRY;
    }
}

/* Why op does not apply to a job in state s, for people. */
static void not_allowed(enum sync_admin_op op, int64_t id, const char *state, char *out, size_t n)
{
    enum sync_state s = SYNC_AVAILABLE;
    (void)sync_state_parse(state, &s);
    if (s == SYNC_RUNNING)
        snprintf(out, n, "job %" PRId64 " is running: it cannot be %s until it finishes", id,
                 op == SYNC_OP_RETRY    ? "retried"
                 : op == SYNC_OP_RESET  ? "reset"
                 : op == SYNC_OP_DELETE ? "deleted"
                                        : "cancelled");
    else if (op == SYNC_OP_RETRY)
        snprintf(out, n, "job %" PRId64 " is %s: it is already waiting to be sent", id, state);
    else if (op == SYNC_OP_CANCEL)
        snprintf(out, n,
                 "job %" PRId64 " is %s: only an available or retryable job can be cancelled", id,
                 state);
    else if (op == SYNC_OP_DELETE)
        snprintf(out, n,
                 "job %" PRId64 " is %s: only a finished job (completed, dead or cancelled) can "
                 "be deleted",
                 id, state);
    else
        snprintf(out, n, "job %" PRId64 " is %s: it cannot be reset", id, state);
}

static void details(target *t, cJSON *d)
{
    char *js = d ? cJSON_PrintUnformatted(d) : NULL;
    snprintf(t->details, sizeof t->details, "%s", js ? js : "{}");
    cJSON_free(js);
    cJSON_Delete(d);
}

enum { L_STATE, L_ACCOUNT, L_PROVIDER, L_POSITION, L_TRADE, L_OTHER };

static int lookup_one(PGconn *c, const command *cmd, target *t, char *err, size_t errlen)
{
    enum sync_admin_op op = op_of(cmd->kind);
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, cmd->target_id);
    const char *p[1] = {id};
    /* The job, locked, and any other live job of the same provider and
     * trade (which a retry or reset would collide with). */
    PGresult *r = pg_exec_params(c,
                                 "select j.state, j.account_id, j.provider, t.position_id,"
                                 " j.trade_id, (select l.id from sync_jobs l"
                                 "  where l.provider = j.provider and l.trade_id = j.trade_id"
                                 "  and l.state in ('available', 'running', 'retryable')"
                                 "  and l.id <> j.id limit 1)"
                                 " from sync_jobs j join closed_trades t on t.id = j.trade_id"
                                 " where j.id = $1 for update of j",
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
    const char *state = PQgetvalue(r, 0, L_STATE), *prov = PQgetvalue(r, 0, L_PROVIDER),
               *pos = PQgetvalue(r, 0, L_POSITION);
    snprintf(t->account, sizeof t->account, "%s", PQgetvalue(r, 0, L_ACCOUNT));
    snprintf(t->label, sizeof t->label, "sync job #%s %s %.63s/%.39s", id, prov, t->account, pos);
    cJSON *d = cJSON_CreateObject();
    if (d) {
        cJSON_AddNumberToObject(d, "job", (double)cmd->target_id);
        cJSON_AddStringToObject(d, "account", t->account);
        cJSON_AddStringToObject(d, "provider", prov);
        cJSON_AddStringToObject(d, "position", pos);
        cJSON_AddStringToObject(d, "state", state);
    }
    details(t, d);
    enum sync_state s;
    if (sync_state_parse(state, &s) != 0 || !sync_admin_allowed(op, s))
        not_allowed(op, cmd->target_id, state, t->invalid, sizeof t->invalid);
    else if ((op == SYNC_OP_RETRY || op == SYNC_OP_RESET) && !PQgetisnull(r, 0, L_OTHER))
        snprintf(t->invalid, sizeof t->invalid,
                 "job %s: trade %.63s/%.39s already has a live %s job (#%s)", id, t->account, pos,
                 prov, PQgetvalue(r, 0, L_OTHER));
    PQclear(r);
    return 1;
}

static int lookup_bulk(PGconn *c, const command *cmd, target *t, char *err, size_t errlen)
{
    enum sync_admin_op op = op_of(cmd->kind);
    sync_filter f;
    char why[200], canon[SYNC_FILTER_TEXT];
    snprintf(t->label, sizeof t->label, "filter: (none)");
    if (!memchr(cmd->filter, '\0', sizeof cmd->filter)) {
        snprintf(t->invalid, sizeof t->invalid, "the filter is too long");
        return 1;
    }
    if (!cmd->filter[0]) {
        snprintf(t->invalid, sizeof t->invalid,
                 "a bulk %s needs a filter (\"all\" names every job)", sync_admin_op_name(op));
        return 1;
    }
    if (sync_filter_parse(cmd->filter, &f, why, sizeof why) != 0) {
        snprintf(t->invalid, sizeof t->invalid, "%s", why);
        return 1;
    }
    sync_filter_format(&f, canon, sizeof canon);
    snprintf(t->label, sizeof t->label, "filter: %s", canon[0] ? canon : "all");
    snprintf(t->account, sizeof t->account, "%s", f.account);
    int64_t matched = 0, applicable = 0;
    if (sync_queue_count(c, &f, op, &matched, &applicable, err, errlen) != 0)
        return -1;
    cJSON *d = cJSON_CreateObject();
    if (d) {
        cJSON_AddNumberToObject(d, "matched", (double)matched);
        cJSON_AddNumberToObject(d, "applicable", (double)applicable);
    }
    details(t, d);
    return 1;
}

int command_sync_lookup(PGconn *c, const command *cmd, target *t, char *err, size_t errlen)
{
    if (cmd->target_id < 0)
        return 0;
    return cmd->target_id > 0 ? lookup_one(c, cmd, t, err, errlen)
                              : lookup_bulk(c, cmd, t, err, errlen);
}

int command_sync_act(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                     char *err, size_t errlen)
{
    (void)op;
    if (cmd->target_id == 0)
        return 0; /* bulk: after the commit (command_sync_post) */
    sync_admin_result res;
    if (sync_queue_admin_one(c, op_of(cmd->kind), cmd->target_id, &res, err, errlen) != 0)
        return -1;
    if (res.conflicts) {
        /* Another transaction made a job of the same trade live since the lookup. */
        snprintf(err, errlen, "%.150s: the trade already has a live job (made just now)", t->label);
        return -1;
    }
    if (res.done != 1) {
        snprintf(err, errlen, "%.150s changed meanwhile; look again", t->label);
        return -1;
    }
    return 0;
}

bool command_sync_post(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                       command_result *res)
{
    (void)t;
    if (cmd->target_id != 0)
        return false;
    sync_filter f;
    char err[256];
    if (sync_filter_parse(cmd->filter, &f, err, sizeof err) != 0) { /* parsed by the lookup */
        res->status = CMD_INVALID;
        snprintf(res->message, sizeof res->message, "%s", err);
        return true;
    }
    sync_admin_result out;
    /* A trader's own accounts only (an empty list, not NULL, when none). */
    static const char *const none[1] = {""};
    const char *const *scope = NULL;
    if (op->role == ROLE_TRADER)
        scope = op->n_accounts ? (const char *const *)op->accounts : none;
    int rc = sync_queue_admin(c, op_of(cmd->kind), &f, cmd->batch > 0 ? cmd->batch : 0, scope,
                              scope ? op->n_accounts : 0, &out, err, sizeof err);
    if (rc != 0) {
        res->status = CMD_FAILED;
        snprintf(res->message, sizeof res->message, "%s", err);
    } else {
        res->status = CMD_OK;
        snprintf(res->message, sizeof res->message, "%s", out.message);
    }
    return true;
}
