/* audit.c - see audit.h. */
#include "audit.h"

#include <stdio.h>

#include "pg.h"

int audit_write(PGconn *c, const operator_id *op, const char *action, const char *target,
                const char *reason, const char *outcome, const char *details_json, char *err,
                size_t errlen)
{
    const char *p[8] = {op->actor, op->role == ROLE_NONE ? NULL : role_name(op->role),
                        op->source, action, target, reason, outcome, details_json};
    return pg_exec_params_ok(c,
                             "insert into audit_log (os_user, role, source, action, target, "
                             "reason, outcome, details) values ($1, $2, $3, $4, $5, $6, $7, "
                             "$8::jsonb)",
                             8, p, err, errlen);
}
