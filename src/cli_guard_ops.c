/*
 * cli_guard_ops.c - `tradeops guard`: every account's drawdown guard as its
 * owner last wrote it, and an admin's close-all-now and re-arm.
 *
 *   tradeops guard [status] [--account ID] [--json]
 *   tradeops guard close-all ACCOUNT --confirm ACCOUNT [--note TEXT]
 *   tradeops guard rearm ACCOUNT [--note TEXT]
 *
 * Scope as for alerts: a trader sees only the guards of their accounts.
 * Actions go through command_execute (role, scope, audit, act in one
 * transaction). The only check made here first is close-all's --confirm:
 * a confirmation that does not repeat the account id is a typing mistake,
 * answered with exit 2 before anything reaches the engine, so it is not
 * audited (as a console confirmation typed wrong is simply cancelled).
 *
 * Threads: main thread only.
 */
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_alerts.h"
#include "cli_common.h"
#include "fmt.h"
#include "guard_eval.h"
#include "guard_rules.h"
#include "pg.h"
#include "sanitize.h"
#include "view_json.h"

#define CELL 80 /* a sanitised table cell */

enum { G_ACCOUNT, G_STATE, G_LEVEL, G_EQUITY, G_BALANCE, G_FLOOR, G_DAILY, G_USED, G_RULE, G_WHY,
       G_ENDS, G_LEFT, G_OWNER, G_DATA, G_EVAL, G_TRIPPED, G_TRIP_REASON, G_ABORTED_BY,
       G_ABORT_REASON, G_CLOSED, G_SUMMARY, G_RULES /* GUARD_RULES_NCOLS columns */ };

static const char *SQL_GUARDS =
    "select ac.id, coalesce(g.state, ''), coalesce(g.level, 0), g.equity, g.balance, g.floor,"
    " g.daily_floor, g.used, coalesce(g.rule, ''), coalesce(g.why, ''),"
    " (extract(epoch from g.countdown_ends_at) * 1000)::bigint,"
    " greatest(0, ceil(extract(epoch from g.countdown_ends_at - now())))::int,"
    " coalesce(g.owner, ''), (extract(epoch from g.data_at) * 1000)::bigint,"
    " (extract(epoch from g.evaluated_at) * 1000)::bigint,"
    " (extract(epoch from g.tripped_at) * 1000)::bigint, coalesce(g.trip_reason, ''),"
    " coalesce(g.aborted_by, ''), coalesce(g.abort_reason, ''),"
    " (extract(epoch from g.closed_at) * 1000)::bigint, g.close_summary::text,"
    " " GUARD_RULES_COLUMNS
    " from accounts ac left join guard_state g on g.account_id = ac.id"
    " left join guard_rules r on r.account_id = ac.id"
    " where ($1::text[] is null or ac.id = any($1::text[]))"
    " and (ac.id = $2::text or ($2::text is null and (ac.enabled or g.account_id is not null)))"
    " order by ac.id";

/* The rules of row i: its guard_rules row, or the defaults (also what
 * guard_rules_from_row gives for a row it cannot use). */
static void row_rules(const PGresult *r, int i, guard_rules *g)
{
    char err[160];
    (void)guard_rules_from_row(r, i, G_RULES, g, err, sizeof err);
}

static cJSON *rules_json(const PGresult *r, int i)
{
    guard_rules g;
    row_rules(r, i, &g);
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddBoolToObject(o, "default", !guard_rules_row_custom(r, i, G_RULES)) ||
              guard_rules_to_json(&g, o) != 0)) {
        cJSON_Delete(o);
        return cJSON_CreateNull();
    }
    return o ? o : cJSON_CreateNull();
}

static void print_guards_json(const PGresult *r, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            break;
        }
        bool counting = strcmp(PQgetvalue(r, i, G_STATE), "countdown") == 0;
        cJSON_AddStringToObject(o, "account", PQgetvalue(r, i, G_ACCOUNT));
        cli_json_str(o, "state", PQgetvalue(r, i, G_STATE)); /* null: never evaluated */
        cJSON_AddNumberToObject(o, "level", cli_col_num(r, i, G_LEVEL));
        view_json_add_number(o, "equity", cli_col_num(r, i, G_EQUITY));
        view_json_add_number(o, "balance", cli_col_num(r, i, G_BALANCE));
        view_json_add_number(o, "floor", cli_col_num(r, i, G_FLOOR));
        view_json_add_number(o, "dailyFloor", cli_col_num(r, i, G_DAILY));
        view_json_add_number(o, "used", cli_col_num(r, i, G_USED));
        cli_json_str(o, "rule", PQgetvalue(r, i, G_RULE));
        cli_json_str(o, "why", PQgetvalue(r, i, G_WHY));
        cli_json_time(o, "countdownEndsAt", counting ? cli_col_ms(r, i, G_ENDS) : 0);
        if (counting && !PQgetisnull(r, i, G_LEFT))
            cJSON_AddNumberToObject(o, "countdownLeftS", cli_col_num(r, i, G_LEFT));
        else
            cJSON_AddNullToObject(o, "countdownLeftS");
        cli_json_str(o, "owner", PQgetvalue(r, i, G_OWNER));
        cli_json_time(o, "dataAt", cli_col_ms(r, i, G_DATA));
        cli_json_time(o, "evaluatedAt", cli_col_ms(r, i, G_EVAL));
        cli_json_time(o, "trippedAt", cli_col_ms(r, i, G_TRIPPED));
        cli_json_str(o, "tripReason", PQgetvalue(r, i, G_TRIP_REASON));
        cli_json_str(o, "abortedBy", PQgetvalue(r, i, G_ABORTED_BY));
        cli_json_str(o, "abortReason", PQgetvalue(r, i, G_ABORT_REASON));
        cli_json_time(o, "closedAt", cli_col_ms(r, i, G_CLOSED));
        cli_json_doc(o, "closeSummary",
                PQgetisnull(r, i, G_SUMMARY) ? NULL : PQgetvalue(r, i, G_SUMMARY));
        cJSON_AddItemToObject(o, "rules", rules_json(r, i));
    }
    if (!arr) {
        fputs("[]\n", stdout);
        return;
    }
    cli_print_json(stdout, arr);
    cJSON_Delete(arr);
}

/* Prints "  label: value" for a non-empty column, sanitised. */
static void print_detail(FILE *out, const char *label, const char *value)
{
    if (!value[0])
        return;
    fprintf(out, "  %s: ", label);
    cli_print_safe(out, value);
    fputc('\n', out);
}

static void print_guards_text(FILE *out, const PGresult *r, int n)
{
    bool u = cli_utf8();
    fprintf(out, "%-16s %-9s %14s %14s %14s %6s %-10s %-9s %-24s %s\n", "ACCOUNT", "STATE",
            "EQUITY", "FLOOR", "DAILY FLOOR", "USED", "RULE", "COUNTDOWN", "RULES", "OWNER");
    for (int i = 0; i < n; i++) {
        char acc[CELL], owner[CELL], eq[32], fl[32], dfl[32], used[16], cd[24], rules[64];
        const char *state = PQgetvalue(r, i, G_STATE);
        sanitize_text(PQgetvalue(r, i, G_ACCOUNT), acc, sizeof acc, u);
        sanitize_text(PQgetvalue(r, i, G_OWNER)[0] ? PQgetvalue(r, i, G_OWNER) : "-", owner,
                      sizeof owner, u);
        fmt_money(cli_col_num(r, i, G_EQUITY), 0, eq, sizeof eq);
        fmt_money(cli_col_num(r, i, G_FLOOR), 0, fl, sizeof fl);
        fmt_money(cli_col_num(r, i, G_DAILY), 0, dfl, sizeof dfl);
        double f = cli_col_num(r, i, G_USED);
        if (isfinite(f))
            snprintf(used, sizeof used, "%.0f%%", f * 100);
        else
            snprintf(used, sizeof used, "-");
        if (strcmp(state, "countdown") == 0 && !PQgetisnull(r, i, G_LEFT))
            snprintf(cd, sizeof cd, "%ss left", PQgetvalue(r, i, G_LEFT));
        else
            snprintf(cd, sizeof cd, "-");
        guard_rules g;
        row_rules(r, i, &g);
        char preset[GUARD_PRESET_LEN];
        sanitize_text(g.preset, preset, sizeof preset, u);
        if (preset[0])
            snprintf(rules, sizeof rules, "%s", preset);
        else
            snprintf(rules, sizeof rules, "%.4g%% %s%s", g.max_loss_pct, guard_mode_name(g.mode),
                     g.countdown_s < 0 ? " alert-only" : "");
        fprintf(out, "%-16.16s %-9s %14s %14s %14s %6s %-10s %-9s %-24.24s %s\n", acc,
                state[0] ? state : "-", eq, fl, dfl, used,
                PQgetvalue(r, i, G_RULE)[0] ? PQgetvalue(r, i, G_RULE) : "-", cd, rules, owner);
        print_detail(out, "why", PQgetvalue(r, i, G_WHY));
        if (strcmp(state, "aborted") == 0) {
            print_detail(out, "aborted by", PQgetvalue(r, i, G_ABORTED_BY));
            print_detail(out, "reason", PQgetvalue(r, i, G_ABORT_REASON));
        }
        if (strcmp(state, "closing") == 0 || strcmp(state, "closed") == 0)
            print_detail(out, "tripped", PQgetvalue(r, i, G_TRIP_REASON));
    }
}

static int cmd_guard_status(config *cfg, int argc, char **argv)
{
    static const struct option OPTS[] = {{"account", required_argument, NULL, 'a'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static const char usage[] = "usage: tradeops guard status [--account ID] [--json]\n";
    const char *account = NULL;
    bool json = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        switch (c) {
        case 'a': account = optarg; break;
        case 'j': json = true; break;
        case 'h':
            printf("%sEach account's drawdown guard as its owner last wrote it: state, equity,\n"
                   "floors, allowance used, countdown, the instance acting (owner), why, and\n"
                   "the rules (default: 20%% below peak equity, trailing intraday, 10 s "
                   "countdown).\n",
                   usage);
            return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fputs("tradeops guard status: unexpected argument \"", stderr);
        cli_print_safe(stderr, argv[optind]);
        fprintf(stderr, "\"\n%s", usage);
        return EXIT_USAGE;
    }
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    char *scope = NULL;
    PGresult *r = NULL;
    if (account && (rc = cli_visible_account(pg, &op, account)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    if (op.role == ROLE_TRADER && !(scope = pg_text_array_literal(op.accounts, op.n_accounts))) {
        fprintf(stderr, "tradeops: out of memory\n");
        goto out;
    }
    const char *p[2] = {scope, account};
    r = pg_exec_params(pg, SQL_GUARDS, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = cli_query_failed(r, "the guards");
        goto out;
    }
    int n = PQntuples(r);
    for (int i = 0; i < n; i++)
        if (!auth_can_see(&op, PQgetvalue(r, i, G_ACCOUNT))) {
            fprintf(stderr, "tradeops: internal error: a guard outside your scope was read\n");
            goto out;
        }
    if (json)
        print_guards_json(r, n);
    else
        print_guards_text(stdout, r, n);
    rc = EXIT_OK;
out:
    PQclear(r);
    free(scope);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

static int cmd_guard_close_all(config *cfg, int argc, char **argv)
{
    static const char usage[] =
        "usage: tradeops guard close-all ACCOUNT --confirm ACCOUNT [--note TEXT]\n"
        "Closes every open position of ACCOUNT now, through the guard (admin; audited).\n"
        "--confirm must repeat the account id; otherwise nothing is sent (exit 2).\n";
    cli_action_opts o;
    const char *arg;
    int rc = cli_parse_action("guard close-all", usage, argc, argv, &o, &arg);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    const char *account = o.account ? o.account : arg;
    if ((rc = cli_check_account_arg("guard close-all", account)) != EXIT_OK)
        return rc;
    if (!o.confirm || strcmp(o.confirm, account) != 0) {
        fputs("tradeops guard close-all: not confirmed: --confirm must repeat the account id \"",
              stderr);
        cli_print_safe(stderr, account);
        fputs("\"; nothing was sent\n", stderr);
        return EXIT_USAGE;
    }
    command cmd = {.kind = CMD_GUARD_CLOSE_ALL};
    snprintf(cmd.account, sizeof cmd.account, "%s", account);
    snprintf(cmd.note, sizeof cmd.note, "%s", o.note ? o.note : "");
    return cli_execute(cfg, &cmd);
}

static int cmd_guard_rearm(config *cfg, int argc, char **argv)
{
    static const char usage[] =
        "usage: tradeops guard rearm ACCOUNT [--note TEXT]\n"
        "Arms a closed, aborted or breached guard again; trailing baselines restart from\n"
        "what the account holds now (admin; audited).\n";
    cli_action_opts o;
    const char *arg;
    int rc = cli_parse_action("guard rearm", usage, argc, argv, &o, &arg);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    const char *account = o.account ? o.account : arg;
    if (o.confirm || (rc = cli_check_account_arg("guard rearm", account)) != EXIT_OK) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    command cmd = {.kind = CMD_GUARD_REARM};
    snprintf(cmd.account, sizeof cmd.account, "%s", account);
    snprintf(cmd.note, sizeof cmd.note, "%s", o.note ? o.note : "");
    return cli_execute(cfg, &cmd);
}

int cli_guard(config *cfg, int argc, char **argv)
{
    /* No subcommand, or only options: status. */
    if (argc < 2 || (argv[1][0] == '-' && strcmp(argv[1], "--help") != 0 &&
                     strcmp(argv[1], "-h") != 0))
        return cmd_guard_status(cfg, argc, argv);
    const char *sub = argv[1];
    if (strcmp(sub, "close-all") == 0)
        return cmd_guard_close_all(cfg, argc - 1, argv + 1);
    if (strcmp(sub, "rearm") == 0)
        return cmd_guard_rearm(cfg, argc - 1, argv + 1);
    if (strcmp(sub, "status") == 0)
        return cmd_guard_status(cfg, argc - 1, argv + 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        printf("usage: tradeops guard status [--account ID] [--json]\n"
               "       tradeops guard close-all ACCOUNT --confirm ACCOUNT [--note TEXT]\n"
               "       tradeops guard rearm ACCOUNT [--note TEXT]\n");
        return EXIT_OK;
    }
    fputs("tradeops guard: unknown subcommand \"", stderr);
    cli_print_safe(stderr, sub);
    fputs("\" (status, close-all, rearm)\n", stderr);
    return EXIT_USAGE;
}
