/*
 * bench_recon.c - one reconciliation pass (recon_diff, then
 * recon_tracker_pass, for every account) over 1,000, 10,000 and 100,000
 * accounts of 10 positions each: ms per pass, ns per position, and how the
 * per-position cost grows from the smallest size to the largest (1.00 is
 * linear). Reference in the same run, at 1,000 and 10,000 accounts: the
 * same comparisons done naively, a linear search of the broker's positions
 * for each expected one; and both again on one account of 1,000 and of
 * 10,000 positions, where the naive search's square growth shows.
 *
 * Inputs are made once with a fixed seed for the largest size (the smaller
 * sizes are its first accounts): about 1% of positions diverge in each of
 * the 7 kinds, one way per position, so the findings of a pass are known
 * and checked. No PostgreSQL: the reconciler's loading is not measured.
 * BENCH_RECON_MAX_ACCOUNTS caps the sizes (the largest holds ~640 MB of
 * positions).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "clock.h"
#include "recon_diff.h"

#define RB_POSITIONS_PER 10
#define RB_DIVERGENT_PER_MILLE 10 /* per kind: 1% */
#define RB_PER_MILLE 1000
#define RB_NEED 2                   /* passes a divergence must persist */
#define RB_PASS_POSITIONS 3000000.0 /* positions timed per size: passes = this / size */
#define RB_MIN_PASSES 5
#define RB_MAX_PASSES 100
#define RB_NAIVE_MAX_ACCOUNTS 10000
#define RB_TICKET_BASE 100000000ULL
#define RB_PASS_MS 60000 /* simulated time between passes */
#define RB_SEED 0x2545f4914f6cdd1dULL
#define RB_SL_AWAY 0.01 /* SL/TP placed this fraction of the price away */
#define RB_TP_SET_PER_MILLE 700
#define RB_SL_OFF_POINTS 50 /* an injected SL difference, well past the tolerance */
#define RB_VOLUME_OFF 0.05

static const size_t RB_SIZES[] = {1000, 10000, 100000};
enum { RB_N_SIZES = sizeof RB_SIZES / sizeof RB_SIZES[0] };
/* Positions in the one-account case (at most the smallest size's). */
static const size_t RB_BIG[] = {1000, 10000};
enum { RB_N_BIG = sizeof RB_BIG / sizeof RB_BIG[0] };

static const struct {
    const char *symbol;
    double price;
} RB_SYMBOLS[] = {
    {"EURUSD", 1.085}, {"GBPUSD", 1.27},  {"USDJPY", 150.2},
    {"XAUUSD", 2310},  {"US30", 39000.0}, {"BTCUSD", 61000.0},
};

typedef struct rb_account {
    const recon_pos *exp, *act;
    size_t n_exp, n_act;
} rb_account;

typedef struct rb_data {
    recon_pos *exp, *act; /* every account's rows, back to back */
    rb_account *acc;
    size_t n_acc;
    size_t *injected; /* divergences in accounts [0, i], cumulative */
} rb_data;

/* xorshift64*: the same positions on every machine and run. */
static uint64_t rb_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void rb_data_free(rb_data *d)
{
    free(d->exp);
    free(d->act);
    free(d->acc);
    free(d->injected);
    memset(d, 0, sizeof *d);
}

/* One account's 10 positions, some divergent. Returns how many. */
static size_t rb_fill_account(uint64_t *seed, size_t a, recon_pos *exp, size_t *n_exp,
                              recon_pos *act, size_t *n_act)
{
    size_t ne = 0, na = 0, injected = 0;
    size_t n_sym = sizeof RB_SYMBOLS / sizeof RB_SYMBOLS[0];
    for (size_t k = 0; k < RB_POSITIONS_PER; k++) {
        size_t s = rb_rand(seed) % n_sym;
        double price = RB_SYMBOLS[s].price, dir = rb_rand(seed) % 2 ? 1 : -1;
        recon_pos p;
        memset(&p, 0, sizeof p);
        snprintf(p.id, sizeof p.id, "%llu",
                 RB_TICKET_BASE + (unsigned long long)(a * RB_POSITIONS_PER + k));
        snprintf(p.symbol, sizeof p.symbol, "%s", RB_SYMBOLS[s].symbol);
        snprintf(p.side, sizeof p.side, "%s", dir > 0 ? "BUY" : "SELL");
        p.volume = 0.01 * (double)(1 + rb_rand(seed) % 100);
        p.stop_loss = price * (1 - dir * RB_SL_AWAY);
        p.take_profit = rb_rand(seed) % RB_PER_MILLE < RB_TP_SET_PER_MILLE
                            ? price * (1 + dir * RB_SL_AWAY)
                            : NAN;
        p.price = price;
        p.magic = (int64_t)(a % 97);
        snprintf(p.strategy, sizeof p.strategy, "trend-%zu", k % 3);
        recon_pos q = p;
        bool has_e = true, has_a = true;
        uint64_t r = rb_rand(seed) % RB_PER_MILLE;
        if (r < (uint64_t)RB_DIVERGENT_PER_MILLE * RECON_KIND_COUNT) {
            injected++;
            switch ((enum recon_kind)(r / RB_DIVERGENT_PER_MILLE)) {
            case RECON_MISSING_AT_BROKER: has_a = false; break;
            case RECON_UNEXPECTED_AT_BROKER: has_e = false; break;
            case RECON_VOLUME: q.volume += RB_VOLUME_OFF; break;
            case RECON_SIDE: snprintf(q.side, sizeof q.side, "%s", dir > 0 ? "SELL" : "BUY"); break;
            case RECON_SL:
                q.stop_loss += RB_SL_OFF_POINTS * recon_point_size(q.symbol, q.price);
                break;
            case RECON_TP: q.take_profit = isnan(p.take_profit) ? q.price : NAN; break;
            case RECON_BAD_EXPECTED: snprintf(p.side, sizeof p.side, "LONG"); break;
            case RECON_KIND_COUNT: break;
            }
        }
        if (has_e)
            exp[ne++] = p;
        if (has_a)
            act[na++] = q;
    }
    /* The broker lists its positions in its own order. */
    for (size_t i = na; i > 1; i--) {
        size_t j = rb_rand(seed) % i;
        recon_pos t = act[i - 1];
        act[i - 1] = act[j];
        act[j] = t;
    }
    *n_exp = ne;
    *n_act = na;
    return injected;
}

static int rb_data_make(rb_data *d, size_t n_acc)
{
    memset(d, 0, sizeof *d);
    size_t rows = n_acc * RB_POSITIONS_PER;
    d->exp = calloc(rows, sizeof *d->exp);
    d->act = calloc(rows, sizeof *d->act);
    d->acc = calloc(n_acc, sizeof *d->acc);
    d->injected = calloc(n_acc, sizeof *d->injected);
    if (!d->exp || !d->act || !d->acc || !d->injected) {
        rb_data_free(d);
        return -1;
    }
    d->n_acc = n_acc;
    uint64_t seed = RB_SEED;
    size_t total = 0;
    for (size_t a = 0; a < n_acc; a++) {
        recon_pos *e = d->exp + a * RB_POSITIONS_PER, *q = d->act + a * RB_POSITIONS_PER;
        rb_account *acc = &d->acc[a];
        total += rb_fill_account(&seed, a, e, &acc->n_exp, q, &acc->n_act);
        acc->exp = e;
        acc->act = q;
        d->injected[a] = total;
    }
    return 0;
}

/* Growable scratch for the tracker's per-finding outputs. */
typedef struct rb_scratch {
    bool *ready;
    int64_t *first;
    size_t cap;
} rb_scratch;

static int rb_scratch_fit(rb_scratch *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    bool *r = realloc(s->ready, n * sizeof *r);
    if (!r)
        return -1;
    s->ready = r;
    int64_t *f = realloc(s->first, n * sizeof *f);
    if (!f)
        return -1;
    s->first = f;
    s->cap = n;
    return 0;
}

/* One full pass over the first n accounts; counts findings and ready ones. */
static int rb_pass(const rb_data *d, size_t n, recon_tracker *tr, rb_scratch *s, int64_t now,
                   size_t *findings, size_t *ready)
{
    *findings = *ready = 0;
    for (size_t a = 0; a < n; a++) {
        const rb_account *acc = &d->acc[a];
        recon_finding *f = NULL;
        size_t nf = 0;
        if (recon_diff(acc->exp, acc->n_exp, acc->act, acc->n_act, NULL, &f, &nf) != 0)
            return -1;
        if (rb_scratch_fit(s, nf) != 0 ||
            recon_tracker_pass(&tr[a], f, nf, RB_NEED, now, s->ready, s->first) != 0) {
            free(f);
            return -1;
        }
        for (size_t i = 0; i < nf; i++)
            *ready += s->ready[i];
        *findings += nf;
        free(f);
    }
    return 0;
}

/* recon_diff alone over the first n accounts. */
static int rb_diff_only(const rb_data *d, size_t n, size_t *findings)
{
    *findings = 0;
    for (size_t a = 0; a < n; a++) {
        const rb_account *acc = &d->acc[a];
        recon_finding *f = NULL;
        size_t nf = 0;
        if (recon_diff(acc->exp, acc->n_exp, acc->act, acc->n_act, NULL, &f, &nf) != 0)
            return -1;
        *findings += nf;
        free(f);
    }
    return 0;
}

/* The reference: for each expected position, a linear search of the
 * broker's; then each broker position no search found is unexpected. Same
 * validation, rules and tolerances (the library's defaults), but it only
 * counts findings: no copies, no detail text, no sorting. */
static size_t rb_naive_account(const rb_account *acc, bool *matched)
{
    const double tol_points = 10, tol_lots = 1e-6, eps_points = 1e-6, eps_lots = 1e-9;
    memset(matched, 0, acc->n_act * sizeof *matched);
    size_t found = 0;
    for (size_t i = 0; i < acc->n_exp; i++) {
        recon_pos e = acc->exp[i];
        const recon_pos *a = NULL;
        for (size_t j = 0; j < acc->n_act && !a; j++)
            if (strcmp(e.id, acc->act[j].id) == 0) {
                a = &acc->act[j];
                matched[j] = true;
            }
        if (!recon_expected_check(&e) || !a) {
            found++;
            continue;
        }
        found += !(fabs(e.volume - a->volume) <= tol_lots + eps_lots);
        found += strcmp(e.side, a->side) != 0 || strcmp(e.symbol, a->symbol) != 0;
        double lv[2][2] = {{e.stop_loss, a->stop_loss}, {e.take_profit, a->take_profit}};
        for (int k = 0; k < 2; k++) {
            bool he = !isnan(lv[k][0]), ha = !isnan(lv[k][1]);
            if (he != ha) {
                found++;
            } else if (he) {
                double price = isfinite(a->price) && a->price > 0 ? a->price : lv[k][0];
                double pts = fabs(lv[k][0] - lv[k][1]) / recon_point_size(a->symbol, price);
                found += !(pts <= tol_points + eps_points);
            }
        }
    }
    for (size_t j = 0; j < acc->n_act; j++)
        found += !matched[j];
    return found;
}

static size_t rb_passes(size_t n_acc)
{
    double p = RB_PASS_POSITIONS / (double)(n_acc * RB_POSITIONS_PER);
    return p < RB_MIN_PASSES ? RB_MIN_PASSES : p > RB_MAX_PASSES ? RB_MAX_PASSES : (size_t)p;
}

static int rb_dbl_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Sorts n timings; returns the best, and the median in *median. Other
 * work on the machine slows some passes: the best pass is the code's own
 * cost, the median what a pass costs on a busy machine. */
static double rb_best(double *v, size_t n, double *median)
{
    qsort(v, n, sizeof *v, rb_dbl_cmp);
    if (median)
        *median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return v[0];
}

typedef struct rb_result {
    size_t n_acc, passes, findings, ready;
    double first_ms, pass_ms, median_ms; /* one full pass: best, median */
    double diff_ns, naive_ns;            /* best; naive_ns NAN when not run */
} rb_result;

static int rb_measure(const rb_data *d, size_t n, rb_scratch *s, rb_result *r)
{
    memset(r, 0, sizeof *r);
    r->n_acc = n;
    r->passes = rb_passes(n);
    r->naive_ns = NAN;
    double positions = (double)(n * RB_POSITIONS_PER);
    size_t want = d->injected[n - 1];
    recon_tracker *tr = calloc(n, sizeof *tr);
    if (!tr)
        return -1;
    int rc = 0;
    int64_t now = 0;
    size_t nf = 0, nr = 0;
    /* The first pass fills the empty trackers: timed apart. */
    double t0 = clock_mono_us();
    rc = rb_pass(d, n, tr, s, now, &nf, &nr);
    r->first_ms = (clock_mono_us() - t0) / 1000.0;
    if (rc == 0 && (nf != want || nr != 0)) {
        fprintf(stderr,
                "bench_recon: %zu accounts, first pass: %zu findings (%zu injected), %zu ready\n",
                n, nf, want, nr);
        rc = -1;
    }
    double us[RB_MAX_PASSES], ref_us[RB_MAX_PASSES];
    for (size_t p = 0; rc == 0 && p < r->passes; p++) {
        now += RB_PASS_MS;
        t0 = clock_mono_us();
        rc = rb_pass(d, n, tr, s, now, &nf, &nr);
        us[p] = clock_mono_us() - t0;
        /* Nothing changes between passes: every divergence is now ready. */
        if (rc == 0 && (nf != want || nr != want)) {
            fprintf(stderr, "bench_recon: %zu accounts: %zu findings, %zu ready, %zu injected\n", n,
                    nf, nr, want);
            rc = -1;
        }
    }
    r->pass_ms = rb_best(us, r->passes, &r->median_ms) / 1000.0;
    r->median_ms /= 1000.0;
    r->findings = nf;
    r->ready = nr;
    for (size_t a = 0; a < n; a++)
        recon_tracker_free(&tr[a]);
    free(tr);
    if (rc != 0)
        return -1;

    /* The diff alone and the reference, pass by pass in turn, so that
     * whatever else the machine does falls on both alike. */
    bool naive = n <= RB_NAIVE_MAX_ACCOUNTS;
    for (size_t p = 0; p < r->passes; p++) {
        t0 = clock_mono_us();
        if (rb_diff_only(d, n, &nf) != 0)
            return -1;
        us[p] = clock_mono_us() - t0;
        if (!naive)
            continue;
        size_t found = 0;
        bool matched[RB_POSITIONS_PER];
        t0 = clock_mono_us();
        for (size_t a = 0; a < n; a++)
            found += rb_naive_account(&d->acc[a], matched);
        ref_us[p] = clock_mono_us() - t0;
        if (found != want) {
            fprintf(stderr, "bench_recon: naive found %zu, %zu injected\n", found, want);
            return -1;
        }
    }
    r->diff_ns = rb_best(us, r->passes, NULL) * 1000.0 / positions;
    if (naive)
        r->naive_ns = rb_best(ref_us, r->passes, NULL) * 1000.0 / positions;
    return 0;
}

/* One account holding the first n_acc accounts' positions: where sorting
 * pays, since the naive search grows with the square of the positions. */
static int rb_one_big(const rb_data *d, size_t n_acc, rb_result *r)
{
    memset(r, 0, sizeof *r);
    r->n_acc = n_acc;
    size_t rows = n_acc * RB_POSITIONS_PER, want = d->injected[n_acc - 1];
    recon_pos *e = malloc(rows * sizeof *e), *q = malloc(rows * sizeof *q);
    bool *matched = malloc(rows * sizeof *matched);
    rb_account big = {e, q, 0, 0};
    int rc = e && q && matched ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "bench_recon: out of memory for one account of %zu\n", rows);
    for (size_t a = 0; rc == 0 && a < n_acc; a++) {
        const rb_account *acc = &d->acc[a];
        memcpy(e + big.n_exp, acc->exp, acc->n_exp * sizeof *e);
        memcpy(q + big.n_act, acc->act, acc->n_act * sizeof *q);
        big.n_exp += acc->n_exp;
        big.n_act += acc->n_act;
    }
    double diff[RB_MIN_PASSES], naive[RB_MIN_PASSES];
    for (size_t p = 0; rc == 0 && p < RB_MIN_PASSES; p++) {
        recon_finding *f = NULL;
        size_t nf = 0;
        double t0 = clock_mono_us();
        rc = recon_diff(big.exp, big.n_exp, big.act, big.n_act, NULL, &f, &nf);
        free(f);
        diff[p] = clock_mono_us() - t0;
        t0 = clock_mono_us();
        size_t found = rb_naive_account(&big, matched);
        naive[p] = clock_mono_us() - t0;
        if (rc == 0 && (nf != want || found != want)) {
            fprintf(stderr,
                    "bench_recon: one account of %zu: %zu findings, naive %zu, %zu injected\n",
                    rows, nf, found, want);
            rc = -1;
        }
    }
    if (rc == 0) {
        r->diff_ns = rb_best(diff, RB_MIN_PASSES, NULL) * 1000.0 / (double)rows;
        r->naive_ns = rb_best(naive, RB_MIN_PASSES, NULL) * 1000.0 / (double)rows;
    }
    free(e);
    free(q);
    free(matched);
    return rc;
}

int bench_recon(void)
{
    size_t max = RB_SIZES[RB_N_SIZES - 1];
    const char *cap = getenv("BENCH_RECON_MAX_ACCOUNTS");
    if (cap && *cap) {
        char *end;
        unsigned long long v = strtoull(cap, &end, 10);
        if (*end || v < RB_SIZES[0]) {
            fprintf(stderr, "bench_recon: BENCH_RECON_MAX_ACCOUNTS=%s: want a number >= %zu\n", cap,
                    RB_SIZES[0]);
            return -1;
        }
        if (v < max)
            max = (size_t)v;
    }
    rb_data d;
    double t0 = clock_mono_us();
    if (rb_data_make(&d, max) != 0) {
        fprintf(stderr, "bench_recon: out of memory making %zu accounts\n", max);
        return -1;
    }
    double made_ms = (clock_mono_us() - t0) / 1000.0;
    double mb = (double)(2 * max * RB_POSITIONS_PER * sizeof(recon_pos)) / (1024.0 * 1024.0);

    rb_scratch s = {0};
    rb_result res[RB_N_SIZES], big[RB_N_BIG];
    size_t n_res = 0;
    int rc = 0;
    for (size_t i = 0; i < RB_N_SIZES && RB_SIZES[i] <= max && rc == 0; i++)
        if ((rc = rb_measure(&d, RB_SIZES[i], &s, &res[n_res])) == 0)
            n_res++;
    for (size_t i = 0; i < RB_N_BIG && rc == 0; i++)
        rc = rb_one_big(&d, RB_BIG[i] / RB_POSITIONS_PER, &big[i]);
    free(s.ready);
    free(s.first);
    rb_data_free(&d);
    if (rc != 0)
        return -1;

    printf("reconciliation pass (recon_diff + recon_tracker_pass per account, need=%d),\n"
           "  %d positions per account, %.1f%% divergent per kind (%d kinds), inputs %.0f MB"
           " (made in %.0f ms);\n  times are the best pass (median beside it):\n",
           RB_NEED, RB_POSITIONS_PER, 100.0 * RB_DIVERGENT_PER_MILLE / RB_PER_MILLE,
           RECON_KIND_COUNT, mb, made_ms);
    printf("  %9s %10s %7s %10s %10s %11s %11s %9s %9s\n", "accounts", "positions", "passes",
           "ms/pass", "(median)", "ns/position", "first pass", "findings", "ready");
    for (size_t i = 0; i < n_res; i++) {
        const rb_result *r = &res[i];
        double ns = r->pass_ms * 1e6 / (double)(r->n_acc * RB_POSITIONS_PER);
        printf("  %9zu %10zu %7zu %10.2f %10.2f %11.1f %8.2f ms %9zu %9zu\n", r->n_acc,
               r->n_acc * RB_POSITIONS_PER, r->passes, r->pass_ms, r->median_ms, ns, r->first_ms,
               r->findings, r->ready);
    }
    if (n_res > 1) {
        const rb_result *a = &res[0], *b = &res[n_res - 1], *m = &res[n_res - 2];
        printf("  per-position cost growth (1.00 = linear):\n    %zu vs %zu accounts %.2fx",
               b->n_acc, a->n_acc,
               (b->pass_ms / (double)b->n_acc) / (a->pass_ms / (double)a->n_acc));
        if (n_res > 2)
            printf(", %zu vs %zu %.2fx", b->n_acc, m->n_acc,
                   (b->pass_ms / (double)b->n_acc) / (m->pass_ms / (double)m->n_acc));
        /* The naive reference has no sort: its growth is the inputs' own
         * (caches), which separates that from the algorithm's. */
        if (!isnan(res[1].naive_ns))
            printf("; reference %zu vs %zu %.2fx", res[1].n_acc, a->n_acc,
                   res[1].naive_ns / a->naive_ns);
        printf("\n");
    }
    printf("  %-30s %24s %34s\n", "diff alone, ns/position", "tradeops (sort + merge)",
           "reference (naive search, counts)");
    for (size_t i = 0; i < n_res + RB_N_BIG; i++) {
        const rb_result *r = i < n_res ? &res[i] : &big[i - n_res];
        char what[64], ref[32] = "-";
        if (i < n_res)
            snprintf(what, sizeof what, "%zu accounts x %d", r->n_acc, RB_POSITIONS_PER);
        else
            snprintf(what, sizeof what, "1 account x %zu", r->n_acc * RB_POSITIONS_PER);
        if (!isnan(r->naive_ns))
            snprintf(ref, sizeof ref, "%.1f", r->naive_ns);
        printf("  %-30s %24.1f %34s\n", what, r->diff_ns, ref);
    }
    return 0;
}
