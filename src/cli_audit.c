/*
 * cli_audit.c - `tradeops audit`: the audit log, newest first, filtered.
 *
 *   tradeops audit [--since T] [--user U] [--action A] [--outcome O]
 *                  [--target TEXT] [--limit N] [--json|--csv]
 *
 * Who may read it: every registered operator (viewer and up, traders
 * included), all of it: the log records who did what, and everyone
 * accountable may see that. Reading it is not audited.
 *
 * Everything in the log came from operators or brokers (targets, reasons,
 * details): it reaches the terminal only through sanitize_text,
 * cli_print_safe, cli_print_csv_field or cli_print_json.
 *
 * Threads: main thread only.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "cli.h"
#include "cli_common.h"
#include "clock.h"
#include "fmt.h"
#include "pg.h"
#include "sanitize.h"
#include "view_json.h"

#define AUDIT_DEFAULT_LIMIT 100
#define AUDIT_MAX_LIMIT 100000
#define FILTER_MAX 200 /* bytes of a --user, --action or --target filter */
#define ISO_LEN 40
#define CELL 80
#define LINE 640

static const char USAGE[] =
    "usage: tradeops audit [--since T] [--user U] [--action A] [--outcome ok|refused|failed]\n"
    "                      [--target TEXT] [--limit N] [--json|--csv]\n";

static const char HELP[] =
    "Lists the audit log, newest first: who (OS user, role, source address) did what\n"
    "to what, why, and whether it was done, refused or failed.\n"
    "  --since T      at or after T: a UTC date (2026-11-21), a UTC date-time\n"
    "                 (2026-11-21T09:30, 2026-11-21 09:30:15) or an age (90m, 24h, 7d, 2w)\n"
    "  --user U       by operator U (also root acting as U)\n"
    "  --action A     this action (guard.abort), or every action under it (guard)\n"
    "  --outcome O    ok, refused or failed\n"
    "  --target TEXT  the target contains TEXT (any case), e.g. an account id\n"
    "  --limit N      at most N rows (default 100, at most 100000)\n"
    "  --json         every field, details included; --csv a header and one row each\n"
    "Every registered operator may read the audit log.\n";


/* ---- output ---- */

enum { C_ID, C_AT, C_USER, C_ROLE, C_SOURCE, C_ACTION, C_TARGET, C_REASON, C_OUTCOME, C_DETAILS,
       C_WHY };

static const char *SQL_AUDIT =
    "select id, (extract(epoch from at) * 1000)::bigint, os_user, coalesce(role, ''), source,"
    " action, coalesce(target, ''), coalesce(reason, ''), outcome, details::text,"
    " coalesce(details ->> 'why', '')"
    " from audit_log"
    " where ($1::timestamptz is null or at >= $1::timestamptz)"
    " and ($2::text is null or os_user = $2::text"
    "      or right(os_user, length($2::text) + 4) = ' as ' || $2::text)"
    " and ($3::text is null or action = $3::text or starts_with(action, $3::text || '.'))"
    " and ($4::text is null or outcome = $4::text)"
    " and ($5::text is null or strpos(lower(coalesce(target, '')), lower($5::text)) > 0)"
    " order by at desc, id desc limit $6::int";

static void add_str(cJSON *o, const char *name, const char *s)
{
    if (s[0])
        cJSON_AddStringToObject(o, name, s);
    else
        cJSON_AddNullToObject(o, name);
}

static int print_json(const PGresult *r, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            break;
        }
        char at[ISO_LEN];
        view_iso_time(strtoll(PQgetvalue(r, i, C_AT), NULL, 10), at, sizeof at);
        cJSON_AddNumberToObject(o, "id", strtod(PQgetvalue(r, i, C_ID), NULL));
        cJSON_AddStringToObject(o, "at", at);
        cJSON_AddStringToObject(o, "user", PQgetvalue(r, i, C_USER));
        add_str(o, "role", PQgetvalue(r, i, C_ROLE));
        cJSON_AddStringToObject(o, "source", PQgetvalue(r, i, C_SOURCE));
        cJSON_AddStringToObject(o, "action", PQgetvalue(r, i, C_ACTION));
        add_str(o, "target", PQgetvalue(r, i, C_TARGET));
        add_str(o, "reason", PQgetvalue(r, i, C_REASON));
        cJSON_AddStringToObject(o, "outcome", PQgetvalue(r, i, C_OUTCOME));
        cJSON *d = PQgetisnull(r, i, C_DETAILS) ? NULL : cJSON_Parse(PQgetvalue(r, i, C_DETAILS));
        if (d)
            cJSON_AddItemToObject(o, "details", d);
        else
            cJSON_AddNullToObject(o, "details");
    }
    if (!arr) {
        fprintf(stderr, "tradeops: out of memory printing the audit log\n");
        return EXIT_FAIL;
    }
    cli_print_json(stdout, arr);
    cJSON_Delete(arr);
    return EXIT_OK;
}

static void print_csv(FILE *out, const PGresult *r, int n)
{
    static const int TEXT_COLS[] = {C_USER, C_ROLE, C_SOURCE, C_ACTION, C_TARGET, C_REASON};
    fputs("id,at,user,role,source,action,target,reason,outcome,details\n", out);
    for (int i = 0; i < n; i++) {
        char at[ISO_LEN];
        view_iso_time(strtoll(PQgetvalue(r, i, C_AT), NULL, 10), at, sizeof at);
        fprintf(out, "%s,%s", PQgetvalue(r, i, C_ID), at);
        for (size_t k = 0; k < sizeof TEXT_COLS / sizeof TEXT_COLS[0]; k++) {
            fputc(',', out);
            cli_print_csv_field(out, PQgetvalue(r, i, TEXT_COLS[k]));
        }
        fprintf(out, ",%s,", PQgetvalue(r, i, C_OUTCOME));
        cli_print_csv_field(out, PQgetvalue(r, i, C_DETAILS)); /* "" when null */
        fputc('\n', out);
    }
}

static void print_text(FILE *out, const PGresult *r, int n)
{
    bool u = cli_utf8();
    fprintf(out, "%-19s %-24s %-7s %-15s %-18s %-8s %s\n", "AT (UTC)", "USER", "ROLE", "SOURCE",
            "ACTION", "OUTCOME", "TARGET");
    for (int i = 0; i < n; i++) {
        char at[32], user[CELL], role[CELL], src[CELL], action[CELL], target[LINE], reason[LINE],
            why[LINE];
        fmt_time_utc(strtoll(PQgetvalue(r, i, C_AT), NULL, 10), 19, at, sizeof at);
        sanitize_text(PQgetvalue(r, i, C_USER), user, sizeof user, u);
        sanitize_text(PQgetvalue(r, i, C_ROLE)[0] ? PQgetvalue(r, i, C_ROLE) : "-", role,
                      sizeof role, u);
        sanitize_text(PQgetvalue(r, i, C_SOURCE), src, sizeof src, u);
        sanitize_text(PQgetvalue(r, i, C_ACTION), action, sizeof action, u);
        sanitize_text(PQgetvalue(r, i, C_TARGET)[0] ? PQgetvalue(r, i, C_TARGET) : "-", target,
                      sizeof target, u);
        sanitize_text(PQgetvalue(r, i, C_REASON), reason, sizeof reason, u);
        sanitize_text(PQgetvalue(r, i, C_WHY), why, sizeof why, u);
        fprintf(out, "%-19s %-24.24s %-7.7s %-15.15s %-18.18s %-8s %s\n", at, user, role, src,
                action, PQgetvalue(r, i, C_OUTCOME), target);
        if (reason[0])
            fprintf(out, "    reason: %s\n", reason);
        if (why[0])
            fprintf(out, "    why: %s\n", why);
    }
    fprintf(out, "%d record%s\n", n, n == 1 ? "" : "s");
}

/* ---- the command ---- */

typedef struct audit_opts {
    const char *since_arg, *user, *action, *outcome, *target;
    int64_t since_ms;
    long limit;
    bool json, csv;
} audit_opts;

static int check_filter(const char *name, const char *v)
{
    if (strlen(v) <= FILTER_MAX && sanitize_is_clean(v))
        return EXIT_OK;
    fprintf(stderr, "tradeops audit: %s: at most %d bytes of plain text (no control characters)\n",
            name, FILTER_MAX);
    return EXIT_USAGE;
}

static int parse_opts(int argc, char **argv, audit_opts *o)
{
    static const struct option OPTS[] = {
        {"since", required_argument, NULL, 's'},  {"user", required_argument, NULL, 'u'},
        {"action", required_argument, NULL, 'a'}, {"outcome", required_argument, NULL, 'o'},
        {"target", required_argument, NULL, 't'}, {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},         {"csv", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->limit = AUDIT_DEFAULT_LIMIT;
    int c;
    char *end;
    optind = 0; /* 0 re-initialises GNU getopt, which the global options used */
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        switch (c) {
        case 's': o->since_arg = optarg; break;
        case 'u': o->user = optarg; break;
        case 'a': o->action = optarg; break;
        case 'o': o->outcome = optarg; break;
        case 't': o->target = optarg; break;
        case 'j': o->json = true; break;
        case 'c': o->csv = true; break;
        case 'l':
            errno = 0;
            o->limit = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || o->limit < 1 || o->limit > AUDIT_MAX_LIMIT) {
                fputs("tradeops audit: --limit must be a whole number from 1 to 100000, not \"",
                      stderr);
                cli_print_safe(stderr, optarg);
                fputs("\"\n", stderr);
                return EXIT_USAGE;
            }
            break;
        case 'h': printf("%s%s", USAGE, HELP); return -1;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fputs("tradeops audit: unexpected argument \"", stderr);
        cli_print_safe(stderr, argv[optind]);
        fprintf(stderr, "\"\n%s", USAGE);
        return EXIT_USAGE;
    }
    if (o->json && o->csv) {
        fprintf(stderr, "tradeops audit: --json and --csv: choose one\n");
        return EXIT_USAGE;
    }
    if (o->outcome && strcmp(o->outcome, "ok") != 0 && strcmp(o->outcome, "refused") != 0 &&
        strcmp(o->outcome, "failed") != 0) {
        fputs("tradeops audit: --outcome \"", stderr);
        cli_print_safe(stderr, o->outcome);
        fputs("\" is not one of ok, refused, failed\n", stderr);
        return EXIT_USAGE;
    }
    if ((o->user && check_filter("--user", o->user) != EXIT_OK) ||
        (o->action && check_filter("--action", o->action) != EXIT_OK) ||
        (o->target && check_filter("--target", o->target) != EXIT_OK))
        return EXIT_USAGE;
    if (o->since_arg && cli_parse_since(o->since_arg, clock_now_ms(), &o->since_ms) != 0) {
        fputs("tradeops audit: --since \"", stderr);
        cli_print_safe(stderr, o->since_arg);
        fputs("\" is not a UTC date (2026-11-21), date-time (2026-11-21T09:30) or age (90m, "
              "24h, 7d, 2w)\n",
              stderr);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cli_audit(config *cfg, int argc, char **argv)
{
    audit_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc; /* -1: --help was printed */
    PGconn *pg;
    operator_id op;
    if ((rc = cli_session(cfg, &pg, &op)) != EXIT_OK)
        return rc;
    char since[ISO_LEN], limit[24];
    view_iso_time(o.since_ms, since, sizeof since);
    snprintf(limit, sizeof limit, "%ld", o.limit + 1); /* one more, to say there are more */
    const char *p[6] = {o.since_arg ? since : NULL, o.user, o.action, o.outcome, o.target, limit};
    PGresult *r = pg_exec_params(pg, SQL_AUDIT, 6, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char err[256];
        pg_error_copy(err, sizeof err, PQresultErrorMessage(r));
        fputs("tradeops: reading the audit log: ", stderr);
        cli_print_safe(stderr, err);
        fputc('\n', stderr);
        rc = EXIT_FAIL;
    } else {
        int n = PQntuples(r);
        bool more = n > o.limit;
        if (more)
            n = (int)o.limit;
        if (o.json)
            rc = print_json(r, n);
        else if (o.csv)
            print_csv(stdout, r, n);
        else
            print_text(stdout, r, n);
        if (more)
            fprintf(stderr, "tradeops: showing the newest %ld; there are more (--limit, --since)\n",
                    o.limit);
    }
    PQclear(r);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}
