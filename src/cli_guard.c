/*
 * cli_guard.c - `tradeops account set-guard` and `tradeops account
 * show-guard`: an account's drawdown guard rules.
 *
 * set-guard starts from a preset (or the defaults) and applies the flags on
 * top; guard_rules_save checks the role again, validates, and audits every
 * attempt, refusals too. show-guard is open to whoever may see the account.
 *
 * Threads: main thread only.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "cli_common.h"
#include "guard_rules.h"
#include "pg.h"
#include "sanitize.h"

#define MINUTES_PER_HOUR 60
#define HOURS_PER_DAY 24
#define PCT 100.0

static const char SET_USAGE[] =
    "usage: tradeops account set-guard ID --preset NAME [FLAGS]\n"
    "       tradeops account set-guard ID --max-loss-pct P --mode MODE [FLAGS]\n"
    "  --preset NAME            ftmo-2step, ftmo-1step, eod-trailing-lock, intraday-trailing\n"
    "  --max-loss-pct P         percent below the baseline (0 < P < 100)\n"
    "  --mode MODE              static | trailing_intraday | trailing_eod\n"
    "  --initial-balance N|none the static baseline (none: the first balance seen)\n"
    "  --lock-pct P|none        trailing floors stop at initial x (1 + P/100)\n"
    "  --daily-loss-pct P|none  percent below the balance at the daily reset\n"
    "  --reset HH:MM            the daily reset, local time in --tz (default 00:00)\n"
    "  --tz ZONE                IANA time zone of the reset (default UTC)\n"
    "  --warn F,F|none          warning levels, fractions of the allowance (0.5,0.8)\n"
    "  --countdown S            seconds from breach to closing every position (0-3600)\n"
    "  --no-auto-close          alert only, never close\n"
    "  --blind-after S          data older than this makes the guard blind (2-3600)\n"
    "Flags given with --preset override the preset's values. Admin only; audited.\n";

static const char SHOW_USAGE[] = "usage: tradeops account show-guard ID [--json]\n";

enum {
    O_PRESET = 256,
    O_LOSS,
    O_MODE,
    O_INITIAL,
    O_LOCK,
    O_DAILY,
    O_RESET,
    O_TZ,
    O_WARN,
    O_COUNTDOWN,
    O_NO_CLOSE,
    O_BLIND,
    O_HELP,
};

static const struct option SET_OPTS[] = {{"preset", required_argument, NULL, O_PRESET},
                                         {"max-loss-pct", required_argument, NULL, O_LOSS},
                                         {"mode", required_argument, NULL, O_MODE},
                                         {"initial-balance", required_argument, NULL, O_INITIAL},
                                         {"lock-pct", required_argument, NULL, O_LOCK},
                                         {"daily-loss-pct", required_argument, NULL, O_DAILY},
                                         {"reset", required_argument, NULL, O_RESET},
                                         {"tz", required_argument, NULL, O_TZ},
                                         {"warn", required_argument, NULL, O_WARN},
                                         {"countdown", required_argument, NULL, O_COUNTDOWN},
                                         {"no-auto-close", no_argument, NULL, O_NO_CLOSE},
                                         {"blind-after", required_argument, NULL, O_BLIND},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};

/* Prints "tradeops: --flag "value" is not ...: what" with the value made safe. */
static int bad_value(const char *flag, const char *value, const char *what)
{
    fprintf(stderr, "tradeops: %s \"", flag);
    cli_print_safe(stderr, value);
    fprintf(stderr, "\" is not %s\n", what);
    return EXIT_USAGE;
}

/* A finite number, the whole argument; "none" gives NAN when allowed. */
static int parse_num(const char *flag, const char *s, bool none_ok, double *out)
{
    if (none_ok && strcmp(s, "none") == 0) {
        *out = NAN;
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(d))
        return bad_value(flag, s, none_ok ? "a number (or none)" : "a number");
    *out = d;
    return 0;
}

static int parse_int(const char *flag, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno == ERANGE || v < lo || v > hi) {
        char what[64];
        snprintf(what, sizeof what, "a whole number of seconds from %d to %d", lo, hi);
        return bad_value(flag, s, what);
    }
    *out = (int)v;
    return 0;
}

/* "HH:MM" or "H:MM", 00:00 to 23:59. */
static int parse_reset(const char *s, int *minute)
{
    int h = 0, m = 0, i = 0;
    if (s[i] < '0' || s[i] > '9')
        return bad_value("--reset", s, "a time HH:MM");
    h = s[i++] - '0';
    if (s[i] >= '0' && s[i] <= '9')
        h = h * 10 + (s[i++] - '0');
    if (s[i++] != ':' || s[i] < '0' || s[i] > '9' || s[i + 1] < '0' || s[i + 1] > '9' ||
        s[i + 2] != '\0')
        return bad_value("--reset", s, "a time HH:MM");
    m = (s[i] - '0') * 10 + (s[i + 1] - '0');
    if (h >= HOURS_PER_DAY || m >= MINUTES_PER_HOUR)
        return bad_value("--reset", s, "a time from 00:00 to 23:59");
    *minute = h * MINUTES_PER_HOUR + m;
    return 0;
}

/* "0.5,0.8" or "none". */
static int parse_warn(const char *s, guard_rules *r)
{
    r->n_warn = 0;
    if (strcmp(s, "none") == 0)
        return 0;
    const char *p = s;
    for (;;) {
        if (r->n_warn == GUARD_MAX_WARN)
            return bad_value("--warn", s, "at most 4 levels");
        char *end;
        errno = 0;
        double d = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(d) || (*end && *end != ','))
            return bad_value("--warn", s, "a list of fractions such as 0.5,0.8 (or none)");
        r->warn[r->n_warn++] = d;
        if (!*end)
            return 0;
        p = end + 1;
    }
}

/* Applies one rule flag to r. EXIT_OK or EXIT_USAGE (message printed). */
static int apply_flag(int c, const char *arg, guard_rules *r)
{
    switch (c) {
    case O_LOSS:
        return parse_num("--max-loss-pct", arg, false, &r->max_loss_pct) ? EXIT_USAGE : EXIT_OK;
    case O_MODE:
        if (guard_mode_parse(arg, &r->mode) != 0)
            return bad_value("--mode", arg, "static, trailing_intraday or trailing_eod");
        return EXIT_OK;
    case O_INITIAL:
        return parse_num("--initial-balance", arg, true, &r->initial_balance) ? EXIT_USAGE
                                                                              : EXIT_OK;
    case O_LOCK: return parse_num("--lock-pct", arg, true, &r->lock_pct) ? EXIT_USAGE : EXIT_OK;
    case O_DAILY:
        return parse_num("--daily-loss-pct", arg, true, &r->daily_loss_pct) ? EXIT_USAGE : EXIT_OK;
    case O_RESET: return parse_reset(arg, &r->reset_minute) ? EXIT_USAGE : EXIT_OK;
    case O_TZ:
        if (strlen(arg) >= sizeof r->reset_tz)
            return bad_value("--tz", arg, "a time zone name (too long)");
        snprintf(r->reset_tz, sizeof r->reset_tz, "%s", arg);
        return EXIT_OK;
    case O_WARN: return parse_warn(arg, r) ? EXIT_USAGE : EXIT_OK;
    case O_COUNTDOWN:
        return parse_int("--countdown", arg, 0, 3600, &r->countdown_s) ? EXIT_USAGE : EXIT_OK;
    case O_NO_CLOSE: r->countdown_s = -1; return EXIT_OK;
    case O_BLIND:
        return parse_int("--blind-after", arg, 2, 3600, &r->blind_after_s) ? EXIT_USAGE : EXIT_OK;
    default: return EXIT_USAGE;
    }
}

static void print_pct_list(const guard_rules *r)
{
    if (r->n_warn == 0) {
        printf("none\n");
        return;
    }
    for (int i = 0; i < r->n_warn; i++)
        printf("%s%g%%", i ? ", " : "", r->warn[i] * PCT);
    printf(" of the allowance used\n");
}

/* The rules for people, one per line. */
static void print_rules(const char *account, const guard_rules *r, bool custom,
                        const char *updated_at, const char *updated_by)
{
    printf("guard rules of ");
    cli_print_safe(stdout, account);
    printf(custom ? "\n" : " (defaults)\n");
    printf("  preset           %s\n", r->preset[0] ? r->preset : "-");
    const char *base = r->mode == GUARD_STATIC              ? "the initial balance"
                       : r->mode == GUARD_TRAILING_INTRADAY ? "peak equity"
                                                            : "the highest end-of-day balance";
    printf("  max loss         %g%% %s (floor below %s)\n", r->max_loss_pct,
           guard_mode_name(r->mode), base);
    if (isfinite(r->initial_balance))
        printf("  initial balance  %.2f\n", r->initial_balance);
    else
        printf("  initial balance  the first balance seen\n");
    if (isfinite(r->lock_pct))
        printf("  lock             floor stops at initial + %g%%\n", r->lock_pct);
    else
        printf("  lock             none\n");
    if (isfinite(r->daily_loss_pct))
        printf("  daily loss       %g%% below the balance at the reset\n", r->daily_loss_pct);
    else
        printf("  daily loss       none\n");
    printf("  daily reset      %02d:%02d %s\n", r->reset_minute / MINUTES_PER_HOUR,
           r->reset_minute % MINUTES_PER_HOUR, r->reset_tz);
    printf("  warnings         ");
    print_pct_list(r);
    if (r->countdown_s >= 0)
        printf("  at the floor     %d s countdown, then close every position\n", r->countdown_s);
    else
        printf("  at the floor     alert only, never close\n");
    printf("  blind after      %d s without fresh data\n", r->blind_after_s);
    if (custom && updated_at) {
        printf("  updated          %s by ", updated_at);
        cli_print_safe(stdout, updated_by ? updated_by : "");
        putchar('\n');
    }
}

int cli_account_set_guard(config *cfg, int argc, char **argv)
{
    /* Two passes: the preset first, whatever its place, then the flags. */
    const char *preset = NULL;
    bool countdown = false, no_close = false, rule_flags = false, loss = false, mode = false;
    int c;
    optind = 0; /* 0 re-initialises GNU getopt, which the global options used */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", SET_OPTS, NULL)) != -1) {
        if (c == O_HELP) {
            fputs(SET_USAGE, stdout);
            return EXIT_OK;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "tradeops: account set-guard: unknown option or missing value: ");
            cli_print_safe(stderr, argv[optind - 1]);
            fputc('\n', stderr);
            fputs(SET_USAGE, stderr);
            return EXIT_USAGE;
        }
        if (c == O_PRESET)
            preset = optarg;
        else
            rule_flags = true;
        countdown |= c == O_COUNTDOWN;
        no_close |= c == O_NO_CLOSE;
        loss |= c == O_LOSS;
        mode |= c == O_MODE;
    }
    opterr = 1;
    if (argc - optind != 1) {
        fprintf(stderr, "tradeops: account set-guard needs exactly one account ID\n%s", SET_USAGE);
        return EXIT_USAGE;
    }
    if (countdown && no_close) {
        fprintf(stderr, "tradeops: --countdown and --no-auto-close contradict each other\n");
        return EXIT_USAGE;
    }
    guard_rules r;
    if (preset) {
        if (guard_preset(preset, &r) != 0) {
            fprintf(stderr, "tradeops: unknown preset \"");
            cli_print_safe(stderr, preset);
            fprintf(stderr, "\"; presets are");
            for (int i = 0; guard_preset_names[i]; i++)
                fprintf(stderr, "%s %s", i ? "," : "", guard_preset_names[i]);
            fputc('\n', stderr);
            return EXIT_USAGE;
        }
    } else if (!loss || !mode) {
        fprintf(stderr, "tradeops: give --preset NAME, or at least --max-loss-pct and --mode\n%s",
                SET_USAGE);
        return EXIT_USAGE;
    } else {
        guard_rules_default(&r);
    }
    optind = 0;
    while ((c = getopt_long(argc, argv, "", SET_OPTS, NULL)) != -1)
        if (c != O_PRESET && apply_flag(c, optarg, &r) != EXIT_OK)
            return EXIT_USAGE;
    if (rule_flags)
        r.preset[0] = '\0'; /* a preset changed by flags is the operator's own */
    const char *account = argv[optind];

    char err[512];
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    switch (guard_rules_save(pg, &op, account, &r, err, sizeof err)) {
    case GUARD_SAVE_OK:
        printf("guard rules of ");
        cli_print_safe(stdout, account);
        printf(" set\n");
        print_rules(account, &r, true, NULL, NULL);
        rc = EXIT_OK;
        break;
    case GUARD_SAVE_REFUSED:
        fputs("tradeops: refused: ", stderr);
        cli_print_safe(stderr, err);
        fputc('\n', stderr);
        rc = EXIT_REFUSED;
        break;
    case GUARD_SAVE_INVALID:
        fputs("tradeops: account set-guard: ", stderr);
        cli_print_safe(stderr, err);
        fputs("; nothing changed\n", stderr);
        rc = EXIT_USAGE;
        break;
    default:
        fputs("tradeops: account set-guard: ", stderr);
        cli_print_safe(stderr, err);
        fputs("; nothing changed\n", stderr);
        rc = EXIT_FAIL;
        break;
    }
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

int cli_account_show_guard(config *cfg, int argc, char **argv)
{
    bool json = false;
    const char *account = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            fputs(SHOW_USAGE, stdout);
            return EXIT_OK;
        } else if (argv[i][0] == '-' || account) {
            fputs("tradeops: account show-guard: unexpected argument \"", stderr);
            cli_print_safe(stderr, argv[i]);
            fprintf(stderr, "\"\n%s", SHOW_USAGE);
            return EXIT_USAGE;
        } else {
            account = argv[i];
        }
    }
    if (!account) {
        fputs(SHOW_USAGE, stderr);
        return EXIT_USAGE;
    }
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    char err[512];
    PGresult *res = NULL;
    if (!auth_can_see(&op, account)) {
        /* Refused before looking: a trader cannot probe which ids exist. */
        if (audit_write(pg, &op, "account.show_guard", account,
                        "account outside the operator's scope", "refused", NULL, err,
                        sizeof err) != 0)
            fprintf(stderr, "tradeops: could not audit the refusal: %s\n", err);
        fputs("tradeops: refused: ", stderr);
        cli_print_safe(stderr, op.user);
        fputs(" may not see account \"", stderr);
        cli_print_safe(stderr, account);
        fputs("\"\n", stderr);
        rc = EXIT_REFUSED;
        goto out;
    }
    const char *p[1] = {account};
    res = pg_exec_params(pg,
                         "select a.id, " GUARD_RULES_COLUMNS ","
                         " to_char(r.updated_at at time zone 'UTC',"
                         " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), r.updated_by"
                         " from accounts a left join guard_rules r on r.account_id = a.id"
                         " where a.id = $1",
                         1, NULL, p, NULL, NULL, 0);
    rc = EXIT_FAIL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "tradeops: %s", PQresultErrorMessage(res));
        goto out;
    }
    if (PQntuples(res) == 0) {
        fputs("tradeops: no account \"", stderr);
        cli_print_safe(stderr, account);
        fputs("\" (see `tradeops account list`)\n", stderr);
        goto out;
    }
    guard_rules r;
    if (guard_rules_from_row(res, 0, 1, &r, err, sizeof err) != 0) {
        fputs("tradeops: ", stderr);
        cli_print_safe(stderr, err);
        fputs(" (set them again with `tradeops account set-guard`)\n", stderr);
        goto out;
    }
    bool custom = guard_rules_row_custom(res, 0, 1);
    int cu = 1 + GUARD_RULES_NCOLS;
    const char *at = custom ? PQgetvalue(res, 0, cu) : NULL;
    const char *by = custom ? PQgetvalue(res, 0, cu + 1) : NULL;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *rj = cJSON_CreateObject();
        if (!o || !rj || !cJSON_AddStringToObject(o, "account", PQgetvalue(res, 0, 0)) ||
            !cJSON_AddBoolToObject(o, "custom", custom) || guard_rules_to_json(&r, rj) != 0) {
            cJSON_Delete(o);
            cJSON_Delete(rj);
            fprintf(stderr, "tradeops: out of memory\n");
            goto out;
        }
        cJSON_AddItemToObject(o, "rules", rj);
        if (custom) {
            cJSON_AddStringToObject(o, "updatedAt", at);
            cJSON_AddStringToObject(o, "updatedBy", by);
        } else {
            cJSON_AddNullToObject(o, "updatedAt");
            cJSON_AddNullToObject(o, "updatedBy");
        }
        cli_print_json(stdout, o);
        cJSON_Delete(o);
    } else {
        print_rules(PQgetvalue(res, 0, 0), &r, custom, at, by);
    }
    rc = EXIT_OK;
out:
    PQclear(res);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}
