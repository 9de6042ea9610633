/*
 * test_ui_metrics.c - the Metrics screen drawn into a null terminal and
 * read back (suite "ui_metrics"): NaN and infinite values shown as such,
 * the equity curve drawn in braille (ASCII in the fallback) with its
 * drawdown shaded visibly without colour, the system metrics with their
 * sparklines, empty and error states, hostile strings, 80x24, and the
 * period, scope and selection sent to the engine as perf requests.
 *
 * The model is a real one (model_new): the screen's requests are read back
 * with model_perf_wanted, and answers are hand-built sets carrying the
 * request's number, as the analytics thread would publish them.
 */
#include "ui_recon_fixture.h"

#include <inttypes.h>

#include "screen.h"

#define DAY_MS 86400000LL
#define EVIL "evil\x1b[2J\x1b]0;pwned\x07"
#define N_CURVE 30

static model *the_model;

static void fill_perf(perf_row *r, enum perf_scope sc, const char *account, const char *key,
                     int64_t trades, double net)
{
    memset(r, 0, sizeof *r);
    r->scope = sc;
    snprintf(r->account, sizeof r->account, "%s", account);
    snprintf(r->key, sizeof r->key, "%s", key);
    r->period = PERF_ALL;
    r->period_start = METRICS_NO_DATE;
    metrics_result *m = &r->m;
    m->n_trades = trades;
    m->win_rate = trades ? 0.55 : NAN;
    m->net_profit = net;
    m->profit_factor = 1.8;
    m->expectancy = trades ? net / (double)trades : NAN;
    m->payoff_ratio = 1.2;
    m->sharpe = 1.25;
    m->sortino = 2.5;
    m->max_drawdown = -0.12;
    m->max_drawdown_amount = -1200;
    m->max_drawdown_duration = 6;
    m->cagr = 0.31;
    m->calmar = 2.58;
    m->recovery_factor = 3.1;
    m->max_drawdown_peak_date = 19800;     /* 2024-03-18 */
    m->max_drawdown_valley_date = 19806;   /* 2024-03-24 */
    m->max_drawdown_recovery_date = METRICS_NO_DATE;
    r->updated_ms = NOW_MS - 1000;
}

/* Three accounts (the first with undefined and infinite ratios, the third
 * named with escapes) and a curve of the first with one drawdown. */
static perf_set *make_perf(const perf_request *req, uint64_t no)
{
    bool acc = req->scope == PERF_SCOPE_ACCOUNT;
    perf_set *p = perf_set_new(3, N_CURVE);
    cr_assert_not_null(p);
    p->request = *req;
    p->request_no = no;
    fill_perf(&p->rows[0], req->scope, "demo-1", acc ? "" : "trend", 12, 3400.5);
    p->rows[0].m.sharpe = NAN;
    p->rows[0].m.profit_factor = INFINITY;
    p->rows[0].m.sortino = -INFINITY;
    fill_perf(&p->rows[1], req->scope, "demo-2", acc ? "" : "scalp", 7, -250);
    fill_perf(&p->rows[2], req->scope, EVIL, acc ? "" : EVIL, 3, 10);
    for (size_t i = 0; i < 3; i++)
        p->rows[i].period = req->period;
    size_t sel = 0;
    for (size_t i = 0; i < 3; i++)
        if (req->account[0] && strcmp(p->rows[i].account, req->account) == 0)
            sel = i;
    p->has_selected = true;
    p->selected = p->rows[sel];
    for (size_t i = 0; i < N_CURVE; i++) {
        p->curve[i].ms = NOW_MS - (int64_t)(N_CURVE - i) * DAY_MS;
        /* Up, a drawdown in the middle, then a new high. */
        double e = 10000 + 100.0 * (double)i;
        if (i >= 10 && i < 20)
            e = 10900 - 150.0 * (double)(i - 9);
        p->curve[i].equity = e;
    }
    p->curve[15].equity = NAN; /* a gap: never drawn as garbage */
    p->n_curve = N_CURVE;
    p->loaded_ms = NOW_MS - 500;
    return p;
}

static sys_set *make_sys(void)
{
    sys_set *y = sys_set_new();
    cr_assert_not_null(y);
    y->m[SYSM_POLL_MS].p50 = 12;
    y->m[SYSM_POLL_MS].p95 = 40;
    y->m[SYSM_POLL_MS].p99 = 95;
    y->m[SYSM_POLL_MS].value = 40;
    y->m[SYSM_REDIS_HIT_RATE].value = 0.935;
    y->m[SYSM_SYNC_QUEUE].value = 17;
    for (size_t i = 0; i < 20; i++)
        y->m[SYSM_POLL_MS].history[i] = (double)(i % 8);
    y->m[SYSM_POLL_MS].n_history = 20;
    y->sampled_ms = NOW_MS - 2000;
    y->interval_ms = 1000;
    return y;
}

static model_snapshot *snap_of(perf_set *p, sys_set *y)
{
    model_snapshot *s = snapshot_with(NULL, 0);
    s->perf = p;
    s->sys = y;
    return s;
}

static model_snapshot *base(void)
{
    perf_request r = {.scope = PERF_SCOPE_ACCOUNT, .period = PERF_ALL};
    return snap_of(make_perf(&r, 0), make_sys());
}

static console_ui *start_metrics(int lines, int cols, bool utf8, bool mono, bool with_model,
                                 model_snapshot *snap)
{
    console_ui *ui = start_at(lines, cols, false, true, utf8, mono, snap);
    if (with_model) {
        the_model = model_new();
        cr_assert_not_null(the_model);
        console_ui_set_model(ui, the_model);
    }
    keys(ui, "5");
    return ui;
}

static void stop_metrics(console_ui *ui)
{
    stop(ui);
    model_free(the_model);
    the_model = NULL;
}

static void show(console_ui *ui, model_snapshot *snap)
{
    console_ui_set_snapshot(ui, snap, NOW_MS);
    console_ui_render(ui, NOW_MS);
}

/* Cells holding a braille character (U+2801..U+28FF), and any non-ASCII. */
static int count_cells(bool braille)
{
    int n = 0;
    for (int y = 0; y < LINES; y++)
        for (int x = 0; x < COLS; x++) {
            cchar_t cc;
            wchar_t wch[CCHARW_MAX + 1];
            attr_t a;
            short pair;
            if (mvwin_wch(curscr, y, x, &cc) == ERR ||
                getcchar(&cc, wch, &a, &pair, NULL) == ERR)
                continue;
            if (braille ? (wch[0] > 0x2800 && wch[0] <= 0x28ff) : wch[0] > 0x7e)
                n++;
        }
    return n;
}

Test(ui_metrics, table_shows_nan_and_infinity_as_such)
{
    console_ui *ui = start_metrics(30, 160, true, false, false, base());
    char top[LINE_MAX_BYTES];
    line(0, top, sizeof top);
    cr_expect(strstr(top, "5 Metrics") && strstr(top, "6 Audit"), "tabs: %s", top);
    cr_expect(screen_has("accounts"), "scope kind in the header");
    cr_expect(screen_has("all time"), "period in the header");
    int y = line_of("demo-1");
    if (y < 0)
        dump();
    cr_assert_geq(y, 0);
    char row[LINE_MAX_BYTES];
    line(y, row, sizeof row);
    cr_expect(strstr(row, "NaN"), "Sharpe NaN: %s", row);
    cr_expect(strstr(row, " Inf"), "profit factor Inf: %s", row);
    cr_expect(strstr(row, "-Inf"), "Sortino -Inf: %s", row);
    cr_expect(strstr(row, "3400.50") && strstr(row, "55.0%") && strstr(row, "-12.0%"), "%s", row);
    cr_expect_not(strstr(row, "nan") || strstr(row, "inf "), "no C spelling: %s", row);
    cr_expect(screen_has("demo-2"));
    cr_expect(screen_has("evil"), "hostile name shown, sanitised");
    cr_expect_not(screen_has_control(), "no control character reaches the terminal");
    stop_metrics(ui);
}

Test(ui_metrics, curve_in_braille_with_drawdown_and_dates)
{
    console_ui *ui = start_metrics(30, 160, true, false, false, base());
    int braille = count_cells(true);
    if (braille < 10)
        dump();
    cr_expect_geq(braille, 10, "braille cells: %d", braille);
    cr_expect(screen_has("Equity demo-1"), "the curve is of the selected row");
    cr_expect(screen_has("max DD -12.0% 2024-03-18..2024-03-24, not recovered"));
    cr_expect(screen_has("\xe2\x96\x91"), "drawdown shading row");
    /* x axis: the first and last day of the curve. */
    char first[16], last[16];
    snprintf(first, sizeof first, "2024-04-01"); /* NOW - 30 days */
    snprintf(last, sizeof last, "2024-04-30");
    cr_expect(screen_has(first) && screen_has(last), "x labels");
    cr_expect(screen_has(" 9400") && screen_has("12900"), "y labels: the lowest and highest equity");
    stop_metrics(ui);
}

Test(ui_metrics, ascii_fallback_without_colour)
{
    console_ui *ui = start_metrics(30, 120, false, true, false, base());
    cr_expect_eq(count_cells(true), 0, "no braille on an ASCII terminal");
    cr_expect_eq(count_cells(false), 0, "nothing but ASCII");
    int y = line_of("Equity demo-1");
    cr_assert_geq(y, 0);
    /* The plot holds line characters and the drawdown its ':' row. */
    bool line_chars = false, shade = false;
    for (int r = y + 1; r < LINES - 2; r++) {
        char buf[LINE_MAX_BYTES];
        line(r, buf, sizeof buf);
        buf[60] = '\0'; /* the curve pane is the left half */
        if (strpbrk(buf, "'_"))
            line_chars = true;
        if (strstr(buf, "::"))
            shade = true;
    }
    if (!line_chars || !shade)
        dump();
    cr_expect(line_chars, "ASCII line");
    cr_expect(shade, "drawdown visible without colour");
    stop_metrics(ui);
}

Test(ui_metrics, system_metrics_lines)
{
    console_ui *ui = start_metrics(30, 160, true, false, false, base());
    cr_expect(screen_has("System (p50/p95/p99)"));
    int y = line_of("broker poll");
    cr_assert_geq(y, 0);
    char row[LINE_MAX_BYTES];
    line(y, row, sizeof row);
    cr_expect(strstr(row, "12ms/40ms/95ms"), "%s", row);
    cr_expect(strstr(row, "\xe2\x96\x81") && strstr(row, "\xe2\x96\x88"), "sparkline: %s", row);
    cr_expect(screen_has("93.5%"), "hit rate");
    y = line_of("sync queue");
    cr_assert_geq(y, 0);
    line(y, row, sizeof row);
    cr_expect(strstr(row, "17"), "%s", row);
    y = line_of("postgres");
    cr_assert_geq(y, 0);
    line(y, row, sizeof row);
    cr_expect(strstr(row, "n/a"), "unknown latency: %s", row);
    stop_metrics(ui);
}

Test(ui_metrics, broker_poll_by_another_instance_says_so)
{
    sys_set *y = make_sys();
    y->m[SYSM_POLL_MS] = (sys_metric){.value = NAN, .p50 = NAN, .p95 = NAN, .p99 = NAN};
    y->polled_elsewhere = true;
    perf_request r = {.scope = PERF_SCOPE_ACCOUNT, .period = PERF_ALL};
    console_ui *ui = start_metrics(30, 160, true, false, false, snap_of(make_perf(&r, 0), y));
    int at = line_of("broker poll");
    cr_assert_geq(at, 0);
    char row[LINE_MAX_BYTES];
    line(at, row, sizeof row);
    cr_expect(strstr(row, "other instance"), "%s", row);
    y = make_sys();
    y->m[SYSM_POLL_MS] = (sys_metric){.value = NAN, .p50 = NAN, .p95 = NAN, .p99 = NAN};
    show(ui, snap_of(make_perf(&r, 0), y));
    line(at, row, sizeof row);
    cr_expect(strstr(row, "n/a") && !strstr(row, "other"), "polled here, no sample yet: %s", row);
    stop_metrics(ui);
}

Test(ui_metrics, empty_and_error_states)
{
    console_ui *ui = start_metrics(30, 140, true, false, false, snap_of(NULL, NULL));
    cr_expect(screen_has("loading"), "no perf set yet");
    cr_expect(screen_has("waiting for the first sample"));
    perf_request r = {.scope = PERF_SCOPE_ACCOUNT, .period = PERF_ALL};
    perf_set *p = perf_set_new(0, 0);
    p->request = r;
    snprintf(p->error, sizeof p->error, "db down " EVIL);
    sys_set *y = sys_set_new();
    snprintf(y->error, sizeof y->error, "redis gone " EVIL);
    show(ui, snap_of(p, y));
    cr_expect(screen_has("no closed trades in this period"));
    cr_expect(screen_has("error: db down"));
    cr_expect(screen_has("error: redis gone"));
    cr_expect_not(screen_has_control());
    char top[LINE_MAX_BYTES];
    line(0, top, sizeof top);
    cr_expect(strstr(top, "Metrics(!)"), "badge: %s", top);
    stop_metrics(ui);
}

Test(ui_metrics, fits_80x24)
{
    console_ui *ui = start_metrics(24, 80, true, false, false, base());
    cr_expect(screen_has("accounts"));
    cr_expect(screen_has("demo-1") && screen_has("demo-2"));
    cr_expect(screen_has("Equity demo-1"));
    cr_expect(screen_has("System"));
    cr_expect(screen_has("broker poll") && screen_has("errors/min"), "every system line");
    cr_expect_geq(count_cells(true), 5, "the curve is drawn at 80x24");
    stop_metrics(ui);
}

Test(ui_metrics, period_scope_and_selection_are_requests)
{
    console_ui *ui = start_metrics(30, 160, true, false, true, snap_of(NULL, make_sys()));
    perf_request r;
    uint64_t n = model_perf_wanted(the_model, &r);
    cr_expect_gt(n, 0, "entering the screen asks");
    cr_expect(r.scope == PERF_SCOPE_ACCOUNT && r.period == PERF_ALL);

    keys(ui, "P");
    uint64_t n2 = model_perf_wanted(the_model, &r);
    cr_expect_gt(n2, n);
    cr_expect_eq(r.period, PERF_DAY, "all time -> day");
    cr_expect(screen_has("day 2024-05-01"), "header names the bucket");
    keys(ui, "P");
    model_perf_wanted(the_model, &r);
    cr_expect_eq(r.period, PERF_WEEK);
    cr_expect(screen_has("week 2024-04-29"), "ISO week starts Monday");
    keys(ui, "P");
    model_perf_wanted(the_model, &r);
    cr_expect_eq(r.period, PERF_MONTH);
    cr_expect(screen_has("month 2024-05"));

    keys(ui, "o");
    n = model_perf_wanted(the_model, &r);
    cr_expect(r.scope == PERF_SCOPE_STRATEGY && r.period == PERF_MONTH);
    cr_expect(screen_has("strategies"));
    cr_expect(screen_has("loading"), "nothing shown until the answer");

    /* A stale answer (the previous request) is not shown. */
    perf_request old = {.scope = PERF_SCOPE_ACCOUNT, .period = PERF_MONTH};
    show(ui, snap_of(make_perf(&old, n - 1), make_sys()));
    cr_expect_not(screen_has("demo-1"), "an answer to another scope is not shown");

    perf_set *ps = make_perf(&r, n);
    ps->rows[2].key[0] = '\0'; /* trades without a strategy (006 stores them under "") */
    show(ui, snap_of(ps, make_sys()));
    cr_expect(screen_has("demo-1/trend"), "strategy rows");
    cr_expect(screen_has("/(none)"), "no strategy is named as such, not as the account");
    uint64_t before = model_perf_wanted(the_model, &r);
    cr_expect_eq(before, n, "the first row's curve came with the answer: no new request");

    keys(ui, "j");
    uint64_t after = model_perf_wanted(the_model, &r);
    cr_expect_gt(after, before, "a new selection asks for its curve");
    cr_expect_str_eq(r.account, "demo-2");
    cr_expect_str_eq(r.key, "scalp");
    cr_expect(r.scope == PERF_SCOPE_STRATEGY && r.period == PERF_MONTH);
    cr_expect(screen_has("Equity demo-2/scalp"), "title follows the cursor");
    show(ui, snap_of(make_perf(&r, after), make_sys()));
    cr_expect_geq(count_cells(true), 10, "its curve drawn");

    keys(ui, "o");
    model_perf_wanted(the_model, &r);
    cr_expect_eq(r.scope, PERF_SCOPE_SYMBOL);
    cr_expect_str_eq(r.account, "", "a new list starts at its first row");
    cr_expect(screen_has("symbols"));
    stop_metrics(ui);
}

Test(ui_metrics, tab_moves_focus_then_next_screen)
{
    console_ui *ui = start_metrics(30, 160, true, false, false, base());
    keys(ui, "\t");
    char top[LINE_MAX_BYTES];
    line(0, top, sizeof top);
    cr_expect(screen_has("Equity demo-1"), "still on Metrics after one Tab");
    keys(ui, "\t\t");
    /* Past the last pane: the next screen (Audit). */
    cr_expect_not(screen_has("System (p50/p95/p99)"), "Tab past the last pane leaves");
    stop_metrics(ui);
}

Test(ui_metrics, d_opens_and_closes_the_digests_view)
{
    console_ui *ui = start_metrics(30, 160, true, false, false, base());
    cr_assert(screen_has("System (p50/p95/p99)"));
    keys(ui, "d");
    cr_expect_not(screen_has("System (p50/p95/p99)"), "the digests view replaces the panes");
    keys(ui, "d");
    cr_expect(screen_has("System (p50/p95/p99)"), "d again closes it");
    cr_expect(screen_has("Equity demo-1"));
    stop_metrics(ui);
}

/* ---- the digests view (screens/metrics_digests.c) ---- */

static digest_set *make_digests(const char *preview_name, const char *preview, const char *why)
{
    digest_set *d = digest_set_new(3);
    cr_assert_not_null(d);
    snprintf(d->rows[0].name, sizeof d->rows[0].name, "daily-fx");
    snprintf(d->rows[0].kind, sizeof d->rows[0].kind, "daily");
    snprintf(d->rows[0].schedule, sizeof d->rows[0].schedule, "daily 18:00 Europe/Prague");
    snprintf(d->rows[0].scope, sizeof d->rows[0].scope, "demo-1,demo-2");
    snprintf(d->rows[0].destinations, sizeof d->rows[0].destinations, "telegram,slack");
    d->rows[0].enabled = true;
    snprintf(d->rows[1].name, sizeof d->rows[1].name, "weekly-news");
    snprintf(d->rows[1].kind, sizeof d->rows[1].kind, "message");
    snprintf(d->rows[1].schedule, sizeof d->rows[1].schedule, "weekly Fri 17:00 UTC");
    snprintf(d->rows[1].scope, sizeof d->rows[1].scope, "all");
    snprintf(d->rows[1].destinations, sizeof d->rows[1].destinations, "slack");
    d->rows[1].enabled = true;
    snprintf(d->rows[1].last_status, sizeof d->rows[1].last_status, "failed");
    snprintf(d->rows[1].last_error, sizeof d->rows[1].last_error, "slack not configured");
    snprintf(d->rows[2].name, sizeof d->rows[2].name, "desk-week");
    snprintf(d->rows[2].kind, sizeof d->rows[2].kind, "weekly");
    snprintf(d->rows[2].schedule, sizeof d->rows[2].schedule, "weekly Fri 17:00 UTC");
    snprintf(d->rows[2].scope, sizeof d->rows[2].scope, "demo-1,demo-2");
    snprintf(d->rows[2].group, sizeof d->rows[2].group, "FX desk");
    snprintf(d->rows[2].destinations, sizeof d->rows[2].destinations, "telegram");
    snprintf(d->preview_name, sizeof d->preview_name, "%s", preview_name);
    if (preview)
        d->preview = strdup(preview);
    snprintf(d->preview_error, sizeof d->preview_error, "%s", why);
    return d;
}

Test(ui_metrics, digests_list_preview_and_requests)
{
    model_snapshot *s = base();
    s->digests = make_digests("daily-fx", "Alpha: 3 trades, net \x1b[31m-120.23\x1b[0m", "");
    console_ui *ui = start_metrics(30, 160, true, false, true, s);
    keys(ui, "d");
    cr_expect(screen_has("daily-fx"), "the list");
    cr_expect(screen_has("weekly-news"));
    cr_expect(screen_has("daily 18:00 Europe/Prague"));
    cr_expect(screen_has("group FX desk"), "a group digest says so");
    cr_expect(screen_has("Alpha: 3 trades, net"), "the preview of the selected digest");
    cr_expect_not(screen_has_control(), "the preview's escape sequences are inert");
    /* Opening asked for the selected digest's preview; moving asks for the next. */
    char name[64];
    model_digest_wanted(the_model, name, sizeof name);
    cr_expect_str_eq(name, "daily-fx");
    keys(ui, "j");
    model_digest_wanted(the_model, name, sizeof name);
    cr_expect_str_eq(name, "weekly-news");
    /* A preview the loader could not give says why. */
    model_snapshot *t = base();
    t->digests = make_digests("weekly-news", NULL, "preview needs the admin role");
    show(ui, t);
    cr_expect(screen_has("preview needs the admin role"), "why there is no preview");
    cr_expect(screen_has("slack not configured"), "the last run's error");
    keys(ui, "d");
    model_digest_wanted(the_model, name, sizeof name);
    cr_expect_str_eq(name, "", "closed: no preview wanted any more");
    stop_metrics(ui);
}

Test(ui_metrics, send_now_asks_and_is_gone_when_read_only)
{
    model_snapshot *s = base();
    s->digests = make_digests("daily-fx", "text", "");
    console_ui *ui = start_metrics(30, 160, true, false, true, s);
    keys(ui, "d");
    keys(ui, "N");
    cr_expect(screen_has("send digest daily-fx now?"), "N asks, naming the digest");
    keys(ui, "\x1b");
    stop_metrics(ui);

    model_snapshot *r = base();
    r->digests = make_digests("daily-fx", "text", "");
    console_ui *ro = start_at(30, 160, true, true, true, false, r);
    keys(ro, "5");
    keys(ro, "d");
    keys(ro, "N");
    cr_expect_not(screen_has("send digest"), "read-only: no send");
    cr_expect_not(screen_has("N send now"), "nor its hint");
    stop(ro);
}
