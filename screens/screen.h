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
    VERB_PANE_NEXT, /* REACT_PASS when already on the last pane */
    VERB_PANE_PREV, /* REACT_PASS when already on the first pane */
    VERB_CLOSE,     /* leave an overlay (the help screen answers it) */
    VERB_COUNT
};
#define VERB_BIT(v) (1ul << (v))

typedef struct screen_env {
    const model_snapshot *snap; /* NULL before the first snapshot */
    int64_t now_ms;             /* wall clock, UTC epoch ms */
    bool readonly;
    /* Where actions go (the engine's command thread); NULL when there is no
     * engine (render tests): a screen then says so instead of acting. */
    const command_port *port;
} screen_env;

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
} screen_ops;

/* Every screen, in tab order (key 1 is the first). */
extern const screen_ops *const screens_table[];
extern const size_t screens_count;

#endif
