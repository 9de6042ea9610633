/*
 * test_recon_diff.c - the reconciliation diff (suite recon_diff): each kind
 * of finding and its detail, tolerance edges for FX, JPY and gold, bad bot
 * rows, empty and large inputs; the persistence tracker; the bot-row check
 * and the point size.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recon_diff.h"

#define POS(id_, sym_, side_, vol_, sl_, tp_, px_)                                                 \
    {                                                                                              \
        .id = id_, .symbol = sym_, .side = side_, .volume = vol_, .stop_loss = sl_,                \
        .take_profit = tp_, .price = px_                                                           \
    }
#define EUR(id_, side_, vol_, sl_, tp_) POS(id_, "EURUSD", side_, vol_, sl_, tp_, 1.085)

enum { MAX_ROWS = 4, MAX_WANT = 5 };

struct want {
    const char *pos;
    enum recon_kind kind;
    const char *detail;
};

struct diff_case {
    const char *name;
    size_t n_exp, n_act;
    recon_pos exp[MAX_ROWS], act[MAX_ROWS];
    double tol_points, tol_lots; /* 0 and 0 here mean the defaults (10, 1e-6) */
    bool strict;                 /* use 0 and 0 as given */
    size_t n_want;
    struct want want[MAX_WANT];
};

/* What each kind must carry: both sides for a matched pair, one otherwise. */
static void check_sides(const recon_finding *f, const char *name)
{
    switch (f->kind) {
    case RECON_MISSING_AT_BROKER:
        cr_expect(f->has_expected && !f->has_actual, "%s: missing carries the bot's side", name);
        break;
    case RECON_UNEXPECTED_AT_BROKER:
        cr_expect(!f->has_expected && f->has_actual, "%s: unexpected carries the broker's", name);
        break;
    case RECON_BAD_EXPECTED:
        cr_expect(f->has_expected, "%s: bad carries the bot's row", name);
        break;
    default: cr_expect(f->has_expected && f->has_actual, "%s: a pair carries both", name); break;
    }
    if (f->has_expected)
        cr_expect_str_eq(f->expected.id, f->position, "%s: expected copy", name);
    else
        cr_expect(isnan(f->expected.volume) && f->expected.id[0] == '\0', "%s: blank", name);
    if (f->has_actual)
        cr_expect_str_eq(f->actual.id, f->position, "%s: actual copy", name);
    else
        cr_expect(isnan(f->actual.stop_loss) && f->actual.id[0] == '\0', "%s: blank", name);
}

static void run_case(const struct diff_case *c)
{
    recon_tolerance tol = {c->tol_points ? c->tol_points : 10, c->tol_lots ? c->tol_lots : 1e-6};
    if (c->strict)
        tol = (recon_tolerance){c->tol_points, c->tol_lots};
    recon_finding *f = NULL;
    size_t n = 99;
    cr_assert_eq(recon_diff(c->exp, c->n_exp, c->act, c->n_act, &tol, &f, &n), 0, "%s", c->name);
    cr_expect_eq(n, c->n_want, "%s: %zu findings, want %zu (first: %s)", c->name, n, c->n_want,
                 n ? f[0].detail : "-");
    for (size_t i = 0; i < n && i < c->n_want; i++) {
        const struct want *w = &c->want[i];
        cr_expect_str_eq(f[i].position, w->pos, "%s: finding %zu position", c->name, i);
        cr_expect_eq(f[i].kind, w->kind, "%s: finding %zu is %s, want %s", c->name, i,
                     recon_kind_name(f[i].kind), recon_kind_name(w->kind));
        if (w->detail)
            cr_expect_str_eq(f[i].detail, w->detail, "%s: finding %zu detail", c->name, i);
        check_sides(&f[i], c->name);
    }
    if (n == 0)
        cr_expect_null(f, "%s: no findings, no array", c->name);
    free(f);
}

static void run_cases(const struct diff_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_case(&c[i]);
}

#define RUN_CASES(cases) run_cases(cases, sizeof cases / sizeof cases[0])

/* ---- each kind ---- */

Test(recon_diff, each_kind_and_its_detail)
{
    static const struct diff_case cases[] = {
        {"identical", 1, 1, {EUR("1", "BUY", 0.5, 1.08, 1.09)}, {EUR("1", "BUY", 0.5, 1.08, 1.09)}},
        {.name = "missing",
         .n_exp = 1,
         .exp = {EUR("1", "BUY", 0.5, NAN, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_MISSING_AT_BROKER, "BUY 0.50 EURUSD expected, none at the broker"}}},
        {.name = "unexpected",
         .n_act = 1,
         .act = {POS("7", "XAUUSD", "SELL", 1, NAN, NAN, 2300)},
         .n_want = 1,
         .want = {{"7", RECON_UNEXPECTED_AT_BROKER,
                   "SELL 1.00 XAUUSD at the broker, none expected"}}},
        {"volume",
         1,
         1,
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         {EUR("1", "BUY", 0.25, NAN, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_VOLUME, "volume 0.50 expected, 0.25 at the broker"}}},
        {"volume below a hundredth of a lot is shown",
         1,
         1,
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         {EUR("1", "BUY", 0.501, NAN, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_VOLUME, "volume 0.50 expected, 0.501 at the broker"}}},
        {"side",
         1,
         1,
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         {EUR("1", "SELL", 0.5, NAN, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_SIDE, "side BUY expected, SELL at the broker"}}},
        {"symbol is reported as side",
         1,
         1,
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         {POS("1", "GBPUSD", "BUY", 0.5, NAN, NAN, 1.27)},
         .n_want = 1,
         .want = {{"1", RECON_SIDE, "symbol EURUSD expected, GBPUSD at the broker"}}},
        {"symbol and side make one finding",
         1,
         1,
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         {POS("1", "GBPUSD", "SELL", 0.5, NAN, NAN, 1.27)},
         .n_want = 1,
         .want = {{"1", RECON_SIDE,
                   "symbol EURUSD expected, GBPUSD at the broker; side BUY expected, SELL at the "
                   "broker"}}},
        {"sl",
         1,
         1,
         {EUR("1", "BUY", 0.5, 1.085, NAN)},
         {EUR("1", "BUY", 0.5, 1.08, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_SL, "SL 1.08500 expected, 1.08000 at the broker (500.0 points)"}}},
        {"tp",
         1,
         1,
         {EUR("1", "SELL", 0.5, NAN, 1.07)},
         {EUR("1", "SELL", 0.5, NAN, 1.0705)},
         .n_want = 1,
         .want = {{"1", RECON_TP, "TP 1.07000 expected, 1.07050 at the broker (50.0 points)"}}},
        {"a side mismatch still reports volume, SL and TP, in kind order",
         1,
         1,
         {EUR("1", "BUY", 0.5, 1.08, 1.09)},
         {EUR("1", "SELL", 1.0, 1.09, 1.08)},
         .n_want = 4,
         .want = {{"1", RECON_VOLUME, "volume 0.50 expected, 1.00 at the broker"},
                  {"1", RECON_SIDE, "side BUY expected, SELL at the broker"},
                  {"1", RECON_SL, NULL},
                  {"1", RECON_TP, NULL}}},
    };
    RUN_CASES(cases);
}

Test(recon_diff, sl_tp_unset_against_set)
{
    static const struct diff_case cases[] = {
        {"both unset", 1, 1, {EUR("1", "BUY", 1, NAN, NAN)}, {EUR("1", "BUY", 1, NAN, NAN)}},
        {"SL unset, set at the broker",
         1,
         1,
         {EUR("1", "BUY", 1, NAN, NAN)},
         {EUR("1", "BUY", 1, 1.08, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_SL, "SL unset expected, 1.08000 at the broker"}}},
        {"SL set, unset at the broker",
         1,
         1,
         {EUR("1", "BUY", 1, 1.085, NAN)},
         {EUR("1", "BUY", 1, NAN, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_SL, "SL 1.08500 expected, unset at the broker"}}},
        {"TP unset, set at the broker",
         1,
         1,
         {EUR("1", "BUY", 1, NAN, NAN)},
         {EUR("1", "BUY", 1, NAN, 1.09)},
         .n_want = 1,
         .want = {{"1", RECON_TP, "TP unset expected, 1.09000 at the broker"}}},
        {"TP set, unset at the broker",
         1,
         1,
         {POS("1", "USDJPY", "BUY", 1, NAN, 151.5, 150.2)},
         {POS("1", "USDJPY", "BUY", 1, NAN, NAN, 150.2)},
         .n_want = 1,
         .want = {{"1", RECON_TP, "TP 151.500 expected, unset at the broker"}}},
    };
    RUN_CASES(cases);
}

/* ---- tolerance edges: exactly at the tolerance is not a mismatch ---- */

Test(recon_diff, tolerance_edges_fx_jpy_gold)
{
    static const struct diff_case cases[] = {
        {"FX SL 10 points",
         1,
         1,
         {EUR("1", "BUY", 1, 1.085, NAN)},
         {EUR("1", "BUY", 1, 1.0851, NAN)}},
        {"FX SL -10 points",
         1,
         1,
         {EUR("1", "BUY", 1, 1.085, NAN)},
         {EUR("1", "BUY", 1, 1.0849, NAN)}},
        {"FX SL 11 points",
         1,
         1,
         {EUR("1", "BUY", 1, 1.085, NAN)},
         {EUR("1", "BUY", 1, 1.08511, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_SL, "SL 1.08500 expected, 1.08511 at the broker (11.0 points)"}}},
        {"FX TP 10 points",
         1,
         1,
         {EUR("1", "BUY", 1, NAN, 1.1)},
         {EUR("1", "BUY", 1, NAN, 1.1001)}},
        {"FX TP 10.1 points",
         1,
         1,
         {EUR("1", "BUY", 1, NAN, 1.1)},
         {EUR("1", "BUY", 1, NAN, 1.100101)},
         .n_want = 1,
         .want = {{"1", RECON_TP, "TP 1.10000 expected, 1.100101 at the broker (10.1 points)"}}},
        {"JPY SL 10 points",
         1,
         1,
         {POS("1", "USDJPY", "SELL", 1, 150.0, NAN, 150.2)},
         {POS("1", "USDJPY", "SELL", 1, 150.01, NAN, 150.2)}},
        {"JPY SL 11 points",
         1,
         1,
         {POS("1", "EURJPY", "SELL", 1, 163.5, NAN, 163.2)},
         {POS("1", "EURJPY", "SELL", 1, 163.511, NAN, 163.2)},
         .n_want = 1,
         .want = {{"1", RECON_SL, "SL 163.500 expected, 163.511 at the broker (11.0 points)"}}},
        {"JPY TP 10 points",
         1,
         1,
         {POS("1", "USDJPY", "BUY", 1, NAN, 151.0, 150.2)},
         {POS("1", "USDJPY", "BUY", 1, NAN, 150.99, 150.2)}},
        {"gold SL 10 points",
         1,
         1,
         {POS("1", "XAUUSD", "BUY", 1, 2300.0, NAN, 2310)},
         {POS("1", "XAUUSD", "BUY", 1, 2300.1, NAN, 2310)}},
        {"gold SL 11 points",
         1,
         1,
         {POS("1", "XAUUSD", "BUY", 1, 2300.0, NAN, 2310)},
         {POS("1", "XAUUSD", "BUY", 1, 2300.11, NAN, 2310)},
         .n_want = 1,
         .want = {{"1", RECON_SL, "SL 2300.00 expected, 2300.11 at the broker (11.0 points)"}}},
        {"gold TP 10 points",
         1,
         1,
         {POS("1", "XAUUSD", "SELL", 1, NAN, 2250.0, 2310)},
         {POS("1", "XAUUSD", "SELL", 1, NAN, 2249.9, 2310)}},
        {"gold TP 10.5 points",
         1,
         1,
         {POS("1", "XAUUSD", "SELL", 1, NAN, 2250.0, 2310)},
         {POS("1", "XAUUSD", "SELL", 1, NAN, 2249.895, 2310)},
         .n_want = 1,
         .want = {{"1", RECON_TP, "TP 2250.00 expected, 2249.895 at the broker (10.5 points)"}}},
        {"tolerance 0: one point differs",
         1,
         1,
         {EUR("1", "BUY", 1, 1.085, NAN)},
         {EUR("1", "BUY", 1, 1.08501, NAN)},
         0,
         1e-6,
         true,
         .n_want = 1,
         .want = {{"1", RECON_SL, "SL 1.08500 expected, 1.08501 at the broker (1.0 points)"}}},
        {"tolerance 25 points",
         1,
         1,
         {EUR("1", "BUY", 1, 1.085, NAN)},
         {EUR("1", "BUY", 1, 1.08525, NAN)},
         25,
         0},
    };
    RUN_CASES(cases);
}

Test(recon_diff, volume_tolerance_edges)
{
    static const struct diff_case cases[] = {
        {"default: a millionth of a lot is equal",
         1,
         1,
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         {EUR("1", "BUY", 0.5000005, NAN, NAN)}},
        {"a hundredth at 0.01 is equal",
         1,
         1,
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         {EUR("1", "BUY", 0.51, NAN, NAN)},
         10,
         0.01},
        {"just over 0.01",
         1,
         1,
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         {EUR("1", "BUY", 0.511, NAN, NAN)},
         10,
         0.01,
         .n_want = 1,
         .want = {{"1", RECON_VOLUME, "volume 0.50 expected, 0.511 at the broker"}}},
        {"NaN at the broker is a mismatch",
         1,
         1,
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         {EUR("1", "BUY", NAN, NAN, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_VOLUME, "volume 0.50 expected, unknown at the broker"}}},
    };
    RUN_CASES(cases);
}

/* The broker's price picks the point size; without one, the level does.
 * USDIDR is a currency pair priced over 1000: point 0.01 by price. */
Test(recon_diff, point_size_from_actual_price_or_the_level)
{
    static const struct diff_case cases[] = {
        {"no price: 16000 makes the point 0.01",
         1,
         1,
         {POS("1", "USDIDR", "BUY", 1, 16000.0, NAN, NAN)},
         {POS("1", "USDIDR", "BUY", 1, 16000.1, NAN, NAN)}},
        {"price 1.0 makes it an FX point",
         1,
         1,
         {POS("1", "USDIDR", "BUY", 1, 16000.0, NAN, NAN)},
         {POS("1", "USDIDR", "BUY", 1, 16000.1, NAN, 1.0)},
         .n_want = 1,
         .want = {{"1", RECON_SL, NULL}}},
    };
    RUN_CASES(cases);
}

/* ---- the bot's rows ---- */

Test(recon_diff, invalid_expected_rows_give_only_bad_expected)
{
    static const struct {
        recon_pos row;
        const char *reason;
    } bad[] = {
        {EUR("1", "LONG", 0.5, NAN, NAN), "side \"LONG\" is not BUY or SELL"},
        {EUR("1", "buy", 0.5, NAN, NAN), "side \"buy\" is not BUY or SELL"},
        {EUR("1", "", 0.5, NAN, NAN), "side \"\" is not BUY or SELL"},
        {EUR("1", "\x1b[2J", 0.5, NAN, NAN), "side \"?[2J\" is not BUY or SELL"},
        {EUR("1", "BUY", -0.1, NAN, NAN), "volume -0.10 is not positive"},
        {EUR("1", "BUY", 0, NAN, NAN), "volume 0.00 is not positive"},
        {EUR("1", "BUY", NAN, NAN, NAN), "volume is not a number"},
        {EUR("1", "BUY", INFINITY, NAN, NAN), "volume inf is not finite"},
        {POS("1", "", "BUY", 0.5, NAN, NAN, 1.0), "symbol is empty"},
        {EUR("1", "BUY", 0.5, -1.0, NAN), "SL -1.00000 is not positive (null when unset)"},
        {EUR("1", "BUY", 0.5, 0.0, NAN), "SL 0.00000 is not positive (null when unset)"},
        {EUR("1", "BUY", 0.5, INFINITY, NAN), "SL inf is not finite"},
        {EUR("1", "BUY", 0.5, 1.08, -1.0), "TP -1.00000 is not positive (null when unset)"},
        {EUR("1", "BUY", 0.5, 1.08, -INFINITY), "TP -inf is not finite"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* With the broker holding the same id, and without. */
        for (size_t n_act = 0; n_act <= 1; n_act++) {
            recon_pos act = EUR("1", "SELL", 9, 1.2, 1.3);
            recon_finding *f = NULL;
            size_t n = 0;
            cr_assert_eq(recon_diff(&bad[i].row, 1, &act, n_act, NULL, &f, &n), 0);
            cr_assert_eq(n, 1, "row %zu with %zu actual: %zu findings", i, n_act, n);
            cr_expect_eq(f[0].kind, RECON_BAD_EXPECTED, "row %zu: %s", i,
                         recon_kind_name(f[0].kind));
            cr_expect_str_eq(f[0].detail, bad[i].reason, "row %zu", i);
            cr_expect(f[0].expected.invalid, "row %zu: the copy is marked", i);
            cr_expect_str_eq(f[0].expected.invalid_reason, bad[i].reason, "row %zu", i);
            cr_expect_eq(f[0].has_actual, n_act == 1, "row %zu: the broker's side attached", i);
            if (n_act)
                cr_expect_eq(f[0].actual.volume, 9);
            free(f);
        }
    }
    /* An empty id: its own finding, and the broker's row of another id is
     * still unexpected. */
    recon_pos e = EUR("", "BUY", 0.5, NAN, NAN), a = EUR("2", "BUY", 0.5, NAN, NAN);
    recon_finding *f = NULL;
    size_t n = 0;
    cr_assert_eq(recon_diff(&e, 1, &a, 1, NULL, &f, &n), 0);
    cr_assert_eq(n, 2);
    cr_expect_eq(f[0].kind, RECON_BAD_EXPECTED);
    cr_expect_str_eq(f[0].detail, "position id is empty");
    cr_expect_eq(f[1].kind, RECON_UNEXPECTED_AT_BROKER);
    free(f);
}

Test(recon_diff, a_row_marked_invalid_by_the_caller_keeps_its_reason)
{
    recon_pos e = EUR("1", "BUY", 0.5, NAN, NAN), a = e;
    e.invalid = true;
    snprintf(e.invalid_reason, sizeof e.invalid_reason, "strategy column is not text");
    recon_finding *f = NULL;
    size_t n = 0;
    cr_assert_eq(recon_diff(&e, 1, &a, 1, NULL, &f, &n), 0);
    cr_assert_eq(n, 1);
    cr_expect_eq(f[0].kind, RECON_BAD_EXPECTED);
    cr_expect_str_eq(f[0].detail, "strategy column is not text");
    free(f);
    /* Marked without a reason: still bad, with a generic one. */
    e.invalid_reason[0] = '\0';
    cr_assert_eq(recon_diff(&e, 1, &a, 1, NULL, &f, &n), 0);
    cr_assert_eq(n, 1);
    cr_expect_str_eq(f[0].detail, "the bot's row is marked invalid");
    free(f);
    /* Not marked, with stale text: a good row, and the copy drops the text. */
    e.invalid = false;
    snprintf(e.invalid_reason, sizeof e.invalid_reason, "stale");
    a.volume = 1;
    cr_assert_eq(recon_diff(&e, 1, &a, 1, NULL, &f, &n), 0);
    cr_assert_eq(n, 1);
    cr_expect_eq(f[0].kind, RECON_VOLUME);
    cr_expect(!f[0].expected.invalid && f[0].expected.invalid_reason[0] == '\0');
    free(f);
}

/* A NULL tolerance, or a NaN or negative field, means the defaults. */
Test(recon_diff, unusable_tolerance_means_the_defaults)
{
    static const recon_tolerance tols[] = {{NAN, NAN}, {-1, -1}};
    recon_pos e = EUR("1", "BUY", 0.5, 1.085, NAN);
    recon_pos at = EUR("1", "BUY", 0.5000005, 1.0851, NAN), over = at;
    over.stop_loss = 1.08511;
    over.volume = 0.51;
    for (size_t i = 0; i <= sizeof tols / sizeof tols[0]; i++) {
        const recon_tolerance *t = i < sizeof tols / sizeof tols[0] ? &tols[i] : NULL;
        recon_finding *f = NULL;
        size_t n = 9;
        cr_assert_eq(recon_diff(&e, 1, &at, 1, t, &f, &n), 0);
        cr_expect_eq(n, 0, "tolerance %zu: within the defaults", i);
        free(f);
        cr_assert_eq(recon_diff(&e, 1, &over, 1, t, &f, &n), 0);
        cr_expect_eq(n, 2, "tolerance %zu: volume and SL past the defaults", i);
        free(f);
    }
}

/* ---- inputs ---- */

Test(recon_diff, empty_inputs)
{
    recon_pos one = EUR("1", "BUY", 0.5, NAN, NAN);
    recon_finding sentinel, *f = &sentinel; /* must be overwritten */
    size_t n = 5;
    cr_assert_eq(recon_diff(NULL, 0, NULL, 0, NULL, &f, &n), 0);
    cr_expect_eq(n, 0);
    cr_expect_null(f);
    cr_assert_eq(recon_diff(&one, 1, NULL, 0, NULL, &f, &n), 0);
    cr_expect(n == 1 && f[0].kind == RECON_MISSING_AT_BROKER);
    free(f);
    cr_assert_eq(recon_diff(NULL, 0, &one, 1, NULL, &f, &n), 0);
    cr_expect(n == 1 && f[0].kind == RECON_UNEXPECTED_AT_BROKER);
    free(f);
    /* A count without an array is refused, not read. */
    cr_expect_eq(recon_diff(NULL, 3, NULL, 0, NULL, &f, &n), -1);
    cr_expect_eq(recon_diff(&one, 1, NULL, 0, NULL, NULL, &n), -1);
}

Test(recon_diff, unsorted_input_gives_sorted_findings_and_duplicates_use_the_first)
{
    static const struct diff_case cases[] = {
        {"order",
         4,
         3,
         {EUR("3", "BUY", 1, NAN, NAN), EUR("10", "BUY", 1, NAN, NAN), EUR("2", "BUY", 1, NAN, NAN),
          EUR("1", "BUY", 1, NAN, NAN)},
         {EUR("2", "BUY", 2, NAN, NAN), EUR("4", "BUY", 1, NAN, NAN),
          EUR("1", "SELL", 1, NAN, NAN)},
         .n_want = 5,
         .want = {{"1", RECON_SIDE, NULL},
                  {"10", RECON_MISSING_AT_BROKER, NULL},
                  {"2", RECON_VOLUME, NULL},
                  {"3", RECON_MISSING_AT_BROKER, NULL},
                  {"4", RECON_UNEXPECTED_AT_BROKER, NULL}}},
        {"duplicate expected: the first is used",
         2,
         1,
         {EUR("1", "BUY", 0.5, NAN, NAN), EUR("1", "SELL", 0.7, NAN, NAN)},
         {EUR("1", "BUY", 0.5, NAN, NAN)}},
        {"duplicate actual: the first is used",
         1,
         2,
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         {EUR("1", "BUY", 0.3, NAN, NAN), EUR("1", "BUY", 0.5, NAN, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_VOLUME, "volume 0.50 expected, 0.30 at the broker"}}},
        {"duplicate, first invalid: bad, once",
         2,
         1,
         {EUR("1", "LONG", 0.5, NAN, NAN), EUR("1", "BUY", 0.5, NAN, NAN)},
         {EUR("1", "BUY", 0.5, NAN, NAN)},
         .n_want = 1,
         .want = {{"1", RECON_BAD_EXPECTED, NULL}}},
    };
    RUN_CASES(cases);
}

/* Past the insertion-sort size the sort is qsort: the first of a
 * duplicated id must still win, from either side. */
Test(recon_diff, duplicates_in_a_large_account_use_the_first)
{
    enum { N = 40 };
    recon_pos exp[N], act[N];
    for (int i = 0; i < N; i++) {
        exp[i] = (recon_pos)EUR("", "BUY", 1, NAN, NAN);
        snprintf(exp[i].id, sizeof exp[i].id, "%d", 1000 + (i * 17) % N);
        act[i] = exp[i];
    }
    /* Id 1005 again, later in each array, differing: ignored. */
    for (int i = 0; i < N; i++)
        if (strcmp(exp[i].id, "1005") == 0) {
            exp[N - 1] = exp[i];
            exp[N - 1].volume = 2;
            act[N - 2] = act[i];
            act[N - 2].volume = 3;
        }
    /* The rows those overwrote (ids 1023 and 1006) are then one-sided. */
    recon_finding *f = NULL;
    size_t n = 0;
    cr_assert_eq(recon_diff(exp, N, act, N, NULL, &f, &n), 0);
    cr_expect_eq(n, 2, "only the two one-sided ids");
    for (size_t i = 0; i < n; i++)
        cr_expect_str_neq(f[i].position, "1005", "finding %zu: %s", i, f[i].detail);
    free(f);
}

/* xorshift64*: reproducible draws for the large case. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

struct key {
    char pos[40];
    enum recon_kind kind;
};

static int key_cmp(const void *x, const void *y)
{
    const struct key *a = x, *b = y;
    int c = strcmp(a->pos, b->pos);
    return c ? c : (int)a->kind - (int)b->kind;
}

Test(recon_diff, a_thousand_positions_with_known_differences)
{
    enum { N = 1000, KINDS = RECON_KIND_COUNT };
    static const char *const syms[] = {"EURUSD", "USDJPY", "XAUUSD", "US30"};
    static const double prices[] = {1.085, 150.2, 2310, 39000};
    recon_pos *exp = calloc(N, sizeof *exp), *act = calloc(N, sizeof *act);
    struct key *want = calloc(N, sizeof *want);
    cr_assert(exp && act && want);
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    size_t n_exp = 0, n_act = 0, n_want = 0;
    size_t per_kind[KINDS] = {0};
    for (size_t i = 0; i < N; i++) {
        size_t s = rng_next(&seed) % 4;
        recon_pos p =
            POS("", "", "BUY", 0.01 * (double)(1 + rng_next(&seed) % 100), NAN, NAN, prices[s]);
        snprintf(p.id, sizeof p.id, "%llu", 50000000ULL + (unsigned long long)i * 7919);
        snprintf(p.symbol, sizeof p.symbol, "%s", syms[s]);
        if (i % 2)
            snprintf(p.side, sizeof p.side, "SELL");
        p.stop_loss = prices[s] * 0.99;
        p.take_profit = i % 3 ? prices[s] * 1.02 : NAN;
        recon_pos a = p;
        bool has_e = true, has_a = true;
        /* About one in five differs, in one way chosen at random. */
        int kind = rng_next(&seed) % 5 == 0 ? (int)(rng_next(&seed) % KINDS) : -1;
        double point = recon_point_size(p.symbol, p.price);
        switch (kind) {
        case RECON_MISSING_AT_BROKER: has_a = false; break;
        case RECON_UNEXPECTED_AT_BROKER: has_e = false; break;
        case RECON_VOLUME: a.volume += 0.01; break;
        case RECON_SIDE: snprintf(a.side, sizeof a.side, "%s", i % 2 ? "BUY" : "SELL"); break;
        case RECON_SL: a.stop_loss += 11 * point; break;
        case RECON_TP: a.take_profit = isnan(p.take_profit) ? p.price : NAN; break;
        case RECON_BAD_EXPECTED: p.volume = -p.volume; break;
        default:
            /* Within tolerance: must not be reported. */
            a.stop_loss += 10 * point;
            a.volume += 1e-7;
            break;
        }
        if (kind >= 0) {
            snprintf(want[n_want].pos, sizeof want[n_want].pos, "%s", p.id);
            want[n_want++].kind = (enum recon_kind)kind;
            per_kind[kind]++;
        }
        if (has_e)
            exp[n_exp++] = p;
        if (has_a)
            act[n_act++] = a;
    }
    for (int k = 0; k < KINDS; k++)
        cr_assert_gt(per_kind[k], 0, "the draw covers kind %s", recon_kind_name(k));
    /* The broker lists them in another order. */
    for (size_t i = n_act; i > 1; i--) {
        size_t j = rng_next(&seed) % i;
        recon_pos t = act[i - 1];
        act[i - 1] = act[j];
        act[j] = t;
    }
    qsort(want, n_want, sizeof *want, key_cmp);

    recon_finding *f = NULL;
    size_t n = 0;
    cr_assert_eq(recon_diff(exp, n_exp, act, n_act, NULL, &f, &n), 0);
    cr_assert_eq(n, n_want, "%zu findings for %zu injected differences", n, n_want);
    for (size_t i = 0; i < n; i++) {
        cr_expect_str_eq(f[i].position, want[i].pos, "finding %zu", i);
        cr_expect_eq(f[i].kind, want[i].kind, "finding %zu (%s): %s, want %s", i, f[i].position,
                     recon_kind_name(f[i].kind), recon_kind_name(want[i].kind));
    }
    free(f);
    free(exp);
    free(act);
    free(want);
}

/* ---- persistence ---- */

static recon_finding finding(const char *pos, enum recon_kind kind)
{
    recon_finding f;
    memset(&f, 0, sizeof f);
    snprintf(f.position, sizeof f.position, "%s", pos);
    f.kind = kind;
    return f;
}

/* One pass with at most 4 findings; returns how many are ready. */
static size_t pass(recon_tracker *t, const recon_finding *f, size_t n, int need, int64_t now,
                   bool *ready, int64_t *first)
{
    bool r[4] = {false};
    int64_t fm[4] = {0};
    cr_assert_leq(n, 4);
    cr_assert_eq(recon_tracker_pass(t, f, n, need, now, r, fm), 0);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k += r[i];
        if (ready)
            ready[i] = r[i];
        if (first)
            first[i] = fm[i];
    }
    return k;
}

Test(recon_diff, tracker_need_two_logs_on_the_second_pass)
{
    recon_tracker t = {0};
    recon_finding f = finding("1", RECON_SL);
    int64_t first = 0;
    cr_expect_eq(pass(&t, &f, 1, 2, 1000, NULL, &first), 0, "first sighting is not logged");
    cr_expect_eq(first, 1000);
    cr_expect_eq(pass(&t, &f, 1, 2, 2000, NULL, &first), 1, "second consecutive one is");
    cr_expect_eq(first, 1000, "first_ms is the run's first pass");
    cr_expect_eq(pass(&t, &f, 1, 2, 3000, NULL, &first), 1, "and it stays ready");
    cr_expect_eq(first, 1000);
    recon_tracker_free(&t);
    cr_expect(t.seen == NULL && t.n == 0);
    recon_tracker_free(&t); /* twice is harmless */
}

Test(recon_diff, tracker_flapping_never_gets_ready)
{
    recon_tracker t = {0};
    recon_finding f = finding("1", RECON_VOLUME);
    for (int i = 0; i < 10; i++) {
        cr_expect_eq(pass(&t, &f, 1, 2, 1000 * i, NULL, NULL), 0, "pass %d", i);
        cr_expect_eq(pass(&t, NULL, 0, 2, 1000 * i + 500, NULL, NULL), 0);
        cr_expect_eq(t.n, 0, "absent keys are forgotten");
    }
    recon_tracker_free(&t);
}

Test(recon_diff, tracker_first_ms_restarts_with_a_new_run)
{
    recon_tracker t = {0};
    recon_finding f = finding("1", RECON_TP);
    int64_t first = 0;
    pass(&t, &f, 1, 3, 100, NULL, &first);
    pass(&t, &f, 1, 3, 200, NULL, &first);
    cr_expect_eq(pass(&t, &f, 1, 3, 300, NULL, &first), 1, "third pass with need=3");
    cr_expect_eq(first, 100);
    pass(&t, NULL, 0, 3, 400, NULL, NULL); /* cleared */
    cr_expect_eq(pass(&t, &f, 1, 3, 500, NULL, &first), 0, "a new run counts from 1");
    cr_expect_eq(first, 500);
    recon_tracker_free(&t);
}

Test(recon_diff, tracker_need_one_is_immediate_and_below_one_counts_as_one)
{
    for (int need = -1; need <= 1; need++) {
        recon_tracker t = {0};
        recon_finding f = finding("9", RECON_MISSING_AT_BROKER);
        cr_expect_eq(pass(&t, &f, 1, need, 5, NULL, NULL), 1, "need %d", need);
        recon_tracker_free(&t);
    }
}

Test(recon_diff, tracker_keys_are_position_and_kind)
{
    recon_tracker t = {0};
    recon_finding a[] = {finding("1", RECON_VOLUME), finding("2", RECON_SL)};
    recon_finding b[] = {finding("1", RECON_SIDE), finding("1", RECON_VOLUME),
                         finding("2", RECON_SL), finding("3", RECON_SL)};
    bool r[4];
    int64_t first[4];
    pass(&t, a, 2, 2, 10, NULL, NULL);
    cr_expect_eq(pass(&t, b, 4, 2, 20, r, first), 2);
    cr_expect(!r[0] && r[1] && r[2] && !r[3], "only the repeated keys are ready");
    cr_expect(first[0] == 20 && first[1] == 10 && first[2] == 10 && first[3] == 20);
    /* Same keys, handed over out of order: the tracker still finds them. */
    recon_finding c[] = {finding("3", RECON_SL), finding("1", RECON_SIDE)};
    cr_expect_eq(pass(&t, c, 2, 2, 30, r, first), 2);
    cr_expect(first[0] == 20 && first[1] == 20);
    cr_expect_eq(t.n, 2);
    cr_expect_eq(pass(&t, c, 2, 3, 40, r, NULL), 2, "third pass of both");
    /* A key given twice, out of order, is one key. */
    recon_finding d[] = {finding("3", RECON_SL), finding("1", RECON_SIDE), finding("3", RECON_SL)};
    cr_expect_eq(pass(&t, d, 3, 5, 50, r, first), 0);
    cr_expect_eq(t.n, 2, "duplicates kept once");
    cr_expect(first[0] == 20 && first[2] == 20);
    recon_tracker_free(&t);
}

Test(recon_diff, trackers_of_several_accounts_are_independent)
{
    recon_tracker acct[3] = {{0}};
    recon_finding f = finding("1", RECON_SL); /* the same key in every account */
    pass(&acct[0], &f, 1, 2, 1, NULL, NULL);
    pass(&acct[1], &f, 1, 2, 1, NULL, NULL);
    cr_expect_eq(pass(&acct[0], &f, 1, 2, 2, NULL, NULL), 1, "account 0: second pass");
    cr_expect_eq(pass(&acct[1], NULL, 0, 2, 2, NULL, NULL), 0, "account 1: cleared");
    cr_expect_eq(pass(&acct[2], &f, 1, 2, 2, NULL, NULL), 0, "account 2: first pass");
    cr_expect_eq(pass(&acct[1], &f, 1, 2, 3, NULL, NULL), 0, "account 1: a new run");
    cr_expect_eq(pass(&acct[2], &f, 1, 2, 3, NULL, NULL), 1, "account 2: second pass");
    for (int i = 0; i < 3; i++)
        recon_tracker_free(&acct[i]);
}

/* recon_diff's output fed pass after pass, as the reconciler does. */
Test(recon_diff, diff_into_tracker)
{
    recon_tracker t = {0};
    recon_pos e[] = {EUR("1", "BUY", 0.5, 1.08, NAN), EUR("2", "BUY", 0.5, NAN, NAN)};
    recon_pos a[] = {EUR("1", "BUY", 0.5, 1.07, NAN), EUR("2", "SELL", 0.5, NAN, NAN)};
    size_t ready_at[2] = {0};
    for (int p = 1; p <= 3; p++) {
        if (p == 3)
            a[1] = e[1]; /* the side is fixed before the third pass */
        recon_finding *f = NULL;
        size_t n = 0;
        cr_assert_eq(recon_diff(e, 2, a, 2, NULL, &f, &n), 0);
        cr_assert_eq(n, p < 3 ? 2u : 1u);
        bool r[2];
        cr_assert_eq(recon_tracker_pass(&t, f, n, 2, p * 1000, r, NULL), 0);
        for (size_t i = 0; i < n; i++)
            if (r[i] && !ready_at[i])
                ready_at[i] = (size_t)p;
        free(f);
    }
    cr_expect_eq(ready_at[0], 2, "the SL divergence logs on the second pass");
    cr_expect_eq(ready_at[1], 2, "so does the side one");
    cr_expect_eq(t.n, 1, "the fixed side is forgotten");
    recon_tracker_free(&t);
}

/* ---- the bot-row check and the point size ---- */

Test(recon_diff, expected_check)
{
    static const recon_pos good[] = {
        EUR("1", "BUY", 0.01, NAN, NAN),
        EUR("1", "SELL", 100, 1.08, 1.09),
        POS("1", "XAUUSD", "SELL", 1, NAN, 2200, 2300),
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        recon_pos p = good[i];
        p.invalid = true; /* a stale mark is cleared */
        snprintf(p.invalid_reason, sizeof p.invalid_reason, "stale");
        cr_expect(recon_expected_check(&p), "good row %zu: %s", i, p.invalid_reason);
        cr_expect(!p.invalid && p.invalid_reason[0] == '\0', "good row %zu", i);
    }
    recon_pos p = EUR("1", "LONG", 0.5, NAN, NAN);
    cr_expect_not(recon_expected_check(&p));
    cr_expect(p.invalid);
    cr_expect_str_eq(p.invalid_reason, "side \"LONG\" is not BUY or SELL");
    /* The first problem is the one reported. */
    p = (recon_pos)EUR("1", "LONG", -1, -1, NAN);
    cr_expect_not(recon_expected_check(&p));
    cr_expect_str_eq(p.invalid_reason, "side \"LONG\" is not BUY or SELL");
}

Test(recon_diff, point_size)
{
    static const struct {
        const char *symbol;
        double price, point;
    } cases[] = {
        {"EURUSD", 1.085, 0.00001}, {"GBPUSD", NAN, 0.00001}, {"eurusd.m", 1.08, 0.00001},
        {"#AUDCADm", 0.9, 0.00001}, {"USDJPY", 150.2, 0.001}, {"EURJPY", NAN, 0.001},
        {"gbpjpy.pro", 190, 0.001}, {"XAGUSD", 29.5, 0.001},  {"SILVER", NAN, 0.001},
        {"XAUUSD", 2310, 0.01},     {"XAUUSD", NAN, 0.01},    {"GOLD", 2310, 0.01},
        {"US30", 39000, 0.01},      {"GER40", NAN, 0.01},     {"NAS100", 18000, 0.01},
        {"BTCUSD", 60000, 0.01},    {"USDIDR", 16000, 0.01},  {"USDIDR", 1.0, 0.00001},
        {"XTIUSD", 80, 0.01},       {"AAPL.US", 190, 0.01},   {"", 1.0, 0.01},
        {NULL, NAN, 0.01},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = recon_point_size(cases[i].symbol, cases[i].price);
        cr_expect_eq(got, cases[i].point, "%s at %g: %g, want %g",
                     cases[i].symbol ? cases[i].symbol : "NULL", cases[i].price, got,
                     cases[i].point);
    }
}
