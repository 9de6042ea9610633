/*
 * guard_eval.c - the drawdown guard's rules, presets and state machine; see
 * guard_eval.h for the contract.
 *
 * Decisions the header leaves open, written down here:
 *   - The first good sample sets the baselines from what the account holds:
 *     initial = rules.initial_balance when set, else the balance; peak =
 *     equity; EOD high, day start and last balance = balance. Deposits
 *     reported with that sample are already in the balance and are not
 *     applied again.
 *   - A day rollover happens only when the sample's day is later than the
 *     remembered one (several days at once are one rollover). A day that
 *     goes backwards (the wall clock jumped back over a reset) is ignored:
 *     resetting the day-start balance then could forgive a day's losses.
 *   - Clock jumps. The countdown's end is an absolute time, but it is never
 *     allowed to lie further ahead than countdown_s on the current clock:
 *     after a backward jump the end is pulled in to now + countdown_s, so a
 *     jump can delay a close by at most one countdown, never by the size of
 *     the jump. Data stamped more than GUARD_FUTURE_TOLERANCE_MS after now
 *     (the clock went back by more than that) makes the guard blind, which
 *     stops the countdown; fresh data then starts a new full one. A forward
 *     jump makes the data look old: blind, which never acts.
 *   - aborted, closing and closed are kept when the data goes blind: they
 *     are an operator's or the guard thread's decision, and none of them
 *     acts on its own, so there is nothing to stop. (Going blind and coming
 *     back must not undo an operator's abort by starting a new countdown.)
 *     The why still says what is wrong with the data.
 *   - breached without a countdown (alert only) starts one if the rules
 *     are changed to have one while equity is still at or below the floor.
 *   - Rules that fail guard_rules_check make the guard blind: it never acts
 *     on rules it does not understand.
 *
 * Threads: none; every function is reentrant.
 */
#include "guard_eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"

/* Data stamped this far after the guard's clock means a clock problem. */
#define GUARD_FUTURE_TOLERANCE_MS 5000
#define MS_PER_S 1000
#define PCT 100.0
#define MINUTES_PER_HOUR 60
#define MINUTES_PER_DAY 1440
#define GUARD_COUNTDOWN_MIN (-1)
#define GUARD_COUNTDOWN_MAX 3600
#define GUARD_BLIND_MIN 2
#define GUARD_BLIND_MAX 3600

/* The defaults (guard_eval.h, engine.md). */
#define DEFAULT_MAX_LOSS_PCT 20.0
#define DEFAULT_WARN_1 0.5
#define DEFAULT_WARN_2 0.8
#define DEFAULT_COUNTDOWN_S 10
#define DEFAULT_BLIND_AFTER_S 30

static const char *const STATE_NAMES[GS_COUNT] = {
    [GS_OK] = "ok",
    [GS_WARNING] = "warning",
    [GS_BREACHED] = "breached",
    [GS_COUNTDOWN] = "countdown",
    [GS_CLOSING] = "closing",
    [GS_CLOSED] = "closed",
    [GS_ABORTED] = "aborted",
    [GS_BLIND] = "blind",
};

static const char *const MODE_NAMES[GUARD_MODE_COUNT] = {
    [GUARD_STATIC] = "static",
    [GUARD_TRAILING_INTRADAY] = "trailing_intraday",
    [GUARD_TRAILING_EOD] = "trailing_eod",
};

const char *const guard_preset_names[] = {"ftmo-2step", "ftmo-1step", "eod-trailing-lock",
                                          "intraday-trailing", NULL};

const char *guard_state_name(enum guard_state s)
{
    return (unsigned)s < GS_COUNT ? STATE_NAMES[s] : "unknown";
}

int guard_state_parse(const char *s, enum guard_state *out)
{
    for (int i = 0; s && i < GS_COUNT; i++)
        if (strcmp(s, STATE_NAMES[i]) == 0) {
            *out = (enum guard_state)i;
            return 0;
        }
    return -1;
}

const char *guard_mode_name(enum guard_mode m)
{
    return (unsigned)m < GUARD_MODE_COUNT ? MODE_NAMES[m] : "unknown";
}

int guard_mode_parse(const char *s, enum guard_mode *out)
{
    for (int i = 0; s && i < GUARD_MODE_COUNT; i++)
        if (strcmp(s, MODE_NAMES[i]) == 0) {
            *out = (enum guard_mode)i;
            return 0;
        }
    return -1;
}

const char *guard_rule_name(enum guard_rule r)
{
    switch (r) {
    case GR_MAX_LOSS: return "max_loss";
    case GR_DAILY_LOSS: return "daily_loss";
    default: return "";
    }
}

void guard_rules_default(guard_rules *r)
{
    memset(r, 0, sizeof *r);
    r->max_loss_pct = DEFAULT_MAX_LOSS_PCT;
    r->mode = GUARD_TRAILING_INTRADAY;
    r->initial_balance = NAN;
    r->lock_pct = NAN;
    r->daily_loss_pct = NAN;
    r->reset_minute = 0;
    snprintf(r->reset_tz, sizeof r->reset_tz, "UTC");
    r->warn[0] = DEFAULT_WARN_1;
    r->warn[1] = DEFAULT_WARN_2;
    r->n_warn = 2;
    r->countdown_s = DEFAULT_COUNTDOWN_S;
    r->blind_after_s = DEFAULT_BLIND_AFTER_S;
}

int guard_preset(const char *name, guard_rules *out)
{
    guard_rules r;
    guard_rules_default(&r);
    if (!name)
        return -1;
    if (strcmp(name, "ftmo-2step") == 0) {
        r.mode = GUARD_STATIC;
        r.max_loss_pct = 10;
        r.daily_loss_pct = 5;
        snprintf(r.reset_tz, sizeof r.reset_tz, "Europe/Prague");
    } else if (strcmp(name, "ftmo-1step") == 0) {
        r.mode = GUARD_TRAILING_EOD;
        r.max_loss_pct = 6;
        r.lock_pct = 0;
        r.daily_loss_pct = 3;
        snprintf(r.reset_tz, sizeof r.reset_tz, "Europe/Prague");
    } else if (strcmp(name, "eod-trailing-lock") == 0) {
        r.mode = GUARD_TRAILING_EOD;
        r.max_loss_pct = 5;
        r.lock_pct = 0;
    } else if (strcmp(name, "intraday-trailing") != 0) {
        return -1;
    }
    snprintf(r.preset, sizeof r.preset, "%s", name);
    *out = r;
    return 0;
}

static bool pct_open(double v)
{
    return isfinite(v) && v > 0 && v < PCT;
}

int guard_rules_check(const guard_rules *r, char *err, size_t errlen)
{
    size_t plen = strnlen(r->preset, sizeof r->preset);
    if (plen >= sizeof r->preset ||
        strspn(r->preset, "abcdefghijklmnopqrstuvwxyz0123456789_-") != plen) {
        snprintf(err, errlen, "the preset name may have only a-z, 0-9, _ and -, at most %d",
                 GUARD_PRESET_LEN - 1);
        return -1;
    }
    if (!pct_open(r->max_loss_pct)) {
        snprintf(err, errlen, "max loss must be a percent above 0 and below 100");
        return -1;
    }
    if ((unsigned)r->mode >= GUARD_MODE_COUNT) {
        snprintf(err, errlen, "max-loss mode must be static, trailing_intraday or trailing_eod");
        return -1;
    }
    if (!isnan(r->initial_balance) && !(isfinite(r->initial_balance) && r->initial_balance > 0)) {
        snprintf(err, errlen,
                 "the initial balance must be a positive amount (or unset: the "
                 "first balance seen)");
        return -1;
    }
    if (!isnan(r->lock_pct)) {
        if (!(isfinite(r->lock_pct) && r->lock_pct >= 0 && r->lock_pct < PCT)) {
            snprintf(err, errlen,
                     "the lock level must be a percent from 0 to below 100 above "
                     "the initial balance");
            return -1;
        }
        if (r->mode == GUARD_STATIC) {
            snprintf(err, errlen,
                     "a lock level applies only to the trailing modes; a static "
                     "floor never rises (remove the lock)");
            return -1;
        }
    }
    if (!isnan(r->daily_loss_pct) && !pct_open(r->daily_loss_pct)) {
        snprintf(err, errlen, "daily loss must be a percent above 0 and below 100 (or unset)");
        return -1;
    }
    if (r->reset_minute < 0 || r->reset_minute >= MINUTES_PER_DAY) {
        snprintf(err, errlen, "the daily reset must be a time from 00:00 to 23:59");
        return -1;
    }
    size_t tlen = strnlen(r->reset_tz, sizeof r->reset_tz);
    if (tlen == 0 || tlen >= sizeof r->reset_tz ||
        strspn(r->reset_tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+/-") !=
            tlen) {
        snprintf(err, errlen,
                 "the reset time zone must be an IANA name such as Europe/Prague "
                 "or UTC (letters, digits, _ + / -, at most %d)",
                 GUARD_TZ_LEN - 1);
        return -1;
    }
    if (r->n_warn < 0 || r->n_warn > GUARD_MAX_WARN) {
        snprintf(err, errlen, "at most %d warning levels", GUARD_MAX_WARN);
        return -1;
    }
    for (int i = 0; i < r->n_warn; i++) {
        if (!(isfinite(r->warn[i]) && r->warn[i] > 0 && r->warn[i] < 1)) {
            snprintf(err, errlen,
                     "warning levels are fractions of the allowance above 0 and "
                     "below 1, e.g. 0.5,0.8");
            return -1;
        }
        if (i > 0 && !(r->warn[i] > r->warn[i - 1])) {
            snprintf(err, errlen, "warning levels must be ascending, e.g. 0.5,0.8");
            return -1;
        }
    }
    if (r->countdown_s < GUARD_COUNTDOWN_MIN || r->countdown_s > GUARD_COUNTDOWN_MAX) {
        snprintf(err, errlen, "the countdown must be 0 to %d seconds (or none: alert only)",
                 GUARD_COUNTDOWN_MAX);
        return -1;
    }
    if (r->blind_after_s < GUARD_BLIND_MIN || r->blind_after_s > GUARD_BLIND_MAX) {
        snprintf(err, errlen, "blind-after must be %d to %d seconds", GUARD_BLIND_MIN,
                 GUARD_BLIND_MAX);
        return -1;
    }
    return 0;
}

/* snprintf that may cut: a message cut at the end is still worth keeping. */
static void put(char *dst, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void put(char *dst, size_t n, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    if (vsnprintf(dst, n, f, ap) < 0 && n)
        dst[0] = '\0';
    va_end(ap);
}

/* put() into why. */
static void say(guard_status *st, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void say(guard_status *st, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    if (vsnprintf(st->why, sizeof st->why, f, ap) < 0)
        st->why[0] = '\0';
    va_end(ap);
}

static const char *mode_words(enum guard_mode m)
{
    switch (m) {
    case GUARD_STATIC: return "static";
    case GUARD_TRAILING_INTRADAY: return "trailing intraday";
    default: return "trailing end-of-day";
    }
}

/* Why the sample cannot be trusted, or NULL (fills buf). */
static const char *blind_reason(const guard_rules *r, const guard_sample *s, char *buf, size_t n)
{
    char a[48];
    if (!s->has_data)
        return "no data from the broker yet";
    /* In double: stamps from outside may be anything, and must not overflow. */
    double age_ms = (double)s->now_ms - (double)s->data_ms;
    if (-age_ms > GUARD_FUTURE_TOLERANCE_MS) {
        snprintf(buf, n, "data is stamped %.0f s in the future (clock problem?)",
                 floor(-age_ms / MS_PER_S));
        return buf;
    }
    if (age_ms > (double)r->blind_after_s * MS_PER_S) {
        snprintf(buf, n, "data is %.0f s old (blind after %d s)", floor(age_ms / MS_PER_S),
                 r->blind_after_s);
        return buf;
    }
    if (!isfinite(s->equity))
        return "equity is not a number";
    if (!isfinite(s->balance))
        return "balance is not a number";
    if (s->equity < 0) {
        fmt_money(s->equity, 0, a, sizeof a);
        snprintf(buf, n, "equity is negative (%s)", a);
        return buf;
    }
    if (!(s->balance > 0)) {
        fmt_money(s->balance, 0, a, sizeof a);
        snprintf(buf, n, "balance is not positive (%s)", a);
        return buf;
    }
    if (!isfinite(s->deposits))
        return "the deposits and withdrawals are not a number";
    return NULL;
}

/* A rule's floor: pct of the baseline's trading money below it (see
 * guard_eval.h: deposits move the floor by their amount). */
static double floor_of(double baseline, double pct, double net_deposits)
{
    return baseline - pct / PCT * (baseline - net_deposits);
}

/* Fraction of one rule's allowance used. */
static double used_of(double baseline, double floor_, double equity)
{
    double allowance = baseline - floor_;
    if (!(allowance > 0))
        return equity <= floor_ ? 1 : 0;
    double u = (baseline - equity) / allowance;
    return u > 0 ? u : 0;
}

static void init_baselines(const guard_rules *r, guard_baselines *b, const guard_sample *s)
{
    b->initialised = true;
    b->initial = isfinite(r->initial_balance) ? r->initial_balance : s->balance;
    b->peak_equity = s->equity;
    b->eod_high = s->balance;
    b->day = s->day;
    b->day_start_balance = s->balance;
    b->last_balance = s->balance;
    b->net_deposits = 0;
}

/* Deposits, rollover, peak: the baselines after this sample. */
static void move_baselines(const guard_rules *r, guard_baselines *b, const guard_sample *s)
{
    if (!b->initialised || !isfinite(b->initial) || !isfinite(b->peak_equity) ||
        !isfinite(b->eod_high) || !isfinite(b->day_start_balance) || !isfinite(b->last_balance)) {
        /* Never seen, or remembered baselines that cannot be used: start
         * from what the account holds now. */
        init_baselines(r, b, s);
        return;
    }
    if (!isfinite(b->net_deposits))
        b->net_deposits = 0;
    double d = s->deposits;
    if (d != 0) {
        b->net_deposits += d;
        b->initial += d;
        b->peak_equity += d;
        b->eod_high += d;
        b->day_start_balance += d;
        b->last_balance += d;
    }
    if (s->day > b->day) {
        if (b->last_balance > b->eod_high)
            b->eod_high = b->last_balance;
        b->day_start_balance = s->balance;
        b->day = s->day;
    }
    if (s->equity > b->peak_equity)
        b->peak_equity = s->equity;
    b->last_balance = s->balance;
}

/* Floors, used and the binding rule; returns the binding floor. Writes a
 * description of the max-loss rule into rule_text. */
static double evaluate(const guard_rules *r, const guard_baselines *b, double equity,
                       guard_status *st, char *rule_text, size_t n)
{
    char base[48];
    double baseline;
    const char *from;
    switch (r->mode) {
    case GUARD_STATIC:
        baseline = b->initial;
        from = "initial";
        break;
    case GUARD_TRAILING_INTRADAY:
        baseline = b->peak_equity;
        from = "peak";
        break;
    default:
        baseline = b->eod_high;
        from = "end-of-day high";
        break;
    }
    double floor_ = floor_of(baseline, r->max_loss_pct, b->net_deposits);
    bool locked = false;
    if (r->mode != GUARD_STATIC && isfinite(r->lock_pct)) {
        double lock = b->initial + r->lock_pct / PCT * (b->initial - b->net_deposits);
        if (lock < floor_) {
            floor_ = lock;
            locked = true;
        }
    }
    fmt_money(baseline, 0, base, sizeof base);
    put(rule_text, n, "max loss %g%% %s from %s %s%s", r->max_loss_pct, mode_words(r->mode), from,
        base, locked ? ", locked" : "");
    st->floor = floor_;
    double used = used_of(baseline, floor_, equity);
    st->rule = GR_MAX_LOSS;
    double binding = floor_;
    st->daily_floor = NAN;
    if (isfinite(r->daily_loss_pct)) {
        st->daily_floor = floor_of(b->day_start_balance, r->daily_loss_pct, b->net_deposits);
        double du = used_of(b->day_start_balance, st->daily_floor, equity);
        if (st->daily_floor > binding)
            binding = st->daily_floor;
        if (du > used) {
            used = du;
            st->rule = GR_DAILY_LOSS;
            fmt_money(b->day_start_balance, 0, base, sizeof base);
            put(rule_text, n, "daily loss %g%% from %s at the %02d:%02d %s reset",
                r->daily_loss_pct, base, r->reset_minute / MINUTES_PER_HOUR,
                r->reset_minute % MINUTES_PER_HOUR, r->reset_tz);
        }
    }
    st->used = used;
    int level = 0;
    while (level < r->n_warn && r->warn[level] <= used)
        level++;
    st->level = level;
    return binding;
}

static unsigned go_blind(guard_status *st, const char *why)
{
    say(st, "%s", why);
    enum guard_state s = st->state;
    if (s == GS_CLOSING || s == GS_CLOSED || s == GS_ABORTED)
        return GE_NONE;
    st->countdown_ends_ms = 0;
    if (s == GS_BLIND)
        return GE_NONE;
    st->state = GS_BLIND;
    return GE_BLIND;
}

/* At or below the floor from an armed state: breach, and the countdown
 * (or the close, or nothing) the rules ask for. */
static unsigned trip(const guard_rules *r, const guard_sample *s, guard_status *st)
{
    unsigned ev = GE_BREACH;
    st->countdown_ends_ms = 0;
    if (r->countdown_s < 0) {
        st->state = GS_BREACHED;
    } else if (r->countdown_s == 0) {
        st->state = GS_CLOSING;
        ev |= GE_CLOSE;
    } else {
        st->state = GS_COUNTDOWN;
        st->countdown_ends_ms = s->now_ms + (int64_t)r->countdown_s * MS_PER_S;
        ev |= GE_COUNTDOWN;
    }
    return ev;
}

unsigned guard_step(const guard_rules *r, guard_baselines *b, const guard_sample *s,
                    guard_status *st)
{
    char buf[sizeof st->why];
    if ((unsigned)st->state >= GS_COUNT)
        st->state = GS_BLIND; /* garbage in: never act on it */
    if (guard_rules_check(r, buf, sizeof buf) != 0) {
        char why[sizeof st->why];
        snprintf(why, sizeof why, "rules not usable: %.120s", buf);
        return go_blind(st, why);
    }
    const char *bad = blind_reason(r, s, buf, sizeof buf);
    if (bad)
        return go_blind(st, bad);

    enum guard_state prev = st->state;
    int prev_level = st->level;
    unsigned ev = prev == GS_BLIND ? GE_SIGHTED : GE_NONE;
    move_baselines(r, b, s);

    char rule_text[120], eq[48], fl[48];
    double binding = evaluate(r, b, s->equity, st, rule_text, sizeof rule_text);
    bool below = s->equity <= binding;
    fmt_money(s->equity, 0, eq, sizeof eq);
    fmt_money(binding, 0, fl, sizeof fl);
    if (below)
        say(st, "equity %s at or below %sfloor %s (%s)", eq,
            st->rule == GR_DAILY_LOSS ? "daily " : "", fl, rule_text);
    else
        say(st, "equity %s, floor %s: %.0f%% of the allowance used (%s)", eq, fl, st->used * PCT,
            rule_text);

    enum guard_state armed = st->level > 0 ? GS_WARNING : GS_OK;
    switch (prev) {
    case GS_CLOSING:
    case GS_CLOSED: break; /* the guard thread's, or an admin's re-arm */
    case GS_ABORTED:
        if (!below) {
            st->state = armed;
            ev |= GE_RECOVERED;
        }
        break;
    case GS_COUNTDOWN:
        if (!below) {
            st->state = armed;
            st->countdown_ends_ms = 0;
            ev |= GE_RECOVERED;
        } else if (r->countdown_s < 0) {
            st->state = GS_BREACHED; /* the rules now say alert only */
            st->countdown_ends_ms = 0;
        } else {
            /* Never further ahead than one countdown on this clock. */
            int64_t latest = s->now_ms + (int64_t)r->countdown_s * MS_PER_S;
            if (st->countdown_ends_ms <= 0 || st->countdown_ends_ms > latest)
                st->countdown_ends_ms = latest;
            if (s->now_ms >= st->countdown_ends_ms) {
                st->state = GS_CLOSING;
                ev |= GE_CLOSE;
            }
        }
        break;
    case GS_BREACHED:
        if (!below) {
            st->state = armed;
            ev |= GE_RECOVERED;
        } else if (r->countdown_s >= 0) {
            ev |= trip(r, s, st) & ~(unsigned)GE_BREACH; /* already reported */
        }
        break;
    default: /* ok, warning, blind: evaluated afresh */
        st->countdown_ends_ms = 0;
        if (below) {
            ev |= trip(r, s, st);
        } else {
            st->state = armed;
            if (prev == GS_WARNING && armed == GS_OK)
                ev |= GE_RECOVERED;
            if (st->level > prev_level)
                ev |= GE_WARNING;
        }
        break;
    }
    return ev;
}

void guard_rearm(guard_baselines *b, guard_status *st, double equity, double balance)
{
    if (b->initialised) {
        if (isfinite(equity) && equity >= 0)
            b->peak_equity = equity;
        if (isfinite(balance) && balance > 0) {
            b->eod_high = balance;
            b->last_balance = balance;
        }
    }
    st->state = GS_OK;
    st->level = 0;
    st->countdown_ends_ms = 0;
    say(st, "re-armed by an admin");
}
