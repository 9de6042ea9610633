/*
 * recon_int.h - the Reconciliation screen's insides, shared by recon.c
 * (data, filters, keys, resolve) and recon_draw.c (painting). Nothing else
 * includes it.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_SCREENS_RECON_INT_H
#define TRADEOPS_SCREENS_RECON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "screen.h"
#include "table.h"

/* How long a row that just appeared stays highlighted. */
#define RECON_NEW_MS 5000
/* The kind filter's "every kind". */
#define RECON_KIND_ALL (-1)

enum recon_col {
    RC_ID,
    RC_ACCOUNT,
    RC_POSITION,
    RC_SYMBOL,
    RC_KIND,
    RC_FIRST,
    RC_LAST,
    RC_STATE,
    RC_DETAIL,
    RC_COUNT
};

/* Which rows by state; 'o' steps through them in this order. */
enum recon_show { RECON_SHOW_OPEN = 0, RECON_SHOW_RESOLVED, RECON_SHOW_ALL, RECON_SHOW_COUNT };

typedef struct recon_fresh {
    int64_t id;
    int64_t until; /* wall ms when its highlight ends */
} recon_fresh;

typedef struct recon_state {
    table *t;
    const model_snapshot *snap; /* held by the console until the next update */
    const recon_set *set;       /* snap->recon, NULL before the first pass */
    int64_t now_ms;

    /* Indexes into set->rows that pass the state, kind and account
     * filters, newest (largest id) first: the table's source order, which a
     * refresh can only extend or shorten, never reshuffle. */
    size_t *shown;
    size_t n_shown, cap_shown;
    enum recon_show show;
    int kind;                                      /* enum recon_kind, or RECON_KIND_ALL */
    char account[sizeof((recon_row *)0)->account]; /* "" for every account */

    /* Ids of the previous set, sorted, to tell which rows are new. */
    int64_t *prev_ids;
    size_t n_prev;
    bool had_set;
    recon_fresh *fresh;
    size_t n_fresh, cap_fresh;

    /* The detail view shows the row with this id, whatever the list does. */
    bool detail;
    int64_t detail_id;
    const recon_row *detail_row; /* NULL when that id left the set */

    uint64_t seq; /* numbers this screen's commands */
} recon_state;

/* recon.c */
const recon_row *recon_find(const recon_set *set, int64_t id);
/* "open", "resolved by alice", "auto-resolved"; the role to show it in. */
void recon_state_text(const recon_row *r, char *buf, size_t cap, int *role);
const char *recon_show_name(enum recon_show s);

/* recon_draw.c */
int64_t recon_draw_list(recon_state *s, WINDOW *w, int y, int x, int h, int width);
int64_t recon_draw_detail(recon_state *s, WINDOW *w, int y, int x, int h, int width);

#endif
