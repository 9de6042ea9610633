/*
 * test_ui_sync.c - the Sync screen drawn into a null terminal and read back
 * (suite "ui_sync"): the tab badge and the queue's figures, actions offered
 * only where a job's state allows them, confirmations that default to
 * Cancel and keep the target captured at the key press, tagged jobs, a
 * bulk action on every matching job with its count, filters sent to the
 * engine as requests (and "loading" until answered), the error analysis
 * picking a class, the detail view with every attempt, hostile strings,
 * 80x24, and read-only mode.
 *
 * The model is a real one (model_new): the screen's requests are read back
 * with model_sync_wanted_job, and answers are hand-built sets carrying the
 * request's number, as the sync view thread would publish them.
 */
#include "ui_recon_fixture.h"

#include <inttypes.h>

#include "screen.h"

#define SEC_MS 1000LL
#define EVIL_ERROR "Access denied\x1b[2J\x1b]0;pwned\x07"

typedef struct job_spec {
    int64_t id;
    enum sync_provider provider;
    enum sync_state state;
    const char *account, *symbol;
    int attempt;
    enum sync_error_class cls;
    long status;
    const char *error;
    bool breached;
} job_spec;

static const job_spec base_jobs[] = {
    {31, SYNC_TRADERVUE, SYNC_RETRYABLE, "demo-1", "EURUSD", 2, SYNC_ERR_SERVER, 503, "maintenance",
     true},
    {30, SYNC_WEBHOOK, SYNC_DEAD, "demo-2", "GBPUSD", 1, SYNC_ERR_AUTH, 401, EVIL_ERROR, false},
    {29, SYNC_CSV, SYNC_RUNNING, "demo-3", "NZDUSD", 1, SYNC_ERR_NONE, 0, "", false},
    {28, SYNC_TRADERVUE, SYNC_COMPLETED, "demo-1", "AUDUSD", 1, SYNC_ERR_NONE, 0, "", false},
    {27, SYNC_WEBHOOK, SYNC_AVAILABLE, "demo-2", "USDCAD", 0, SYNC_ERR_NONE, 0, "", false},
    {26, SYNC_CSV, SYNC_CANCELLED, "demo-3", "USDCHF", 0, SYNC_ERR_NONE, 0, "", false},
    {25, SYNC_TRADERVUE, SYNC_DEAD, "demo-1", "XAUUSD", 15, SYNC_ERR_AUTH, 401, "bad key", false},
};
#define N_JOBS (sizeof base_jobs / sizeof base_jobs[0])

static model *the_model;

static void fill_job(sync_row *r, const job_spec *j)
{
    memset(r, 0, sizeof *r);
    r->id = j->id;
    r->provider = j->provider;
    r->state = j->state;
    r->attempt = j->attempt;
    r->max_attempts = 15;
    snprintf(r->account, sizeof r->account, "%s", j->account);
    r->trade_id = j->id + 500;
    snprintf(r->position, sizeof r->position, "%" PRId64, j->id + 9000);
    snprintf(r->symbol, sizeof r->symbol, "%s", j->symbol);
    r->closed_ms = NOW_MS - 5 * MIN_MS;
    r->created_ms = r->closed_ms + SEC_MS;
    r->scheduled_ms = NOW_MS + 8 * SEC_MS;
    r->attempted_ms = j->attempt ? NOW_MS - 30 * SEC_MS : 0;
    r->breached = j->breached;
    r->last_class = j->cls;
    r->last_status = j->status;
    snprintf(r->last_error, sizeof r->last_error, "%s", j->error);
    if (sync_state_final(j->state))
        r->finalized_ms = NOW_MS - MIN_MS;
    if (j->state == SYNC_COMPLETED)
        r->completed_ms = r->closed_ms + 4200;
    snprintf(r->attempted_by, sizeof r->attempted_by, "host-a/boot/w1");
}

/* A set of the given jobs answering request req, with counts from them. */
static sync_set *make_set(const job_spec *jobs, size_t n, uint64_t req)
{
    sync_set *s = sync_set_new(n, 2);
    cr_assert_not_null(s);
    for (size_t i = 0; i < n; i++) {
        fill_job(&s->rows[i], &jobs[i]);
        s->by_state[jobs[i].state]++;
        s->match_by_state[jobs[i].state]++;
        s->breached_live += jobs[i].breached && !sync_state_final(jobs[i].state);
    }
    s->n_matching = (int64_t)n;
    s->breached_24h = 3;
    s->success_rate = 0.75;
    s->latency = (latency_summary){.p50 = 4200, .p95 = 38000, .p99 = 61000, .count = 4};
    s->providers[SYNC_TRADERVUE] =
        (sync_provider_health){.live = 1, .dead = 1, .ok_1h = 12, .failed_1h = 1,
                               .last_ok_ms = NOW_MS - 3 * SEC_MS, .last_fail_ms = NOW_MS - MIN_MS,
                               .configured = true};
    s->providers[SYNC_WEBHOOK] =
        (sync_provider_health){.live = 1, .dead = 1, .failed_1h = 4,
                               .last_ok_ms = NOW_MS - 3600 * SEC_MS,
                               .last_fail_ms = NOW_MS - 2 * SEC_MS, .configured = true};
    snprintf(s->providers[SYNC_WEBHOOK].last_error, sizeof s->providers[0].last_error, "%s",
             EVIL_ERROR);
    s->groups[0] = (sync_class_group){.cls = SYNC_ERR_AUTH, .count = 2, .sample_id = 30,
                                      .sample_status = 401};
    snprintf(s->groups[0].sample, sizeof s->groups[0].sample, "%s", EVIL_ERROR);
    s->groups[1] = (sync_class_group){.cls = SYNC_ERR_SERVER, .count = 1, .sample_id = 31,
                                      .sample_status = 503};
    snprintf(s->groups[1].sample, sizeof s->groups[1].sample, "maintenance");
    s->request = req;
    s->loaded_ms = NOW_MS - 200;
    return s;
}

static model_snapshot *snap_of(sync_set *set)
{
    model_snapshot *s = snapshot_with(NULL, 0);
    s->sync = set;
    return s;
}

static model_snapshot *base(void)
{
    return snap_of(make_set(base_jobs, N_JOBS, 0));
}

static console_ui *start_sync(int lines, int cols, bool readonly, model_snapshot *snap)
{
    console_ui *ui = start_at(lines, cols, readonly, true, true, false, snap);
    the_model = model_new();
    cr_assert_not_null(the_model);
    console_ui_set_model(ui, the_model);
    keys(ui, "4");
    return ui;
}

static void stop_sync(console_ui *ui)
{
    stop(ui);
    model_free(the_model);
    the_model = NULL;
}

static void show(console_ui *ui, model_snapshot *snap)
{
    console_ui_set_snapshot(ui, snap, NOW_MS);
    console_ui_render(ui, NOW_MS);
}

static void select_text(console_ui *ui, const char *needle)
{
    keys(ui, "g");
    for (int i = 0; i < 40; i++) {
        char buf[LINE_MAX_BYTES];
        int y = line_of(needle);
        if (y < 0)
            dump();
        cr_assert_geq(y, 0, "\"%s\" not on screen", needle);
        line(y, buf, sizeof buf);
        int x = (int)(strstr(buf, needle) - buf);
        if (selected_at(y, x))
            return;
        keys(ui, "j");
    }
    dump();
    cr_assert_fail("could not select \"%s\"", needle);
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

static void status_has(const char *needle)
{
    char st[LINE_MAX_BYTES];
    status(st, sizeof st);
    cr_expect(strstr(st, needle), "status line lacks \"%s\": %s", needle, st);
}

/* ---- the header and the table ------------------------------------------ */

Test(ui_sync, tabs_badge_counts_rates_and_journal_health)
{
    console_ui *ui = start_sync(30, 140, false, base());
    char top[LINE_MAX_BYTES];
    line(0, top, sizeof top);
    cr_expect(strstr(top, "3 Recon") && strstr(top, "4 Sync(3!)") && strstr(top, "6 Audit") &&
                  !strstr(top, "5 Audit"),
              "tabs: %s", top);
    cr_expect_eq(color_at("(3!)"), theme_attr(ROLE_BAD) & A_COLOR);
    cr_expect(screen_has("Jobs: 1 retryable"), "failures first");
    cr_expect(screen_has("2 dead") && screen_has("1 running") && screen_has("1 available") &&
              screen_has("1 completed") && screen_has("1 cancelled"));
    cr_expect(screen_has("success 75.0% (24h)"));
    cr_expect(screen_has("p50 4.2s p95 38.0s"));
    cr_expect(screen_has("SLA breaches: 1 live, 3 in 24h"));
    int ytv = line_of("tradervue ok"), ywh = line_of("webhook   FAILING");
    cr_expect(ytv > 0 && ywh > 0, "one line per journal");
    char buf[LINE_MAX_BYTES];
    line(ywh, buf, sizeof buf);
    cr_expect(strstr(buf, "last failure 2.0s ago: Access denied"), "webhook: %s", buf);
    cr_expect(screen_has("filter: all") && screen_has("7 matching"));
    /* The table: newest first, the state a word, late ones marked. */
    int y31 = line_of("EURUSD"), y25 = line_of("XAUUSD");
    cr_assert(y31 > 0 && y25 > y31, "newest first");
    line(y31, buf, sizeof buf);
    cr_expect(strstr(buf, "31") && strstr(buf, "retryable!") && strstr(buf, "tradervue") &&
                  strstr(buf, "demo-1") && strstr(buf, "2/15") && strstr(buf, "5m00s") &&
                  strstr(buf, "server 503: maintenance"),
              "row 31: %s", buf);
    keys(ui, "j"); /* off the row: the cursor's colour is the selection's */
    cr_expect_eq(color_at("retryable!"), theme_attr(ROLE_BAD) & A_COLOR);
    line(y25, buf, sizeof buf);
    cr_expect(strstr(buf, "dead") && strstr(buf, "15/15"), "row 25: %s", buf);
    /* No failure and nothing late: no badge. */
    job_spec calm[] = {base_jobs[3], base_jobs[4]};
    show(ui, snap_of(make_set(calm, 2, 0)));
    line(0, top, sizeof top);
    cr_expect(strstr(top, "4 Sync") && !strstr(top, "Sync("), "tabs: %s", top);
    stop_sync(ui);
}

Test(ui_sync, hostile_strings_never_reach_the_terminal)
{
    console_ui *ui = start_sync(30, 160, false, base());
    cr_expect(screen_has("Access denied"));
    cr_expect_not(screen_has_control(), "a control character reached the screen");
    keys(ui, "e");
    cr_expect(screen_has("Error analysis"));
    cr_expect_not(screen_has_control());
    stop_sync(ui);
}

Test(ui_sync, fits_80x24_with_the_table_still_useful)
{
    job_spec many[40];
    for (size_t i = 0; i < 40; i++) {
        many[i] = base_jobs[i % N_JOBS];
        many[i].id = 200 - (int64_t)i;
    }
    console_ui *ui = start_sync(24, 80, false, snap_of(make_set(many, 40, 0)));
    cr_expect(screen_has("Jobs: 1") || screen_has("Jobs: 6"), "counts line");
    cr_expect(screen_has("success"));
    cr_expect(screen_has("tradervue") && screen_has("FAILING"));
    int yh = line_of("State");
    cr_assert_gt(yh, 0, "table header");
    int rows = 0;
    for (int y = yh + 1; y < LINES - 2; y++) {
        char buf[LINE_MAX_BYTES];
        line(y, buf, sizeof buf);
        if (strstr(buf, "demo-"))
            rows++;
    }
    cr_expect_geq(rows, 12, "only %d job rows at 80x24", rows);
    char h[LINE_MAX_BYTES];
    hint(h, sizeof h);
    cr_expect(strstr(h, "? help") && strstr(h, "q quit"), "hint: %s", h);
    /* Capped: the footer says how many match and what to do. */
    sync_set *set = make_set(many, 40, 0);
    set->n_matching = 123456;
    show(ui, snap_of(set));
    cr_expect(screen_has("showing 40 of 123456 matching: narrow the filter"));
    stop_sync(ui);
}

/* ---- actions by state ---------------------------------------------------- */

Test(ui_sync, actions_exist_only_where_the_state_allows_them)
{
    console_ui *ui = start_sync(30, 200, false, base());
    select_text(ui, "NZDUSD"); /* running: nothing */
    hint_has("r retry", false);
    hint_has("c cancel", false);
    hint_has("R reset", false);
    hint_has("D delete", false);
    keys(ui, "r");
    hint_has("[y/N]", false);
    select_text(ui, "GBPUSD"); /* dead: retry, reset, delete */
    hint_has("r retry", true);
    hint_has("c cancel", false);
    hint_has("R reset", true);
    hint_has("D delete", true);
    select_text(ui, "USDCAD"); /* available: cancel, reset */
    hint_has("r retry", false);
    hint_has("c cancel", true);
    hint_has("R reset", true);
    hint_has("D delete", false);
    select_text(ui, "AUDUSD"); /* completed: retry, reset, delete */
    hint_has("r retry", true);
    hint_has("c cancel", false);
    hint_has("D delete", true);
    cr_expect_eq(tp.n_sent, 0u);
    stop_sync(ui);
}

Test(ui_sync, a_confirmation_defaults_to_cancel_and_keeps_its_target)
{
    console_ui *ui = start_sync(30, 160, false, base());
    select_text(ui, "GBPUSD");
    keys(ui, "r");
    hint_has("Retry job #30 (dead webhook demo-2 GBPUSD)? [y/N]", true);
    keys(ui, "\r"); /* Enter alone: Cancel */
    cr_expect_eq(tp.n_sent, 0u);
    status_has("retry cancelled; nothing was sent");
    keys(ui, "rn\r");
    cr_expect_eq(tp.n_sent, 0u, "n is not yes");
    /* The list changes while the operator reads: the job asked about goes. */
    keys(ui, "D");
    hint_has("Delete job #30", true);
    job_spec moved[N_JOBS];
    size_t n = 0;
    moved[n++] = (job_spec){40, SYNC_CSV, SYNC_DEAD, "demo-3", "EURJPY", 1, SYNC_ERR_IO, 0, "disk",
                            false};
    for (size_t i = 0; i < N_JOBS; i++)
        if (base_jobs[i].id != 30)
            moved[n++] = base_jobs[i];
    show(ui, snap_of(make_set(moved, n, 0)));
    cr_expect_eq(line_of("GBPUSD"), LINES - 1, "job 30 is still listed (not only in the prompt)");
    keys(ui, "y\r");
    cr_assert_eq(tp.n_sent, 1u);
    cr_expect_eq(tp.sent[0].kind, CMD_SYNC_DELETE);
    cr_expect_eq(tp.sent[0].target_id, 30, "the job asked about, not the one under the cursor");
    cr_expect_str_empty(tp.sent[0].filter);
    status_has("delete of #30 sent");
    /* The engine's refusal shows on the status line. */
    tp.results[0] = (command_result){.seq = tp.sent[0].seq, .kind = CMD_SYNC_DELETE,
                                     .target_id = 30, .status = CMD_INVALID};
    snprintf(tp.results[0].message, sizeof tp.results[0].message,
             "job 30 is running: it cannot be deleted");
    tp.n_results = 1;
    console_ui_take_results(ui, NOW_MS);
    console_ui_render(ui, NOW_MS);
    status_has("job 30 is running: it cannot be deleted");
    stop_sync(ui);
}

Test(ui_sync, tagged_jobs_are_confirmed_by_count_and_ids_and_sent_one_by_one)
{
    console_ui *ui = start_sync(30, 160, false, base());
    keys(ui, "g   "); /* tags 31, 30, 29 */
    cr_expect(screen_has("3 tagged"));
    keys(ui, "r");
    hint_has("Retry 2 tagged jobs of 3 (1 not in a state for it): #31 #30? [y/N]", true);
    keys(ui, "y\r");
    cr_assert_eq(tp.n_sent, 2u);
    cr_expect_eq(tp.sent[0].kind, CMD_SYNC_RETRY);
    cr_expect_eq(tp.sent[0].target_id, 31);
    cr_expect_eq(tp.sent[1].target_id, 30);
    cr_expect_neq(tp.sent[0].seq, tp.sent[1].seq);
    /* Cancel applies to none of them: no key, no prompt. */
    hint_has("c cancel", true); /* 31 is retryable: it can be cancelled */
    keys(ui, "c");
    hint_has("Cancel 1 tagged job of 3", true);
    keys(ui, "\x1b");
    cr_expect_eq(tp.n_sent, 2u);
    stop_sync(ui);
}

/* ---- filters, bulk, error analysis, detail ------------------------------ */

/* Empties the prompt's initial text (it holds the current filter). */
static void clear_prompt(console_ui *ui)
{
    for (int i = 0; i < SYNC_FILTER_TEXT; i++)
        console_ui_key(ui, true, KEY_BACKSPACE, NOW_MS);
}

static uint64_t wanted(sync_filter *f, int64_t *job)
{
    int64_t j = 0;
    uint64_t n = model_sync_wanted_job(the_model, f, job ? job : &j);
    return n;
}

Test(ui_sync, a_filter_change_is_a_request_and_loads_until_answered)
{
    console_ui *ui = start_sync(30, 160, false, base());
    keys(ui, "o"); /* all -> failed */
    sync_filter f;
    uint64_t req = wanted(&f, NULL);
    cr_assert_gt(req, 0u, "no request sent");
    cr_expect(f.states == ((1u << SYNC_RETRYABLE) | (1u << SYNC_DEAD)));
    cr_expect(screen_has("filter: state=failed"));
    cr_expect(screen_has("loading"));
    cr_expect_not(screen_has("EURUSD"), "rows of the old filter are shown");
    /* An answer to an older request does not end the loading. */
    show(ui, base());
    cr_expect(screen_has("loading"));
    job_spec failed[] = {base_jobs[0], base_jobs[1], base_jobs[6]};
    show(ui, snap_of(make_set(failed, 3, req)));
    cr_expect_not(screen_has("loading"));
    cr_expect(screen_has("EURUSD") && screen_has("GBPUSD") && screen_has("3 matching"));
    /* P: the next journal; / with key=value words; plain words search. */
    keys(ui, "P");
    wanted(&f, NULL);
    cr_expect_eq(f.provider, SYNC_TRADERVUE);
    keys(ui, "/");
    clear_prompt(ui);
    keys(ui, "state=dead account=demo-2\r");
    wanted(&f, NULL);
    cr_expect(f.states == 1u << SYNC_DEAD && strcmp(f.account, "demo-2") == 0 && f.provider < 0,
              "filter from /");
    keys(ui, "/");
    clear_prompt(ui);
    keys(ui, "gbp\r");
    wanted(&f, NULL);
    cr_expect_str_eq(f.text, "gbp");
    cr_expect(f.states == 1u << SYNC_DEAD, "plain words keep the other filters");
    uint64_t before = wanted(&f, NULL);
    keys(ui, "/");
    clear_prompt(ui);
    keys(ui, "state=bogus\r");
    cr_expect_eq(wanted(&f, NULL), before, "a bad filter was sent");
    status_has("unknown state");
    keys(ui, "A");
    clear_prompt(ui);
    keys(ui, "demo-3\r");
    wanted(&f, NULL);
    cr_expect_str_eq(f.account, "demo-3");
    keys(ui, "K");
    wanted(&f, NULL);
    cr_expect_eq(f.error_class, SYNC_ERR_NETWORK);
    stop_sync(ui);
}

Test(ui_sync, bulk_confirms_the_filter_and_the_count_it_applies_to)
{
    console_ui *ui = start_sync(30, 160, false, base());
    keys(ui, "o");
    sync_filter f;
    uint64_t req = wanted(&f, NULL);
    sync_set *set = make_set(base_jobs, 2, req);
    set->filter = f;
    memset(set->match_by_state, 0, sizeof set->match_by_state);
    set->match_by_state[SYNC_DEAD] = 1000;
    set->match_by_state[SYNC_RETRYABLE] = 234;
    set->n_matching = 1234;
    show(ui, snap_of(set));
    cr_expect(screen_has("showing 2 of 1234 matching"));
    keys(ui, "b");
    cr_expect(screen_has("BULK"));
    keys(ui, "c"); /* cancel applies to the retryable ones only */
    hint_has("Cancel ALL 234 jobs matching state=failed (of 1234 matching)? [y/N]", true);
    keys(ui, "\r");
    cr_expect_eq(tp.n_sent, 0u);
    cr_expect_not(screen_has("BULK"), "b arms one action only");
    keys(ui, "br");
    hint_has("Retry ALL 1234 jobs matching state=failed? [y/N]", true);
    keys(ui, "yes\r");
    cr_assert_eq(tp.n_sent, 1u);
    cr_expect_eq(tp.sent[0].kind, CMD_SYNC_RETRY);
    cr_expect_eq(tp.sent[0].target_id, 0);
    cr_expect_str_eq(tp.sent[0].filter, "state=failed");
    status_has("retry of 1234 jobs matching state=failed sent");
    /* Everything: the filter text says so. */
    keys(ui, "ooooooo"); /* failed -> each of the six states -> all */
    wanted(&f, NULL);
    cr_assert(sync_filter_empty(&f), "the cycle ends on all");
    req = wanted(&f, NULL);
    show(ui, snap_of(make_set(base_jobs, N_JOBS, req)));
    keys(ui, "bD");
    hint_has("Delete ALL 4 jobs matching all (of 7 matching)? [y/N]", true);
    keys(ui, "y\r");
    cr_assert_eq(tp.n_sent, 2u);
    cr_expect_str_eq(tp.sent[1].filter, "all");
    cr_expect_eq(tp.sent[1].kind, CMD_SYNC_DELETE);
    stop_sync(ui);
}

Test(ui_sync, error_analysis_groups_by_class_and_enter_filters_to_it)
{
    console_ui *ui = start_sync(30, 160, false, base());
    keys(ui, "e");
    cr_expect(screen_has("Error analysis: 3 failed jobs by error class"));
    int ya = line_of("#30"), ys = line_of("#31");
    cr_assert(ya > 0 && ys > ya, "most frequent first");
    char buf[LINE_MAX_BYTES];
    line(ya, buf, sizeof buf);
    cr_expect(strstr(buf, "2") && strstr(buf, "#30") && strstr(buf, "401") &&
                  strstr(buf, "Access denied"),
              "auth group: %s", buf);
    hint_has("Enter pick", true);
    keys(ui, "\r");
    sync_filter f;
    uint64_t req = wanted(&f, NULL);
    cr_expect(f.states == ((1u << SYNC_RETRYABLE) | (1u << SYNC_DEAD)) &&
                  f.error_class == SYNC_ERR_AUTH,
              "Enter on auth asks for the failed auth jobs");
    cr_expect(screen_has("filter: state=failed class=auth"), "back in the table");
    job_spec auth[] = {base_jobs[1], base_jobs[6]};
    show(ui, snap_of(make_set(auth, 2, req)));
    cr_expect(screen_has("GBPUSD") && screen_has("XAUUSD") && !screen_has("EURUSD"));
    /* Esc leaves the analysis without changing anything. */
    keys(ui, "e\x1b");
    cr_expect_eq(wanted(&f, NULL), req);
    cr_expect(screen_has("filter: state=failed class=auth"));
    stop_sync(ui);
}

Test(ui_sync, detail_shows_every_attempt_archived_ones_too)
{
    console_ui *ui = start_sync(40, 160, false, base());
    select_text(ui, "EURUSD");
    keys(ui, "\r");
    sync_filter f;
    int64_t job = 0;
    uint64_t req = wanted(&f, &job);
    cr_expect_eq(job, 31, "the detail asks for job 31's attempts");
    cr_expect(screen_has("Sync job #31"));
    cr_expect(screen_has("loading every attempt"));
    sync_set *set = make_set(base_jobs, N_JOBS, req);
    sync_detail *d = sync_detail_new(3);
    cr_assert_not_null(d);
    fill_job(&d->job, &base_jobs[0]);
    snprintf(d->side, sizeof d->side, "SELL");
    d->volume = 1.5;
    d->close_price = 1.07123;
    d->profit = -12.5;
    d->n_resets = 1;
    snprintf(d->result, sizeof d->result, "{\"status\":\"queued\"}");
    sync_attempt_view *a = d->attempts;
    a[0] = (sync_attempt_view){.n = 1, .at_ms = NOW_MS - 4 * MIN_MS, .duration_ms = 30000,
                               .cls = SYNC_ERR_TIMEOUT, .reset = 1,
                               .reset_ms = NOW_MS - 3 * MIN_MS};
    snprintf(a[0].class_name, sizeof a[0].class_name, "timeout");
    snprintf(a[0].message, sizeof a[0].message, "no reply in 30s");
    a[1] = (sync_attempt_view){.n = 1, .at_ms = NOW_MS - 2 * MIN_MS, .duration_ms = 80,
                               .status = 503, .cls = SYNC_ERR_SERVER};
    snprintf(a[1].class_name, sizeof a[1].class_name, "server");
    snprintf(a[1].message, sizeof a[1].message, "maintenance\x1b[5m");
    a[2] = (sync_attempt_view){.n = 2, .at_ms = NOW_MS - 30 * SEC_MS, .duration_ms = 90,
                               .status = 503, .cls = SYNC_ERR_SERVER};
    snprintf(a[2].class_name, sizeof a[2].class_name, "server");
    snprintf(a[2].message, sizeof a[2].message, "maintenance");
    set->detail = d;
    set->detail_id = 31;
    show(ui, snap_of(set));
    cr_expect_not(screen_has("loading every attempt"));
    cr_expect(screen_has("retryable!"));
    cr_expect(screen_has("position 9031 EURUSD SELL 1.50 lots"));
    cr_expect(screen_has("2 of 15 counted, 0 manual retries"));
    cr_expect(screen_has("missed: flagged past the 2-minute promise"));
    cr_expect(screen_has("{\"status\":\"queued\"}"), "the journal's answer");
    int yb = line_of("before reset 1"), yt = line_of("no reply in 30s"),
        yl = line_of("since the last reset");
    cr_expect(yb > 0 && yt > yb && yl > yt, "archived attempts first, under their reset");
    cr_expect(screen_has("timeout") && screen_has("30.0s"));
    int y503 = line_of("80ms");
    cr_assert_gt(y503, yl);
    char buf[LINE_MAX_BYTES];
    line(y503, buf, sizeof buf);
    cr_expect(strstr(buf, "#1") && strstr(buf, "server") && strstr(buf, "maintenance"),
              "attempt: %s", buf);
    cr_expect_not(screen_has_control());
    /* Actions act on the job shown: retry is offered (retryable). */
    hint_has("r retry", true);
    keys(ui, "r");
    hint_has("Retry job #31", true);
    keys(ui, "y\r");
    cr_assert_eq(tp.n_sent, 1u);
    cr_expect_eq(tp.sent[0].target_id, 31);
    /* Esc: back to the table, and the detail is no longer asked for. */
    keys(ui, "\x1b");
    cr_expect_not(screen_has("Sync job #31"));
    cr_expect(screen_has("filter: all"));
    wanted(&f, &job);
    cr_expect_eq(job, 0);
    stop_sync(ui);
}

/* ---- read-only ------------------------------------------------------------ */

Test(ui_sync, readonly_offers_no_job_action_anywhere)
{
    console_ui *ui = start_sync(40, 200, true, base());
    select_text(ui, "GBPUSD");
    const char *names[] = {"r retry", "c cancel", "R reset", "D delete", "b bulk"};
    for (size_t i = 0; i < 5; i++)
        hint_has(names[i], false);
    hint_has("e errors", true);
    keys(ui, "r");
    keys(ui, "D");
    keys(ui, "b");
    hint_has("[y/N]", false);
    cr_expect_not(screen_has("BULK"));
    keys(ui, "y\r\x1b");
    cr_expect_eq(tp.n_sent, 0u);
    keys(ui, "?");
    cr_expect(screen_has("Help: Sync"));
    cr_expect(screen_has("Error analysis"));
    cr_expect_not(screen_has("Retry the selected"));
    cr_expect_not(screen_has("Cancel the selected"));
    cr_expect_not(screen_has("Delete the selected"));
    cr_expect_not(screen_has("every job the filter matches"));
    stop_sync(ui);
    /* Not read-only: they are there, marked dangerous. */
    ui = start_sync(40, 200, false, base());
    select_text(ui, "GBPUSD");
    keys(ui, "?");
    const char *helps[] = {"Retry the selected", "Reset the selected", "Delete the selected",
                           "every job the filter matches"};
    for (size_t i = 0; i < 4; i++) {
        int y = line_of(helps[i]);
        cr_assert_geq(y, 0, "help lacks \"%s\"", helps[i]);
        char buf[LINE_MAX_BYTES];
        line(y, buf, sizeof buf);
        cr_expect(strstr(buf, "[dangerous]"), "help line: %s", buf);
    }
    stop_sync(ui);
}
