/*
 * cli_alerts.c - `tradeops alerts`: the alerts as scripts and monitoring see
 * them, acknowledging one and aborting an auto-close countdown; and the
 * helpers cli_guard_ops.c shares (cli_alerts.h).
 *
 *   tradeops alerts [--all] [--account ID] [--severity S] [--limit N] [--json]
 *   tradeops alerts ack ID [--note TEXT]
 *   tradeops alerts abort ID|ACCOUNT --note REASON
 *
 * Listing exits 4 (critical, as `status` does) when it shows an active
 * (open or acknowledged) critical alert, so monitoring can run it as a
 * check. Scope: a trader sees the alerts of their own accounts and those
 * about no account (a notification destination disabled, say); naming
 * another account gets the same answer as an unknown one. Reading is not
 * audited.
 *
 * Every action is a struct command run by command_execute, which checks
 * the role and the scope, audits (refusals too) and acts in one
 * transaction, exactly as for the console.
 *
 * Threads: main thread only.
 */
#include "cli_alerts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "clock.h"
#include "fmt.h"
#include "model.h"
#include "pg.h"
#include "sanitize.h"
#include "view_json.h"

#define ALERTS_DEFAULT_LIMIT 100
#define ALERTS_MAX_LIMIT 100000
#define ACCOUNT_MAX 63 /* command.account holds 63 bytes and a NUL */
#define ISO_LEN 40
#define CELL 80  /* a sanitised table cell */
#define LINE 640 /* a sanitised title or note */

/* ---- shared with cli_guard_ops.c (cli_alerts.h) ---- */

int64_t cli_col_ms(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? 0 : strtoll(PQgetvalue(r, i, c), NULL, 10);
}

double cli_col_num(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NAN : strtod(PQgetvalue(r, i, c), NULL);
}

void cli_json_time(cJSON *o, const char *name, int64_t ms)
{
    char iso[ISO_LEN];
    if (ms == 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    view_iso_time(ms, iso, sizeof iso);
    cJSON_AddStringToObject(o, name, iso);
}

/* A string, or null when empty. */
void cli_json_str(cJSON *o, const char *name, const char *s)
{
    if (s && s[0])
        cJSON_AddStringToObject(o, name, s);
    else
        cJSON_AddNullToObject(o, name);
}

/* Adds a JSON document stored as text (jsonb), or null. */
void cli_json_doc(cJSON *o, const char *name, const char *text)
{
    cJSON *d = text ? cJSON_Parse(text) : NULL;
    if (d)
        cJSON_AddItemToObject(o, name, d);
    else
        cJSON_AddNullToObject(o, name);
}

int cli_query_failed(PGresult *r, const char *what)
{
    char err[256];
    pg_error_copy(err, sizeof err, PQresultErrorMessage(r));
    fprintf(stderr, "tradeops: reading %s: ", what);
    cli_print_safe(stderr, err);
    fputc('\n', stderr);
    return EXIT_FAIL;
}

/* EXIT_OK when account exists and op may see it; otherwise one answer for
 * both, so a trader learns nothing of accounts that are not theirs. */
int cli_visible_account(PGconn *pg, const operator_id *op, const char *account)
{
    int rc = EXIT_OK;
    if (auth_can_see(op, account)) {
        const char *p[1] = {account};
        PGresult *r =
            pg_exec_params(pg, "select 1 from accounts where id = $1", 1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            rc = cli_query_failed(r, "accounts");
        else if (PQntuples(r) == 0)
            rc = -1;
        PQclear(r);
    } else {
        rc = -1;
    }
    if (rc == -1) {
        fputs("tradeops: no account \"", stderr);
        cli_print_safe(stderr, account);
        fputs("\" visible to ", stderr);
        cli_print_safe(stderr, op->user);
        fputs(" (see `tradeops account list`)\n", stderr);
        rc = EXIT_FAIL;
    }
    return rc;
}

static int parse_limit(const char *cmd, const char *arg, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < 1 || v > ALERTS_MAX_LIMIT) {
        fprintf(stderr, "tradeops %s: --limit must be a whole number from 1 to %d, not \"", cmd,
                ALERTS_MAX_LIMIT);
        cli_print_safe(stderr, arg);
        fputs("\"\n", stderr);
        return EXIT_USAGE;
    }
    *out = v;
    return EXIT_OK;
}

int cli_check_account_arg(const char *cmd, const char *account)
{
    if (account[0] && strlen(account) <= ACCOUNT_MAX)
        return EXIT_OK;
    fprintf(stderr, "tradeops %s: an account id is 1 to %d characters\n", cmd, ACCOUNT_MAX);
    return EXIT_USAGE;
}

static int check_note_len(const char *cmd, const char *note)
{
    if (!note || strlen(note) <= COMMAND_NOTE_MAX)
        return EXIT_OK;
    fprintf(stderr, "tradeops %s: the note is %zu bytes; at most %d are kept\n", cmd,
            strlen(note), COMMAND_NOTE_MAX);
    return EXIT_USAGE;
}

/* Runs one command through command_execute and says how it went: the
 * engine's message on stdout when done, on stderr otherwise. */
int cli_execute(config *cfg, const command *cmd)
{
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    command_result res;
    enum command_status st = command_execute(pg, &op, cmd, &res);
    char msg[sizeof res.message + 8];
    sanitize_text(res.message, msg, sizeof msg, cli_utf8());
    fprintf(st == CMD_OK ? stdout : stderr, "%s%s\n", st == CMD_OK ? "" : "tradeops: ", msg);
    auth_free(&op);
    PQfinish(pg);
    return st == CMD_OK ? EXIT_OK : st == CMD_REFUSED ? EXIT_REFUSED : EXIT_FAIL;
}

int cli_parse_action(const char *cmd, const char *usage, int argc, char **argv,
                     cli_action_opts *o, const char **arg)
{
    static const struct option OPTS[] = {{"note", required_argument, NULL, 'n'},
                                         {"confirm", required_argument, NULL, 'c'},
                                         {"account", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    int c;
    optind = 0; /* 0 re-initialises GNU getopt, which the global options used */
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        switch (c) {
        case 'n': o->note = optarg; break;
        case 'c': o->confirm = optarg; break;
        case 'a': o->account = optarg; break;
        case 'h': fputs(usage, stdout); return -1;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    *arg = optind < argc ? argv[optind] : NULL;
    if (argc - optind != (o->account ? 0 : 1)) {
        fprintf(stderr, "tradeops %s: give exactly one %s\n%s", cmd,
                o->account ? "target (--account or an argument)" : "target", usage);
        return EXIT_USAGE;
    }
    return check_note_len(cmd, o->note);
}

/* A row id: digits only, positive. */
static bool parse_id(const char *s, int64_t *out)
{
    if (!s || !*s || strspn(s, "0123456789") != strlen(s))
        return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno || v <= 0)
        return false;
    *out = v;
    return true;
}

/* ---- alerts (the list) ---- */

enum { A_ID, A_KIND, A_SEV, A_STATE, A_ACCOUNT, A_TITLE, A_DETAILS, A_RAISED, A_LAST, A_COUNT,
       A_ACKED, A_ACKED_BY, A_RESOLVED, A_RESOLVED_BY, A_NOTE, A_N_ACTIVE /* by severity */ };

#define SEVERITY_RANK "case a.severity when 'critical' then 2 when 'warning' then 1 else 0 end"

static const char *SQL_ALERTS =
    "select a.id, a.kind, a.severity, a.state, coalesce(a.account_id, ''), a.title,"
    " a.details::text, (extract(epoch from a.raised_at) * 1000)::bigint,"
    " (extract(epoch from a.last_seen_at) * 1000)::bigint, a.count,"
    " (extract(epoch from a.acked_at) * 1000)::bigint, coalesce(a.acked_by, ''),"
    " (extract(epoch from a.resolved_at) * 1000)::bigint, coalesce(a.resolved_by, ''),"
    " coalesce(a.note, ''),"
    /* Active ones of each severity among all that match, --limit or not,
     * in enum alert_severity's order. */
    " count(*) filter (where a.state <> 'resolved' and a.severity = 'info') over (),"
    " count(*) filter (where a.state <> 'resolved' and a.severity = 'warning') over (),"
    " count(*) filter (where a.state <> 'resolved' and a.severity = 'critical') over ()"
    " from alerts a"
    " where ($1::text[] is null or a.account_id is null or a.account_id = any($1::text[]))"
    " and ($2::text is null or a.account_id = $2)"
    " and ($3::boolean or a.state <> 'resolved')"
    " and " SEVERITY_RANK " >= $4::int"
    " order by a.state = 'resolved', " SEVERITY_RANK " desc, a.raised_at desc, a.id desc"
    " limit $5::int";

static bool row_active(const PGresult *r, int i)
{
    return strcmp(PQgetvalue(r, i, A_STATE), "resolved") != 0;
}

static bool row_critical(const PGresult *r, int i)
{
    return row_active(r, i) && strcmp(PQgetvalue(r, i, A_SEV), "critical") == 0;
}

static void print_alerts_json(const PGresult *r, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            break;
        }
        cJSON_AddNumberToObject(o, "id", cli_col_num(r, i, A_ID));
        cJSON_AddStringToObject(o, "kind", PQgetvalue(r, i, A_KIND));
        cJSON_AddStringToObject(o, "severity", PQgetvalue(r, i, A_SEV));
        cJSON_AddStringToObject(o, "state", PQgetvalue(r, i, A_STATE));
        cli_json_str(o, "account", PQgetvalue(r, i, A_ACCOUNT));
        cJSON_AddStringToObject(o, "title", PQgetvalue(r, i, A_TITLE));
        cli_json_doc(o, "details", PQgetvalue(r, i, A_DETAILS));
        cli_json_time(o, "raisedAt", cli_col_ms(r, i, A_RAISED));
        cli_json_time(o, "lastSeenAt", cli_col_ms(r, i, A_LAST));
        cJSON_AddNumberToObject(o, "count", cli_col_num(r, i, A_COUNT));
        cli_json_time(o, "ackedAt", cli_col_ms(r, i, A_ACKED));
        cli_json_str(o, "ackedBy", PQgetvalue(r, i, A_ACKED_BY));
        cli_json_time(o, "resolvedAt", cli_col_ms(r, i, A_RESOLVED));
        cli_json_str(o, "resolvedBy", PQgetvalue(r, i, A_RESOLVED_BY));
        cli_json_str(o, "note", PQgetvalue(r, i, A_NOTE));
    }
    if (!arr) {
        fputs("[]\n", stdout);
        return;
    }
    cli_print_json(stdout, arr);
    cJSON_Delete(arr);
}

static void print_alerts_text(FILE *out, const PGresult *r, int n)
{
    bool u = cli_utf8();
    long by_sev[ALERT_SEVERITY_COUNT] = {0}, active = 0;
    for (int s = 0; n > 0 && s < ALERT_SEVERITY_COUNT; s++) {
        by_sev[s] = strtol(PQgetvalue(r, 0, A_N_ACTIVE + s), NULL, 10);
        active += by_sev[s];
    }
    fprintf(out, "%ld active", active);
    const char *sep = ": ";
    for (int s = ALERT_SEVERITY_COUNT - 1; s >= 0; s--)
        if (by_sev[s]) {
            fprintf(out, "%s%ld %s", sep, by_sev[s], alert_severity_name((enum alert_severity)s));
            sep = ", ";
        }
    fputc('\n', out);
    if (n == 0)
        return;
    int64_t now = clock_now_ms();
    fprintf(out, "%-7s %-8s %-12s %-16s %-27s %-19s %9s %5s %s\n", "ID", "SEVERITY", "STATE",
            "ACCOUNT", "KIND", "RAISED (UTC)", "LAST SEEN", "COUNT", "TITLE");
    for (int i = 0; i < n; i++) {
        char acc[CELL], kind[CELL], title[LINE], raised[32], seen[24], by[CELL], note[LINE],
            when[32];
        sanitize_text(PQgetvalue(r, i, A_ACCOUNT)[0] ? PQgetvalue(r, i, A_ACCOUNT) : "-", acc,
                      sizeof acc, u);
        sanitize_text(PQgetvalue(r, i, A_KIND), kind, sizeof kind, u);
        sanitize_text(PQgetvalue(r, i, A_TITLE), title, sizeof title, u);
        fmt_time_utc(cli_col_ms(r, i, A_RAISED), 19, raised, sizeof raised);
        int64_t last = cli_col_ms(r, i, A_LAST);
        char age[16];
        fmt_age(now > last ? now - last : 0, age, sizeof age);
        snprintf(seen, sizeof seen, "%s ago", age);
        fprintf(out, "%-7s %-8s %-12s %-16.16s %-27.27s %-19s %9s %5s %s\n",
                PQgetvalue(r, i, A_ID), PQgetvalue(r, i, A_SEV), PQgetvalue(r, i, A_STATE), acc,
                kind, raised, seen, PQgetvalue(r, i, A_COUNT), title);
        bool resolved = !row_active(r, i);
        int by_col = resolved ? A_RESOLVED_BY : A_ACKED_BY;
        if (PQgetvalue(r, i, by_col)[0]) {
            sanitize_text(PQgetvalue(r, i, by_col), by, sizeof by, u);
            sanitize_text(PQgetvalue(r, i, A_NOTE), note, sizeof note, u);
            fmt_time_utc(cli_col_ms(r, i, resolved ? A_RESOLVED : A_ACKED), 19, when, sizeof when);
            fprintf(out, "        %s by %s at %s%s%s\n", resolved ? "resolved" : "acknowledged",
                    by, when, note[0] ? ": " : "", note);
        }
    }
}

static const char ALERTS_USAGE[] =
    "usage: tradeops alerts [--all] [--account ID] [--severity S] [--limit N] [--json]\n"
    "       tradeops alerts ack ID [--note TEXT]\n"
    "       tradeops alerts abort ID|ACCOUNT --note REASON\n";

static const char ALERTS_HELP[] =
    "Lists the active alerts (open and acknowledged), critical first, newest first.\n"
    "  --all          resolved alerts too (after the active ones)\n"
    "  --account ID   only this account's\n"
    "  --severity S   only S and above (info < warning < critical)\n"
    "  --limit N      at most N (default 100)\n"
    "  --json         every field, details included\n"
    "Exit 4 when an active critical alert is listed (for monitoring), 0 otherwise.\n"
    "ack ID: acknowledge an alert (oncall, admin). abort ID|ACCOUNT: stop the auto-close\n"
    "countdown of an alert's account, or of an account (an account id of digits only:\n"
    "--account ID), with a reason (oncall, admin). Both are audited, refusals too.\n";

static int alerts_list(config *cfg, int argc, char **argv)
{
    static const struct option OPTS[] = {
        {"all", no_argument, NULL, 'A'},         {"account", required_argument, NULL, 'a'},
        {"severity", required_argument, NULL, 's'}, {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool all = false, json = false;
    const char *account = NULL;
    enum alert_severity min_sev = ALERT_INFO;
    long limit = ALERTS_DEFAULT_LIMIT;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        switch (c) {
        case 'A': all = true; break;
        case 'j': json = true; break;
        case 'a': account = optarg; break;
        case 's':
            if (alert_severity_parse(optarg, &min_sev) != 0) {
                fputs("tradeops alerts: --severity \"", stderr);
                cli_print_safe(stderr, optarg);
                fputs("\" is not one of info, warning, critical\n", stderr);
                return EXIT_USAGE;
            }
            break;
        case 'l':
            if (parse_limit("alerts", optarg, &limit) != EXIT_OK)
                return EXIT_USAGE;
            break;
        case 'h': printf("%s%s", ALERTS_USAGE, ALERTS_HELP); return EXIT_OK;
        default: fputs(ALERTS_USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fputs("tradeops alerts: unexpected argument \"", stderr);
        cli_print_safe(stderr, argv[optind]);
        fprintf(stderr, "\"\n%s", ALERTS_USAGE);
        return EXIT_USAGE;
    }
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    char *scope = NULL, lim[24], sev[8];
    PGresult *r = NULL;
    if (account && (rc = cli_visible_account(pg, &op, account)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    if (op.role == ROLE_TRADER && !(scope = pg_text_array_literal(op.accounts, op.n_accounts))) {
        fprintf(stderr, "tradeops: out of memory\n");
        goto out;
    }
    snprintf(lim, sizeof lim, "%ld", limit + 1); /* one more, to say when there are more */
    snprintf(sev, sizeof sev, "%d", (int)min_sev);
    const char *p[5] = {scope, account, all ? "true" : "false", sev, lim};
    r = pg_exec_params(pg, SQL_ALERTS, 5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = cli_query_failed(r, "alerts");
        goto out;
    }
    int n = PQntuples(r);
    bool more = n > limit;
    if (more)
        n = (int)limit;
    bool critical = false;
    for (int i = 0; i < n; i++) {
        const char *a = PQgetvalue(r, i, A_ACCOUNT);
        if (a[0] && !auth_can_see(&op, a)) { /* the query's filter is not the only guard */
            fprintf(stderr, "tradeops: internal error: an alert outside your scope was read\n");
            goto out;
        }
        critical |= row_critical(r, i);
    }
    if (json)
        print_alerts_json(r, n);
    else
        print_alerts_text(stdout, r, n);
    if (more)
        fprintf(stderr, "tradeops: showing %ld; there are more (--limit, --account)\n", limit);
    rc = critical ? EXIT_CRITICAL : EXIT_OK;
out:
    PQclear(r);
    free(scope);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

static int alerts_ack(config *cfg, int argc, char **argv)
{
    static const char usage[] = "usage: tradeops alerts ack ID [--note TEXT]\n"
                                "Acknowledges an alert: someone is on it (oncall, admin; "
                                "audited).\n";
    cli_action_opts o;
    const char *arg;
    int rc = cli_parse_action("alerts ack", usage, argc, argv, &o, &arg);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    command cmd = {.kind = CMD_ALERT_ACK};
    if (o.account || o.confirm || !parse_id(arg, &cmd.target_id)) {
        fprintf(stderr, "tradeops alerts ack: give one alert id (a number; see `tradeops "
                        "alerts`)\n");
        return EXIT_USAGE;
    }
    snprintf(cmd.note, sizeof cmd.note, "%s", o.note ? o.note : "");
    return cli_execute(cfg, &cmd);
}

static int alerts_abort(config *cfg, int argc, char **argv)
{
    static const char usage[] =
        "usage: tradeops alerts abort ID|ACCOUNT --note REASON\n"
        "       tradeops alerts abort --account ACCOUNT --note REASON\n"
        "Stops the auto-close countdown of an alert's account (ID: a number) or of an\n"
        "account, with the reason (oncall, admin; audited). Refused once the close has "
        "started.\n";
    cli_action_opts o;
    const char *arg;
    int rc = cli_parse_action("alerts abort", usage, argc, argv, &o, &arg);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (o.confirm) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (!o.note) {
        fprintf(stderr, "tradeops alerts abort: --note REASON is required (why the positions "
                        "must stay open)\n");
        return EXIT_USAGE;
    }
    command cmd = {.kind = CMD_GUARD_ABORT};
    if (o.account || !parse_id(arg, &cmd.target_id)) {
        const char *account = o.account ? o.account : arg;
        if ((rc = cli_check_account_arg("alerts abort", account)) != EXIT_OK)
            return rc;
        snprintf(cmd.account, sizeof cmd.account, "%s", account);
    }
    snprintf(cmd.note, sizeof cmd.note, "%s", o.note);
    return cli_execute(cfg, &cmd);
}

int cli_alerts(config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "ack") == 0)
        return alerts_ack(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "abort") == 0)
        return alerts_abort(cfg, argc - 1, argv + 1);
    return alerts_list(cfg, argc, argv);
}
