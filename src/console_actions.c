/*
 * console_actions.c - the console's one action table and its handlers.
 *
 * Order matters twice: for keys bound more than once, the first enabled
 * entry wins (closing the help overlay before quitting; moving to the next
 * pane before the next screen), and the hint line keeps entries in table
 * order while they fit, so the most useful come first.
 *
 * Dangerous actions (resolve now; acknowledge, abort auto-close, close-all
 * and retry later) set .dangerous and vanish in read-only mode from keys,
 * hints and help alike. Whether the operator's ROLE allows one is not
 * decided here: the engine refuses and audits, and the console shows the
 * refusal, so a viewer learns why rather than finding a key missing.
 *
 * Verbs in SCREEN_TEXT_VERBS ask for a line of text first: the screen
 * captures its target when the key is pressed (console_ask), the text
 * goes back with that target on Enter.
 */
#include <string.h>

#include "console_int.h"

#define KEY_ESC 27
#define KEY_CTRL_L 12
#define KEY_RETURN '\r'
#define KEY_NEWLINE '\n'

/* Verbs of the help overlay: scrolling and closing. */
#define HELP_VERBS                                                                                 \
    (VERB_BIT(VERB_UP) | VERB_BIT(VERB_DOWN) | VERB_BIT(VERB_PGUP) | VERB_BIT(VERB_PGDN) |         \
     VERB_BIT(VERB_HOME) | VERB_BIT(VERB_END) | VERB_BIT(VERB_CLOSE))

action_filter console_action_filter(const console_ui *ui)
{
    action_filter f = {.readonly = ui->opts.readonly};
    f.screen_verbs = ui->help_open ? HELP_VERBS : console_screen_verbs(ui);
    return f;
}

static unsigned help_verb(console_ui *ui, int verb)
{
    long page = ui->w_main ? getmaxy(ui->w_main) - 2 : 1;
    if (page < 1)
        page = 1;
    switch (verb) {
    case VERB_UP: ui->help_top = ui->help_top ? ui->help_top - 1 : 0; break;
    case VERB_DOWN: ui->help_top++; break; /* help_draw clamps */
    case VERB_PGUP:
        ui->help_top = ui->help_top > (size_t)page ? ui->help_top - (size_t)page : 0;
        break;
    case VERB_PGDN: ui->help_top += (size_t)page; break;
    case VERB_HOME: ui->help_top = 0; break;
    case VERB_END: ui->help_top = (size_t)-1 / 2; break;
    case VERB_CLOSE: ui->help_open = false; return REACT_REDRAW | REACT_CHROME;
    default: return REACT_NONE;
    }
    return REACT_REDRAW;
}

/* Every screen-scope action: the current screen (or the help overlay)
 * gets the verb. Text verbs first ask for their text. */
static unsigned act_verb(void *ctx, const action *a, int key)
{
    (void)key;
    console_ui *ui = ctx;
    if (ui->help_open)
        return help_verb(ui, a->verb);
    if (VERB_BIT(a->verb) & SCREEN_TEXT_VERBS)
        return console_ask(ui, a->verb);
    screen_env env = console_env(ui);
    return console_screen(ui)->handle(console_state(ui), a->verb, NULL, &env);
}

static unsigned act_help(void *ctx, const action *a, int key)
{
    (void)a;
    (void)key;
    console_ui *ui = ctx;
    ui->help_open = !ui->help_open;
    ui->help_top = 0;
    return REACT_REDRAW | REACT_CHROME;
}

static unsigned act_quit(void *ctx, const action *a, int key)
{
    (void)ctx;
    (void)a;
    (void)key;
    return REACT_QUIT;
}

static unsigned act_screen(void *ctx, const action *a, int key)
{
    (void)a;
    console_ui *ui = ctx;
    int idx = screens_index_of(key - '0');
    if (idx < 0)
        return REACT_NONE; /* only screens that exist have a key */
    ui->help_open = false;
    console_switch(ui, (size_t)idx, 1);
    return REACT_REDRAW | REACT_CHROME;
}

static unsigned act_next(void *ctx, const action *a, int key)
{
    (void)key;
    console_ui *ui = ctx;
    int dir = a->verb; /* +1 or -1 */
    size_t n = screens_count;
    size_t idx = dir > 0 ? (ui->cur + 1) % n : (ui->cur + n - 1) % n;
    ui->help_open = false;
    console_switch(ui, idx, dir);
    return REACT_REDRAW | REACT_CHROME;
}

static unsigned act_pause(void *ctx, const action *a, int key)
{
    (void)a;
    (void)key;
    console_ui *ui = ctx;
    ui->paused = !ui->paused;
    /* Resuming shows the newest data at once, not at the next publish. */
    return REACT_CHROME | (ui->paused ? 0 : REACT_REFRESH);
}

static unsigned act_redraw(void *ctx, const action *a, int key)
{
    (void)ctx;
    (void)a;
    (void)key;
    return REACT_FULL;
}

#define GLOBAL ACTION_GLOBAL
#define SCREEN ACTION_SCREEN

const action console_actions[] = {
    /* Before "back": in a summary view (the Sync screen's error analysis)
     * Enter picks the group, Esc and q go back. */
    {"Enter",
     {KEY_RETURN, KEY_NEWLINE, KEY_ENTER},
     "pick",
     "Show the jobs of the selected error class (back to the job table)",
     false,
     true,
     SCREEN,
     VERB_PICK,
     act_verb},
    {"Esc",
     {KEY_ESC, 'q', '?'},
     "close",
     "Close this overlay",
     false,
     true,
     SCREEN,
     VERB_CLOSE,
     act_verb},
    {"Esc",
     {KEY_ESC, 'q', KEY_RETURN, KEY_NEWLINE, KEY_ENTER},
     "back",
     "Close the detail view (q and Enter close it too)",
     false,
     true,
     SCREEN,
     VERB_BACK,
     act_verb},
    {"?", {'?'}, "help", "Show every key and what it does", false, true, GLOBAL, 0, act_help},
    {"q",
     {'q'},
     "quit",
     "Leave the console (the engine stops with it)",
     false,
     true,
     GLOBAL,
     0,
     act_quit},
    {"/",
     {'/'},
     "filter",
     "Filter the focused table (Enter applies, Esc cancels, empty clears)",
     false,
     true,
     SCREEN,
     VERB_FILTER,
     act_verb},
    {"Enter",
     {KEY_RETURN, KEY_NEWLINE, KEY_ENTER},
     "detail",
     "Open the selected row's detail (on Recon: expected and actual side by side)",
     false,
     true,
     SCREEN,
     VERB_DETAIL,
     act_verb},
    {"r",
     {'r'},
     "resolve",
     "Mark the selected row resolved with a note (the engine checks your role and audits it)",
     true,
     true,
     SCREEN,
     VERB_RESOLVE,
     act_verb},
    {"a",
     {'a'},
     "ack",
     "Acknowledge the selected alert, with an optional note (audited)",
     true,
     true,
     SCREEN,
     VERB_ACK,
     act_verb},
    {"x",
     {'x'},
     "abort",
     "Abort the auto-close counting down for the selected account (reason required; audited)",
     true,
     true,
     SCREEN,
     VERB_ABORT,
     act_verb},
    {"C",
     {'C'},
     "close all",
     "Close every position of the selected account now (type its id to confirm; admin)",
     true,
     true,
     SCREEN,
     VERB_CLOSE_ALL,
     act_verb},
    {"R",
     {'R'},
     "re-arm",
     "Re-arm the selected account's tripped guard (type its id to confirm; admin)",
     true,
     false,
     SCREEN,
     VERB_REARM,
     act_verb},
    {"h",
     {'h'},
     "history",
     "Show resolved alerts too, newest first (again: active alerts only)",
     false,
     true,
     SCREEN,
     VERB_HISTORY,
     act_verb},
    {"o",
     {'o'},
     "state",
     "Show open rows, then resolved ones, then all",
     false,
     true,
     SCREEN,
     VERB_CYCLE_STATE,
     act_verb},
    {"o",
     {'o'},
     "outcome",
     "Show every outcome, then ok, refused and failed ones only",
     false,
     true,
     SCREEN,
     VERB_CYCLE_OUTCOME,
     act_verb},
    {"K",
     {'K'},
     "kind",
     "Show one kind of discrepancy, then the next, then all kinds",
     false,
     true,
     SCREEN,
     VERB_CYCLE_KIND,
     act_verb},
    {"A",
     {'A'},
     "account",
     "Show one account only (type its id; empty shows every account)",
     false,
     true,
     SCREEN,
     VERB_ACCOUNT,
     act_verb},
    /* The Sync screen's job actions: on the selected job, the tagged ones,
     * or (after b) every job the filter matches; each confirmed (y). */
    {"r",
     {'r'},
     "retry",
     "Retry the selected or tagged jobs now (confirm with y; does not count against the limit)",
     true,
     true,
     SCREEN,
     VERB_RETRY,
     act_verb},
    {"c",
     {'c'},
     "cancel",
     "Cancel the selected or tagged jobs that wait (confirm with y; admin)",
     true,
     true,
     SCREEN,
     VERB_CANCEL,
     act_verb},
    {"R",
     {'R'},
     "reset",
     "Reset the selected or tagged jobs: attempts to zero, errors archived (confirm; admin)",
     true,
     true,
     SCREEN,
     VERB_RESET,
     act_verb},
    {"D",
     {'D'},
     "delete",
     "Delete the selected or tagged finished jobs (confirm with y; admin)",
     true,
     true,
     SCREEN,
     VERB_DELETE,
     act_verb},
    {"b",
     {'b'},
     "bulk",
     "Make the next r/c/R/D act on every job the filter matches, not only those on screen",
     true,
     true,
     SCREEN,
     VERB_BULK,
     act_verb},
    {"e",
     {'e'},
     "errors",
     "Error analysis: failed jobs grouped by error class (Enter shows a group's jobs)",
     false,
     true,
     SCREEN,
     VERB_ERRORS,
     act_verb},
    {"o",
     {'o'},
     "state",
     "Show jobs in one state: all, failed (retryable and dead), then each state",
     false,
     true,
     SCREEN,
     VERB_CYCLE_JOB_STATE,
     act_verb},
    {"P",
     {'P'},
     "provider",
     "Show one journal's jobs (tradervue, webhook, csv), then all",
     false,
     false,
     SCREEN,
     VERB_CYCLE_PROVIDER,
     act_verb},
    {"K",
     {'K'},
     "class",
     "Show one error class at a time (the last failure's), then all",
     false,
     false,
     SCREEN,
     VERB_CYCLE_CLASS,
     act_verb},
    /* The Metrics screen. */
    {"P",
     {'P'},
     "period",
     "Show the next period: day, week, month, all time",
     false,
     true,
     SCREEN,
     VERB_CYCLE_PERIOD,
     act_verb},
    {"o",
     {'o'},
     "scope",
     "Show the next scope: accounts, strategies, symbols",
     false,
     true,
     SCREEN,
     VERB_CYCLE_SCOPE,
     act_verb},
    {"d",
     {'d'},
     "digests",
     "Digests: the scheduled posts, their next run and a preview (Enter)",
     false,
     true,
     SCREEN,
     VERB_DIGESTS,
     act_verb},
    {"N",
     {'N'},
     "send now",
     "Post the selected digest now through the notifier (confirm with y; admin)",
     true,
     true,
     SCREEN,
     VERB_SEND,
     act_verb},
    {"s", {'s'}, "sort", "Sort by the next column", false, true, SCREEN, VERB_SORT, act_verb},
    {"S", {'S'}, "reverse", "Reverse the sort order", false, true, SCREEN, VERB_SORT_REV, act_verb},
    {"Tab",
     {'\t'},
     "pane",
     "Focus the next pane (then the next screen)",
     false,
     true,
     SCREEN,
     VERB_PANE_NEXT,
     act_verb},
    {"Tab", {'\t'}, "next", "Next screen", false, false, GLOBAL, 1, act_next},
    {"S-Tab",
     {KEY_BTAB},
     "prev pane",
     "Focus the previous pane (then the previous screen)",
     false,
     false,
     SCREEN,
     VERB_PANE_PREV,
     act_verb},
    {"S-Tab", {KEY_BTAB}, "prev", "Previous screen", false, false, GLOBAL, -1, act_next},
    {"Enter",
     {KEY_RETURN, KEY_NEWLINE, KEY_ENTER},
     "focus",
     "Open the detail or focus the other pane",
     false,
     true,
     SCREEN,
     VERB_ENTER,
     act_verb},
    {"Space",
     {' '},
     "tag",
     "Tag or untag the row and move down",
     false,
     true,
     SCREEN,
     VERB_TAG,
     act_verb},
    {"p", {'p'}, "pause", "Pause or resume live updates", false, true, GLOBAL, 0, act_pause},
    {"k/Up", {'k', KEY_UP}, "up", "Move up one row", false, false, SCREEN, VERB_UP, act_verb},
    {"j/Down",
     {'j', KEY_DOWN},
     "down",
     "Move down one row",
     false,
     false,
     SCREEN,
     VERB_DOWN,
     act_verb},
    {"PgUp", {KEY_PPAGE}, "page up", "Move up one page", false, false, SCREEN, VERB_PGUP, act_verb},
    {"PgDn",
     {KEY_NPAGE},
     "page down",
     "Move down one page",
     false,
     false,
     SCREEN,
     VERB_PGDN,
     act_verb},
    {"g/Home",
     {'g', KEY_HOME},
     "first",
     "Go to the first row",
     false,
     false,
     SCREEN,
     VERB_HOME,
     act_verb},
    {"G/End",
     {'G', KEY_END},
     "last",
     "Go to the last row",
     false,
     false,
     SCREEN,
     VERB_END,
     act_verb},
    {"1-6",
     {'1', '2', '3', '4', '5', '6'},
     "screen",
     "Go to screen N (the numbers on the tabs)",
     false,
     false,
     GLOBAL,
     0,
     act_screen},
    {"^L",
     {KEY_CTRL_L},
     "redraw",
     "Repaint the whole terminal",
     false,
     false,
     GLOBAL,
     0,
     act_redraw},
};

const size_t console_actions_count = sizeof console_actions / sizeof console_actions[0];
