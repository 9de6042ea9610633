/*
 * sync_filter.c - the Sync screen's filters: / (key=value words, or plain
 * words searched in symbol, position, account and error), o (state), P
 * (journal), A (account), K (error class), and Enter on an error class.
 *
 * The screen never filters rows itself: each change is sent to the sync
 * view thread (model_sync_request), which loads the matching jobs from
 * PostgreSQL; until a set answering that request arrives the table says
 * "loading" and offers no action. A filter that does not parse is refused
 * with the parser's words and the current one stays.
 *
 * Threads: UI thread only.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "action.h"
#include "sanitize.h"
#include "sync_int.h"
#include "theme.h"

static void trim(const char *in, char *out, size_t cap)
{
    while (*in && isspace((unsigned char)*in))
        in++;
    snprintf(out, cap, "%s", in);
    size_t len = strlen(out);
    while (len && isspace((unsigned char)out[len - 1]))
        out[--len] = '\0';
}

/* The filter changed: ask for it (rows show "loading" until it comes). */
static unsigned filter_changed(sync_scr *s, const sync_filter *f, const screen_env *env)
{
    if (!env->model) {
        screen_say(env, ROLE_BAD, "no engine: jobs cannot be loaded for another filter");
        return REACT_CHROME;
    }
    s->filter = *f;
    s->bulk = false;
    sync_scr_request(s, env, true);
    sync_scr_rebuild(s);
    table_home(s->t);
    return REACT_REDRAW | REACT_CHROME;
}

static unsigned apply_text(sync_scr *s, const char *arg, const screen_env *env)
{
    char text[SCREEN_TEXT_MAX], err[256];
    trim(arg ? arg : "", text, sizeof text);
    sync_filter f;
    if (sync_filter_parse(text, &f, err, sizeof err) != 0) {
        if (strchr(text, '=')) {
            screen_say(env, ROLE_BAD, "%s (the filter is unchanged)", err);
            return REACT_CHROME;
        }
        /* Plain words: a search over symbol, position, account and error,
         * within the other filters. */
        f = s->filter;
        if (strlen(text) >= sizeof f.text || !sanitize_is_clean(text)) {
            screen_say(env, ROLE_BAD, "search text: at most %zu printable bytes (unchanged)",
                       sizeof f.text - 1);
            return REACT_CHROME;
        }
        memcpy(f.text, text, strlen(text) + 1); /* fits: checked above */
    }
    return filter_changed(s, &f, env);
}

static unsigned cycle(sync_scr *s, int verb, const screen_env *env)
{
    sync_filter f = s->filter;
    const unsigned failed = (1u << SYNC_RETRYABLE) | (1u << SYNC_DEAD);
    switch (verb) {
    case VERB_CYCLE_JOB_STATE:
        /* all, failed, then each state alone, then all again */
        if (!f.states) {
            f.states = failed;
        } else if (f.states == failed) {
            f.states = 1u << 0;
        } else {
            int one = -1;
            for (int i = 0; i < SYNC_STATE_COUNT; i++)
                if (f.states == 1u << i)
                    one = i;
            f.states = one >= 0 && one + 1 < SYNC_STATE_COUNT ? 1u << (one + 1) : 0;
        }
        break;
    case VERB_CYCLE_PROVIDER:
        f.provider = f.provider + 1 >= SYNC_PROVIDER_COUNT ? -1 : f.provider + 1;
        break;
    case VERB_CYCLE_CLASS:
        /* NONE is "no failure", not a class one filters by */
        f.error_class = f.error_class < 0 ? SYNC_ERR_NONE + 1
                        : f.error_class + 1 >= SYNC_ERR_CLASS_COUNT ? -1
                                                                    : f.error_class + 1;
        break;
    default: return REACT_NONE;
    }
    return filter_changed(s, &f, env);
}

static unsigned set_account(sync_scr *s, const char *arg, const screen_env *env)
{
    sync_filter f = s->filter;
    char acc[SCREEN_TEXT_MAX];
    trim(arg ? arg : "", acc, sizeof acc);
    if (strlen(acc) >= sizeof f.account || strpbrk(acc, " \"") || !sanitize_is_clean(acc)) {
        screen_say(env, ROLE_BAD, "account: an id of 1-%zu characters without spaces (unchanged)",
                   sizeof f.account - 1);
        return REACT_CHROME;
    }
    memcpy(f.account, acc, strlen(acc) + 1); /* fits: checked above */
    return filter_changed(s, &f, env);
}

/* Enter on an error class: its failed jobs, back in the job table. */
unsigned sync_scr_pick_group(sync_scr *s, const screen_env *env)
{
    const char *key = table_selected_key(s->g);
    if (!key) {
        screen_say(env, ROLE_WARN, "no failed job: no error class to show");
        return REACT_CHROME;
    }
    sync_filter f;
    sync_filter_init(&f);
    f.states = (1u << SYNC_RETRYABLE) | (1u << SYNC_DEAD);
    enum sync_error_class c;
    if (sync_error_class_parse(key, &c) == 0)
        f.error_class = (int)c;
    else
        screen_say(env, ROLE_WARN, "these jobs have no error class: showing every failed job");
    s->mode = SYNC_MODE_LIST;
    unsigned r = filter_changed(s, &f, env);
    return r | REACT_REDRAW | REACT_CHROME;
}

unsigned sync_scr_filter_verb(sync_scr *s, int verb, const char *arg, const screen_env *env)
{
    switch (verb) {
    case VERB_FILTER: return apply_text(s, arg, env);
    case VERB_ACCOUNT: return set_account(s, arg, env);
    default: return cycle(s, verb, env);
    }
}
