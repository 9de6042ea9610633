/*
 * guard_eval.h - the drawdown guard's rules and its state machine, pure:
 * no clock, no database, no network. The guard thread (guard.h) feeds it
 * samples and carries out what it decides; tests feed it tables.
 *
 * Rules (engine.md): max loss in one of three modes
 *   static             floor = initial x (1 - max_loss_pct/100)
 *   trailing_intraday  floor = peak equity x (1 - max_loss_pct/100)
 *   trailing_eod       floor = highest end-of-day balance x (1 - max_loss_pct/100)
 * where a trailing floor stops rising at initial x (1 + lock_pct/100) when a
 * lock level is set; and daily loss, floor = balance at the day's reset x
 * (1 - daily_loss_pct/100). The binding floor is the higher of the two.
 * "Allowance used" is (baseline - equity) / (baseline - floor) for each rule
 * (baseline: initial, peak, EOD high or day-start balance), the larger of
 * the two; a warning level is reached when used >= that fraction.
 *
 * Deposits and withdrawals (balance deals) are not profit or loss: they move
 * every baseline by their amount (initial, peak, EOD high, day start), and
 * every floor by the same amount, so the money between equity and a floor
 * (and the fraction used) is what it was. That is why the allowance is a
 * percent of the baseline without the net deposits since the start:
 *   floor = baseline - pct/100 x (baseline - net_deposits)
 * which is baseline x (1 - pct/100) while nothing was deposited. (Moving
 * only the baselines would let a withdrawal trip the guard: 20% trailing,
 * peak 10,000, equity 8,500, withdraw 5,000 -> equity 3,500, floor 4,000.)
 *
 * States: ok -> warning -> breached -> countdown -> closing -> closed, plus
 * aborted (an operator stopped a countdown) and blind (no data, data older
 * than blind_after_s, or equity/balance not a finite positive number).
 *   - blind never acts: a countdown running when the data goes blind stops.
 *     When good data returns the guard evaluates afresh (a breach starts a
 *     new, full countdown).
 *   - at or below the binding floor: breached. With countdown_s set, the
 *     same step starts the countdown (state countdown, ends at now +
 *     countdown_s); without it the guard stays breached (alert only).
 *   - countdown: equity back above the floor cancels it (ok or warning);
 *     reaching the end moves to closing.
 *   - closing, closed: left only by the guard thread (closing -> closed) or
 *     an admin's re-arm (guard_rearm), never by a sample.
 *   - aborted: stays while equity is at or below the floor (no new
 *     countdown: an operator said no); once equity is above it again the
 *     guard is armed again (ok or warning). Like closing and closed, it is
 *     kept when the data goes blind (only why says so), so a stale spell
 *     cannot undo an operator's abort.
 *   - clock jumps: a countdown never ends later than countdown_s after the
 *     current clock (a backward jump cannot stretch it); data stamped more
 *     than 5 s in the future, or older than blind_after_s (a forward jump),
 *     makes the guard blind. guard_eval.c has the details.
 *
 * Threads: none; every function is reentrant.
 */
#ifndef TRADEOPS_GUARD_EVAL_H
#define TRADEOPS_GUARD_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum guard_mode { GUARD_STATIC = 0, GUARD_TRAILING_INTRADAY, GUARD_TRAILING_EOD, GUARD_MODE_COUNT };

enum guard_state {
    GS_OK = 0,
    GS_WARNING,
    GS_BREACHED,
    GS_COUNTDOWN,
    GS_CLOSING,
    GS_CLOSED,
    GS_ABORTED,
    GS_BLIND,
    GS_COUNT
};

enum guard_rule { GR_NONE = 0, GR_MAX_LOSS, GR_DAILY_LOSS };

#define GUARD_MAX_WARN 4
#define GUARD_PRESET_LEN 33
#define GUARD_TZ_LEN 64

typedef struct guard_rules {
    char preset[GUARD_PRESET_LEN]; /* "" when custom */
    double max_loss_pct;           /* (0, 100) */
    enum guard_mode mode;
    double initial_balance;        /* NAN: the first balance seen */
    double lock_pct;               /* NAN: no lock */
    double daily_loss_pct;         /* NAN: no daily rule */
    int reset_minute;              /* minutes after local midnight, 0..1439 */
    char reset_tz[GUARD_TZ_LEN];   /* IANA zone, e.g. "Europe/Prague" */
    double warn[GUARD_MAX_WARN];   /* ascending fractions in (0, 1) */
    int n_warn;
    int countdown_s;               /* -1: alert only, never close */
    int blind_after_s;
} guard_rules;

/* What the guard remembers between samples (guard_state's columns). */
typedef struct guard_baselines {
    bool initialised;
    double initial;            /* static baseline, deposits included */
    double peak_equity;
    double eod_high;
    int32_t day;               /* trading day (guard_day() in SQL) of day_start */
    double day_start_balance;
    double last_balance;       /* balance at the last good sample */
    double net_deposits;       /* deposits - withdrawals since initialised */
} guard_baselines;

typedef struct guard_sample {
    bool has_data;             /* false: never fetched */
    double equity, balance;    /* as the broker said; may be NAN or negative */
    int64_t data_ms;           /* when the broker data was fetched (UTC ms) */
    int64_t now_ms;            /* the guard's clock (UTC ms) */
    int32_t day;               /* the trading day now_ms falls in */
    double deposits;           /* net balance deals since the last sample */
} guard_sample;

typedef struct guard_status {
    enum guard_state state;
    int level;                 /* warning levels reached, 0..n_warn */
    double floor;              /* max-loss floor, NAN before initialised */
    double daily_floor;        /* NAN without a daily rule */
    double used;               /* fraction of the allowance used (max of rules) */
    enum guard_rule rule;      /* the rule nearest to (or past) its floor */
    int64_t countdown_ends_ms; /* 0 unless counting down */
    char why[160];             /* for people: "equity 7,950.00 <= floor 8,000.00 (max loss 20% trailing intraday)" */
} guard_status;

/* What a step did, as bits, for alerts and the event log. */
enum guard_event {
    GE_NONE = 0,
    GE_WARNING = 1 << 0,         /* a higher warning level was reached */
    GE_BREACH = 1 << 1,          /* equity reached the floor */
    GE_COUNTDOWN = 1 << 2,       /* a countdown started */
    GE_RECOVERED = 1 << 3,       /* back above the floor / below the warning levels */
    GE_CLOSE = 1 << 4,           /* the countdown ended: close everything now */
    GE_BLIND = 1 << 5,           /* the guard went blind (a countdown stopped, if any) */
    GE_SIGHTED = 1 << 6,         /* good data again after blind */
};

/* The defaults: 20% trailing intraday, warnings at 50% and 80% of the
 * allowance, a 10-second countdown, blind after 30 s, reset 00:00 UTC. */
void guard_rules_default(guard_rules *r);

/* Named presets: "ftmo-2step" (10% static, 5% daily, 00:00 Europe/Prague),
 * "ftmo-1step" (6% trailing EOD locked at the initial balance, 3% daily,
 * 00:00 Europe/Prague), "eod-trailing-lock" (5% trailing EOD, lock at
 * +0%), "intraday-trailing" (the default rules). 0, or -1 for an unknown name. */
int guard_preset(const char *name, guard_rules *out);
/* The presets' names, NULL-terminated, for help and error messages. */
extern const char *const guard_preset_names[];

/* Checks a rule set; 0, or -1 with what is wrong in err. */
int guard_rules_check(const guard_rules *r, char *err, size_t errlen);

/* One evaluation. *b and *st carry over from the previous step (zeroed and
 * GS_OK for an account never seen); both are updated. Returns GE_* bits. */
unsigned guard_step(const guard_rules *r, guard_baselines *b, const guard_sample *s,
                    guard_status *st);

/* An admin re-armed the guard after a close or an abort: state ok, level 0,
 * baselines restart from the current balance and equity (the peak and EOD
 * high become what the account holds now; the static initial and the day
 * start are kept). */
void guard_rearm(guard_baselines *b, guard_status *st, double equity, double balance);

const char *guard_state_name(enum guard_state s);   /* "ok", "countdown", ... as stored */
int guard_state_parse(const char *s, enum guard_state *out);
const char *guard_mode_name(enum guard_mode m);     /* "static", "trailing_intraday", ... */
int guard_mode_parse(const char *s, enum guard_mode *out);
const char *guard_rule_name(enum guard_rule r);     /* "", "max_loss", "daily_loss" */

#endif
