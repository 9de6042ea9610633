/*
 * chart.c - see chart.h. The pure part first (ranges, dots, raster,
 * sparkline levels), then the ncurses drawing.
 *
 * Threads: pure functions anywhere; drawing on the UI thread only.
 */
#include "chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

#define CHART_MIN_H 3
#define CHART_MIN_W 8

/* ---- pure ---------------------------------------------------------------- */

bool chart_range(const double *v, size_t n, double *lo, double *hi)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (!any || v[i] < *lo)
            *lo = v[i];
        if (!any || v[i] > *hi)
            *hi = v[i];
        any = true;
    }
    return any;
}

static int scale(double v, double lo, double hi, int steps)
{
    if (!(hi > lo))
        return -1;
    double f = (v - lo) / (hi - lo) * (double)(steps - 1);
    long r = lround(f);
    return r < 0 ? 0 : r > steps - 1 ? steps - 1 : (int)r;
}

bool chart_dot(double x, double y, double x0, double x1, double y0, double y1, int w, int h,
               int *dx, int *dy)
{
    if (!isfinite(x) || !isfinite(y) || w <= 0 || h <= 0)
        return false;
    if (x < x0 || x > x1 || y < y0 || y > y1)
        return false;
    int W = w * CHART_DOTS_X, H = h * CHART_DOTS_Y;
    int cx = scale(x, x0, x1, W);
    *dx = cx < 0 ? 0 : cx;
    int cy = scale(y, y0, y1, H);
    *dy = cy < 0 ? H / 2 : H - 1 - cy; /* row 0 is the top: the highest value */
    return true;
}

int chart_col(double x, double x0, double x1, int w)
{
    if (!isfinite(x) || w <= 0 || x < x0 || x > x1)
        return -1;
    int c = scale(x, x0, x1, w * CHART_DOTS_X);
    return c < 0 ? 0 : c / CHART_DOTS_X;
}

static const unsigned char braille_bit[CHART_DOTS_Y][CHART_DOTS_X] = {
    {0x01, 0x08},
    {0x02, 0x10},
    {0x04, 0x20},
    {0x40, 0x80},
};

static void set_dot(unsigned char *cells, int w, int h, int dx, int dy)
{
    if (dx < 0 || dy < 0 || dx >= w * CHART_DOTS_X || dy >= h * CHART_DOTS_Y)
        return;
    cells[(dy / CHART_DOTS_Y) * w + dx / CHART_DOTS_X] |=
        braille_bit[dy % CHART_DOTS_Y][dx % CHART_DOTS_X];
}

/* Bresenham from (ax, ay) to (bx, by) in dots. */
static void join(unsigned char *cells, int w, int h, int ax, int ay, int bx, int by)
{
    int ddx = abs(bx - ax), ddy = -abs(by - ay);
    int sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1;
    int err = ddx + ddy;
    for (;;) {
        set_dot(cells, w, h, ax, ay);
        if (ax == bx && ay == by)
            break;
        int e2 = 2 * err;
        if (e2 >= ddy) {
            err += ddy;
            ax += sx;
        }
        if (e2 <= ddx) {
            err += ddx;
            ay += sy;
        }
    }
}

/* Ranges over the points where both coordinates are finite. */
static bool point_ranges(const double *x, const double *y, size_t n, double *x0, double *x1,
                         double *y0, double *y1)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        if (!any) {
            *x0 = *x1 = x[i];
            *y0 = *y1 = y[i];
            any = true;
            continue;
        }
        *x0 = fmin(*x0, x[i]);
        *x1 = fmax(*x1, x[i]);
        *y0 = fmin(*y0, y[i]);
        *y1 = fmax(*y1, y[i]);
    }
    return any;
}

size_t chart_raster(const double *x, const double *y, size_t n, int w, int h,
                    unsigned char *cells)
{
    if (w <= 0 || h <= 0)
        return 0;
    memset(cells, 0, (size_t)w * (size_t)h);
    double x0, x1, y0, y1;
    if (!point_ranges(x, y, n, &x0, &x1, &y0, &y1))
        return 0;
    size_t drawn = 0;
    bool have_prev = false;
    int px = 0, py = 0;
    for (size_t i = 0; i < n; i++) {
        int dx, dy;
        if (!chart_dot(x[i], y[i], x0, x1, y0, y1, w, h, &dx, &dy)) {
            have_prev = false; /* the line breaks at a gap */
            continue;
        }
        if (have_prev)
            join(cells, w, h, px, py, dx, dy);
        else
            set_dot(cells, w, h, dx, dy);
        px = dx;
        py = dy;
        have_prev = true;
        drawn++;
    }
    return drawn;
}

void chart_cell_text(unsigned char mask, bool utf8, char *buf, size_t cap)
{
    if (cap < 2)
        return;
    if (!mask) {
        snprintf(buf, cap, " ");
        return;
    }
    if (utf8 && cap >= 4) {
        buf[0] = (char)0xe2;
        buf[1] = (char)(0xa0 | (mask >> 6));
        buf[2] = (char)(0x80 | (mask & 0x3f));
        buf[3] = '\0';
        return;
    }
    int rmin = -1, rmax = -1;
    for (int r = 0; r < CHART_DOTS_Y; r++)
        if (mask & (braille_bit[r][0] | braille_bit[r][1])) {
            if (rmin < 0)
                rmin = r;
            rmax = r;
        }
    char c;
    if (rmax - rmin >= 2)
        c = '|';
    else if (rmin + rmax <= 1)
        c = '\'';
    else if (rmin + rmax <= 4)
        c = '-';
    else
        c = '_';
    buf[0] = c;
    buf[1] = '\0';
}

int chart_spark_levels(const double *v, size_t n, int w, int *levels)
{
    if (w <= 0 || n == 0)
        return 0;
    int cells = n < (size_t)w ? (int)n : w;
    double *vals = calloc((size_t)cells, sizeof *vals);
    if (!vals)
        return 0;
    for (int c = 0; c < cells; c++) {
        size_t from = (size_t)c * n / (size_t)cells, to = (size_t)(c + 1) * n / (size_t)cells;
        double sum = 0;
        size_t k = 0;
        for (size_t i = from; i < to; i++)
            if (isfinite(v[i])) {
                sum += v[i];
                k++;
            }
        vals[c] = k ? sum / (double)k : NAN;
    }
    double lo = 0, hi = 0;
    bool any = chart_range(vals, (size_t)cells, &lo, &hi);
    for (int c = 0; c < cells; c++) {
        if (!any || !isfinite(vals[c]))
            levels[c] = -1;
        else if (!(hi > lo))
            levels[c] = 3;
        else
            levels[c] = scale(vals[c], lo, hi, CHART_SPARK_LEVELS);
    }
    free(vals);
    return cells;
}

void chart_spark_text(const int *levels, int n, bool utf8, char *buf, size_t cap)
{
    static const char ascii[] = " .:-=+*#";
    size_t used = 0;
    if (!cap)
        return;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        int l = levels[i];
        if (utf8 && l >= 0) {
            if (used + 4 > cap)
                break;
            buf[used++] = (char)0xe2; /* U+2581 + l */
            buf[used++] = (char)0x96;
            buf[used++] = (char)(0x81 + l);
        } else {
            if (used + 2 > cap)
                break;
            buf[used++] = l < 0 ? ' ' : ascii[l];
        }
        buf[used] = '\0';
    }
}

/* ---- drawing ------------------------------------------------------------ */

static void label(const chart_spec *s, chart_format f, double v, char *buf, size_t cap)
{
    if (f)
        f(v, buf, cap, s->ctx);
    else
        snprintf(buf, cap, "%g", v);
}

static bool shaded(const chart_spec *s, int col, double x0, double x1, int pw)
{
    for (size_t i = 0; i < s->n_shade; i++) {
        double a = fmax(s->shade_from[i], x0), b = fmin(s->shade_to[i], x1);
        if (!(a <= b))
            continue;
        int ca = chart_col(a, x0, x1, pw), cb = chart_col(b, x0, x1, pw);
        if (ca >= 0 && cb >= 0 && col >= ca && col <= cb)
            return true;
    }
    return false;
}

bool chart_draw(WINDOW *win, int y, int x, int h, int w, const chart_spec *s)
{
    double x0, x1, y0, y1;
    if (h < CHART_MIN_H || w < CHART_MIN_W || !point_ranges(s->x, s->y, s->n, &x0, &x1, &y0, &y1))
        return false;
    char lab[3][CHART_LABEL_MAX];
    label(s, s->fmt_y, y1, lab[0], sizeof lab[0]);
    label(s, s->fmt_y, (y0 + y1) / 2, lab[1], sizeof lab[1]);
    label(s, s->fmt_y, y0, lab[2], sizeof lab[2]);
    int labw = 0;
    for (int i = 0; i < 3; i++) {
        char clean[CHART_LABEL_MAX * 4];
        draw_clean(lab[i], clean, sizeof clean);
        int lw = draw_width(clean);
        labw = lw > labw ? lw : labw;
    }
    if (labw > w / 3)
        labw = w / 3;
    int px = x + labw + 1, pw = w - labw - 1, ph = h - 2;
    if (pw < 2)
        return false;
    unsigned char *cells = calloc((size_t)pw * (size_t)ph, 1);
    if (!cells)
        return false;
    chart_raster(s->x, s->y, s->n, pw, ph, cells);
    for (int r = 0; r < h; r++)
        draw_blank(win, y + r, x, w, s->axis_attr);
    /* y labels: top, middle, bottom of the plot */
    draw_text(win, y, x, labw, lab[0], s->axis_attr, DRAW_RIGHT);
    if (ph >= 3)
        draw_text(win, y + (ph - 1) / 2, x, labw, lab[1], s->axis_attr, DRAW_RIGHT);
    if (ph >= 2)
        draw_text(win, y + ph - 1, x, labw, lab[2], s->axis_attr, DRAW_RIGHT);
    const glyphs *g = draw_glyphs();
    for (int r = 0; r < ph; r++)
        draw_text(win, y + r, x + labw, 1, s->utf8 ? g->vline : "|", s->axis_attr, DRAW_LEFT);
    for (int c = 0; c < pw; c++) {
        bool sh = shaded(s, c, x0, x1, pw);
        for (int r = 0; r < ph; r++) {
            char t[8];
            unsigned char m = cells[r * pw + c];
            chart_cell_text(m, s->utf8, t, sizeof t);
            attr_t a = m ? s->line_attr : s->axis_attr;
            if (sh)
                a = (a & ~A_COLOR) | s->shade_attr;
            draw_text(win, y + r, px + c, 1, t, a, DRAW_LEFT);
        }
        /* The shading row: visible without colour. */
        const char *mark = sh ? (s->utf8 ? "\xe2\x96\x91" : ":") : (s->utf8 ? g->hline : "-");
        draw_text(win, y + ph, px + c, 1, mark, sh ? s->shade_attr : s->axis_attr, DRAW_LEFT);
    }
    free(cells);
    char first[CHART_LABEL_MAX], last[CHART_LABEL_MAX];
    label(s, s->fmt_x, x0, first, sizeof first);
    label(s, s->fmt_x, x1, last, sizeof last);
    draw_text(win, y + h - 1, px, pw, first, s->axis_attr, DRAW_LEFT);
    char clean[CHART_LABEL_MAX * 4];
    draw_clean(first, clean, sizeof clean);
    int fw = draw_width(clean);
    if (x1 > x0 && pw - fw > 1)
        draw_text(win, y + h - 1, px + fw + 1, pw - fw - 1, last, s->axis_attr, DRAW_RIGHT);
    return true;
}

int chart_spark_draw(WINDOW *win, int y, int x, int w, const double *v, size_t n, bool utf8,
                     attr_t a)
{
    if (w <= 0)
        return 0;
    int *levels = calloc((size_t)w, sizeof *levels);
    if (!levels)
        return 0;
    int cells = chart_spark_levels(v, n, w, levels);
    char buf[DRAW_MAX_TEXT];
    chart_spark_text(levels, cells, utf8, buf, sizeof buf);
    free(levels);
    return draw_text(win, y, x, w, buf, a, DRAW_LEFT);
}
