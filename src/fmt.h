/*
 * fmt.h - how numbers, prices, ages and times are written for people:
 * the console screens and the headless text output alike.
 *
 * One place decides, so every screen shows money, ages and times alike.
 * Pure functions; safe from any thread. Every function writes "-" for a
 * missing value (NAN, never), never "nan".
 */
#ifndef TRADEOPS_FMT_H
#define TRADEOPS_FMT_H

#include <stddef.h>
#include <stdint.h>

/* 2 decimals; thousands separators when the result fits width (width 0:
 * always). */
void fmt_money(double v, int width, char *buf, size_t cap);

/* Digits follow magnitude: 5 decimals below 10, 3 below 1000, else 2. */
void fmt_price(double v, char *buf, size_t cap);

/* Lots, 2 decimals. */
void fmt_volume(double v, char *buf, size_t cap);

/* "0.8s", "12s", "5m03s", "2h05m", "3d"; INT64_MAX is "never". */
void fmt_age(int64_t ms, char *buf, size_t cap);

/* Drawdown against its limit: "12.3/20%". */
void fmt_dd(double dd_pct, double limit_pct, char *buf, size_t cap);

/* UTC time: "2024-05-01 13:45:10"; "05-01 13:45:10" when width < 19;
 * "05-01 13:45" when width < 14. */
void fmt_time_utc(int64_t epoch_ms, int width, char *buf, size_t cap);

/* Clock "13:45:10" UTC. */
void fmt_clock_utc(int64_t epoch_ms, char *buf, size_t cap);

/* Latency in ms: "12ms", "1.5s". */
void fmt_latency(double ms, char *buf, size_t cap);

#endif
