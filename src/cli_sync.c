/*
 * cli_sync.c - `tradeops sync`: the journal sync queue for scripts and
 * people on call. Listing and showing jobs here; the actions (retry,
 * reset, cancel, delete) in cli_sync_ops.c.
 *
 *   tradeops sync list [--state S[,S]] [--provider P] [--account A] [--class C]
 *                      [--text T] [--breached] [--limit N] [--json|--csv]
 *   tradeops sync show ID [--json]
 *
 * Any registered operator may read; a trader sees the jobs of their own
 * accounts only (another account's job gets the same answer as a missing
 * one). Reading is not audited. Every string from outside (errors written
 * by journals, positions, symbols) is sanitised before it reaches the
 * terminal; --json escapes control characters.
 *
 * Threads: main thread only.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_alerts.h"
#include "cli_common.h"
#include "cli_sync_int.h"
#include "clock.h"
#include "fmt.h"
#include "pg.h"
#include "sanitize.h"
#include "view_json.h"

#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000000
#define ERR_EXCERPT 60 /* bytes of the last error in the table */
#define CELL 96
#define MAX_PARAMS 12

static int parse_limit(const char *arg, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < 1 || v > LIST_MAX_LIMIT)
        return cli_sync_bad_value("sync list", "--limit", arg, "a whole number from 1 to 1000000");
    *out = v;
    return EXIT_OK;
}

/* ---- list ---- */

enum {
    J_ID,
    J_STATE,
    J_PROV,
    J_ACCOUNT,
    J_TRADE,
    J_POS,
    J_SYM,
    J_ATT,
    J_MAX,
    J_MANUAL,
    J_CLOSED,
    J_SCHED,
    J_ATTEMPTED,
    J_BY,
    J_COMPLETED,
    J_FINAL,
    J_BREACHED,
    J_CLASS,
    J_STATUS,
    J_ERROR,
    J_CREATED,
    J_NCOLS
};

#define JOB_COLS                                                                                   \
    "j.id, j.state, j.provider, j.account_id, j.trade_id, t.position_id, t.symbol, j.attempt,"     \
    " j.max_attempts, j.manual_retries, (extract(epoch from j.closed_at) * 1000)::bigint,"         \
    " (extract(epoch from j.scheduled_at) * 1000)::bigint,"                                        \
    " (extract(epoch from j.attempted_at) * 1000)::bigint, coalesce(j.attempted_by, ''),"          \
    " (extract(epoch from j.completed_at) * 1000)::bigint,"                                        \
    " (extract(epoch from j.finalized_at) * 1000)::bigint,"                                        \
    " (extract(epoch from j.sla_breached_at) * 1000)::bigint, coalesce(j.last_class, ''),"         \
    " j.last_status, coalesce(j.last_error, ''),"                                                  \
    " (extract(epoch from j.created_at) * 1000)::bigint"

static cJSON *job_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "id", cli_col_num(r, i, J_ID));
    cJSON_AddStringToObject(o, "state", PQgetvalue(r, i, J_STATE));
    cJSON_AddStringToObject(o, "provider", PQgetvalue(r, i, J_PROV));
    cJSON_AddStringToObject(o, "account", PQgetvalue(r, i, J_ACCOUNT));
    cJSON_AddNumberToObject(o, "tradeId", cli_col_num(r, i, J_TRADE));
    cJSON_AddStringToObject(o, "position", PQgetvalue(r, i, J_POS));
    cJSON_AddStringToObject(o, "symbol", PQgetvalue(r, i, J_SYM));
    cJSON_AddNumberToObject(o, "attempt", cli_col_num(r, i, J_ATT));
    cJSON_AddNumberToObject(o, "maxAttempts", cli_col_num(r, i, J_MAX));
    cJSON_AddNumberToObject(o, "manualRetries", cli_col_num(r, i, J_MANUAL));
    cli_json_time(o, "closedAt", cli_col_ms(r, i, J_CLOSED));
    cli_json_time(o, "scheduledAt", cli_col_ms(r, i, J_SCHED));
    cli_json_time(o, "attemptedAt", cli_col_ms(r, i, J_ATTEMPTED));
    cli_json_str(o, "attemptedBy", PQgetvalue(r, i, J_BY));
    cli_json_time(o, "completedAt", cli_col_ms(r, i, J_COMPLETED));
    cli_json_time(o, "finalizedAt", cli_col_ms(r, i, J_FINAL));
    cli_json_time(o, "slaBreachedAt", cli_col_ms(r, i, J_BREACHED));
    cli_json_str(o, "lastClass", PQgetvalue(r, i, J_CLASS));
    if (PQgetisnull(r, i, J_STATUS))
        cJSON_AddNullToObject(o, "lastStatus");
    else
        cJSON_AddNumberToObject(o, "lastStatus", cli_col_num(r, i, J_STATUS));
    cli_json_str(o, "lastError", PQgetvalue(r, i, J_ERROR));
    cli_json_time(o, "createdAt", cli_col_ms(r, i, J_CREATED));
    return o;
}

static void print_list_json(const PGresult *r, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        cJSON *o = job_json(r, i);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            break;
        }
    }
    if (!arr) {
        fputs("[]\n", stdout);
        return;
    }
    cli_print_json(stdout, arr);
    cJSON_Delete(arr);
}

static void print_list_csv(const PGresult *r, int n)
{
    static const char *const head[] = {"id",           "state",     "provider",     "account",
                                       "trade_id",     "position",  "symbol",       "attempt",
                                       "max_attempts", "closed_at", "sla_breached", "last_class",
                                       "last_status",  "last_error"};
    for (size_t k = 0; k < sizeof head / sizeof head[0]; k++)
        printf("%s%s", k ? "," : "", head[k]);
    putchar('\n');
    for (int i = 0; i < n; i++) {
        char closed[40];
        int64_t ms = cli_col_ms(r, i, J_CLOSED);
        if (ms)
            view_iso_time(ms, closed, sizeof closed);
        else
            closed[0] = '\0';
        const char *cells[] = {PQgetvalue(r, i, J_ID),
                               PQgetvalue(r, i, J_STATE),
                               PQgetvalue(r, i, J_PROV),
                               PQgetvalue(r, i, J_ACCOUNT),
                               PQgetvalue(r, i, J_TRADE),
                               PQgetvalue(r, i, J_POS),
                               PQgetvalue(r, i, J_SYM),
                               PQgetvalue(r, i, J_ATT),
                               PQgetvalue(r, i, J_MAX),
                               closed,
                               PQgetisnull(r, i, J_BREACHED) ? "no" : "yes",
                               PQgetvalue(r, i, J_CLASS),
                               PQgetvalue(r, i, J_STATUS),
                               PQgetvalue(r, i, J_ERROR)};
        for (size_t k = 0; k < sizeof cells / sizeof cells[0]; k++) {
            if (k)
                putchar(',');
            cli_print_csv_field(stdout, cells[k]);
        }
        putchar('\n');
    }
}

static void print_list_text(const PGresult *r, int n)
{
    bool u = cli_utf8();
    int64_t now = clock_now_ms();
    printf("%-8s %-10s %-9s %-16s %-12s %-10s %7s %8s %s\n", "ID", "STATE", "PROVIDER", "ACCOUNT",
           "POSITION", "SYMBOL", "ATTEMPT", "AGE", "LAST ERROR");
    for (int i = 0; i < n; i++) {
        char acc[CELL], pos[CELL], sym[CELL], errx[ERR_EXCERPT + 8], age[16], att[24], st[16];
        sanitize_text(PQgetvalue(r, i, J_ACCOUNT), acc, sizeof acc, u);
        sanitize_text(PQgetvalue(r, i, J_POS), pos, sizeof pos, u);
        sanitize_text(PQgetvalue(r, i, J_SYM), sym, sizeof sym, u);
        sanitize_text(PQgetvalue(r, i, J_ERROR), errx, ERR_EXCERPT + 1, u);
        int64_t closed = cli_col_ms(r, i, J_CLOSED);
        fmt_age(now > closed ? now - closed : 0, age, sizeof age);
        snprintf(att, sizeof att, "%s/%s", PQgetvalue(r, i, J_ATT), PQgetvalue(r, i, J_MAX));
        /* A job that missed its deadline is marked, with or without colour. */
        snprintf(st, sizeof st, "%s%s", PQgetvalue(r, i, J_STATE),
                 PQgetisnull(r, i, J_BREACHED) ? "" : "!");
        const char *cls = PQgetvalue(r, i, J_CLASS);
        printf("%-8s %-10s %-9s %-16.16s %-12.12s %-10.10s %7s %8s %s%s%s%s\n",
               PQgetvalue(r, i, J_ID), st, PQgetvalue(r, i, J_PROV), acc, pos, sym, att, age,
               cls[0] ? "[" : "", cls, cls[0] ? "] " : "", errx);
    }
}

static const char LIST_USAGE[] =
    "usage: tradeops sync list [--state S[,S]] [--provider P] [--account A] [--class C]\n"
    "                          [--text T] [--breached] [--limit N] [--json|--csv]\n";

/* The scope parameter: NULL for all, a text[] of a trader's accounts. */
static int scope_param(const operator_id *op, char **scope)
{
    *scope = NULL;
    if (op->role != ROLE_TRADER)
        return 0;
    *scope = pg_text_array_literal(op->accounts, op->n_accounts);
    return *scope ? 0 : -1;
}

static int sync_list(config *cfg, int argc, char **argv)
{
    static const struct option OPTS[] = {CLI_SYNC_FILTER_OPTS,
                                         {"limit", required_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"csv", no_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    sync_filter f;
    sync_filter_init(&f);
    bool json = false, csv = false;
    long limit = LIST_DEFAULT_LIMIT;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (parse_limit(optarg, &limit) != EXIT_OK)
                return EXIT_USAGE;
            break;
        case 'j': json = true; break;
        case 'c': csv = true; break;
        case 'h':
            printf("%sLists journal sync jobs, newest first.\n%s"
                   "  --limit N        at most N (default 100)\n"
                   "  --json, --csv    every field / one row per job\n"
                   "STATE ends in ! when the job missed its deadline.\n",
                   LIST_USAGE, CLI_SYNC_FILTER_HELP);
            return EXIT_OK;
        default:
            if ((rc = cli_sync_filter_opt("sync list", c, optarg, &f)) == 0)
                break;
            if (rc != 1)
                return rc;
            fputs(LIST_USAGE, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc || (json && csv)) {
        if (optind < argc) {
            fputs("tradeops sync list: unexpected argument \"", stderr);
            cli_print_safe(stderr, argv[optind]);
            fputs("\"\n", stderr);
        } else {
            fputs("tradeops sync list: --json or --csv, not both\n", stderr);
        }
        fputs(LIST_USAGE, stderr);
        return EXIT_USAGE;
    }
    PGconn *pg;
    operator_id op;
    if ((rc = cli_session(cfg, &pg, &op)) != EXIT_OK)
        return rc;
    char *scope = NULL, where[2048] = "", sql[4096], bufs[MAX_PARAMS][32], lim[24];
    const char *params[MAX_PARAMS];
    int n = 0;
    PGresult *r = NULL;
    rc = EXIT_FAIL;
    if (scope_param(&op, &scope) != 0 ||
        sync_filter_sql(&f, where, sizeof where, params, bufs, &n, MAX_PARAMS - 2) != 0) {
        fprintf(stderr, "tradeops sync list: out of memory or the filter is too long\n");
        goto out;
    }
    snprintf(lim, sizeof lim, "%ld", limit + 1); /* one more, to say when there are more */
    params[n] = scope;
    params[n + 1] = lim;
    snprintf(sql, sizeof sql,
             "select " JOB_COLS " from sync_jobs j join closed_trades t on t.id = j.trade_id"
             " where true%s and ($%d::text[] is null or j.account_id = any($%d::text[]))"
             " order by j.id desc limit $%d::int",
             where, n + 1, n + 1, n + 2);
    r = pg_exec_params(pg, sql, n + 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = cli_query_failed(r, "sync jobs");
        goto out;
    }
    int rows = PQntuples(r);
    bool more = rows > limit;
    if (more)
        rows = (int)limit;
    if (json)
        print_list_json(r, rows);
    else if (csv)
        print_list_csv(r, rows);
    else
        print_list_text(r, rows);
    if (more)
        fprintf(stderr,
                "tradeops: showing %ld; there are more (--limit, or narrow the "
                "filters)\n",
                limit);
    rc = EXIT_OK;
out:
    PQclear(r);
    free(scope);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

/* ---- show ---- */

static void print_attempts_text(const cJSON *arr, const char *indent, bool u)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "n");
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(e, "at");
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(e, "ms");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");
        const cJSON *cl = cJSON_GetObjectItemCaseSensitive(e, "class");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        char atb[48] = "?", clb[32] = "", msgb[400] = "", stb[16] = "-";
        if (cJSON_IsString(at))
            sanitize_text(at->valuestring, atb, sizeof atb, u);
        if (cJSON_IsString(cl))
            sanitize_text(cl->valuestring, clb, sizeof clb, u);
        if (cJSON_IsString(msg))
            sanitize_text(msg->valuestring, msgb, sizeof msgb, u);
        if (cJSON_IsNumber(st))
            snprintf(stb, sizeof stb, "HTTP %d", st->valueint);
        printf("%s#%-3d %-24s %7.0f ms  %-8s  %-12s %s\n", indent,
               cJSON_IsNumber(n) ? n->valueint : 0, atb, cJSON_IsNumber(ms) ? ms->valuedouble : 0,
               stb, clb[0] ? clb : "ok", msgb);
    }
}

static void print_time_line(const char *what, int64_t ms)
{
    char t[40];
    if (!ms)
        return;
    fmt_time_utc(ms, 19, t, sizeof t);
    printf("%-13s %s UTC\n", what, t);
}

enum { S_DOC = J_NCOLS, S_ARCHIVED, S_RESULT, S_SIDE, S_VOL, S_OPEN, S_OPRICE, S_CPRICE, S_PROFIT };

static void print_show_text(const PGresult *r, cJSON *errors, cJSON *archived, const char *res)
{
    bool u = cli_utf8();
    char acc[CELL], pos[CELL], sym[CELL], by[CELL], errb[400], cls[32];
    sanitize_text(PQgetvalue(r, 0, J_ACCOUNT), acc, sizeof acc, u);
    sanitize_text(PQgetvalue(r, 0, J_POS), pos, sizeof pos, u);
    sanitize_text(PQgetvalue(r, 0, J_SYM), sym, sizeof sym, u);
    sanitize_text(PQgetvalue(r, 0, J_BY), by, sizeof by, u);
    sanitize_text(PQgetvalue(r, 0, J_ERROR), errb, sizeof errb, u);
    sanitize_text(PQgetvalue(r, 0, J_CLASS), cls, sizeof cls, u);
    printf("job %s  %s%s  %s  %s/%s %s %s %s (trade #%s)\n", PQgetvalue(r, 0, J_ID),
           PQgetvalue(r, 0, J_STATE), PQgetisnull(r, 0, J_BREACHED) ? "" : " (missed its deadline)",
           PQgetvalue(r, 0, J_PROV), acc, pos, sym, PQgetvalue(r, 0, S_SIDE),
           PQgetvalue(r, 0, S_VOL), PQgetvalue(r, 0, J_TRADE));
    printf("attempts      %s of %s (manual retries %s)\n", PQgetvalue(r, 0, J_ATT),
           PQgetvalue(r, 0, J_MAX), PQgetvalue(r, 0, J_MANUAL));
    printf("%-13s open %s, close %s, profit %s\n", "trade",
           PQgetisnull(r, 0, S_OPRICE) ? "?" : PQgetvalue(r, 0, S_OPRICE),
           PQgetisnull(r, 0, S_CPRICE) ? "?" : PQgetvalue(r, 0, S_CPRICE),
           PQgetvalue(r, 0, S_PROFIT));
    print_time_line("opened", cli_col_ms(r, 0, S_OPEN));
    print_time_line("closed", cli_col_ms(r, 0, J_CLOSED));
    print_time_line("enqueued", cli_col_ms(r, 0, J_CREATED));
    print_time_line("scheduled", cli_col_ms(r, 0, J_SCHED));
    print_time_line("attempted", cli_col_ms(r, 0, J_ATTEMPTED));
    if (by[0])
        printf("%-13s %s\n", "by", by);
    print_time_line("late since", cli_col_ms(r, 0, J_BREACHED));
    print_time_line("completed", cli_col_ms(r, 0, J_COMPLETED));
    print_time_line("finished", cli_col_ms(r, 0, J_FINAL));
    if (cls[0] || errb[0])
        printf("%-13s [%s%s%s] %s\n", "last error", cls,
               PQgetisnull(r, 0, J_STATUS) ? "" : ", HTTP ", PQgetvalue(r, 0, J_STATUS), errb);
    if (res && res[0]) {
        char rb[1100];
        sanitize_text(res, rb, sizeof rb, u);
        printf("%-13s %s\n", "result", rb);
    }
    int na = cJSON_GetArraySize(errors);
    printf("attempts (%d kept, oldest first):\n", na);
    if (na == 0)
        printf("  none yet\n");
    print_attempts_text(errors, "  ", u);
    const cJSON *reset;
    cJSON_ArrayForEach(reset, archived)
    {
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(reset, "reset_at");
        char atb[48] = "?";
        if (cJSON_IsString(at))
            sanitize_text(at->valuestring, atb, sizeof atb, u);
        printf("archived by a reset at %s:\n", atb);
        print_attempts_text(cJSON_GetObjectItemCaseSensitive(reset, "errors"), "  ", u);
    }
}

static int sync_show(config *cfg, int argc, char **argv)
{
    static const char usage[] = "usage: tradeops sync show ID [--json]\n";
    static const struct option OPTS[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool json = false;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'h':
            printf("%sEverything about one job: the trade, every attempt kept, the attempts "
                   "a reset archived, the journal's answer.\n",
                   usage);
            return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    const char *arg = optind < argc ? argv[optind] : "";
    if (argc - optind != 1 || !arg[0] || strspn(arg, "0123456789") != strlen(arg) ||
        strlen(arg) > 18 || strtoll(arg, NULL, 10) <= 0) {
        fprintf(stderr,
                "tradeops sync show: give one job id (a number; see `tradeops sync "
                "list`)\n%s",
                usage);
        return EXIT_USAGE;
    }
    PGconn *pg;
    operator_id op;
    if ((rc = cli_session(cfg, &pg, &op)) != EXIT_OK)
        return rc;
    char *scope = NULL;
    PGresult *r = NULL;
    cJSON *errors = NULL, *archived = NULL;
    rc = EXIT_FAIL;
    if (scope_param(&op, &scope) != 0) {
        fprintf(stderr, "tradeops: out of memory\n");
        goto out;
    }
    const char *p[2] = {arg, scope};
    r = pg_exec_params(pg,
                       "select " JOB_COLS ", j.errors::text, j.archived_errors::text,"
                       " coalesce(j.result::text, ''), t.side, t.volume,"
                       " (extract(epoch from t.open_time) * 1000)::bigint, t.open_price,"
                       " t.close_price, t.profit"
                       " from sync_jobs j join closed_trades t on t.id = j.trade_id"
                       " where j.id = $1::bigint"
                       " and ($2::text[] is null or j.account_id = any($2::text[]))",
                       2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = cli_query_failed(r, "sync job");
        goto out;
    }
    if (PQntuples(r) == 0) {
        fprintf(stderr, "tradeops: no sync job %s visible to ", arg);
        cli_print_safe(stderr, op.user);
        fputs(" (see `tradeops sync list`)\n", stderr);
        goto out;
    }
    errors = cJSON_Parse(PQgetvalue(r, 0, S_DOC));
    archived = cJSON_Parse(PQgetvalue(r, 0, S_ARCHIVED));
    const char *res = PQgetvalue(r, 0, S_RESULT);
    if (json) {
        cJSON *o = job_json(r, 0);
        if (!o) {
            fprintf(stderr, "tradeops: out of memory\n");
            goto out;
        }
        cJSON *t = cJSON_AddObjectToObject(o, "trade");
        if (t) {
            cJSON_AddStringToObject(t, "side", PQgetvalue(r, 0, S_SIDE));
            cJSON_AddNumberToObject(t, "volume", cli_col_num(r, 0, S_VOL));
            cli_json_time(t, "openTime", cli_col_ms(r, 0, S_OPEN));
            view_json_add_number(t, "openPrice", cli_col_num(r, 0, S_OPRICE));
            view_json_add_number(t, "closePrice", cli_col_num(r, 0, S_CPRICE));
            view_json_add_number(t, "profit", cli_col_num(r, 0, S_PROFIT));
        }
        cJSON_AddItemToObject(o, "attempts", errors ? errors : cJSON_CreateArray());
        cJSON_AddItemToObject(o, "archived", archived ? archived : cJSON_CreateArray());
        errors = archived = NULL;
        cli_json_doc(o, "result", res[0] ? res : NULL);
        cli_print_json(stdout, o);
        cJSON_Delete(o);
    } else {
        print_show_text(r, errors, archived, res);
    }
    rc = EXIT_OK;
out:
    cJSON_Delete(errors);
    cJSON_Delete(archived);
    PQclear(r);
    free(scope);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

static const char SYNC_USAGE[] =
    "usage: tradeops sync list [--state S[,S]] [--provider P] [--account A] [--class C]\n"
    "                          [--text T] [--breached] [--limit N] [--json|--csv]\n"
    "       tradeops sync show ID [--json]\n"
    "       tradeops sync retry|reset|cancel|delete ID... [--note TEXT]\n"
    "       tradeops sync retry|reset|cancel|delete --all [filters] [--yes] [--note TEXT]\n";

int cli_sync(config *cfg, int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "";
    if (strcmp(sub, "list") == 0)
        return sync_list(cfg, argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0)
        return sync_show(cfg, argc - 1, argv + 1);
    if (strcmp(sub, "retry") == 0 || strcmp(sub, "reset") == 0 || strcmp(sub, "cancel") == 0 ||
        strcmp(sub, "delete") == 0)
        return cli_sync_action(cfg, argc - 1, argv + 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        printf("%sThe journal sync queue: list and inspect jobs; retry now (oncall, admin),\n"
               "reset, cancel, delete (admin). Every action is audited, refusals too.\n",
               SYNC_USAGE);
        return EXIT_OK;
    }
    if (sub[0]) {
        fputs("tradeops sync: unknown subcommand \"", stderr);
        cli_print_safe(stderr, sub);
        fputs("\"\n", stderr);
    }
    fputs(SYNC_USAGE, stderr);
    return EXIT_USAGE;
}
