/*
 * detector.h - the closed-trade detector: reads every enabled account's deal
 * history from the broker bridge into broker_deals and records each closed
 * trade exactly once in closed_trades.
 *
 * Each pass (every [trades] interval_s), per account:
 *   1. GET history-deals from (cursor - overlap_s) to now, page by page
 *      (offset/limit) until a short page; no cursor yet means now -
 *      lookback_h.
 *   2. One transaction: the deals into broker_deals (ON CONFLICT DO
 *      NOTHING) and the cursor moved to the window's end. A failure anywhere
 *      before the commit moves nothing, so the next pass reads the same
 *      window again.
 *   3. Positions with a closing deal and no closed_trades row yet are built
 *      from their stored deals (trades.h) and inserted ON CONFLICT (account,
 *      position) DO NOTHING, with a NOTIFY on channel tradeops_trade_closed
 *      carrying the row id for each row actually inserted, in the same
 *      transaction. Strategy comes from bot_positions when the bot wrote a row.
 * The unique keys plus the cursor committed with the deals make a restart or
 * a crash at any point lose nothing and record nothing twice, and several
 * instances may run detectors side by side.
 *
 * A position whose opening deal was never read is recorded (incomplete) only
 * when the poller's latest state of the account (broker_account_state, link
 * up) was fetched after the position's last deal and broker_positions no
 * longer lists it; otherwise it waits for a later pass.
 *
 * Broker errors (HTTP failures, malformed replies, 429) are per account: the
 * pass goes on with the others. A 429's Retry-After (else the body's
 * metadata.recommendedRetryTime, else [broker] rate_limit_backoff_s) is
 * honoured per account: it is skipped until then. PostgreSQL is reconnected
 * when the connection drops.
 *
 * Threads: detector_new/start/stop/free and detector_last_stats from one
 * controlling thread (main); detector_last_stats is also safe while the
 * thread runs. The PostgreSQL connection and the curl handle are opened by
 * the first pass and belong to the thread that runs passes: either the
 * detector's own thread (after detector_start) or the caller of
 * detector_pass_once, never both at once.
 */
#ifndef TRADEOPS_DETECTOR_H
#define TRADEOPS_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* MetaApi's largest history page; the page size used unless told otherwise. */
#define DETECTOR_PAGE_LIMIT 1000
/* Most pages read for one account in one pass; a broker still sending full
 * pages past this is not honouring offset, and the window is not advanced. */
#define DETECTOR_MAX_PAGES 100

typedef struct detector detector;

typedef struct detector_stats {
    uint64_t passes;         /* completed passes (detector_last_stats only) */
    int64_t finished_ms;     /* when the pass ended, UTC epoch ms */
    size_t accounts_read;    /* accounts whose window was read and stored */
    size_t accounts_skipped; /* waiting for a 429's Retry-After */
    size_t deals_seen;       /* deals the broker returned */
    size_t deals_new;        /* of those, not stored before */
    size_t trades_recorded;  /* closed_trades rows inserted */
    size_t errors;           /* accounts (or steps) that failed */
    char last_error[256];    /* "ACCOUNT: what went wrong", "" when none */
} detector_stats;

/* cfg must outlive the detector. Checks the broker URL and token; opens
 * nothing yet. NULL with err on a bad configuration or out of memory. */
detector *detector_new(const config *cfg, char *err, size_t errlen);

/* Starts the thread: a pass at once, then every [trades] interval_s. */
int detector_start(detector *d, char *err, size_t errlen);
/* Wakes and joins the thread; prompt, bounded by one request's timeout. */
void detector_stop(detector *d);
void detector_free(detector *d);

/* One pass on the calling thread (no thread started). Returns 0 when the
 * pass ran (per-account failures are in *out), -1 with err when it could not
 * run at all (PostgreSQL unreachable, out of memory). */
int detector_pass_once(detector *d, detector_stats *out, char *err, size_t errlen);

/* The last finished pass's figures (passes counts them all). */
void detector_last_stats(detector *d, detector_stats *out);

/* Pages of fewer deals, for a bridge with a smaller maximum (and tests);
 * 1..DETECTOR_PAGE_LIMIT. Call before any pass. */
int detector_set_page_limit(detector *d, int limit);

#endif
