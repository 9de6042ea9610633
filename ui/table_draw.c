/*
 * table_draw.c - column layout and painting of a table (see table.h).
 *
 * Only rows inside the scroll window are formatted. A one-column gutter on
 * the left carries the tag mark, so tagging never shifts the columns.
 */
#include "table.h"

#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "theme.h"

#define TABLE_GAP 1    /* blank columns between two columns */
#define TABLE_GUTTER 1 /* tag mark column */

static int used_width(const int *w, int ncols, int gap)
{
    int sum = 0, shown = 0;
    for (int c = 0; c < ncols; c++)
        if (w[c] > 0) {
            sum += w[c];
            shown++;
        }
    return sum + (shown > 1 ? (shown - 1) * gap : 0);
}

int table_layout(const table_column *cols, int ncols, int width, int gap, int *out)
{
    for (int c = 0; c < ncols; c++)
        out[c] = cols[c].min_width > 0 ? cols[c].min_width : 1;
    /* Drop the least important columns (largest priority, rightmost first)
     * until the minimum widths fit; at absurd widths even priority 0 goes,
     * from the right, but the first column always stays (cut to fit). */
    while (used_width(out, ncols, gap) > width) {
        int victim = -1;
        for (int c = ncols - 1; c > 0; c--)
            if (out[c] > 0 && cols[c].priority > 0 &&
                (victim < 0 || cols[c].priority > cols[victim].priority))
                victim = c;
        if (victim < 0)
            for (int c = ncols - 1; c > 0 && victim < 0; c--)
                if (out[c] > 0)
                    victim = c;
        if (victim < 0) {
            out[0] = width > 0 ? width : 0;
            break;
        }
        out[victim] = 0;
    }
    /* Share the rest one column at a time so growth is even. */
    int extra = width - used_width(out, ncols, gap);
    while (extra > 0) {
        bool grew = false;
        for (int c = 0; c < ncols && extra > 0; c++) {
            int max = cols[c].max_width > cols[c].min_width ? cols[c].max_width : cols[c].min_width;
            if (out[c] > 0 && out[c] < max) {
                out[c]++;
                extra--;
                grew = true;
            }
        }
        if (!grew)
            break;
    }
    int shown = 0;
    for (int c = 0; c < ncols; c++)
        shown += out[c] > 0;
    return shown;
}

static void draw_header(table *t, WINDOW *win, int y, int x, int w, const int *cw)
{
    int ncols;
    const table_column *cols = table_columns(t, &ncols);
    const glyphs *g = draw_glyphs();
    attr_t ha = theme_attr(ROLE_HEADER);
    draw_blank(win, y, x, w, ha);
    int cx = x + TABLE_GUTTER;
    for (int c = 0; c < ncols; c++) {
        if (cw[c] <= 0)
            continue;
        char title[96];
        draw_clean(cols[c].title, title, sizeof title);
        if (table_sort_col(t) == c) {
            /* The sort mark must show even in a narrow column: cut the
             * title to make room rather than lose the mark. */
            const char *mark = table_sort_desc(t) ? g->sort_desc : g->sort_asc;
            draw_fit(title, sizeof title, cw[c] - 1);
            if (draw_width(title) > cw[c] - 1)
                title[0] = '\0';
            size_t l = strlen(title);
            snprintf(title + l, sizeof title - l, "%s", mark);
        }
        draw_text(win, y, cx, cw[c], title, ha,
                  (cols[c].align == TABLE_RIGHT ? DRAW_RIGHT : DRAW_LEFT) | DRAW_PAD);
        cx += cw[c] + TABLE_GAP;
    }
}

static attr_t row_attr(bool selected, bool focused, bool dim, bool tagged, bool flash)
{
    if (selected)
        return theme_attr(focused ? ROLE_SELECTED : ROLE_SELECTED_DIM);
    if (flash)
        return theme_attr(ROLE_FLASH_UP);
    if (tagged)
        return theme_attr(ROLE_TAGGED);
    return theme_attr(dim ? ROLE_DIM : ROLE_NORMAL);
}

int64_t table_draw(table *t, WINDOW *win, int y, int x, int h, int w, bool focused,
                   const char *empty, int64_t now_ms)
{
    int64_t next = INT64_MAX;
    if (h <= 0 || w <= 0)
        return next;
    int ncols;
    const table_column *cols = table_columns(t, &ncols);
    int cw[TABLE_MAX_COLS];
    table_layout(cols, ncols, w - TABLE_GUTTER, TABLE_GAP, cw);
    draw_header(t, win, y, x, w, cw);
    size_t page = h > 1 ? (size_t)(h - 1) : 1;
    table_set_page(t, page);
    const table_source *src = table_get_source(t);
    size_t top = table_top(t), n = table_count(t);
    for (int line = 1; line < h; line++) {
        size_t i = top + (size_t)(line - 1);
        int ry = y + line;
        if (i >= n) {
            draw_blank(win, ry, x, w, theme_attr(ROLE_NORMAL));
            if (n == 0 && line == 1 && empty)
                draw_text(win, ry, x + TABLE_GUTTER, w - TABLE_GUTTER, empty, theme_attr(ROLE_DIM),
                          DRAW_LEFT);
            continue;
        }
        size_t row = table_row_at(t, i);
        char key[TABLE_KEY_MAX] = "";
        src->key(src->ctx, row, key, sizeof key);
        bool selected = i == table_cursor(t);
        bool tagged = table_tag_count(t) && table_is_tagged(t, key);
        unsigned rf = src->row_flags ? src->row_flags(src->ctx, row) : 0;
        bool row_flash = rf & TABLE_ROW_FLASH;
        attr_t ra = row_attr(selected, focused, rf & TABLE_ROW_DIM, tagged, row_flash);
        draw_blank(win, ry, x, w, ra);
        if (tagged)
            draw_text(win, ry, x, TABLE_GUTTER, draw_glyphs()->tag, ra | A_BOLD, DRAW_LEFT);
        int cx = x + TABLE_GUTTER;
        for (int c = 0; c < ncols; c++) {
            if (cw[c] <= 0)
                continue;
            char text[TABLE_CELL_MAX];
            table_cell cell = {.text = text, .cap = sizeof text, .width = cw[c], .role = 0};
            text[0] = '\0';
            src->cell(src->ctx, row, c, &cell);
            text[sizeof text - 1] = '\0';
            attr_t a = ra;
            int fl = table_flash(t, row, c, now_ms);
            if (fl) {
                a = theme_attr(fl > 0 ? ROLE_FLASH_UP : ROLE_FLASH_DOWN);
            } else if (cell.role > 0 && !selected && !row_flash) {
                a = theme_attr(cell.role);
            } else if (cell.role > 0) {
                a = ra | A_BOLD;
            }
            draw_text(win, ry, cx, cw[c], text, a,
                      (cols[c].align == TABLE_RIGHT ? DRAW_RIGHT : DRAW_LEFT) | DRAW_PAD);
            cx += cw[c] + TABLE_GAP;
        }
    }
    /* Timer only while a visible cell still flashes. */
    for (size_t i = top; i < n && i < top + page; i++) {
        size_t row = table_row_at(t, i);
        for (int c = 0; c < ncols; c++) {
            if (!cols[c].flash || cw[c] <= 0 || !table_flash(t, row, c, now_ms))
                continue;
            int64_t end = table_flash_end(t, row, c);
            if (end < next)
                next = end;
        }
    }
    return next;
}
