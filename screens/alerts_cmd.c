/*
 * alerts_cmd.c - the Alerts screen's commands: acknowledge an alert (a),
 * abort an auto-close (x), close every position of an account now (C),
 * re-arm a tripped guard (R).
 *
 * Every command captures its target when the key is pressed (the alert's
 * id, or the account) in screen_ask.target; the text typed afterwards goes
 * to the engine with that target whatever the lists did meanwhile. The
 * engine authorises, audits and decides; this screen only refuses what
 * cannot or need not be sent, and says why. Close-all and re-arm are
 * confirmed only by typing the account id exactly; anything else cancels.
 *
 * Threads: UI thread only.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "alerts_int.h"
#include "draw.h"
#include "theme.h"

/* The account an account-wide command is for: the guard shown or selected,
 * or the selected alert's account. Says why when there is none. */
static bool selected_account(const alerts_state *s, char *out, size_t cap, const char *verb,
                             const screen_env *env)
{
    if (s->detail == ALERTS_DETAIL_GUARD ||
        (s->detail == ALERTS_DETAIL_NONE && s->focus == ALERTS_PANE_GUARDS)) {
        const char *acc =
            s->detail == ALERTS_DETAIL_GUARD ? s->detail_account : table_selected_key(s->g);
        if (!acc || !acc[0]) {
            screen_say(env, ROLE_BAD, "no guard selected: nothing to %s", verb);
            return false;
        }
        snprintf(out, cap, "%s", acc);
        return true;
    }
    int64_t id;
    if (!alerts_scr_selected_alert(s, &id)) {
        screen_say(env, ROLE_BAD, "no alert selected: nothing to %s", verb);
        return false;
    }
    const alert_row *r = alerts_scr_find(s->set, id);
    if (!r) {
        screen_say(env, ROLE_BAD, "alert #%" PRId64 " is no longer listed: nothing to %s", id,
                   verb);
        return false;
    }
    if (!r->account[0]) {
        screen_say(env, ROLE_BAD, "alert #%" PRId64 " is not about one account: nothing to %s", id,
                   verb);
        return false;
    }
    snprintf(out, cap, "%s", r->account);
    return true;
}

static bool can_send(const screen_env *env, const char *what)
{
    if (env->readonly) {
        screen_say(env, ROLE_BAD, "read-only console: cannot %s", what);
        return false;
    }
    if (!env->port || !env->port->submit) {
        screen_say(env, ROLE_BAD, "no engine: cannot %s", what);
        return false;
    }
    return true;
}

static const char *dash(void)
{
    return draw_utf8() ? "\xe2\x80\x94" : "--";
}

static bool ask_ack(alerts_state *s, const screen_env *env, screen_ask *out)
{
    int64_t id;
    if (!alerts_scr_selected_alert(s, &id)) {
        screen_say(env, ROLE_BAD, "no alert selected: nothing to acknowledge");
        return false;
    }
    const alert_row *r = alerts_scr_find(s->set, id);
    if (!r) {
        screen_say(env, ROLE_BAD, "alert #%" PRId64 " is no longer listed: nothing to acknowledge",
                   id);
        return false;
    }
    if (r->state == ALERT_RESOLVED) {
        screen_say(env, ROLE_BAD, "alert #%" PRId64 " is resolved: nothing to acknowledge", id);
        return false;
    }
    if (r->state == ALERT_ACKED) {
        screen_say(env, ROLE_WARN, "alert #%" PRId64 " is already acknowledged by %s", id,
                   r->acked_by[0] ? r->acked_by : "someone");
        return false;
    }
    if (!can_send(env, "acknowledge"))
        return false;
    snprintf(out->label, sizeof out->label,
             "acknowledge #%" PRId64 " %s %s %s note (optional): ", id, r->kind,
             r->account[0] ? r->account : "-", dash());
    snprintf(out->target, sizeof out->target, "%" PRId64, id);
    return true;
}

static bool ask_abort(alerts_state *s, const screen_env *env, screen_ask *out)
{
    char acc[ALERTS_ACCOUNT_MAX];
    if (!selected_account(s, acc, sizeof acc, "abort", env))
        return false;
    const guard_row *g = alert_set_guard(s->set, acc);
    if (!alerts_scr_counting_down(g)) {
        screen_say(env, ROLE_WARN,
                   "%s has no auto-close counting down (guard %s): nothing to abort", acc,
                   g ? g->state : "unknown");
        return false;
    }
    if (!can_send(env, "abort"))
        return false;
    snprintf(out->label, sizeof out->label, "Abort auto-close of %s %s reason: ", acc, dash());
    snprintf(out->target, sizeof out->target, "%s", acc);
    return true;
}

static bool ask_close_all(alerts_state *s, const screen_env *env, screen_ask *out)
{
    char acc[ALERTS_ACCOUNT_MAX];
    if (!selected_account(s, acc, sizeof acc, "close", env))
        return false;
    long n = alerts_scr_positions_of(s->snap, acc);
    if (n == 0) {
        screen_say(env, ROLE_WARN, "%s has no open positions (as last polled): nothing to close",
                   acc);
        return false;
    }
    if (!can_send(env, "close positions"))
        return false;
    if (n > 0)
        snprintf(out->label, sizeof out->label, "Type %s to close all %ld position%s now: ", acc, n,
                 n == 1 ? "" : "s");
    else
        snprintf(out->label, sizeof out->label, "Type %s to close all its positions now: ", acc);
    snprintf(out->target, sizeof out->target, "%s", acc);
    return true;
}

static bool ask_rearm(alerts_state *s, const screen_env *env, screen_ask *out)
{
    char acc[ALERTS_ACCOUNT_MAX];
    if (!selected_account(s, acc, sizeof acc, "re-arm", env))
        return false;
    /* The engine's rule, checked here only to spare a pointless prompt. */
    const guard_row *g = alert_set_guard(s->set, acc);
    if (g && strcmp(g->state, "closed") != 0 && strcmp(g->state, "aborted") != 0 &&
        strcmp(g->state, "breached") != 0) {
        screen_say(env, ROLE_WARN,
                   "%s's guard is %s: only a closed, aborted or breached guard is re-armed", acc,
                   g->state);
        return false;
    }
    if (!can_send(env, "re-arm"))
        return false;
    snprintf(out->label, sizeof out->label, "Type %s to re-arm its guard: ", acc);
    snprintf(out->target, sizeof out->target, "%s", acc);
    return true;
}

static bool blank(const char *text)
{
    for (; *text; text++)
        if (!isspace((unsigned char)*text))
            return false;
    return true;
}

static unsigned submit(alerts_state *s, command *cmd, const char *what, const screen_env *env)
{
    cmd->seq = ++s->seq;
    char err[256] = "";
    if (env->port->submit(env->port->ctx, cmd, err, sizeof err) < 0) {
        screen_say(env, ROLE_BAD, "%s not sent: %s", what,
                   err[0] ? err : "the engine did not take it");
        return REACT_CHROME;
    }
    screen_say(env, ROLE_NORMAL, "%s sent; waiting for the engine", what);
    return REACT_CHROME;
}

static unsigned answer_ack(alerts_state *s, const char *target, const char *note,
                           const screen_env *env)
{
    char *end;
    long long id = strtoll(target, &end, 10);
    if (!target[0] || *end) {
        screen_say(env, ROLE_BAD, "acknowledge: lost its target; nothing was sent");
        return REACT_CHROME;
    }
    if (!can_send(env, "acknowledge"))
        return REACT_CHROME;
    command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.kind = CMD_ALERT_ACK;
    cmd.target_id = id;
    if (!blank(note))
        snprintf(cmd.note, sizeof cmd.note, "%s", note);
    char what[64];
    snprintf(what, sizeof what, "acknowledge #%lld", id);
    return submit(s, &cmd, what, env);
}

static unsigned answer_account(alerts_state *s, int verb, const char *account, const char *text,
                               const screen_env *env)
{
    const char *name = verb == VERB_ABORT       ? "abort of the auto-close"
                       : verb == VERB_CLOSE_ALL ? "close-all"
                                                : "re-arm";
    if (!account[0]) {
        screen_say(env, ROLE_BAD, "%s: lost its target; nothing was sent", name);
        return REACT_CHROME;
    }
    command cmd;
    memset(&cmd, 0, sizeof cmd);
    snprintf(cmd.account, sizeof cmd.account, "%s", account);
    if (verb == VERB_ABORT) {
        if (blank(text)) {
            screen_say(env, ROLE_BAD, "abort of %s: a reason is required; nothing was sent",
                       account);
            return REACT_CHROME;
        }
        cmd.kind = CMD_GUARD_ABORT;
        snprintf(cmd.note, sizeof cmd.note, "%s", text);
    } else {
        /* Only the exact id confirms: a slip of the finger cancels. */
        if (strcmp(text, account) != 0) {
            screen_say(env, ROLE_WARN,
                       "%s of %s cancelled: the typed id did not match; nothing "
                       "was sent",
                       name, account);
            return REACT_CHROME;
        }
        cmd.kind = verb == VERB_CLOSE_ALL ? CMD_GUARD_CLOSE_ALL : CMD_GUARD_REARM;
    }
    if (!can_send(env, verb == VERB_ABORT ? "abort" : name))
        return REACT_CHROME;
    char what[128];
    snprintf(what, sizeof what, "%s of %s", name, account);
    return submit(s, &cmd, what, env);
}

bool alerts_scr_command_ask(alerts_state *s, int verb, const screen_env *env, screen_ask *out)
{
    switch (verb) {
    case VERB_ACK: return ask_ack(s, env, out);
    case VERB_ABORT: return ask_abort(s, env, out);
    case VERB_CLOSE_ALL: return ask_close_all(s, env, out);
    case VERB_REARM: return ask_rearm(s, env, out);
    default: return false;
    }
}

unsigned alerts_scr_command_answer(alerts_state *s, int verb, const char *target, const char *text,
                                   const screen_env *env)
{
    if (verb == VERB_ACK)
        return answer_ack(s, target, text, env);
    return answer_account(s, verb, target, text, env);
}
