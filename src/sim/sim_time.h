/*
 * sim_time.h - the time formats of the MetaApi protocol.
 *
 * "time" fields are ISO-8601 UTC with milliseconds; "brokerTime" is the MT5
 * server's wall clock, which for most brokers is Eastern European time
 * (UTC+2, UTC+3 under EU summer time) so that the daily candle closes at
 * New York 17:00. Times are int64 milliseconds since the Unix epoch.
 *
 * Pure functions, safe from any thread.
 */
#ifndef TRADEOPS_SIM_TIME_H
#define TRADEOPS_SIM_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Room for either format with a NUL. */
#define SIM_TIME_TEXT_LEN 32

/* "2026-11-21T09:01:02.345Z" */
void sim_time_iso(int64_t ms, char *out, size_t outlen);

/* "2026-11-21 11:01:02.345" in the broker's time zone (EET/EEST). */
void sim_time_broker(int64_t ms, char *out, size_t outlen);

/* Offset of broker time from UTC at utc_ms, in milliseconds. */
int64_t sim_time_broker_offset_ms(int64_t utc_ms);

/* Parses "YYYY-MM-DD", optionally followed by "THH:MM[:SS[.frac]]" and "Z" or
 * "+HH:MM"/"-HH:MM" (no zone means UTC). Returns 0, or -1 when s is not such
 * a time; *ms is written only on success. */
int sim_time_parse_iso(const char *s, int64_t *ms);

#endif
