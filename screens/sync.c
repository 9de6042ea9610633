/*
 * sync.c - the Sync screen: the journal sync queue at a glance (counts by
 * state, success rate, close-to-synced latency, SLA breaches, provider
 * health), the job table, filters (state, provider, account, error class,
 * text; sync_filter.c), the error analysis, a detail view with every
 * attempt, and the operator's actions on jobs (sync_cmd.c).
 *
 * The jobs are filtered by the sync view thread in PostgreSQL, not here:
 * every filter change is a model_sync_request, and the table stays
 * "loading" until a set answering that request arrives, so what is shown
 * always matches what the header says is filtered, and bulk counts cover
 * every matching job, not only the loaded ones. The table reads the set in
 * place; its order (newest job first) only changes on new data or a sort
 * key, and the cursor follows its job by id, so nothing re-sorts under the
 * operator while they move.
 *
 * Threads: UI thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "draw.h"
#include "fmt.h"
#include "sync_int.h"
#include "theme.h"

/* The last error is what a person reads first: it keeps 24 columns (at
 * 80 the position goes first), and the other columns stop growing early so
 * it gets the room a wide terminal has. */
static const table_column job_cols[SC_NCOLS] = {
    [SC_ID] = {"#", 5, 7, TABLE_RIGHT, 0, true, false},
    [SC_STATE] = {"State", 10, 10, TABLE_LEFT, 0, false, false},
    [SC_PROVIDER] = {"Journal", 9, 9, TABLE_LEFT, 1, false, false},
    [SC_ACCOUNT] = {"Account", 7, 10, TABLE_LEFT, 0, false, false},
    [SC_POSITION] = {"Position", 8, 12, TABLE_LEFT, 3, false, false},
    [SC_SYMBOL] = {"Symbol", 6, 10, TABLE_LEFT, 2, false, false},
    [SC_ATTEMPT] = {"Try", 5, 5, TABLE_RIGHT, 0, true, false},
    [SC_AGE] = {"Age", 6, 6, TABLE_RIGHT, 0, true, false},
    [SC_ERROR] = {"Last error", 24, 200, TABLE_LEFT, 0, false, false},
};

static const table_column group_cols[SG_NCOLS] = {
    [SG_CLASS] = {"Class", 12, 12, TABLE_LEFT, 0, false, false},
    [SG_COUNT] = {"Jobs", 7, 9, TABLE_RIGHT, 0, true, false},
    [SG_SAMPLE_ID] = {"Newest", 7, 9, TABLE_RIGHT, 1, true, false},
    [SG_STATUS] = {"HTTP", 4, 4, TABLE_RIGHT, 2, true, false},
    [SG_SAMPLE] = {"Its last error", 12, 200, TABLE_LEFT, 0, false, false},
};

#define MOVE_VERBS VERB_MOVE_BITS
#define ACTION_VERBS                                                                               \
    (VERB_BIT(VERB_RETRY) | VERB_BIT(VERB_CANCEL) | VERB_BIT(VERB_RESET) | VERB_BIT(VERB_DELETE))
#define LIST_VERBS                                                                                 \
    (MOVE_VERBS | VERB_BIT(VERB_SORT) | VERB_BIT(VERB_SORT_REV) | VERB_BIT(VERB_FILTER) |          \
     VERB_BIT(VERB_DETAIL) | VERB_BIT(VERB_TAG) | VERB_BIT(VERB_ERRORS) |                          \
     VERB_BIT(VERB_CYCLE_JOB_STATE) | VERB_BIT(VERB_CYCLE_PROVIDER) |                              \
     VERB_BIT(VERB_CYCLE_CLASS) | VERB_BIT(VERB_ACCOUNT))
#define ERRORS_VERBS (MOVE_VERBS | VERB_BIT(VERB_PICK) | VERB_BIT(VERB_BACK) | VERB_BIT(VERB_ERRORS))
#define DETAIL_VERBS (MOVE_VERBS | VERB_BIT(VERB_BACK))

/* ---- helpers shared with sync_cmd.c and sync_draw.c --------------------- */

const sync_row *sync_scr_find(const sync_set *set, int64_t id)
{
    if (!set)
        return NULL;
    for (size_t i = 0; i < set->n_rows; i++)
        if (set->rows[i].id == id)
            return &set->rows[i];
    return NULL;
}

bool sync_scr_list_ready(const sync_scr *s)
{
    return s->set && s->set->request >= s->list_want;
}

const sync_detail *sync_scr_detail(const sync_scr *s)
{
    const sync_set *set = s->set;
    if (!set || !set->detail || set->detail_id != s->detail_id || set->request < s->detail_want)
        return NULL;
    return set->detail;
}

const char *sync_scr_state_text(enum sync_state st, bool breached, char *buf, size_t cap,
                                int *role)
{
    switch (st) {
    case SYNC_RETRYABLE: *role = ROLE_WARN; break;
    case SYNC_DEAD: *role = ROLE_BAD; break;
    case SYNC_COMPLETED: *role = ROLE_GOOD; break;
    case SYNC_CANCELLED: *role = ROLE_DIM; break;
    default: *role = ROLE_NORMAL; break;
    }
    /* "!": past the 2-minute promise and not finished; a word, not a colour. */
    bool late = breached && !sync_state_final(st);
    if (late)
        *role = ROLE_BAD;
    snprintf(buf, cap, "%s%s", sync_state_name(st), late ? "!" : "");
    return buf;
}

bool sync_scr_selected_id(const sync_scr *s, int64_t *id)
{
    const char *key = table_selected_key(s->t);
    if (!key)
        return false;
    char *end;
    long long v = strtoll(key, &end, 10);
    if (*end || end == key)
        return false;
    *id = v;
    return true;
}

void sync_scr_filter_text(const sync_filter *f, char *buf, size_t cap)
{
    sync_filter_format(f, buf, cap);
    if (!buf[0])
        snprintf(buf, cap, "all");
}

bool sync_scr_request(sync_scr *s, const screen_env *env, bool list_changed)
{
    if (!env->model)
        return false;
    int64_t job = s->mode == SYNC_MODE_DETAIL ? s->detail_id : 0;
    uint64_t n = model_sync_request_job(env->model, &s->filter, job);
    if (list_changed)
        s->list_want = n;
    if (job)
        s->detail_want = n;
    return true;
}

/* ---- the job table ------------------------------------------------------ */

static const sync_row *row_at(const sync_scr *s, size_t row)
{
    return &s->set->rows[row];
}

static void job_key(void *ctx, size_t row, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" PRId64, row_at(ctx, row)->id);
}

static int64_t since(const sync_scr *s, int64_t at_ms)
{
    return at_ms > 0 ? (s->now_ms > at_ms ? s->now_ms - at_ms : 0) : INT64_MAX;
}

static bool job_number(void *ctx, size_t row, int col, double *out)
{
    const sync_scr *s = ctx;
    const sync_row *r = row_at(s, row);
    switch (col) {
    case SC_ID: *out = (double)r->id; return true;
    case SC_ATTEMPT: *out = r->attempt; return true;
    case SC_AGE: *out = (double)since(s, r->closed_ms); return true;
    default: return false;
    }
}

static void job_cell(void *ctx, size_t row, int col, table_cell *c)
{
    const sync_scr *s = ctx;
    const sync_row *r = row_at(s, row);
    switch (col) {
    case SC_ID: snprintf(c->text, c->cap, "%" PRId64, r->id); break;
    case SC_STATE: sync_scr_state_text(r->state, r->breached, c->text, c->cap, &c->role); break;
    case SC_PROVIDER: snprintf(c->text, c->cap, "%s", sync_provider_name(r->provider)); break;
    case SC_ACCOUNT: snprintf(c->text, c->cap, "%s", r->account); break;
    case SC_POSITION: snprintf(c->text, c->cap, "%s", r->position); break;
    case SC_SYMBOL: snprintf(c->text, c->cap, "%s", r->symbol); break;
    case SC_ATTEMPT: snprintf(c->text, c->cap, "%d/%d", r->attempt, r->max_attempts); break;
    case SC_AGE: fmt_age(since(s, r->closed_ms), c->text, c->cap); break;
    case SC_ERROR:
        if (r->last_class != SYNC_ERR_NONE && r->state != SYNC_COMPLETED) {
            if (r->last_status)
                snprintf(c->text, c->cap, "%s %ld: %s", sync_error_class_name(r->last_class),
                         r->last_status, r->last_error);
            else
                snprintf(c->text, c->cap, "%s: %s", sync_error_class_name(r->last_class),
                         r->last_error);
            if (r->state == SYNC_DEAD)
                c->role = ROLE_BAD;
        } else {
            snprintf(c->text, c->cap, "%s", r->last_error);
        }
        break;
    default: break;
    }
}

static unsigned job_flags(void *ctx, size_t row)
{
    const sync_row *r = row_at(ctx, row);
    return r->state == SYNC_COMPLETED || r->state == SYNC_CANCELLED ? TABLE_ROW_DIM : 0;
}

/* ---- the error analysis table ------------------------------------------- */

static const sync_class_group *group_at(const sync_scr *s, size_t row)
{
    return &s->set->groups[row];
}

static void group_key(void *ctx, size_t row, char *buf, size_t cap)
{
    const sync_class_group *g = group_at(ctx, row);
    snprintf(buf, cap, "%s", g->cls == SYNC_ERR_NONE ? "?" : sync_error_class_name(g->cls));
}

static bool group_number(void *ctx, size_t row, int col, double *out)
{
    const sync_class_group *g = group_at(ctx, row);
    switch (col) {
    case SG_COUNT: *out = (double)g->count; return true;
    case SG_SAMPLE_ID: *out = (double)g->sample_id; return true;
    case SG_STATUS: *out = (double)g->sample_status; return true;
    default: return false;
    }
}

static void group_cell(void *ctx, size_t row, int col, table_cell *c)
{
    const sync_class_group *g = group_at(ctx, row);
    switch (col) {
    case SG_CLASS:
        snprintf(c->text, c->cap, "%s",
                 g->cls == SYNC_ERR_NONE ? "unknown" : sync_error_class_name(g->cls));
        c->role = sync_error_transient(g->cls) ? ROLE_WARN : ROLE_BAD;
        break;
    case SG_COUNT: snprintf(c->text, c->cap, "%" PRId64, g->count); break;
    case SG_SAMPLE_ID: snprintf(c->text, c->cap, "#%" PRId64, g->sample_id); break;
    case SG_STATUS:
        if (g->sample_status)
            snprintf(c->text, c->cap, "%ld", g->sample_status);
        else
            snprintf(c->text, c->cap, "-");
        break;
    case SG_SAMPLE: snprintf(c->text, c->cap, "%s", g->sample); break;
    default: break;
    }
}

/* ---- rebuilding --------------------------------------------------------- */

int sync_scr_rebuild(sync_scr *s)
{
    /* While a new filter loads, the old rows would be answers to another
     * question: none are shown (nor tagged, nor acted on). */
    size_t n = sync_scr_list_ready(s) ? s->set->n_rows : 0;
    table_source src = {
        .ctx = s,
        .n = n,
        .key = job_key,
        .cell = job_cell,
        .number = job_number,
        .row_flags = job_flags,
    };
    int rc = table_set_source(s->t, &src, s->now_ms);
    table_source gsrc = {
        .ctx = s,
        .n = s->set ? s->set->n_groups : 0,
        .key = group_key,
        .cell = group_cell,
        .number = group_number,
    };
    if (table_set_source(s->g, &gsrc, s->now_ms) < 0)
        rc = -1;
    return rc;
}

/* ---- screen_ops --------------------------------------------------------- */

static void sync_destroy(void *st)
{
    sync_scr *s = st;
    if (!s)
        return;
    table_free(s->t);
    table_free(s->g);
    free(s);
}

static void *sync_create(void)
{
    sync_scr *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->t = table_new(job_cols, SC_NCOLS);
    s->g = table_new(group_cols, SG_NCOLS);
    if (!s->t || !s->g) {
        sync_destroy(s);
        return NULL;
    }
    sync_filter_init(&s->filter);
    return s;
}

static int sync_update(void *st, const screen_env *env)
{
    sync_scr *s = st;
    s->snap = env->snap;
    s->set = env->snap ? env->snap->sync : NULL;
    s->now_ms = env->now_ms;
    return sync_scr_rebuild(s);
}

static unsigned long sync_live_verbs(void *st)
{
    const sync_scr *s = st;
    switch (s->mode) {
    case SYNC_MODE_ERRORS: return ERRORS_VERBS;
    case SYNC_MODE_DETAIL: return DETAIL_VERBS | sync_scr_action_verbs(s);
    default: {
        /* b only when there is something to act on (or to disarm it). */
        bool any = sync_scr_list_ready(s) && s->set->n_matching > 0;
        return LIST_VERBS | sync_scr_action_verbs(s) |
               (any || s->bulk ? VERB_BIT(VERB_BULK) : 0);
    }
    }
}

static unsigned open_detail(sync_scr *s, const screen_env *env)
{
    int64_t id;
    if (!sync_scr_selected_id(s, &id)) {
        screen_say(env, ROLE_WARN, "no job selected");
        return REACT_CHROME;
    }
    s->mode = SYNC_MODE_DETAIL;
    s->detail_id = id;
    s->detail_top = 0;
    if (!sync_scr_request(s, env, false))
        screen_say(env, ROLE_WARN, "no engine: the attempts of job #%" PRId64 " cannot be loaded",
                   id);
    return REACT_REDRAW | REACT_CHROME;
}

static unsigned scroll_detail(sync_scr *s, int verb)
{
    const size_t page = 10;
    switch (verb) {
    case VERB_UP: s->detail_top = s->detail_top ? s->detail_top - 1 : 0; break;
    case VERB_DOWN: s->detail_top++; break;
    case VERB_PGUP: s->detail_top = s->detail_top > page ? s->detail_top - page : 0; break;
    case VERB_PGDN: s->detail_top += page; break;
    case VERB_HOME: s->detail_top = 0; break;
    case VERB_END: s->detail_top = (size_t)-1 / 2; break;
    default: return REACT_NONE;
    }
    return REACT_REDRAW;
}

static unsigned move_in(table *t, int verb)
{
    switch (verb) {
    case VERB_UP: return table_move(t, -1) ? REACT_REDRAW : REACT_NONE;
    case VERB_DOWN: return table_move(t, 1) ? REACT_REDRAW : REACT_NONE;
    case VERB_PGUP: return table_page(t, -1) ? REACT_REDRAW : REACT_NONE;
    case VERB_PGDN: return table_page(t, 1) ? REACT_REDRAW : REACT_NONE;
    case VERB_HOME: return table_home(t) ? REACT_REDRAW : REACT_NONE;
    case VERB_END: return table_end(t) ? REACT_REDRAW : REACT_NONE;
    default: return REACT_NONE;
    }
}

static unsigned sync_handle(void *st, int verb, const char *arg, const screen_env *env)
{
    sync_scr *s = st;
    s->now_ms = env->now_ms;
    if (s->mode == SYNC_MODE_DETAIL) {
        if (verb != VERB_BACK)
            return scroll_detail(s, verb);
        s->mode = SYNC_MODE_LIST;
        sync_scr_request(s, env, false); /* stop loading the detail */
        return REACT_REDRAW | REACT_CHROME;
    }
    if (s->mode == SYNC_MODE_ERRORS) {
        if (verb == VERB_BACK || verb == VERB_ERRORS) {
            s->mode = SYNC_MODE_LIST;
            return REACT_REDRAW | REACT_CHROME;
        }
        if (verb == VERB_PICK)
            return sync_scr_pick_group(s, env);
        return move_in(s->g, verb);
    }
    switch (verb) {
    case VERB_SORT: table_sort_next(s->t); return REACT_REDRAW;
    case VERB_SORT_REV: table_sort_reverse(s->t); return REACT_REDRAW;
    case VERB_TAG:
        table_toggle_tag(s->t);
        table_move(s->t, 1);
        return REACT_REDRAW | REACT_CHROME;
    case VERB_DETAIL: return open_detail(s, env);
    case VERB_ERRORS:
        s->mode = SYNC_MODE_ERRORS;
        s->bulk = false;
        table_home(s->g);
        return REACT_REDRAW | REACT_CHROME;
    case VERB_BULK:
        s->bulk = !s->bulk;
        return REACT_REDRAW | REACT_CHROME;
    case VERB_FILTER:
    case VERB_ACCOUNT:
    case VERB_CYCLE_JOB_STATE:
    case VERB_CYCLE_PROVIDER:
    case VERB_CYCLE_CLASS: return sync_scr_filter_verb(s, verb, arg, env);
    default: return move_in(s->t, verb);
    }
}

static bool sync_ask(void *st, int verb, const screen_env *env, screen_ask *out)
{
    sync_scr *s = st;
    s->now_ms = env->now_ms;
    switch (verb) {
    case VERB_FILTER:
        snprintf(out->label, sizeof out->label, "/ (state= provider= account= class= text=): ");
        sync_filter_format(&s->filter, out->initial, sizeof out->initial);
        return true;
    case VERB_ACCOUNT:
        snprintf(out->label, sizeof out->label, "account (empty: all): ");
        snprintf(out->initial, sizeof out->initial, "%s", s->filter.account);
        return true;
    default: return sync_scr_action_ask(s, verb, env, out);
    }
}

static unsigned sync_answer(void *st, int verb, const char *target, const char *text,
                            const screen_env *env)
{
    sync_scr *s = st;
    s->now_ms = env->now_ms;
    if (VERB_BIT(verb) & ACTION_VERBS)
        return sync_scr_action_answer(s, verb, target ? target : "", text ? text : "", env);
    return sync_handle(st, verb, text, env);
}

static const char *sync_filter_str(void *st)
{
    static char buf[SYNC_FILTER_TEXT];
    const sync_scr *s = st;
    sync_filter_format(&s->filter, buf, sizeof buf);
    return buf;
}

static bool sync_badge(void *st, const screen_env *env, char *buf, size_t cap, int *role)
{
    (void)st;
    const sync_set *set = env->snap ? env->snap->sync : NULL;
    int64_t failures = sync_set_failures(set);
    bool late = set && set->breached_live > 0;
    if (!failures && !late)
        return false;
    if (failures)
        snprintf(buf, cap, "(%" PRId64 "%s)", failures, late ? "!" : "");
    else
        snprintf(buf, cap, "(!)");
    *role = late || set->by_state[SYNC_DEAD] ? ROLE_BAD : ROLE_WARN;
    return true;
}

static int64_t sync_draw(void *st, WINDOW *w, int y, int x, int h, int width,
                         const screen_env *env)
{
    sync_scr *s = st;
    s->now_ms = env->now_ms;
    s->readonly = env->readonly;
    switch (s->mode) {
    case SYNC_MODE_ERRORS: return sync_scr_draw_errors(s, w, y, x, h, width);
    case SYNC_MODE_DETAIL: return sync_scr_draw_detail(s, w, y, x, h, width);
    default: return sync_scr_draw_list(s, w, y, x, h, width);
    }
}

const screen_ops sync_screen = {
    .name = "Sync",
    .verbs = LIST_VERBS | ERRORS_VERBS | DETAIL_VERBS | ACTION_VERBS | VERB_BIT(VERB_BULK),
    .create = sync_create,
    .destroy = sync_destroy,
    .enter = NULL, /* filters, tags and the view stay as they were */
    .leave = NULL,
    .update = sync_update,
    .draw = sync_draw,
    .handle = sync_handle,
    .filter_text = sync_filter_str,
    .badge = sync_badge,
    .live_verbs = sync_live_verbs,
    .ask = sync_ask,
    .answer = sync_answer,
};
