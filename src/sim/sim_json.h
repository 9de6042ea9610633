/*
 * sim_json.h - the simulator's replies in MetaApi's JSON shapes (cJSON), and
 * the ways the fault knobs spoil them.
 *
 * Builders take copies of market state (never the market itself), so they
 * run outside the world mutex. They return a new cJSON tree, or NULL when out
 * of memory; the caller deletes it.
 *
 * Pure functions, safe from any thread. Randomness comes in as a seed.
 */
#ifndef TRADEOPS_SIM_JSON_H
#define TRADEOPS_SIM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sim_market.h"

/* Size of the oversized-fault body. */
#define SIM_JSON_OVERSIZED_BYTES (8u * 1024u * 1024u)

/* hostile: some names, symbols and comments carry escape sequences, C1
 * controls and invalid UTF-8 (see sim_json.c for the exact strings). */
cJSON *sim_json_account_info(const sim_account_info *info, bool hostile);
cJSON *sim_json_positions(const sim_position *p, size_t n, bool hostile);
cJSON *sim_json_deals(const sim_deal *d, size_t n, bool hostile);
cJSON *sim_json_trade_done(uint64_t order_id, const char *position_id);
cJSON *sim_json_trade_closed(void);
/* {"error":error,"message":message} */
cJSON *sim_json_error(const char *error, const char *message);
/* 429 body with metadata.recommendedRetryTime = now + retry_after_s. */
cJSON *sim_json_rate_limited(int64_t now_ms, long retry_after_s);

/* Turns numbers into strings and drops fields, at least one change per
 * reply, in place. Returns 0, or -1 when out of memory. */
int sim_json_wrong_types(cJSON *root, uint64_t seed);

/* A new malloc'ed body that is not valid JSON (truncated, NaN, HTML, empty),
 * made from body. NULL when out of memory. */
char *sim_json_malformed(const char *body, size_t len, uint64_t seed, size_t *outlen);

/* A new malloc'ed valid JSON body of about SIM_JSON_OVERSIZED_BYTES made from
 * body (array elements repeated, or whitespace padding). NULL when out of
 * memory. */
char *sim_json_oversized(const char *body, size_t len, size_t *outlen);

#endif
