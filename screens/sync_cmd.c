/*
 * sync_cmd.c - the Sync screen's actions on jobs: retry now (r), cancel
 * (c), reset (R), delete a finished job (D); on the selected job (or the
 * one the detail view shows), on the tagged jobs, or, after b, on every
 * job the filter matches.
 *
 * An action exists only where the jobs' states allow it
 * (sync_admin_allowed): the screen's live verbs follow it, so keys, hints
 * and help never offer a retry of a running job. Each action captures its
 * targets when the key is pressed (the job ids, or the canonical filter
 * text and the count it applied to) and asks to confirm, defaulting to
 * Cancel: only "y" sends. The engine authorises, audits and decides; its
 * answer (a refusal, "job 17 is running", a bulk summary) comes back on
 * the message line.
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
#include "sync_int.h"
#include "theme.h"

#define SYNC_CONFIRM_FILTER 60 /* bytes of the filter a bulk confirmation names */

static const int op_verbs[SYNC_OP_COUNT] = {
    [SYNC_OP_RETRY] = VERB_RETRY,
    [SYNC_OP_CANCEL] = VERB_CANCEL,
    [SYNC_OP_RESET] = VERB_RESET,
    [SYNC_OP_DELETE] = VERB_DELETE,
};

static const enum command_kind op_kinds[SYNC_OP_COUNT] = {
    [SYNC_OP_RETRY] = CMD_SYNC_RETRY,
    [SYNC_OP_CANCEL] = CMD_SYNC_CANCEL,
    [SYNC_OP_RESET] = CMD_SYNC_RESET,
    [SYNC_OP_DELETE] = CMD_SYNC_DELETE,
};

static const char *const op_titles[SYNC_OP_COUNT] = {"Retry", "Cancel", "Reset", "Delete"};
static const char *const op_past[SYNC_OP_COUNT] = {"retried", "cancelled", "reset", "deleted"};

static bool op_of(int verb, enum sync_admin_op *op)
{
    for (int i = 0; i < SYNC_OP_COUNT; i++)
        if (op_verbs[i] == verb) {
            *op = (enum sync_admin_op)i;
            return true;
        }
    return false;
}

int64_t sync_scr_bulk_count(const sync_set *set, enum sync_admin_op op)
{
    int64_t n = 0;
    for (int st = 0; set && st < SYNC_STATE_COUNT; st++)
        if (sync_admin_allowed(op, (enum sync_state)st))
            n += set->match_by_state[st];
    return n;
}

static bool id_allows(const sync_scr *s, int64_t id, enum sync_admin_op op)
{
    const sync_row *r = sync_scr_find(s->set, id);
    return r && sync_admin_allowed(op, r->state);
}

static bool tagged_id(const sync_scr *s, size_t i, int64_t *id)
{
    const char *key = table_tag_at(s->t, i);
    char *end;
    long long v = key ? strtoll(key, &end, 10) : 0;
    if (!key || *end || end == key)
        return false;
    *id = v;
    return true;
}

/* The state of the job the detail view shows: from its detail when
 * loaded, else from the list. */
static bool detail_state(const sync_scr *s, enum sync_state *st)
{
    const sync_detail *d = sync_scr_detail(s);
    if (d && d->job.id) {
        *st = d->job.state;
        return true;
    }
    const sync_row *r = sync_scr_find(s->set, s->detail_id);
    if (!r)
        return false;
    *st = r->state;
    return true;
}

static bool op_applies(const sync_scr *s, enum sync_admin_op op)
{
    if (s->mode == SYNC_MODE_DETAIL) {
        enum sync_state st;
        return detail_state(s, &st) && sync_admin_allowed(op, st);
    }
    if (s->mode != SYNC_MODE_LIST || !sync_scr_list_ready(s))
        return false;
    if (s->bulk)
        return sync_scr_bulk_count(s->set, op) > 0;
    size_t nt = table_tag_count(s->t);
    if (nt) {
        for (size_t i = 0; i < nt; i++) {
            int64_t id;
            if (tagged_id(s, i, &id) && id_allows(s, id, op))
                return true;
        }
        return false;
    }
    int64_t id;
    return sync_scr_selected_id(s, &id) && id_allows(s, id, op);
}

unsigned long sync_scr_action_verbs(const sync_scr *s)
{
    unsigned long v = 0;
    for (int op = 0; op < SYNC_OP_COUNT; op++)
        if (op_applies(s, (enum sync_admin_op)op))
            v |= VERB_BIT(op_verbs[op]);
    return v;
}

/* ---- asking ------------------------------------------------------------- */

static bool can_send(const screen_env *env, enum sync_admin_op op)
{
    if (env->readonly) {
        screen_say(env, ROLE_BAD, "read-only console: cannot %s jobs", sync_admin_op_name(op));
        return false;
    }
    if (!env->port || !env->port->submit) {
        screen_say(env, ROLE_BAD, "no engine: cannot %s jobs", sync_admin_op_name(op));
        return false;
    }
    return true;
}

static void name_target(sync_scr *s, screen_ask *out)
{
    s->pending.token = ++s->seq;
    snprintf(out->target, sizeof out->target, "c%" PRIu64, s->pending.token);
    out->initial[0] = '\0'; /* Enter alone cancels */
}

static bool ask_one(sync_scr *s, enum sync_admin_op op, const screen_env *env, screen_ask *out)
{
    int64_t id;
    if (s->mode == SYNC_MODE_DETAIL)
        id = s->detail_id;
    else if (!sync_scr_selected_id(s, &id)) {
        screen_say(env, ROLE_BAD, "no job selected: nothing to %s", sync_admin_op_name(op));
        return false;
    }
    const sync_detail *d = s->mode == SYNC_MODE_DETAIL ? sync_scr_detail(s) : NULL;
    const sync_row *r = d && d->job.id ? &d->job : sync_scr_find(s->set, id);
    if (!r) {
        screen_say(env, ROLE_BAD, "job #%" PRId64 " is no longer listed: nothing to %s", id,
                   sync_admin_op_name(op));
        return false;
    }
    if (!sync_admin_allowed(op, r->state)) {
        screen_say(env, ROLE_WARN, "job #%" PRId64 " is %s: it cannot be %s", id,
                   sync_state_name(r->state),
                   op_past[op]);
        return false;
    }
    if (!can_send(env, op))
        return false;
    s->pending.ids[0] = id;
    s->pending.n_ids = 1;
    snprintf(out->label, sizeof out->label, "%s job #%" PRId64 " (%s %s %s %s)? [y/N] ",
             op_titles[op], id, sync_state_name(r->state), sync_provider_name(r->provider),
             r->account, r->symbol);
    name_target(s, out);
    return true;
}

/* "#20 #18 #17 and 4 more" */
static void ids_text(const int64_t *ids, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < SYNC_CONFIRM_IDS && o < cap; i++) {
        int k = snprintf(buf + o, cap - o, "%s#%" PRId64, i ? " " : "", ids[i]);
        if (k < 0)
            return;
        o += (size_t)k;
    }
    if (n > SYNC_CONFIRM_IDS && o < cap)
        snprintf(buf + o, cap - o, " and %zu more", n - SYNC_CONFIRM_IDS);
}

static int newest_first(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x > y ? -1 : x < y;
}

static bool ask_tagged(sync_scr *s, enum sync_admin_op op, const screen_env *env, screen_ask *out)
{
    size_t nt = table_tag_count(s->t), skipped = 0;
    sync_pending *p = &s->pending;
    p->n_ids = 0;
    for (size_t i = 0; i < nt; i++) {
        int64_t id;
        if (!tagged_id(s, i, &id) || !id_allows(s, id, op)) {
            skipped++;
            continue;
        }
        if (p->n_ids == SYNC_TAG_ACTION_MAX) {
            screen_say(env, ROLE_BAD,
                       "more than %d tagged jobs to %s: narrow the filter and use b (every "
                       "matching job) instead",
                       SYNC_TAG_ACTION_MAX, sync_admin_op_name(op));
            return false;
        }
        p->ids[p->n_ids++] = id;
    }
    if (!p->n_ids) {
        screen_say(env, ROLE_WARN, "none of the %zu tagged jobs can be %s in its state", nt,
                   op_past[op]);
        return false;
    }
    if (!can_send(env, op))
        return false;
    qsort(p->ids, p->n_ids, sizeof p->ids[0], newest_first);
    char ids[128], skip[96] = "";
    ids_text(p->ids, p->n_ids, ids, sizeof ids);
    if (skipped)
        snprintf(skip, sizeof skip, " of %zu (%zu not in a state for it)", nt, skipped);
    /* A label cut at the prompt's width still names the first ids. */
    if (snprintf(out->label, sizeof out->label, "%s %zu tagged job%s%s: %s? [y/N] ",
                 op_titles[op], p->n_ids, p->n_ids == 1 ? "" : "s", skip, ids) < 0)
        out->label[0] = '\0';
    name_target(s, out);
    return true;
}

static bool ask_bulk(sync_scr *s, enum sync_admin_op op, const screen_env *env, screen_ask *out)
{
    sync_pending *p = &s->pending;
    s->bulk = false; /* b arms one action, this one */
    p->bulk = true;
    p->count = sync_scr_bulk_count(s->set, op);
    int64_t matching = s->set ? s->set->n_matching : 0;
    sync_scr_filter_text(&s->filter, p->filter, sizeof p->filter);
    if (p->count <= 0) {
        screen_say(env, ROLE_WARN, "none of the %" PRId64 " jobs matching %s can be %s", matching,
                   p->filter,
                   op_past[op]);
        return false;
    }
    if (!can_send(env, op))
        return false;
    char of[48] = "", shown[SYNC_CONFIRM_FILTER + 8];
    if (matching != p->count)
        snprintf(of, sizeof of, " (of %" PRId64 " matching)", matching);
    /* A long filter is cut here (the filter line above shows it whole) so
     * that the question and its [y/N] stay on the line. */
    snprintf(shown, sizeof shown, "%.*s%s", SYNC_CONFIRM_FILTER, p->filter,
             strlen(p->filter) > SYNC_CONFIRM_FILTER ? "..." : "");
    snprintf(out->label, sizeof out->label, "%s ALL %" PRId64 " jobs matching %s%s? [y/N] ",
             op_titles[op], p->count, shown, of);
    name_target(s, out);
    return true;
}

bool sync_scr_action_ask(sync_scr *s, int verb, const screen_env *env, screen_ask *out)
{
    enum sync_admin_op op;
    if (!op_of(verb, &op))
        return false;
    memset(&s->pending, 0, sizeof s->pending);
    s->pending.verb = verb;
    s->pending.op = op;
    if (s->mode == SYNC_MODE_LIST && !sync_scr_list_ready(s)) {
        screen_say(env, ROLE_WARN, "the jobs for this filter are still loading: nothing to %s",
                   sync_admin_op_name(op));
        return false;
    }
    if (s->mode == SYNC_MODE_LIST && s->bulk)
        return ask_bulk(s, op, env, out);
    if (s->mode == SYNC_MODE_LIST && table_tag_count(s->t))
        return ask_tagged(s, op, env, out);
    return ask_one(s, op, env, out);
}

/* ---- answering ---------------------------------------------------------- */

static bool confirmed(const char *text)
{
    while (*text && isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    return (n == 1 && (text[0] == 'y' || text[0] == 'Y')) ||
           (n == 3 && strncasecmp(text, "yes", 3) == 0);
}

static int send_one(sync_scr *s, const screen_env *env, enum sync_admin_op op, int64_t id,
                const char *filter, char *err, size_t errlen)
{
    command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.seq = ++s->seq;
    cmd.kind = op_kinds[op];
    cmd.target_id = id;
    snprintf(cmd.filter, sizeof cmd.filter, "%s", filter ? filter : "");
    return env->port->submit(env->port->ctx, &cmd, err, errlen);
}

unsigned sync_scr_action_answer(sync_scr *s, int verb, const char *target, const char *text,
                                const screen_env *env)
{
    sync_pending p = s->pending;
    memset(&s->pending, 0, sizeof s->pending); /* one answer per question */
    char token[32];
    snprintf(token, sizeof token, "c%" PRIu64, p.token);
    enum sync_admin_op op;
    if (!op_of(verb, &op) || !p.token || p.verb != verb || strcmp(token, target) != 0) {
        screen_say(env, ROLE_BAD, "the action lost its target; nothing was sent");
        return REACT_CHROME;
    }
    const char *name = sync_admin_op_name(op);
    if (!confirmed(text)) {
        screen_say(env, ROLE_NORMAL, "%s cancelled; nothing was sent", name);
        return REACT_CHROME;
    }
    if (!can_send(env, op))
        return REACT_CHROME;
    char err[256] = "";
    if (p.bulk) {
        if (send_one(s, env, op, 0, p.filter, err, sizeof err) < 0) {
            screen_say(env, ROLE_BAD, "%s of every job matching %s not sent: %s", name, p.filter,
                       err[0] ? err : "the engine did not take it");
            return REACT_CHROME;
        }
        screen_say(env, ROLE_NORMAL,
                   "%s of %" PRId64 " jobs matching %s sent; the engine works through them in "
                   "batches",
                   name, p.count, p.filter);
        return REACT_CHROME;
    }
    size_t sent = 0;
    for (; sent < p.n_ids; sent++)
        if (send_one(s, env, op, p.ids[sent], NULL, err, sizeof err) < 0)
            break;
    char ids[128];
    ids_text(p.ids, p.n_ids, ids, sizeof ids);
    if (sent < p.n_ids)
        screen_say(env, ROLE_BAD, "%s: sent %zu of %zu (%s): %s", name, sent, p.n_ids, ids,
                   err[0] ? err : "the engine did not take the rest");
    else
        screen_say(env, ROLE_NORMAL, "%s of %s sent; waiting for the engine", name, ids);
    return REACT_CHROME;
}
