/*
 * cli_report.c - `tradeops report`: the offline performance report.
 *
 *   tradeops report --trades-csv FILE --starting-balance N
 *                   [--groups account,strategy,symbol] [--format json|csv|text|html]
 *                   [--output FILE]
 *   tradeops report --account ID --period day|week|month|all [--date YYYY-MM-DD]
 *                   [--format json|csv|text] [--output FILE]
 *
 * Needs no database and no configuration: it reads the CSV (FILE "-" is
 * stdin), computes with the calculator (report.h, metrics.h) and writes.
 * The whole output is built in memory first, so a bad row (reported as
 * "FILE:LINE: what", exit 1) prints nothing on stdout and --output leaves
 * an existing file untouched; --output writes a temporary file beside the
 * target and renames it over, so a reader never sees half a page.
 *
 * With --account it reads the stored metrics instead (metrics_store.h; the
 * bucket of --period containing --date, default today UTC): the account,
 * and each of its strategies (a trade without one is strategy "") and
 * symbols, in the offline report's structure. Rows missing or behind the
 * account's trades are rebuilt first.
 *
 * Threads: main thread only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_common.h"
#include "clock.h"
#include "metrics_store.h"
#include "pg.h"
#include "report.h"

#define OUT_MODE 0666 /* before the umask: a page meant to be published */

static const struct option REPORT_OPTS[] = {{"trades-csv", required_argument, NULL, 't'},
                                            {"starting-balance", required_argument, NULL, 'b'},
                                            {"groups", required_argument, NULL, 'g'},
                                            {"format", required_argument, NULL, 'f'},
                                            {"output", required_argument, NULL, 'o'},
                                            {"account", required_argument, NULL, 'a'},
                                            {"period", required_argument, NULL, 'p'},
                                            {"date", required_argument, NULL, 'd'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};

static void report_usage(FILE *out)
{
    fprintf(out,
            "usage: tradeops report --trades-csv FILE --starting-balance N\n"
            "           [--groups account,strategy,symbol] [--format json|csv|text|html]\n"
            "           [--output FILE]\n"
            "       tradeops report --account ID --period day|week|month|all\n"
            "           [--date YYYY-MM-DD] [--format json|csv|text] [--output FILE]\n"
            "Performance metrics (win rate, profit factor, Sharpe, drawdowns...) of the\n"
            "closed trades in FILE (\"-\": stdin), a CSV with the header\n"
            "%s; close_time in ISO 8601 with a zone (Z or +02:00),\n"
            "pnl the net P&L. Overall, then per account and strategy (default groups) or\n"
            "the groups named. Formats: text (default), json, csv, html (one self-contained\n"
            "page). No database needed. With --account: the stored metrics of the\n"
            "account (and its strategies and symbols) for the period containing --date\n"
            "(default today, UTC). Exit 0 ok, 1 bad input, 2 usage.\n",
            REPORT_CSV_HEADER);
}

static int parse_groups(const char *s, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned bit;
    } G[] = {{"account", REPORT_BY_ACCOUNT},
             {"strategy", REPORT_BY_STRATEGY},
             {"symbol", REPORT_BY_SYMBOL}};
    *out = 0;
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < sizeof G / sizeof G[0]; i++)
            if (len == strlen(G[i].name) && strncmp(p, G[i].name, len) == 0) {
                *out |= G[i].bit;
                found = true;
            }
        if (!found && len) {
            fprintf(stderr, "tradeops report: --groups: unknown group \"");
            cli_print_safe(stderr, p);
            fprintf(stderr, "\" (want a list of account, strategy, symbol)\n");
            return -1;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

static int parse_format(const char *s, report_format *f)
{
    static const char *const NAMES[] = {"json", "csv", "text", "html"};
    static const report_format F[] = {REPORT_JSON, REPORT_CSV, REPORT_TEXT, REPORT_HTML};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(s, NAMES[i]) == 0) {
            *f = F[i];
            return 0;
        }
    fprintf(stderr, "tradeops report: --format: want json, csv, text or html, not \"");
    cli_print_safe(stderr, s);
    fprintf(stderr, "\"\n");
    return -1;
}

/* Writes buf to path through a temporary file beside it and a rename. */
static int write_file(const char *path, const char *buf, size_t len)
{
    char tmp[4096];
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path + 1) : 0;
    if (snprintf(tmp, sizeof tmp, "%.*s.%s.XXXXXX", dl, path, slash ? slash + 1 : path) >=
        (int)sizeof tmp) {
        fprintf(stderr, "tradeops report: --output: path too long\n");
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "tradeops report: cannot write next to ");
        cli_print_safe(stderr, path);
        fprintf(stderr, ": %s\n", strerror(errno));
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    int rc = fchmod(fd, OUT_MODE & ~mask);
    for (size_t off = 0; rc == 0 && off < len;) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = -1;
        else
            off += (size_t)w;
    }
    if (rc == 0)
        rc = fsync(fd);
    int e = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        fprintf(stderr, "tradeops report: cannot write ");
        cli_print_safe(stderr, path);
        fprintf(stderr, ": %s\n", strerror(e));
    }
    return rc;
}

/* Writes the output (stdout or --output). */
static int emit(const char *output, const char *buf, size_t len)
{
    if (output)
        return write_file(output, buf, len) == 0 ? EXIT_OK : EXIT_FAIL;
    if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "tradeops report: cannot write to stdout: %s\n", strerror(errno));
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* The account's stored rows are missing or behind its trades. */
static int stale(PGconn *pg, const char *account, bool *out, char *err, size_t errlen)
{
    const char *p[1] = {account};
    PGresult *r = pg_query(pg,
                           "select coalesce((select max(id) from closed_trades where"
                           " account_id = $1), 0) > coalesce((select max(trades_through)"
                           " from perf_metrics where account_id = $1 and period = 'all'"
                           " and scope = 'account'), 0)",
                           1, p, err, errlen);
    if (!r)
        return -1;
    *out = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return 0;
}

static int report_account(const config *cfg, const char *account, const char *period_s,
                          const char *date, report_opts *o, const char *output)
{
    enum perf_period period;
    if (perf_period_parse(period_s, &period) != 0) {
        fprintf(stderr, "tradeops report: --period: want day, week, month or all, not \"");
        cli_print_safe(stderr, period_s);
        fprintf(stderr, "\"\n");
        return EXIT_USAGE;
    }
    int64_t day = clock_now_ms() / 86400000;
    if (date) {
        int64_t ms;
        char tmp[64], e[128];
        if (strlen(date) != 10 || snprintf(tmp, sizeof tmp, "%sT00:00:00Z", date) < 0 ||
            report_parse_time(tmp, &ms, e, sizeof e) != 0) {
            fprintf(stderr, "tradeops report: --date: want YYYY-MM-DD, not \"");
            cli_print_safe(stderr, date);
            fprintf(stderr, "\"\n");
            return EXIT_USAGE;
        }
        day = ms / 86400000;
    }
    PGconn *pg = NULL;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    char err[512] = "";
    const char *p[1] = {account};
    report_result *res = NULL;
    perf_row *rows[PERF_SCOPE_COUNT] = {0};
    size_t n[PERF_SCOPE_COUNT] = {0};
    char *buf = NULL;
    size_t len = 0;
    rc = EXIT_FAIL;
    PGresult *r =
        pg_exec_params(pg, "select 1 from accounts where id = $1", 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, sizeof err, PQresultErrorMessage(r));
        goto fail;
    }
    if (PQntuples(r) == 0 || !auth_can_see(&op, account)) {
        fprintf(stderr, "tradeops report: unknown account \"");
        cli_print_safe(stderr, account);
        fprintf(stderr, "\" (see tradeops account list)\n");
        goto out;
    }
    bool behind;
    if (stale(pg, account, &behind, err, sizeof err) != 0 ||
        (behind && metrics_store_rebuild(pg, account, err, sizeof err) != 0))
        goto fail;
    double sb;
    bool known;
    if (metrics_store_starting_balance(pg, account, &sb, &known, err, sizeof err) != 0)
        goto fail;
    if (!known)
        fprintf(stderr, "tradeops report: account %s has no starting balance (set one with"
                        " accounts.starting_balance); returns are not meaningful\n",
                account);
    for (int s = 0; s < PERF_SCOPE_COUNT; s++)
        if (metrics_store_list(pg, (enum perf_scope)s, period, day, account, NULL, &rows[s], &n[s],
                               err, sizeof err) != 0)
            goto fail;
    /* overall, by_account, by_strategy, by_symbol */
    size_t total = 2 + n[PERF_SCOPE_STRATEGY] + n[PERF_SCOPE_SYMBOL], k = 0;
    res = calloc(total, sizeof *res);
    if (!res) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    metrics_result acc;
    if (n[PERF_SCOPE_ACCOUNT])
        acc = rows[PERF_SCOPE_ACCOUNT][0].m;
    else
        metrics_compute(NULL, 0, sb, &acc);
    res[k++] = (report_result){NULL, NULL, acc};
    res[k++] = (report_result){"account", account, acc};
    for (int s = PERF_SCOPE_STRATEGY; s < PERF_SCOPE_COUNT; s++)
        for (size_t i = 0; i < n[s]; i++)
            res[k++] = (report_result){perf_scope_name((enum perf_scope)s), rows[s][i].key,
                                       rows[s][i].m};
    o->starting_balance = sb;
    o->groups = REPORT_BY_ACCOUNT | REPORT_BY_STRATEGY | REPORT_BY_SYMBOL;
    o->account = account;
    o->period = perf_period_name(period);
    o->period_start = metrics_store_bucket_start(period, day);
    o->source = account;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    int wrc = report_write_results(res, k, o, mem, err, sizeof err);
    if (fclose(mem) != 0 && wrc == 0) {
        snprintf(err, sizeof err, "out of memory while writing the report");
        wrc = -1;
    }
    if (wrc != 0)
        goto fail;
    rc = emit(output, buf, len);
    goto out;
fail:
    fprintf(stderr, "tradeops report: ");
    cli_print_safe(stderr, err);
    fputc('\n', stderr);
out:
    PQclear(r);
    for (int s = 0; s < PERF_SCOPE_COUNT; s++)
        free(rows[s]);
    free(res);
    free(buf);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

int cli_report(config *cfg, int argc, char **argv)
{
    const char *csv = NULL, *output = NULL, *balance = NULL, *account = NULL, *period = NULL,
               *date = NULL;
    report_opts o = {.groups = REPORT_GROUPS_DEFAULT, .format = REPORT_TEXT};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", REPORT_OPTS, NULL)) != -1) {
        switch (c) {
        case 't': csv = optarg; break;
        case 'b': balance = optarg; break;
        case 'o': output = optarg; break;
        case 'a': account = optarg; break;
        case 'p': period = optarg; break;
        case 'd': date = optarg; break;
        case 'g':
            if (parse_groups(optarg, &o.groups) != 0)
                return EXIT_USAGE;
            break;
        case 'f':
            if (parse_format(optarg, &o.format) != 0)
                return EXIT_USAGE;
            break;
        case 'h': report_usage(stdout); return EXIT_OK;
        default: report_usage(stderr); return EXIT_USAGE;
        }
    }
    if (account || period || date) {
        const char *bad = optind < argc ? "unexpected argument"
                          : csv         ? "--account and --trades-csv do not go together"
                          : balance     ? "--starting-balance is the account's own with --account"
                          : !account    ? "--period and --date need --account"
                          : !period     ? "--period day|week|month|all is required with --account"
                          : o.format == REPORT_HTML ? "--format html is for --trades-csv"
                                                    : NULL;
        if (bad) {
            fprintf(stderr, "tradeops report: %s\n", bad);
            report_usage(stderr);
            return EXIT_USAGE;
        }
        o.utf8 = cli_utf8();
        return report_account(cfg, account, period, date, &o, output);
    }
    if (optind < argc || !csv || !balance) {
        fprintf(stderr, "tradeops report: %s\n",
                optind < argc ? "unexpected argument"
                : !csv        ? "--trades-csv FILE is required"
                              : "--starting-balance N is required");
        report_usage(stderr);
        return EXIT_USAGE;
    }
    if (report_parse_number(balance, &o.starting_balance) != 0 || !(o.starting_balance > 0)) {
        fprintf(stderr, "tradeops report: --starting-balance: want a positive number, not \"");
        cli_print_safe(stderr, balance);
        fprintf(stderr, "\"\n");
        return EXIT_USAGE;
    }
    o.source = strcmp(csv, "-") == 0 ? "stdin" : csv;
    o.utf8 = cli_utf8();

    FILE *in = strcmp(csv, "-") == 0 ? stdin : fopen(csv, "r");
    if (!in) {
        fprintf(stderr, "tradeops report: cannot open ");
        cli_print_safe(stderr, csv);
        fprintf(stderr, ": %s\n", strerror(errno));
        return EXIT_FAIL;
    }
    char err[1024];
    char *buf = NULL;
    size_t len = 0;
    int rc = EXIT_FAIL;
    report_trades *t = report_trades_new();
    FILE *mem = NULL;
    if (!t) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    if (report_trades_read(t, in, o.source, err, sizeof err) != 0)
        goto fail;
    mem = open_memstream(&buf, &len);
    if (!mem) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    int wrc = report_write(t, &o, mem, err, sizeof err);
    if (fclose(mem) != 0 && wrc == 0) {
        snprintf(err, sizeof err, "out of memory while writing the report");
        wrc = -1;
    }
    mem = NULL;
    if (wrc != 0)
        goto fail;
    if (output) {
        rc = write_file(output, buf, len) == 0 ? EXIT_OK : EXIT_FAIL;
    } else if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "tradeops report: cannot write to stdout: %s\n", strerror(errno));
        rc = EXIT_FAIL;
    } else {
        rc = EXIT_OK;
    }
    goto out;
fail:
    fprintf(stderr, "tradeops report: ");
    cli_print_safe(stderr, err);
    fputc('\n', stderr);
out:
    if (in != stdin)
        fclose(in);
    report_trades_free(t);
    free(buf);
    return rc;
}
