/*
 * test_ui_audit.c - the Audit screen drawn into a null terminal and read
 * back: records newest first with the date only when not today, refused
 * and failed outcomes highlighted, the text, outcome and target filters,
 * the detail view with every field wrapped, hostile strings, the loaded
 * line, no badge, and a draw that never asks for a repaint.
 */
#include "ui_recon_fixture.h"

#include "screen.h"

#define SEC_MS 1000LL
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

typedef struct audit_spec {
    int64_t id;
    int64_t ago_ms;
    const char *user, *role, *source, *action, *target, *reason, *outcome;
} audit_spec;

static const audit_spec base_audit[] = {
    {105, 10 * SEC_MS, "alice", "oncall", "10.0.0.5", "guard.abort", "demo-2", "desk is hedging",
     "ok"},
    {104, MIN_MS, "bob", "viewer", "local", "alert.ack", "alert #21 demo-2",
     "role viewer may not acknowledge", "refused"},
    {103, 5 * MIN_MS, "carol", "admin", "local", "guard.close_all", "demo-3",
     "the broker refused 2 of 5 closes", "failed"},
    {102, DAY_MS + HOUR_MS, "alice", "oncall", "local", "recon.resolve", "recon #7 demo-1",
     "checked with the desk", "ok"},
    {101, 2 * DAY_MS, "dave", "admin", "local", "operator.add", "erin", "", "ok"},
};
#define N_AUDIT (sizeof base_audit / sizeof base_audit[0])

static model_snapshot *snap_audit(const audit_spec *rows, size_t n)
{
    model_snapshot *s = snapshot_with(NULL, 0);
    alert_set *set = alert_set_new(0, 0, n);
    cr_assert_not_null(set);
    /* Stored oldest first: the screen must order them itself. */
    for (size_t i = 0; i < n; i++) {
        audit_row *r = &set->audit[n - 1 - i];
        const audit_spec *a = &rows[i];
        r->id = a->id;
        r->at_ms = NOW_MS - a->ago_ms;
        snprintf(r->os_user, sizeof r->os_user, "%s", a->user);
        snprintf(r->role, sizeof r->role, "%s", a->role);
        snprintf(r->source, sizeof r->source, "%s", a->source);
        snprintf(r->action, sizeof r->action, "%s", a->action);
        snprintf(r->target, sizeof r->target, "%s", a->target);
        snprintf(r->reason, sizeof r->reason, "%s", a->reason);
        snprintf(r->outcome, sizeof r->outcome, "%s", a->outcome);
    }
    set->loaded_ms = NOW_MS - SEC_MS;
    s->alerts = set;
    return s;
}

static console_ui *start_audit(int lines, int cols, bool mono, model_snapshot *snap)
{
    console_ui *ui = start_at(lines, cols, false, true, true, mono, snap);
    keys(ui, "6");
    return ui;
}

static const screen_ops *audit_ops(void)
{
    for (size_t i = 0; i < screens_count; i++)
        if (strcmp(screens_table[i]->name, "Audit") == 0)
            return screens_table[i];
    cr_assert_fail("no Audit screen in screens_table");
    return NULL;
}

Test(ui_audit, records_newest_first_with_the_date_only_when_not_today)
{
    console_ui *ui = start_audit(24, 120, false, snap_audit(base_audit, N_AUDIT));
    char top[LINE_MAX_BYTES];
    line(0, top, sizeof top);
    cr_expect(strstr(top, "6 Audit") && !strstr(top, "Audit("), "tabs: %s", top);
    int y105 = line_of("guard.abort"), y104 = line_of("alert.ack");
    int y103 = line_of("guard.close_all"), y102 = line_of("recon.resolve");
    int y101 = line_of("operator.add");
    cr_assert(y105 > 0 && y104 > 0 && y103 > 0 && y102 > 0 && y101 > 0);
    cr_expect(y105 < y104 && y104 < y103 && y103 < y102 && y102 < y101, "newest first");
    char buf[LINE_MAX_BYTES];
    line(y105, buf, sizeof buf);
    cr_expect(strstr(buf, "13:45:00") && !strstr(buf, "05-01"), "today's time: %s", buf);
    line(y102, buf, sizeof buf);
    cr_expect(strstr(buf, "04-30 12:45:10"), "another day's date and time: %s", buf);
    line(y105, buf, sizeof buf);
    cr_expect(strstr(buf, "alice") && strstr(buf, "oncall") && strstr(buf, "10.0.0.5") &&
                  strstr(buf, "demo-2") && strstr(buf, "desk is hedging"),
              "every column: %s", buf);
    cr_expect_eq(color_at("refused"), theme_attr(ROLE_WARN) & A_COLOR);
    cr_expect_eq(color_at("failed"), theme_attr(ROLE_BAD) & A_COLOR);
    cr_expect(screen_has("Audit: showing 5 of 5"));
    cr_expect(screen_has("loaded 2024-05-01 13:45:09 UTC"));
    cr_expect(screen_has("showing the latest 5 records; `tradeops audit` for older"));
    stop(ui);
}

Test(ui_audit, outcome_text_and_target_filters_narrow_and_combine)
{
    console_ui *ui = start_audit(24, 120, false, snap_audit(base_audit, N_AUDIT));
    keys(ui, "o");
    cr_expect(screen_has("outcome: ok") && screen_has("showing 3 of 5"));
    cr_expect(screen_has("guard.abort") && screen_has("recon.resolve") &&
              screen_has("operator.add"));
    cr_expect_not(screen_has("alert.ack") || screen_has("guard.close_all"));
    keys(ui, "o");
    cr_expect(screen_has("outcome: refused") && screen_has("alert.ack"));
    cr_expect_not(screen_has("guard.abort"));
    keys(ui, "o");
    cr_expect(screen_has("outcome: failed") && screen_has("guard.close_all"));
    cr_expect_not(screen_has("alert.ack"));
    keys(ui, "o");
    cr_expect(screen_has("outcome: all") && screen_has("showing 5 of 5"));
    /* A: the target holds the text (an account, an id). */
    keys(ui, "Ademo-2");
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect(strstr(h, "target contains") && strstr(h, "demo-2"), "prompt: %s", h);
    keys(ui, "\r");
    cr_expect(screen_has("target: demo-2") && screen_has("showing 2 of 5"));
    cr_expect(screen_has("guard.abort") && screen_has("alert.ack"));
    cr_expect_not(screen_has("recon.resolve"));
    /* / on top: text across every column. */
    keys(ui, "/BOB\r");
    cr_expect(screen_has("filter: BOB") && screen_has("showing 1 of 5"));
    cr_expect(screen_has("alert.ack") && !screen_has("guard.abort"));
    keys(ui, "A");
    console_ui_key(ui, false, 21, NOW_MS); /* ^U */
    keys(ui, "\r/");
    console_ui_key(ui, false, 21, NOW_MS);
    keys(ui, "hedging\r");
    cr_expect(screen_has("target: all") && screen_has("showing 1 of 5"));
    cr_expect(screen_has("guard.abort"));
    keys(ui, "/");
    console_ui_key(ui, false, 21, NOW_MS);
    keys(ui, "no such thing\r");
    cr_expect(screen_has("no record matches"));
    stop(ui);
}

Test(ui_audit, detail_shows_every_field_wrapped)
{
    audit_spec rows[N_AUDIT];
    memcpy(rows, base_audit, sizeof rows);
    rows[1].reason = "role viewer may not acknowledge alerts: ask an on-call engineer or an admin "
                     "to do it, or have your role changed with tradeops operator add; END";
    console_ui *ui = start_audit(24, 80, false, snap_audit(rows, N_AUDIT));
    int y = line_of("alert.ack");
    cr_assert_gt(y, 0);
    keys(ui, "j\r");
    cr_expect(screen_has("Audit record #104"));
    cr_expect(screen_has("2024-05-01 13:44:10 UTC (1m00s ago)"));
    cr_expect(screen_has("bob") && screen_has("viewer") && screen_has("local"));
    cr_expect(screen_has("alert #21 demo-2"));
    cr_expect(screen_has("END"), "the end of a long reason is cut");
    cr_expect(line_of("END") > line_of("role viewer may not"), "the reason is not wrapped");
    cr_expect_eq(color_at("refused"), theme_attr(ROLE_WARN) & A_COLOR);
    keys(ui, "\x1b");
    cr_expect_not(screen_has("Audit record"));
    cr_expect(screen_has("Audit: showing"));
    /* A record that leaves the loaded list says so. */
    keys(ui, "\r");
    console_ui_set_snapshot(ui, snap_audit(rows + 2, N_AUDIT - 2), NOW_MS + SEC_MS);
    console_ui_render(ui, NOW_MS + SEC_MS);
    cr_expect(screen_has("Audit record #104"));
    cr_expect(screen_has("no longer among the latest loaded"));
    stop(ui);
}

Test(ui_audit, hostile_strings_never_reach_the_terminal_raw)
{
    audit_spec rows[N_AUDIT];
    memcpy(rows, base_audit, sizeof rows);
    rows[0].user = "ev\x1b[2Jil";
    rows[0].reason = "because\x9b"
                     "31m \xc2\x9b"
                     "1m\x07 reasons";
    rows[0].target = "demo-2\x1b]0;pwned\x07";
    console_ui *ui = start_audit(24, 120, false, snap_audit(rows, N_AUDIT));
    cr_expect(screen_has("ev?[2Jil"));
    cr_expect(screen_has("because?31m ?1m? reasons"));
    cr_expect_not(screen_has_control(), "a control character reached the list");
    keys(ui, "g\r");
    cr_expect(screen_has("Audit record #105"));
    cr_expect(screen_has("demo-2?]0;pwned?"));
    cr_expect_not(screen_has_control(), "a control character reached the detail");
    stop(ui);
}

Test(ui_audit, before_the_first_load_and_with_nothing_it_says_so)
{
    console_ui *ui = start_audit(24, 80, false, snapshot_with(NULL, 0));
    cr_expect(screen_has("waiting for the first load of the audit log"));
    cr_expect(screen_has("not loaded yet"));
    console_ui_set_snapshot(ui, snap_audit(base_audit, 0), NOW_MS);
    console_ui_render(ui, NOW_MS);
    cr_expect(screen_has("no audit record yet"));
    stop(ui);
}

Test(ui_audit, draw_never_asks_for_a_repaint_and_small_sizes_draw)
{
    null_term(24, 80, true, false);
    const screen_ops *ops = audit_ops();
    cr_expect_null(ops->badge, "the Audit tab has a badge");
    void *st = ops->create();
    cr_assert_not_null(st);
    model_snapshot *snap = snap_audit(base_audit, N_AUDIT);
    screen_env env = {.snap = snap, .now_ms = NOW_MS};
    cr_assert_eq(ops->update(st, &env), 0);
    WINDOW *w = newwin(20, 80, 0, 0);
    cr_assert_not_null(w);
    cr_expect_eq(ops->draw(st, w, 0, 0, 20, 80, &env), INT64_MAX);
    ops->handle(st, VERB_DETAIL, NULL, &env);
    cr_expect_eq(ops->draw(st, w, 0, 0, 20, 80, &env), INT64_MAX);
    for (int h = 0; h <= 20; h += 3)
        for (int c = 0; c <= 80; c += 9) {
            ops->draw(st, w, 0, 0, h, c, &env);
            ops->handle(st, h % 2 ? VERB_BACK : VERB_DETAIL, NULL, &env);
        }
    delwin(w);
    ops->destroy(st);
    model_release(snap);
    null_term_end();
}
