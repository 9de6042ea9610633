/*
 * audit.c - the Audit screen: the latest audit records (newest first) as
 * the watcher loaded them, filtered by text, outcome and target, with a
 * detail view showing every field wrapped.
 *
 * Read only: nothing here acts. The table reads the snapshot's alert set
 * (its audit rows) in place; the set lives until the next update, which the
 * console guarantees. The source order is rebuilt only on new data or a
 * filter change and the cursor follows its record by id. Every string
 * (operators' reasons, targets, user names) reaches the terminal through
 * draw_text, which sanitises it. Times are absolute (UTC), so nothing on
 * this screen ticks: idle means no repaint.
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
#include "pairs.h"
#include "screen.h"
#include "table.h"
#include "theme.h"

#define MS_PER_DAY 86400000LL
#define TEXT_MAX 512
#define TIME_WIDTH 19       /* "2024-05-01 13:45:10" */
#define DATE_TIME_WIDTH 14  /* "05-01 13:45:10" */
#define HEADER_LINES 2      /* counts and filters; when loaded */
#define FULL_HEADER_MIN_H 6 /* below this height only the first line shows */

enum audit_col {
    UC_TIME,
    UC_USER,
    UC_ROLE,
    UC_SOURCE,
    UC_ACTION,
    UC_TARGET,
    UC_OUTCOME,
    UC_REASON,
    UC_NCOLS
};

/* Which records by outcome; 'o' steps through them in this order. */
enum audit_show { SHOW_ALL = 0, SHOW_OK, SHOW_REFUSED, SHOW_FAILED, SHOW_COUNT };
static const char *const show_name[SHOW_COUNT] = {"all", "ok", "refused", "failed"};

/* The reason, the widest text, gets the room a wide terminal has. */
static const table_column audit_cols[UC_NCOLS] = {
    [UC_TIME] = {"Time (UTC)", DATE_TIME_WIDTH, DATE_TIME_WIDTH, TABLE_LEFT, 0, true, false},
    [UC_USER] = {"User", 6, 10, TABLE_LEFT, 0, false, false},
    [UC_ROLE] = {"Role", 6, 7, TABLE_LEFT, 2, false, false},
    [UC_SOURCE] = {"Source", 6, 12, TABLE_LEFT, 4, false, false},
    [UC_ACTION] = {"Action", 10, 16, TABLE_LEFT, 0, false, false},
    [UC_TARGET] = {"Target", 8, 20, TABLE_LEFT, 0, false, false},
    [UC_OUTCOME] = {"Outcome", 7, 7, TABLE_LEFT, 0, false, false},
    [UC_REASON] = {"Reason", 8, 200, TABLE_LEFT, 1, false, false},
};

typedef struct audit_state {
    table *t;
    const alert_set *set; /* env->snap->alerts; its audit rows, NULL before the first load */
    int64_t now_ms;
    size_t *shown; /* indexes into set->audit passing the filters, newest first */
    size_t n_shown, cap_shown;
    enum audit_show show;
    char target[TABLE_FILTER_MAX]; /* substring of the target, "" for all */
    bool detail;
    int64_t detail_id;
} audit_state;

#define LIST_VERBS                                                                                 \
    (VERB_MOVE_BITS | VERB_BIT(VERB_SORT) | VERB_BIT(VERB_SORT_REV) |                            \
     VERB_BIT(VERB_FILTER) | VERB_BIT(VERB_DETAIL) | VERB_BIT(VERB_CYCLE_OUTCOME) |                \
     VERB_BIT(VERB_ACCOUNT))
#define DETAIL_VERBS VERB_BIT(VERB_BACK)

static const audit_row *find(const alert_set *set, int64_t id)
{
    for (size_t i = 0; set && i < set->n_audit; i++)
        if (set->audit[i].id == id)
            return &set->audit[i];
    return NULL;
}

/* ---- table source ------------------------------------------------------- */

static const audit_row *row_at(const audit_state *s, size_t row)
{
    return &s->set->audit[s->shown[row]];
}

static void src_key(void *ctx, size_t row, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" PRId64, row_at(ctx, row)->id);
}

static bool src_number(void *ctx, size_t row, int col, double *out)
{
    if (col != UC_TIME)
        return false;
    *out = (double)row_at(ctx, row)->at_ms;
    return true;
}

static int outcome_role(const char *outcome)
{
    if (strcmp(outcome, "failed") == 0)
        return ROLE_BAD;
    if (strcmp(outcome, "refused") == 0)
        return ROLE_WARN;
    return ROLE_NORMAL;
}

static void src_cell(void *ctx, size_t row, int col, table_cell *c)
{
    const audit_state *s = ctx;
    const audit_row *r = row_at(s, row);
    switch (col) {
    case UC_TIME:
        /* The date only when it is not today's (UTC). */
        if (r->at_ms / MS_PER_DAY == s->now_ms / MS_PER_DAY)
            fmt_clock_utc(r->at_ms, c->text, c->cap);
        else
            fmt_time_utc(r->at_ms, DATE_TIME_WIDTH, c->text, c->cap);
        break;
    case UC_USER: snprintf(c->text, c->cap, "%s", r->os_user); break;
    case UC_ROLE: snprintf(c->text, c->cap, "%s", r->role); break;
    case UC_SOURCE: snprintf(c->text, c->cap, "%s", r->source); break;
    case UC_ACTION: snprintf(c->text, c->cap, "%s", r->action); break;
    case UC_TARGET: snprintf(c->text, c->cap, "%s", r->target[0] ? r->target : "-"); break;
    case UC_OUTCOME:
        snprintf(c->text, c->cap, "%s", r->outcome);
        c->role = outcome_role(r->outcome);
        break;
    case UC_REASON: snprintf(c->text, c->cap, "%s", r->reason[0] ? r->reason : "-"); break;
    default: break;
    }
}

/* ---- filtering ---------------------------------------------------------- */

static bool passes(const audit_state *s, const audit_row *r)
{
    if (s->show != SHOW_ALL && strcmp(r->outcome, show_name[s->show]) != 0)
        return false;
    return !s->target[0] || strcasestr(r->target, s->target);
}

static int cmp_newest(const void *a, const void *b, void *arg)
{
    const alert_set *set = arg;
    const audit_row *x = &set->audit[*(const size_t *)a], *y = &set->audit[*(const size_t *)b];
    if (x->at_ms != y->at_ms)
        return x->at_ms > y->at_ms ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

static int rebuild(audit_state *s)
{
    s->n_shown = 0;
    size_t n = s->set ? s->set->n_audit : 0;
    if (n > s->cap_shown) {
        size_t *ns = realloc(s->shown, n * sizeof *ns);
        if (!ns) {
            table_reset(s->t);
            return -1;
        }
        s->shown = ns;
        s->cap_shown = n;
    }
    for (size_t i = 0; i < n; i++)
        if (passes(s, &s->set->audit[i]))
            s->shown[s->n_shown++] = i;
    if (s->n_shown > 1)
        qsort_r(s->shown, s->n_shown, sizeof *s->shown, cmp_newest, (void *)s->set);
    table_source src = {
        .ctx = s,
        .n = s->n_shown,
        .key = src_key,
        .cell = src_cell,
        .number = src_number,
    };
    return table_set_source(s->t, &src, s->now_ms);
}

/* ---- screen_ops --------------------------------------------------------- */

static void *audit_create(void)
{
    audit_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->t = table_new(audit_cols, UC_NCOLS);
    if (!s->t) {
        free(s);
        return NULL;
    }
    return s;
}

static void audit_destroy(void *st)
{
    audit_state *s = st;
    if (!s)
        return;
    table_free(s->t);
    free(s->shown);
    free(s);
}

static int audit_update(void *st, const screen_env *env)
{
    audit_state *s = st;
    s->set = env->snap ? env->snap->alerts : NULL;
    s->now_ms = env->now_ms;
    return rebuild(s);
}

static unsigned long audit_live_verbs(void *st)
{
    const audit_state *s = st;
    return s->detail ? DETAIL_VERBS : LIST_VERBS;
}

static void trimmed(char *out, size_t cap, const char *in)
{
    in = in ? in : "";
    while (*in == ' ')
        in++;
    snprintf(out, cap, "%s", in);
    size_t len = strlen(out);
    while (len && out[len - 1] == ' ')
        out[--len] = '\0';
}

static unsigned audit_handle(void *st, int verb, const char *arg, const screen_env *env)
{
    audit_state *s = st;
    s->now_ms = env->now_ms;
    table *t = s->t;
    switch (verb) {
    case VERB_UP: return table_move(t, -1) ? REACT_REDRAW : REACT_NONE;
    case VERB_DOWN: return table_move(t, 1) ? REACT_REDRAW : REACT_NONE;
    case VERB_PGUP: return table_page(t, -1) ? REACT_REDRAW : REACT_NONE;
    case VERB_PGDN: return table_page(t, 1) ? REACT_REDRAW : REACT_NONE;
    case VERB_HOME: return table_home(t) ? REACT_REDRAW : REACT_NONE;
    case VERB_END: return table_end(t) ? REACT_REDRAW : REACT_NONE;
    case VERB_SORT: table_sort_next(t); return REACT_REDRAW;
    case VERB_SORT_REV: table_sort_reverse(t); return REACT_REDRAW;
    case VERB_FILTER: table_set_filter(t, arg); return REACT_REDRAW;
    case VERB_DETAIL: {
        const char *key = table_selected_key(t);
        char *end;
        long long id = key ? strtoll(key, &end, 10) : 0;
        if (!key || *end) {
            screen_say(env, ROLE_WARN, "no record selected");
            return REACT_CHROME;
        }
        s->detail = true;
        s->detail_id = id;
        return REACT_REDRAW | REACT_CHROME;
    }
    case VERB_BACK: s->detail = false; return REACT_REDRAW | REACT_CHROME;
    case VERB_CYCLE_OUTCOME: s->show = (s->show + 1) % SHOW_COUNT; break;
    case VERB_ACCOUNT: trimmed(s->target, sizeof s->target, arg); break;
    default: return REACT_NONE;
    }
    if (rebuild(s) < 0)
        screen_say(env, ROLE_BAD, "out of memory: the list is empty until the next update");
    return REACT_REDRAW;
}

static bool audit_ask(void *st, int verb, const screen_env *env, screen_ask *out)
{
    audit_state *s = st;
    (void)env;
    switch (verb) {
    case VERB_FILTER:
        snprintf(out->label, sizeof out->label, "/");
        snprintf(out->initial, sizeof out->initial, "%s", table_filter(s->t));
        return true;
    case VERB_ACCOUNT:
        snprintf(out->label, sizeof out->label,
                 "target contains (an account, an id; empty: all): ");
        snprintf(out->initial, sizeof out->initial, "%s", s->target);
        return true;
    default: return false;
    }
}

static const char *audit_filter_text(void *st)
{
    const audit_state *s = st;
    return table_filter(s->t);
}

/* ---- drawing ------------------------------------------------------------ */

/* "Audit: showing 3 of 120 · outcome: refused · target: demo-2 · filter: x" */
static void filters_line(const audit_state *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    char buf[TEXT_MAX];
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    snprintf(buf, sizeof buf, "Audit: showing %zu of %zu", table_count(s->t),
             s->set ? s->set->n_audit : (size_t)0);
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_TITLE) | A_BOLD);
    draw_put_sep(w, y, &cx, right);
    snprintf(buf, sizeof buf, "outcome: %s", show_name[s->show]);
    draw_put(w, y, &cx, right, buf, theme_attr(s->show == SHOW_ALL ? ROLE_NORMAL : ROLE_WARN));
    draw_put_sep(w, y, &cx, right);
    snprintf(buf, sizeof buf, "target: %s", s->target[0] ? s->target : "all");
    draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    if (table_filter(s->t)[0]) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "filter: %s", table_filter(s->t));
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
    }
}

/* When the records were read and how far back they go. */
static void loaded_line(const audit_state *s, WINDOW *w, int y, int x, int width)
{
    int cx = x, right = x + width;
    char buf[TEXT_MAX], t[32];
    draw_blank(w, y, x, width, theme_attr(ROLE_NORMAL));
    if (!s->set || !s->set->loaded_ms) {
        draw_put(w, y, &cx, right, "not loaded yet", theme_attr(ROLE_WARN));
    } else {
        fmt_time_utc(s->set->loaded_ms, TIME_WIDTH, t, sizeof t);
        snprintf(buf, sizeof buf, "loaded %s UTC", t);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_NORMAL));
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "showing the latest %zu records; `tradeops audit` for older",
                 s->set->n_audit);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_DIM));
    }
    if (s->set && s->set->error[0]) {
        draw_put_sep(w, y, &cx, right);
        snprintf(buf, sizeof buf, "error: %s", s->set->error);
        draw_put(w, y, &cx, right, buf, theme_attr(ROLE_BAD));
    }
}

static const char *empty_text(const audit_state *s)
{
    if (!s->set)
        return "waiting for the first load of the audit log";
    if (!s->set->n_audit)
        return "no audit record yet";
    return "no record matches (/ text, o outcome, A target)";
}

static int64_t draw_list(audit_state *s, WINDOW *w, int y, int x, int h, int width)
{
    if (h <= 0 || width <= 0)
        return INT64_MAX;
    int head = h >= FULL_HEADER_MIN_H ? HEADER_LINES : 1;
    filters_line(s, w, y, x, width);
    if (head == HEADER_LINES)
        loaded_line(s, w, y + 1, x, width);
    if (h > head)
        table_draw(s->t, w, y + head, x, h - head, width, true, empty_text(s), s->now_ms);
    return INT64_MAX; /* times are absolute: nothing ticks */
}

static int64_t draw_detail(audit_state *s, WINDOW *w, int y, int x, int h, int width)
{
    for (int i = 0; i < h; i++)
        draw_blank(w, y + i, x, width, theme_attr(ROLE_NORMAL));
    if (h <= 0 || width <= 0)
        return INT64_MAX;
    char title[64];
    snprintf(title, sizeof title, "Audit record #%" PRId64, s->detail_id);
    draw_text(w, y, x, width, title, theme_attr(ROLE_TITLE) | A_BOLD, DRAW_LEFT);
    const audit_row *r = find(s->set, s->detail_id);
    if (!r) {
        if (h > 2)
            draw_text(w, y + 2, x + 1, width - 1,
                      "This record is no longer among the latest loaded (`tradeops audit` "
                      "shows older ones). Esc goes back.",
                      theme_attr(ROLE_WARN), DRAW_LEFT);
        return INT64_MAX;
    }
    char when[96], t[32], age[32];
    fmt_time_utc(r->at_ms, TIME_WIDTH, t, sizeof t);
    fmt_age(s->now_ms > r->at_ms ? s->now_ms - r->at_ms : 0, age, sizeof age);
    snprintf(when, sizeof when, "%s UTC (%s ago)", t, age);
    const pairs_row rows[] = {
        {"Time", when, NULL, true, false},          {"User", r->os_user, NULL, true, false},
        {"Role", r->role, NULL, true, false},       {"Source", r->source, NULL, true, false},
        {"Action", r->action, NULL, true, false},   {"Target", r->target, NULL, true, false},
        {"Outcome", r->outcome, NULL, true, false}, {"Reason", r->reason, NULL, true, false},
    };
    /* The outcome stands out in the title; the fields below are plain. */
    int cx = x + draw_width(title) + 2;
    if (cx < x + width)
        cx +=
            draw_text(w, y, cx, x + width - cx, r->action, theme_attr(ROLE_NORMAL), DRAW_LEFT) + 2;
    if (cx < x + width)
        draw_text(w, y, cx, x + width - cx, r->outcome,
                  theme_attr(outcome_role(r->outcome)) | A_BOLD, DRAW_LEFT);
    pairs_spec spec = {
        .rows = rows,
        .n = sizeof rows / sizeof rows[0],
    };
    if (h > 2)
        pairs_draw(w, y + 2, x, h - 2, width, &spec);
    return INT64_MAX;
}

static int64_t audit_draw(void *st, WINDOW *w, int y, int x, int h, int width,
                          const screen_env *env)
{
    audit_state *s = st;
    s->now_ms = env->now_ms;
    return s->detail ? draw_detail(s, w, y, x, h, width) : draw_list(s, w, y, x, h, width);
}

const screen_ops audit_screen = {
    .name = "Audit",
    .verbs = LIST_VERBS | DETAIL_VERBS,
    .create = audit_create,
    .destroy = audit_destroy,
    .enter = NULL,
    .leave = NULL,
    .update = audit_update,
    .draw = audit_draw,
    .handle = audit_handle,
    .filter_text = audit_filter_text,
    .badge = NULL,
    .live_verbs = audit_live_verbs,
    .ask = audit_ask,
    .answer = NULL,
    .number = 6, /* 5 is the Metrics screen's */
};
