/*
 * screen.h - what a screen is: one operations struct per screen (tig's
 * view_ops), listed once in screens_table (screens.c).
 *
 * A screen reads the engine's snapshot and draws; it never calls the
 * network or the database. Keys reach it only as verbs from the action
 * table (console_actions.c), so the help screen, the hint line and read-only
 * mode know every key a screen answers.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_SCREENS_SCREEN_H
#define TRADEOPS_SCREENS_SCREEN_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"
#include "model.h"

/* Verbs a screen may support; an action of scope ACTION_SCREEN carries one. */
enum screen_verb {
    VERB_UP = 0,
    VERB_DOWN,
    VERB_PGUP,
    VERB_PGDN,
    VERB_HOME,
    VERB_END,
    VERB_SORT,
    VERB_SORT_REV,
    VERB_FILTER, /* arg: the new filter text ("" clears) */
    VERB_ENTER,
    VERB_TAG,
    VERB_PANE_NEXT,     /* REACT_PASS when already on the last pane */
    VERB_PANE_PREV,     /* REACT_PASS when already on the first pane */
    VERB_CLOSE,         /* leave an overlay (the help screen answers it) */
    VERB_DETAIL,        /* open the selected row's detail view */
    VERB_BACK,          /* leave the screen's own detail view */
    VERB_RESOLVE,       /* text: the operator's note; target: what ask captured */
    VERB_CYCLE_STATE,   /* show the next state (open, resolved, all) */
    VERB_CYCLE_KIND,    /* show the next kind (all, then each kind) */
    VERB_ACCOUNT,       /* text: the account to show ("" shows all) */
    VERB_ACK,           /* text: an optional note; target: the alert ask captured */
    VERB_ABORT,         /* text: the reason; target: the account ask captured */
    VERB_CLOSE_ALL,     /* text: the account id typed again; target: the account */
    VERB_REARM,         /* text: the account id typed again; target: the account */
    VERB_HISTORY,       /* toggle resolved rows (history) in or out */
    VERB_CYCLE_OUTCOME, /* show the next outcome (all, ok, refused, failed) */
    /* The Sync screen (journal sync jobs). The four job actions are text
     * verbs: the prompt is their confirmation (y confirms, Enter cancels);
     * target: what ask captured (one job, the tagged ones, or every job
     * the filter matches). */
    VERB_RETRY,
    VERB_CANCEL,
    VERB_RESET,
    VERB_DELETE,
    VERB_BULK,          /* the next job action applies to every job the filter matches */
    VERB_ERRORS,        /* toggle the error-analysis view */
    VERB_PICK,          /* take the selected group of a summary view as the filter */
    VERB_CYCLE_JOB_STATE, /* show jobs in the next state (all, failed, each state) */
    VERB_CYCLE_PROVIDER,  /* show the next provider's jobs (all, then each) */
    VERB_CYCLE_CLASS,     /* show the next error class (all, then each) */
    /* The Metrics screen. */
    VERB_CYCLE_PERIOD,    /* show the next period (day, week, month, all time) */
    VERB_CYCLE_SCOPE,     /* show the next scope kind (account, strategy, symbol) */
    VERB_DIGESTS,         /* toggle the digests view (list, preview) */
    VERB_SEND,            /* send the selected digest now: text verb, y confirms (admin) */
    VERB_COUNT
};
#define VERB_BIT(v) (1ul << (v))
/* Moving the selection: every list answers these. */
#define VERB_MOVE_BITS                                                                             \
    (VERB_BIT(VERB_UP) | VERB_BIT(VERB_DOWN) | VERB_BIT(VERB_PGUP) | VERB_BIT(VERB_PGDN) |         \
     VERB_BIT(VERB_HOME) | VERB_BIT(VERB_END))

/* Verbs whose action first asks the operator for a line of text. The
 * console opens its prompt (label and captured target from the screen's
 * ask), and hands the text back on Enter; Esc drops it. */
#define SCREEN_TEXT_VERBS                                                                          \
    (VERB_BIT(VERB_FILTER) | VERB_BIT(VERB_RESOLVE) | VERB_BIT(VERB_ACCOUNT) |                     \
     VERB_BIT(VERB_ACK) | VERB_BIT(VERB_ABORT) | VERB_BIT(VERB_CLOSE_ALL) | VERB_BIT(VERB_REARM) | \
     VERB_BIT(VERB_RETRY) | VERB_BIT(VERB_CANCEL) | VERB_BIT(VERB_RESET) | VERB_BIT(VERB_DELETE) | \
     VERB_BIT(VERB_SEND))

#define SCREEN_LABEL_MAX 192 /* bytes of a prompt label, NUL included */
#define SCREEN_TEXT_MAX 256  /* bytes of prompt text, NUL included */
#define SCREEN_TARGET_MAX 64 /* bytes of a captured target identity */

/* What a screen wants asked, filled by screen_ops.ask when the key is
 * pressed. The target is the identity of what the action applies to, taken
 * at that moment: whatever the list does while the operator types, the text
 * goes back with this target, never with "the row under the cursor now". */
typedef struct screen_ask {
    char label[SCREEN_LABEL_MAX]; /* may hold outside strings: sanitised when drawn */
    char initial[SCREEN_TEXT_MAX];
    char target[SCREEN_TARGET_MAX];
} screen_ask;

typedef struct screen_env {
    const model_snapshot *snap; /* NULL before the first snapshot */
    int64_t now_ms;             /* wall clock, UTC epoch ms */
    bool readonly;
    /* Where actions go (the engine's command thread); NULL when there is no
     * engine (render tests): a screen then says so instead of acting. */
    const command_port *port;
    /* Tells the operator something on the console's message line; role is
     * a theme role (ROLE_BAD for refusals and errors). NULL in tests that
     * do not care; use screen_say. */
    void (*say)(void *ctx, int role, const char *text);
    void *say_ctx;
    /* The engine's model, for asking it to load other data (the Sync
     * screen's model_sync_request); NULL without an engine. */
    model *model;
} screen_env;

/* printf-style env->say; does nothing when env->say is NULL. */
void screen_say(const screen_env *env, int role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct screen_ops {
    const char *name;      /* tab label */
    unsigned long verbs;   /* VERB_BIT()s this screen answers */
    void *(*create)(void); /* NULL on allocation failure */
    void (*destroy)(void *st);
    /* Shown / hidden; dir is +1 when reached going forward, -1 backward. */
    void (*enter)(void *st, int dir);
    void (*leave)(void *st);
    /* A new snapshot (every screen gets every one, shown or not, because
     * their tables point into it). 0 or -1 when memory ran out. */
    int (*update)(void *st, const screen_env *env);
    /* Paints the rectangle; returns when it next needs painting without new
     * data or keys (a flash ending, an age ticking), INT64_MAX for never. */
    int64_t (*draw)(void *st, WINDOW *w, int y, int x, int h, int width, const screen_env *env);
    /* A verb; returns REACT_* flags (action.h). */
    unsigned (*handle)(void *st, int verb, const char *arg, const screen_env *env);
    /* Text of the current filter, for the filter prompt. */
    const char *(*filter_text)(void *st);
    /* Badge after the tab label, e.g. "(2)"; false for none. */
    bool (*badge)(void *st, const screen_env *env, char *buf, size_t cap, int *role);
    /* Optional. The verbs answered right now, when they depend on what is
     * shown (a detail view answers fewer than its list); NULL: verbs. Keys,
     * hints and help follow it, so none promises what the screen ignores. */
    unsigned long (*live_verbs)(void *st);
    /* Optional. A SCREEN_TEXT_VERBS verb was invoked: fill *out (label,
     * initial text, captured target) and return true to open the prompt, or
     * return false to decline (having said why with screen_say). NULL: the
     * console asks for VERB_FILTER with "/" and filter_text, nothing else. */
    bool (*ask)(void *st, int verb, const screen_env *env, screen_ask *out);
    /* Optional. The operator accepted the prompt: text with the target ask
     * captured. NULL: handle(st, verb, text, env). Returns REACT_* flags. */
    unsigned (*answer)(void *st, int verb, const char *target, const char *text,
                       const screen_env *env);
    /* Optional. The tab's number and key (1-9); 0: its place in
     * screens_table (the first is 1). Lets a screen keep its key when
     * another is not there yet (Audit is 6 while 5 waits for Metrics). */
    int number;
} screen_ops;

/* Every screen, in tab order. */
extern const screen_ops *const screens_table[];
extern const size_t screens_count;

/* The tab number of screens_table[index]; the index of the screen with
 * that number, or -1. */
int screens_number(size_t index);
int screens_index_of(int number);

#endif
