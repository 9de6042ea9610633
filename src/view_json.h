/*
 * view_json.h - the model's accounts and positions as JSON (cJSON).
 *
 * One shape serves the Redis cache, the store's cycle write and the headless
 * `--json` output, so they cannot drift apart. Numbers that are not finite
 * (an unset stop loss) become null. Times are ISO-8601 UTC with milliseconds.
 *
 * Threads: pure, any thread.
 */
#ifndef TRADEOPS_VIEW_JSON_H
#define TRADEOPS_VIEW_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

cJSON *view_json_position(const position *p);
/* with_positions adds a "positions" array. now_ms fills "age_ms". */
cJSON *view_json_account(const account_view *a, int64_t now_ms, int64_t stale_after_ms,
                         int with_positions);

/* The inverse of view_json_account with positions, for a snapshot another
 * instance put in the cache: fills *a (positions malloc'ed, owned by a)
 * when text is an object of that shape for account id. Anything else (not
 * JSON, another id, a field of the wrong type, a bad time) is refused:
 * -1 with err, *a untouched. Strings are copied truncated to fit, verbatim
 * otherwise (sanitise before printing, as for the broker's). */
int view_json_parse_account(const char *text, const char *id, account_view *a, char *err,
                            size_t errlen);

/* Formats epoch ms as 2026-11-21T09:01:02.345Z (out >= 32 bytes). */
void view_iso_time(int64_t ms, char *out, size_t outlen);

/* Adds a number, or null when it is not finite. */
void view_json_add_number(cJSON *o, const char *name, double v);

#endif
