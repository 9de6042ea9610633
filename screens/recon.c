/*
 * recon.c - the Reconciliation screen: counts by kind, the reconciler's
 * log (filtered by state, kind and account), a detail view with the bot's
 * and the broker's side by side, and resolving a row with a note.
 *
 * The table reads the snapshot's recon set in place (no copy); the set is
 * alive until the next update, which the console guarantees. Its source
 * order is newest first by id, an order a refresh never reshuffles: rows
 * only appear or go, and the cursor follows its row by id (table.h).
 *
 * Resolving captures the row's id when `r` is pressed (screen_ask.target);
 * the note typed afterwards goes to the engine with that id whatever the
 * list did meanwhile. The engine authorises and audits; this screen only
 * refuses what cannot be sent (no engine, an empty note, a row already
 * resolved), and says why.
 *
 * Threads: UI thread only.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "action.h"
#include "draw.h"
#include "fmt.h"
#include "recon_int.h"
#include "theme.h"

/* Short columns stop growing early so the state and the detail, the
 * widest texts, get the room a wide terminal has. */
static const table_column recon_cols[RC_COUNT] = {
    [RC_ID] = {"#", 4, 5, TABLE_RIGHT, 0, true, false},
    [RC_ACCOUNT] = {"Account", 7, 10, TABLE_LEFT, 0, false, false},
    [RC_POSITION] = {"Position", 8, 10, TABLE_LEFT, 2, false, false},
    [RC_SYMBOL] = {"Symbol", 6, 8, TABLE_LEFT, 3, false, false},
    [RC_KIND] = {"Kind", 7, 10, TABLE_LEFT, 0, false, false},
    [RC_FIRST] = {"First", 5, 6, TABLE_RIGHT, 5, true, false},
    [RC_LAST] = {"Last", 5, 6, TABLE_RIGHT, 6, true, false},
    [RC_STATE] = {"State", 13, 24, TABLE_LEFT, 0, false, false},
    [RC_DETAIL] = {"Detail", 8, 160, TABLE_LEFT, 1, false, false},
};

#define LIST_VERBS                                                                                 \
    (VERB_BIT(VERB_UP) | VERB_BIT(VERB_DOWN) | VERB_BIT(VERB_PGUP) | VERB_BIT(VERB_PGDN) |         \
     VERB_BIT(VERB_HOME) | VERB_BIT(VERB_END) | VERB_BIT(VERB_SORT) | VERB_BIT(VERB_SORT_REV) |    \
     VERB_BIT(VERB_FILTER) | VERB_BIT(VERB_DETAIL) | VERB_BIT(VERB_RESOLVE) |                      \
     VERB_BIT(VERB_CYCLE_STATE) | VERB_BIT(VERB_CYCLE_KIND) | VERB_BIT(VERB_ACCOUNT))
#define DETAIL_VERBS (VERB_BIT(VERB_BACK) | VERB_BIT(VERB_RESOLVE))

/* ---- helpers shared with recon_draw.c ----------------------------------- */

const recon_row *recon_find(const recon_set *set, int64_t id)
{
    if (!set)
        return NULL;
    for (size_t i = 0; i < set->n_rows; i++)
        if (set->rows[i].id == id)
            return &set->rows[i];
    return NULL;
}

void recon_state_text(const recon_row *r, char *buf, size_t cap, int *role)
{
    if (!r->resolved_ms) {
        snprintf(buf, cap, "open");
        *role = ROLE_WARN;
    } else if (r->by_operator) {
        snprintf(buf, cap, "resolved by %s", r->resolved_by[0] ? r->resolved_by : "?");
        *role = ROLE_NORMAL;
    } else {
        snprintf(buf, cap, "auto-resolved");
        *role = ROLE_GOOD;
    }
}

const char *recon_show_name(enum recon_show s)
{
    switch (s) {
    case RECON_SHOW_OPEN: return "open";
    case RECON_SHOW_RESOLVED: return "resolved";
    default: return "all";
    }
}

/* ---- table source ------------------------------------------------------- */

static const recon_row *row_at(const recon_state *s, size_t row)
{
    return &s->set->rows[s->shown[row]];
}

static void src_key(void *ctx, size_t row, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" PRId64, row_at(ctx, row)->id);
}

static int64_t age_of(const recon_state *s, int64_t at_ms)
{
    return at_ms > 0 ? (s->now_ms > at_ms ? s->now_ms - at_ms : 0) : INT64_MAX;
}

static bool src_number(void *ctx, size_t row, int col, double *out)
{
    const recon_row *r = row_at(ctx, row);
    switch (col) {
    case RC_ID: *out = (double)r->id; return true;
    case RC_FIRST: *out = (double)r->first_seen_ms; return true;
    case RC_LAST: *out = (double)r->last_seen_ms; return true;
    default: return false;
    }
}

static void src_cell(void *ctx, size_t row, int col, table_cell *c)
{
    const recon_state *s = ctx;
    const recon_row *r = row_at(s, row);
    switch (col) {
    case RC_ID: snprintf(c->text, c->cap, "%" PRId64, r->id); break;
    case RC_ACCOUNT: snprintf(c->text, c->cap, "%s", r->account); break;
    case RC_POSITION: snprintf(c->text, c->cap, "%s", r->position); break;
    case RC_SYMBOL: snprintf(c->text, c->cap, "%s", r->symbol); break;
    case RC_KIND: snprintf(c->text, c->cap, "%s", recon_kind_label(r->kind)); break;
    case RC_FIRST: fmt_age(age_of(s, r->first_seen_ms), c->text, c->cap); break;
    case RC_LAST: fmt_age(age_of(s, r->last_seen_ms), c->text, c->cap); break;
    case RC_STATE: recon_state_text(r, c->text, c->cap, &c->role); break;
    case RC_DETAIL: snprintf(c->text, c->cap, "%s", r->detail); break;
    default: break;
    }
}

static bool is_fresh(const recon_state *s, int64_t id)
{
    for (size_t i = 0; i < s->n_fresh; i++)
        if (s->fresh[i].id == id && s->fresh[i].until > s->now_ms)
            return true;
    return false;
}

static unsigned src_flags(void *ctx, size_t row)
{
    const recon_state *s = ctx;
    const recon_row *r = row_at(s, row);
    unsigned f = r->resolved_ms ? TABLE_ROW_DIM : 0;
    if (is_fresh(s, r->id))
        f |= TABLE_ROW_FLASH;
    return f;
}

/* ---- filtering ---------------------------------------------------------- */

static bool passes(const recon_state *s, const recon_row *r)
{
    if (s->show == RECON_SHOW_OPEN && r->resolved_ms)
        return false;
    if (s->show == RECON_SHOW_RESOLVED && !r->resolved_ms)
        return false;
    if (s->kind != RECON_KIND_ALL && (int)r->kind != s->kind)
        return false;
    return !s->account[0] || strcasecmp(s->account, r->account) == 0;
}

static int cmp_newest(const void *a, const void *b, void *arg)
{
    const recon_set *set = arg;
    int64_t x = set->rows[*(const size_t *)a].id, y = set->rows[*(const size_t *)b].id;
    return x > y ? -1 : x < y;
}

/* Rebuilds the filtered index and hands it to the table, which keeps the
 * cursor on its row by id. -1 when memory ran out (no rows then). */
static int rebuild(recon_state *s)
{
    s->n_shown = 0;
    size_t n = s->set ? s->set->n_rows : 0;
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
        if (passes(s, &s->set->rows[i]))
            s->shown[s->n_shown++] = i;
    if (s->n_shown > 1)
        qsort_r(s->shown, s->n_shown, sizeof *s->shown, cmp_newest, (void *)s->set);
    table_source src = {
        .ctx = s,
        .n = s->n_shown,
        .key = src_key,
        .cell = src_cell,
        .number = src_number,
        .row_flags = src_flags,
    };
    return table_set_source(s->t, &src, s->now_ms);
}

/* ---- new rows ----------------------------------------------------------- */

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool add_fresh(recon_state *s, int64_t id)
{
    if (s->n_fresh == s->cap_fresh) {
        size_t ncap = s->cap_fresh ? s->cap_fresh * 2 : 16;
        recon_fresh *nf = realloc(s->fresh, ncap * sizeof *nf);
        if (!nf)
            return false;
        s->fresh = nf;
        s->cap_fresh = ncap;
    }
    s->fresh[s->n_fresh++] = (recon_fresh){id, s->now_ms + RECON_NEW_MS};
    return true;
}

/* Marks the ids the previous set did not have. The first set ever seen
 * marks nothing: everything in it is "new" only to this console. */
static int note_new_rows(recon_state *s)
{
    size_t w = 0;
    for (size_t i = 0; i < s->n_fresh; i++)
        if (s->fresh[i].until > s->now_ms)
            s->fresh[w++] = s->fresh[i];
    s->n_fresh = w;
    if (!s->set)
        return 0;
    size_t n = s->set->n_rows;
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        ids[i] = s->set->rows[i].id;
        if (s->had_set && !bsearch(&ids[i], s->prev_ids, s->n_prev, sizeof *ids, cmp_id) &&
            !is_fresh(s, ids[i]) && !add_fresh(s, ids[i]))
            rc = -1;
    }
    qsort(ids, n, sizeof *ids, cmp_id);
    free(s->prev_ids);
    s->prev_ids = ids;
    s->n_prev = n;
    s->had_set = true;
    return rc;
}

/* ---- screen_ops --------------------------------------------------------- */

static void *recon_create(void)
{
    recon_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->t = table_new(recon_cols, RC_COUNT);
    if (!s->t) {
        free(s);
        return NULL;
    }
    s->kind = RECON_KIND_ALL;
    s->show = RECON_SHOW_OPEN;
    return s;
}

static void recon_destroy(void *st)
{
    recon_state *s = st;
    if (!s)
        return;
    table_free(s->t);
    free(s->shown);
    free(s->prev_ids);
    free(s->fresh);
    free(s);
}

static int recon_update(void *st, const screen_env *env)
{
    recon_state *s = st;
    s->snap = env->snap;
    s->set = env->snap ? env->snap->recon : NULL;
    s->now_ms = env->now_ms;
    int rc = note_new_rows(s);
    if (rebuild(s) < 0)
        rc = -1;
    s->detail_row = s->detail ? recon_find(s->set, s->detail_id) : NULL;
    return rc;
}

static unsigned long recon_live_verbs(void *st)
{
    const recon_state *s = st;
    return s->detail ? DETAIL_VERBS : LIST_VERBS;
}

static bool selected_id(const recon_state *s, int64_t *id)
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

static unsigned open_detail(recon_state *s, const screen_env *env)
{
    int64_t id;
    if (!selected_id(s, &id)) {
        screen_say(env, ROLE_WARN, "no row selected");
        return REACT_CHROME;
    }
    s->detail = true;
    s->detail_id = id;
    s->detail_row = recon_find(s->set, id);
    return REACT_REDRAW | REACT_CHROME;
}

static unsigned recon_handle(void *st, int verb, const char *arg, const screen_env *env)
{
    recon_state *s = st;
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
    case VERB_DETAIL: return open_detail(s, env);
    case VERB_BACK:
        s->detail = false;
        s->detail_row = NULL;
        return REACT_REDRAW | REACT_CHROME;
    case VERB_CYCLE_STATE: s->show = (s->show + 1) % RECON_SHOW_COUNT; break;
    case VERB_CYCLE_KIND:
        s->kind = s->kind + 1 >= RECON_KIND_COUNT ? RECON_KIND_ALL : s->kind + 1;
        break;
    case VERB_ACCOUNT: {
        char clean[sizeof s->account];
        size_t len = 0;
        const char *a = arg ? arg : "";
        while (*a == ' ')
            a++;
        snprintf(clean, sizeof clean, "%s", a);
        len = strlen(clean);
        while (len && clean[len - 1] == ' ')
            clean[--len] = '\0';
        snprintf(s->account, sizeof s->account, "%s", clean);
        break;
    }
    default: return REACT_NONE;
    }
    /* A filter changed: the cursor stays on its row when it still shows. */
    if (rebuild(s) < 0)
        screen_say(env, ROLE_BAD, "out of memory: the list is empty until the next update");
    return REACT_REDRAW;
}

/* Refuses what cannot be sent, saying why; true when id may be resolved. */
static bool can_resolve(const recon_state *s, int64_t id, const screen_env *env)
{
    if (!env->port || !env->port->submit) {
        screen_say(env, ROLE_BAD, "no engine: cannot resolve");
        return false;
    }
    const recon_row *r = recon_find(s->set, id);
    if (r && r->resolved_ms) {
        if (r->by_operator)
            screen_say(env, ROLE_BAD, "#%" PRId64 " is already resolved by %s", id,
                       r->resolved_by[0] ? r->resolved_by : "an operator");
        else
            screen_say(env, ROLE_BAD, "#%" PRId64 " is already resolved (automatically)", id);
        return false;
    }
    return true;
}

static bool ask_resolve(recon_state *s, const screen_env *env, screen_ask *out)
{
    int64_t id;
    if (s->detail)
        id = s->detail_id;
    else if (!selected_id(s, &id)) {
        screen_say(env, ROLE_BAD, "no row selected: nothing to resolve");
        return false;
    }
    const recon_row *r = recon_find(s->set, id);
    if (!r) {
        screen_say(env, ROLE_BAD, "#%" PRId64 " is no longer in the log: nothing to resolve", id);
        return false;
    }
    if (!can_resolve(s, id, env))
        return false;
    /* The label names the exact target; outside strings in it are
     * sanitised when the prompt draws it. */
    snprintf(out->label, sizeof out->label, "resolve #%" PRId64 " %s %s %s %s note: ", id,
             r->account, r->position, recon_kind_label(r->kind),
             draw_utf8() ? "\xe2\x80\x94" : "--");
    snprintf(out->target, sizeof out->target, "%" PRId64, id);
    out->initial[0] = '\0';
    return true;
}

static bool recon_ask(void *st, int verb, const screen_env *env, screen_ask *out)
{
    recon_state *s = st;
    s->now_ms = env->now_ms;
    switch (verb) {
    case VERB_FILTER:
        snprintf(out->label, sizeof out->label, "/");
        snprintf(out->initial, sizeof out->initial, "%s", table_filter(s->t));
        return true;
    case VERB_ACCOUNT:
        snprintf(out->label, sizeof out->label, "account (empty: all): ");
        snprintf(out->initial, sizeof out->initial, "%s", s->account);
        return true;
    case VERB_RESOLVE: return ask_resolve(s, env, out);
    default: return false;
    }
}

static bool blank(const char *text)
{
    for (; *text; text++)
        if (!isspace((unsigned char)*text))
            return false;
    return true;
}

static unsigned submit_resolve(recon_state *s, const char *target, const char *note,
                               const screen_env *env)
{
    char *end;
    long long id = strtoll(target ? target : "", &end, 10);
    if (!target || !target[0] || *end) {
        screen_say(env, ROLE_BAD, "resolve: lost its target; nothing was sent");
        return REACT_CHROME;
    }
    if (blank(note)) {
        screen_say(env, ROLE_BAD, "resolve #%lld: a note is required; nothing was sent", id);
        return REACT_CHROME;
    }
    if (!can_resolve(s, id, env))
        return REACT_CHROME;
    command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.seq = ++s->seq;
    cmd.kind = CMD_RECON_RESOLVE;
    cmd.target_id = id;
    snprintf(cmd.note, sizeof cmd.note, "%s", note);
    char err[256] = "";
    if (env->port->submit(env->port->ctx, &cmd, err, sizeof err) < 0) {
        screen_say(env, ROLE_BAD, "resolve #%lld not sent: %s", id,
                   err[0] ? err : "the engine did not take it");
        return REACT_CHROME;
    }
    screen_say(env, ROLE_NORMAL, "resolve #%lld sent; waiting for the engine", id);
    return REACT_CHROME;
}

static unsigned recon_answer(void *st, int verb, const char *target, const char *text,
                             const screen_env *env)
{
    recon_state *s = st;
    s->now_ms = env->now_ms;
    if (verb == VERB_RESOLVE)
        return submit_resolve(s, target, text, env);
    return recon_handle(st, verb, text, env);
}

static const char *recon_filter_text(void *st)
{
    const recon_state *s = st;
    return table_filter(s->t);
}

static bool recon_badge(void *st, const screen_env *env, char *buf, size_t cap, int *role)
{
    (void)st;
    const recon_set *set = env->snap ? env->snap->recon : NULL;
    if (!set || !set->n_open)
        return false;
    snprintf(buf, cap, "(%zu)", set->n_open);
    *role = ROLE_BAD;
    return true;
}

static int64_t recon_draw(void *st, WINDOW *w, int y, int x, int h, int width,
                          const screen_env *env)
{
    recon_state *s = st;
    s->now_ms = env->now_ms;
    if (s->detail)
        return recon_draw_detail(s, w, y, x, h, width);
    return recon_draw_list(s, w, y, x, h, width);
}

const screen_ops recon_screen = {
    .name = "Recon",
    .verbs = LIST_VERBS | DETAIL_VERBS,
    .create = recon_create,
    .destroy = recon_destroy,
    .enter = NULL, /* nothing to do: filters and the detail stay as they were */
    .leave = NULL,
    .update = recon_update,
    .draw = recon_draw,
    .handle = recon_handle,
    .filter_text = recon_filter_text,
    .badge = recon_badge,
    .live_verbs = recon_live_verbs,
    .ask = recon_ask,
    .answer = recon_answer,
};
