/*
 * test_ui_chart.c - the chart toolkit's pure part (suite "ui_chart"):
 * which braille dots a rising line, a constant series, a single point and
 * a series with a NaN gap light (worked out by hand from the mapping in
 * chart.h), the ASCII characters of cells, the braille encoding, and the
 * sparkline's levels and text in both modes.
 *
 * Threads: Criterion's test threads; pure functions only.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "chart.h"

/* 4 points on 2 x 1 cells = 4 x 4 dots: x 0..3 maps to dot columns 0..3,
 * y 0..3 to dot rows 3..0 (the top row is the highest value). */
Test(ui_chart, rising_line_lights_the_diagonal)
{
    const double x[] = {0, 1, 2, 3}, y[] = {0, 1, 2, 3};
    unsigned char cells[2];
    cr_assert_eq(chart_raster(x, y, 4, 2, 1, cells), 4);
    /* Cell 0: dots (0,3) = 0x40 and (1,2) = 0x20; cell 1: (2,1) = 0x02 and (3,0) = 0x08. */
    cr_expect_eq(cells[0], 0x60, "cell 0 is 0x%02x", cells[0]);
    cr_expect_eq(cells[1], 0x0a, "cell 1 is 0x%02x", cells[1]);
}

Test(ui_chart, falling_line_joins_far_points)
{
    /* Two points far apart: the join fills every dot column between them. */
    const double x[] = {0, 7}, y[] = {7, 0};
    unsigned char cells[4 * 2];
    cr_assert_eq(chart_raster(x, y, 2, 4, 2, cells), 2);
    int lit = 0;
    for (int i = 0; i < 8; i++)
        lit += __builtin_popcount(cells[i]);
    cr_expect_eq(lit, 8, "a 45-degree line over 8 x 8 dots lights 8 dots, got %d", lit);
    /* Dots (i, i): cell 0 holds (0,0) 0x01 and (1,1) 0x10; cell 7 (row 1,
     * column 3) holds (6,6) 0x04 and (7,7) 0x80. */
    cr_expect_eq(cells[0], 0x11, "cell 0 is 0x%02x", cells[0]);
    cr_expect_eq(cells[7], 0x84, "cell 7 is 0x%02x", cells[7]);
}

Test(ui_chart, constant_series_is_a_middle_row)
{
    const double x[] = {0, 1, 2, 3}, y[] = {5, 5, 5, 5};
    unsigned char cells[2];
    cr_assert_eq(chart_raster(x, y, 4, 2, 1, cells), 4);
    /* Zero-height range: dot row H/2 = 2 (bits 0x04 and 0x20). */
    cr_expect_eq(cells[0], 0x24);
    cr_expect_eq(cells[1], 0x24);
}

Test(ui_chart, single_point_first_column_middle_row)
{
    const double x[] = {1000}, y[] = {42};
    unsigned char cells[3 * 2];
    cr_assert_eq(chart_raster(x, y, 1, 3, 2, cells), 1);
    /* H = 8, dot row 4: the second cell row's top dot in the first column. */
    const unsigned char want[6] = {0, 0, 0, 0x01, 0, 0};
    cr_expect_arr_eq(cells, want, sizeof want);
}

Test(ui_chart, nan_breaks_the_line_and_is_never_drawn)
{
    const double x[] = {0, 1, 2, 3}, y[] = {0, 0, NAN, 3};
    unsigned char cells[2];
    cr_assert_eq(chart_raster(x, y, 4, 2, 1, cells), 3, "three finite points");
    /* (0,3) and (1,3) joined: 0x40 | 0x80; then a gap; (3,0) alone: 0x08. A
     * join across the gap would light dots in column 2 too. */
    cr_expect_eq(cells[0], 0xc0, "cell 0 is 0x%02x", cells[0]);
    cr_expect_eq(cells[1], 0x08, "cell 1 is 0x%02x", cells[1]);

    const double xi[] = {0, 1, 2}, yi[] = {INFINITY, -INFINITY, NAN};
    cr_expect_eq(chart_raster(xi, yi, 3, 2, 1, cells), 0);
    cr_expect(cells[0] == 0 && cells[1] == 0);
}

Test(ui_chart, dot_mapping_and_columns)
{
    int dx, dy;
    cr_assert(chart_dot(10, 0, 0, 10, 0, 1, 5, 2, &dx, &dy));
    cr_expect_eq(dx, 9);
    cr_expect_eq(dy, 7);
    cr_expect_not(chart_dot(NAN, 0, 0, 10, 0, 1, 5, 2, &dx, &dy));
    cr_expect_not(chart_dot(11, 0, 0, 10, 0, 1, 5, 2, &dx, &dy));
    cr_expect_eq(chart_col(0, 0, 10, 5), 0);
    cr_expect_eq(chart_col(10, 0, 10, 5), 4);
    cr_expect_eq(chart_col(5, 0, 10, 5), 2);
    cr_expect_eq(chart_col(-1, 0, 10, 5), -1);
}

Test(ui_chart, cell_text_braille_and_ascii)
{
    char buf[8];
    chart_cell_text(0x60, true, buf, sizeof buf);
    cr_expect_str_eq(buf, "\xe2\xa1\xa0", "U+2860");
    chart_cell_text(0xff, true, buf, sizeof buf);
    cr_expect_str_eq(buf, "\xe2\xa3\xbf", "U+28FF");
    chart_cell_text(0, true, buf, sizeof buf);
    cr_expect_str_eq(buf, " ");
    chart_cell_text(0x0a, false, buf, sizeof buf); /* rows 0-1 */
    cr_expect_str_eq(buf, "'");
    chart_cell_text(0x24, false, buf, sizeof buf); /* row 2 */
    cr_expect_str_eq(buf, "-");
    chart_cell_text(0xc0, false, buf, sizeof buf); /* row 3 */
    cr_expect_str_eq(buf, "_");
    chart_cell_text(0x41, false, buf, sizeof buf); /* rows 0 and 3 */
    cr_expect_str_eq(buf, "|");
    chart_cell_text(0, false, buf, sizeof buf);
    cr_expect_str_eq(buf, " ");
}

Test(ui_chart, sparkline_levels_and_text)
{
    const double v[] = {1, 2, 3, 4, 5, 6, 7, 8};
    int lv[8];
    cr_assert_eq(chart_spark_levels(v, 8, 8, lv), 8);
    for (int i = 0; i < 8; i++)
        cr_expect_eq(lv[i], i);
    char buf[64];
    chart_spark_text(lv, 8, true, buf, sizeof buf);
    cr_expect_str_eq(buf, "\xe2\x96\x81\xe2\x96\x82\xe2\x96\x83\xe2\x96\x84\xe2\x96\x85\xe2\x96\x86"
                          "\xe2\x96\x87\xe2\x96\x88");
    chart_spark_text(lv, 8, false, buf, sizeof buf);
    cr_expect_str_eq(buf, " .:-=+*#");

    const double gap[] = {1, NAN, 3};
    cr_assert_eq(chart_spark_levels(gap, 3, 10, lv), 3);
    cr_expect(lv[0] == 0 && lv[1] == -1 && lv[2] == 7);
    chart_spark_text(lv, 3, false, buf, sizeof buf);
    cr_expect_str_eq(buf, "  #", "a gap is a space: [%s]", buf);

    const double flat[] = {4, 4, 4};
    cr_assert_eq(chart_spark_levels(flat, 3, 3, lv), 3);
    cr_expect(lv[0] == 3 && lv[1] == 3 && lv[2] == 3);

    /* More values than cells: each cell the mean of its share. */
    const double many[] = {0, 0, 10, 10};
    cr_assert_eq(chart_spark_levels(many, 4, 2, lv), 2);
    cr_expect(lv[0] == 0 && lv[1] == 7);

    const double none[] = {NAN, NAN};
    cr_assert_eq(chart_spark_levels(none, 2, 5, lv), 2);
    cr_expect(lv[0] == -1 && lv[1] == -1);
}

Test(ui_chart, range_skips_non_finite)
{
    const double v[] = {NAN, 3, -INFINITY, -2, 7, INFINITY};
    double lo = 0, hi = 0;
    cr_assert(chart_range(v, 6, &lo, &hi));
    cr_expect(lo == -2 && hi == 7);
    const double n[] = {NAN};
    cr_expect_not(chart_range(n, 1, &lo, &hi));
}
