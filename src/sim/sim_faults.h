/*
 * sim_faults.h - the simulator's fault settings: what they are, their limits,
 * and how they are read from command-line flags and from a JSON object.
 *
 * One table lists every knob once, so the CLI flag (--error-rate), the JSON
 * key (error_rate), the allowed range and the help text cannot drift apart.
 * Updates are all-or-nothing: a bad key or value leaves the settings as they
 * were and names the culprit.
 *
 * Functions on caller-owned structs; safe from any thread (the only outside
 * state read is the monotonic clock, for journal_down_ms). The world
 * (sim_world.h) holds the live copy under its mutex.
 */
#ifndef TRADEOPS_SIM_FAULTS_H
#define TRADEOPS_SIM_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define SIM_FAULTS_TEXT_LEN 129 /* text knobs: 1..128 printable ASCII characters */

typedef struct sim_faults {
    long latency_ms;         /* added to every broker reply */
    double error_rate;       /* answered 500 */
    double rate_limit_rate;  /* answered 429 with Retry-After */
    long retry_after;        /* seconds, for 429 */
    double malformed_rate;   /* 200 with invalid or truncated JSON */
    double oversized_rate;   /* 200 with a ~8 MiB body */
    double drop_rate;        /* connection closed, no reply */
    double wrong_types_rate; /* numbers as strings, fields missing */
    bool hostile_text;       /* escape sequences and bad UTF-8 in text */
    /* Count-based faults of the trade (close) route, for deterministic
     * tests: each answers the next N close requests its way and counts
     * down as it is used (sim_world_take_trade_fault). When several are
     * set, error goes first, then reject, requote, hang. */
    long trade_reject_next;  /* 200 TRADE_RETCODE_REJECT (10006); the position stays open */
    long trade_requote_next; /* 200 TRADE_RETCODE_REQUOTE (10004), transient; stays open */
    long trade_error_next;   /* HTTP 500; stays open */
    long trade_hang_next;    /* wait trade_hang_ms, then close and answer */
    long trade_hang_ms;
    /* The journal far ends (sim_journal.h); the *_next knobs count down as
     * sim_world_take_next uses them. */
    long journal_down_until_ms;   /* monotonic ms; knob journal_down_ms = N sets it to now + N */
    long journal_429_next;        /* 429 with Retry-After: journal_retry_after_s */
    long journal_424_next;        /* POST /api/v1/imports answered 424 */
    long journal_401_next;        /* 401 */
    long journal_malformed_next;  /* 200 with a broken JSON body */
    long journal_huge_next;       /* 200 with a 2 MiB body */
    long journal_hang_next;       /* no reply for journal_hang_ms, then 504 */
    long journal_hang_ms;         /* default 30000 */
    long journal_retry_after_s;   /* default 2 */
    long journal_import_ms;       /* how long an import runs; default 200 */
    long journal_fail_next_import; /* imports that finish "failed" */
    char journal_user[SIM_FAULTS_TEXT_LEN];     /* Tradervue's Basic auth; default demo */
    char journal_password[SIM_FAULTS_TEXT_LEN]; /* default demo-pass */
    char webhook_secret[SIM_FAULTS_TEXT_LEN];   /* default demo-webhook-secret */
} sim_faults;

void sim_faults_default(sim_faults *f);

/* If flag (e.g. "--error-rate") is a fault flag, returns 1 and whether it
 * takes a value in *takes_value; else 0. */
int sim_faults_is_flag(const char *flag, bool *takes_value);

/* Applies one CLI flag; value is NULL for a flag without one. Returns 0, or
 * -1 with err naming the flag and what is allowed. */
int sim_faults_set_flag(sim_faults *f, const char *flag, const char *value, char *err,
                        size_t errlen);

/* Applies a JSON object's keys; all-or-nothing. Returns 0, or -1 with err
 * naming the first bad key or value. */
int sim_faults_apply_json(sim_faults *f, const cJSON *obj, char *err, size_t errlen);

/* The settings as a JSON object keyed as sim_faults_apply_json reads them;
 * NULL when out of memory. */
cJSON *sim_faults_to_json(const sim_faults *f);

/* Help lines for the fault flags. */
void sim_faults_usage(FILE *out);

#endif
