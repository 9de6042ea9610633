/*
 * auth.h - who the operator is, and what they may do.
 *
 * The operator is the OS user running the program (from the real uid, not
 * from $USER, which anyone can set), and the SSH client address when there is
 * one. Roles: viewer < trader (own accounts only) < oncall < admin. Root may
 * act as another registered operator with TRADEOPS_AS_USER (root can become
 * any user anyway); the audit log then records "root as USER".
 *
 * Threads: pure functions plus auth_load on the caller's connection.
 */
#ifndef TRADEOPS_AUTH_H
#define TRADEOPS_AUTH_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

enum role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_TRADER, ROLE_ONCALL, ROLE_ADMIN };

typedef struct operator_id {
    char user[72];          /* OS user (or the impersonated one) */
    char actor[160];        /* what the audit log records as who */
    char source[64];        /* SSH client address, or "local" */
    enum role role;         /* ROLE_NONE until auth_load succeeds */
    char **accounts;        /* trader scope */
    size_t n_accounts;
} operator_id;

/* Fills user, actor and source from the process; no database needed. */
int auth_whoami(operator_id *op, char *err, size_t errlen);

/* Looks the operator up. -1 with a clear refusal when not registered. */
int auth_load(PGconn *c, operator_id *op, char *err, size_t errlen);
void auth_free(operator_id *op);

bool auth_can_see(const operator_id *op, const char *account_id);
bool auth_at_least(const operator_id *op, enum role r);

const char *role_name(enum role r);
/* 0 and *r set, or -1 for an unknown name. */
int role_parse(const char *s, enum role *r);

/* Splits "A,B,C" into a malloc'ed array (each element malloc'ed). */
int auth_split_accounts(const char *csv, char ***out, size_t *n, char *err, size_t errlen);
void auth_free_accounts(char **a, size_t n);

#endif
