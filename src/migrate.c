/*
 * migrate.c - see migrate.h.
 *
 * Concurrent migrators (two consoles started at once) are serialised by a
 * transaction-level advisory lock, so each migration runs exactly once.
 */
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

/* Arbitrary but fixed: the advisory lock key for migrations ("TRDOMIGR"). */
#define MIGRATE_LOCK_KEY "5454524f4d494752"

static const char *CREATE_TABLE =
    "create table if not exists schema_migrations ("
    " version integer primary key,"
    " name text not null,"
    " applied_at timestamptz not null default now())";

int migrate_latest(void)
{
    int v = 0;
    for (unsigned i = 0; i < migrations_embedded_count; i++)
        if (migrations_embedded[i].version > v)
            v = migrations_embedded[i].version;
    return v;
}

int migrate_current(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = pg_exec(c, "select coalesce(max(version), 0) from schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        /* No table yet means a fresh database. */
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        int fresh = state && strcmp(state, "42P01") == 0;
        if (!fresh)
            snprintf(err, errlen, "reading schema version: %s", PQresultErrorMessage(r));
        PQclear(r);
        return fresh ? 0 : -1;
    }
    int v = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static int apply_one(PGconn *c, const struct migration *m, char *err, size_t errlen)
{
    if (pg_exec_ok(c, "begin", err, errlen) != 0)
        return -1;
    if (pg_exec_ok(c, "select pg_advisory_xact_lock(x'" MIGRATE_LOCK_KEY "'::bigint)", err,
                   errlen) != 0)
        goto fail;
    /* Someone else may have applied it while we waited for the lock. */
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", m->version);
    const char *p[2] = {vbuf, m->name};
    PGresult *r = pg_exec_params(c, "select 1 from schema_migrations where version = $1::int", 1,
                                 NULL, p, NULL, NULL, 0);
    int done = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    PQclear(r);
    if (done)
        return pg_exec_ok(c, "commit", err, errlen);
    r = pg_exec(c, m->sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "migration %s failed: %s", m->name, PQresultErrorMessage(r));
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    r = pg_exec_params(c, "insert into schema_migrations (version, name) values ($1::int, $2)", 2,
                       NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "recording migration %s: %s", m->name, PQresultErrorMessage(r));
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    return pg_exec_ok(c, "commit", err, errlen);
fail:
    PQclear(pg_exec(c, "rollback"));
    return -1;
}

int migrate_up(PGconn *c, int *applied, char *err, size_t errlen)
{
    *applied = 0;
    if (pg_exec_ok(c, CREATE_TABLE, err, errlen) != 0)
        return -1;
    int cur = migrate_current(c, err, errlen);
    if (cur < 0)
        return -1;
    if (cur > migrate_latest()) {
        snprintf(err, errlen,
                 "the database schema is version %d but this tradeops knows only up to %d; "
                 "use a newer tradeops",
                 cur, migrate_latest());
        return -1;
    }
    /* Embedded in file-name order, which is version order. */
    for (unsigned i = 0; i < migrations_embedded_count; i++) {
        if (migrations_embedded[i].version <= cur)
            continue;
        if (apply_one(c, &migrations_embedded[i], err, errlen) != 0)
            return -1;
        (*applied)++;
    }
    return 0;
}

int migrate_check(PGconn *c, char *err, size_t errlen)
{
    int cur = migrate_current(c, err, errlen);
    if (cur < 0)
        return -1;
    int latest = migrate_latest();
    if (cur > latest) {
        snprintf(err, errlen,
                 "the database schema is version %d but this tradeops knows only up to %d; "
                 "use a newer tradeops",
                 cur, latest);
        return -1;
    }
    if (cur < latest) {
        snprintf(err, errlen,
                 "the database schema is version %d, this tradeops needs %d; run `tradeops migrate`",
                 cur, latest);
        return -1;
    }
    return 0;
}
