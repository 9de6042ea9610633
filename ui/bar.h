/*
 * bar.h - one-line bars: the tab bar (top), a status line of segments, and
 * the key-hint line built from the action table.
 *
 * Bars degrade by dropping what matters least when the terminal is narrow;
 * the environment label (LIVE/DEMO) is the last thing to go, because
 * mistaking production for a demo is the error this line exists to prevent.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_UI_BAR_H
#define TRADEOPS_UI_BAR_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "action.h"
#include "theme.h"

typedef struct bar_tab {
    const char *label; /* "1 Inbox": number, then name */
    const char *badge; /* "(2)" or NULL */
    enum theme_role badge_role;
} bar_tab;

typedef struct bar_tabs {
    const char *product;
    const char *env; /* environment label, NULL for none */
    bool env_danger; /* production: shown in the danger role */
    const bar_tab *tabs;
    int ntabs;
    int active;
    const char *clock; /* right-aligned; NULL for none */
} bar_tabs;

void bar_draw_tabs(WINDOW *w, int y, int width, const bar_tabs *s);

typedef struct bar_segment {
    const char *text; /* sanitised on drawing */
    enum theme_role role;
    int priority; /* 0: keep; larger numbers are dropped first */
} bar_segment;

/* Segments left to right, separated by the bullet glyph; those that do not
 * fit are dropped by priority (the text of the last one kept may be cut). */
void bar_draw_segments(WINDOW *w, int y, int width, const bar_segment *segs, size_t n);

/* The hint line from the action table (actions_hint decides what fits). */
void bar_draw_hints(WINDOW *w, int y, int width, const action *table, size_t n,
                    const action_filter *f);

#endif
