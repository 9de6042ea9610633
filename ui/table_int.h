/*
 * table_int.h - the table's insides, shared by table.c (data, filter, sort,
 * flashes) and table_select.c (cursor and tags). Nothing else includes it.
 *
 * Threads: as table.h.
 */
#ifndef TRADEOPS_UI_TABLE_INT_H
#define TRADEOPS_UI_TABLE_INT_H

#include "table.h"

struct table {
    const table_column *cols;
    int ncols;
    int flash_idx[TABLE_MAX_COLS]; /* column -> slot among flash columns, -1 */
    int nflash;
    table_source src;

    size_t *view; /* source rows passing the filter, in display order */
    size_t nview;
    size_t cursor, top, page;
    char sel[TABLE_KEY_MAX];
    bool has_sel;

    int sort_col;
    bool sort_desc;
    char filter[TABLE_FILTER_MAX];

    char **tags; /* sorted, each malloc'ed */
    size_t ntags;

    /* Identity index of the current source. */
    char *arena;
    size_t *key_off; /* per source row */
    size_t *by_key;  /* source rows sorted by key */
    size_t nrows;
    double *vals; /* nrows * nflash: numbers of flash columns */
    signed char *dir;
    int64_t *until;
};

/* Source row with this key in the identity index, or SIZE_MAX. */
size_t table_find_key(const table *t, const char *key);
/* Remembers the key under the cursor as the selection. */
void table_sel_from_cursor(table *t);
void table_clear_tags(table *t);
/* Drops tags whose key is not in the current data. */
void table_prune_tags(table *t);

#endif
