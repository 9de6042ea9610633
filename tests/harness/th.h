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

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
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

/* A reply from th_sim_http. */
typedef struct th_reply {
    long status; /* HTTP status; 0 when no reply came */
    char *body;  /* malloc'ed, NUL-terminated ("" when empty); NULL when no reply */
    size_t body_len;
    char *headers;  /* the reply's header lines, malloc'ed ("" when none) */
    bool timed_out; /* no (whole) reply within the timeout */
} th_reply;

/* Any request to the simulator: body sent as is (NULL: none) with the given
 * Content-Type (NULL: none), the auth-token header only when with_auth, the
 * whole exchange bounded by timeout_ms. 0 when a reply came, -1 otherwise
 * (out->timed_out says whether the timeout cut it). Free with th_reply_free. */
int th_sim_http(const th_sim *s, const char *method, const char *path, const char *content_type,
                const char *body, bool with_auth, long timeout_ms, th_reply *out);
void th_reply_free(th_reply *r);
/* Copies the value of header name (case-insensitive) from r into buf,
 * trimmed; false when r has no such header. */
bool th_reply_header(const th_reply *r, const char *name, char *buf, size_t buflen);

/* Creates a new database on the test server, applies every migration, and
 * returns its conninfo (malloc'ed; free with th_db_drop). NULL on failure. */
char *th_db_fresh(void);
void th_db_drop(char *conninfo);

/* Environment accessors; skip the test (cr_skip) when a server is absent. */
const char *th_env(const char *name);

/* Waits up to timeout_ms for pred(arg) to return true, polling every 20 ms. */
bool th_wait_until(bool (*pred)(void *), void *arg, int timeout_ms);

/* Every notification on channel that listener (which LISTENs on it) has
 * been sent so far. A NOTIFY reaches a listener a moment after its commit,
 * so one read may come too early; instead this sends a sentinel on
 * channel through sender and reads until it arrives (PostgreSQL delivers
 * in commit order, so everything committed before is in). Each other
 * payload is strdup'ed into extras[0..*n) (at most max; the caller frees
 * them). 0, or -1 when the sentinel did not come within timeout_ms. */
int th_notifies(PGconn *listener, PGconn *sender, const char *channel, char **extras,
                size_t max, size_t *n, int timeout_ms);

#endif
