/*
 * test_ui_table.c - the table model without a terminal: sort, filter,
 * selection and tags by identity, change flashes, scroll window, layout.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "table.h"

enum { NCOLS = 2 };

static const table_column cols[NCOLS] = {
    {"Name", 6, 12, TABLE_LEFT, 0, false, false},
    {"Value", 6, 10, TABLE_RIGHT, 1, true, true},
};

/* Rows as (key, value) pairs; the name cell is the key. */
typedef struct rows {
    const char *keys[16];
    const char *cells[16 * NCOLS];
    table_strings ts;
    size_t n;
} rows;

static void set_rows(rows *r, const char *const *kv, size_t n)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        r->keys[i] = kv[2 * i];
        r->cells[i * NCOLS] = kv[2 * i];
        r->cells[i * NCOLS + 1] = kv[2 * i + 1];
    }
    r->ts = (table_strings){.keys = r->keys, .cells = r->cells, .ncols = NCOLS};
    r->n = n;
}

static void feed(table *t, rows *r, int64_t now)
{
    table_source src = table_strings_source(&r->ts, r->n);
    cr_assert_eq(table_set_source(t, &src, now), 0);
}

static const char *key_at(table *t, rows *r, size_t i)
{
    return r->keys[table_row_at(t, i)];
}

Test(ui_table, sort_numeric_and_reverse)
{
    const char *kv[] = {"a", "10", "b", "9", "c", "100", "d", "-5"};
    rows r;
    set_rows(&r, kv, 4);
    table *t = table_new(cols, NCOLS);
    feed(t, &r, 0);
    table_sort(t, 1, false);
    cr_expect_str_eq(key_at(t, &r, 0), "d");
    cr_expect_str_eq(key_at(t, &r, 1), "b");
    cr_expect_str_eq(key_at(t, &r, 2), "a");
    cr_expect_str_eq(key_at(t, &r, 3), "c");
    table_sort_reverse(t);
    cr_expect(table_sort_desc(t));
    cr_expect_str_eq(key_at(t, &r, 0), "c");
    cr_expect_str_eq(key_at(t, &r, 3), "d");
    table_free(t);
}

Test(ui_table, sort_text_is_natural_and_case_blind)
{
    const char *kv[] = {"demo-10", "1", "demo-2", "1", "Demo-1", "1", "alpha", "1"};
    rows r;
    set_rows(&r, kv, 4);
    table *t = table_new(cols, NCOLS);
    feed(t, &r, 0);
    table_sort(t, 0, false);
    cr_expect_str_eq(key_at(t, &r, 0), "alpha");
    cr_expect_str_eq(key_at(t, &r, 1), "Demo-1");
    cr_expect_str_eq(key_at(t, &r, 2), "demo-2");
    cr_expect_str_eq(key_at(t, &r, 3), "demo-10");
    cr_expect_lt(table_natcmp("x9", "x10"), 0);
    cr_expect_gt(table_natcmp("x010", "x9"), 0);
    cr_expect_eq(table_natcmp("ABC", "abc"), 0);
    table_free(t);
}

Test(ui_table, sort_numeric_puts_blanks_last_both_ways)
{
    const char *kv[] = {"a", "-", "b", "2", "c", "1,500.25", "d", ""};
    rows r;
    set_rows(&r, kv, 4);
    table *t = table_new(cols, NCOLS);
    feed(t, &r, 0);
    table_sort(t, 1, false);
    cr_expect_str_eq(key_at(t, &r, 0), "b");
    cr_expect_str_eq(key_at(t, &r, 1), "c"); /* thousands separator understood */
    table_sort(t, 1, true);
    cr_expect_str_eq(key_at(t, &r, 0), "c");
    cr_expect_str_eq(key_at(t, &r, 1), "b");
    cr_expect_str_eq(key_at(t, &r, 2), "a");
    table_free(t);
}

Test(ui_table, sort_next_cycles_back_to_source_order)
{
    table *t = table_new(cols, NCOLS);
    cr_expect_eq(table_sort_col(t), -1);
    table_sort_next(t);
    cr_expect_eq(table_sort_col(t), 0);
    table_sort_next(t);
    cr_expect_eq(table_sort_col(t), 1);
    table_sort_next(t);
    cr_expect_eq(table_sort_col(t), -1);
    table_free(t);
}

Test(ui_table, filter_is_case_insensitive_substring_over_cells)
{
    const char *kv[] = {"EURUSD", "1", "eurgbp", "2", "XAUUSD", "3", "gbpjpy", "150"};
    rows r;
    set_rows(&r, kv, 4);
    table *t = table_new(cols, NCOLS);
    feed(t, &r, 0);
    table_set_filter(t, "eur");
    cr_expect_eq(table_count(t), 2);
    cr_expect_str_eq(key_at(t, &r, 0), "EURUSD");
    cr_expect_str_eq(key_at(t, &r, 1), "eurgbp");
    table_set_filter(t, "15"); /* numbers are cells too */
    cr_expect_eq(table_count(t), 1);
    cr_expect_str_eq(key_at(t, &r, 0), "gbpjpy");
    table_set_filter(t, "");
    cr_expect_eq(table_count(t), 4);
    cr_expect_eq(table_total(t), 4);
    table_free(t);
}

Test(ui_table, selection_follows_key_when_rows_reorder)
{
    const char *v1[] = {"a", "1", "b", "2", "c", "3", "d", "4"};
    const char *v2[] = {"d", "4", "c", "3", "a", "1", "b", "2"};
    rows r1, r2;
    set_rows(&r1, v1, 4);
    set_rows(&r2, v2, 4);
    table *t = table_new(cols, NCOLS);
    feed(t, &r1, 0);
    cr_assert(table_move(t, 1));
    cr_expect_str_eq(table_selected_key(t), "b");
    feed(t, &r2, 1000);
    cr_expect_eq(table_cursor(t), 3);
    cr_expect_str_eq(table_selected_key(t), "b");
    table_free(t);
}

Test(ui_table, selection_survives_resort_and_data_refresh_resort)
{
    const char *v1[] = {"a", "30", "b", "10", "c", "20"};
    const char *v2[] = {"a", "5", "b", "10", "c", "20"};
    rows r1, r2;
    set_rows(&r1, v1, 3);
    set_rows(&r2, v2, 3);
    table *t = table_new(cols, NCOLS);
    feed(t, &r1, 0);
    table_home(t); /* "a" */
    table_sort(t, 1, false);
    cr_expect_str_eq(table_selected_key(t), "a");
    cr_expect_eq(table_cursor(t), 2);
    feed(t, &r2, 1000); /* a now sorts first */
    cr_expect_str_eq(table_selected_key(t), "a");
    cr_expect_eq(table_cursor(t), 0);
    table_free(t);
}

Test(ui_table, removed_selection_stays_in_place)
{
    const char *v1[] = {"a", "1", "b", "2", "c", "3", "d", "4"};
    const char *v2[] = {"a", "1", "b", "2", "d", "4"};
    const char *v3[] = {"a", "1"};
    rows r1, r2, r3;
    set_rows(&r1, v1, 4);
    set_rows(&r2, v2, 3);
    set_rows(&r3, v3, 1);
    table *t = table_new(cols, NCOLS);
    feed(t, &r1, 0);
    table_move(t, 2);
    cr_expect_str_eq(table_selected_key(t), "c");
    feed(t, &r2, 1);
    cr_expect_eq(table_cursor(t), 2);
    cr_expect_str_eq(table_selected_key(t), "d");
    feed(t, &r3, 2);
    cr_expect_eq(table_cursor(t), 0);
    cr_expect_str_eq(table_selected_key(t), "a");
    table_free(t);
}

Test(ui_table, empty_filter_keeps_selection_for_later)
{
    const char *kv[] = {"a", "1", "b", "2", "c", "3"};
    rows r;
    set_rows(&r, kv, 3);
    table *t = table_new(cols, NCOLS);
    feed(t, &r, 0);
    table_move(t, 2);
    table_set_filter(t, "zzz");
    cr_expect_eq(table_count(t), 0);
    cr_expect_null(table_selected_key(t));
    table_set_filter(t, NULL);
    cr_expect_str_eq(table_selected_key(t), "c");
    cr_expect_eq(table_cursor(t), 2);
    table_free(t);
}

Test(ui_table, tags_follow_identity_and_vanish_with_their_row)
{
    const char *v1[] = {"a", "1", "b", "2", "c", "3"};
    const char *v2[] = {"c", "3", "b", "2", "a", "1"};
    const char *v3[] = {"a", "1", "c", "3"};
    rows r1, r2, r3;
    set_rows(&r1, v1, 3);
    set_rows(&r2, v2, 3);
    set_rows(&r3, v3, 2);
    table *t = table_new(cols, NCOLS);
    feed(t, &r1, 0);
    table_move(t, 1);
    cr_assert(table_toggle_tag(t));
    cr_expect(table_is_tagged(t, "b"));
    cr_expect_not(table_is_tagged(t, "a"));
    feed(t, &r2, 1);
    cr_expect(table_is_tagged(t, "b"));
    cr_expect_eq(table_tag_count(t), 1);
    cr_expect_str_eq(table_tag_at(t, 0), "b");
    feed(t, &r3, 2);
    cr_expect_eq(table_tag_count(t), 0);
    /* untagging */
    table_home(t);
    table_toggle_tag(t);
    cr_expect(table_is_tagged(t, "a"));
    table_toggle_tag(t);
    cr_expect_not(table_is_tagged(t, "a"));
    table_free(t);
}

Test(ui_table, changed_numbers_flash_up_and_down_for_a_while)
{
    const char *v1[] = {"a", "10", "b", "10", "c", "10"};
    const char *v2[] = {"b", "9.5", "a", "10.5", "c", "10"};
    rows r1, r2;
    set_rows(&r1, v1, 3);
    set_rows(&r2, v2, 3);
    table *t = table_new(cols, NCOLS);
    feed(t, &r1, 1000);
    cr_expect_eq(table_flash(t, 0, 1, 1000), 0); /* first data never flashes */
    feed(t, &r2, 2000);
    /* Rows of r2: 0 = b (fell), 1 = a (rose), 2 = c (same). */
    cr_expect_eq(table_flash(t, 0, 1, 2000), -1);
    cr_expect_eq(table_flash(t, 1, 1, 2000), 1);
    cr_expect_eq(table_flash(t, 2, 1, 2000), 0);
    cr_expect_eq(table_flash(t, 1, 0, 2000), 0); /* text column never flashes */
    cr_expect_eq(table_next_flash_end(t, 2000), 2000 + TABLE_FLASH_MS);
    /* Same values again a little later: the flash keeps its end time. */
    feed(t, &r2, 2500);
    cr_expect_eq(table_flash(t, 1, 1, 2500), 1);
    cr_expect_eq(table_flash_end(t, 1, 1), 2000 + TABLE_FLASH_MS);
    cr_expect_eq(table_flash(t, 1, 1, 2000 + TABLE_FLASH_MS), 0);
    cr_expect_eq(table_next_flash_end(t, 2000 + TABLE_FLASH_MS), INT64_MAX);
    table_free(t);
}

Test(ui_table, reordering_alone_does_not_flash)
{
    const char *v1[] = {"a", "1", "b", "2"};
    const char *v2[] = {"b", "2", "a", "1"};
    rows r1, r2;
    set_rows(&r1, v1, 2);
    set_rows(&r2, v2, 2);
    table *t = table_new(cols, NCOLS);
    feed(t, &r1, 0);
    feed(t, &r2, 10);
    cr_expect_eq(table_flash(t, 0, 1, 10), 0);
    cr_expect_eq(table_flash(t, 1, 1, 10), 0);
    table_reset(t);
    cr_expect_eq(table_total(t), 0);
    table_free(t);
}

Test(ui_table, scroll_window_math)
{
    cr_expect_eq(table_window_top(100, 10, 0, 0), 0);
    cr_expect_eq(table_window_top(100, 10, 9, 0), 0);
    cr_expect_eq(table_window_top(100, 10, 10, 0), 1);
    cr_expect_eq(table_window_top(100, 10, 15, 0), 6);
    cr_expect_eq(table_window_top(100, 10, 5, 20), 5);
    cr_expect_eq(table_window_top(100, 10, 50, 45), 45); /* visible: no jump */
    cr_expect_eq(table_window_top(100, 10, 99, 0), 90);
    cr_expect_eq(table_window_top(100, 10, 95, 95), 90); /* never past the end */
    cr_expect_eq(table_window_top(5, 10, 3, 2), 0);
    cr_expect_eq(table_window_top(0, 10, 0, 0), 0);
}

/* A counting source of many rows: only keys are read on refresh. */
typedef struct big {
    size_t n, cells, keys;
} big;

static void big_key(void *ctx, size_t row, char *buf, size_t cap)
{
    big *b = ctx;
    b->keys++;
    snprintf(buf, cap, "k%zu", row);
}

static void big_cell(void *ctx, size_t row, int col, table_cell *c)
{
    big *b = ctx;
    b->cells++;
    snprintf(c->text, c->cap, "%zu", col ? row * 3 % 1000 : row);
}

static bool big_number(void *ctx, size_t row, int col, double *out)
{
    (void)ctx;
    *out = col ? (double)(row * 3 % 1000) : (double)row;
    return true;
}

Test(ui_table, hundred_thousand_rows_cost_keys_not_cells)
{
    big b = {.n = 100000};
    table_source src = {
        .ctx = &b, .n = b.n, .key = big_key, .cell = big_cell, .number = big_number};
    static const table_column nums[2] = {{"Id", 6, 8, TABLE_RIGHT, 0, true, false},
                                         {"V", 6, 8, TABLE_RIGHT, 0, true, true}};
    table *t = table_new(nums, 2);
    cr_assert_eq(table_set_source(t, &src, 0), 0);
    cr_expect_eq(b.cells, 0);
    cr_expect_eq(table_count(t), 100000);
    table_set_page(t, 20);
    cr_expect(table_end(t));
    cr_expect_eq(table_cursor(t), 99999);
    cr_expect_eq(table_top(t), 99980);
    cr_expect_str_eq(table_selected_key(t), "k99999");
    cr_expect(table_page(t, -1));
    cr_expect_eq(table_cursor(t), 99999 - 19);
    /* Numeric sort uses numbers, not formatted cells. */
    table_sort(t, 1, true);
    cr_expect_eq(b.cells, 0);
    cr_expect_str_eq(table_selected_key(t), "k99980");
    table_free(t);
}

Test(ui_table, layout_drops_by_priority_and_fills_to_max)
{
    static const table_column c[4] = {
        {"A", 4, 10, TABLE_LEFT, 0, false, false},
        {"B", 4, 4, TABLE_LEFT, 2, false, false},
        {"C", 4, 6, TABLE_LEFT, 1, false, false},
        {"D", 4, 4, TABLE_LEFT, 0, false, false},
    };
    int w[4];
    /* Everything fits at the minimum: 16 + 3 gaps. */
    cr_expect_eq(table_layout(c, 4, 19, 1, w), 4);
    cr_expect(w[0] == 4 && w[1] == 4 && w[2] == 4 && w[3] == 4);
    /* One short: B (priority 2) goes first. */
    cr_expect_eq(table_layout(c, 4, 18, 1, w), 3);
    cr_expect_eq(w[1], 0);
    cr_expect(w[0] > 0 && w[2] > 0 && w[3] > 0);
    /* Narrower still: C goes next; A and D stay. */
    cr_expect_eq(table_layout(c, 4, 12, 1, w), 2);
    cr_expect(w[1] == 0 && w[2] == 0 && w[0] >= 4 && w[3] == 4);
    /* Room to spare: growth stops at max widths. */
    cr_expect_eq(table_layout(c, 4, 200, 1, w), 4);
    cr_expect(w[0] == 10 && w[1] == 4 && w[2] == 6 && w[3] == 4);
    /* Absurdly narrow: the first column alone, cut to fit. */
    cr_expect_eq(table_layout(c, 4, 3, 1, w), 1);
    cr_expect_eq(w[0], 3);
}
