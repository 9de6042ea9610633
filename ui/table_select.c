/*
 * table_select.c - the table's cursor, scroll window and tags (see table.h).
 *
 * Both the selection and the tags are keys, never row numbers, which is
 * what lets data refreshes reorder rows under them safely.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "table_int.h"

void table_sel_from_cursor(table *t)
{
    if (t->nview == 0)
        return;
    size_t row = t->view[t->cursor];
    if (row < t->nrows) {
        snprintf(t->sel, sizeof t->sel, "%s", t->arena + t->key_off[row]);
        t->has_sel = true;
    }
}

void table_clear_tags(table *t)
{
    for (size_t i = 0; i < t->ntags; i++)
        free(t->tags[i]);
    free(t->tags);
    t->tags = NULL;
    t->ntags = 0;
}

/* ---- tags -------------------------------------------------------------- */

static size_t tag_pos(const table *t, const char *key, bool *found)
{
    size_t lo = 0, hi = t->ntags;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->tags[mid], key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

void table_prune_tags(table *t)
{
    size_t w = 0;
    for (size_t i = 0; i < t->ntags; i++) {
        if (table_find_key(t, t->tags[i]) != SIZE_MAX)
            t->tags[w++] = t->tags[i];
        else
            free(t->tags[i]);
    }
    t->ntags = w;
}

bool table_toggle_tag(table *t)
{
    const char *key = table_selected_key(t);
    if (!key)
        return false;
    bool found;
    size_t pos = tag_pos(t, key, &found);
    if (found) {
        free(t->tags[pos]);
        memmove(t->tags + pos, t->tags + pos + 1, (t->ntags - pos - 1) * sizeof *t->tags);
        t->ntags--;
        return true;
    }
    char **nt = realloc(t->tags, (t->ntags + 1) * sizeof *nt);
    if (!nt)
        return false;
    t->tags = nt;
    char *copy = strdup(key);
    if (!copy)
        return false;
    memmove(t->tags + pos + 1, t->tags + pos, (t->ntags - pos) * sizeof *t->tags);
    t->tags[pos] = copy;
    t->ntags++;
    return true;
}

bool table_is_tagged(const table *t, const char *key)
{
    bool found;
    tag_pos(t, key, &found);
    return found;
}

size_t table_tag_count(const table *t)
{
    return t->ntags;
}
const char *table_tag_at(const table *t, size_t i)
{
    return i < t->ntags ? t->tags[i] : NULL;
}

const char *table_selected_key(const table *t)
{
    return t->nview && t->has_sel ? t->sel : NULL;
}

bool table_selected_row(const table *t, size_t *row)
{
    if (t->nview == 0)
        return false;
    *row = t->view[t->cursor];
    return true;
}

size_t table_window_top(size_t n, size_t page, size_t cursor, size_t top)
{
    if (page == 0)
        page = 1;
    if (n <= page)
        return 0;
    if (cursor >= n)
        cursor = n - 1;
    if (cursor < top)
        top = cursor;
    else if (cursor >= top + page)
        top = cursor - page + 1;
    if (top > n - page)
        top = n - page;
    return top;
}

static bool move_to(table *t, size_t pos)
{
    if (t->nview == 0)
        return false;
    if (pos >= t->nview)
        pos = t->nview - 1;
    bool moved = pos != t->cursor;
    t->cursor = pos;
    table_sel_from_cursor(t);
    t->top = table_window_top(t->nview, t->page, t->cursor, t->top);
    return moved;
}

bool table_move(table *t, long delta)
{
    if (t->nview == 0)
        return false;
    long pos = (long)t->cursor + delta;
    if (pos < 0)
        pos = 0;
    return move_to(t, (size_t)pos);
}

bool table_page(table *t, int dir)
{
    long step = (long)(t->page > 1 ? t->page - 1 : 1); /* keep one row of context */
    return table_move(t, dir < 0 ? -step : step);
}

bool table_home(table *t)
{
    return move_to(t, 0);
}
bool table_end(table *t)
{
    return t->nview ? move_to(t, t->nview - 1) : false;
}

void table_set_page(table *t, size_t rows)
{
    t->page = rows ? rows : 1;
    t->top = table_window_top(t->nview, t->page, t->cursor, t->top);
}
