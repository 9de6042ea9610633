/*
 * ui_recon_fixture.h - what the Reconciliation screen's tests share: a
 * null terminal (newterm on /dev/null) read back cell by cell, a command
 * port that records what the console submits and hands back queued
 * results, and hand-built snapshots carrying a recon set.
 *
 * The port is the console's real interface filled by the test (the
 * engine's command thread is another module's). Functions are static
 * inline so each test file takes what it uses.
 */
#ifndef TRADEOPS_TESTS_UI_RECON_FIXTURE_H
#define TRADEOPS_TESTS_UI_RECON_FIXTURE_H

#include <criterion/criterion.h>
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "command.h"
#include "console_ui.h"
#include "draw.h"
#include "theme.h"

#define NOW_MS 1714571110000LL /* 2024-05-01 13:45:10 UTC */
#define MIN_MS 60000LL
#define NEW_ROW_MS 5000 /* screens/recon_int.h: RECON_NEW_MS */
#define LINE_MAX_BYTES 1024

static SCREEN *scr;
static FILE *out, *in;

static inline void null_term(int lines, int cols, bool utf8, bool mono)
{
    setlocale(LC_ALL, utf8 ? "C.UTF-8" : "C");
    draw_setup(glyph_select(utf8 ? GLYPH_AUTO : GLYPH_ASCII, nl_langinfo(CODESET)), utf8);
    out = fopen("/dev/null", "w");
    in = fopen("/dev/null", "r");
    cr_assert(out && in);
    scr = newterm("xterm-256color", out, in);
    cr_assert_not_null(scr, "newterm failed (terminfo for xterm-256color missing?)");
    set_term(scr);
    start_color();
    theme_init(mono);
    resize_term(lines, cols);
}

static inline void null_term_end(void)
{
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
}

static inline void line(int y, char *buf, int n)
{
    buf[0] = '\0';
    mvwinnstr(curscr, y, 0, buf, n - 1);
}

/* What the terminal shows, on stderr: read with a failure's message. */
static inline void dump(void)
{
    char buf[LINE_MAX_BYTES];
    for (int y = 0; y < LINES; y++) {
        line(y, buf, sizeof buf);
        fprintf(stderr, "%2d|%s\n", y, buf);
    }
}

/* The first screen line holding needle, or -1. */
static inline int line_of(const char *needle)
{
    char buf[LINE_MAX_BYTES];
    for (int y = 0; y < LINES; y++) {
        line(y, buf, sizeof buf);
        if (strstr(buf, needle))
            return y;
    }
    return -1;
}

static inline bool screen_has(const char *needle)
{
    return line_of(needle) >= 0;
}

/* True when any cell holds a C0 or C1 control or DEL. */
static inline bool screen_has_control(void)
{
    for (int y = 0; y < LINES; y++)
        for (int x = 0; x < COLS; x++) {
            cchar_t cc;
            wchar_t wch[CCHARW_MAX + 1];
            attr_t a;
            short pair;
            if (mvwin_wch(curscr, y, x, &cc) == ERR)
                continue;
            if (getcchar(&cc, wch, &a, &pair, NULL) == ERR)
                continue;
            for (int i = 0; wch[i]; i++)
                if (wch[i] < 0x20 || (wch[i] >= 0x7f && wch[i] < 0xa0))
                    return true;
        }
    return false;
}

/* Whether the cell shows the selection (colour, reverse, bold alike). */
static inline bool selected_at(int y, int x)
{
    attr_t want = theme_attr(ROLE_SELECTED);
    return (mvwinch(curscr, y, x) & (A_ATTRIBUTES & ~A_ALTCHARSET)) == want;
}

/* Colour pair of the first cell of needle on screen. */
static inline attr_t color_at(const char *needle)
{
    char buf[LINE_MAX_BYTES];
    for (int y = 0; y < LINES; y++) {
        line(y, buf, sizeof buf);
        const char *p = strstr(buf, needle);
        if (p) {
            /* Bytes before it are ASCII in these tests: byte index is column. */
            return mvwinch(curscr, y, (int)(p - buf)) & A_COLOR;
        }
    }
    dump();
    cr_assert_fail("\"%s\" not on screen", needle);
    return 0;
}

/* ---- a test command port ----------------------------------------------- */

#define PORT_MAX 8

typedef struct test_port {
    command sent[PORT_MAX];
    size_t n_sent;
    command_result results[PORT_MAX];
    size_t n_results, taken;
} test_port;

static inline int tp_submit(void *ctx, const command *cmd, char *err, size_t errlen)
{
    test_port *tp = ctx;
    if (tp->n_sent >= PORT_MAX) {
        snprintf(err, errlen, "queue full");
        return -1;
    }
    tp->sent[tp->n_sent++] = *cmd;
    return 0;
}

static inline bool tp_take(void *ctx, command_result *res)
{
    test_port *tp = ctx;
    if (tp->taken >= tp->n_results)
        return false;
    *res = tp->results[tp->taken++];
    return true;
}

static test_port tp;
static command_port port;

static inline void port_init(void)
{
    memset(&tp, 0, sizeof tp);
    port = (command_port){.submit = tp_submit, .take_result = tp_take, .result_fd = -1, .ctx = &tp};
}

/* ---- snapshots --------------------------------------------------------- */

typedef struct row_spec {
    int64_t id;
    const char *account, *position, *symbol;
    enum recon_kind kind;
    bool resolved, by_operator;
    const char *resolved_by, *note, *detail;
} row_spec;

static const row_spec base_rows[] = {
    {15, "demo-3", "3001", "EVIL\x1b[2J", RECON_MISSING_AT_BROKER, false, false, NULL, NULL,
     "gone at the broker\x1b]0;pwned\x07"},
    {14, "demo-2", "2002", "USDJPY", RECON_SL, false, false, NULL, NULL, "SL 150.000 expected"},
    {13, "demo-2", "2001", "XAUUSD", RECON_VOLUME, false, false, NULL, NULL,
     "volume 0.50 expected, 0.20 at the broker"},
    {12, "demo-1", "1002", "GBPUSD", RECON_UNEXPECTED_AT_BROKER, false, false, NULL, NULL,
     "not the bot's"},
    {11, "demo-1", "1001", "EURUSD", RECON_MISSING_AT_BROKER, false, false, NULL, NULL,
     "closed by the broker"},
    {9, "demo-1", "900", "EURUSD", RECON_TP, true, true, "alice", "checked \x1b[31mred", "tp"},
    {8, "demo-3", "800", "AUDUSD", RECON_SIDE, true, false, NULL, NULL, "side flipped"},
};
#define N_BASE (sizeof base_rows / sizeof base_rows[0])

static inline void fill_side(recon_side *sd, const char *symbol, const char *side, double vol)
{
    sd->present = true;
    snprintf(sd->symbol, sizeof sd->symbol, "%s", symbol);
    snprintf(sd->side, sizeof sd->side, "%s", side);
    sd->volume = vol;
    sd->stop_loss = NAN;
    sd->take_profit = NAN;
    sd->magic = 7;
    snprintf(sd->strategy, sizeof sd->strategy, "trend");
}

static inline void fill_row(recon_row *r, const row_spec *sp)
{
    memset(r, 0, sizeof *r);
    r->id = sp->id;
    snprintf(r->account, sizeof r->account, "%s", sp->account);
    snprintf(r->position, sizeof r->position, "%s", sp->position);
    snprintf(r->symbol, sizeof r->symbol, "%s", sp->symbol);
    r->kind = sp->kind;
    snprintf(r->detail, sizeof r->detail, "%s", sp->detail ? sp->detail : "");
    r->first_seen_ms = NOW_MS - 5 * MIN_MS;
    r->last_seen_ms = NOW_MS - 2000;
    if (sp->kind != RECON_UNEXPECTED_AT_BROKER)
        fill_side(&r->expected, sp->symbol, "BUY", 0.5);
    if (sp->kind != RECON_MISSING_AT_BROKER)
        fill_side(&r->actual, sp->symbol, sp->kind == RECON_SIDE ? "SELL" : "BUY",
                  sp->kind == RECON_VOLUME ? 0.2 : 0.5);
    r->actual.strategy[0] = '\0'; /* the broker keeps no strategy */
    if (sp->kind == RECON_SL) {
        r->expected.stop_loss = 150.0;
        r->actual.stop_loss = 149.5;
    }
    if (sp->resolved) {
        r->resolved_ms = NOW_MS - MIN_MS;
        r->by_operator = sp->by_operator;
        snprintf(r->resolved_by, sizeof r->resolved_by, "%s",
                 sp->resolved_by ? sp->resolved_by : "");
        snprintf(r->note, sizeof r->note, "%s", sp->note ? sp->note : "");
        if (!sp->by_operator)
            r->cleared_ms = r->resolved_ms;
    }
}

/* A snapshot with three accounts and a recon set of the given rows (NULL
 * rows: no recon set, as before the reconciler's first pass). */
static inline model_snapshot *snapshot_with(const row_spec *rows, size_t n)
{
    model_snapshot *s = model_snapshot_new(3);
    cr_assert_not_null(s);
    s->built_ms = NOW_MS;
    s->stale_after_ms = 5000;
    s->pg = s->redis = s->broker = LINK_UP;
    for (int i = 0; i < 3; i++) {
        account_view *a = &s->accounts[i];
        snprintf(a->id, sizeof a->id, "demo-%d", i + 1);
        a->has_info = true;
        a->updated_ms = NOW_MS - 500;
        a->link = LINK_UP;
    }
    if (!rows)
        return s;
    recon_set *set = recon_set_new(n);
    cr_assert_not_null(set);
    for (size_t i = 0; i < n; i++) {
        fill_row(&set->rows[i], &rows[i]);
        if (!rows[i].resolved) {
            set->open_by_kind[rows[i].kind]++;
            set->n_open++;
        }
    }
    set->passes = 37;
    set->last_pass_ms = NOW_MS - 4000;
    set->accounts_checked = 3;
    set->accounts_skipped_stale = 1;
    s->recon = set;
    return s;
}

static inline model_snapshot *sample(void)
{
    return snapshot_with(base_rows, N_BASE);
}

static inline console_opts opts(bool readonly)
{
    console_opts o = {.operator_name = "alice",
                      .role = "oncall",
                      .source = "local",
                      .environment = "DEMO",
                      .readonly = readonly};
    return o;
}

static console_opts the_opts;

static inline console_ui *start_at(int lines, int cols, bool readonly, bool with_port, bool utf8,
                                   bool mono, model_snapshot *snap)
{
    null_term(lines, cols, utf8, mono);
    port_init();
    the_opts = opts(readonly);
    char err[256];
    console_ui *ui = console_ui_new(&the_opts, err, sizeof err);
    cr_assert_not_null(ui, "%s", err);
    if (with_port)
        console_ui_set_port(ui, &port);
    console_ui_set_snapshot(ui, snap, NOW_MS);
    console_ui_render(ui, NOW_MS);
    return ui;
}

static inline console_ui *start(bool readonly, model_snapshot *snap)
{
    return start_at(24, 100, readonly, true, true, false, snap);
}

static inline void stop(console_ui *ui)
{
    console_ui_free(ui);
    null_term_end();
}

static inline void keys_at(console_ui *ui, const char *s, int64_t now)
{
    for (; *s; s++)
        console_ui_key(ui, false, (unsigned char)*s, now);
    console_ui_render(ui, now);
}

static inline void keys(console_ui *ui, const char *s)
{
    keys_at(ui, s, NOW_MS);
}

/* Moves the cursor to the row whose id column shows id (top to bottom). */
static inline void select_id(console_ui *ui, const char *id)
{
    keys(ui, "g");
    for (int i = 0; i < 20; i++) {
        char buf[LINE_MAX_BYTES];
        int y = line_of(id);
        if (y < 0)
            dump();
        cr_assert_geq(y, 0, "row %s not on screen", id);
        line(y, buf, sizeof buf);
        /* The selected row is drawn in the selection role. */
        if (selected_at(y, 2))
            return;
        keys(ui, "j");
    }
    dump();
    cr_assert_fail("could not select row %s", id);
}

static inline void hint(char *buf, int n)
{
    line(LINES - 1, buf, n);
}

static inline void status(char *buf, int n)
{
    line(LINES - 2, buf, n);
}

/* The base set without row `drop` (0: none) plus two newer rows, in
 * another order. */
static inline model_snapshot *reshuffled_without(int64_t drop)
{
    row_spec rows[N_BASE + 2];
    size_t n = 0;
    rows[n++] =
        (row_spec){17, "demo-1", "1003", "NZDUSD", RECON_TP, false, false, NULL, NULL, "tp moved"};
    for (size_t i = 0; i < N_BASE; i++)
        if (base_rows[N_BASE - 1 - i].id != drop)
            rows[n++] = base_rows[N_BASE - 1 - i];
    rows[n++] =
        (row_spec){16, "demo-2", "2003", "EURJPY", RECON_SIDE, false, false, NULL, NULL, "side"};
    return snapshot_with(rows, n);
}

static inline model_snapshot *reshuffled(void)
{
    return reshuffled_without(0);
}

#endif
