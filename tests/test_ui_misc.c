/*
 * test_ui_misc.c - glyph choice, number formatting and the line editor.
 */
#include <criterion/criterion.h>
#include <curses.h>
#include <locale.h>
#include <math.h>
#include <string.h>

#include "fmt.h"
#include "glyph.h"
#include "prompt.h"

static bool all_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

Test(ui_glyph, ascii_unless_the_locale_is_utf8)
{
    cr_expect(glyph_select(GLYPH_AUTO, "UTF-8")->utf8);
    cr_expect(glyph_select(GLYPH_AUTO, "utf8")->utf8);
    cr_expect_not(glyph_select(GLYPH_AUTO, "ANSI_X3.4-1968")->utf8);
    cr_expect_not(glyph_select(GLYPH_AUTO, "ISO-8859-1")->utf8);
    cr_expect_not(glyph_select(GLYPH_AUTO, NULL)->utf8);
    cr_expect_not(glyph_select(GLYPH_ASCII, "UTF-8")->utf8);
    /* Asking for UTF-8 on a terminal that cannot show it still gets ASCII. */
    cr_expect_not(glyph_select(GLYPH_UTF8, "ANSI_X3.4-1968")->utf8);
    cr_expect(glyph_select(GLYPH_UTF8, "UTF-8")->utf8);
}

Test(ui_glyph, ascii_set_is_pure_ascii_and_complete)
{
    const glyphs *g = glyph_select(GLYPH_ASCII, "UTF-8");
    const char *all[] = {g->sort_asc, g->sort_desc, g->tag,  g->ellipsis, g->hline,
                         g->vline,    g->up,        g->down, g->bullet};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        cr_expect(all[i] && all[i][0]);
        cr_expect(all_ascii(all[i]));
    }
    cr_expect_not(all_ascii(glyph_select(GLYPH_AUTO, "UTF-8")->sort_asc));
}

Test(ui_fmt, money_groups_thousands_when_it_fits)
{
    char b[64];
    fmt_money(1234567.891, 0, b, sizeof b);
    cr_expect_str_eq(b, "1,234,567.89");
    fmt_money(-1234.5, 20, b, sizeof b);
    cr_expect_str_eq(b, "-1,234.50");
    fmt_money(999.999, 0, b, sizeof b);
    cr_expect_str_eq(b, "1,000.00");
    fmt_money(-0.001, 0, b, sizeof b);
    cr_expect_str_eq(b, "0.00");
    fmt_money(1234567.89, 11, b, sizeof b); /* grouped needs 12 */
    cr_expect_str_eq(b, "1234567.89");
    fmt_money(NAN, 10, b, sizeof b);
    cr_expect_str_eq(b, "-");
    fmt_money(INFINITY, 10, b, sizeof b);
    cr_expect_str_eq(b, "-");
}

Test(ui_fmt, prices_show_digits_by_magnitude)
{
    char b[64];
    fmt_price(1.0812345, b, sizeof b);
    cr_expect_str_eq(b, "1.08123");
    fmt_price(151.2345, b, sizeof b);
    cr_expect_str_eq(b, "151.234");
    fmt_price(2345.5, b, sizeof b);
    cr_expect_str_eq(b, "2345.50");
    fmt_price(NAN, b, sizeof b);
    cr_expect_str_eq(b, "-");
}

Test(ui_fmt, ages_drawdown_and_times)
{
    char b[64];
    fmt_age(800, b, sizeof b);
    cr_expect_str_eq(b, "0.8s");
    fmt_age(12000, b, sizeof b);
    cr_expect_str_eq(b, "12s");
    fmt_age(303000, b, sizeof b);
    cr_expect_str_eq(b, "5m03s");
    fmt_age(2 * 3600000 + 5 * 60000, b, sizeof b);
    cr_expect_str_eq(b, "2h05m");
    fmt_age(3 * 86400000LL, b, sizeof b);
    cr_expect_str_eq(b, "3d");
    fmt_age(INT64_MAX, b, sizeof b);
    cr_expect_str_eq(b, "never");
    fmt_dd(12.34, 20, b, sizeof b);
    cr_expect_str_eq(b, "12.3/20%");
    fmt_dd(NAN, 7.5, b, sizeof b);
    cr_expect_str_eq(b, "-/7.5%");
    fmt_time_utc(1714571110000LL, 0, b, sizeof b); /* 2024-05-01 13:45:10 UTC */
    cr_expect_str_eq(b, "2024-05-01 13:45:10");
    fmt_time_utc(1714571110000LL, 16, b, sizeof b);
    cr_expect_str_eq(b, "05-01 13:45:10");
    fmt_time_utc(1714571110000LL, 11, b, sizeof b);
    cr_expect_str_eq(b, "05-01 13:45");
    fmt_time_utc(0, 0, b, sizeof b);
    cr_expect_str_eq(b, "-");
    fmt_clock_utc(1714571110999LL, b, sizeof b);
    cr_expect_str_eq(b, "13:45:10");
    fmt_latency(12.4, b, sizeof b);
    cr_expect_str_eq(b, "12ms");
    fmt_latency(1500, b, sizeof b);
    cr_expect_str_eq(b, "1.5s");
    /* Long latencies (a backlog synced days late) stay short. */
    fmt_latency(90000, b, sizeof b);
    cr_expect_str_eq(b, "1.5m");
    fmt_latency(5400000, b, sizeof b);
    cr_expect_str_eq(b, "1.5h");
    fmt_latency(9161148000.0, b, sizeof b);
    cr_expect_str_eq(b, "106.0d");
}

static enum prompt_result type(prompt *p, const char *s)
{
    enum prompt_result r = PROMPT_EDITING;
    for (; *s; s++)
        r = prompt_key(p, false, (unsigned char)*s);
    return r;
}

Test(ui_prompt, edits_accepts_and_cancels)
{
    prompt p;
    prompt_open(&p, "/", "old");
    cr_expect_str_eq(p.text, "old");
    prompt_key(&p, false, 21); /* ^U clears to the start */
    cr_expect_str_eq(p.text, "");
    type(&p, "demo-2x");
    prompt_key(&p, true, KEY_BACKSPACE);
    cr_expect_str_eq(p.text, "demo-2");
    prompt_key(&p, true, KEY_HOME);
    prompt_key(&p, false, 'A');
    cr_expect_str_eq(p.text, "Ademo-2");
    prompt_key(&p, true, KEY_DC);
    cr_expect_str_eq(p.text, "Aemo-2");
    cr_expect_eq(prompt_key(&p, false, '\r'), PROMPT_ACCEPT);
    prompt_open(&p, "/", "");
    cr_expect_eq(prompt_key(&p, false, 27), PROMPT_CANCEL);
}

Test(ui_prompt, control_bytes_never_enter_the_text)
{
    prompt p;
    prompt_open(&p, "/", "");
    prompt_key(&p, false, 0x9b); /* C1 CSI */
    prompt_key(&p, false, 0x07);
    type(&p, "ok");
    cr_expect_str_eq(p.text, "ok");
    cr_expect_eq(p.len, 2);
}

Test(ui_prompt, deletes_whole_utf8_characters)
{
    setlocale(LC_ALL, "C.UTF-8");
    prompt p;
    prompt_open(&p, "/", "");
    prompt_key(&p, false, 'a');
    prompt_key(&p, false, 0x20AC); /* euro sign, 3 bytes */
    cr_expect_eq(p.len, 4);
    prompt_key(&p, true, KEY_LEFT);
    cr_expect_eq(p.cur, 1);
    prompt_key(&p, true, KEY_RIGHT);
    prompt_key(&p, true, KEY_BACKSPACE);
    cr_expect_str_eq(p.text, "a");
}
