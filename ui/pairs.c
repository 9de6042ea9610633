/*
 * pairs.c - see pairs.h.
 *
 * Columns: a two-column gutter for the difference mark, the labels (as
 * wide as the widest, up to a cap), then the two values sharing the rest.
 * One function walks the lines for both counting and drawing, so the two
 * never disagree.
 */
#include "pairs.h"

#include <stdio.h>
#include <string.h>

#include "draw.h"

#define PAIRS_GUTTER 2       /* mark and a space */
#define PAIRS_GAP 2          /* between label and values, and between values */
#define PAIRS_LABEL_MAX_W 18 /* labels wider than this are cut */

typedef struct pairs_layout {
    int label_w, left_x, left_w, right_x, right_w, span_w;
} pairs_layout;

static void layout(const pairs_spec *s, int width, pairs_layout *l)
{
    int lw = 0;
    for (size_t i = 0; i < s->n; i++) {
        char clean[DRAW_MAX_TEXT];
        draw_clean(s->rows[i].label, clean, sizeof clean);
        int cw = draw_width(clean);
        if (cw > lw)
            lw = cw;
    }
    if (lw > PAIRS_LABEL_MAX_W)
        lw = PAIRS_LABEL_MAX_W;
    l->label_w = lw;
    l->left_x = PAIRS_GUTTER + lw + PAIRS_GAP;
    int rest = width - l->left_x;
    if (rest < 0)
        rest = 0;
    l->span_w = rest;
    l->left_w = (rest - PAIRS_GAP) / 2;
    if (l->left_w < 0)
        l->left_w = 0;
    l->right_x = l->left_x + l->left_w + PAIRS_GAP;
    l->right_w = rest - l->left_w - PAIRS_GAP;
    if (l->right_w < 0)
        l->right_w = 0;
}

static const char *value(const char *v)
{
    return v && v[0] ? v : "-";
}

/* Walks every line; draws them when w is not NULL. Returns lines used. */
static int walk(WINDOW *w, int y, int x, int h, int width, const pairs_spec *s)
{
    pairs_layout l;
    layout(s, width, &l);
    attr_t normal = theme_attr(ROLE_NORMAL);
    attr_t bad = theme_attr(s->differ_role == ROLE_NORMAL ? ROLE_BAD : s->differ_role);
    int line = 0;
    if (s->left_title || s->right_title) {
        if (w && line < h) {
            draw_blank(w, y + line, x, width, normal);
            draw_text(w, y + line, x + l.left_x, l.left_w, value(s->left_title),
                      theme_attr(s->left_title_role) | A_BOLD, DRAW_LEFT);
            draw_text(w, y + line, x + l.right_x, l.right_w, value(s->right_title),
                      theme_attr(s->right_title_role) | A_BOLD, DRAW_LEFT);
        }
        line++;
    }
    for (size_t i = 0; i < s->n; i++) {
        const pairs_row *r = &s->rows[i];
        if (!r->label) {
            if (w && line < h)
                draw_blank(w, y + line, x, width, normal);
            line++;
            continue;
        }
        if (!r->span) {
            if (w && line < h) {
                int ry = y + line;
                attr_t va = r->differ ? bad : normal;
                draw_blank(w, ry, x, width, normal);
                if (r->differ)
                    draw_text(w, ry, x, 1, draw_glyphs()->differ, bad | A_BOLD, DRAW_LEFT);
                draw_text(w, ry, x + PAIRS_GUTTER, l.label_w, r->label,
                          r->differ ? normal | A_BOLD : normal, DRAW_LEFT);
                draw_text(w, ry, x + l.left_x, l.left_w, value(r->left), va, DRAW_LEFT);
                draw_text(w, ry, x + l.right_x, l.right_w, value(r->right), va, DRAW_LEFT);
            }
            line++;
            continue;
        }
        char clean[DRAW_MAX_TEXT];
        draw_clean(value(r->left), clean, sizeof clean);
        const char *rest = clean;
        bool first = true;
        do {
            size_t next;
            size_t len = draw_wrap(rest, l.span_w, &next);
            if (w && line < h) {
                int ry = y + line;
                char piece[DRAW_MAX_TEXT];
                snprintf(piece, sizeof piece, "%.*s", (int)len, rest);
                draw_blank(w, ry, x, width, normal);
                if (first)
                    draw_text(w, ry, x + PAIRS_GUTTER, l.label_w, r->label, normal, DRAW_LEFT);
                draw_text(w, ry, x + l.left_x, l.span_w, piece, normal, DRAW_LEFT);
            }
            line++;
            first = false;
            rest += next;
        } while (*rest && l.span_w > 0);
    }
    return line < h || !w ? line : h;
}

int pairs_lines(const pairs_spec *s, int width)
{
    return walk(NULL, 0, 0, 0, width, s);
}

int pairs_draw(WINDOW *w, int y, int x, int h, int width, const pairs_spec *s)
{
    if (h <= 0 || width <= 0)
        return 0;
    return walk(w, y, x, h, width, s);
}
