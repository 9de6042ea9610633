/*
 * test_ui_recon_resolve.c - the Reconciliation screen's detail view and
 * resolving a row: both sides with the differences marked, the row gone,
 * the note sent through the command port with the id captured when `r`
 * was pressed, local refusals, the engine's answer on the message line,
 * and read-only mode with no resolve in keys, hints or help.
 */
#include "ui_recon_fixture.h"

Test(ui_recon, detail_shows_both_sides_and_marks_what_differs)
{
    console_ui *ui = start(false, sample());
    keys(ui, "3");
    select_id(ui, "2001");
    keys(ui, "\r");
    cr_expect(screen_has("Recon #13"));
    cr_expect(screen_has("Expected (the bot)") && screen_has("Actual (the broker)"));
    int yv = line_of("Volume");
    cr_assert_geq(yv, 0);
    char buf[LINE_MAX_BYTES];
    line(yv, buf, sizeof buf);
    cr_expect(strstr(buf, "0.50") && strstr(buf, "0.20"), "volume line: %s", buf);
    cr_expect(strncmp(buf, "\xe2\x89\xa0", 3) == 0, "no difference mark: %s", buf);
    cr_expect_eq(color_at("0.20"), theme_attr(ROLE_BAD) & A_COLOR);
    int ys = line_of("Symbol");
    line(ys, buf, sizeof buf);
    cr_expect(buf[0] == ' ', "symbol marked as different: %s", buf);
    line(line_of("Strategy"), buf, sizeof buf);
    cr_expect(strstr(buf, "trend") && buf[0] == ' ', "a side without a strategy is marked: %s",
              buf);
    cr_expect(screen_has("First seen") && screen_has("13:40:10 UTC (5m00s ago)"));
    cr_expect(screen_has("no: open"));
    cr_expect(screen_has("volume 0.50 expected, 0.20 at the broker"));
    /* Only back and resolve live here; q goes back instead of quitting. */
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect(strstr(h, "Esc back") && strstr(h, "r resolve"), "hint: %s", h);
    unsigned r = console_ui_key(ui, false, 'q', NOW_MS);
    cr_expect_eq(r & REACT_QUIT, 0u);
    console_ui_render(ui, NOW_MS);
    cr_expect_not(screen_has("Expected (the bot)"));
    cr_expect(screen_has("open 5:"));
    keys(ui, "\r\x1b");
    cr_expect_not(screen_has("Expected (the bot)"), "Esc closes the detail");
    keys(ui, "\r\r");
    cr_expect_not(screen_has("Expected (the bot)"), "Enter closes the detail");
    stop(ui);
}

Test(ui_recon, detail_marks_without_colour_too)
{
    console_ui *ui = start_at(24, 100, false, true, false, true, sample());
    keys(ui, "3");
    select_id(ui, "2002");
    keys(ui, "\r");
    char buf[LINE_MAX_BYTES];
    int y = line_of("150.000");
    if (y < 0)
        dump();
    cr_assert_geq(y, 0);
    line(y, buf, sizeof buf);
    cr_expect(buf[0] == '!', "ASCII difference mark missing: %s", buf);
    cr_expect(strstr(buf, "150.000") && strstr(buf, "149.500"), "SL line: %s", buf);
    stop(ui);
}

Test(ui_recon, detail_says_when_its_row_is_gone)
{
    console_ui *ui = start(false, sample());
    keys(ui, "3");
    select_id(ui, "2001");
    keys(ui, "\r");
    cr_expect(screen_has("Recon #13"));
    /* The next set no longer carries #13. */
    row_spec rows[N_BASE];
    size_t n = 0;
    for (size_t i = 0; i < N_BASE; i++)
        if (base_rows[i].id != 13)
            rows[n++] = base_rows[i];
    console_ui_set_snapshot(ui, snapshot_with(rows, n), NOW_MS + 1000);
    console_ui_render(ui, NOW_MS + 1000);
    cr_expect(screen_has("Recon #13"));
    cr_expect(screen_has("no longer in the reconciler's log"));
    cr_expect_not(screen_has("Expected (the bot)"), "another row's data is shown");
    cr_expect_not(screen_has("2002"));
    stop(ui);
}

Test(ui_recon, resolve_sends_the_id_captured_when_r_was_pressed)
{
    console_ui *ui = start(false, sample());
    keys(ui, "3");
    select_id(ui, "2001");
    keys(ui, "r");
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect(strstr(h, "resolve #13 demo-2 2001 volume"), "prompt: %s", h);
    cr_expect(strstr(h, "note:"), "prompt: %s", h);
    keys(ui, "checked with the desk");
    /* The list changes under the prompt: new rows, another order. */
    console_ui_set_snapshot(ui, reshuffled(), NOW_MS + 1000);
    console_ui_render(ui, NOW_MS + 1000);
    keys_at(ui, "\r", NOW_MS + 1000);
    cr_assert_eq(tp.n_sent, 1);
    cr_expect_eq(tp.sent[0].kind, CMD_RECON_RESOLVE);
    cr_expect_eq(tp.sent[0].target_id, 13);
    cr_expect_str_eq(tp.sent[0].note, "checked with the desk");
    char st[LINE_MAX_BYTES];
    status(st, sizeof st);
    cr_expect(strstr(st, "resolve #13 sent"), "status: %s", st);
    /* The engine's answer comes back through the port. */
    tp.results[tp.n_results++] = (command_result){.seq = tp.sent[0].seq,
                                                  .kind = CMD_RECON_RESOLVE,
                                                  .target_id = 13,
                                                  .status = CMD_OK,
                                                  .message = "recon #13 resolved"};
    cr_expect_eq(console_ui_take_results(ui, NOW_MS + 1200), 1u);
    console_ui_render(ui, NOW_MS + 1200);
    status(st, sizeof st);
    cr_expect(strstr(st, "recon #13 resolved"), "status: %s", st);
    cr_expect_eq(color_at("recon #13 resolved"), theme_attr(ROLE_GOOD) & A_COLOR);
    stop(ui);
}

Test(ui_recon, resolve_keeps_its_target_when_the_cursor_lands_elsewhere)
{
    console_ui *ui = start(false, sample());
    keys(ui, "3");
    select_id(ui, "2001");
    keys(ui, "rbroker confirmed");
    /* #13 leaves the list while the note is typed: the cursor moves on to
     * its neighbour, but the note still belongs to #13. */
    console_ui_set_snapshot(ui, reshuffled_without(13), NOW_MS + 1000);
    console_ui_render(ui, NOW_MS + 1000);
    int sel = -1;
    for (int y = 1; y < LINES - 2 && sel < 0; y++)
        if (selected_at(y, 2))
            sel = y;
    cr_assert_geq(sel, 0, "no row selected");
    char buf[LINE_MAX_BYTES];
    line(sel, buf, sizeof buf);
    cr_expect_not(strstr(buf, "2001"), "#13 still shown: %s", buf);
    keys_at(ui, "\r", NOW_MS + 1000);
    cr_assert_eq(tp.n_sent, 1);
    cr_expect_eq(tp.sent[0].target_id, 13, "sent to #%lld", (long long)tp.sent[0].target_id);
    cr_expect_str_eq(tp.sent[0].note, "broker confirmed");
    stop(ui);
}

Test(ui_recon, resolve_from_the_detail_view_and_a_refusal_shows_in_the_error_role)
{
    console_ui *ui = start(false, sample());
    keys(ui, "3");
    select_id(ui, "1002");
    keys(ui, "\r");
    keys(ui, "rmine");
    keys(ui, "\r");
    cr_assert_eq(tp.n_sent, 1);
    cr_expect_eq(tp.sent[0].target_id, 12);
    tp.results[tp.n_results++] = (command_result){
        .target_id = 12, .status = CMD_REFUSED, .message = "role viewer may not resolve"};
    console_ui_take_results(ui, NOW_MS);
    console_ui_render(ui, NOW_MS);
    char st[LINE_MAX_BYTES];
    status(st, sizeof st);
    cr_expect(strstr(st, "refused: role viewer may not resolve"), "status: %s", st);
    cr_expect_eq(color_at("refused:"), theme_attr(ROLE_BAD) & A_COLOR);
    /* The message goes after a while. */
    console_ui_render(ui, NOW_MS + 60000);
    status(st, sizeof st);
    cr_expect_not(strstr(st, "refused"), "status: %s", st);
    stop(ui);
}

Test(ui_recon, empty_note_is_refused_locally)
{
    console_ui *ui = start(false, sample());
    keys(ui, "3r\r");
    cr_expect_eq(tp.n_sent, 0u);
    char st[LINE_MAX_BYTES];
    status(st, sizeof st);
    cr_expect(strstr(st, "a note is required"), "status: %s", st);
    cr_expect_eq(color_at("a note is required"), theme_attr(ROLE_BAD) & A_COLOR);
    keys(ui, "r   \r");
    cr_expect_eq(tp.n_sent, 0u, "a note of spaces was sent");
    /* Esc drops the prompt and sends nothing. */
    keys(ui, "rsomething\x1b");
    cr_expect_eq(tp.n_sent, 0u);
    stop(ui);
}

Test(ui_recon, already_resolved_row_says_so)
{
    console_ui *ui = start(false, sample());
    keys(ui, "3o");
    select_id(ui, "900");
    keys(ui, "r");
    char h[LINE_MAX_BYTES], st[LINE_MAX_BYTES];
    hint(h, sizeof h);
    status(st, sizeof st);
    cr_expect_not(strstr(h, "resolve #"), "prompt opened: %s", h);
    cr_expect(strstr(st, "#9 is already resolved by alice"), "status: %s", st);
    cr_expect_eq(tp.n_sent, 0u);
    stop(ui);
}

Test(ui_recon, without_an_engine_resolve_says_so)
{
    console_ui *ui = start_at(24, 100, false, false, true, false, sample());
    keys(ui, "3r");
    char st[LINE_MAX_BYTES], h[LINE_MAX_BYTES];
    status(st, sizeof st);
    hint(h, sizeof h);
    cr_expect(strstr(st, "no engine: cannot resolve"), "status: %s", st);
    cr_expect_not(strstr(h, "resolve #"), "prompt: %s", h);
    stop(ui);
}

Test(ui_recon, readonly_has_no_resolve_in_keys_hints_or_help)
{
    console_ui *ui = start_at(40, 120, true, true, true, false, sample());
    keys(ui, "3");
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect_not(strstr(h, "resolve"), "hint: %s", h);
    cr_expect(strstr(h, "detail"), "hint: %s", h);
    keys(ui, "r");
    hint(h, sizeof h);
    cr_expect_not(strstr(h, "resolve #"), "r opened a prompt in read-only mode: %s", h);
    keys(ui, "x\r"); /* had r opened a prompt, this would submit */
    cr_expect_eq(tp.n_sent, 0u);
    keys(ui, "\x1b?"); /* Enter opened the detail: back to the list, then help */
    cr_expect(screen_has("Help: Recon"));
    cr_expect(screen_has("Show open rows, then resolved"));
    cr_expect_not(screen_has("Mark the selected row resolved"));
    stop(ui);
    /* The same console not read-only lists it, marked dangerous. */
    ui = start_at(40, 120, false, true, true, false, sample());
    keys(ui, "3");
    hint(h, sizeof h);
    cr_expect(strstr(h, "r resolve"), "hint: %s", h);
    keys(ui, "?");
    int y = line_of("Mark the selected row resolved");
    cr_assert_geq(y, 0);
    char buf[LINE_MAX_BYTES];
    line(y, buf, sizeof buf);
    cr_expect(strstr(buf, "[dangerous]"), "help line: %s", buf);
    stop(ui);
}

Test(ui_recon, prompt_label_long_ids_leave_room_to_type)
{
    row_spec rows[1] = {{21, "an-account-with-a-very-long-identifier-indeed-0123456789",
                         "position-with-a-long-id-0123456789", "EURUSD", RECON_VOLUME, false, false,
                         NULL, NULL, "x"}};
    console_ui *ui = start_at(24, 80, false, true, true, false, snapshot_with(rows, 1));
    keys(ui, "3rtyped note");
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect(strstr(h, "resolve #21"), "prompt: %s", h);
    cr_expect(strstr(h, "typed note"), "the note is not visible: %s", h);
    keys(ui, "\r");
    cr_assert_eq(tp.n_sent, 1);
    cr_expect_eq(tp.sent[0].target_id, 21);
    stop(ui);
}
