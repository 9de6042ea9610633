/*
 * command_digest.c - CMD_DIGEST_SEND (command_int.h): post a digest now.
 *
 * The lookup locks the digest's row; the act inserts a pending manual run
 * (digest_request_send) in the command's transaction, after its audit
 * record. The post itself (rendering, queueing the notifications) is done
 * by whoever holds the notification configuration: the engine's digest
 * scheduler within a tick, or `tradeops digest send` right after the
 * command (digest_post_pending).
 *
 * Threads: the caller's connection only.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "command_int.h"
#include "digest.h"
#include "pg.h"
#include "sanitize.h"

int command_digest_lookup(PGconn *c, const command *cmd, target *t, char *err, size_t errlen)
{
    const char *p[1] = {cmd->name};
    PGresult *r = pg_exec_params(c,
                                 "select kind, enabled, array_to_string(destinations, ',')"
                                 " from digests where name = $1 for update",
                                 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        char clean[64];
        sanitize_text(cmd->name, clean, sizeof clean, true);
        snprintf(t->label, sizeof t->label, "digest %s", clean);
        return 0;
    }
    snprintf(t->label, sizeof t->label, "digest %s", cmd->name);
    cJSON *d = cJSON_CreateObject();
    if (d) {
        cJSON_AddStringToObject(d, "digest", cmd->name);
        cJSON_AddStringToObject(d, "kind", PQgetvalue(r, 0, 0));
        cJSON_AddStringToObject(d, "to", PQgetvalue(r, 0, 2));
    }
    char *js = d ? cJSON_PrintUnformatted(d) : NULL;
    snprintf(t->details, sizeof t->details, "%s", js ? js : "{}");
    cJSON_free(js);
    cJSON_Delete(d);
    PQclear(r);
    return 1;
}

int command_digest_act(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                       char *err, size_t errlen)
{
    (void)op;
    (void)t;
    return digest_request_send(c, cmd->name, err, errlen);
}
