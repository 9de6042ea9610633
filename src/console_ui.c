/*
 * console_ui.c - see console_ui.h.
 *
 * Four windows: tab bar, screen body, status line, hint line. Each frame
 * repaints only the windows marked dirty, hands them to curses with
 * wnoutrefresh and flushes once with doupdate (tig's way), so a clock tick
 * costs the few changed characters and nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bar.h"
#include "console_int.h"
#include "draw.h"
#include "fmt.h"
#include "help.h"
#include "theme.h"

#define MS_PER_SECOND 1000
#define CHROME_LINES 3 /* tab bar, status line, hint line */
/* Results taken in one wake-up; the port's descriptor stays readable while
 * more wait, so the rest come at the next. */
#define RESULTS_PER_FRAME 64

void console_say(console_ui *ui, int role, const char *text)
{
    /* Cut to fit on a character boundary: a cut UTF-8 sequence would show
     * as a replacement mark. */
    text = text ? text : "";
    size_t n = strnlen(text, sizeof ui->message - 1);
    while (n > 0 && text[n] && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    memcpy(ui->message, text, n);
    ui->message[n] = '\0';
    ui->message_role = role;
    ui->message_until = ui->now_ms + CONSOLE_MESSAGE_MS;
    ui->dirty |= DIRTY_STATUS;
}

static void env_say(void *ctx, int role, const char *text)
{
    console_say(ctx, role, text);
}

screen_env console_env(console_ui *ui)
{
    screen_env env = {
        .snap = ui->snap,
        .now_ms = ui->now_ms,
        .readonly = ui->opts.readonly,
        .port = ui->port,
        .say = env_say,
        .say_ctx = ui,
        .model = ui->model,
    };
    return env;
}

void console_ui_set_model(console_ui *ui, model *m)
{
    ui->model = m;
}

unsigned long console_screen_verbs(const console_ui *ui)
{
    const screen_ops *ops = console_screen(ui);
    return ops->live_verbs ? ops->live_verbs(console_state(ui)) : ops->verbs;
}

void console_ui_set_port(console_ui *ui, const command_port *port)
{
    ui->port = port;
}

/* The word a person needs when the engine did not do it. */
static const char *status_word(enum command_status st)
{
    switch (st) {
    case CMD_OK: return "done";
    case CMD_REFUSED: return "refused";
    case CMD_INVALID: return "not done";
    default: return "failed";
    }
}

void console_ui_show_result(console_ui *ui, const command_result *res, int64_t now_ms)
{
    ui->now_ms = now_ms;
    char text[CONSOLE_MESSAGE_MAX + sizeof res->message]; /* cut to fit when shown */
    const char *word = status_word(res->status);
    if (!res->message[0])
        snprintf(text, sizeof text, "command on #%lld: %s", (long long)res->target_id, word);
    else if (res->status != CMD_OK && !strstr(res->message, word))
        snprintf(text, sizeof text, "%s: %s", word, res->message);
    else
        snprintf(text, sizeof text, "%s", res->message);
    console_say(ui, res->status == CMD_OK ? ROLE_GOOD : ROLE_BAD, text);
}

size_t console_ui_take_results(console_ui *ui, int64_t now_ms)
{
    size_t n = 0;
    if (!ui->port || !ui->port->take_result)
        return 0;
    command_result res;
    while (n < RESULTS_PER_FRAME && ui->port->take_result(ui->port->ctx, &res)) {
        console_ui_show_result(ui, &res, now_ms);
        n++;
    }
    return n;
}

unsigned console_ask(console_ui *ui, int verb)
{
    const screen_ops *ops = console_screen(ui);
    screen_env env = console_env(ui);
    screen_ask ask;
    memset(&ask, 0, sizeof ask);
    bool go = false;
    if (ops->ask) {
        go = ops->ask(console_state(ui), verb, &env, &ask);
    } else if (verb == VERB_FILTER) {
        const char *cur = ops->filter_text ? ops->filter_text(console_state(ui)) : "";
        snprintf(ask.label, sizeof ask.label, "/");
        snprintf(ask.initial, sizeof ask.initial, "%s", cur ? cur : "");
        go = true;
    }
    if (!go)
        return REACT_CHROME; /* the screen said why, if it had a reason */
    prompt_open(&ui->prompt, ask.label, ask.initial);
    ui->prompt_verb = verb;
    ui->prompt_screen = ui->cur;
    snprintf(ui->prompt_target, sizeof ui->prompt_target, "%s", ask.target);
    return REACT_CHROME;
}

const screen_ops *console_screen(const console_ui *ui)
{
    return screens_table[ui->cur];
}
void *console_state(const console_ui *ui)
{
    return ui->states[ui->cur];
}

void console_switch(console_ui *ui, size_t index, int dir)
{
    if (index >= screens_count)
        return;
    const screen_ops *old = console_screen(ui);
    if (old->leave)
        old->leave(console_state(ui));
    ui->cur = index;
    const screen_ops *now = console_screen(ui);
    if (now->enter)
        now->enter(console_state(ui), dir);
    ui->dirty |= DIRTY_ALL;
}

console_ui *console_ui_new(const console_opts *opts, char *err, size_t errlen)
{
    console_ui *ui = calloc(1, sizeof *ui);
    if (!ui) {
        snprintf(err, errlen, "out of memory starting the console");
        return NULL;
    }
    ui->opts = *opts;
    ui->states = calloc(screens_count, sizeof *ui->states);
    if (!ui->states) {
        free(ui);
        snprintf(err, errlen, "out of memory starting the console");
        return NULL;
    }
    for (size_t i = 0; i < screens_count; i++) {
        ui->states[i] = screens_table[i]->create();
        if (!ui->states[i]) {
            snprintf(err, errlen, "out of memory creating the %s screen", screens_table[i]->name);
            console_ui_free(ui);
            return NULL;
        }
    }
    if (screens_table[0]->enter)
        screens_table[0]->enter(ui->states[0], 1);
    ui->dirty = DIRTY_ALL;
    ui->full = true;
    return ui;
}

static void free_windows(console_ui *ui)
{
    WINDOW **ws[] = {&ui->w_tabs, &ui->w_main, &ui->w_status, &ui->w_hint};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
        if (*ws[i]) {
            delwin(*ws[i]);
            *ws[i] = NULL;
        }
}

void console_ui_free(console_ui *ui)
{
    if (!ui)
        return;
    free_windows(ui);
    if (ui->states)
        for (size_t i = 0; i < screens_count; i++)
            if (ui->states[i])
                screens_table[i]->destroy(ui->states[i]);
    free(ui->states);
    model_release(ui->snap);
    free(ui);
}

void console_ui_set_snapshot(console_ui *ui, model_snapshot *snap, int64_t now_ms)
{
    model_snapshot *old = ui->snap;
    ui->snap = snap;
    ui->now_ms = now_ms;
    screen_env env = console_env(ui);
    bool failed = false;
    /* Every screen moves to the new snapshot before the old is released:
     * their tables point into it. */
    for (size_t i = 0; i < screens_count; i++)
        if (screens_table[i]->update(ui->states[i], &env) < 0)
            failed = true;
    ui->out_of_memory = failed;
    model_release(old);
    ui->dirty |= DIRTY_ALL;
}

bool console_ui_paused(const console_ui *ui)
{
    return ui->paused;
}

void console_ui_invalidate(console_ui *ui, unsigned react)
{
    if (react & REACT_FULL) {
        ui->full = true;
        ui->lines = ui->cols = 0; /* forces a new layout */
        ui->dirty |= DIRTY_ALL;
    }
    if (react & REACT_REDRAW)
        ui->dirty |= DIRTY_MAIN | DIRTY_HINT | DIRTY_TABS;
    if (react & REACT_CHROME)
        ui->dirty |= DIRTY_TABS | DIRTY_STATUS | DIRTY_HINT;
}

static void prompt_done(console_ui *ui, enum prompt_result r)
{
    char text[PROMPT_MAX];
    snprintf(text, sizeof text, "%s", ui->prompt.text);
    prompt_close(&ui->prompt);
    ui->dirty |= DIRTY_HINT;
    /* Keys go to the prompt while it is open, so the screen cannot have
     * changed; the check keeps text from ever reaching another screen. */
    if (r != PROMPT_ACCEPT || ui->prompt_screen != ui->cur)
        return;
    const screen_ops *ops = console_screen(ui);
    screen_env env = console_env(ui);
    unsigned react =
        ops->answer ? ops->answer(console_state(ui), ui->prompt_verb, ui->prompt_target, text, &env)
                    : ops->handle(console_state(ui), ui->prompt_verb, text, &env);
    console_ui_invalidate(ui, react | REACT_REDRAW);
}

unsigned console_ui_key(console_ui *ui, bool fn, wint_t ch, int64_t now_ms)
{
    ui->now_ms = now_ms;
    if (fn && ch == KEY_RESIZE) {
        console_ui_invalidate(ui, REACT_FULL);
        return REACT_FULL;
    }
    if (ui->prompt.open) {
        enum prompt_result r = prompt_key(&ui->prompt, fn, ch);
        if (r == PROMPT_EDITING)
            ui->dirty |= DIRTY_HINT;
        else
            prompt_done(ui, r);
        return REACT_NONE;
    }
    action_filter f = console_action_filter(ui);
    unsigned react = actions_dispatch(console_actions, console_actions_count, (int)ch, &f, ui);
    if (react & REACT_UNBOUND)
        return REACT_NONE;
    console_ui_invalidate(ui, react);
    return react;
}

/* ---- frames ------------------------------------------------------------ */

static bool layout(console_ui *ui)
{
    free_windows(ui);
    ui->lines = LINES;
    ui->cols = COLS;
    ui->too_small = COLS < CONSOLE_MIN_COLS || LINES < CONSOLE_MIN_LINES;
    ui->dirty = DIRTY_ALL;
    if (ui->too_small)
        return true;
    int body = LINES - CHROME_LINES;
    ui->w_tabs = newwin(1, COLS, 0, 0);
    ui->w_main = newwin(body, COLS, 1, 0);
    ui->w_status = newwin(1, COLS, LINES - 2, 0);
    ui->w_hint = newwin(1, COLS, LINES - 1, 0);
    if (!ui->w_tabs || !ui->w_main || !ui->w_status || !ui->w_hint) {
        free_windows(ui);
        ui->too_small = true; /* cannot draw properly: say so rather than crash */
        return false;
    }
    /* The cursor is hidden: do not spend bytes moving it after each paint. */
    leaveok(ui->w_tabs, TRUE);
    leaveok(ui->w_main, TRUE);
    leaveok(ui->w_status, TRUE);
    leaveok(ui->w_hint, TRUE);
    return true;
}

static void draw_too_small(void)
{
    char msg[64];
    snprintf(msg, sizeof msg, "terminal too small (%dx%d)", COLS, LINES);
    if ((int)strlen(msg) > COLS)
        snprintf(msg, sizeof msg, "too small %dx%d", COLS, LINES);
    werase(stdscr);
    draw_text(stdscr, 0, 0, COLS, msg, theme_attr(ROLE_BAD), DRAW_LEFT);
    wnoutrefresh(stdscr);
}

static void draw_main(console_ui *ui)
{
    WINDOW *w = ui->w_main;
    int h = getmaxy(w), width = getmaxx(w);
    ui->main_due = INT64_MAX;
    if (ui->help_open) {
        char title[128];
        snprintf(title, sizeof title, "Help: %s%s", console_screen(ui)->name,
                 ui->opts.readonly ? " (read-only: dangerous actions removed)" : "");
        action_filter f = {.readonly = ui->opts.readonly, .screen_verbs = console_screen_verbs(ui)};
        help_draw(w, 0, 0, h, width, title, console_actions, console_actions_count, &f,
                  &ui->help_top);
        return;
    }
    if (!ui->snap) {
        werase(w);
        const char *msg =
            draw_glyphs()->utf8 ? "waiting for data\xe2\x80\xa6" : "waiting for data...";
        draw_text(w, h / 2, 0, width, msg, theme_attr(ROLE_DIM), DRAW_CENTER);
        return;
    }
    screen_env env = console_env(ui);
    ui->main_due = console_screen(ui)->draw(console_state(ui), w, 0, 0, h, width, &env);
}

static void draw_hint(console_ui *ui)
{
    int width = getmaxx(ui->w_hint);
    if (ui->prompt.open) {
        prompt_draw(&ui->prompt, ui->w_hint, 0, width);
        return;
    }
    action_filter f = console_action_filter(ui);
    bar_draw_hints(ui->w_hint, 0, width, console_actions, console_actions_count, &f);
}

int64_t console_ui_render(console_ui *ui, int64_t now_ms)
{
    ui->now_ms = now_ms;
    if (ui->lines != LINES || ui->cols != COLS)
        layout(ui);
    int64_t next_second = (now_ms / MS_PER_SECOND + 1) * MS_PER_SECOND;
    if (ui->full) {
        clearok(curscr, TRUE);
        ui->full = false;
    }
    if (ui->too_small) {
        if (ui->dirty) {
            draw_too_small();
            doupdate();
            ui->dirty = 0;
        }
        return INT64_MAX; /* nothing ticks; a resize or a key wakes us */
    }
    char clock[CONSOLE_CLOCK_MAX];
    fmt_clock_utc(now_ms, clock, sizeof clock);
    if (strcmp(clock, ui->clock) != 0) {
        snprintf(ui->clock, sizeof ui->clock, "%s", clock);
        /* Ages in the status line move with the clock. */
        ui->dirty |= DIRTY_TABS | DIRTY_STATUS;
    }
    if (ui->main_due <= now_ms)
        ui->dirty |= DIRTY_MAIN;
    if (ui->message[0] && ui->message_until <= now_ms) {
        ui->message[0] = '\0';
        ui->dirty |= DIRTY_STATUS;
    }
    if (!ui->dirty)
        return ui->main_due < next_second ? ui->main_due : next_second;
    if (ui->dirty & DIRTY_TABS) {
        console_draw_tabs(ui);
        wnoutrefresh(ui->w_tabs);
    }
    if (ui->dirty & DIRTY_MAIN) {
        draw_main(ui);
        wnoutrefresh(ui->w_main);
    }
    if (ui->dirty & DIRTY_STATUS) {
        console_draw_status(ui);
        wnoutrefresh(ui->w_status);
    }
    if (ui->dirty & DIRTY_HINT) {
        draw_hint(ui);
        wnoutrefresh(ui->w_hint);
    }
    ui->dirty = 0;
    doupdate();
    return ui->main_due < next_second ? ui->main_due : next_second;
}
