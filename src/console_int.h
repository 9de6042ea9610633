/*
 * console_int.h - internals shared by console_ui.c, console_actions.c and
 * console_chrome.c. Nothing outside src/console_*.c includes it.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_CONSOLE_INT_H
#define TRADEOPS_CONSOLE_INT_H

#include <curses.h>

#include "action.h"
#include "console_ui.h"
#include "prompt.h"
#include "screen.h"

/* Parts of the terminal that need painting. */
enum {
    DIRTY_TABS = 1u << 0,
    DIRTY_MAIN = 1u << 1,
    DIRTY_STATUS = 1u << 2,
    DIRTY_HINT = 1u << 3,
    DIRTY_ALL = DIRTY_TABS | DIRTY_MAIN | DIRTY_STATUS | DIRTY_HINT,
};

#define CONSOLE_CLOCK_MAX 16
#define CONSOLE_MESSAGE_MAX 256
/* How long a message (a command's result, a refusal) stays on the status
 * line: long enough to read at 3 a.m., short enough not to mislead later. */
#define CONSOLE_MESSAGE_MS 15000

struct console_ui {
    console_opts opts;
    model_snapshot *snap; /* held reference, NULL before data */
    bool paused;
    size_t cur;    /* index into screens_table */
    void **states; /* one per screen */

    WINDOW *w_tabs, *w_main, *w_status, *w_hint;
    int lines, cols; /* size the windows were laid out for */
    bool too_small;
    bool full; /* repaint the whole terminal next frame */
    unsigned dirty;

    bool help_open;
    size_t help_top;
    prompt prompt;
    int prompt_verb;                       /* the verb the prompt's text goes to */
    size_t prompt_screen;                  /* the screen that asked */
    char prompt_target[SCREEN_TARGET_MAX]; /* what it captured when asked */

    const command_port *port; /* the engine's command thread, NULL without one */
    model *model;             /* the engine's model (screens' requests), NULL without one */

    int64_t main_due; /* when the screen body needs painting again */
    char clock[CONSOLE_CLOCK_MAX];
    char message[CONSOLE_MESSAGE_MAX]; /* last thing worth telling, "" if none */
    int message_role;                  /* theme role: ROLE_BAD for refusals */
    int64_t message_until;             /* wall ms when it goes */
    bool out_of_memory;                /* the last snapshot could not be shown whole */
    int64_t now_ms;
};

/* console_actions.c: the one action table. */
extern const action console_actions[];
extern const size_t console_actions_count;
action_filter console_action_filter(const console_ui *ui);

/* console_ui.c helpers the action handlers use. */
screen_env console_env(console_ui *ui);
/* The verbs the current screen answers right now (its live_verbs). */
unsigned long console_screen_verbs(const console_ui *ui);
/* Opens the prompt for a SCREEN_TEXT_VERBS verb if the screen wants it. */
unsigned console_ask(console_ui *ui, int verb);
/* Puts text on the message line for CONSOLE_MESSAGE_MS. */
void console_say(console_ui *ui, int role, const char *text);
void console_switch(console_ui *ui, size_t index, int dir);
const screen_ops *console_screen(const console_ui *ui);
void *console_state(const console_ui *ui);

/* console_chrome.c: the tab bar and the status line. */
void console_draw_tabs(console_ui *ui);
void console_draw_status(console_ui *ui);

#endif
