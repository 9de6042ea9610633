/*
 * help.c - see help.h.
 *
 * Lines are generated, not stored: a heading per scope, then one line per
 * enabled action. The same function both counts and draws them, so the
 * scroll range always matches what is drawn.
 */
#include "help.h"

#include <stdio.h>

#include "draw.h"
#include "theme.h"

#define HELP_KEYS_W 14
#define HELP_NAME_W 12

static const char *const scope_title[] = {
    [ACTION_GLOBAL] = "Everywhere",
    [ACTION_SCREEN] = "On this screen",
};

typedef struct help_line {
    const action *a; /* NULL for a heading */
    const char *heading;
} help_line;

/* The line-th line of the overlay; false past the end. */
static bool line_at(const action *table, size_t n, const action_filter *f, size_t line,
                    help_line *out)
{
    size_t k = 0;
    for (int scope = ACTION_GLOBAL; scope <= ACTION_SCREEN; scope++) {
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            if ((int)table[i].scope != scope || !actions_enabled(&table[i], f))
                continue;
            if (!any) {
                if (k == line) {
                    out->a = NULL;
                    out->heading = scope_title[scope];
                    return true;
                }
                k++;
                any = true;
            }
            if (k == line) {
                out->a = &table[i];
                out->heading = NULL;
                return true;
            }
            k++;
        }
    }
    return false;
}

size_t help_lines(const action *table, size_t n, const action_filter *f)
{
    size_t count = 0;
    help_line hl;
    while (line_at(table, n, f, count, &hl))
        count++;
    return count;
}

void help_draw(WINDOW *w, int y, int x, int h, int width, const char *title, const action *table,
               size_t n, const action_filter *f, size_t *top)
{
    if (h <= 0 || width <= 0)
        return;
    draw_text(w, y, x, width, title, theme_attr(ROLE_HEADER), DRAW_LEFT | DRAW_PAD);
    size_t total = help_lines(table, n, f);
    size_t page = h > 1 ? (size_t)(h - 1) : 1;
    if (*top + page > total)
        *top = total > page ? total - page : 0;
    for (int row = 1; row < h; row++) {
        int ry = y + row;
        draw_blank(w, ry, x, width, theme_attr(ROLE_NORMAL));
        help_line hl;
        if (!line_at(table, n, f, *top + (size_t)(row - 1), &hl))
            continue;
        if (!hl.a) {
            draw_text(w, ry, x + 1, width - 1, hl.heading, theme_attr(ROLE_TITLE), DRAW_LEFT);
            continue;
        }
        int cx = x + 2;
        cx += draw_text(w, ry, cx, HELP_KEYS_W, hl.a->keys_label, theme_attr(ROLE_HINT_KEY),
                        DRAW_LEFT);
        cx = x + 2 + HELP_KEYS_W + 1;
        if (cx >= x + width)
            continue;
        draw_text(w, ry, cx, HELP_NAME_W, hl.a->name, theme_attr(ROLE_NORMAL) | A_BOLD, DRAW_LEFT);
        cx += HELP_NAME_W + 1;
        if (cx >= x + width)
            continue;
        if (hl.a->dangerous) {
            cx += draw_text(w, ry, cx, x + width - cx, "[dangerous] ", theme_attr(ROLE_DANGER),
                            DRAW_LEFT);
        }
        if (cx < x + width)
            draw_text(w, ry, cx, x + width - cx, hl.a->help, theme_attr(ROLE_NORMAL), DRAW_LEFT);
    }
}
