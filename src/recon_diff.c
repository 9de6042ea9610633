/*
 * recon_diff.c - see recon_diff.h.
 *
 * One account's rows are few (tens), but the reconciler runs this for every
 * account every pass: the diff sorts pointers (not the 320-byte rows),
 * keeps small inputs' pointer arrays on the stack, formats text only for a
 * finding, and merges; one account of many positions costs n log n, not
 * n squared. tests/bench/bench_recon.c measures it (linear in accounts).
 *
 * Pure: no I/O, no clock, no globals but constant tables. Threads: any; a
 * recon_tracker belongs to the one thread that feeds it.
 */
#include "recon_diff.h"

#include <ctype.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

/* Defaults for a NULL tolerance or a field that is NaN or negative; the
 * configuration's own defaults ([recon] tolerance_points) are the same. */
#define RECON_DEFAULT_PRICE_POINTS 10.0
#define RECON_DEFAULT_VOLUME_LOTS 1e-6

/* Prices and lots are decimal fractions held in binary: 1.08510 - 1.08500 is
 * 10.000000000001 points, not 10. Differences this close to the tolerance
 * count as at it, so "exactly at the tolerance" never flips to a mismatch. */
#define RECON_POINTS_EPSILON 1e-6
#define RECON_LOTS_EPSILON 1e-9

/* Point sizes (see recon_point_size in the header). */
#define RECON_POINT_FX 0.00001
#define RECON_POINT_FINE 0.001  /* JPY crosses, silver */
#define RECON_POINT_COARSE 0.01 /* gold, indices, anything priced high */
#define RECON_COARSE_PRICE 1000.0

/* Decimals shown for lots in details and reasons. */
#define RECON_LOT_DECIMALS 2
/* Significant digits when the fixed decimals would hide the difference. */
#define RECON_EXACT_DIGITS 10
/* Longest number we print: sign, digits, point, exponent. */
#define RECON_NUM_LEN 48

/* Inputs up to this many rows sort their pointer arrays on the stack. */
#define RECON_STACK_ROWS 64
/* Up to this many rows, insertion sort beats qsort's indirect calls. */
#define RECON_INSERTION_MAX 16

/* The three-letter codes that make a six-letter symbol a currency pair.
 * Generous on purpose: a pair missing here is treated as an index (point
 * 0.01), 1000 times too lenient for it. */
static const char RECON_CURRENCIES[][4] = {
    "USD", "EUR", "GBP", "JPY", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK", "DKK", "PLN",
    "HUF", "CZK", "TRY", "ZAR", "MXN", "SGD", "HKD", "CNH", "CNY", "RUB", "ILS", "THB",
    "INR", "KRW", "TWD", "BRL", "CLP", "COP", "IDR", "MYR", "PHP", "RON", "BGN", "HRK",
    "ISK", "KES", "NGN", "AED", "SAR", "KWD", "QAR", "EGP", "ARS", "PEN", "VND", "PKR",
};

/* ---- formatting ---- */

/* v with `decimals` decimals when that shows it exactly (0.50, 1.08500);
 * otherwise with enough significant digits to show what is there (0.501),
 * so a detail never reads "0.50 expected, 0.50 at the broker". NaN, which
 * a level uses for "unset" and the broker may send for a volume, reads
 * "unknown" (levels print "unset" before getting here). */
static void fmt_num(char *buf, size_t len, double v, int decimals)
{
    if (isnan(v)) {
        snprintf(buf, len, "unknown");
        return;
    }
    snprintf(buf, len, "%.*f", decimals, v);
    if (isfinite(v) && strtod(buf, NULL) != v)
        snprintf(buf, len, "%.*g", RECON_EXACT_DIGITS, v);
}

/* Decimals that one point of this size needs: 0.00001 -> 5. */
static int point_decimals(double point)
{
    if (!(point > 0) || !isfinite(point))
        return RECON_LOT_DECIMALS;
    long d = lround(-log10(point));
    return d < 0 ? 0 : (int)d;
}

static void fmt_level(char *buf, size_t len, double v, double point)
{
    if (isnan(v)) {
        snprintf(buf, len, "unset");
        return;
    }
    fmt_num(buf, len, v, point_decimals(point));
}

/* Outside text shown inside a detail or reason: inert on any terminal. */
static void shown(char *buf, size_t len, const char *s)
{
    sanitize_text(s, buf, len, true);
}

/* ---- point size ---- */

static bool is_currency(const char *s)
{
    for (size_t i = 0; i < sizeof RECON_CURRENCIES / sizeof RECON_CURRENCIES[0]; i++)
        if (memcmp(s, RECON_CURRENCIES[i], 3) == 0)
            return true;
    return false;
}

/* "EURUSD", "eurusd.m", "#GBPJPYm": six letters (after any leading
 * punctuation a broker adds) made of two currency codes; suffixes allowed. */
static bool is_currency_pair(const char *up)
{
    while (*up && !isalnum((unsigned char)*up))
        up++;
    for (int i = 0; i < 6; i++)
        if (!isalpha((unsigned char)up[i]))
            return false;
    return is_currency(up) && is_currency(up + 3);
}

/* Does s start with word (upper case), ignoring case? */
static bool starts(const char *s, const char *word)
{
    for (; *word; s++, word++)
        if (toupper((unsigned char)*s) != *word)
            return false;
    return true;
}

/* One pass over the name (this runs for every SL and TP compared). */
double recon_point_size(const char *symbol, double price)
{
    bool gold = false, fine = false;
    char up[sizeof((recon_pos *)0)->symbol];
    size_t n = 0;
    for (const char *c = symbol ? symbol : ""; *c && n + 1 < sizeof up; c++) {
        switch (toupper((unsigned char)*c)) {
        case 'X':
            gold = gold || starts(c, "XAU");
            fine = fine || starts(c, "XAG");
            break;
        case 'G': gold = gold || starts(c, "GOLD"); break;
        case 'S': fine = fine || starts(c, "SILVER"); break;
        case 'J': fine = fine || starts(c, "JPY"); break;
        default: break;
        }
        up[n++] = (char)toupper((unsigned char)*c);
    }
    up[n] = '\0';
    if (gold || (isfinite(price) && price > RECON_COARSE_PRICE))
        return RECON_POINT_COARSE;
    if (fine)
        return RECON_POINT_FINE;
    if (is_currency_pair(up))
        return RECON_POINT_FX;
    /* Indices, stocks, energies and anything unknown. */
    return RECON_POINT_COARSE;
}

/* ---- validation ---- */

static const char *reason(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *reason(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return buf;
}

/* A stop or take-profit level: NAN (unset) or a finite price above 0. */
static const char *level_problem(char *buf, size_t len, const recon_pos *p, const char *name,
                                 double v)
{
    if (isnan(v) || (isfinite(v) && v > 0))
        return NULL;
    char num[RECON_NUM_LEN];
    fmt_level(num, sizeof num, v, recon_point_size(p->symbol, v));
    if (!isfinite(v))
        return reason(buf, len, "%s %s is not finite", name, num);
    return reason(buf, len, "%s %s is not positive (null when unset)", name, num);
}

/* NULL for a good bot row, else why not (written to buf). Text is
 * formatted only for a bad row: the diff checks every row every pass. */
static const char *expected_problem(char *buf, size_t len, const recon_pos *p)
{
    char text[sizeof p->side], num[RECON_NUM_LEN];
    if (p->id[0] == '\0')
        return reason(buf, len, "position id is empty");
    if (p->symbol[0] == '\0')
        return reason(buf, len, "symbol is empty");
    if (strcmp(p->side, "BUY") != 0 && strcmp(p->side, "SELL") != 0) {
        shown(text, sizeof text, p->side);
        return reason(buf, len, "side \"%s\" is not BUY or SELL", text);
    }
    if (isnan(p->volume))
        return reason(buf, len, "volume is not a number");
    if (!isfinite(p->volume) || p->volume <= 0) {
        fmt_num(num, sizeof num, p->volume, RECON_LOT_DECIMALS);
        return reason(buf, len, "volume %s is not %s", num,
                      isfinite(p->volume) ? "positive" : "finite");
    }
    const char *r = level_problem(buf, len, p, "SL", p->stop_loss);
    return r ? r : level_problem(buf, len, p, "TP", p->take_profit);
}

bool recon_expected_check(recon_pos *p)
{
    p->invalid = expected_problem(p->invalid_reason, sizeof p->invalid_reason, p) != NULL;
    if (!p->invalid)
        p->invalid_reason[0] = '\0';
    return !p->invalid;
}

/* ---- diff ---- */

typedef struct finding_list {
    recon_finding *v;
    size_t n, cap;
} finding_list;

static int id_cmp(const recon_pos *a, const recon_pos *b)
{
    return strncmp(a->id, b->id, sizeof a->id);
}

/* By id, then by place in the caller's array, so that of rows sharing an id
 * the first one given sorts first (qsort alone is not stable). */
static int pos_ptr_cmp(const void *x, const void *y)
{
    const recon_pos *a = *(const recon_pos *const *)x, *b = *(const recon_pos *const *)y;
    int c = id_cmp(a, b);
    if (c != 0)
        return c;
    return (a > b) - (a < b);
}

static int key_cmp(const char *pa, enum recon_kind ka, const char *pb, enum recon_kind kb)
{
    int c = strncmp(pa, pb, sizeof((recon_finding *)0)->position);
    if (c != 0)
        return c;
    return ((int)ka > (int)kb) - ((int)ka < (int)kb);
}

/* The side a finding lacks: empty, numbers unset rather than 0. */
static void pos_blank(recon_pos *p)
{
    memset(p, 0, sizeof *p);
    p->volume = p->stop_loss = p->take_profit = p->price = NAN;
}

static recon_finding *add(finding_list *l, enum recon_kind kind, const recon_pos *e,
                          const recon_pos *a)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        if (cap > SIZE_MAX / sizeof *l->v)
            return NULL;
        recon_finding *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    recon_finding *f = &l->v[l->n++];
    const recon_pos *key = e ? e : a;
    memcpy(f->position, key->id, sizeof f->position);
    f->position[sizeof f->position - 1] = '\0';
    f->kind = kind;
    f->has_expected = e != NULL;
    f->has_actual = a != NULL;
    if (e) {
        f->expected = *e;
        if (!e->invalid)
            f->expected.invalid_reason[0] = '\0'; /* no stale text from the caller */
    } else {
        pos_blank(&f->expected);
    }
    if (a)
        f->actual = *a;
    else
        pos_blank(&f->actual);
    f->detail[0] = '\0';
    return f;
}

/* "BUY 0.50 EURUSD", for a position only one side has. */
static void describe(char *buf, size_t len, const recon_pos *p)
{
    char side[sizeof p->side], sym[sizeof p->symbol], vol[RECON_NUM_LEN];
    shown(side, sizeof side, p->side);
    shown(sym, sizeof sym, p->symbol);
    fmt_num(vol, sizeof vol, p->volume, RECON_LOT_DECIMALS);
    snprintf(buf, len, "%s %s %s", side, vol, sym);
}

/* SL or TP of a matched pair. One set and the other not is a finding
 * whatever the tolerance; both set, they may differ by tol_points points.
 * point is the pair's (from the broker's price), or NAN when the broker
 * gave no price: then the level itself is the price that picks it. */
static int diff_level(finding_list *l, enum recon_kind kind, const char *name, const recon_pos *e,
                      const recon_pos *a, double ev, double av, double point, double tol_points)
{
    bool he = !isnan(ev), ha = !isnan(av);
    if (!he && !ha)
        return 0;
    if (isnan(point))
        point = recon_point_size(a->symbol, he ? ev : av);
    double points = NAN;
    if (he && ha) {
        points = fabs(ev - av) / point;
        if (points <= tol_points + RECON_POINTS_EPSILON)
            return 0;
    }
    recon_finding *f = add(l, kind, e, a);
    if (!f)
        return -1;
    char es[RECON_NUM_LEN], as[RECON_NUM_LEN];
    fmt_level(es, sizeof es, ev, point);
    fmt_level(as, sizeof as, av, point);
    if (he && ha)
        snprintf(f->detail, sizeof f->detail, "%s %s expected, %s at the broker (%.1f points)",
                 name, es, as, points);
    else
        snprintf(f->detail, sizeof f->detail, "%s %s expected, %s at the broker", name, es, as);
    return 0;
}

_Static_assert(RECON_VOLUME < RECON_SIDE && RECON_SIDE < RECON_SL && RECON_SL < RECON_TP,
               "diff_pair makes its findings in kind order, so they come out sorted");

/* A position both sides hold. A position on another instrument is as wrong
 * as one in the other direction, so a symbol mismatch is reported as SIDE
 * (one finding per kind keeps the (position, kind) key unique). */
static int diff_pair(finding_list *l, const recon_pos *e, const recon_pos *a,
                     const recon_tolerance *tol)
{
    if (!(fabs(e->volume - a->volume) <= tol->volume_lots + RECON_LOTS_EPSILON)) {
        recon_finding *f = add(l, RECON_VOLUME, e, a);
        if (!f)
            return -1;
        char es[RECON_NUM_LEN], as[RECON_NUM_LEN];
        fmt_num(es, sizeof es, e->volume, RECON_LOT_DECIMALS);
        fmt_num(as, sizeof as, a->volume, RECON_LOT_DECIMALS);
        /* Equal at the fixed decimals: show enough digits to see why. */
        if (strcmp(es, as) == 0) {
            snprintf(es, sizeof es, "%.*g", DBL_DECIMAL_DIG, e->volume);
            snprintf(as, sizeof as, "%.*g", DBL_DECIMAL_DIG, a->volume);
        }
        snprintf(f->detail, sizeof f->detail, "volume %s expected, %s at the broker", es, as);
    }
    bool sym = strcmp(e->symbol, a->symbol) != 0, side = strcmp(e->side, a->side) != 0;
    if (sym || side) {
        recon_finding *f = add(l, RECON_SIDE, e, a);
        if (!f)
            return -1;
        char es[sizeof e->symbol], as[sizeof a->symbol], sd[sizeof f->detail / 2] = "";
        if (sym) {
            shown(es, sizeof es, e->symbol);
            shown(as, sizeof as, a->symbol);
            snprintf(sd, sizeof sd, "symbol %s expected, %s at the broker", es, as);
        }
        if (side) {
            shown(es, sizeof es, e->side);
            shown(as, sizeof as, a->side);
            snprintf(f->detail, sizeof f->detail, "%s%sside %s expected, %s at the broker", sd,
                     sym ? "; " : "", es, as);
        } else {
            snprintf(f->detail, sizeof f->detail, "%s", sd);
        }
    }
    /* One point size for both levels when the broker gives a price. */
    double point = NAN;
    bool levels = !isnan(e->stop_loss) || !isnan(a->stop_loss) || !isnan(e->take_profit) ||
                  !isnan(a->take_profit);
    if (levels && isfinite(a->price) && a->price > 0)
        point = recon_point_size(a->symbol, a->price);
    if (diff_level(l, RECON_SL, "SL", e, a, e->stop_loss, a->stop_loss, point, tol->price_points) !=
        0)
        return -1;
    return diff_level(l, RECON_TP, "TP", e, a, e->take_profit, a->take_profit, point,
                      tol->price_points);
}

/* One id: the first expected row with it (or NULL) against the first
 * actual row with it (or NULL). */
static int diff_id(finding_list *l, const recon_pos *exp, const recon_pos *act,
                   const recon_tolerance *tol)
{
    char what[sizeof((recon_finding *)0)->detail / 2];
    if (!exp) {
        recon_finding *f = add(l, RECON_UNEXPECTED_AT_BROKER, NULL, act);
        if (!f)
            return -1;
        describe(what, sizeof what, act);
        snprintf(f->detail, sizeof f->detail, "%s at the broker, none expected", what);
        return 0;
    }
    /* A row the caller already marked (one it could not even read) keeps
     * the caller's reason. */
    char why[sizeof exp->invalid_reason];
    const char *bad = exp->invalid ? (exp->invalid_reason[0] ? exp->invalid_reason
                                                             : "the bot's row is marked invalid")
                                   : expected_problem(why, sizeof why, exp);
    if (bad) {
        recon_finding *f = add(l, RECON_BAD_EXPECTED, exp, act);
        if (!f)
            return -1;
        f->expected.invalid = true;
        snprintf(f->expected.invalid_reason, sizeof f->expected.invalid_reason, "%s", bad);
        snprintf(f->detail, sizeof f->detail, "%s", bad);
        return 0;
    }
    if (!act) {
        recon_finding *f = add(l, RECON_MISSING_AT_BROKER, exp, NULL);
        if (!f)
            return -1;
        describe(what, sizeof what, exp);
        snprintf(f->detail, sizeof f->detail, "%s expected, none at the broker", what);
        return 0;
    }
    return diff_pair(l, exp, act, tol);
}

/* Sorts an account's row pointers by id, stably (of rows sharing an id,
 * the first given stays first). Insertion sort for the usual handful: no
 * indirect calls; qsort, with the place as a tie-break, past that. */
static void sort_rows(const recon_pos **v, size_t n)
{
    if (n > RECON_INSERTION_MAX) {
        qsort(v, n, sizeof *v, pos_ptr_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        const recon_pos *x = v[i];
        size_t j = i;
        for (; j > 0 && id_cmp(v[j - 1], x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Index past the run of rows sharing v[i]'s id. */
static size_t skip_id(const recon_pos *const *v, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && id_cmp(v[j], v[i]) == 0)
        j++;
    return j;
}

static double tol_or(double v, double dflt)
{
    return isnan(v) || v < 0 ? dflt : v;
}

int recon_diff(const recon_pos *exp, size_t n_exp, const recon_pos *act, size_t n_act,
               const recon_tolerance *tol, recon_finding **out, size_t *n_out)
{
    if (!out || !n_out)
        return -1;
    *out = NULL;
    *n_out = 0;
    if ((n_exp && !exp) || (n_act && !act) || n_exp > SIZE_MAX / 2 / sizeof(void *) ||
        n_act > SIZE_MAX / 2 / sizeof(void *))
        return -1;
    recon_tolerance t = {RECON_DEFAULT_PRICE_POINTS, RECON_DEFAULT_VOLUME_LOTS};
    if (tol) {
        t.price_points = tol_or(tol->price_points, RECON_DEFAULT_PRICE_POINTS);
        t.volume_lots = tol_or(tol->volume_lots, RECON_DEFAULT_VOLUME_LOTS);
    }

    const recon_pos *stack[2 * RECON_STACK_ROWS];
    const recon_pos **e = stack, **a = stack + RECON_STACK_ROWS, **heap = NULL;
    if (n_exp > RECON_STACK_ROWS || n_act > RECON_STACK_ROWS) {
        heap = malloc((n_exp + n_act) * sizeof *heap);
        if (!heap)
            return -1;
        e = heap;
        a = heap + n_exp;
    }
    for (size_t i = 0; i < n_exp; i++)
        e[i] = &exp[i];
    for (size_t i = 0; i < n_act; i++)
        a[i] = &act[i];
    sort_rows(e, n_exp);
    sort_rows(a, n_act);

    finding_list l = {0};
    size_t i = 0, j = 0;
    int rc = 0;
    while (rc == 0 && (i < n_exp || j < n_act)) {
        int c = i == n_exp ? 1 : j == n_act ? -1 : id_cmp(e[i], a[j]);
        rc = diff_id(&l, c <= 0 ? e[i] : NULL, c >= 0 ? a[j] : NULL, &t);
        if (c <= 0)
            i = skip_id(e, n_exp, i);
        if (c >= 0)
            j = skip_id(a, n_act, j);
    }
    free(heap);
    if (rc != 0) {
        free(l.v);
        return -1;
    }
    /* Sorted by (position, kind) as built: the merge takes ids in order,
     * each id yields one finding or diff_pair's, made in kind order. */
    *out = l.v;
    *n_out = l.n;
    return 0;
}

/* ---- persistence ---- */

static int seen_cmp(const void *x, const void *y)
{
    const recon_seen *a = x, *b = y;
    return key_cmp(a->position, a->kind, b->position, b->kind);
}

static const recon_seen *seen_find(const recon_tracker *t, const recon_finding *f)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const recon_seen *s = &t->seen[mid];
        int c = key_cmp(f->position, f->kind, s->position, s->kind);
        if (c == 0)
            return s;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static void seen_report(const recon_seen *s, size_t i, int need, bool *ready, int64_t *first_ms)
{
    if (ready)
        ready[i] = s->count >= need;
    if (first_ms)
        first_ms[i] = s->first_ms;
}

/* The steady state: the same divergences as last pass, in the same order.
 * Counted in place, without allocating; false when the keys differ. */
static bool same_keys_pass(recon_tracker *t, const recon_finding *findings, size_t n, int need,
                           bool *ready, int64_t *first_ms)
{
    if (n == 0 || n != t->n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (key_cmp(findings[i].position, findings[i].kind, t->seen[i].position, t->seen[i].kind) !=
            0)
            return false;
    for (size_t i = 0; i < n; i++) {
        recon_seen *s = &t->seen[i];
        if (s->count < INT_MAX)
            s->count++;
        seen_report(s, i, need, ready, first_ms);
    }
    return true;
}

/* Otherwise a new list: a binary search per finding rather than a merge,
 * as cheap for an account's handful of findings and correct whatever
 * their order. */
int recon_tracker_pass(recon_tracker *t, const recon_finding *findings, size_t n, int need,
                       int64_t now_ms, bool *ready, int64_t *first_ms)
{
    if (!t || (n && !findings) || n > SIZE_MAX / sizeof(recon_seen))
        return -1;
    if (same_keys_pass(t, findings, n, need, ready, first_ms))
        return 0;
    recon_seen *next = NULL;
    if (n > 0) {
        next = malloc(n * sizeof *next);
        if (!next)
            return -1;
    }
    bool sorted = true;
    for (size_t i = 0; i < n; i++) {
        const recon_finding *f = &findings[i];
        const recon_seen *old = seen_find(t, f);
        recon_seen *s = &next[i];
        memcpy(s->position, f->position, sizeof s->position);
        s->position[sizeof s->position - 1] = '\0';
        s->kind = f->kind;
        s->count = !old ? 1 : old->count < INT_MAX ? old->count + 1 : INT_MAX;
        s->first_ms = old ? old->first_ms : now_ms;
        seen_report(s, i, need, ready, first_ms);
        if (i > 0 && seen_cmp(&next[i - 1], s) >= 0)
            sorted = false;
    }
    size_t m = n;
    if (!sorted) {
        /* Keep the invariant seen_find relies on; a key given twice in one
         * pass is one key (both copies carry the same count). */
        qsort(next, n, sizeof *next, seen_cmp);
        m = 0;
        for (size_t i = 0; i < n; i++)
            if (m == 0 || seen_cmp(&next[m - 1], &next[i]) != 0)
                next[m++] = next[i];
    }
    /* Everything not in `next` was absent this pass: forgotten. */
    free(t->seen);
    t->seen = next;
    t->n = m;
    t->cap = n;
    return 0;
}

void recon_tracker_free(recon_tracker *t)
{
    if (!t)
        return;
    free(t->seen);
    t->seen = NULL;
    t->n = t->cap = 0;
}
