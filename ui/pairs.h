/*
 * pairs.h - a record shown as labelled lines: pairs of values side by side
 * (two versions of the same fields, e.g. what one party says against what
 * another says), with the lines that differ marked by a role AND a glyph
 * in the gutter, so the difference reads without colour too; and single
 * values across the whole width, word-wrapped.
 *
 * It knows nothing of what the values mean: the caller decides which lines
 * differ. Every string goes through draw_text (sanitised, clipped).
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_UI_PAIRS_H
#define TRADEOPS_UI_PAIRS_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "theme.h"

typedef struct pairs_row {
    const char *label; /* NULL: an empty separating line */
    const char *left;  /* NULL is shown as "-" */
    const char *right; /* unused when span */
    bool span;         /* left alone, across both columns, wrapped */
    bool differ;       /* marked: glyph in the gutter, values in differ_role */
} pairs_row;

typedef struct pairs_spec {
    const char *left_title, *right_title; /* both NULL: no title line */
    enum theme_role left_title_role, right_title_role;
    enum theme_role differ_role; /* ROLE_NORMAL means ROLE_BAD */
    const pairs_row *rows;
    size_t n;
} pairs_spec;

/* Lines the record takes at this width (title line and wrapped spans
 * included). */
int pairs_lines(const pairs_spec *s, int width);

/* Draws the record in the rectangle, cut at h lines. Returns lines used. */
int pairs_draw(WINDOW *w, int y, int x, int h, int width, const pairs_spec *s);

#endif
