/*
 * test_ui_alerts.c - the Alerts screen drawn into a null terminal and read
 * back: the tab badge, the guard panel with a countdown that ticks with
 * the clock (and the repaint time draw asks for), alerts by severity and
 * history, severity words without colour, hostile strings, the detail view,
 * and the four commands (acknowledge, abort, close-all, re-arm) sent
 * through the command port with the target captured when the key was
 * pressed, local refusals, and read-only mode.
 */
#include "ui_recon_fixture.h"

#include "screen.h"

#define SEC_MS 1000LL
#define COUNTDOWN_LEFT_MS 7000LL /* demo-2's countdown ends 7 s after NOW_MS */
#define DEMO2_POSITIONS 3

typedef struct alert_spec_t {
    int64_t id;
    const char *kind;
    enum alert_severity sev;
    enum alert_state state;
    const char *account, *title, *details;
    int64_t raised_ago_ms;
    int count;
    const char *acked_by;
} alert_spec_t;

typedef struct guard_spec_t {
    const char *account, *state, *why;
    double used;
    int64_t ends_in_ms; /* countdown end relative to NOW_MS; 0: none */
} guard_spec_t;

static const alert_spec_t base_alerts[] = {
    {19, "guard.warning", ALERT_WARNING, ALERT_ACKED, "demo-1", "demo-1 used 60% of its allowance",
     "{}", 10 * MIN_MS, 4, "bob"},
    {20, "broker.link_down", ALERT_WARNING, ALERT_OPEN, "demo-3", "broker link down for demo-3",
     "{\"error\":\"timeout\"}", 3 * MIN_MS, 2, NULL},
    {21, "guard.countdown", ALERT_CRITICAL, ALERT_OPEN, "demo-2",
     "demo-2 breached: auto-close counting down",
     "{\"equity\":7950.5,\"floor\":8000,\"rule\":\"max_loss\"}", 20 * SEC_MS, 1, NULL},
    {22, "system.notice", ALERT_INFO, ALERT_OPEN, "", "notifier queue is slow", "{}", MIN_MS, 1,
     NULL},
    {15, "guard.closed", ALERT_CRITICAL, ALERT_RESOLVED, "demo-1", "demo-1 closed yesterday", "{}",
     120 * MIN_MS, 1, NULL},
};
#define N_ALERTS (sizeof base_alerts / sizeof base_alerts[0])

static const guard_spec_t base_guards[] = {
    {"demo-1", "warning", "used 60% of the allowance", 0.6, 0},
    {"demo-2", "countdown", "equity 7,950.50 <= floor 8,000.00 (max loss 20%)", 1.02,
     COUNTDOWN_LEFT_MS},
    {"demo-3", "blind", "data 45s old (limit 30s): not acting", NAN, 0},
    {"demo-4", "closed", "closed 3 positions after a breach", 1.1, 0},
    {"demo-5", "ok", "", 0.1, 0},
};
#define N_GUARDS (sizeof base_guards / sizeof base_guards[0])

static void fill_alert(alert_row *r, const alert_spec_t *a)
{
    memset(r, 0, sizeof *r);
    r->id = a->id;
    snprintf(r->kind, sizeof r->kind, "%s", a->kind);
    r->severity = a->sev;
    r->state = a->state;
    snprintf(r->account, sizeof r->account, "%s", a->account);
    snprintf(r->title, sizeof r->title, "%s", a->title);
    snprintf(r->details, sizeof r->details, "%s", a->details);
    r->raised_ms = NOW_MS - a->raised_ago_ms;
    r->last_seen_ms = NOW_MS - 1000;
    r->count = a->count;
    if (a->state == ALERT_ACKED) {
        r->acked_ms = NOW_MS - MIN_MS;
        snprintf(r->acked_by, sizeof r->acked_by, "%s", a->acked_by ? a->acked_by : "");
    }
    if (a->state == ALERT_RESOLVED) {
        r->resolved_ms = NOW_MS - 60 * MIN_MS;
        snprintf(r->resolved_by, sizeof r->resolved_by, "auto");
    }
}

static void fill_guard(guard_row *g, const guard_spec_t *sp)
{
    memset(g, 0, sizeof *g);
    snprintf(g->account, sizeof g->account, "%s", sp->account);
    snprintf(g->state, sizeof g->state, "%s", sp->state);
    snprintf(g->why, sizeof g->why, "%s", sp->why);
    g->level = strcmp(sp->state, "warning") == 0;
    g->equity = 7950.5;
    g->floor = 8000.0;
    g->daily_floor = NAN;
    g->used = sp->used;
    snprintf(g->rule, sizeof g->rule, "max_loss");
    snprintf(g->mode, sizeof g->mode, "trailing_intraday");
    g->max_loss_pct = 20;
    g->countdown_s = 10;
    g->countdown_ends_ms = sp->ends_in_ms ? NOW_MS + sp->ends_in_ms : 0;
    g->data_ms = NOW_MS - 500;
    g->evaluated_ms = NOW_MS - 400;
    snprintf(g->owner, sizeof g->owner, "host-a:4242");
}

/* A snapshot with accounts demo-1..3 (demo-2 holding three positions) and
 * an alert set of the given alerts and guards; guards must be sorted by
 * account. The counts are computed from the rows, as the watcher does. */
static model_snapshot *snap_alerts(const alert_spec_t *alerts, size_t na,
                                   const guard_spec_t *guards, size_t ng)
{
    model_snapshot *s = snapshot_with(NULL, 0);
    account_view *d2 = &s->accounts[1];
    d2->positions = calloc(DEMO2_POSITIONS, sizeof *d2->positions);
    cr_assert_not_null(d2->positions);
    d2->n_positions = DEMO2_POSITIONS;
    alert_set *set = alert_set_new(na, ng, 0);
    cr_assert_not_null(set);
    for (size_t i = 0; i < na; i++) {
        fill_alert(&set->rows[i], &alerts[i]);
        if (alerts[i].state != ALERT_RESOLVED) {
            set->n_active++;
            set->n_open += alerts[i].state == ALERT_OPEN;
            set->n_critical += alerts[i].sev == ALERT_CRITICAL;
        }
    }
    for (size_t i = 0; i < ng; i++)
        fill_guard(&set->guards[i], &guards[i]);
    set->loaded_ms = NOW_MS - 300;
    s->alerts = set;
    return s;
}

static model_snapshot *base(void)
{
    return snap_alerts(base_alerts, N_ALERTS, base_guards, N_GUARDS);
}

/* The base alerts in another order, without alert `drop`, plus a new
 * critical one (id 30, demo-1) that sorts first. */
static model_snapshot *reshuffled_alerts(int64_t drop)
{
    alert_spec_t rows[N_ALERTS + 1];
    size_t n = 0;
    for (size_t i = 0; i < N_ALERTS; i++)
        if (base_alerts[N_ALERTS - 1 - i].id != drop)
            rows[n++] = base_alerts[N_ALERTS - 1 - i];
    rows[n++] = (alert_spec_t){30,         "guard.breach", ALERT_CRITICAL,
                               ALERT_OPEN, "demo-1",       "demo-1 breached",
                               "{}",       SEC_MS,         1,
                               NULL};
    return snap_alerts(rows, n, base_guards, N_GUARDS);
}

static console_ui *start_alerts(bool readonly, model_snapshot *snap)
{
    console_ui *ui = start_at(30, 120, readonly, true, true, false, snap);
    keys(ui, "2");
    return ui;
}

/* Moves the alerts cursor onto the row showing needle (top to bottom). */
static void select_text(console_ui *ui, const char *needle)
{
    keys(ui, "g");
    for (int i = 0; i < 20; i++) {
        char buf[LINE_MAX_BYTES];
        int y = line_of(needle);
        if (y < 0)
            dump();
        cr_assert_geq(y, 0, "\"%s\" not on screen", needle);
        line(y, buf, sizeof buf);
        int x = (int)(strstr(buf, needle) - buf); /* ASCII before it in these tests */
        if (selected_at(y, x))
            return;
        keys(ui, "j");
    }
    dump();
    cr_assert_fail("could not select \"%s\"", needle);
}

static const screen_ops *alerts_ops(void)
{
    for (size_t i = 0; i < screens_count; i++)
        if (strcmp(screens_table[i]->name, "Alerts") == 0)
            return screens_table[i];
    cr_assert_fail("no Alerts screen in screens_table");
    return NULL;
}

/* Draws the Alerts screen alone into a window at now_ms; its return. */
static int64_t draw_at(model_snapshot *snap, int64_t now_ms)
{
    const screen_ops *ops = alerts_ops();
    void *st = ops->create();
    cr_assert_not_null(st);
    screen_env env = {.snap = snap, .now_ms = now_ms};
    cr_assert_eq(ops->update(st, &env), 0);
    WINDOW *w = newwin(20, 100, 0, 0);
    cr_assert_not_null(w);
    int64_t next = ops->draw(st, w, 0, 0, 20, 100, &env);
    delwin(w);
    ops->destroy(st);
    model_release(snap);
    return next;
}

static void status_has(const char *needle)
{
    char st[LINE_MAX_BYTES];
    status(st, sizeof st);
    cr_expect(strstr(st, needle), "status line lacks \"%s\": %s", needle, st);
}

static void hint_has(const char *needle, bool want)
{
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    if (want)
        cr_expect(strstr(h, needle), "hint line lacks \"%s\": %s", needle, h);
    else
        cr_expect_not(strstr(h, needle), "hint line has \"%s\": %s", needle, h);
}

/* ---- the list ------------------------------------------------------------ */

Test(ui_alerts, tab_badge_counts_open_alerts_in_the_critical_role)
{
    console_ui *ui = start_at(24, 100, false, true, true, false, base());
    char top[LINE_MAX_BYTES];
    line(0, top, sizeof top);
    cr_expect(strstr(top, "1 Positions") && strstr(top, "2 Alerts(3)") && strstr(top, "3 Recon") &&
                  strstr(top, "4 Sync") && strstr(top, "6 Audit"),
              "tabs: %s", top);
    cr_expect_eq(color_at("(3)"), theme_attr(ROLE_BAD) & A_COLOR);
    /* Without a critical one, the badge is a warning. */
    alert_spec_t warn[] = {base_alerts[1]};
    console_ui_set_snapshot(ui, snap_alerts(warn, 1, base_guards, N_GUARDS), NOW_MS);
    console_ui_render(ui, NOW_MS);
    line(0, top, sizeof top);
    cr_expect(strstr(top, "2 Alerts(1)"), "tabs: %s", top);
    cr_expect_eq(color_at("(1)"), theme_attr(ROLE_WARN) & A_COLOR);
    /* Acknowledged and resolved ones do not count; none open: no badge. */
    alert_spec_t quiet[] = {base_alerts[0], base_alerts[4]};
    console_ui_set_snapshot(ui, snap_alerts(quiet, 2, base_guards, N_GUARDS), NOW_MS);
    console_ui_render(ui, NOW_MS);
    line(0, top, sizeof top);
    cr_expect(strstr(top, "2 Alerts") && !strstr(top, "Alerts("), "tabs: %s", top);
    stop(ui);
}

Test(ui_alerts, before_the_first_load_it_says_so)
{
    console_ui *ui = start_alerts(false, snapshot_with(NULL, 0));
    char top[LINE_MAX_BYTES];
    line(0, top, sizeof top);
    cr_expect(strstr(top, "2 Alerts") && !strstr(top, "Alerts("), "tabs: %s", top);
    cr_expect(screen_has("waiting for the first load of alerts and guards"));
    cr_expect(screen_has("waiting for the first load of alerts"));
    stop(ui);
}

Test(ui_alerts, countdown_shows_the_seconds_left_and_ticks_with_the_clock)
{
    console_ui *ui = start_alerts(false, base());
    cr_expect(screen_has("AUTO-CLOSE IN 7s: demo-2"), "banner");
    int y = line_of("demo-2 ");
    cr_assert_geq(y, 0);
    cr_expect(line_of("AUTO-CLOSE IN 7s") >= 0);
    cr_expect_not(screen_has("AUTO-CLOSE IN 6s"));
    /* The same data, a second later: the number goes down with the clock. */
    console_ui_render(ui, NOW_MS + SEC_MS);
    cr_expect(screen_has("AUTO-CLOSE IN 6s: demo-2"));
    cr_expect_not(screen_has("AUTO-CLOSE IN 7s"));
    console_ui_render(ui, NOW_MS + 6 * SEC_MS + 1);
    cr_expect(screen_has("AUTO-CLOSE IN 1s"));
    console_ui_render(ui, NOW_MS + COUNTDOWN_LEFT_MS);
    cr_expect(screen_has("AUTO-CLOSE DUE"), "a countdown at its end");
    cr_expect_not(screen_has("AUTO-CLOSE IN"));
    /* The countdown stands out in the alarm role. */
    cr_expect_eq(color_at("AUTO-CLOSE DUE"), theme_attr(ROLE_FLASH_DOWN) & A_COLOR);
    stop(ui);
}

Test(ui_alerts, draw_asks_for_the_next_second_only_while_counting_down)
{
    null_term(24, 100, true, false);
    /* Countdown ends on a whole second: the next paint is the next second. */
    int64_t now = NOW_MS + 250;
    cr_expect_eq(draw_at(base(), now), NOW_MS + SEC_MS);
    cr_expect_eq(draw_at(base(), NOW_MS + 3 * SEC_MS), NOW_MS + 4 * SEC_MS);
    /* A countdown whose number turns before the next whole second. */
    guard_spec_t odd[N_GUARDS];
    memcpy(odd, base_guards, sizeof odd);
    odd[1].ends_in_ms = 6300;
    cr_expect_eq(draw_at(snap_alerts(base_alerts, N_ALERTS, odd, N_GUARDS), NOW_MS), NOW_MS + 300);
    /* Nothing counts down: nothing to repaint for, ever. */
    guard_spec_t calm[N_GUARDS];
    memcpy(calm, base_guards, sizeof calm);
    calm[1].state = "aborted";
    calm[1].ends_in_ms = 0;
    cr_expect_eq(draw_at(snap_alerts(base_alerts, N_ALERTS, calm, N_GUARDS), NOW_MS), INT64_MAX);
    cr_expect_eq(draw_at(snapshot_with(NULL, 0), NOW_MS), INT64_MAX);
    /* A countdown past its end waits for the guard, not for the clock. */
    cr_expect_eq(draw_at(base(), NOW_MS + COUNTDOWN_LEFT_MS + 5), INT64_MAX);
    null_term_end();
}

Test(ui_alerts, guard_panel_shows_guards_that_are_not_ok_and_why)
{
    console_ui *ui = start_alerts(false, base());
    cr_expect(screen_has("demo-1") && screen_has("warning 1"));
    cr_expect(screen_has("BLIND") && screen_has("data 45s old"), "a blind guard says why");
    cr_expect(screen_has("CLOSED"));
    cr_expect(screen_has("7,950.50") && screen_has("8,000.00"), "equity and floor");
    cr_expect(screen_has("102%"), "allowance used");
    cr_expect(screen_has("host-a:4242"), "owner");
    cr_expect_not(screen_has("demo-5"), "an ok guard is listed");
    /* On a wide terminal the whole why shows. */
    resize_term(30, 180);
    console_ui_invalidate(ui, REACT_FULL);
    console_ui_render(ui, NOW_MS);
    cr_expect(screen_has("data 45s old (limit 30s): not acting"));
    /* All ok: one line says so. */
    guard_spec_t ok[] = {{"demo-1", "ok", "", 0.1, 0}, {"demo-2", "ok", "", 0.2, 0}};
    console_ui_set_snapshot(ui, snap_alerts(base_alerts, N_ALERTS, ok, 2), NOW_MS);
    console_ui_render(ui, NOW_MS);
    cr_expect(screen_has("all 2 guards ok"));
    cr_expect_eq(color_at("all 2 guards ok"), theme_attr(ROLE_GOOD) & A_COLOR);
    cr_expect_not(screen_has("AUTO-CLOSE"));
    stop(ui);
}

Test(ui_alerts, active_alerts_by_severity_then_newest_and_h_shows_history)
{
    console_ui *ui = start_alerts(false, base());
    int y21 = line_of("auto-close counting down"), y22 = line_of("notifier queue");
    int y20 = line_of("broker link down"), y19 = line_of("used 60% of its");
    cr_assert(y21 >= 0 && y20 >= 0 && y19 >= 0 && y22 >= 0);
    cr_expect(y21 < y20 && y20 < y19 && y19 < y22, "order: 21 %d, 20 %d, 19 %d, 22 %d", y21, y20,
              y19, y22);
    cr_expect_not(screen_has("closed yesterday"), "a resolved alert shows by default");
    cr_expect(screen_has("acked") && screen_has("open"));
    cr_expect(screen_has("3m00s"), "age");
    cr_expect(screen_has("Alerts: 3 open, 1 acknowledged"));
    keys(ui, "h");
    cr_expect(screen_has("closed yesterday"));
    cr_expect(screen_has("with history"));
    /* History is newest first, whatever the severity. */
    y21 = line_of("auto-close counting down");
    y22 = line_of("notifier queue");
    int y15 = line_of("closed yesterday");
    cr_expect(y21 < y22 && y22 < line_of("broker link down") && line_of("used 60% of its") < y15,
              "history order");
    cr_expect_eq(color_at("closed yesterday"), theme_attr(ROLE_DIM) & A_COLOR);
    keys(ui, "h");
    cr_expect_not(screen_has("closed yesterday"));
    stop(ui);
}

Test(ui_alerts, filter_narrows_by_kind_account_or_title)
{
    console_ui *ui = start_alerts(false, base());
    keys(ui, "/demo-3\r");
    cr_expect(screen_has("filter: demo-3"));
    cr_expect(screen_has("broker link down") && !screen_has("auto-close counting down"));
    keys(ui, "/");
    console_ui_key(ui, false, 21, NOW_MS); /* ^U */
    keys(ui, "GUARD.\r");
    cr_expect(screen_has("auto-close counting down") && screen_has("used 60% of its"));
    cr_expect_not(screen_has("broker link down"));
    keys(ui, "/");
    console_ui_key(ui, false, 21, NOW_MS);
    keys(ui, "nothing-like-this\r");
    cr_expect(screen_has("no alert matches the filter"));
    stop(ui);
}

Test(ui_alerts, the_list_keeps_its_row_when_new_data_comes)
{
    console_ui *ui = start_alerts(false, base());
    select_text(ui, "broker link down");
    console_ui_set_snapshot(ui, reshuffled_alerts(0), NOW_MS + SEC_MS);
    console_ui_render(ui, NOW_MS + SEC_MS);
    int y = line_of("broker link down");
    cr_assert_geq(y, 0);
    char buf[LINE_MAX_BYTES];
    line(y, buf, sizeof buf);
    cr_expect(selected_at(y, (int)(strstr(buf, "broker link down") - buf)),
              "the cursor left its alert");
    cr_expect(line_of("demo-1 breached") < line_of("auto-close counting down"),
              "a new critical alert sorts first");
    stop(ui);
}

Test(ui_alerts, severity_reads_without_colour)
{
    console_ui *ui = start_at(30, 120, false, true, false, true, base());
    keys(ui, "2");
    cr_expect(screen_has("!! CRIT"));
    cr_expect(screen_has("!  warn"));
    cr_expect(screen_has("-  info"));
    cr_expect(screen_has("AUTO-CLOSE IN 7s"));
    cr_expect_not(screen_has_control());
    stop(ui);
}

Test(ui_alerts, hostile_strings_never_reach_the_terminal_raw)
{
    alert_spec_t rows[N_ALERTS];
    memcpy(rows, base_alerts, sizeof rows);
    rows[2].title = "EVIL\x1b[2J title\x9b"
                    "31m";
    rows[2].details = "{\"msg\":\"\\u001b]0;pwned\\u0007\",\"x\":\"\xc2\x9b"
                      "1m\"}";
    rows[1].details = "not json \x1b[H";
    guard_spec_t guards[N_GUARDS];
    memcpy(guards, base_guards, sizeof guards);
    guards[2].why = "stale\x1b[31m\x07 data";
    console_ui *ui = start_alerts(false, snap_alerts(rows, N_ALERTS, guards, N_GUARDS));
    cr_expect(screen_has("EVIL?[2J title"), "hostile title shown inert");
    cr_expect(screen_has("stale?[31m? data"));
    cr_expect_not(screen_has_control(), "a control character reached the list");
    select_text(ui, "EVIL");
    keys(ui, "\r");
    cr_expect(screen_has("Alert #21"));
    cr_expect(screen_has("\\u001b]0;pwned\\u0007"), "an ESC in the JSON shown escaped");
    cr_expect_not(screen_has_control(), "a control character reached the detail");
    keys(ui, "\x1b");
    select_text(ui, "broker link down");
    keys(ui, "\r");
    cr_expect(screen_has("not json ?[H"));
    cr_expect(screen_has("not valid JSON"));
    cr_expect_not(screen_has_control());
    keys(ui, "\x1b");
    /* The prompt's label carries the title's account, sanitised too. */
    select_text(ui, "EVIL");
    keys(ui, "a");
    hint_has("acknowledge #21 guard.countdown demo-2", true);
    cr_expect_not(screen_has_control());
    stop(ui);
}

/* ---- detail ------------------------------------------------------------- */

Test(ui_alerts, detail_shows_every_field_the_pretty_json_and_the_guard)
{
    console_ui *ui = start_at(60, 120, false, true, true, false, base());
    keys(ui, "2");
    select_text(ui, "auto-close counting down");
    keys(ui, "\r");
    cr_expect(screen_has("Alert #21"));
    cr_expect(screen_has("Kind") && screen_has("guard.countdown"));
    cr_expect(screen_has("Raised") && screen_has("13:44:50 UTC (20s ago)"));
    cr_expect(screen_has("\"equity\": 7950.5"), "pretty JSON, one key a line");
    cr_expect(screen_has("\"rule\": \"max_loss\""));
    cr_expect(line_of("\"equity\"") != line_of("\"floor\""));
    cr_expect(screen_has("countdown: AUTO-CLOSE IN 7s"));
    cr_expect(screen_has("equity 7,950.50 <= floor 8,000.00"), "the guard's why");
    cr_expect(screen_has("host-a:4242"));
    /* The detail ticks too, and Esc goes back. */
    console_ui_render(ui, NOW_MS + 2 * SEC_MS);
    cr_expect(screen_has("countdown: AUTO-CLOSE IN 5s"));
    hint_has("Esc back", true);
    hint_has("x abort", true);
    keys(ui, "\x1b");
    cr_expect_not(screen_has("Alert #21"));
    cr_expect(screen_has("Alerts: 3 open"));
    stop(ui);
}

Test(ui_alerts, detail_scrolls_on_a_small_terminal_and_says_when_its_alert_is_gone)
{
    console_ui *ui = start_at(24, 80, false, true, true, false, base());
    keys(ui, "2");
    select_text(ui, "demo-2 breached");
    keys(ui, "\r");
    cr_expect(screen_has("Alert #21"));
    cr_expect(screen_has("j/k scroll"));
    cr_expect_not(screen_has("Evaluated"), "the bottom already shows at 80x24");
    keys(ui, "G");
    cr_expect(screen_has("Evaluated"));
    cr_expect(screen_has("Alert #21"), "the title stays");
    console_ui_set_snapshot(ui, reshuffled_alerts(21), NOW_MS + SEC_MS);
    console_ui_render(ui, NOW_MS + SEC_MS);
    cr_expect(screen_has("no longer in the recent list"));
    stop(ui);
}

/* ---- commands ----------------------------------------------------------- */

Test(ui_alerts, ack_sends_the_id_captured_when_a_was_pressed)
{
    console_ui *ui = start_alerts(false, base());
    select_text(ui, "broker link down");
    keys(ui, "a");
    hint_has("acknowledge #20 broker.link_down demo-3", true);
    hint_has("note (optional):", true);
    keys(ui, "looking at it");
    /* The list changes under the prompt: #20 is gone, a new one is first. */
    console_ui_set_snapshot(ui, reshuffled_alerts(20), NOW_MS + SEC_MS);
    console_ui_render(ui, NOW_MS + SEC_MS);
    keys_at(ui, "\r", NOW_MS + SEC_MS);
    cr_assert_eq(tp.n_sent, 1);
    cr_expect_eq(tp.sent[0].kind, CMD_ALERT_ACK);
    cr_expect_eq(tp.sent[0].target_id, 20);
    cr_expect_str_eq(tp.sent[0].note, "looking at it");
    status_has("acknowledge #20 sent");
    /* An empty note is fine for an acknowledgement. */
    select_text(ui, "demo-1 breached");
    keys(ui, "a\r");
    cr_assert_eq(tp.n_sent, 2);
    cr_expect_eq(tp.sent[1].target_id, 30);
    cr_expect_str_eq(tp.sent[1].note, "");
    /* The engine's answer shows on the status line. */
    tp.results[tp.n_results++] = (command_result){.kind = CMD_ALERT_ACK,
                                                  .target_id = 30,
                                                  .status = CMD_OK,
                                                  .message = "alert #30 acknowledged"};
    console_ui_take_results(ui, NOW_MS + SEC_MS);
    console_ui_render(ui, NOW_MS + SEC_MS);
    status_has("alert #30 acknowledged");
    stop(ui);
}

Test(ui_alerts, ack_of_an_acknowledged_alert_says_so_and_asks_nothing)
{
    console_ui *ui = start_alerts(false, base());
    select_text(ui, "used 60% of its");
    keys(ui, "a");
    hint_has("acknowledge #", false);
    status_has("#19 is already acknowledged by bob");
    keys(ui, "\r");
    cr_expect_eq(tp.n_sent, 0u);
    stop(ui);
}

Test(ui_alerts, abort_captures_the_account_and_needs_a_reason)
{
    console_ui *ui = start_alerts(false, base());
    select_text(ui, "auto-close counting down");
    keys(ui, "x");
    hint_has("Abort auto-close of demo-2 \xe2\x80\x94 reason:", true);
    keys(ui, "\r");
    cr_expect_eq(tp.n_sent, 0u, "an abort without a reason was sent");
    status_has("a reason is required");
    keys(ui, "x");
    keys(ui, "desk is hedging manually");
    /* The list reorders and the cursor lands elsewhere: the reason still
     * goes with demo-2. */
    console_ui_set_snapshot(ui, reshuffled_alerts(21), NOW_MS + SEC_MS);
    console_ui_render(ui, NOW_MS + SEC_MS);
    keys_at(ui, "\r", NOW_MS + SEC_MS);
    cr_assert_eq(tp.n_sent, 1);
    cr_expect_eq(tp.sent[0].kind, CMD_GUARD_ABORT);
    cr_expect_str_eq(tp.sent[0].account, "demo-2");
    cr_expect_str_eq(tp.sent[0].note, "desk is hedging manually");
    status_has("abort of the auto-close of demo-2 sent");
    tp.results[tp.n_results++] = (command_result){
        .kind = CMD_GUARD_ABORT, .status = CMD_REFUSED, .message = "role viewer may not abort"};
    console_ui_take_results(ui, NOW_MS + SEC_MS);
    console_ui_render(ui, NOW_MS + SEC_MS);
    status_has("refused: role viewer may not abort");
    cr_expect_eq(color_at("refused:"), theme_attr(ROLE_BAD) & A_COLOR);
    stop(ui);
}

Test(ui_alerts, abort_without_a_countdown_says_so_instead_of_asking)
{
    console_ui *ui = start_alerts(false, base());
    select_text(ui, "broker link down"); /* demo-3: blind */
    keys(ui, "x");
    hint_has("Abort auto-close", false);
    status_has("demo-3 has no auto-close counting down (guard blind)");
    /* An alert about no account has no guard to abort. */
    select_text(ui, "notifier queue");
    keys(ui, "x");
    hint_has("Abort auto-close", false);
    status_has("not about one account");
    cr_expect_eq(tp.n_sent, 0u);
    stop(ui);
}

Test(ui_alerts, close_all_needs_the_exact_account_id)
{
    console_ui *ui = start_alerts(false, base());
    select_text(ui, "auto-close counting down");
    keys(ui, "C");
    hint_has("Type demo-2 to close all 3 positions now:", true);
    keys(ui, "demo-3\r");
    cr_expect_eq(tp.n_sent, 0u, "a wrong id confirmed a close-all");
    status_has("close-all of demo-2 cancelled");
    keys(ui, "CDEMO-2\r");
    cr_expect_eq(tp.n_sent, 0u, "the id in other case confirmed");
    keys(ui, "C demo-2\r");
    cr_expect_eq(tp.n_sent, 0u, "the id with a space confirmed");
    keys(ui, "C\r");
    cr_expect_eq(tp.n_sent, 0u, "an empty answer confirmed");
    keys(ui, "Cdemo-2\x1b");
    cr_expect_eq(tp.n_sent, 0u, "Esc confirmed");
    keys(ui, "Cdemo-2");
    console_ui_set_snapshot(ui, reshuffled_alerts(21), NOW_MS + SEC_MS);
    keys_at(ui, "\r", NOW_MS + SEC_MS);
    cr_assert_eq(tp.n_sent, 1);
    cr_expect_eq(tp.sent[0].kind, CMD_GUARD_CLOSE_ALL);
    cr_expect_str_eq(tp.sent[0].account, "demo-2");
    status_has("close-all of demo-2 sent");
    stop(ui);
}

Test(ui_alerts, close_all_of_an_account_without_positions_says_so)
{
    console_ui *ui = start_alerts(false, base());
    select_text(ui, "broker link down"); /* demo-3 holds nothing */
    keys(ui, "C");
    hint_has("Type demo-3", false);
    status_has("demo-3 has no open positions");
    cr_expect_eq(tp.n_sent, 0u);
    stop(ui);
}

Test(ui_alerts, the_guard_pane_selects_the_account_for_rearm_and_close_all)
{
    console_ui *ui = start_alerts(false, base());
    keys(ui, "\t");
    int yg = line_of("warning 1");
    cr_assert_geq(yg, 0);
    cr_expect(selected_at(yg, 2), "Tab did not focus the guards");
    /* Guards by account: demo-1, demo-2, demo-3, demo-4. */
    keys(ui, "G");
    keys(ui, "R");
    hint_has("Type demo-4 to re-arm its guard:", true);
    keys(ui, "demo-4\r");
    cr_assert_eq(tp.n_sent, 1);
    cr_expect_eq(tp.sent[0].kind, CMD_GUARD_REARM);
    cr_expect_str_eq(tp.sent[0].account, "demo-4");
    /* A guard that is not tripped has nothing to re-arm. */
    keys(ui, "g");
    keys(ui, "R");
    hint_has("re-arm its guard", false);
    status_has("demo-1's guard is warning: only a closed, aborted or breached");
    /* Enter on a guard opens its detail, with the account's alerts. */
    keys(ui, "j\r");
    cr_expect(screen_has("Guard of demo-2"));
    cr_expect(screen_has("#21"));
    keys(ui, "x");
    hint_has("Abort auto-close of demo-2", true);
    keys(ui, "\x1b\x1b");
    /* Tab again leaves for the next screen; S-Tab comes back to the alerts. */
    keys(ui, "\t");
    cr_expect(screen_has("showing") && screen_has("state: open"), "Recon after the guards");
    stop(ui);
}

Test(ui_alerts, without_an_engine_commands_say_so)
{
    console_ui *ui = start_at(30, 120, false, false, true, false, base());
    keys(ui, "2");
    select_text(ui, "broker link down");
    keys(ui, "a");
    hint_has("acknowledge #", false);
    status_has("no engine: cannot acknowledge");
    stop(ui);
}

Test(ui_alerts, readonly_offers_no_dangerous_action_anywhere)
{
    console_ui *ui = start_at(40, 140, true, true, true, false, base());
    keys(ui, "2");
    const char *names[] = {"ack", "abort", "close all", "re-arm"};
    for (size_t i = 0; i < 4; i++)
        hint_has(names[i], false);
    hint_has("history", true);
    cr_expect_not(screen_has("x abort"), "the banner offers abort");
    cr_expect(screen_has("AUTO-CLOSE IN 7s"));
    select_text(ui, "auto-close counting down");
    keys(ui, "a");
    keys(ui, "x");
    keys(ui, "C");
    keys(ui, "R");
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect_not(strstr(h, "acknowledge #") || strstr(h, "Abort") || strstr(h, "Type "),
                  "a prompt opened: %s", h);
    keys(ui, "demo-2\r\x1b");
    cr_expect_eq(tp.n_sent, 0u);
    keys(ui, "?");
    cr_expect(screen_has("Help: Alerts"));
    cr_expect(screen_has("Show resolved alerts too"));
    cr_expect_not(screen_has("Acknowledge the selected alert"));
    cr_expect_not(screen_has("Abort the auto-close"));
    cr_expect_not(screen_has("Close every position"));
    cr_expect_not(screen_has("Re-arm"));
    stop(ui);
    /* Not read-only: all four are there, marked dangerous. */
    ui = start_at(40, 140, false, true, true, false, base());
    keys(ui, "2?");
    const char *helps[] = {"Acknowledge the selected alert", "Abort the auto-close",
                           "Close every position", "Re-arm the selected"};
    for (size_t i = 0; i < 4; i++) {
        int y = line_of(helps[i]);
        cr_assert_geq(y, 0, "help lacks \"%s\"", helps[i]);
        char buf[LINE_MAX_BYTES];
        line(y, buf, sizeof buf);
        cr_expect(strstr(buf, "[dangerous]"), "help line: %s", buf);
    }
    stop(ui);
}

Test(ui_alerts, fits_80x24_with_many_guards_and_every_size_draws)
{
    guard_spec_t many[12];
    char names[12][24];
    for (int i = 0; i < 12; i++) {
        snprintf(names[i], sizeof names[i], "acct-%02d", i % 100);
        many[i] = (guard_spec_t){names[i], i == 5 ? "countdown" : "warning", "why", 0.7,
                                 i == 5 ? COUNTDOWN_LEFT_MS : 0};
    }
    console_ui *ui =
        start_at(24, 80, false, true, true, false, snap_alerts(base_alerts, N_ALERTS, many, 12));
    keys(ui, "2");
    cr_expect(screen_has("AUTO-CLOSE IN 7s: acct-05"));
    /* The guard panel takes at most a third: the alerts still show. */
    cr_expect(screen_has("demo-2 breached") && screen_has("broker link"));
    cr_expect_leq(line_of("acct-03"), 24 / 3 + 1);
    cr_expect_lt(line_of("acct-08"), 0, "the guard panel grew past a third");
    /* It scrolls when focused. */
    keys(ui, "\tG");
    cr_expect(screen_has("acct-11"));
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect_leq((int)strlen(h), 80);
    const char *modes[] = {"", "\r", "x", "C"};
    for (size_t m = 0; m < 4; m++) {
        resize_term(24, 80);
        console_ui_invalidate(ui, REACT_FULL);
        keys(ui, "\x1b\x1b");
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
    cr_expect(screen_has("AUTO-CLOSE IN 7s"));
    stop(ui);
}
