/*
 * bench_screen.c - the Positions screen's cost with 10,000 accounts and
 * 100,000 positions: microseconds per frame, and bytes written to the
 * terminal for one cursor move and for one idle second. Reference in the
 * same run: plain ncurses painting a screenful of text of the same size.
 * The terminal is a newterm() writing to an unlinked temporary file, whose
 * size counts the bytes (ncurses writes to the descriptor, not the FILE).
 */
#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "clock.h"
#include "console_ui.h"
#include "model.h"

#define BENCH_ACCOUNTS_N 10000
#define BENCH_POSITIONS_PER 10
#define BENCH_FRAMES 50
#define BENCH_COLS 120
#define BENCH_LINES 40

static FILE *out;

static size_t written(void)
{
    struct stat st;
    fflush(out);
    return fstat(fileno(out), &st) == 0 ? (size_t)st.st_size : 0;
}

static model_snapshot *make_snapshot(int64_t now, double drift)
{
    model_snapshot *s = model_snapshot_new(BENCH_ACCOUNTS_N);
    if (!s)
        return NULL;
    s->stale_after_ms = 10000;
    s->built_ms = now;
    s->pg = s->redis = s->broker = LINK_UP;
    for (size_t i = 0; i < BENCH_ACCOUNTS_N; i++) {
        account_view *a = &s->accounts[i];
        snprintf(a->id, sizeof a->id, "acct-%05zu", i);
        snprintf(a->name, sizeof a->name, "Account %zu", i);
        a->dd_limit_pct = 20;
        a->has_info = true;
        a->info.balance = 10000 + (double)i;
        a->info.equity = a->info.balance + drift * (double)(i % 7);
        a->peak_equity = a->info.balance + 50;
        a->updated_ms = now - (int64_t)(i % 3000);
        a->link = LINK_UP;
        a->positions = calloc(BENCH_POSITIONS_PER, sizeof *a->positions);
        if (!a->positions)
            return s;
        a->n_positions = BENCH_POSITIONS_PER;
        for (size_t k = 0; k < BENCH_POSITIONS_PER; k++) {
            position *p = &a->positions[k];
            snprintf(p->id, sizeof p->id, "%zu", 1000000 + i * 10 + k);
            snprintf(p->symbol, sizeof p->symbol, "%s", k % 2 ? "EURUSD" : "XAUUSD");
            p->volume = 0.1 * (double)(k + 1);
            p->open_price = 1.1;
            p->current_price = 1.1 + drift / 1000;
            p->stop_loss = p->take_profit = 0.0 / 0.0;
            p->profit = drift * (double)k;
            p->open_time_ms = now - 3600000;
        }
    }
    return s;
}

int bench_screen(void)
{
    setlocale(LC_ALL, "C.UTF-8");
    out = tmpfile();
    FILE *in = fopen("/dev/null", "r");
    if (!out || !in)
        return -1;
    SCREEN *scr = newterm("xterm-256color", out, in);
    if (!scr)
        return -1;
    resizeterm(BENCH_LINES, BENCH_COLS);
    console_opts o = {.operator_name = "bench", .role = "admin", .source = "local",
                      .environment = "DEMO", .log_path = "/dev/null"};
    char err[256];
    console_ui *ui = console_ui_new(&o, err, sizeof err);
    if (!ui) {
        fprintf(stderr, "bench_screen: %s\n", err);
        return -1;
    }
    int64_t now = clock_now_ms();
    double t0 = clock_mono_us();
    console_ui_set_snapshot(ui, make_snapshot(now, 1.0), now);
    double build_first = clock_mono_us() - t0;
    t0 = clock_mono_us();
    console_ui_render(ui, now);
    double first = clock_mono_us() - t0;
    size_t first_bytes = written();

    /* Snapshots with every value changed, as after each poll cycle. */
    model_snapshot *snaps[2] = {make_snapshot(now, 2.0), make_snapshot(now, 3.0)};
    double upd = 0;
    for (int f = 0; f < BENCH_FRAMES; f++) {
        model_snapshot *s = snaps[f % 2];
        atomic_fetch_add(&s->refs, 1);
        now += 1000;
        t0 = clock_mono_us();
        console_ui_set_snapshot(ui, s, now);
        console_ui_render(ui, now);
        fflush(out);
        upd += clock_mono_us() - t0;
    }
    /* Settle flashes, then measure one cursor move and one idle second. */
    now += 5000;
    console_ui_render(ui, now);
    fflush(out);
    size_t before = written();
    t0 = clock_mono_us();
    console_ui_key(ui, false, 'j', now);
    console_ui_render(ui, now);
    double move_us = clock_mono_us() - t0;
    size_t move_bytes = written() - before;
    before = written();
    now += 1000;
    console_ui_render(ui, now); /* only the clock is due */
    size_t idle_bytes = written() - before;

    /* Reference: plain ncurses, a full screen of text each frame. */
    double ref = 0;
    for (int f = 0; f < BENCH_FRAMES; f++) {
        t0 = clock_mono_us();
        for (int y = 0; y < BENCH_LINES; y++)
            mvprintw(y, 0, "%-*.*s", BENCH_COLS, BENCH_COLS,
                     f % 2 ? " acct-00001   Account 1     10,001.00   10,003.00    2.00  0.4/20%"
                           : " acct-00002   Account 2     10,002.00   10,005.00    3.00  0.3/20%");
        wnoutrefresh(stdscr);
        doupdate();
        fflush(out);
        ref += clock_mono_us() - t0;
    }

    printf("positions screen, %d accounts x %d positions, %dx%d terminal:\n", BENCH_ACCOUNTS_N,
           BENCH_POSITIONS_PER, BENCH_COLS, BENCH_LINES);
    printf("  %-44s %10.0f us, %zu bytes (snapshot handed over in %.0f us)\n", "first frame",
           first, first_bytes, build_first);
    printf("  %-44s %10.0f us/frame\n", "new snapshot, every value changed", upd / BENCH_FRAMES);
    printf("  %-44s %10.0f us/frame\n", "reference: plain ncurses full-screen repaint",
           ref / BENCH_FRAMES);
    printf("  %-44s %10zu bytes (%.0f us)\n", "one cursor move (j)", move_bytes, move_us);
    printf("  %-44s %10zu bytes\n", "one idle second (clock tick only)", idle_bytes);

    console_ui_free(ui);
    model_release(snaps[0]);
    model_release(snaps[1]);
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
    return 0;
}
