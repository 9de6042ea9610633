/*
 * action.h - one table of operator actions drives keys, hints, help and
 * read-only mode (the k9s pattern).
 *
 * Each entry names the keys that invoke it, a short name for the hint line,
 * a help sentence, whether it is dangerous (changes something outside the
 * console) and whether it belongs to every screen or only to screens that
 * say they support it. Handlers return reaction flags; the caller's loop
 * decides what to repaint (the htop pattern). Read-only mode removes every
 * dangerous action from key dispatch, hints and help alike, so what the
 * operator sees is exactly what the keys do.
 *
 * Threads: UI thread only (handlers may touch the terminal).
 */
#ifndef TRADEOPS_UI_ACTION_H
#define TRADEOPS_UI_ACTION_H

#include <stdbool.h>
#include <stddef.h>

/* Reaction flags returned by handlers. */
enum {
    REACT_NONE = 0,
    REACT_REDRAW = 1u << 0,  /* the screen body changed */
    REACT_CHROME = 1u << 1,  /* tab, status or hint line changed */
    REACT_FULL = 1u << 2,    /* clear and repaint the whole terminal */
    REACT_REFRESH = 1u << 3, /* take the newest data now */
    REACT_QUIT = 1u << 4,
    REACT_UNBOUND = 1u << 5, /* no enabled action has this key */
    REACT_PASS = 1u << 6,    /* handler declined; try the next binding */
};

#define ACTION_MAX_KEYS 8

enum action_scope { ACTION_GLOBAL = 0, ACTION_SCREEN };

struct action;
typedef unsigned (*action_fn)(void *ctx, const struct action *a, int key);

typedef struct action {
    const char *keys_label;    /* how the keys are shown: "j/Down" */
    int keys[ACTION_MAX_KEYS]; /* curses key codes or characters; 0 ends */
    const char *name;          /* one word for the hint line */
    const char *help;          /* one sentence for the help screen */
    bool dangerous;            /* removed entirely in read-only mode */
    bool hint;                 /* shown on the hint line when it fits */
    enum action_scope scope;
    int verb; /* handler argument: which screen verb */
    action_fn fn;
} action;

/* Which actions are live right now. screen_verbs is a bitmask of the verbs
 * the current screen supports (bit = 1u << verb); ACTION_SCREEN entries
 * whose verb is not in it are hidden. */
typedef struct action_filter {
    bool readonly;
    unsigned long screen_verbs;
} action_filter;

bool actions_enabled(const action *a, const action_filter *f);

/* First enabled action bound to key, or NULL. */
const action *actions_find(const action *table, size_t n, int key, const action_filter *f);

/* Runs the handler of the first enabled action bound to key, trying the
 * next bound one when a handler returns REACT_PASS; REACT_UNBOUND when none
 * takes it. */
unsigned actions_dispatch(const action *table, size_t n, int key, const action_filter *f,
                          void *ctx);

/* The hint line: "key name" pairs of enabled hint actions in table order,
 * two spaces apart, as many as fit in width columns (an item never cut);
 * an action whose every key an earlier enabled action takes is left out.
 * Writes the text and returns how many items it holds; idx (may be NULL)
 * receives their table indexes. */
size_t actions_hint(const action *table, size_t n, const action_filter *f, int width, char *buf,
                    size_t cap, size_t *idx, size_t idx_cap);

/* Enabled actions for the help screen, in table order: idx receives table
 * indexes; returns the count. */
size_t actions_help_list(const action *table, size_t n, const action_filter *f, size_t *idx,
                         size_t idx_cap);

/* A readable name for a key code ("Tab", "PgDn", "^L", "q"). */
const char *actions_key_name(int key, char *buf, size_t cap);

#endif
