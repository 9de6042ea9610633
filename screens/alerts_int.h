/*
 * alerts_int.h - the Alerts screen's insides, shared by alerts.c (data,
 * filters, keys), alerts_cmd.c (the operator's commands) and alerts_draw.c
 * (painting). Nothing else includes it.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_SCREENS_ALERTS_INT_H
#define TRADEOPS_SCREENS_ALERTS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "screen.h"
#include "table.h"

#define ALERTS_MS_PER_SECOND 1000
#define ALERTS_ACCOUNT_MAX sizeof(((alert_row *)0)->account)

enum alerts_col {
    AC_SEVERITY,
    AC_KIND,
    AC_ACCOUNT,
    AC_TITLE,
    AC_AGE,
    AC_STATE,
    AC_COUNT,
    AC_ID,
    AC_NCOLS
};

enum guards_col {
    GC_ACCOUNT,
    GC_STATE,
    GC_EQUITY,
    GC_FLOOR,
    GC_DAILY,
    GC_USED,
    GC_RULE,
    GC_OWNER,
    GC_WHY,
    GC_NCOLS
};

/* The guard panel sits above the alerts; Tab goes from the alerts (where
 * the screen opens) to the guards, then on to the next screen. */
enum alerts_pane { ALERTS_PANE_ALERTS = 0, ALERTS_PANE_GUARDS };

enum alerts_detail { ALERTS_DETAIL_NONE = 0, ALERTS_DETAIL_ALERT, ALERTS_DETAIL_GUARD };

typedef struct alerts_state {
    table *t;                   /* the alerts */
    table *g;                   /* the guards that are not ok */
    const model_snapshot *snap; /* held by the console until the next update */
    const alert_set *set;       /* snap->alerts, NULL before the first load */
    int64_t now_ms;
    bool readonly; /* as last drawn: hints name only keys that exist */

    /* Indexes into set->rows that pass the history switch and the filter,
     * in the table's source order: active ones by severity, then newest;
     * with history, everything newest first. Rebuilt only on new data or a
     * filter change, so moving never reorders. */
    size_t *shown;
    size_t n_shown, cap_shown;
    /* Indexes into set->guards whose state is not ok (by account). */
    size_t *gshown;
    size_t n_gshown, cap_gshown;

    bool history;
    char filter[TABLE_FILTER_MAX]; /* over kind, account and title */
    enum alerts_pane focus;

    /* The detail view shows this alert (by id) or this account's guard,
     * whatever the lists do. detail_top scrolls it. */
    enum alerts_detail detail;
    int64_t detail_id;
    char detail_account[ALERTS_ACCOUNT_MAX];
    size_t detail_top;

    uint64_t seq; /* numbers this screen's commands */
} alerts_state;

/* alerts.c */
const alert_row *alerts_scr_find(const alert_set *set, int64_t id);
bool alerts_scr_guard_ok(const guard_row *g);
bool alerts_scr_counting_down(const guard_row *g);
/* Whole seconds left of a countdown (rounded up), 0 when due. */
int64_t alerts_scr_countdown_left(const guard_row *g, int64_t now_ms);
/* "!! CRIT", "!  warn", "-  info" and the role to show it in. */
const char *alerts_scr_severity_text(enum alert_severity sev, int *role);
/* Positions the snapshot holds for account; -1 when the account is not in it. */
long alerts_scr_positions_of(const model_snapshot *snap, const char *account);

bool alerts_scr_selected_alert(const alerts_state *s, int64_t *id);

/* alerts_cmd.c: ask and answer of VERB_ACK, VERB_ABORT, VERB_CLOSE_ALL and
 * VERB_REARM (screen_ops.ask and .answer for those verbs). */
bool alerts_scr_command_ask(alerts_state *s, int verb, const screen_env *env, screen_ask *out);
unsigned alerts_scr_command_answer(alerts_state *s, int verb, const char *target, const char *text,
                                   const screen_env *env);

/* alerts_draw.c */
int64_t alerts_scr_draw_list(alerts_state *s, WINDOW *w, int y, int x, int h, int width);
int64_t alerts_scr_draw_detail(alerts_state *s, WINDOW *w, int y, int x, int h, int width);
/* When the shown countdowns next change (the next whole second, or sooner
 * when a countdown's number turns before it); INT64_MAX when none runs. */
int64_t alerts_scr_next_tick(const alerts_state *s);

#endif
