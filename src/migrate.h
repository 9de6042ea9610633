/*
 * migrate.h - schema migrations.
 *
 * Migrations are the numbered files data/migrations/NNN_name.sql, compiled
 * into the binary. Each is applied in its own transaction and recorded in
 * schema_migrations. A database whose schema is newer than this binary knows
 * is refused: an older binary must not write to a newer schema.
 *
 * Threads: any thread, on its own connection.
 */
#ifndef TRADEOPS_MIGRATE_H
#define TRADEOPS_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

struct migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct migration migrations_embedded[];
extern const unsigned migrations_embedded_count;

/* Highest version this binary knows. */
int migrate_latest(void);

/* Current version of the database (0 when none applied), or -1 with err. */
int migrate_current(PGconn *c, char *err, size_t errlen);

/* Applies every pending migration; *applied gets how many. 0 or -1 + err. */
int migrate_up(PGconn *c, int *applied, char *err, size_t errlen);

/* 0 when the database is exactly at migrate_latest(); -1 with an actionable
 * message when it is older (run `tradeops migrate`) or newer (upgrade). */
int migrate_check(PGconn *c, char *err, size_t errlen);

#endif
