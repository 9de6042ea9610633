/*
 * sim_journal.h - the far ends of the journal-sync protocols: Tradervue's
 * import API and a signed webhook receiver, answering as the real services
 * do, recording what they store, and failing on demand (the journal_* knobs
 * of sim_faults.h, set with POST /_sim/faults or its alias /_sim/control).
 *
 * Tradervue under /api/v1 (no auth-token; HTTP Basic auth instead: user
 * journal_user, password journal_password, default demo / demo-pass):
 *   wrong or missing credentials: 401 {"error":"Access denied"}; then no or
 *   an empty User-Agent: 400 {"error":"User-Agent header required"}; then
 *   a path other than /api/v1/imports: 404, a method other than GET/POST: 405.
 *   POST /api/v1/imports {"allow_duplicates":"true"|"false"|bool (default
 *     false),"account_tag":string (default ""),"executions":[{"datetime":
 *     ISO 8601 with a time (fraction and zone optional, no zone = UTC),
 *     "symbol":1..64 bytes of UTF-8,"quantity":non-zero number (negative =
 *     sell),"price":number > 0,"commission":number}, ...]}; other keys are
 *     ignored. A bad body: 400 {"error":"..."} naming the problem. An import
 *     of this user still running, or the journal_424_next knob: 424
 *     {"error":"Import already in progress"}. Else 200 {"status":"queued"}:
 *     the import runs journal_import_ms (its finish time is stored; status
 *     is judged whenever the user's import is looked at).
 *   GET /api/v1/imports: the user's latest import: {"status":"none"} when
 *     there is none; while it runs {"status":"queued"} (first half of its
 *     time) or {"status":"processing"}; once finished {"status":"succeeded",
 *     "info":{"exec_count":stored,"trade_count_new":T,"duplicate_count":D}}
 *     or {"status":"failed","info":{"error":"..."}}. Reading a finished
 *     status clears it: the next GET answers "none".
 *   On success each execution is stored in the journal of (user,
 *   account_tag), in order, unless allow_duplicates is false and an
 *   identical one (same datetime to the second, symbol, quantity, price) is
 *   there already: then it is skipped and counted as a duplicate.
 *   exec_count + duplicate_count is the number of executions posted;
 *   trade_count_new counts the stored executions that bring their symbol's
 *   position in that journal back to flat (round trips completed).
 *   journal_fail_next_import = N: the next N accepted imports finish
 *   "failed" with info.error "simulated failure" and store nothing.
 *
 * Webhook receiver, POST /hooks/{anything} (no auth-token):
 *   X-Tradeops-Timestamp: unix seconds, within 300 s of this clock, and
 *   X-Tradeops-Signature: "sha256=" + 64 lowercase hex of HMAC-SHA256
 *   (webhook_secret, timestamp "." raw body); else 401 {"error":"bad
 *   signature"}. Then Idempotency-Key: 1..200 printable ASCII, else 400.
 *   Then the body: a JSON object with "trade_id" (a whole number from 0 to
 *   2^53-1) and "account" (1..128 bytes of UTF-8), else 400. A key seen
 *   before: 200 {"ok":true,"duplicate":true} (counted as a duplicate
 *   delivery, stored once); a new one: stored, 200 {"ok":true}.
 *
 * Faults, in this order, on every /api/v1 and /hooks request: while
 * journal_down_ms runs: 503 {"error":"maintenance"}; then the first of
 * journal_429_next (429, Retry-After: journal_retry_after_s, {"error":
 * "rate limited"}), journal_401_next (401), journal_malformed_next (200
 * {"status":), journal_huge_next (200, 2 MiB of valid JSON padding),
 * journal_hang_next (no reply for journal_hang_ms, default 30 s, then 504)
 * that is above 0 is counted down and answers. A faulted request never
 * reaches the service: nothing is stored, no status is read. Then a body
 * over SIM_ROUTES_MAX_BODY: 413.
 *
 * GET /_sim/journal (no auth-token needed; one is ignored): {"tradervue":
 * {"imports" (accepted),"rejected_424","failed_imports","executions"
 * (stored),"duplicates" (skipped),"journals":[{"user","account_tag",
 * "executions":[{"datetime","symbol","quantity","price","commission"}]}]},
 * "webhook":{"deliveries" (every 200, duplicates too),
 * "duplicate_deliveries","bad_signatures","trades":[{"key","trade_id",
 * "account","count"}]},"requests" (every /api/v1 and /hooks request,
 * faulted ones too)}. Finished imports are applied before it is rendered.
 * POST /_sim/journal/reset (no auth-token needed either) clears records,
 * journals, imports and keys (not the knobs) and answers {"ok":true}.
 *
 * Caps (memory stays bounded): SIM_JOURNAL_MAX_EXECUTIONS stored executions
 * over all journals (an import that would pass it finishes "failed":
 * "journal full"), SIM_JOURNAL_MAX_JOURNALS journals, SIM_JOURNAL_MAX_USERS
 * users with an import (503 past it), SIM_JOURNAL_MAX_KEYS webhook keys
 * (503 past it). POST /_sim/journal/reset makes room.
 *
 * Threads: any connection thread. All state is guarded by the journal's
 * own mutex, held to judge and change it and to render /_sim/journal. The
 * world's mutex may be taken with it held (to count a knob down), never the
 * other way round.
 */
#ifndef TRADEOPS_SIM_JOURNAL_H
#define TRADEOPS_SIM_JOURNAL_H

#include <stdbool.h>

#include "sim_faults.h"
#include "sim_routes.h"
#include "sim_world.h"

#define SIM_JOURNAL_MAX_EXECUTIONS 100000
#define SIM_JOURNAL_MAX_JOURNALS 1000
#define SIM_JOURNAL_MAX_USERS 64
#define SIM_JOURNAL_MAX_KEYS 100000

/* NULL when out of memory. */
sim_journal *sim_journal_new(void);
void sim_journal_free(sim_journal *j);

/* Any request under /api/v1 (tradervue true) or /hooks/ (false): faults,
 * then the service. f is the request's snapshot of the knobs. */
void sim_journal_handle(sim_world *w, bool tradervue, const sim_request *rq, const sim_faults *f,
                        sim_reply *out);

/* GET /_sim/journal and POST /_sim/journal/reset. */
void sim_journal_control(sim_journal *j, const sim_request *rq, sim_reply *out);

#endif
