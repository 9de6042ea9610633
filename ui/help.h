/*
 * help.h - the help overlay: every action the operator can use right now,
 * from the same table that dispatches the keys (read-only mode and screen
 * support applied), with dangerous actions marked.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_UI_HELP_H
#define TRADEOPS_UI_HELP_H

#include <curses.h>
#include <stddef.h>

#include "action.h"

/* Lines the overlay has for this table and filter (headings included). */
size_t help_lines(const action *table, size_t n, const action_filter *f);

/* Draws the overlay in the rectangle, starting at line *top (clamped in
 * place so the last page stays full). title heads it. */
void help_draw(WINDOW *w, int y, int x, int h, int width, const char *title, const action *table,
               size_t n, const action_filter *f, size_t *top);

#endif
