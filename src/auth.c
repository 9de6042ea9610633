/* auth.c - see auth.h. */
#include "auth.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg.h"

const char *role_name(enum role r)
{
    switch (r) {
    case ROLE_VIEWER: return "viewer";
    case ROLE_TRADER: return "trader";
    case ROLE_ONCALL: return "oncall";
    case ROLE_ADMIN: return "admin";
    default: return "none";
    }
}

int role_parse(const char *s, enum role *r)
{
    static const enum role all[] = {ROLE_VIEWER, ROLE_TRADER, ROLE_ONCALL, ROLE_ADMIN};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, role_name(all[i])) == 0) {
            *r = all[i];
            return 0;
        }
    return -1;
}

/* SSH_CLIENT is "ADDR PORT PORT"; keep the address only, and only if it
 * looks like one (it is an environment variable, so untrusted). */
static void ssh_source(char *out, size_t outlen)
{
    const char *s = getenv("SSH_CLIENT");
    if (!s || !*s) {
        snprintf(out, outlen, "local");
        return;
    }
    size_t n = strcspn(s, " ");
    if (n == 0 || n >= outlen || strspn(s, "0123456789abcdefABCDEF.:") < n) {
        snprintf(out, outlen, "ssh:invalid");
        return;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

int auth_whoami(operator_id *op, char *err, size_t errlen)
{
    memset(op, 0, sizeof *op);
    uid_t uid = getuid();
    struct passwd *pw = getpwuid(uid);
    char real[64];
    if (pw && pw->pw_name)
        snprintf(real, sizeof real, "%s", pw->pw_name);
    else
        snprintf(real, sizeof real, "uid%u", (unsigned)uid);
    const char *as = getenv("TRADEOPS_AS_USER");
    if (as && *as) {
        if (uid != 0) {
            snprintf(err, errlen, "TRADEOPS_AS_USER is honoured only for root");
            return -1;
        }
        if (strlen(as) >= 64) {
            snprintf(err, errlen, "TRADEOPS_AS_USER: too long");
            return -1;
        }
        snprintf(op->user, sizeof op->user, "%s", as);
        snprintf(op->actor, sizeof op->actor, "%s as %s", real, as);
    } else {
        snprintf(op->user, sizeof op->user, "%s", real);
        snprintf(op->actor, sizeof op->actor, "%s", real);
    }
    ssh_source(op->source, sizeof op->source);
    return 0;
}

void auth_free_accounts(char **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

int auth_split_accounts(const char *csv, char ***out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (!csv || !*csv)
        return 0;
    size_t cap = 1;
    for (const char *p = csv; *p; p++)
        cap += *p == ',';
    char **a = calloc(cap, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t k = 0;
    const char *p = csv;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            a[k] = strndup(p, len);
            if (!a[k]) {
                auth_free_accounts(a, k);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            k++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    *out = a;
    *n = k;
    return 0;
}

/* Parses a PostgreSQL text[] literal of simple identifiers: {a,b,"c d"}. */
static int parse_text_array(const char *s, char ***out, size_t *n, char *err, size_t errlen)
{
    size_t len = strlen(s);
    if (len < 2 || s[0] != '{' || s[len - 1] != '}') {
        snprintf(err, errlen, "operators.accounts: unexpected value");
        return -1;
    }
    char *inner = strndup(s + 1, len - 2);
    if (!inner) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Account ids are restricted by a check constraint to characters that
     * never need quoting, so dropping quotes is safe. */
    char *w = inner;
    for (char *r = inner; *r; r++)
        if (*r != '"')
            *w++ = *r;
    *w = '\0';
    int rc = auth_split_accounts(inner, out, n, err, errlen);
    free(inner);
    return rc;
}

int auth_load(PGconn *c, operator_id *op, char *err, size_t errlen)
{
    const char *p[1] = {op->user};
    PGresult *r = pg_exec_params(c, "select role, accounts from operators where os_user = $1", 1,
                                 NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char msg[200];
        pg_error_copy(msg, sizeof msg, PQresultErrorMessage(r));
        snprintf(err, errlen, "looking up operator %s: %s", op->user, msg);
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 0) {
        snprintf(err, errlen,
                 "operator \"%s\" is not registered; an admin can add them with "
                 "`tradeops operator add %s viewer|trader|oncall|admin`",
                 op->user, op->user);
        PQclear(r);
        return -1;
    }
    if (role_parse(PQgetvalue(r, 0, 0), &op->role) != 0) {
        snprintf(err, errlen, "operator %s has an unknown role", op->user);
        PQclear(r);
        return -1;
    }
    int rc = parse_text_array(PQgetvalue(r, 0, 1), &op->accounts, &op->n_accounts, err, errlen);
    PQclear(r);
    return rc;
}

void auth_free(operator_id *op)
{
    auth_free_accounts(op->accounts, op->n_accounts);
    op->accounts = NULL;
    op->n_accounts = 0;
}

bool auth_at_least(const operator_id *op, enum role r) { return op->role >= r; }

bool auth_can_see(const operator_id *op, const char *account_id)
{
    if (op->role == ROLE_NONE)
        return false;
    if (op->role != ROLE_TRADER)
        return true;
    for (size_t i = 0; i < op->n_accounts; i++)
        if (strcmp(op->accounts[i], account_id) == 0)
            return true;
    return false;
}
