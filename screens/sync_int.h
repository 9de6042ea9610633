/*
 * sync_int.h - the Sync screen's insides, shared by sync.c (data, keys,
 * views), sync_filter.c (filters), sync_cmd.c (the operator's actions on
 * jobs) and sync_draw.c (painting). Nothing else includes it.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_SCREENS_SYNC_INT_H
#define TRADEOPS_SCREENS_SYNC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "screen.h"
#include "sync_queue.h"
#include "table.h"

/* Tagged jobs acted on at once, one command each: below the engine's
 * command queue (COMMAND_QUEUE_CAP); more is a job for a filter and b. */
#define SYNC_TAG_ACTION_MAX 50
/* Ids a confirmation names before "and N more". */
#define SYNC_CONFIRM_IDS 5

enum sync_col {
    SC_ID,
    SC_STATE,
    SC_PROVIDER,
    SC_ACCOUNT,
    SC_POSITION,
    SC_SYMBOL,
    SC_ATTEMPT,
    SC_AGE,
    SC_ERROR,
    SC_NCOLS
};

enum sync_group_col { SG_CLASS, SG_COUNT, SG_SAMPLE_ID, SG_STATUS, SG_SAMPLE, SG_NCOLS };

enum sync_mode { SYNC_MODE_LIST = 0, SYNC_MODE_ERRORS, SYNC_MODE_DETAIL };

/* What a confirmation captured when its key was pressed: the answer acts
 * on exactly this, whatever the list did while the operator read. */
typedef struct sync_pending {
    uint64_t token;         /* named in screen_ask.target; 0: none */
    int verb;
    enum sync_admin_op op;
    bool bulk;              /* every job the filter matched */
    char filter[SYNC_FILTER_TEXT]; /* bulk: the canonical filter text */
    int64_t count;          /* bulk: jobs the op applied to when asked */
    int64_t ids[SYNC_TAG_ACTION_MAX];
    size_t n_ids;
} sync_pending;

typedef struct sync_scr {
    table *t;                   /* the jobs the set holds */
    table *g;                   /* the error analysis (set->groups) */
    const model_snapshot *snap; /* held by the console until the next update */
    const sync_set *set;        /* snap->sync, NULL before the first load */
    int64_t now_ms;
    bool readonly;              /* as last drawn */

    sync_filter filter;         /* what the operator asked for */
    uint64_t list_want;         /* the request that asked for it (0: the initial "all") */
    enum sync_mode mode;
    int64_t detail_id;
    uint64_t detail_want;
    size_t detail_top;
    bool bulk;                  /* the next job action applies to every matching job */

    sync_pending pending;
    uint64_t seq;               /* numbers this screen's commands and confirmations */
} sync_scr;

/* sync.c */
const sync_row *sync_scr_find(const sync_set *set, int64_t id);
/* The set answers the operator's filter (not still loading it). */
bool sync_scr_list_ready(const sync_scr *s);
/* The detail view's data, or NULL while it loads (or without an engine). */
const sync_detail *sync_scr_detail(const sync_scr *s);
/* The state word ("dead", "retryable!") and its role. */
const char *sync_scr_state_text(enum sync_state st, bool breached, char *buf, size_t cap,
                                int *role);
bool sync_scr_selected_id(const sync_scr *s, int64_t *id);
/* Sends the current filter (and detail job) to the sync view thread. */
bool sync_scr_request(sync_scr *s, const screen_env *env, bool list_changed);
/* The canonical filter text; "all" when it names every job. */
void sync_scr_filter_text(const sync_filter *f, char *buf, size_t cap);
/* Hands the set's rows and groups to the tables (none while loading). */
int sync_scr_rebuild(sync_scr *s);

/* sync_filter.c: VERB_FILTER, VERB_ACCOUNT (arg: the text typed) and the
 * three cycles; Enter on an error class. */
unsigned sync_scr_filter_verb(sync_scr *s, int verb, const char *arg, const screen_env *env);
unsigned sync_scr_pick_group(sync_scr *s, const screen_env *env);

/* sync_cmd.c: the job actions' verbs live now, ask and answer. */
unsigned long sync_scr_action_verbs(const sync_scr *s);
bool sync_scr_action_ask(sync_scr *s, int verb, const screen_env *env, screen_ask *out);
unsigned sync_scr_action_answer(sync_scr *s, int verb, const char *target, const char *text,
                                const screen_env *env);
/* Jobs the bulk op would apply to: matching jobs in states it allows. */
int64_t sync_scr_bulk_count(const sync_set *set, enum sync_admin_op op);

/* sync_draw.c */
int64_t sync_scr_draw_list(sync_scr *s, WINDOW *w, int y, int x, int h, int width);
int64_t sync_scr_draw_errors(sync_scr *s, WINDOW *w, int y, int x, int h, int width);
int64_t sync_scr_draw_detail(sync_scr *s, WINDOW *w, int y, int x, int h, int width);

#endif
