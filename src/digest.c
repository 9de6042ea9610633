/*
 * digest.c - digest definitions: checking a template, adding, removing,
 * enabling and disabling (each with its audit record, in one transaction,
 * as `account set-sync` does), and the slot of a schedule. See digest.h.
 *
 * Threads: the caller's connection only; no shared state.
 */
#include "digest.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "pg.h"
#include "sanitize.h"
#include "template.h"

static const char *const MESSAGE_FIELDS[] = {"account", "period", "period_start", "period_end"};

int digest_check_template(const char *kind, const char *text, char *err, size_t errlen)
{
    size_t n_known;
    const char *const *known = template_metrics_fields(&n_known);
    bool message = strcmp(kind, "message") == 0;
    if (message)
        known = MESSAGE_FIELDS, n_known = sizeof MESSAGE_FIELDS / sizeof MESSAGE_FIELDS[0];
    template *t = NULL;
    if (template_compile(text, known, n_known, &t, err, errlen) != 0)
        return -1;
    int rc = template_metrics_check(t, err, errlen);
    template_free(t);
    return rc;
}

int digest_weekday_parse(const char *s)
{
    static const char *const NAMES[] = {"monday", "tuesday",  "wednesday", "thursday",
                                        "friday", "saturday", "sunday"};
    if (!s || !*s)
        return 0;
    if (s[0] >= '1' && s[0] <= '7' && s[1] == '\0')
        return s[0] - '0';
    size_t n = strlen(s);
    if (n < 3)
        return 0;
    for (int i = 0; i < 7; i++)
        if (n <= strlen(NAMES[i]) && strncasecmp(s, NAMES[i], n) == 0)
            return i + 1;
    return 0;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 48 || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._:-", s[i]))
            return false;
    return true;
}

static bool time_ok(const char *s)
{
    return strlen(s) == 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
           s[2] == ':' && isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) &&
           (s[0] - '0') * 10 + (s[1] - '0') < 24 && s[3] < '6';
}

/* "telegram,slack" with no repeats and nothing else. */
static bool destinations_ok(const char *s)
{
    bool tg = false, sl = false;
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 8 && strncmp(p, "telegram", 8) == 0 && !tg)
            tg = true;
        else if (n == 5 && strncmp(p, "slack", 5) == 0 && !sl)
            sl = true;
        else
            return false;
        p += n;
        if (*p == ',' && *++p == '\0')
            return false;
    }
    return tg || sl;
}

/* Checks what needs the database: the zone and the accounts. 0, 1 bad
 * (err), -1 failure. */
static int check_in_db(PGconn *c, const digest_spec *s, char *err, size_t errlen)
{
    const char *p[1] = {s->tz};
    PGresult *r = pg_query(c, "select digest_tz_ok($1)", 1, p, err, errlen);
    if (!r)
        return -1;
    bool ok = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!ok) {
        char clean[64];
        sanitize_text(s->tz, clean, sizeof clean, true);
        snprintf(err, errlen,
                 "unknown time zone \"%s\": use a name from the tz database, e.g. UTC, "
                 "Europe/Prague, America/New_York",
                 clean);
        return 1;
    }
    p[0] = s->accounts;
    r = pg_query(c,
              "select x from unnest(string_to_array(nullif($1, ''), ',')) x"
              " where not exists (select 1 from accounts a where a.id = x) limit 1",
              1, p, err, errlen);
    if (!r)
        return -1;
    if (PQntuples(r) > 0) {
        char clean[80];
        sanitize_text(PQgetvalue(r, 0, 0), clean, sizeof clean, true);
        snprintf(err, errlen, "no such account \"%s\" (--accounts takes account ids, a,b)", clean);
        PQclear(r);
        return 1;
    }
    PQclear(r);
    return 0;
}

/* Checks the spec without the database. 0, or 1 with err. */
static bool group_ok(const char *g)
{
    size_t n = strlen(g);
    if (n < 1 || n > 64)
        return false;
    for (const unsigned char *p = (const unsigned char *)g; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static int check_spec(const digest_spec *s, char *err, size_t errlen)
{
    char tpl_err[400];
    if (!name_ok(s->name))
        snprintf(err, errlen,
                 "bad digest name: 1-48 letters, digits and . _ : - starting with a letter or "
                 "digit");
    else if (strcmp(s->kind, "daily") && strcmp(s->kind, "weekly") && strcmp(s->kind, "message"))
        snprintf(err, errlen, "--kind must be daily, weekly or message");
    else if (!time_ok(s->at))
        snprintf(err, errlen, "--at must be a local time HH:MM (00:00 to 23:59)");
    else if (strcmp(s->kind, "weekly") == 0 && s->weekday == 0)
        snprintf(err, errlen, "a weekly digest needs --weekday (Mon..Sun)");
    else if (strcmp(s->kind, "daily") == 0 && s->weekday != 0)
        snprintf(err, errlen, "a daily digest takes no --weekday (use --kind weekly)");
    else if (!s->tz[0] || strlen(s->tz) > 60)
        snprintf(err, errlen, "--tz is required: a time zone name such as Europe/Prague or UTC");
    else if (!destinations_ok(s->destinations))
        snprintf(err, errlen, "--to must be telegram, slack or telegram,slack");
    else if (s->group[0] && strcmp(s->kind, "message") == 0)
        snprintf(err, errlen, "--group is for daily and weekly digests (a message posts once)");
    else if (s->group[0] && !group_ok(s->group))
        snprintf(err, errlen, "--group must be 1-64 characters without control characters");
    else if (!s->template_text || !*s->template_text)
        snprintf(err, errlen, "the template is empty");
    else if (digest_check_template(s->kind, s->template_text, tpl_err, sizeof tpl_err) != 0)
        snprintf(err, errlen, "bad template: %s", tpl_err);
    else
        return 0;
    return 1;
}

static char *spec_details(const digest_spec *s)
{
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return NULL;
    cJSON_AddStringToObject(d, "kind", s->kind);
    cJSON_AddStringToObject(d, "at", s->at);
    if (s->weekday)
        cJSON_AddNumberToObject(d, "weekday", s->weekday);
    cJSON_AddStringToObject(d, "tz", s->tz);
    cJSON_AddStringToObject(d, "accounts", s->accounts[0] ? s->accounts : "all");
    if (s->group[0])
        cJSON_AddStringToObject(d, "group", s->group);
    cJSON_AddStringToObject(d, "to", s->destinations);
    char *js = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return js;
}

/* Audits a refused definition on its own (committed). */
static void audit_failed(PGconn *c, const operator_id *op, const char *action, const char *name,
                         const char *why)
{
    char aerr[256], target[80], reason[300];
    sanitize_text(name, target, sizeof target, true);
    sanitize_text(why, reason, sizeof reason, true);
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(pg_exec(c, "rollback"));
    if (audit_write(c, op, action, target[0] ? target : NULL, reason, "failed", NULL, aerr,
                    sizeof aerr) != 0)
        fprintf(stderr, "tradeops: the refusal could not be audited: %s\n", aerr);
}

int digest_add(PGconn *c, const operator_id *op, const digest_spec *s, char *err, size_t errlen)
{
    int rc = check_spec(s, err, errlen);
    if (rc == 0)
        rc = check_in_db(c, s, err, errlen);
    if (rc != 0) {
        if (rc > 0)
            audit_failed(c, op, "digest.add", s->name, err);
        return rc;
    }
    char wd[4];
    snprintf(wd, sizeof wd, "%d", s->weekday);
    char *details = spec_details(s);
    const char *p[10] = {s->name,         s->kind,          s->at,     wd,      s->tz, s->accounts,
                         s->template_text, s->destinations, op->actor, s->group};
    if (pg_exec_ok(c, "begin", err, errlen) != 0) {
        free(details);
        return -1;
    }
    PGresult *r = pg_query(c,
                        "insert into digests (name, kind, at_time, weekday, tz, accounts,"
                        " template, destinations, created_by, group_name) values ($1, $2,"
                        " $3::time, nullif($4, '0')::smallint, $5,"
                        " coalesce(string_to_array(nullif($6, ''), ','), '{}'), $7,"
                        " string_to_array($8, ','), $9, nullif($10, ''))"
                        " on conflict (name) do nothing returning name",
                        10, p, err, errlen);
    if (r && PQntuples(r) == 0) {
        PQclear(r);
        char clean[64];
        sanitize_text(s->name, clean, sizeof clean, true);
        snprintf(err, errlen, "a digest named %s exists already (digest remove it first)", clean);
        audit_failed(c, op, "digest.add", s->name, err);
        free(details);
        return 1;
    }
    PQclear(r);
    if (!r || audit_write(c, op, "digest.add", s->name, NULL, "ok", details, err, errlen) != 0 ||
        pg_exec_ok(c, "commit", err, errlen) != 0) {
        PQclear(pg_exec(c, "rollback"));
        free(details);
        return -1;
    }
    free(details);
    return 0;
}

/* Runs sql ($1 = name, maybe $2) with its audit record. */
static int change(PGconn *c, const operator_id *op, const char *action, const char *sql,
                  const char *name, const char *arg, char *err, size_t errlen)
{
    const char *p[2] = {name, arg};
    if (pg_exec_ok(c, "begin", err, errlen) != 0)
        return -1;
    PGresult *r = pg_query(c, sql, arg ? 2 : 1, p, err, errlen);
    if (r && PQntuples(r) == 0) {
        PQclear(r);
        char clean[64];
        sanitize_text(name, clean, sizeof clean, true);
        snprintf(err, errlen, "no digest named %s (tradeops digest list)", clean);
        audit_failed(c, op, action, name, err);
        return 1;
    }
    PQclear(r);
    if (!r || audit_write(c, op, action, name, NULL, "ok", NULL, err, errlen) != 0 ||
        pg_exec_ok(c, "commit", err, errlen) != 0) {
        PQclear(pg_exec(c, "rollback"));
        return -1;
    }
    return 0;
}

int digest_remove(PGconn *c, const operator_id *op, const char *name, char *err, size_t errlen)
{
    return change(c, op, "digest.remove", "delete from digests where name = $1 returning name",
                  name, NULL, err, errlen);
}

int digest_enable(PGconn *c, const operator_id *op, const char *name, bool on, char *err,
                  size_t errlen)
{
    return change(c, op, on ? "digest.enable" : "digest.disable",
                  "update digests set enabled = $2::boolean, updated_at = now() where name = $1"
                  " returning name",
                  name, on ? "true" : "false", err, errlen);
}

int digest_slot_ms(PGconn *c, const char *kind, const char *at, int weekday, const char *tz,
                   int64_t t_ms, int which, int64_t *slot_ms, char *err, size_t errlen)
{
    char wd[4], t[24], w[4];
    snprintf(wd, sizeof wd, "%d", weekday);
    snprintf(t, sizeof t, "%" PRId64, t_ms);
    snprintf(w, sizeof w, "%d", which);
    const char *p[6] = {kind, at, wd, tz, t, w};
    PGresult *r = pg_query(c,
                        "select (extract(epoch from digest_slot($1, $2::time,"
                        " nullif($3, '0')::smallint, $4, to_timestamp($5::bigint / 1000.0),"
                        " $6::int)) * 1000)::bigint",
                        6, p, err, errlen);
    if (!r)
        return -1;
    *slot_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}
