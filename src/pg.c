/* pg.c - see pg.h. */
#include "pg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sysmetrics.h"

void pg_error_copy(char *dst, size_t dstlen, const char *msg)
{
    if (!dstlen)
        return;
    snprintf(dst, dstlen, "%s", msg ? msg : "");
    size_t n = strlen(dst);
    while (n && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
        dst[--n] = '\0';
}

PGconn *pg_connect(const char *conninfo, char *err, size_t errlen)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {conninfo, PG_CONNECT_TIMEOUT_S, "tradeops", NULL};
    /* expand_dbname lets conninfo be a full connection string or URI while
     * the timeout still applies when it sets none of its own. */
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c) {
        snprintf(err, errlen, "PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[300];
        pg_error_copy(msg, sizeof msg, PQerrorMessage(c));
        snprintf(err, errlen,
                 "cannot connect to PostgreSQL (%s). Is it running? For the private demo "
                 "servers run `make services-up`; otherwise check [database] url in the "
                 "config or TRADEOPS_PG",
                 msg);
        PQfinish(c);
        return NULL;
    }
    /* UTC for every timestamp we read back; notices (such as "already
     * exists, skipping") are noise on an operator's terminal. */
    PQclear(PQexec(c, "set timezone = 'UTC'; set client_min_messages = warning"));
    return c;
}

/* Times a statement into the system metrics. A failure counts as an error
 * unless the server refused the statement's data (SQLSTATE class 22, a
 * data exception, or 23, an integrity constraint): callers expect those
 * and turn them into the operator's message. A lost connection, a syntax
 * error, a deadlock or a timeout counts. */
static void observe(PGconn *c, const PGresult *r, double t0)
{
    sysm_observe_ms(SYSM_PG_MS, (clock_mono_us() - t0) / 1000.0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY ||
        st == PGRES_COPY_IN || st == PGRES_COPY_OUT)
        return;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    bool refused_data = state && PQstatus(c) == CONNECTION_OK &&
                        (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
    if (!refused_data)
        sysm_count_error();
}

PGresult *pg_exec_params(PGconn *c, const char *sql, int n, const Oid *types,
                         const char *const *params, const int *lengths, const int *formats,
                         int result_format)
{
    double t0 = clock_mono_us();
    PGresult *r = PQexecParams(c, sql, n, types, params, lengths, formats, result_format);
    observe(c, r, t0);
    return r;
}

PGresult *pg_exec(PGconn *c, const char *sql)
{
    double t0 = clock_mono_us();
    PGresult *r = PQexec(c, sql);
    observe(c, r, t0);
    return r;
}

int pg_exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = pg_exec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

PGresult *pg_query(PGconn *c, const char *sql, int n, const char *const *params, char *err,
                   size_t errlen)
{
    PGresult *r = pg_exec_params(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    pg_error_copy(err, errlen, PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

int pg_exec_params_ok(PGconn *c, const char *sql, int n, const char *const *params, char *err,
                      size_t errlen)
{
    PGresult *r = pg_query(c, sql, n, params, err, errlen);
    PQclear(r);
    return r ? 0 : -1;
}

bool pg_drain_notifies(PGconn *c)
{
    bool any = false;
    PGnotify *nt;
    while ((nt = PQnotifies(c)) != NULL) {
        any = true;
        PQfreemem(nt);
    }
    return any;
}

int pg_ensure(PGconn **c, const char *conninfo, char *err, size_t errlen)
{
    if (*c && PQstatus(*c) == CONNECTION_OK)
        return 0;
    if (*c) {
        PQreset(*c);
        if (PQstatus(*c) == CONNECTION_OK) {
            PQclear(PQexec(*c, "set timezone = 'UTC'"));
            return 0;
        }
        PQfinish(*c);
        *c = NULL;
    }
    *c = pg_connect(conninfo, err, errlen);
    return *c ? 0 : -1;
}

char *pg_text_array_literal(char *const *items, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) * 2 + 3;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t o = 0;
    s[o++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            s[o++] = ',';
        s[o++] = '"';
        for (const char *p = items[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                s[o++] = '\\';
            s[o++] = *p;
        }
        s[o++] = '"';
    }
    s[o++] = '}';
    s[o] = '\0';
    return s;
}
