/*
 * alerts.c - see alerts.h.
 */
#include "alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "pg.h"

/* The title as stored: at most ALERT_TITLE_MAX bytes, cut at a character
 * boundary (the column allows 200 characters). */
#define ALERT_TITLE_MAX 200
static void clip_title(const char *in, char *out)
{
    size_t n = strlen(in);
    if (n > ALERT_TITLE_MAX) {
        n = ALERT_TITLE_MAX;
        while (n > 0 && ((unsigned char)in[n] & 0xC0) == 0x80)
            n--; /* in[n] continues a character: cut before that character */
    }
    memcpy(out, in, n);
    out[n] = '\0';
}

int alert_raise(PGconn *c, const config *cfg, const alert_spec *a, int64_t *id, bool *raised,
                char *err, size_t errlen)
{
    char title[ALERT_TITLE_MAX + 1];
    clip_title(a->title && a->title[0] ? a->title : a->kind, title);
    if (raised)
        *raised = false;
    const char *account = a->account && a->account[0] ? a->account : NULL;
    const char *p[5] = {a->kind, alert_severity_name(a->severity), account, title,
                        a->details_json ? a->details_json : "{}"};
    /* Insert when none is active; otherwise refresh the active one. The
     * xmax trick tells the two apart: 0 for a row this statement made. */
    PGresult *r = pg_exec_params(c,
                                 "insert into alerts (kind, severity, account_id, title, details)"
                                 " values ($1, $2, $3, $4, $5::jsonb)"
                                 " on conflict (kind, coalesce(account_id, ''))"
                                 " where state <> 'resolved' do update set"
                                 " title = excluded.title, details = excluded.details,"
                                 " severity = excluded.severity, last_seen_at = now()"
                                 " where alerts.title is distinct from excluded.title"
                                 " or alerts.severity is distinct from excluded.severity"
                                 " returning id, xmax = 0",
                                 5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    bool inserted = PQntuples(r) == 1 && PQgetvalue(r, 0, 1)[0] == 't';
    bool changed = PQntuples(r) == 1;
    int64_t aid = changed ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    if (id)
        *id = aid;
    if (raised)
        *raised = inserted;
    /* A new alert, or one whose level (title) rose, goes out; dedupe by
     * (account, kind, level, day) keeps the second from repeating the first. */
    if (changed && cfg) {
        notify_msg m = {
            .severity = a->severity,
            .account = account,
            .rule = a->rule ? a->rule : a->kind,
            .level = a->level ? a->level : alert_severity_name(a->severity),
            .title = title,
            .body = NULL,
            .alert_id = aid,
        };
        /* notify_enqueue works in a savepoint: when it fails the alert
         * stands (the console shows it) and the failure goes to the log. */
        char nerr[256];
        if (notify_enqueue(c, cfg, &m, nerr, sizeof nerr) < 0)
            fprintf(stderr, "tradeops: alert #%lld (%s) not queued for notification: %s\n",
                    (long long)aid, a->kind, nerr);
    }
    return 0;
}

int alert_resolve(PGconn *c, const char *account, const char *const *kinds, size_t n,
                  const char *by, size_t *n_resolved, char *err, size_t errlen)
{
    if (n_resolved)
        *n_resolved = 0;
    if (n == 0)
        return 0;
    char *arr = pg_text_array_literal((char *const *)kinds, n);
    if (!arr) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *p[3] = {account && account[0] ? account : "", arr, by};
    PGresult *r = pg_exec_params(c,
                                 "update alerts set state = 'resolved', resolved_at = now(),"
                                 " resolved_by = $3 where coalesce(account_id, '') = $1"
                                 " and kind = any($2::text[]) and state <> 'resolved'",
                                 3, NULL, p, NULL, NULL, 0);
    free(arr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    if (n_resolved)
        *n_resolved = (size_t)strtoul(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}
