/*
 * test_guard_eval.c - the guard's pure state machine (guard_eval.h) driven
 * by tables of equity paths: one table per behaviour, one row per sample,
 * each row saying what the guard must decide (state, the exact events, and
 * where given the floors, the warning level, the countdown's end and a
 * phrase of the why). Also the rules' checks, presets and names.
 *
 * Threads: Criterion's workers; everything here is pure.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "guard_eval.h"

#define T0_MS 1795000000000LL /* a wall clock in 2026 */
#define DAY0 20000            /* a trading day number */
#define MAX_STEPS 16

enum act { SAMPLE = 0, ABORT, CLOSED, REARM };

/* One sample (and optionally an operator's or the thread's act before it)
 * and what the guard must answer. Zero means "not checked" for fl, dfl,
 * lv, ends, rule and why; st and ev are always checked. */
typedef struct step {
    enum act act;
    double t; /* seconds after T0_MS */
    double eq, bal;
    double age; /* seconds the data is old (negative: from the future) */
    int day;    /* DAY0 + day */
    double dep; /* deposits since the previous sample */
    bool nodata;
    enum guard_state st;
    unsigned ev;
    double fl, dfl; /* floors expected */
    int lv;         /* warning level + 1 */
    double ends;    /* countdown end in seconds after T0; -1: must be 0 */
    enum guard_rule rule;
    const char *why;
} step;

typedef struct path {
    const char *name;
    void (*rules)(guard_rules *r); /* NULL: the defaults */
    step s[MAX_STEPS];
} path;

/* Rule sets used by the tables. */
static void static10(guard_rules *r)
{
    guard_rules_default(r);
    r->mode = GUARD_STATIC;
    r->max_loss_pct = 10;
}
static void eod10(guard_rules *r)
{
    guard_rules_default(r);
    r->mode = GUARD_TRAILING_EOD;
    r->max_loss_pct = 10;
}
static void eod_lock(guard_rules *r)
{
    cr_assert_eq(guard_preset("eod-trailing-lock", r), 0);
}
static void intraday_lock2(guard_rules *r)
{
    guard_rules_default(r);
    r->max_loss_pct = 10;
    r->lock_pct = 2;
}
static void ftmo2(guard_rules *r)
{
    cr_assert_eq(guard_preset("ftmo-2step", r), 0);
}
static void cd0(guard_rules *r)
{
    guard_rules_default(r);
    r->countdown_s = 0;
}
static void alert_only(guard_rules *r)
{
    guard_rules_default(r);
    r->countdown_s = -1;
}
static void static_initial(guard_rules *r)
{
    static10(r);
    r->initial_balance = 50000;
}

#define AT(t_, eq_, bal_) .t = (t_), .eq = (eq_), .bal = (bal_)

static const path PATHS[] = {
    {"static: the floor stays at initial less 10% whatever the highs; warnings up and back; "
     "breach, countdown, close at the end and not before; closing and closed untouched",
     static10,
     {
         {AT(0, 10000, 10000), .st = GS_OK, .fl = 9000, .lv = 1, .rule = GR_MAX_LOSS},
         /* a new high does not move a static floor */
         {AT(1, 12000, 10000), .st = GS_OK, .fl = 9000},
         /* used (10000-9500)/1000 = 0.5: first warning level */
         {AT(2, 9500, 10000), .st = GS_WARNING, .ev = GE_WARNING, .lv = 2, .why = "50%"},
         /* 0.8: the second */
         {AT(3, 9200, 10000), .st = GS_WARNING, .ev = GE_WARNING, .lv = 3},
         /* back down a level: no event */
         {AT(3.5, 9400, 10000), .st = GS_WARNING, .lv = 2},
         /* below every level: recovered */
         {AT(4, 9600, 10000), .st = GS_OK, .ev = GE_RECOVERED, .lv = 1},
         /* at the floor exactly: breach and a 10 s countdown */
         {AT(5, 9000, 10000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN, .ends = 15,
          .why = "at or below floor 9,000.00"},
         {AT(10, 8900, 10000), .st = GS_COUNTDOWN, .ends = 15},
         /* a millisecond before the end: still counting */
         {AT(14.999, 8900, 10000), .st = GS_COUNTDOWN, .ends = 15},
         {AT(15, 8900, 10000), .st = GS_CLOSING, .ev = GE_CLOSE},
         /* closing belongs to the guard thread: a recovery does not undo it */
         {AT(16, 9900, 10000), .st = GS_CLOSING},
         {.act = CLOSED, AT(17, 9900, 9900), .st = GS_CLOSED},
         {AT(18, 5000, 9900), .st = GS_CLOSED},
         /* re-armed by an admin: armed again; the static floor is where it was */
         {.act = REARM, AT(19, 9950, 9950), .st = GS_OK, .fl = 9000},
         {AT(20, 8999, 9950), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN, .ends = 30},
     }},
    {"static with an initial balance from the rules, not the first balance",
     static_initial,
     {
         /* (50000-47000)/5000 = 0.6 used at the very first sample */
         {AT(0, 47000, 47000), .st = GS_WARNING, .ev = GE_WARNING, .fl = 45000, .lv = 2},
         {AT(1, 45000, 48000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN},
     }},
    {"trailing intraday: the floor rises with peak equity and never falls",
     NULL,
     {
         {AT(0, 10000, 10000), .st = GS_OK, .fl = 8000},
         {AT(1, 11000, 10000), .st = GS_OK, .fl = 8800},
         {AT(2, 10500, 10000), .st = GS_OK, .fl = 8800},
         {AT(3, 12000, 10000), .st = GS_OK, .fl = 9600, .why = "from peak 12,000.00"},
         /* (12000-10000)/2400 = 0.83: both warnings at once, one event */
         {AT(4, 10000, 10000), .st = GS_WARNING, .ev = GE_WARNING, .fl = 9600, .lv = 3},
         {AT(5, 9600, 10000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN, .ends = 15},
         /* back above the floor during the countdown: cancelled, still warning */
         {AT(6, 9700, 10000), .st = GS_WARNING, .ev = GE_RECOVERED, .fl = 9600, .ends = -1},
         {AT(7, 12500, 10000), .st = GS_OK, .ev = GE_RECOVERED, .fl = 10000},
     }},
    {"trailing end-of-day: the floor moves only at a day rollover, from the highest "
     "end-of-day balance",
     eod10,
     {
         {AT(0, 10000, 10000), .st = GS_OK, .fl = 9000},
         /* intraday highs of equity and balance do not move it */
         {AT(1, 10600, 10500), .st = GS_OK, .fl = 9000},
         {AT(2, 10800, 10800), .st = GS_OK, .fl = 9000},
         /* next day: yesterday closed at 10800 */
         {AT(3, 10800, 10800), .day = 1, .st = GS_OK, .fl = 9720},
         {AT(4, 10200, 10200), .day = 1, .st = GS_WARNING, .ev = GE_WARNING, .fl = 9720},
         /* a lower close does not lower it; three days skipped are one rollover */
         {AT(5, 10200, 10200), .day = 4, .st = GS_WARNING, .fl = 9720},
         {AT(6, 9720, 10200), .day = 4, .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN},
     }},
    {"trailing end-of-day with a lock at the initial balance (preset eod-trailing-lock)",
     eod_lock,
     {
         {AT(0, 10000, 10000), .st = GS_OK, .fl = 9500},
         {AT(1, 10300, 10300), .day = 1, .st = GS_OK, .fl = 9500},
         /* 10300 x 0.95 = 9785 */
         {AT(2, 10600, 10600), .day = 2, .st = GS_OK, .fl = 9785},
         /* 10600 x 0.95 = 10070: locked at 10000 */
         {AT(3, 11000, 11000), .day = 3, .st = GS_OK, .fl = 10000, .why = "locked"},
         {AT(4, 12000, 12000), .day = 4, .st = GS_OK, .fl = 10000},
         {AT(5, 10000, 12000), .day = 4, .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN},
     }},
    {"trailing intraday with a lock at initial + 2%",
     intraday_lock2,
     {
         {AT(0, 10000, 10000), .st = GS_OK, .fl = 9000},
         {AT(1, 11000, 10000), .st = GS_OK, .fl = 9900},
         /* 11500 x 0.9 = 10350: locked at 10200 */
         {AT(2, 11500, 10000), .st = GS_OK, .fl = 10200},
         {AT(3, 13000, 10000), .st = GS_OK, .fl = 10200},
     }},
    {"daily loss from the balance at the reset (FTMO 2-Step: 10% static, 5% daily)",
     ftmo2,
     {
         {AT(0, 100000, 100000), .st = GS_OK, .fl = 90000, .dfl = 95000},
         /* daily used 0.4 beats static 0.2 */
         {AT(1, 98000, 100000), .st = GS_OK, .rule = GR_DAILY_LOSS},
         {AT(2, 97000, 97000), .st = GS_WARNING, .ev = GE_WARNING, .lv = 2, .rule = GR_DAILY_LOSS,
          .why = "daily loss 5%"},
         /* a new day starts from today's balance: 97000 x 0.95 */
         {AT(3, 97000, 97000), .day = 1, .st = GS_OK, .ev = GE_RECOVERED, .fl = 90000, .dfl = 92150,
          .rule = GR_MAX_LOSS},
         {AT(4, 92150, 97000), .day = 1, .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN,
          .rule = GR_DAILY_LOSS, .why = "at or below daily floor 92,150.00"},
         /* the static floor binds when it is the higher one */
         {AT(5, 91000, 91000), .day = 2, .st = GS_WARNING, .ev = GE_RECOVERED, .fl = 90000,
          .dfl = 86450, .rule = GR_MAX_LOSS},
         {AT(6, 90000, 91000), .day = 2, .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN,
          .rule = GR_MAX_LOSS},
     }},
    {"a day that goes backwards (clock jumped back over the reset) is not a new day",
     ftmo2,
     {
         {AT(0, 100000, 100000), .day = 1, .st = GS_OK, .dfl = 95000},
         {AT(1, 96000, 96000), .day = 1, .st = GS_WARNING, .ev = GE_WARNING, .dfl = 95000},
         /* if this reset the day start, 96000 x 0.95 would forgive the loss */
         {AT(2, 96000, 96000), .day = 0, .st = GS_WARNING, .dfl = 95000},
         {AT(3, 95000, 96000), .day = 0, .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN},
     }},
    {"deposits and withdrawals move baselines and floors by their amount: a deposit is not a "
     "recovery, a withdrawal is not a loss",
     NULL,
     {
         {AT(0, 10000, 10000), .st = GS_OK, .fl = 8000},
         /* lose 1500 of the 2000 allowance: 0.75 */
         {AT(1, 8500, 10000), .st = GS_WARNING, .ev = GE_WARNING, .fl = 8000, .lv = 2},
         /* withdraw 5000: equity 3500, the floor moves to 3000; still 0.75 used */
         {AT(2, 3500, 5000), .dep = -5000, .st = GS_WARNING, .fl = 3000, .lv = 2},
         /* deposit 20000: the floor moves to 23000; still 0.75, no recovery */
         {AT(3, 23500, 25000), .dep = 20000, .st = GS_WARNING, .fl = 23000, .lv = 2},
         /* a gain of 2000 on top is a new peak 27000 (the allowance stays 2000 + 20%) */
         {AT(4, 27000, 25000), .st = GS_OK, .ev = GE_RECOVERED, .fl = 24600},
         /* and losing the allowance trips it */
         {AT(5, 24600, 25000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN},
     }},
    {"a deposit during a breach does not cancel it; only equity above the floor does",
     static10,
     {
         {AT(0, 10000, 10000), .st = GS_OK, .fl = 9000},
         {AT(1, 9000, 10000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN, .ends = 11},
         {AT(2, 14000, 15000), .dep = 5000, .st = GS_COUNTDOWN, .fl = 14000, .ends = 11},
         {AT(11, 14000, 15000), .st = GS_CLOSING, .ev = GE_CLOSE},
     }},
    {"countdown 0: straight to closing",
     cd0,
     {
         {AT(0, 10000, 10000), .st = GS_OK},
         {AT(1, 7000, 10000), .st = GS_CLOSING, .ev = GE_BREACH | GE_CLOSE, .ends = -1},
     }},
    {"countdown -1: alert only, breached while at or below the floor, never closing",
     alert_only,
     {
         {AT(0, 10000, 10000), .st = GS_OK},
         {AT(1, 7000, 10000), .st = GS_BREACHED, .ev = GE_BREACH, .ends = -1},
         {AT(100, 6000, 10000), .st = GS_BREACHED},
         {AT(3600, 6000, 10000), .st = GS_BREACHED},
         {AT(3601, 9000, 10000), .st = GS_WARNING, .ev = GE_RECOVERED},
     }},
    {"blind: stale data stops a countdown; fresh data and a breach start a new, full one",
     NULL,
     {
         {AT(0, 10000, 10000), .st = GS_OK},
         {AT(1, 8000, 10000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN, .ends = 11},
         /* the data is 31 s old at t=9 (blind after 30 s) */
         {AT(9, 8000, 10000), .age = 31, .st = GS_BLIND, .ev = GE_BLIND, .ends = -1,
          .why = "data is 31 s old (blind after 30 s)"},
         {AT(10, 8000, 10000), .age = 32, .st = GS_BLIND, .ends = -1},
         /* past the old end: nothing closes while blind */
         {AT(12, 8000, 10000), .age = 35, .st = GS_BLIND, .ends = -1},
         {AT(13, 7900, 10000), .st = GS_COUNTDOWN, .ev = GE_SIGHTED | GE_BREACH | GE_COUNTDOWN,
          .ends = 23},
         {AT(22.9, 7900, 10000), .st = GS_COUNTDOWN},
         {AT(23, 7900, 10000), .st = GS_CLOSING, .ev = GE_CLOSE},
     }},
    {"blind: NaN, negative or missing equity, a bad balance, never acts",
     NULL,
     {
         {AT(0, 10000, 10000), .nodata = true, .st = GS_BLIND, .ev = GE_BLIND, .why = "no data"},
         {AT(1, 10000, 10000), .st = GS_OK, .ev = GE_SIGHTED, .fl = 8000},
         {AT(2, NAN, 10000), .st = GS_BLIND, .ev = GE_BLIND, .why = "equity is not a number"},
         {AT(3, -50, 10000), .st = GS_BLIND, .why = "equity is negative"},
         {AT(4, 9000, INFINITY), .st = GS_BLIND, .why = "balance is not a number"},
         {AT(5, 9000, 0), .st = GS_BLIND, .why = "balance is not positive"},
         {AT(6, 9000, 10000), .dep = NAN, .st = GS_BLIND, .why = "deposits"},
         /* nothing above touched the baselines: the floor is still 8000 */
         {AT(7, 9500, 10000), .st = GS_OK, .ev = GE_SIGHTED, .fl = 8000},
         {AT(8, 10000, 10000), .nodata = true, .st = GS_BLIND, .ev = GE_BLIND},
         {AT(9, 8500, 10000), .st = GS_WARNING, .ev = GE_SIGHTED | GE_WARNING, .lv = 2},
     }},
    {"blind during a warning keeps the level: back in view at the same level is no new warning",
     NULL,
     {
         {AT(0, 10000, 10000), .st = GS_OK},
         {AT(1, 8500, 10000), .st = GS_WARNING, .ev = GE_WARNING, .lv = 2},
         {AT(2, NAN, 10000), .st = GS_BLIND, .ev = GE_BLIND},
         {AT(3, 8500, 10000), .st = GS_WARNING, .ev = GE_SIGHTED, .lv = 2},
         {AT(4, NAN, 10000), .st = GS_BLIND, .ev = GE_BLIND},
         {AT(5, 9900, 10000), .st = GS_OK, .ev = GE_SIGHTED, .lv = 1},
     }},
    {"aborted: stays while at or below the floor, no new countdown, also through a blind "
     "spell; armed again above the floor",
     NULL,
     {
         {AT(0, 10000, 10000), .st = GS_OK},
         {AT(1, 7900, 10000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN},
         {.act = ABORT, AT(2, 7900, 10000), .st = GS_ABORTED, .ends = -1},
         {AT(30, 7000, 10000), .st = GS_ABORTED, .ends = -1},
         {AT(31, NAN, 10000), .st = GS_ABORTED, .why = "not a number"},
         {AT(70, 7000, 10000), .age = 40, .st = GS_ABORTED, .why = "40 s old"},
         {AT(71, 7000, 10000), .st = GS_ABORTED},
         {AT(72, 8100, 10000), .st = GS_WARNING, .ev = GE_RECOVERED},
         {AT(73, 7900, 10000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN, .ends = 83},
     }},
    {"re-arm after a close: the trailing peak restarts from the equity now",
     NULL,
     {
         {AT(0, 10000, 10000), .st = GS_OK, .fl = 8000},
         {AT(1, 8000, 10000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN},
         {AT(11, 8000, 10000), .st = GS_CLOSING, .ev = GE_CLOSE},
         {.act = CLOSED, AT(12, 8000, 8000), .st = GS_CLOSED},
         {.act = REARM, AT(13, 8000, 8000), .st = GS_OK, .fl = 6400, .lv = 1},
     }},
    {"clock jumps: forward makes the data old (blind, never acts); data from the future is "
     "blind; a backward jump cannot stretch a countdown",
     NULL,
     {
         {AT(0, 10000, 10000), .st = GS_OK},
         {AT(1, 7900, 10000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN, .ends = 11},
         /* the clock goes back 0.5 s: the end is pulled in to 10 s from now */
         {AT(0.5, 7900, 10000), .st = GS_COUNTDOWN, .ends = 10.5},
         /* back 4 more: never more than 10 s ahead of the clock now */
         {AT(-3.5, 7900, 10000), .st = GS_COUNTDOWN, .ends = 6.5},
         {AT(6.5, 7900, 10000), .st = GS_CLOSING, .ev = GE_CLOSE},
     }},
    {"clock jumps, continued: an hour forward is blind; data stamped in the future is blind",
     NULL,
     {
         {AT(0, 10000, 10000), .st = GS_OK},
         {AT(1, 7900, 10000), .st = GS_COUNTDOWN, .ev = GE_BREACH | GE_COUNTDOWN, .ends = 11},
         /* now jumped an hour ahead of the data's stamp */
         {AT(3601, 7900, 10000), .age = 3600, .st = GS_BLIND, .ev = GE_BLIND, .ends = -1},
         /* the clock went back: the data is 60 s ahead of it */
         {AT(10, 7900, 10000), .age = -60, .st = GS_BLIND, .why = "in the future"},
         /* within the tolerance, slightly-ahead data is fine */
         {AT(11, 7900, 10000), .age = -2, .st = GS_COUNTDOWN,
          .ev = GE_SIGHTED | GE_BREACH | GE_COUNTDOWN, .ends = 21},
     }},
};

static void run_path(const path *p)
{
    guard_rules r;
    if (p->rules)
        p->rules(&r);
    else
        guard_rules_default(&r);
    guard_baselines b;
    guard_status st;
    memset(&b, 0, sizeof b);
    memset(&st, 0, sizeof st);
    st.state = GS_OK;
    for (int i = 0; i < MAX_STEPS; i++) {
        const step *s = &p->s[i];
        if (i > 0 && s->t == 0 && s->eq == 0 && s->bal == 0)
            break; /* end of the table */
        int64_t now = T0_MS + (int64_t)llround(s->t * 1000);
        switch (s->act) {
        case ABORT: /* what command.c's guard.abort writes */
            st.state = GS_ABORTED;
            st.countdown_ends_ms = 0;
            break;
        case CLOSED: /* the guard thread, once every position is closed */
            st.state = GS_CLOSED;
            break;
        case REARM:
            guard_rearm(&b, &st, s->eq, s->bal);
            cr_assert_eq(st.state, GS_OK, "%s, step %d: rearm", p->name, i);
            break;
        default: break;
        }
        guard_sample in = {.has_data = !s->nodata,
                           .equity = s->eq,
                           .balance = s->bal,
                           .data_ms = now - (int64_t)llround(s->age * 1000),
                           .now_ms = now,
                           .day = DAY0 + s->day,
                           .deposits = s->dep};
        unsigned ev = guard_step(&r, &b, &in, &st);
        cr_assert_eq(st.state, s->st, "%s\n  step %d (t=%g eq=%g): state %s, expected %s (%s)",
                     p->name, i, s->t, s->eq, guard_state_name(st.state), guard_state_name(s->st),
                     st.why);
        cr_assert_eq(ev, s->ev, "%s\n  step %d (t=%g eq=%g): events 0x%x, expected 0x%x (%s)",
                     p->name, i, s->t, s->eq, ev, s->ev, st.why);
        if (s->fl != 0)
            cr_assert(fabs(st.floor - s->fl) < 1e-6, "%s\n  step %d: floor %.6f, expected %g",
                      p->name, i, st.floor, s->fl);
        if (s->dfl != 0)
            cr_assert(fabs(st.daily_floor - s->dfl) < 1e-6,
                      "%s\n  step %d: daily floor %.6f, expected %g", p->name, i, st.daily_floor,
                      s->dfl);
        if (s->lv != 0)
            cr_assert_eq(st.level, s->lv - 1, "%s\n  step %d: level %d, expected %d", p->name, i,
                         st.level, s->lv - 1);
        if (s->ends < 0)
            cr_assert_eq(st.countdown_ends_ms, 0, "%s\n  step %d: countdown end %lld, expected 0",
                         p->name, i, (long long)st.countdown_ends_ms);
        else if (s->ends > 0)
            cr_assert_eq(st.countdown_ends_ms, T0_MS + (int64_t)llround(s->ends * 1000),
                         "%s\n  step %d: countdown ends at T0%+lld ms, expected T0+%g s", p->name,
                         i, (long long)(st.countdown_ends_ms - T0_MS), s->ends);
        if (s->rule != GR_NONE)
            cr_assert_eq(st.rule, s->rule, "%s\n  step %d: rule %s, expected %s", p->name, i,
                         guard_rule_name(st.rule), guard_rule_name(s->rule));
        if (s->why)
            cr_assert(strstr(st.why, s->why), "%s\n  step %d: why \"%s\" lacks \"%s\"", p->name, i,
                      st.why, s->why);
        cr_assert(st.why[0], "%s\n  step %d: no why", p->name, i);
    }
}

/* One test per table, so one failing path does not hide the others. The
 * parameter is the table's index: Criterion copies parameters into another
 * process, where the tables' pointers would mean nothing. */
#define N_PATHS (sizeof PATHS / sizeof PATHS[0])
static int path_index[N_PATHS];

ParameterizedTestParameters(guard_eval, equity_paths)
{
    for (size_t i = 0; i < N_PATHS; i++)
        path_index[i] = (int)i;
    return cr_make_param_array(int, path_index, N_PATHS);
}

ParameterizedTest(int *i, guard_eval, equity_paths)
{
    cr_assert(*i >= 0 && (size_t)*i < N_PATHS);
    run_path(&PATHS[*i]);
}

Test(guard_eval, why_names_the_numbers)
{
    guard_rules r;
    guard_rules_default(&r);
    guard_baselines b = {0};
    guard_status st = {.state = GS_OK};
    guard_sample s = {.has_data = true,
                      .equity = 10000,
                      .balance = 10000,
                      .data_ms = T0_MS,
                      .now_ms = T0_MS,
                      .day = DAY0};
    guard_step(&r, &b, &s, &st);
    s.equity = 7950;
    s.now_ms += 1000;
    guard_step(&r, &b, &s, &st);
    cr_assert_str_eq(st.why, "equity 7,950.00 at or below floor 8,000.00 (max loss 20% trailing "
                             "intraday from peak 10,000.00)");
}

Test(guard_eval, first_sample_sets_the_baselines)
{
    guard_rules r;
    guard_rules_default(&r);
    guard_baselines b = {0};
    guard_status st = {.state = GS_OK};
    /* The deposits of the first sample are already in its balance. */
    guard_sample s = {.has_data = true,
                      .equity = 10100,
                      .balance = 10000,
                      .data_ms = T0_MS,
                      .now_ms = T0_MS,
                      .day = DAY0,
                      .deposits = 500};
    guard_step(&r, &b, &s, &st);
    cr_assert(b.initialised);
    cr_assert_float_eq(b.initial, 10000, 1e-9);
    cr_assert_float_eq(b.peak_equity, 10100, 1e-9);
    cr_assert_float_eq(b.eod_high, 10000, 1e-9);
    cr_assert_float_eq(b.day_start_balance, 10000, 1e-9);
    cr_assert_float_eq(b.last_balance, 10000, 1e-9);
    cr_assert_float_eq(b.net_deposits, 0, 1e-9);
    cr_assert_eq(b.day, DAY0);
}

Test(guard_eval, unusable_rules_or_baselines_never_act)
{
    guard_rules r;
    guard_rules_default(&r);
    r.max_loss_pct = NAN;
    guard_baselines b = {0};
    guard_status st = {.state = GS_OK};
    guard_sample s = {.has_data = true,
                      .equity = 1,
                      .balance = 10000,
                      .data_ms = T0_MS,
                      .now_ms = T0_MS,
                      .day = DAY0};
    cr_assert_eq(guard_step(&r, &b, &s, &st), GE_BLIND);
    cr_assert_eq(st.state, GS_BLIND);
    cr_assert(strstr(st.why, "rules not usable"), "%s", st.why);
    /* Remembered baselines that are not numbers restart from the sample. */
    guard_rules_default(&r);
    b = (guard_baselines){.initialised = true, .initial = NAN, .peak_equity = NAN};
    st = (guard_status){.state = GS_OK};
    s.equity = 10000;
    cr_assert_eq(guard_step(&r, &b, &s, &st), GE_NONE);
    cr_assert_eq(st.state, GS_OK);
    cr_assert_float_eq(st.floor, 8000, 1e-9);
    /* A state out of range is treated as blind. */
    st.state = (enum guard_state)99;
    cr_assert_eq(guard_step(&r, &b, &s, &st), GE_SIGHTED);
    cr_assert_eq(st.state, GS_OK);
}

/* The rules changed while the guard was tripped. */
Test(guard_eval, rules_changed_while_tripped)
{
    guard_rules r;
    alert_only(&r);
    guard_baselines b = {0};
    guard_status st = {.state = GS_OK};
    guard_sample s = {.has_data = true,
                      .equity = 10000,
                      .balance = 10000,
                      .data_ms = T0_MS,
                      .now_ms = T0_MS,
                      .day = DAY0};
    guard_step(&r, &b, &s, &st);
    s.equity = 7000;
    cr_assert_eq(guard_step(&r, &b, &s, &st), GE_BREACH);
    cr_assert_eq(st.state, GS_BREACHED);
    /* An admin turns auto-close on: the countdown starts, the breach is not
     * reported twice. */
    r.countdown_s = 10;
    s.now_ms = s.data_ms = T0_MS + 5000;
    cr_assert_eq(guard_step(&r, &b, &s, &st), GE_COUNTDOWN);
    cr_assert_eq(st.state, GS_COUNTDOWN);
    cr_assert_eq(st.countdown_ends_ms, T0_MS + 15000);
    /* A shorter countdown pulls the end in. */
    r.countdown_s = 2;
    s.now_ms = s.data_ms = T0_MS + 6000;
    cr_assert_eq(guard_step(&r, &b, &s, &st), GE_NONE);
    cr_assert_eq(st.countdown_ends_ms, T0_MS + 8000);
    /* And alert only again stops it: breached, nothing closes. */
    r.countdown_s = -1;
    s.now_ms = s.data_ms = T0_MS + 9000;
    cr_assert_eq(guard_step(&r, &b, &s, &st), GE_NONE);
    cr_assert_eq(st.state, GS_BREACHED);
    cr_assert_eq(st.countdown_ends_ms, 0);
}

Test(guard_eval, presets)
{
    guard_rules r;
    char err[200];
    for (int i = 0; guard_preset_names[i]; i++) {
        cr_assert_eq(guard_preset(guard_preset_names[i], &r), 0, "%s", guard_preset_names[i]);
        cr_assert_str_eq(r.preset, guard_preset_names[i]);
        cr_assert_eq(guard_rules_check(&r, err, sizeof err), 0, "%s: %s", r.preset, err);
    }
    cr_assert_eq(guard_preset("ftmo-2step", &r), 0);
    cr_assert_eq(r.mode, GUARD_STATIC);
    cr_assert_float_eq(r.max_loss_pct, 10, 1e-9);
    cr_assert_float_eq(r.daily_loss_pct, 5, 1e-9);
    cr_assert_str_eq(r.reset_tz, "Europe/Prague");
    cr_assert_eq(r.reset_minute, 0);
    cr_assert_eq(r.countdown_s, 10);
    cr_assert_eq(r.n_warn, 2);
    cr_assert_eq(guard_preset("ftmo-1step", &r), 0);
    cr_assert_eq(r.mode, GUARD_TRAILING_EOD);
    cr_assert_float_eq(r.max_loss_pct, 6, 1e-9);
    cr_assert_float_eq(r.lock_pct, 0, 1e-9);
    cr_assert_float_eq(r.daily_loss_pct, 3, 1e-9);
    cr_assert_eq(guard_preset("eod-trailing-lock", &r), 0);
    cr_assert_eq(r.mode, GUARD_TRAILING_EOD);
    cr_assert_float_eq(r.max_loss_pct, 5, 1e-9);
    cr_assert(isnan(r.daily_loss_pct));
    cr_assert_eq(guard_preset("intraday-trailing", &r), 0);
    guard_rules d;
    guard_rules_default(&d);
    cr_assert_eq(r.mode, d.mode);
    cr_assert_float_eq(r.max_loss_pct, d.max_loss_pct, 1e-9);
    cr_assert_eq(d.mode, GUARD_TRAILING_INTRADAY);
    cr_assert_float_eq(d.max_loss_pct, 20, 1e-9);
    cr_assert_eq(d.countdown_s, 10);
    cr_assert_str_eq(d.reset_tz, "UTC");
    cr_assert_eq(d.preset[0], '\0');
    cr_assert_eq(guard_preset("ftmo", &r), -1);
    cr_assert_eq(guard_preset("", &r), -1);
    cr_assert_eq(guard_preset(NULL, &r), -1);
}

/* Each row: a change to the defaults that guard_rules_check must refuse,
 * and a word its message must contain. */
static void bad_loss(guard_rules *r)
{
    r->max_loss_pct = 100;
}
static void bad_loss0(guard_rules *r)
{
    r->max_loss_pct = 0;
}
static void bad_mode(guard_rules *r)
{
    r->mode = GUARD_MODE_COUNT;
}
static void bad_initial(guard_rules *r)
{
    r->initial_balance = -5;
}
static void bad_initial_inf(guard_rules *r)
{
    r->initial_balance = INFINITY;
}
static void bad_lock(guard_rules *r)
{
    r->lock_pct = 100;
}
static void bad_lock_static(guard_rules *r)
{
    r->mode = GUARD_STATIC;
    r->lock_pct = 0;
}
static void bad_daily(guard_rules *r)
{
    r->daily_loss_pct = 0;
}
static void bad_reset(guard_rules *r)
{
    r->reset_minute = 1440;
}
static void bad_tz_empty(guard_rules *r)
{
    r->reset_tz[0] = '\0';
}
static void bad_tz_chars(guard_rules *r)
{
    snprintf(r->reset_tz, sizeof r->reset_tz, "UTC';--");
}
static void bad_tz_esc(guard_rules *r)
{
    snprintf(r->reset_tz, sizeof r->reset_tz, "\x1b[31m");
}
static void bad_warn_order(guard_rules *r)
{
    r->warn[0] = 0.8;
    r->warn[1] = 0.5;
}
static void bad_warn_range(guard_rules *r)
{
    r->warn[1] = 1;
}
static void bad_warn_nan(guard_rules *r)
{
    r->warn[0] = NAN;
}
static void bad_warn_many(guard_rules *r)
{
    r->n_warn = 5;
}
static void bad_countdown(guard_rules *r)
{
    r->countdown_s = 3601;
}
static void bad_countdown_neg(guard_rules *r)
{
    r->countdown_s = -2;
}
static void bad_blind(guard_rules *r)
{
    r->blind_after_s = 1;
}
static void bad_blind_big(guard_rules *r)
{
    r->blind_after_s = 3601;
}
static void bad_preset(guard_rules *r)
{
    snprintf(r->preset, sizeof r->preset, "FTMO 2");
}

Test(guard_eval, rules_check)
{
    static const struct {
        void (*change)(guard_rules *);
        const char *word;
    } bad[] = {
        {bad_loss, "max loss"},
        {bad_loss0, "max loss"},
        {bad_mode, "mode"},
        {bad_initial, "initial"},
        {bad_initial_inf, "initial"},
        {bad_lock, "lock"},
        {bad_lock_static, "static"},
        {bad_daily, "daily"},
        {bad_reset, "23:59"},
        {bad_tz_empty, "time zone"},
        {bad_tz_chars, "time zone"},
        {bad_tz_esc, "time zone"},
        {bad_warn_order, "ascending"},
        {bad_warn_range, "below 1"},
        {bad_warn_nan, "warning"},
        {bad_warn_many, "at most 4"},
        {bad_countdown, "countdown"},
        {bad_countdown_neg, "countdown"},
        {bad_blind, "blind"},
        {bad_blind_big, "blind"},
        {bad_preset, "preset"},
    };
    char err[200];
    guard_rules r;
    guard_rules_default(&r);
    cr_assert_eq(guard_rules_check(&r, err, sizeof err), 0, "%s", err);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        guard_rules_default(&r);
        bad[i].change(&r);
        err[0] = '\0';
        cr_assert_eq(guard_rules_check(&r, err, sizeof err), -1, "row %zu was accepted", i);
        cr_assert(strstr(err, bad[i].word), "row %zu: \"%s\" lacks \"%s\"", i, err, bad[i].word);
    }
    /* The limits themselves are fine. */
    guard_rules_default(&r);
    r.countdown_s = -1;
    r.blind_after_s = 2;
    r.reset_minute = 1439;
    r.n_warn = 0;
    snprintf(r.reset_tz, sizeof r.reset_tz, "America/Argentina/Buenos_Aires");
    cr_assert_eq(guard_rules_check(&r, err, sizeof err), 0, "%s", err);
}

Test(guard_eval, names_round_trip)
{
    for (int i = 0; i < GS_COUNT; i++) {
        enum guard_state s;
        cr_assert_eq(guard_state_parse(guard_state_name((enum guard_state)i), &s), 0);
        cr_assert_eq((int)s, i);
    }
    for (int i = 0; i < GUARD_MODE_COUNT; i++) {
        enum guard_mode m;
        cr_assert_eq(guard_mode_parse(guard_mode_name((enum guard_mode)i), &m), 0);
        cr_assert_eq((int)m, i);
    }
    enum guard_state s;
    enum guard_mode m;
    cr_assert_eq(guard_state_parse("OK", &s), -1);
    cr_assert_eq(guard_state_parse(NULL, &s), -1);
    cr_assert_eq(guard_mode_parse("trailing", &m), -1);
    cr_assert_str_eq(guard_state_name(GS_COUNTDOWN), "countdown");
    cr_assert_str_eq(guard_mode_name(GUARD_TRAILING_EOD), "trailing_eod");
    cr_assert_str_eq(guard_rule_name(GR_DAILY_LOSS), "daily_loss");
    cr_assert_str_eq(guard_rule_name(GR_NONE), "");
    cr_assert_str_eq(guard_state_name((enum guard_state)42), "unknown");
}
