/*
 * draw.h - put text on a window safely: sanitised, clipped to a width in
 * terminal columns, aligned and padded.
 *
 * Every string a widget draws goes through draw_text, which runs it through
 * sanitize_text first; so no widget can pass a remote system's escape sequence to
 * the terminal even by mistake. Widths are display columns (wcwidth), not
 * bytes, so UTF-8 text never overflows its cell.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_UI_DRAW_H
#define TRADEOPS_UI_DRAW_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "glyph.h"

enum draw_flags {
    DRAW_LEFT = 0,
    DRAW_RIGHT = 1 << 0,
    DRAW_CENTER = 1 << 1,
    DRAW_PAD = 1 << 2, /* fill the rest of the width with spaces */
};

/* Longest text drawn in one call, in bytes; longer text is cut. */
#define DRAW_MAX_TEXT 1024

/* Chooses the glyph set and whether text may keep non-ASCII characters
 * (only when the locale is UTF-8). Called by term_init; tests call it. */
void draw_setup(const glyphs *g, bool utf8_locale);
const glyphs *draw_glyphs(void);
bool draw_utf8(void);

/* Sanitises s into out (see sanitize.h) in the current mode. */
void draw_clean(const char *s, char *out, size_t outlen);

/* Display width in columns of already clean text. */
int draw_width(const char *clean);

/* Cuts clean text in place to at most width columns, ending in the ellipsis
 * glyph when something was cut. Returns the resulting width. */
int draw_fit(char *clean, size_t cap, int width);

/* Word wrap: the number of bytes of clean text that start the next line of
 * at most width columns, broken after a space when one is in reach (else
 * mid-word). *next gets where the following line starts (spaces at the
 * break skipped). 0 when clean is empty. */
size_t draw_wrap(const char *clean, int width, size_t *next);

/* Draws s at (y, x) in at most width columns (width <= 0: to the right
 * edge). Returns the number of columns drawn (padding included). */
int draw_text(WINDOW *w, int y, int x, int width, const char *s, attr_t attr, int flags);

/* Left-aligned text at column *x of row y, cut at column right, and *x
 * moved past it (nothing when *x is already at right): for a line built
 * of pieces. */
void draw_put(WINDOW *w, int y, int *x, int right, const char *text, attr_t a);
/* The same with a dim " • " separator (the glyph set's bullet). */
void draw_put_sep(WINDOW *w, int y, int *x, int right);

/* Spaces from (y, x) for n columns, clipped to the window. */
void draw_blank(WINDOW *w, int y, int x, int n, attr_t attr);

/* A detail view's lines: labels in a column of DRAW_LABEL_W, values
 * word-wrapped beside them. Walk the lines once with w NULL to count them
 * (line), then with w set to draw those from top on that fit in h rows at
 * (y, x). */
#define DRAW_LABEL_W 14
typedef struct draw_lines {
    WINDOW *w;
    int y, x, h, width;
    size_t top, line;
} draw_lines;

/* One line: label (NULL: none, the value starts at x) and clean text. */
void draw_lines_raw(draw_lines *k, const char *label, const char *clean, attr_t a);
/* A labelled value (sanitised here; "" or NULL shows "-"), wrapped under
 * the value column. */
void draw_lines_field(draw_lines *k, const char *label, const char *value, attr_t a);

#endif
