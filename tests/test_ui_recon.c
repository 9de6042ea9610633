/*
 * test_ui_recon.c - the Reconciliation screen's list, drawn into a null
 * terminal and read back: the tab badge, counts and the reconciler's
 * health, rows newest first, the state/kind/account filters, new rows
 * highlighted, hostile strings and small terminals. Detail, resolve and
 * read-only: test_ui_recon_resolve.c.
 */
#include "ui_recon_fixture.h"

Test(ui_recon, tab_badge_counts_open_rows_in_the_alert_role)
{
    console_ui *ui = start(false, sample());
    char top[LINE_MAX_BYTES];
    line(0, top, sizeof top);
    cr_expect(strstr(top, "1 Positions") && strstr(top, "3 Recon(5)"), "tabs: %s", top);
    cr_expect_eq(color_at("(5)"), theme_attr(ROLE_BAD) & A_COLOR);
    stop(ui);
}

Test(ui_recon, no_badge_before_the_first_pass_and_says_so)
{
    console_ui *ui = start(false, snapshot_with(NULL, 0));
    char top[LINE_MAX_BYTES];
    line(0, top, sizeof top);
    cr_expect(strstr(top, "3 Recon") && !strstr(top, "Recon("), "tabs: %s", top);
    keys(ui, "3");
    cr_expect(screen_has("has not finished a pass yet"));
    cr_expect(screen_has("waiting for the reconciler's first pass"));
    stop(ui);
}

Test(ui_recon, counts_health_and_open_rows_newest_first)
{
    console_ui *ui = start(false, sample());
    keys(ui, "3");
    cr_expect(screen_has("open 5: missing 2  unexpected 1  volume 1  SL 1"));
    cr_expect(screen_has("last pass 4.0s ago") || screen_has("last pass 4s ago"), "reconciler age");
    cr_expect(screen_has("3 accounts checked"));
    cr_expect(screen_has("1 skipped (stale data)"));
    cr_expect(screen_has("showing 5 of 7"));
    cr_expect(screen_has("state: open"));
    /* Open rows only, newest id first. */
    int y15 = line_of("3001"), y11 = line_of("1001");
    cr_expect(y15 >= 0 && y11 > y15, "order: 15 at %d, 11 at %d", y15, y11);
    cr_expect(screen_has("XAUUSD") && screen_has("volume 0.50"));
    cr_expect_not(screen_has("AUDUSD"), "a resolved row shows by default");
    cr_expect(screen_has("5m00s"), "first seen as an age");
    stop(ui);
}

Test(ui_recon, state_kind_and_account_filters_cycle_and_narrow)
{
    console_ui *ui = start(false, sample());
    keys(ui, "3o");
    cr_expect(screen_has("state: resolved"));
    cr_expect(screen_has("resolved by alice") && screen_has("auto-resolved"));
    cr_expect_not(screen_has("1001"));
    keys(ui, "o");
    cr_expect(screen_has("state: all") && screen_has("showing 7 of 7"));
    keys(ui, "K"); /* first kind: missing */
    cr_expect(screen_has("kind: missing"));
    cr_expect(screen_has("1001") && screen_has("3001"));
    cr_expect_not(screen_has("2001"));
    keys(ui, "K");
    cr_expect(screen_has("kind: unexpected") && screen_has("1002") && !screen_has("1001"));
    for (int i = 0; i < RECON_KIND_COUNT - 1; i++)
        keys(ui, "K");
    cr_expect(screen_has("kind: all") && screen_has("showing 7 of 7"));
    keys(ui, "Ademo-3");
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect(strstr(h, "account (empty: all): demo-3"), "prompt: %s", h);
    keys(ui, "\r");
    cr_expect(screen_has("account: demo-3") && screen_has("showing 2 of 7"));
    cr_expect(screen_has("3001") && screen_has("800"));
    cr_expect_not(screen_has("2001"));
    /* Empty clears; / narrows by text on top. */
    keys(ui, "A");
    console_ui_key(ui, false, 21, NOW_MS); /* ^U */
    keys(ui, "\r/usdjpy\r");
    cr_expect(screen_has("account: all") && screen_has("filter: usdjpy"));
    cr_expect(screen_has("2002") && !screen_has("2001"));
    stop(ui);
}

Test(ui_recon, hostile_text_never_reaches_the_terminal_raw)
{
    row_spec rows[N_BASE];
    memcpy(rows, base_rows, sizeof rows);
    rows[0].account = "demo-\x1b[H3";
    console_ui *ui = start_at(30, 160, false, true, true, false, snapshot_with(rows, N_BASE));
    keys(ui, "3");
    cr_expect(screen_has("EVIL?[2J"), "hostile symbol shown inert");
    cr_expect(screen_has("gone at the broker?]0;pwned?"));
    cr_expect_not(screen_has_control(), "a control character reached the list");
    keys(ui, "g\r");
    cr_expect(screen_has("Recon #15"));
    cr_expect_not(screen_has_control(), "a control character reached the detail");
    keys(ui, "\x1b");
    keys(ui, "r");
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect(strstr(h, "resolve #15 demo-?[H3 3001"), "prompt: %s", h);
    cr_expect_not(screen_has_control(), "a control character reached the prompt");
    keys(ui, "\x1b");
    /* A resolved row's note and resolver, in the detail view. */
    keys(ui, "o");
    select_id(ui, "900");
    keys(ui, "\r");
    cr_expect(screen_has("checked ?[31mred"));
    cr_expect_not(screen_has_control());
    stop(ui);
}

Test(ui_recon, new_rows_are_highlighted_for_a_few_seconds)
{
    console_ui *ui = start(false, sample());
    keys(ui, "3G"); /* cursor on the oldest row, away from the new ones */
    /* The first set marks nothing. */
    attr_t plain = theme_attr(ROLE_NORMAL) & A_COLOR;
    cr_expect_eq(color_at("2002"), plain);
    console_ui_set_snapshot(ui, reshuffled(), NOW_MS + 1000);
    int64_t due = console_ui_render(ui, NOW_MS + 1000);
    cr_expect_eq(color_at("1003"), theme_attr(ROLE_FLASH_UP) & A_COLOR);
    cr_expect_eq(color_at("2003"), theme_attr(ROLE_FLASH_UP) & A_COLOR);
    cr_expect_eq(color_at("2002"), plain, "an old row was highlighted");
    cr_expect_leq(due, NOW_MS + 1000 + NEW_ROW_MS);
    /* The cursor stayed on its row (#11) while rows came and went above. */
    int y = line_of("1001");
    cr_assert_geq(y, 0);
    cr_expect(selected_at(y, 2), "the cursor left its row");
    console_ui_render(ui, NOW_MS + 1000 + NEW_ROW_MS);
    cr_expect_eq(color_at("1003"), plain, "highlight did not end");
    stop(ui);
}

Test(ui_recon, small_terminals_show_something_sensible)
{
    console_ui *ui = start_at(24, 80, false, true, true, false, sample());
    keys(ui, "3");
    cr_expect(screen_has("open 5: missing 2"));
    cr_expect(screen_has("3001") && screen_has("1001"));
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect(strstr(h, "? help") && strstr(h, "r resolve"), "hint at 80: %s", h);
    cr_expect_leq((int)strlen(h), 80);
    /* The smallest usable console still shows the counts and a row. */
    resize_term(8, 40);
    console_ui_invalidate(ui, REACT_FULL);
    console_ui_render(ui, NOW_MS);
    cr_expect(screen_has("open 5:"));
    cr_expect(screen_has("demo-3") && screen_has("missing"), "no row at 40x8");
    resize_term(5, 20);
    console_ui_invalidate(ui, REACT_FULL);
    console_ui_render(ui, NOW_MS);
    cr_expect(screen_has("too small 20x5"));
    /* Every size, in the list, the detail and the prompt, draws. */
    const char *modes[] = {"", "\r", "r"};
    for (size_t m = 0; m < 3; m++) {
        resize_term(24, 80);
        console_ui_invalidate(ui, REACT_FULL);
        keys(ui, "\x1b");
        keys(ui, modes[m]);
        for (int c = 10; c <= 140; c += 13)
            for (int l = 3; l <= 30; l += 5) {
                resize_term(l, c);
                console_ui_invalidate(ui, REACT_FULL);
                console_ui_render(ui, NOW_MS);
            }
    }
    resize_term(24, 80);
    console_ui_invalidate(ui, REACT_FULL);
    keys(ui, "\x1b\x1b");
    cr_expect(screen_has("open 5:"));
    stop(ui);
}

Test(ui_recon, reconciler_health_before_and_after_a_clean_pass)
{
    model_snapshot *snap = snapshot_with(base_rows, 0);
    recon_set *set = (recon_set *)snap->recon;
    set->last_pass_ms = 0;
    snprintf(set->error, sizeof set->error, "ERROR: relation missing\n\x1b[2Jat line 1");
    console_ui *ui = start(false, snap);
    keys(ui, "3");
    cr_expect(screen_has("has not finished a pass yet"), "no pass, yet no claim");
    cr_expect_not(screen_has("no discrepancy"));
    cr_expect(screen_has("reconciler: no pass yet"));
    cr_expect(screen_has("error: ERROR: relation missing??[2Jat line 1"));
    cr_expect_eq(color_at("error: ERROR"), theme_attr(ROLE_BAD) & A_COLOR);
    cr_expect_not(screen_has_control());
    /* A finished pass with nothing open says so, in the good role. */
    model_snapshot *clean = snapshot_with(base_rows, 0);
    console_ui_set_snapshot(ui, clean, NOW_MS);
    console_ui_render(ui, NOW_MS);
    cr_expect(screen_has("open 0: no discrepancy"));
    cr_expect_eq(color_at("open 0"), theme_attr(ROLE_GOOD) & A_COLOR);
    cr_expect(screen_has("no open discrepancy"));
    stop(ui);
}
