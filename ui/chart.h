/*
 * chart.h - a line chart and a sparkline for a terminal.
 *
 * The line chart puts (x, y) points into a rectangle of cells: with
 * braille dots (U+2800 block, 2 x 4 dots a cell) when the terminal shows
 * UTF-8, else one ASCII character a cell ('\'' high, '-' middle, '_' low,
 * '|' steep). Consecutive points are joined; a NaN or infinite point is
 * skipped and breaks the line there. The y axis is labelled with its
 * minimum, middle and maximum and the x axis with its first and last value,
 * both through the caller's formatter. Shaded x ranges (drawdowns, say)
 * take a theme role on the plot and, so they show without colour too, a
 * pattern in the row under the plot.
 *
 * It knows nothing of what it draws. The pure part (ranges, mapping a
 * point to a dot, rasterising, the sparkline's levels and text) is separate
 * from the drawing so tests can check it exactly.
 *
 * Threads: the pure functions are thread-safe; chart_draw and
 * chart_spark_draw are for the UI thread only.
 */
#ifndef TRADEOPS_UI_CHART_H
#define TRADEOPS_UI_CHART_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHART_DOTS_X 2 /* braille dots across a cell */
#define CHART_DOTS_Y 4 /* braille dots down a cell */
#define CHART_LABEL_MAX 32
#define CHART_SPARK_LEVELS 8

/* ---- pure ---------------------------------------------------------------- */

/* Minimum and maximum of the finite values of v[0..n); false when none. */
bool chart_range(const double *v, size_t n, double *lo, double *hi);

/* The dot (column dx from the left, row dy from the top) of (x, y) in a
 * grid of w x h cells over [x0, x1] x [y0, y1]. A zero-width x range puts
 * every point in the first column, a zero-height y range in the middle
 * row. false for a non-finite point (or outside the ranges). */
bool chart_dot(double x, double y, double x0, double x1, double y0, double y1, int w, int h,
               int *dx, int *dy);

/* The cell column of x in w cells over [x0, x1]; -1 when outside. */
int chart_col(double x, double x0, double x1, int w);

/* Rasterises the points (joined in order, broken at non-finite points)
 * into cells[h * w], row-major, each a braille bit mask (bit 0: the dot
 * top-left, as U+2800 numbers them). Ranges from the finite points.
 * Returns the number of points drawn. */
size_t chart_raster(const double *x, const double *y, size_t n, int w, int h,
                    unsigned char *cells);

/* The character of a cell: a braille character (UTF-8, up to 3 bytes) or,
 * with utf8 false, one ASCII character; " " for an empty cell. */
void chart_cell_text(unsigned char mask, bool utf8, char *buf, size_t cap);

/* Sparkline: n values into at most w cells (more values than cells: each
 * cell the mean of its share; fewer: one cell a value). levels get 0..7,
 * or -1 for a gap (no finite value). A constant series is level 3.
 * Returns the cells used. */
int chart_spark_levels(const double *v, size_t n, int w, int *levels);
/* The sparkline's text ("▁▂▃▄▅▆▇█" or " .:-=+*#", a gap a space). */
void chart_spark_text(const int *levels, int n, bool utf8, char *buf, size_t cap);

/* ---- drawing ------------------------------------------------------------ */

typedef void (*chart_format)(double v, char *buf, size_t cap, void *ctx);

typedef struct chart_spec {
    const double *x, *y;
    size_t n;
    const double *shade_from, *shade_to; /* x ranges, n_shade of each */
    size_t n_shade;
    chart_format fmt_x, fmt_y; /* NULL: "%g" */
    void *ctx;
    bool utf8;
    attr_t line_attr, axis_attr, shade_attr;
} chart_spec;

/* Draws the chart in the rectangle: y labels on the left, the plot, the
 * shading row and the x labels below. Draws nothing when the rectangle is
 * too small (under 3 rows or 8 columns) or no point is finite; returns
 * whether it drew. */
bool chart_draw(WINDOW *win, int y, int x, int h, int w, const chart_spec *s);

/* Draws the sparkline of v[0..n) at (y, x) in at most w cells; returns
 * the columns used. */
int chart_spark_draw(WINDOW *win, int y, int x, int w, const double *v, size_t n, bool utf8,
                     attr_t a);

#endif
