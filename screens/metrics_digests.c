/*
 * metrics_digests.c - the Metrics screen's digests view (metrics_int.h):
 * the scheduled digests and messages (name, kind, schedule, scope,
 * destinations, next run, last run and its status), the preview of the
 * selected one as it would be posted now (asked from the digest loader
 * with model_digest_request when the selection changes or on Enter), and
 * N: "send digest NAME now? (y/N)", which submits CMD_DIGEST_SEND for the
 * name captured when asked. Read-only consoles never see N (the action
 * table marks it dangerous).
 *
 * Threads: UI thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "action.h"
#include "draw.h"
#include "metrics_int.h"
#include "theme.h"

struct metrics_digests {
    size_t sel;          /* selected row */
    char sel_name[64];   /* its name, to keep the selection across reloads */
    char asked[64];      /* the preview last asked for */
    size_t top;          /* first row shown */
};

static const digest_set *set_of(const screen_env *env)
{
    return env && env->snap ? env->snap->digests : NULL;
}

metrics_digests *metrics_digests_new(void)
{
    return calloc(1, sizeof(metrics_digests));
}

void metrics_digests_free(metrics_digests *d)
{
    free(d);
}

/* Asks for the selected digest's preview unless already asked. */
static void ask_preview(metrics_digests *d, const screen_env *env, bool again)
{
    const digest_set *s = set_of(env);
    const char *name = s && d->sel < s->n_rows ? s->rows[d->sel].name : "";
    if (!env || !env->model || (!again && strcmp(name, d->asked) == 0))
        return;
    snprintf(d->asked, sizeof d->asked, "%s", name);
    model_digest_request(env->model, name);
}

void metrics_digests_open(metrics_digests *d, const screen_env *env)
{
    d->asked[0] = '\0';
    ask_preview(d, env, true);
}

void metrics_digests_close(metrics_digests *d, const screen_env *env)
{
    d->asked[0] = '\0';
    /* No preview wanted any more: the loader stops rendering one. */
    if (env && env->model)
        model_digest_request(env->model, "");
}

int metrics_digests_update(metrics_digests *d, const screen_env *env)
{
    const digest_set *s = set_of(env);
    if (!s)
        return 0;
    /* Keep the selection on the same name when rows move. */
    for (size_t i = 0; i < s->n_rows; i++)
        if (strcmp(s->rows[i].name, d->sel_name) == 0)
            d->sel = i;
    if (d->sel >= s->n_rows)
        d->sel = s->n_rows ? s->n_rows - 1 : 0;
    snprintf(d->sel_name, sizeof d->sel_name, "%s", s->n_rows ? s->rows[d->sel].name : "");
    return 0;
}

static void when(int64_t ms, int64_t now, char *buf, size_t cap)
{
    if (ms <= 0) {
        snprintf(buf, cap, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    bool today = now / 86400000 == ms / 86400000;
    strftime(buf, cap, today ? "%H:%M UTC" : "%m-%d %H:%M", &tm);
}

int64_t metrics_digests_draw(metrics_digests *d, WINDOW *w, int y, int x, int h, int width,
                             const screen_env *env)
{
    const digest_set *s = set_of(env);
    for (int r = 0; r < h; r++)
        draw_blank(w, y + r, x, width, theme_attr(ROLE_NORMAL));
    if (h < 3 || width < 20)
        return INT64_MAX;
    if (!s) {
        draw_text(w, y, x, width, "digests: loading...", theme_attr(ROLE_DIM), 0);
        return INT64_MAX;
    }
    char line[DRAW_MAX_TEXT], clean[DRAW_MAX_TEXT];
    if (s->error[0]) {
        draw_clean(s->error, clean, 400);
        snprintf(line, sizeof line, "digests: %.400s", clean);
        draw_text(w, y + h - 1, x, width, line, theme_attr(ROLE_BAD), 0);
        h--;
    }
    snprintf(line, sizeof line, "%-18s %-8s %-26s %-16s %-15s %-11s %s", "Digest", "Kind",
             "Schedule", "Scope", "To", "Next", "Last run");
    draw_text(w, y, x, width, line, theme_attr(ROLE_HEADER), DRAW_PAD);
    if (s->n_rows == 0) {
        draw_text(w, y + 1, x, width,
                  "no digests: tradeops digest add NAME --kind daily --at 18:00 --tz UTC ...",
                  theme_attr(ROLE_DIM), 0);
        return INT64_MAX;
    }
    int list_h = (int)s->n_rows < (h - 1) / 2 ? (int)s->n_rows : (h - 1) / 2;
    if (list_h < 1)
        list_h = 1;
    if (d->sel < d->top)
        d->top = d->sel;
    if (d->sel >= d->top + (size_t)list_h)
        d->top = d->sel - (size_t)list_h + 1;
    for (int r = 0; r < list_h && d->top + (size_t)r < s->n_rows; r++) {
        size_t i = d->top + (size_t)r;
        const digest_row *row = &s->rows[i];
        char next[24], last[24], status[200];
        when(row->next_ms, env->now_ms, next, sizeof next);
        when(row->last_ms, env->now_ms, last, sizeof last);
        snprintf(status, sizeof status, "%s%s%s%s", row->enabled ? "" : "disabled ",
                 row->last_ms ? last : "never", row->last_status[0] ? " " : "",
                 row->last_status);
        char scope[sizeof row->scope];
        if (row->group[0])
            snprintf(scope, sizeof scope, "group %s", row->group);
        else
            snprintf(scope, sizeof scope, "%s", row->scope);
        snprintf(line, sizeof line, "%-18.18s %-8s %-26.26s %-16.16s %-15s %-11s %s", row->name,
                 row->kind, row->schedule, scope, row->destinations,
                 row->enabled ? next : "-", status);
        draw_clean(line, clean, sizeof clean);
        int role = i == d->sel                             ? ROLE_SELECTED
                   : strcmp(row->last_status, "failed") == 0 ? ROLE_BAD
                   : row->enabled                          ? ROLE_NORMAL
                                                           : ROLE_DIM;
        draw_text(w, y + 1 + r, x, width, clean, theme_attr(role), DRAW_PAD);
    }
    /* The preview of the selected digest. */
    int py = y + 1 + list_h + 1;
    int ph = y + h - py;
    if (ph < 1)
        return INT64_MAX;
    const digest_row *sel = &s->rows[d->sel < s->n_rows ? d->sel : 0];
    draw_lines k = {.w = w, .y = py, .x = x, .h = ph, .width = width, .top = 0};
    char head[160];
    snprintf(head, sizeof head, "preview of %s", sel->name);
    draw_clean(head, clean, sizeof clean);
    draw_lines_raw(&k, NULL, clean, theme_attr(ROLE_HEADER));
    if (sel->last_error[0])
        draw_lines_field(&k, "last error", sel->last_error, theme_attr(ROLE_BAD));
    if (strcmp(s->preview_name, sel->name) != 0) {
        draw_lines_raw(&k, NULL, "loading...", theme_attr(ROLE_DIM));
    } else if (!s->preview) {
        draw_lines_field(&k, "no preview", s->preview_error[0] ? s->preview_error : "-",
                         theme_attr(ROLE_WARN));
    } else {
        /* Line by line: each is cleaned (controls, bidi) before the terminal. */
        for (const char *p = s->preview; *p;) {
            size_t n = strcspn(p, "\n");
            char one[DRAW_MAX_TEXT];
            snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), p);
            draw_clean(one, clean, sizeof clean);
            draw_lines_raw(&k, NULL, clean, theme_attr(ROLE_NORMAL));
            p += n;
            if (*p == '\n')
                p++;
        }
    }
    return INT64_MAX;
}

unsigned long metrics_digests_verbs(const metrics_digests *d)
{
    (void)d;
    return VERB_MOVE_BITS | VERB_BIT(VERB_ENTER) | VERB_BIT(VERB_SEND);
}

unsigned metrics_digests_handle(metrics_digests *d, int verb, const char *arg,
                                const screen_env *env)
{
    (void)arg;
    const digest_set *s = set_of(env);
    size_t n = s ? s->n_rows : 0;
    size_t old = d->sel;
    switch (verb) {
    case VERB_UP: d->sel = d->sel ? d->sel - 1 : 0; break;
    case VERB_DOWN: d->sel = d->sel + 1 < n ? d->sel + 1 : d->sel; break;
    case VERB_PGUP: d->sel = d->sel > 10 ? d->sel - 10 : 0; break;
    case VERB_PGDN: d->sel = n && d->sel + 10 < n ? d->sel + 10 : (n ? n - 1 : 0); break;
    case VERB_HOME: d->sel = 0; break;
    case VERB_END: d->sel = n ? n - 1 : 0; break;
    case VERB_ENTER: ask_preview(d, env, true); return REACT_REDRAW;
    default: return REACT_PASS;
    }
    if (n)
        snprintf(d->sel_name, sizeof d->sel_name, "%s", s->rows[d->sel].name);
    if (d->sel != old)
        ask_preview(d, env, false);
    return REACT_REDRAW;
}

bool metrics_digests_ask(metrics_digests *d, int verb, const screen_env *env, screen_ask *out)
{
    if (verb != VERB_SEND)
        return false;
    const digest_set *s = set_of(env);
    if (env->readonly) {
        screen_say(env, ROLE_BAD, "read-only console: cannot send digests");
        return false;
    }
    if (!env->port || !env->port->submit) {
        screen_say(env, ROLE_BAD, "no engine: cannot send digests");
        return false;
    }
    if (!s || d->sel >= s->n_rows) {
        screen_say(env, ROLE_BAD, "no digest selected: nothing to send");
        return false;
    }
    const char *name = s->rows[d->sel].name;
    snprintf(out->label, sizeof out->label, "send digest %s now? (y/N) ", name);
    out->initial[0] = '\0';
    snprintf(out->target, sizeof out->target, "%s", name);
    return true;
}

static bool yes(const char *t)
{
    while (*t == ' ')
        t++;
    size_t n = strcspn(t, " ");
    return (n == 1 && (t[0] == 'y' || t[0] == 'Y')) || (n == 3 && strncasecmp(t, "yes", 3) == 0);
}

unsigned metrics_digests_answer(metrics_digests *d, int verb, const char *target, const char *text,
                                const screen_env *env)
{
    (void)d;
    if (verb != VERB_SEND)
        return REACT_NONE;
    char name[64];
    draw_clean(target ? target : "", name, sizeof name);
    if (!target || !target[0]) {
        screen_say(env, ROLE_BAD, "the send lost its digest; nothing was sent");
        return REACT_CHROME;
    }
    if (!yes(text ? text : "")) {
        screen_say(env, ROLE_NORMAL, "send of digest %s cancelled; nothing was sent", name);
        return REACT_CHROME;
    }
    if (!env->port || !env->port->submit) {
        screen_say(env, ROLE_BAD, "no engine: cannot send digests");
        return REACT_CHROME;
    }
    command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.kind = CMD_DIGEST_SEND;
    snprintf(cmd.name, sizeof cmd.name, "%s", target);
    char err[200];
    if (env->port->submit(env->port->ctx, &cmd, err, sizeof err) != 0)
        screen_say(env, ROLE_BAD, "digest %s not sent: %s", name, err);
    else
        screen_say(env, ROLE_NORMAL, "digest %s: send requested; waiting for the engine", name);
    return REACT_CHROME;
}
