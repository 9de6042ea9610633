/*
 * metrics_store_admin.c - setting an account's starting balance (the
 * capital its metrics start from), audited, and bringing its stored
 * metrics up to date with it.
 *
 * Threads: the caller's connection only.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "metrics_store.h"
#include "pg.h"

#define ACTION_SET_BALANCE "account.set_balance"

int metrics_store_set_balance(PGconn *c, const operator_id *op, const char *account,
                              double balance, char *err, size_t errlen)
{
    if (!(isfinite(balance) && balance > 0)) {
        snprintf(err, errlen, "a starting balance is a positive amount");
        return 1;
    }
    if (pg_exec_ok(c, "begin", err, errlen) != 0)
        return -1;
    char amount[40];
    snprintf(amount, sizeof amount, "%.17g", balance);
    const char *p[2] = {account, amount};
    PGresult *r = pg_exec_params(c,
                                 "update accounts a set starting_balance = $2::float8 from (select"
                                 " id, starting_balance as prev from accounts where id = $1 for"
                                 " update) o where a.id = o.id returning o.prev::text",
                                 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
        PQclear(r);
        PQclear(pg_exec(c, "rollback"));
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        PQclear(pg_exec(c, "rollback"));
        snprintf(err, errlen, "no such account");
        return 1;
    }
    cJSON *d = cJSON_CreateObject();
    if (d) {
        cJSON_AddNumberToObject(d, "startingBalance", balance);
        if (PQgetisnull(r, 0, 0))
            cJSON_AddNullToObject(d, "previous");
        else
            cJSON_AddNumberToObject(d, "previous", strtod(PQgetvalue(r, 0, 0), NULL));
    }
    PQclear(r);
    char *details = d ? cJSON_PrintUnformatted(d) : NULL;
    cJSON_Delete(d);
    int rc = audit_write(c, op, ACTION_SET_BALANCE, account, NULL, "ok", details, err, errlen);
    cJSON_free(details);
    if (rc != 0 || pg_exec_ok(c, "commit", err, errlen) != 0) {
        PQclear(pg_exec(c, "rollback"));
        return -1;
    }
    /* Every bucket opens from the new balance. */
    return metrics_store_rebuild(c, account, err, errlen) == 0 ? 0 : -1;
}
