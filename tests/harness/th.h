/*
 * th.h - test harness: private servers and the simulator for integration tests.
 *
 * tests/run.sh starts a private PostgreSQL and Redis for the whole run and
 * exports:
 *   TRADEOPS_TEST_PG     libpq conninfo of the test server (database postgres)
 *   TRADEOPS_TEST_REDIS  unix:/path/to/redis.sock
 *   BIN_SIM, BIN_TRADEOPS paths of the binaries under test
 * Tests that need PostgreSQL take a fresh, migrated database of their own
 * (th_db_fresh), so tests never see each other's rows. Tests that need the
 * broker start their own simulator on a free loopback port (th_sim_start).
 */
#ifndef TRADEOPS_TH_H
#define TRADEOPS_TH_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct th_sim {
    pid_t pid;
    int port;
    char url[64];       /* http://127.0.0.1:PORT */
    char token[64];     /* the auth-token it checks */
} th_sim;

/* Starts tradeops-sim with --port 0 and the given extra arguments (NULL
 * terminated, may be NULL); waits until it listens. Returns 0 or -1 (and
 * prints why to stderr). */
int th_sim_start(th_sim *s, const char *const *extra_args);
void th_sim_stop(th_sim *s);

/* POSTs a JSON body to the simulator's control endpoint (/_sim/faults). */
int th_sim_control(const th_sim *s, const char *path, const char *json);

/* Any request to the simulator (auth-token set, JSON body or NULL); the
 * reply's body, malloc'ed ("" when empty), or NULL when no reply came.
 * *status gets the HTTP status. */
char *th_sim_request(const th_sim *s, const char *method, const char *path, const char *json,
                     long *status);

/* Creates a new database on the test server, applies every migration, and
 * returns its conninfo (malloc'ed; free with th_db_drop). NULL on failure. */
char *th_db_fresh(void);
void th_db_drop(char *conninfo);

/* Environment accessors; skip the test (cr_skip) when a server is absent. */
const char *th_env(const char *name);

/* Waits up to timeout_ms for pred(arg) to return true, polling every 20 ms. */
bool th_wait_until(bool (*pred)(void *), void *arg, int timeout_ms);

#endif
