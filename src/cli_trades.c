/*
 * cli_trades.c - `tradeops trades`: closed trades, newest first.
 *
 *   tradeops trades [--account ID] [--since T] [--limit N] [--json|--csv]
 *
 * Scope: an operator sees the trades of the accounts auth_can_see allows (a
 * trader only their own). Naming an account outside the scope is refused
 * (exit 3) and the refusal audited, whether or not the account exists, so
 * a trader cannot probe for other accounts; anyone else naming an unknown
 * account gets exit 1. Reading is not audited, as for positions.
 *
 * Strings from outside (symbol, strategy, the deals' comments) reach the
 * terminal only through cli_print_safe, cli_print_csv_field or
 * cli_print_json.
 *
 * Threads: main thread only.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "broker.h"
#include "cli.h"
#include "cli_common.h"
#include "clock.h"
#include "fmt.h"
#include "pg.h"
#include "sanitize.h"
#include "view_json.h"

#define TRADES_DEFAULT_LIMIT 100
#define TRADES_MAX_LIMIT 100000
#define MS_PER_MIN 60000LL
/* Ages beyond a century are typing mistakes, and would overflow soon after. */
#define SINCE_MAX_MS (100LL * 366 * 24 * 60 * MS_PER_MIN)
#define ISO_LEN 40
#define DATE_LEN 10 /* YYYY-MM-DD */
#define HHMM_LEN 5  /* HH:MM */
#define CELL 80     /* a sanitised table cell */
#define TICKET_W 12 /* the ticket column */

static const char USAGE[] =
    "usage: tradeops trades [--account ID] [--since T] [--limit N] [--json|--csv]\n";

static const char HELP[] =
    "Lists closed trades, newest first, of the accounts you may see.\n"
    "  --account ID   only this account\n"
    "  --since T      closed at or after T: a UTC date (2026-11-21), a UTC date-time\n"
    "                 (2026-11-21T09:30, 2026-11-21 09:30:15) or an age (90m, 24h, 7d, 2w)\n"
    "  --limit N      at most N trades (default 100, at most 100000)\n"
    "  --json         every field, the deals included; --csv a header and one row each\n"
    "An incomplete trade (*) is one whose opening deal was never read: its open time\n"
    "and price are unknown.\n";

/* ---- --since ---- */

static const struct {
    char unit;
    long long ms;
} AGE_UNITS[] = {{'m', MS_PER_MIN},
                 {'h', 60 * MS_PER_MIN},
                 {'d', 24 * 60 * MS_PER_MIN},
                 {'w', 7 * 24 * 60 * MS_PER_MIN}};

/* An age ("24h") before now; -1 when s is not one. */
static int parse_age(const char *s, int64_t now, int64_t *out)
{
    size_t n = strlen(s);
    if (n < 2 || strspn(s, "0123456789") != n - 1)
        return -1;
    for (size_t i = 0; i < sizeof AGE_UNITS / sizeof AGE_UNITS[0]; i++) {
        if (s[n - 1] != AGE_UNITS[i].unit)
            continue;
        long long v = strtoll(s, NULL, 10); /* digits only; at worst LLONG_MAX */
        if (v <= 0 || v > SINCE_MAX_MS / AGE_UNITS[i].ms)
            return -1;
        *out = now - v * AGE_UNITS[i].ms;
        return 0;
    }
    return -1;
}

/* A date or date-time, UTC unless it carries a zone; -1 when not one.
 * Normalised to what broker_parse_time reads, which then checks every
 * digit and range (month 13, 30 February...). */
static int parse_when(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    char iso[ISO_LEN];
    if (n == DATE_LEN) {
        snprintf(iso, sizeof iso, "%sT00:00:00Z", s);
    } else {
        if (n < DATE_LEN + 1 + HHMM_LEN || n >= sizeof iso - 4 ||
            (s[DATE_LEN] != 'T' && s[DATE_LEN] != ' '))
            return -1;
        const char *rest = s + DATE_LEN + 1 + HHMM_LEN; /* after HH:MM */
        bool zone = s[n - 1] == 'Z' || strpbrk(rest, "+-") != NULL;
        snprintf(iso, sizeof iso, "%.*sT%.*s%s%s%s", DATE_LEN, s, HHMM_LEN, s + DATE_LEN + 1,
                 *rest == ':' ? "" : ":00", rest, zone ? "" : "Z");
    }
    return broker_parse_time(iso, out);
}

int cli_parse_since(const char *s, int64_t now_ms, int64_t *out)
{
    return parse_age(s, now_ms, out) == 0 || parse_when(s, out) == 0 ? 0 : -1;
}

/* ---- output ---- */

/* Columns of the query below. */
enum {
    C_ID,
    C_ACCOUNT,
    C_POSITION,
    C_SYMBOL,
    C_SIDE,
    C_VOLUME,
    C_OPEN_MS,
    C_CLOSE_MS,
    C_OPEN_PRICE,
    C_CLOSE_PRICE,
    C_PROFIT,
    C_COMMISSION,
    C_SWAP,
    C_STRATEGY,
    C_MAGIC,
    C_INCOMPLETE,
    C_RECORDED_MS,
    C_DEALS
};

static const char *SQL_TRADES =
    "select t.id, t.account_id, t.position_id, t.symbol, t.side, t.volume,"
    " (extract(epoch from t.open_time) * 1000)::bigint,"
    " (extract(epoch from t.close_time) * 1000)::bigint, t.open_price, t.close_price,"
    " t.profit, t.commission, t.swap, t.strategy, t.magic, t.incomplete,"
    " (extract(epoch from t.recorded_at) * 1000)::bigint,"
    " case when $5::boolean then t.deals::text end"
    " from closed_trades t"
    " where ($1::text[] is null or t.account_id = any($1::text[]))"
    " and ($2::text is null or t.account_id = $2)"
    " and ($3::timestamptz is null or t.close_time >= $3::timestamptz)"
    " order by t.close_time desc, t.id desc limit $4::int";

static const char *val(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

static double num(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NAN : strtod(PQgetvalue(r, i, c), NULL);
}

static int64_t ms(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? 0 : strtoll(PQgetvalue(r, i, c), NULL, 10);
}

static bool incomplete(const PGresult *r, int i)
{
    return PQgetvalue(r, i, C_INCOMPLETE)[0] == 't';
}

static double net(const PGresult *r, int i)
{
    return num(r, i, C_PROFIT) + num(r, i, C_COMMISSION) + num(r, i, C_SWAP);
}

static void add_time(cJSON *o, const char *name, int64_t t)
{
    char iso[ISO_LEN];
    view_iso_time(t, iso, sizeof iso);
    if (t)
        cJSON_AddStringToObject(o, name, iso);
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
        cJSON_AddNumberToObject(o, "id", num(r, i, C_ID));
        cJSON_AddStringToObject(o, "account", PQgetvalue(r, i, C_ACCOUNT));
        cJSON_AddStringToObject(o, "positionId", PQgetvalue(r, i, C_POSITION));
        cJSON_AddStringToObject(o, "symbol", PQgetvalue(r, i, C_SYMBOL));
        cJSON_AddStringToObject(o, "side", PQgetvalue(r, i, C_SIDE));
        view_json_add_number(o, "volume", num(r, i, C_VOLUME));
        add_time(o, "openTime", ms(r, i, C_OPEN_MS));
        add_time(o, "closeTime", ms(r, i, C_CLOSE_MS));
        view_json_add_number(o, "openPrice", num(r, i, C_OPEN_PRICE));
        view_json_add_number(o, "closePrice", num(r, i, C_CLOSE_PRICE));
        view_json_add_number(o, "profit", num(r, i, C_PROFIT));
        view_json_add_number(o, "commission", num(r, i, C_COMMISSION));
        view_json_add_number(o, "swap", num(r, i, C_SWAP));
        view_json_add_number(o, "net", net(r, i));
        if (val(r, i, C_STRATEGY))
            cJSON_AddStringToObject(o, "strategy", val(r, i, C_STRATEGY));
        else
            cJSON_AddNullToObject(o, "strategy");
        view_json_add_number(o, "magic", num(r, i, C_MAGIC));
        cJSON_AddBoolToObject(o, "incomplete", incomplete(r, i));
        add_time(o, "recordedAt", ms(r, i, C_RECORDED_MS));
        cJSON *deals = val(r, i, C_DEALS) ? cJSON_Parse(val(r, i, C_DEALS)) : NULL;
        if (deals)
            cJSON_AddItemToObject(o, "deals", deals);
        else
            cJSON_AddNullToObject(o, "deals");
    }
    if (!arr) {
        fprintf(stderr, "tradeops: out of memory printing trades\n");
        return EXIT_FAIL;
    }
    cli_print_json(stdout, arr);
    cJSON_Delete(arr);
    return EXIT_OK;
}

/* The shortest of %.15g and %.17g that reads back as the same double (as
 * cJSON writes numbers); "" when unknown. */
static void csv_number(double v, char *buf, size_t cap)
{
    if (!isfinite(v)) {
        snprintf(buf, cap, "%s", "");
        return;
    }
    snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, cap, "%.17g", v);
}

static void csv_time(FILE *out, int64_t t)
{
    char iso[ISO_LEN] = "";
    if (t)
        view_iso_time(t, iso, sizeof iso);
    fputs(iso, out);
}

static void print_csv(FILE *out, const PGresult *r, int n)
{
    static const int NUMS[] = {C_OPEN_PRICE, C_CLOSE_PRICE, C_PROFIT, C_COMMISSION, C_SWAP};
    fputs("id,account,position_id,symbol,side,volume,open_time,close_time,open_price,"
          "close_price,profit,commission,swap,net,strategy,magic,incomplete,recorded_at\n",
          out);
    for (int i = 0; i < n; i++) {
        char b[40];
        fprintf(out, "%s,", PQgetvalue(r, i, C_ID));
        cli_print_csv_field(out, PQgetvalue(r, i, C_ACCOUNT));
        fputc(',', out);
        cli_print_csv_field(out, PQgetvalue(r, i, C_POSITION));
        fputc(',', out);
        cli_print_csv_field(out, PQgetvalue(r, i, C_SYMBOL));
        csv_number(num(r, i, C_VOLUME), b, sizeof b);
        fprintf(out, ",%s,%s,", PQgetvalue(r, i, C_SIDE), b);
        csv_time(out, ms(r, i, C_OPEN_MS));
        fputc(',', out);
        csv_time(out, ms(r, i, C_CLOSE_MS));
        for (size_t k = 0; k < sizeof NUMS / sizeof NUMS[0]; k++) {
            csv_number(num(r, i, NUMS[k]), b, sizeof b);
            fprintf(out, ",%s", b);
        }
        csv_number(net(r, i), b, sizeof b);
        fprintf(out, ",%s,", b);
        cli_print_csv_field(out, val(r, i, C_STRATEGY) ? val(r, i, C_STRATEGY) : "");
        fprintf(out, ",%s,%s,", PQgetvalue(r, i, C_MAGIC), incomplete(r, i) ? "true" : "false");
        csv_time(out, ms(r, i, C_RECORDED_MS));
        fputc('\n', out);
    }
}

static void print_text(FILE *out, const PGresult *r, int n)
{
    bool utf8 = cli_utf8(), any_incomplete = false;
    double total = 0;
    fprintf(out, "%-19s %-16s %-12s %-10s %-4s %7s %12s %12s %7s %11s %9s %11s %s\n",
            "CLOSED (UTC)", "ACCOUNT", "TICKET", "SYMBOL", "SIDE", "VOLUME", "OPEN", "CLOSE",
            "HELD", "PROFIT", "COSTS", "NET", "STRATEGY");
    for (int i = 0; i < n; i++) {
        char closed[32], acc[CELL], ticket[CELL], sym[CELL], strat[CELL], vol[16], open[32],
            close[32], held[16], profit[32], costs[32], netb[32];
        int64_t o = ms(r, i, C_OPEN_MS), c = ms(r, i, C_CLOSE_MS);
        bool inc = incomplete(r, i);
        fmt_time_utc(c, 19, closed, sizeof closed);
        sanitize_text(PQgetvalue(r, i, C_ACCOUNT), acc, sizeof acc, utf8);
        sanitize_text(PQgetvalue(r, i, C_POSITION), ticket, sizeof ticket, utf8);
        sanitize_text(PQgetvalue(r, i, C_SYMBOL), sym, sizeof sym, utf8);
        sanitize_text(val(r, i, C_STRATEGY) ? val(r, i, C_STRATEGY) : "-", strat, sizeof strat,
                      utf8);
        fmt_volume(num(r, i, C_VOLUME), vol, sizeof vol);
        fmt_price(num(r, i, C_OPEN_PRICE), open, sizeof open);
        fmt_price(num(r, i, C_CLOSE_PRICE), close, sizeof close);
        if (o && c >= o)
            fmt_age(c - o, held, sizeof held);
        else
            snprintf(held, sizeof held, "-");
        fmt_money(num(r, i, C_PROFIT), 0, profit, sizeof profit);
        fmt_money(num(r, i, C_COMMISSION) + num(r, i, C_SWAP), 0, costs, sizeof costs);
        fmt_money(net(r, i), 0, netb, sizeof netb);
        char tk[CELL]; /* the marker stays visible however long the ticket */
        snprintf(tk, sizeof tk, "%.*s%s", TICKET_W - (int)inc, ticket, inc ? "*" : "");
        fprintf(out, "%-19s %-16.16s %-*s %-10.10s %-4s %7s %12s %12s %7s %11s %9s %11s %s\n",
                closed, acc, TICKET_W, tk, sym, PQgetvalue(r, i, C_SIDE), vol, open, close, held,
                profit, costs, netb, strat);
        any_incomplete |= inc;
        total += net(r, i);
    }
    char tot[32];
    fmt_money(total, 0, tot, sizeof tot);
    fprintf(out, "%d trade%s, net %s (profit + commission + swap)\n", n, n == 1 ? "" : "s", tot);
    if (any_incomplete)
        fprintf(out, "* incomplete: the opening deal was never read (open time and price "
                     "unknown)\n");
}

/* ---- the command ---- */

typedef struct trades_opts {
    const char *account, *since_arg;
    int64_t since_ms;
    long limit;
    bool json, csv;
} trades_opts;

static int parse_opts(int argc, char **argv, trades_opts *o)
{
    static const struct option OPTS[] = {{"account", required_argument, NULL, 'a'},
                                         {"since", required_argument, NULL, 's'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"csv", no_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->limit = TRADES_DEFAULT_LIMIT;
    int c;
    char *end;
    optind = 0; /* 0 re-initialises GNU getopt, which the global options used */
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        switch (c) {
        case 'a': o->account = optarg; break;
        case 's': o->since_arg = optarg; break;
        case 'j': o->json = true; break;
        case 'c': o->csv = true; break;
        case 'l':
            o->limit = strtol(optarg, &end, 10);
            if (*end || end == optarg || o->limit < 1 || o->limit > TRADES_MAX_LIMIT) {
                fprintf(stderr,
                        "tradeops trades: --limit must be a whole number from 1 to %d, "
                        "not \"%s\"\n",
                        TRADES_MAX_LIMIT, optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h': printf("%s%s", USAGE, HELP); return -1;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tradeops trades: unexpected argument \"%s\"\n%s", argv[optind], USAGE);
        return EXIT_USAGE;
    }
    if (o->json && o->csv) {
        fprintf(stderr, "tradeops trades: --json and --csv: choose one\n");
        return EXIT_USAGE;
    }
    if (o->since_arg && cli_parse_since(o->since_arg, clock_now_ms(), &o->since_ms) != 0) {
        fputs("tradeops trades: --since \"", stderr);
        cli_print_safe(stderr, o->since_arg);
        fputs("\" is not a UTC date (2026-11-21), date-time (2026-11-21T09:30) or age (90m, "
              "24h, 7d, 2w)\n",
              stderr);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* EXIT_OK when the operator may list this account and it exists. */
static int check_account(PGconn *pg, const operator_id *op, const char *account)
{
    char err[256];
    if (!auth_can_see(op, account)) {
        if (audit_write(pg, op, "trades.list", account, "account outside the operator's scope",
                        "refused", NULL, err, sizeof err) != 0)
            fprintf(stderr, "tradeops: could not audit the refusal: %s\n", err);
        fputs("tradeops: refused: ", stderr);
        cli_print_safe(stderr, op->user);
        fputs(" may not see account \"", stderr);
        cli_print_safe(stderr, account);
        fputs("\"\n", stderr);
        return EXIT_REFUSED;
    }
    const char *p[1] = {account};
    PGresult *r =
        pg_exec_params(pg, "select 1 from accounts where id = $1", 1, NULL, p, NULL, NULL, 0);
    int rc = EXIT_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, sizeof err, PQresultErrorMessage(r));
        fprintf(stderr, "tradeops: %s\n", err);
        rc = EXIT_FAIL;
    } else if (PQntuples(r) == 0) {
        fputs("tradeops: no account \"", stderr);
        cli_print_safe(stderr, account);
        fputs("\" (see `tradeops account list`)\n", stderr);
        rc = EXIT_FAIL;
    }
    PQclear(r);
    return rc;
}

int cli_trades(config *cfg, int argc, char **argv)
{
    trades_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc; /* -1: --help was printed */
    PGconn *pg;
    operator_id op;
    if ((rc = cli_session(cfg, &pg, &op)) != EXIT_OK)
        return rc;
    char *scope = NULL, since[ISO_LEN], limit[24];
    PGresult *r = NULL;
    if (o.account && (rc = check_account(pg, &op, o.account)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    if (op.role == ROLE_TRADER && !(scope = pg_text_array_literal(op.accounts, op.n_accounts))) {
        fprintf(stderr, "tradeops: out of memory\n");
        goto out;
    }
    view_iso_time(o.since_ms, since, sizeof since);
    /* One more than asked, to say when there are more. */
    snprintf(limit, sizeof limit, "%ld", o.limit + 1);
    const char *p[5] = {scope, o.account, o.since_arg ? since : NULL, limit,
                        o.json ? "true" : "false"};
    r = pg_exec_params(pg, SQL_TRADES, 5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char err[256];
        pg_error_copy(err, sizeof err, PQresultErrorMessage(r));
        fprintf(stderr, "tradeops: reading closed trades: %s\n", err);
        goto out;
    }
    int n = PQntuples(r);
    bool more = n > o.limit;
    if (more)
        n = (int)o.limit;
    /* Scope again, row by row: the query's filter is not the only guard. */
    for (int i = 0; i < n; i++) {
        if (!auth_can_see(&op, PQgetvalue(r, i, C_ACCOUNT))) {
            fprintf(stderr, "tradeops: internal error: a trade outside your scope was read\n");
            goto out;
        }
    }
    rc = EXIT_OK;
    if (o.json)
        rc = print_json(r, n);
    else if (o.csv)
        print_csv(stdout, r, n);
    else
        print_text(stdout, r, n);
    if (more)
        fprintf(stderr, "tradeops: showing the newest %ld; there are more (--limit, --since)\n",
                o.limit);
out:
    PQclear(r);
    free(scope);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}
