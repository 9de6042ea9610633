/*
 * table.c - the table model: identity index, change flashes, filter, sort,
 * the order of the view. No terminal here (drawing: table_draw.c; cursor
 * and tags: table_select.c).
 *
 * Every refresh builds an index of the new rows' keys (one arena of key
 * strings plus the rows sorted by key). That one index answers "where is the
 * selected row now", "does this tagged key still exist" and "what was this
 * cell's value last time" by binary search, so nothing scans the old data
 * once per new row.
 */
#include "table.h"
#include "table_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

table *table_new(const table_column *cols, int ncols)
{
    if (!cols || ncols <= 0 || ncols > TABLE_MAX_COLS)
        return NULL;
    table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cols = cols;
    t->ncols = ncols;
    t->sort_col = -1;
    t->page = 1;
    for (int c = 0; c < ncols; c++)
        t->flash_idx[c] = cols[c].flash ? t->nflash++ : -1;
    return t;
}

static void free_index(table *t)
{
    free(t->arena);
    free(t->key_off);
    free(t->by_key);
    free(t->vals);
    free(t->dir);
    free(t->until);
    t->arena = NULL;
    t->key_off = t->by_key = NULL;
    t->vals = NULL;
    t->dir = NULL;
    t->until = NULL;
    t->nrows = 0;
}

void table_free(table *t)
{
    if (!t)
        return;
    free_index(t);
    table_clear_tags(t);
    free(t->view);
    free(t);
}

/* ---- identity index ---------------------------------------------------- */

static int cmp_key_rows(const void *a, const void *b, void *arg)
{
    const table *t = arg;
    size_t ra = *(const size_t *)a, rb = *(const size_t *)b;
    int c = strcmp(t->arena + t->key_off[ra], t->arena + t->key_off[rb]);
    return c ? c : (ra < rb ? -1 : ra > rb);
}

size_t table_find_key(const table *t, const char *key)
{
    size_t lo = 0, hi = t->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t r = t->by_key[mid];
        int c = strcmp(t->arena + t->key_off[r], key);
        if (c == 0)
            return r;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

static bool cell_number(const table *t, size_t row, int col, double *out)
{
    if (!t->src.number || !t->src.number(t->src.ctx, row, col, out))
        return false;
    return !isnan(*out);
}

/* Builds the index of src into nt (a scratch table holding only the index
 * fields), carrying flashes over from the old index in t. */
static int build_index(const table *t, table *nt, const table_source *src, int64_t now_ms)
{
    size_t n = src->n, cap = n * 16 + 16, len = 0;
    nt->nrows = n;
    nt->arena = malloc(cap);
    nt->key_off = malloc((n ? n : 1) * sizeof *nt->key_off);
    nt->by_key = malloc((n ? n : 1) * sizeof *nt->by_key);
    size_t nf = (size_t)t->nflash, cells = n * nf > 0 ? n * nf : 1;
    nt->vals = malloc(cells * sizeof *nt->vals);
    nt->dir = calloc(cells, sizeof *nt->dir);
    nt->until = calloc(cells, sizeof *nt->until);
    if (!nt->arena || !nt->key_off || !nt->by_key || !nt->vals || !nt->dir || !nt->until)
        return -1;
    char key[TABLE_KEY_MAX];
    for (size_t r = 0; r < n; r++) {
        key[0] = '\0';
        src->key(src->ctx, r, key, sizeof key);
        key[sizeof key - 1] = '\0';
        size_t kl = strlen(key) + 1;
        if (len + kl > cap) {
            while (len + kl > cap)
                cap *= 2;
            char *na = realloc(nt->arena, cap);
            if (!na)
                return -1;
            nt->arena = na;
        }
        memcpy(nt->arena + len, key, kl);
        nt->key_off[r] = len;
        len += kl;
        nt->by_key[r] = r;
    }
    qsort_r(nt->by_key, n, sizeof *nt->by_key, cmp_key_rows, nt);
    if (nf == 0)
        return 0;
    nt->src = *src;
    for (size_t r = 0; r < n; r++) {
        size_t old = table_find_key(t, nt->arena + nt->key_off[r]);
        for (int c = 0; c < t->ncols; c++) {
            int f = t->flash_idx[c];
            if (f < 0)
                continue;
            size_t i = r * nf + (size_t)f;
            double v;
            nt->vals[i] = cell_number(nt, r, c, &v) ? v : NAN;
            if (old == SIZE_MAX)
                continue;
            size_t oi = old * nf + (size_t)f;
            double ov = t->vals[oi];
            if (!isnan(ov) && !isnan(nt->vals[i]) && ov != nt->vals[i]) {
                nt->dir[i] = nt->vals[i] > ov ? 1 : -1;
                nt->until[i] = now_ms + TABLE_FLASH_MS;
            } else if (t->until[oi] > now_ms) {
                nt->dir[i] = t->dir[oi];
                nt->until[i] = t->until[oi];
            }
        }
    }
    return 0;
}

/* ---- view: filter, sort, cursor ---------------------------------------- */

typedef struct sort_item {
    size_t row;
    double num;
    size_t off;
    bool has;
} sort_item;

typedef struct sort_ctx {
    const char *text;
    bool numeric, desc;
} sort_ctx;

static int cmp_items(const void *a, const void *b, void *arg)
{
    const sort_item *x = a, *y = b;
    const sort_ctx *sc = arg;
    int c = 0;
    if (sc->numeric) {
        /* Rows without a number go last in either direction. */
        if (x->has != y->has)
            return x->has ? -1 : 1;
        if (x->has)
            c = x->num < y->num ? -1 : x->num > y->num;
    } else {
        c = table_natcmp(sc->text + x->off, sc->text + y->off);
    }
    if (sc->desc)
        c = -c;
    return c ? c : (x->row < y->row ? -1 : x->row > y->row);
}

static void format_cell(const table *t, size_t row, int col, char *buf, size_t cap)
{
    table_cell cell = {.text = buf, .cap = cap, .width = 0, .role = 0};
    buf[0] = '\0';
    t->src.cell(t->src.ctx, row, col, &cell);
    buf[cap - 1] = '\0';
}

static int sort_view(table *t)
{
    if (t->sort_col < 0 || t->nview < 2)
        return 0;
    int col = t->sort_col;
    sort_item *items = malloc(t->nview * sizeof *items);
    if (!items)
        return -1;
    sort_ctx sc = {.numeric = t->cols[col].numeric, .desc = t->sort_desc};
    char *text = NULL;
    size_t len = 0, cap = 0;
    char buf[TABLE_CELL_MAX];
    for (size_t i = 0; i < t->nview; i++) {
        sort_item *it = &items[i];
        it->row = t->view[i];
        it->has = sc.numeric && cell_number(t, it->row, col, &it->num);
        it->off = 0;
        if (sc.numeric)
            continue;
        format_cell(t, it->row, col, buf, sizeof buf);
        size_t bl = strlen(buf) + 1;
        if (len + bl > cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            while (len + bl > ncap)
                ncap *= 2;
            char *nt = realloc(text, ncap);
            if (!nt) {
                free(text);
                free(items);
                return -1;
            }
            text = nt;
            cap = ncap;
        }
        memcpy(text + len, buf, bl);
        it->off = len;
        len += bl;
    }
    sc.text = text;
    qsort_r(items, t->nview, sizeof *items, cmp_items, &sc);
    for (size_t i = 0; i < t->nview; i++)
        t->view[i] = items[i].row;
    free(text);
    free(items);
    return 0;
}

static bool row_matches(const table *t, size_t row)
{
    char buf[TABLE_CELL_MAX];
    for (int c = 0; c < t->ncols; c++) {
        format_cell(t, row, c, buf, sizeof buf);
        if (strcasestr(buf, t->filter))
            return true;
    }
    return false;
}

/* Rebuilds the view and puts the cursor back on the selected key. */
static int rebuild_view(table *t)
{
    size_t n = t->nrows;
    size_t *nv = realloc(t->view, (n ? n : 1) * sizeof *nv);
    if (!nv)
        return -1;
    t->view = nv;
    t->nview = 0;
    for (size_t r = 0; r < n; r++)
        if (!t->filter[0] || row_matches(t, r))
            t->view[t->nview++] = r;
    int rc = sort_view(t);
    if (t->nview == 0) {
        t->cursor = t->top = 0;
        return rc; /* keep sel: it comes back when the filter is cleared */
    }
    size_t row = t->has_sel ? table_find_key(t, t->sel) : SIZE_MAX;
    bool placed = false;
    if (row != SIZE_MAX) {
        for (size_t i = 0; i < t->nview; i++)
            if (t->view[i] == row) {
                t->cursor = i;
                placed = true;
                break;
            }
    }
    if (!placed && t->cursor >= t->nview)
        t->cursor = t->nview - 1;
    table_sel_from_cursor(t);
    t->top = table_window_top(t->nview, t->page, t->cursor, t->top);
    return rc;
}

int table_set_source(table *t, const table_source *src, int64_t now_ms)
{
    table nt;
    memset(&nt, 0, sizeof nt);
    if (build_index(t, &nt, src, now_ms) < 0) {
        free_index(&nt);
        free_index(t);
        memset(&t->src, 0, sizeof t->src);
        t->nview = 0;
        return -1;
    }
    free_index(t);
    t->arena = nt.arena;
    t->key_off = nt.key_off;
    t->by_key = nt.by_key;
    t->vals = nt.vals;
    t->dir = nt.dir;
    t->until = nt.until;
    t->nrows = nt.nrows;
    t->src = *src;
    table_prune_tags(t);
    if (rebuild_view(t) < 0) {
        t->nview = 0;
        return -1;
    }
    return 0;
}

void table_reset(table *t)
{
    free_index(t);
    table_clear_tags(t);
    t->nview = 0;
    t->cursor = t->top = 0;
    t->has_sel = false;
    t->sel[0] = '\0';
    memset(&t->src, 0, sizeof t->src);
}

size_t table_count(const table *t)
{
    return t->nview;
}
size_t table_total(const table *t)
{
    return t->nrows;
}
size_t table_row_at(const table *t, size_t i)
{
    return i < t->nview ? t->view[i] : SIZE_MAX;
}
size_t table_cursor(const table *t)
{
    return t->cursor;
}
size_t table_top(const table *t)
{
    return t->top;
}

void table_sort(table *t, int col, bool desc)
{
    if (col >= t->ncols)
        col = -1;
    t->sort_col = col < 0 ? -1 : col;
    t->sort_desc = desc;
    if (rebuild_view(t) < 0)
        t->nview = 0;
}

void table_sort_next(table *t)
{
    int next = t->sort_col + 1;
    table_sort(t, next >= t->ncols ? -1 : next, false);
}

void table_sort_reverse(table *t)
{
    if (t->sort_col < 0)
        table_sort(t, 0, true); /* reversing source order means: by the first column */
    else
        table_sort(t, t->sort_col, !t->sort_desc);
}

int table_sort_col(const table *t)
{
    return t->sort_col;
}
bool table_sort_desc(const table *t)
{
    return t->sort_desc;
}

void table_set_filter(table *t, const char *text)
{
    snprintf(t->filter, sizeof t->filter, "%s", text ? text : "");
    if (rebuild_view(t) < 0)
        t->nview = 0;
}

const char *table_filter(const table *t)
{
    return t->filter;
}

int table_flash(const table *t, size_t row, int col, int64_t now_ms)
{
    if (col < 0 || col >= t->ncols || row >= t->nrows || t->flash_idx[col] < 0)
        return 0;
    size_t i = row * (size_t)t->nflash + (size_t)t->flash_idx[col];
    return t->until[i] > now_ms ? t->dir[i] : 0;
}

int64_t table_flash_end(const table *t, size_t row, int col)
{
    if (col < 0 || col >= t->ncols || row >= t->nrows || t->flash_idx[col] < 0)
        return 0;
    return t->until[row * (size_t)t->nflash + (size_t)t->flash_idx[col]];
}

int64_t table_next_flash_end(const table *t, int64_t now_ms)
{
    int64_t next = INT64_MAX;
    size_t cells = t->nrows * (size_t)t->nflash;
    for (size_t i = 0; i < cells; i++)
        if (t->until[i] > now_ms && t->until[i] < next)
            next = t->until[i];
    return next;
}

const table_column *table_columns(const table *t, int *ncols)
{
    *ncols = t->ncols;
    return t->cols;
}

const table_source *table_get_source(const table *t)
{
    return &t->src;
}
