/*
 * pg.h - small helpers over libpq shared by every store module.
 *
 * Threads: a PGconn belongs to the thread that opened it; these helpers keep
 * no state of their own.
 */
#ifndef TRADEOPS_PG_H
#define TRADEOPS_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Seconds libpq may spend connecting before giving up. */
#define PG_CONNECT_TIMEOUT_S "3"

/* Connects; on failure returns NULL and writes a message that says what to
 * do (for the private servers: `make services-up`). */
PGconn *pg_connect(const char *conninfo, char *err, size_t errlen);

/* Runs a statement without parameters that returns no rows. */
int pg_exec_ok(PGconn *c, const char *sql, char *err, size_t errlen);

/* Runs a parameterised statement that returns no rows (or rows to ignore). */
int pg_exec_params_ok(PGconn *c, const char *sql, int n, const char *const *params, char *err,
                      size_t errlen);

/* Runs a parameterised statement (text parameters and results): the
 * result when it succeeded (rows or none; the caller PQclears it), NULL
 * with err when it failed. Timed and counted as the system metrics say. */
PGresult *pg_query(PGconn *c, const char *sql, int n, const char *const *params, char *err,
                   size_t errlen);

/* PQexecParams and PQexec with libpq's own contract (the caller checks
 * the status and PQclears), timed into the system metrics' PostgreSQL
 * latency (as are the helpers above). A failed statement counts as an
 * error there unless the server refused its data (SQLSTATE class 22 or
 * 23: a bad value, a unique key), which callers expect and explain. Every
 * module runs its statements through these or the helpers above, so the
 * figures cover them all. */
PGresult *pg_exec_params(PGconn *c, const char *sql, int n, const Oid *types,
                         const char *const *params, const int *lengths, const int *formats,
                         int result_format);
PGresult *pg_exec(PGconn *c, const char *sql);

/* Frees every notification libpq holds for c (read from the socket, maybe
 * while a statement ran: poll(2) on the socket will not report those
 * again); true when there was one. A LISTENing loop calls it before it
 * sleeps. */
bool pg_drain_notifies(PGconn *c);

/* Copies PQerrorMessage/PQresultErrorMessage without the trailing newline. */
void pg_error_copy(char *dst, size_t dstlen, const char *msg);

/* A text[] literal ({"a","b"}) of the strings, every element quoted and
 * escaped, for passing as a parameter ($1::text[]). malloc'ed; NULL on OOM. */
char *pg_text_array_literal(char *const *items, size_t n);

/* The connection is usable, reconnecting it once when it is not. */
int pg_ensure(PGconn **c, const char *conninfo, char *err, size_t errlen);

#endif
