/*
 * test_ui_render.c - the console drawn into a null terminal (newterm on
 * /dev/null), read back cell by cell: what an operator would see, at 80x24,
 * at 20x5, with hostile strings from the broker, and after keys.
 */
#include <criterion/criterion.h>
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "bar.h"
#include "console_ui.h"
#include "draw.h"
#include "table.h"
#include "theme.h"

#define NOW_MS 1714571110000LL /* 2024-05-01 13:45:10 UTC */

static SCREEN *scr;
static FILE *out, *in;

static void null_term(int lines, int cols)
{
    setlocale(LC_ALL, "C.UTF-8");
    draw_setup(glyph_select(GLYPH_AUTO, nl_langinfo(CODESET)), true);
    out = fopen("/dev/null", "w");
    in = fopen("/dev/null", "r");
    cr_assert(out && in);
    scr = newterm("xterm-256color", out, in);
    cr_assert_not_null(scr, "newterm failed (terminfo for xterm-256color missing?)");
    set_term(scr);
    start_color();
    theme_init(false);
    resize_term(lines, cols);
}

static void null_term_end(void)
{
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
}

/* Line y of what the terminal shows. */
static void line(int y, char *buf, int n)
{
    buf[0] = '\0';
    mvwinnstr(curscr, y, 0, buf, n - 1);
}

static bool screen_has(const char *needle)
{
    char buf[1024];
    for (int y = 0; y < LINES; y++) {
        line(y, buf, sizeof buf);
        if (strstr(buf, needle))
            return true;
    }
    return false;
}

static bool screen_has_byte(unsigned char c)
{
    for (int y = 0; y < LINES; y++)
        for (int x = 0; x < COLS; x++) {
            chtype ch = mvwinch(curscr, y, x) & A_CHARTEXT;
            if (ch == c)
                return true;
        }
    return false;
}

static void fill_account(account_view *a, int i, int64_t now)
{
    snprintf(a->id, sizeof a->id, "demo-%d", i + 1);
    snprintf(a->name, sizeof a->name, "Demo %d", i + 1);
    a->dd_limit_pct = 20;
    a->has_info = true;
    a->info.balance = 10000.0 * (i + 1);
    a->info.equity = a->info.balance - 150.25;
    a->peak_equity = a->info.balance + 100;
    a->updated_ms = now - 800;
    a->link = LINK_UP;
}

/* Three accounts; demo-1 holds a position whose symbol carries an escape
 * sequence; demo-3 is stale with its link down and a hostile error. */
static model_snapshot *sample(void)
{
    model_snapshot *s = model_snapshot_new(3);
    cr_assert_not_null(s);
    s->built_ms = NOW_MS;
    s->stale_after_ms = 5000;
    s->pg = LINK_UP;
    s->redis = LINK_DOWN;
    snprintf(s->redis_error, sizeof s->redis_error, "refused\x1b[2J");
    s->broker = LINK_UP;
    for (int i = 0; i < 3; i++)
        fill_account(&s->accounts[i], i, NOW_MS);
    account_view *a = &s->accounts[0];
    a->positions = calloc(2, sizeof *a->positions);
    cr_assert_not_null(a->positions);
    a->n_positions = 2;
    snprintf(a->positions[0].id, sizeof a->positions[0].id, "46648037");
    snprintf(a->positions[0].symbol, sizeof a->positions[0].symbol, "EVIL\x1b[2J");
    a->positions[0].volume = 0.5;
    a->positions[0].open_price = 1.08123;
    a->positions[0].current_price = 1.08200;
    a->positions[0].stop_loss = NAN;
    a->positions[0].take_profit = NAN;
    a->positions[0].profit = 38.5;
    a->positions[0].open_time_ms = NOW_MS - 3600000;
    snprintf(a->positions[1].id, sizeof a->positions[1].id, "46648038");
    snprintf(a->positions[1].symbol, sizeof a->positions[1].symbol, "XAUUSD");
    a->positions[1].side = SIDE_SELL;
    a->positions[1].current_price = 2345.5;
    a->positions[1].stop_loss = 2400;
    a->positions[1].take_profit = NAN;
    account_view *c = &s->accounts[2];
    c->updated_ms = NOW_MS - 60000;
    c->link = LINK_DOWN;
    snprintf(c->error, sizeof c->error, "HTTP 502\x1b]0;pwned\x07 from bridge");
    return s;
}

static console_opts opts(bool readonly, const char *env)
{
    console_opts o = {.operator_name = "alice",
                      .role = "oncall",
                      .source = "local",
                      .environment = env,
                      .readonly = readonly};
    return o;
}

static console_ui *start(int lines, int cols, const console_opts *o, model_snapshot *snap)
{
    null_term(lines, cols);
    char err[256];
    console_ui *ui = console_ui_new(o, err, sizeof err);
    cr_assert_not_null(ui, "%s", err);
    console_ui_set_snapshot(ui, snap, NOW_MS);
    console_ui_render(ui, NOW_MS);
    return ui;
}

static void stop(console_ui *ui)
{
    console_ui_free(ui);
    null_term_end();
}

static void keys(console_ui *ui, const char *s)
{
    for (; *s; s++)
        console_ui_key(ui, false, (unsigned char)*s, NOW_MS);
    console_ui_render(ui, NOW_MS);
}

Test(ui_render, positions_at_80x24_show_chrome_accounts_and_inert_strings)
{
    console_opts o = opts(false, "DEMO");
    console_ui *ui = start(24, 80, &o, sample());
    char top[256], status[256], hint[256];
    line(0, top, sizeof top);
    line(22, status, sizeof status);
    line(23, hint, sizeof hint);
    /* With every tab, 80 columns leave no room for the product name: the
     * bar drops it first (bar.c), keeping the environment, tabs and clock. */
    cr_expect(strstr(top, "DEMO") && strstr(top, "1 Positions") && strstr(top, "6 Audit"),
              "tab bar: %s", top);
    cr_expect(strstr(top, "13:45:10 UTC"), "clock: %s", top);
    cr_expect(strstr(status, "PostgreSQL up") && strstr(status, "Redis down"), "status: %s",
              status);
    cr_expect(strstr(status, "alice@oncall"), "status: %s", status);
    cr_expect(strstr(hint, "? help") && strstr(hint, "q quit"), "hint: %s", hint);
    cr_expect(screen_has("demo-1") && screen_has("demo-2") && screen_has("demo-3"));
    cr_expect(screen_has("9,849.75"), "equity with separators");
    cr_expect(screen_has("0.8s"), "data age");
    cr_expect(screen_has("46648037"));
    cr_expect(screen_has("EVIL?[2J"), "hostile symbol shown inert");
    cr_expect_not(screen_has_byte(0x1b), "an ESC byte reached the screen");
    cr_expect_not(screen_has_byte(0x07));
    stop(ui);
}

Test(ui_render, link_down_account_shows_its_error_sanitised)
{
    console_opts o = opts(false, "DEMO");
    console_ui *ui = start(24, 80, &o, sample());
    keys(ui, "jj"); /* to demo-3 */
    cr_expect(screen_has("Positions of demo-3"));
    cr_expect(screen_has("link down: HTTP 502?]0;pwned? from bridge"));
    cr_expect(screen_has("1m00s"), "stale age shown");
    cr_expect_not(screen_has_byte(0x1b));
    stop(ui);
}

Test(ui_render, filter_prompt_narrows_the_accounts)
{
    console_opts o = opts(false, "DEMO");
    console_ui *ui = start(24, 80, &o, sample());
    keys(ui, "/demo-2");
    char hint[256];
    line(23, hint, sizeof hint);
    cr_expect(strstr(hint, "/demo-2"), "prompt: %s", hint);
    keys(ui, "\r");
    cr_expect(screen_has("demo-2"));
    cr_expect_not(screen_has("demo-1"));
    cr_expect_not(screen_has("demo-3"));
    cr_expect(screen_has("filter: demo-2"));
    /* Esc cancels a new prompt and keeps the filter; empty clears it. */
    keys(ui, "/x\x1b");
    cr_expect(screen_has("filter: demo-2"));
    console_ui_key(ui, false, '/', NOW_MS);
    console_ui_key(ui, false, 21, NOW_MS); /* ^U */
    keys(ui, "\r");
    cr_expect(screen_has("demo-1") && screen_has("demo-3"));
    stop(ui);
}

Test(ui_render, help_lists_actions_and_closes)
{
    console_opts o = opts(false, "DEMO");
    console_ui *ui = start(40, 100, &o, sample());
    keys(ui, "?");
    cr_expect(screen_has("Help"));
    cr_expect(screen_has("Leave the console"));
    cr_expect(screen_has("Sort by the next column"));
    keys(ui, "q"); /* closes help, does not quit */
    cr_expect_not(screen_has("Leave the console"));
    cr_expect(screen_has("demo-1"));
    cr_expect_eq(console_ui_key(ui, false, 'q', NOW_MS) & REACT_QUIT, REACT_QUIT);
    stop(ui);
}

Test(ui_render, live_readonly_paused_flags_are_shown)
{
    console_opts o = opts(true, "LIVE");
    console_ui *ui = start(24, 80, &o, sample());
    keys(ui, "p");
    char top[256], status[256];
    line(0, top, sizeof top);
    line(22, status, sizeof status);
    cr_expect(strstr(top, "LIVE"), "%s", top);
    cr_expect(strstr(status, "READ-ONLY") && strstr(status, "PAUSED"), "%s", status);
    cr_expect(console_ui_paused(ui));
    /* The LIVE label is drawn in the danger role (red). */
    int x = (int)(strstr(top, "LIVE") - top);
    attr_t a = mvwinch(curscr, 0, x) & (A_ATTRIBUTES | A_COLOR);
    cr_expect_eq(a & A_COLOR, theme_attr(ROLE_ENV_DANGER) & A_COLOR);
    stop(ui);
}

Test(ui_render, waiting_for_data_before_the_first_snapshot)
{
    console_opts o = opts(false, "DEMO");
    console_ui *ui = start(24, 80, &o, NULL);
    cr_expect(screen_has("waiting for data"));
    stop(ui);
}

Test(ui_render, tiny_terminal_says_too_small_and_recovers)
{
    console_opts o = opts(false, "DEMO");
    console_ui *ui = start(5, 20, &o, sample());
    char l0[64];
    line(0, l0, sizeof l0);
    cr_expect(strstr(l0, "too small 20x5"), "line: %s", l0);
    cr_expect_not(screen_has("demo-1"));
    for (int y = 1; y < 5; y++) {
        char l[64];
        line(y, l, sizeof l);
        cr_expect_eq(strspn(l, " "), strlen(l), "garbage on line %d: %s", y, l);
    }
    resize_term(24, 80);
    console_ui_invalidate(ui, REACT_FULL);
    console_ui_render(ui, NOW_MS);
    cr_expect(screen_has("demo-1"));
    cr_expect_not(screen_has("too small"));
    /* Every size from tiny to wide draws without crashing. */
    for (int c = 10; c <= 140; c += 13)
        for (int l = 3; l <= 30; l += 5) {
            resize_term(l, c);
            console_ui_invalidate(ui, REACT_FULL);
            console_ui_render(ui, NOW_MS);
        }
    stop(ui);
}

Test(ui_render, clock_tick_repaints_only_when_the_second_changes)
{
    console_opts o = opts(false, "DEMO");
    console_ui *ui = start(24, 80, &o, sample());
    int64_t due = console_ui_render(ui, NOW_MS + 100);
    cr_expect_leq(due, NOW_MS + 1000);
    cr_expect_gt(due, NOW_MS + 100);
    console_ui_render(ui, NOW_MS + 1000);
    cr_expect(screen_has("13:45:11 UTC"));
    stop(ui);
}

/* Only what is visible is formatted, whatever the row count. */
typedef struct many {
    size_t cells;
} many;

static void many_key(void *ctx, size_t row, char *buf, size_t cap)
{
    (void)ctx;
    snprintf(buf, cap, "r%zu", row);
}

static void many_cell(void *ctx, size_t row, int col, table_cell *c)
{
    many *m = ctx;
    m->cells++;
    snprintf(c->text, c->cap, "%zu", row * 10 + (size_t)col);
}

Test(ui_render, table_draw_formats_only_visible_rows)
{
    null_term(24, 80);
    static const table_column cols[2] = {{"A", 6, 10, TABLE_LEFT, 0, false, false},
                                         {"B", 6, 10, TABLE_RIGHT, 0, false, false}};
    table *t = table_new(cols, 2);
    many m = {0};
    table_source src = {.ctx = &m, .n = 100000, .key = many_key, .cell = many_cell};
    cr_assert_eq(table_set_source(t, &src, 0), 0);
    table_draw(t, stdscr, 0, 0, 21, 80, true, "none", 0);
    cr_expect_eq(m.cells, 20 * 2);
    table_end(t);
    m.cells = 0;
    table_draw(t, stdscr, 0, 0, 21, 80, true, "none", 0);
    cr_expect_eq(m.cells, 20 * 2);
    wnoutrefresh(stdscr);
    doupdate();
    cr_expect(screen_has("999990"));
    table_free(t);
    null_term_end();
}

Test(ui_render, tab_badges_survive_when_names_do_not_fit)
{
    null_term(24, 80);
    WINDOW *w = newwin(1, 44, 0, 0);
    cr_assert_not_null(w);
    bar_tab tabs[] = {{"1 Positions", NULL, ROLE_TAB}, {"2 Alerts", "(1)", ROLE_TAB},
                      {"3 Recon", "(5)", ROLE_TAB},    {"4 Sync", "(3!)", ROLE_TAB},
                      {"6 Audit", NULL, ROLE_TAB}};
    bar_tabs spec = {.product = "tradeops", .env = "DEMO", .tabs = tabs, .ntabs = 5,
                     .active = 3, .clock = "12:00:00 UTC"};
    bar_draw_tabs(w, 0, 44, &spec);
    char buf[64];
    cr_assert_neq(mvwinnstr(w, 0, 0, buf, 44), ERR);
    /* Too narrow for every name: the other tabs shrink to their numbers,
     * and their badges (alerts, divergences) stay. */
    cr_assert_null(strstr(buf, "Alerts"), "%s", buf);
    cr_assert_not_null(strstr(buf, "2(1)"), "the Alerts badge is gone: %s", buf);
    cr_assert_not_null(strstr(buf, "3(5)"), "%s", buf);
    cr_assert_not_null(strstr(buf, "4 Sync(3!)"), "%s", buf);
    delwin(w);
    null_term_end();
}
