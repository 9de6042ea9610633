/*
 * table.h - a table of rows: virtual scrolling, sort, filter, selection and
 * tags by identity, and change flashes.
 *
 * The table never owns row data. A source supplies the row count and, per
 * row, a stable identity (key), cell text, and numbers for sorting and
 * change detection; only rows on screen are ever formatted for drawing, so
 * a hundred thousand rows cost a hundred thousand keys per data refresh and
 * nothing per frame beyond what is visible.
 *
 * Safety rules this module exists to keep:
 *  - the cursor follows the selected row's KEY across data refreshes,
 *    re-sorts and filters; if that row goes, the cursor stays at the same
 *    place in the list (on its neighbour), never jumps to the top;
 *  - the order changes only on table_set_source (a data refresh) or an
 *    explicit sort/filter call, never while the operator merely moves;
 *  - tags are keys, so a tag stays on its row wherever the row moves and
 *    disappears with it.
 *
 * The model part (this header, table.c) uses no terminal and is what the
 * unit tests drive; table_draw (table_draw.c) paints it with ncurses.
 *
 * Threads: a table belongs to one thread (the UI thread when drawn).
 */
#ifndef TRADEOPS_UI_TABLE_H
#define TRADEOPS_UI_TABLE_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long a changed cell shows its up/down colour. */
#define TABLE_FLASH_MS 1500
/* Longest row key kept (bytes, NUL included); longer keys are cut. */
#define TABLE_KEY_MAX 128
/* Longest filter text (bytes, NUL included). */
#define TABLE_FILTER_MAX 128
/* Longest cell text formatted for sorting and filtering. */
#define TABLE_CELL_MAX 256
/* Most columns a table may have. */
#define TABLE_MAX_COLS 32

enum table_align { TABLE_LEFT = 0, TABLE_RIGHT };

typedef struct table_column {
    const char *title;
    int min_width; /* never narrower than this while shown */
    int max_width; /* extra room stops here (0: as min_width) */
    enum table_align align;
    int priority; /* 0: keep; larger numbers are dropped first when narrow */
    bool numeric; /* sort by the source's number, not by text */
    bool flash;   /* flash up/down when its number changes */
} table_column;

/* One cell being formatted. width is the room in columns when drawing, or
 * 0 when the text is wanted for sorting or filtering (no limit). */
typedef struct table_cell {
    char *text;
    size_t cap;
    int width;
    int role; /* theme role to use instead of the row's; 0: none */
} table_cell;

enum {
    TABLE_ROW_DIM = 1u << 0,
    /* The whole row in the flash-up role (a row that just appeared, say);
     * the source decides when it starts and ends. */
    TABLE_ROW_FLASH = 1u << 1,
};

typedef struct table_source {
    void *ctx;
    size_t n;
    void (*key)(void *ctx, size_t row, char *buf, size_t cap);
    void (*cell)(void *ctx, size_t row, int col, table_cell *out);
    /* The number behind a cell; false when it has none (not numeric, unset). */
    bool (*number)(void *ctx, size_t row, int col, double *out); /* may be NULL */
    unsigned (*row_flags)(void *ctx, size_t row);                /* may be NULL */
} table_source;

typedef struct table table;

/* cols must outlive the table. NULL on allocation failure or bad columns. */
table *table_new(const table_column *cols, int ncols);
void table_free(table *t);

/* New data (a refresh). Computes change flashes against the previous data
 * by key, re-applies filter and sort, puts the cursor back on the selected
 * key and drops tags whose key is gone. The source's ctx must stay valid
 * until the next call. 0, or -1 when memory ran out (the table then shows
 * no rows, and holds nothing stale). */
int table_set_source(table *t, const table_source *src, int64_t now_ms);

/* Forgets previous values so the next refresh flashes nothing (used when a
 * table starts showing a different set, e.g. another parent row). Also clears
 * the selection and tags. */
void table_reset(table *t);

/* Rows after filtering, and the source row shown at view position i. */
size_t table_count(const table *t);
size_t table_row_at(const table *t, size_t i);
size_t table_total(const table *t);

/* Cursor (view position) and selection; NULL key when there are no rows. */
size_t table_cursor(const table *t);
const char *table_selected_key(const table *t);
bool table_selected_row(const table *t, size_t *row);

/* Movement; each returns true when the cursor moved. */
bool table_move(table *t, long delta);
bool table_page(table *t, int dir); /* dir -1 up, +1 down, by one page */
bool table_home(table *t);
bool table_end(table *t);
/* Rows the drawing shows; movement by page and the scroll window use it. */
void table_set_page(table *t, size_t rows);
size_t table_top(const table *t);

/* Scroll window math: first visible row so that cursor is visible, moving
 * as little as possible from the current top. Pure. */
size_t table_window_top(size_t n, size_t page, size_t cursor, size_t top);

/* Sorting. col -1 means source order. */
void table_sort(table *t, int col, bool desc);
void table_sort_next(table *t); /* next column, then source order */
void table_sort_reverse(table *t);
int table_sort_col(const table *t);
bool table_sort_desc(const table *t);

/* Case-insensitive substring over every cell; "" or NULL clears. */
void table_set_filter(table *t, const char *text);
const char *table_filter(const table *t);

/* Tags by key. */
bool table_toggle_tag(table *t); /* tags/untags the selected row */
bool table_is_tagged(const table *t, const char *key);
size_t table_tag_count(const table *t);
const char *table_tag_at(const table *t, size_t i);

/* Flash state of a cell at now_ms: +1 rose, -1 fell, 0 none. */
int table_flash(const table *t, size_t row, int col, int64_t now_ms);
/* When the flash of a cell ends (0 when it has none). */
int64_t table_flash_end(const table *t, size_t row, int col);
/* Earliest time a flash still visible at now_ms ends; INT64_MAX when none. */
int64_t table_next_flash_end(const table *t, int64_t now_ms);

/* Column widths for width columns (gap columns between columns). Dropped
 * columns get 0. Returns how many are shown. Pure. */
int table_layout(const table_column *cols, int ncols, int width, int gap, int *out);

const table_column *table_columns(const table *t, int *ncols);
const table_source *table_get_source(const table *t);

/* Natural, case-insensitive comparison ("demo-2" < "demo-10"). Pure. */
int table_natcmp(const char *a, const char *b);

/* Drawing (table_draw.c): header plus rows in the rectangle (y, x, h, w) of
 * win. empty is shown when no row passes. Returns the earliest time a
 * visible flash ends (INT64_MAX when none), so the loop can set a timer
 * only while something on screen changes. */
int64_t table_draw(table *t, WINDOW *win, int y, int x, int h, int w, bool focused,
                   const char *empty, int64_t now_ms);

/* A source over arrays of strings, for simple tables and tests: rows[i]
 * holds ncols cell strings, keys[i] the identity. Numbers are parsed from
 * the text (thousands separators allowed). */
typedef struct table_strings {
    const char *const *keys;
    const char *const *cells; /* row-major: cells[row * ncols + col] */
    int ncols;
    const unsigned *flags; /* may be NULL */
} table_strings;
table_source table_strings_source(const table_strings *s, size_t n);

#endif
