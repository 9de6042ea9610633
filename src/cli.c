/*
 * cli.c - status, positions, migrate, and the output helpers they share.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <langinfo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "cache.h"
#include "cli_common.h"
#include "clock.h"
#include "engine.h"
#include "fmt.h"
#include "migrate.h"
#include "pg.h"
#include "sanitize.h"
#include "store.h"
#include "view_json.h"

bool cli_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

int cli_session(const config *cfg, PGconn **pg, operator_id *op)
{
    char err[512];
    if (auth_whoami(op, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: %s\n", err);
        return EXIT_USAGE;
    }
    *pg = pg_connect(cfg->pg_url, err, sizeof err);
    if (!*pg) {
        fprintf(stderr, "tradeops: %s\n", err);
        return EXIT_FAIL;
    }
    if (migrate_check(*pg, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: %s\n", err);
        PQfinish(*pg);
        *pg = NULL;
        return EXIT_FAIL;
    }
    if (auth_load(*pg, op, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: refused: %s\n", err);
        PQfinish(*pg);
        *pg = NULL;
        return EXIT_REFUSED;
    }
    return EXIT_OK;
}

int cli_require(PGconn *pg, const operator_id *op, enum role r, const char *action,
                const char *target)
{
    if (auth_at_least(op, r))
        return EXIT_OK;
    char err[256];
    if (audit_write(pg, op, action, target, NULL, "refused", NULL, err, sizeof err) != 0)
        fprintf(stderr, "tradeops: could not audit the refusal: %s\n", err);
    fprintf(stderr, "tradeops: refused: %s needs the %s role; %s is %s\n", action, role_name(r),
            op->user, role_name(op->role));
    return EXIT_REFUSED;
}

void cli_print_safe(FILE *out, const char *s)
{
    char buf[1024];
    sanitize_text(s, buf, sizeof buf, cli_utf8());
    fputs(buf, out);
}

void cli_print_csv_field(FILE *out, const char *s) { sanitize_write_csv(out, s); }

void cli_print_json(FILE *out, const cJSON *j)
{
    char *s = cJSON_Print(j);
    if (!s) {
        fputs("null\n", out);
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c == 0x7f) {
            fputs("\\u007f", out);
            p++;
        } else if (c == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
            fprintf(out, "\\u%04x", p[1]);
            p += 2;
        } else if (c < 0x80) {
            fputc(c, out);
            p++;
        } else {
            /* Copy a valid sequence whole; replace a bad byte. */
            char tmp[8];
            size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            size_t have = 1;
            while (have < len && (p[have] & 0xC0) == 0x80)
                have++;
            if (have == len && len > 1 && len < sizeof tmp) {
                memcpy(tmp, p, len);
                tmp[len] = '\0';
                if (sanitize_is_clean(tmp)) {
                    fputs(tmp, out);
                    p += len;
                    continue;
                }
            }
            fputs("\\ufffd", out);
            p++;
        }
    }
    fputc('\n', out);
    cJSON_free(s);
}

static void print_accounts_table(FILE *out, const model_snapshot *s, int64_t now)
{
    fprintf(out, "%-16s %-24s %14s %14s %12s %9s %4s %7s %s\n", "ACCOUNT", "NAME", "BALANCE",
            "EQUITY", "FLOATING", "DD/LIMIT", "POS", "AGE", "LINK");
    for (size_t i = 0; i < s->n_accounts; i++) {
        const account_view *a = &s->accounts[i];
        char bal[32], eq[32], fl[32], dd[32], age[16], id[80], name[80];
        fmt_money(a->has_info ? a->info.balance : NAN, 0, bal, sizeof bal);
        fmt_money(a->has_info ? a->info.equity : NAN, 0, eq, sizeof eq);
        fmt_money(account_floating_pnl(a), 0, fl, sizeof fl);
        fmt_dd(account_drawdown_pct(a), a->dd_limit_pct, dd, sizeof dd);
        fmt_age(account_age_ms(a, now), age, sizeof age);
        sanitize_text(a->id, id, sizeof id, cli_utf8());
        sanitize_text(a->name, name, sizeof name, cli_utf8());
        fprintf(out, "%-16s %-24.24s %14s %14s %12s %9s %4zu %7s %s%s", id, name, bal, eq, fl, dd,
                a->n_positions, age, link_state_name(a->link),
                account_is_stale(s, a, now) ? " STALE" : "");
        if (a->error[0]) {
            fputs("  ", out);
            cli_print_safe(out, a->error);
        }
        fputc('\n', out);
    }
}

static const struct option STATUS_OPTS[] = {{"json", no_argument, NULL, 'j'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};

int cli_status(config *cfg, int argc, char **argv)
{
    bool json = false;
    int c;
    optind = 0; /* 0 re-initialises GNU getopt, which the global options used */
    while ((c = getopt_long(argc, argv, "", STATUS_OPTS, NULL)) != -1) {
        if (c == 'j')
            json = true;
        else if (c == 'h') {
            printf("usage: tradeops status [--json]\n"
                   "Checks PostgreSQL, Redis and the broker link (one live poll) and "
                   "summarises the accounts.\nExit 0 when healthy, 4 when PostgreSQL or the "
                   "broker link is down.\n");
            return EXIT_OK;
        } else
            return EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "tradeops status: unexpected argument \"%s\"\n", argv[optind]);
        return EXIT_USAGE;
    }
    char pg_err[512] = "", redis_err[256] = "", err[512];
    int schema = -1;
    PGconn *pg = pg_connect(cfg->pg_url, pg_err, sizeof pg_err);
    operator_id op;
    memset(&op, 0, sizeof op);
    if (pg) {
        schema = migrate_current(pg, pg_err, sizeof pg_err);
        if (migrate_check(pg, err, sizeof err) != 0) {
            snprintf(pg_err, sizeof pg_err, "%s", err);
            PQfinish(pg);
            pg = NULL;
        }
    }
    if (pg) {
        int rc = EXIT_OK;
        if (auth_whoami(&op, err, sizeof err) != 0 || auth_load(pg, &op, err, sizeof err) != 0) {
            fprintf(stderr, "tradeops: refused: %s\n", err);
            rc = EXIT_REFUSED;
        }
        PQfinish(pg);
        if (rc != EXIT_OK) {
            auth_free(&op);
            return rc;
        }
    }
    double redis_us = NAN;
    cache *rc = cache_open(cfg->redis_url, cfg->redis_timeout_ms, cfg->redis_prefix);
    if (rc && cache_ping(rc, &redis_us, redis_err, sizeof redis_err) != 0)
        redis_us = NAN;
    cache_close(rc);

    model_snapshot *s = NULL;
    model *m = NULL;
    engine *e = NULL;
    if (pg_err[0] == '\0') {
        m = model_new();
        e = m ? engine_new(cfg, &op, m, err, sizeof err) : NULL;
        if (e)
            engine_poll_everything(e, true); /* a check of this host's own link */
        if (e && engine_cycle_once(e, err, sizeof err) == 0)
            s = model_acquire(m);
        else
            snprintf(pg_err, sizeof pg_err, "%s", err);
    }
    bool broker_down = !s || s->broker == LINK_DOWN;
    bool critical = pg_err[0] != '\0' || broker_down;
    int64_t now = clock_now_ms();
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "version", TRADEOPS_VERSION);
        cJSON_AddBoolToObject(o, "critical", critical);
        cJSON *p = cJSON_AddObjectToObject(o, "postgresql");
        cJSON_AddStringToObject(p, "state", pg_err[0] ? "down" : "up");
        if (pg_err[0])
            cJSON_AddStringToObject(p, "error", pg_err);
        if (schema >= 0)
            cJSON_AddNumberToObject(p, "schema", schema);
        cJSON *r = cJSON_AddObjectToObject(o, "redis");
        cJSON_AddStringToObject(r, "state", redis_err[0] ? "down" : "up");
        if (redis_err[0])
            cJSON_AddStringToObject(r, "error", redis_err);
        view_json_add_number(r, "pingMs", redis_us / 1000.0);
        cJSON *b = cJSON_AddObjectToObject(o, "broker");
        cJSON_AddStringToObject(b, "state", s ? link_state_name(s->broker) : "unknown");
        if (s && s->broker_error[0])
            cJSON_AddStringToObject(b, "error", s->broker_error);
        if (s)
            view_json_add_number(b, "latencyP95Ms", s->poll_latency.p95);
        cJSON *arr = cJSON_AddArrayToObject(o, "accounts");
        for (size_t i = 0; s && i < s->n_accounts; i++)
            cJSON_AddItemToArray(arr, view_json_account(&s->accounts[i], now, s->stale_after_ms, 0));
        cli_print_json(stdout, o);
        cJSON_Delete(o);
    } else {
        char t[40];
        view_iso_time(now, t, sizeof t);
        printf("tradeops %s status at %s: %s\n", TRADEOPS_VERSION, t,
               critical ? "CRITICAL" : "ok");
        printf("postgresql  %-5s ", pg_err[0] ? "DOWN" : "up");
        if (pg_err[0])
            cli_print_safe(stdout, pg_err);
        else
            printf("schema %d", schema);
        printf("\nredis       %-5s ", redis_err[0] ? "DOWN" : "up");
        if (redis_err[0])
            printf("%s (the console works from PostgreSQL without it)", redis_err);
        else
            printf("ping %.2f ms", redis_us / 1000.0);
        printf("\nbroker      %-5s ", s ? (s->broker == LINK_DOWN ? "DOWN" : link_state_name(s->broker)) : "?");
        if (s && s->broker_error[0])
            cli_print_safe(stdout, s->broker_error);
        else if (s && isfinite(s->poll_latency.p95))
            printf("%zu accounts, poll p95 %.1f ms", s->n_accounts, s->poll_latency.p95);
        printf("\n");
        if (s && s->n_accounts) {
            printf("\n");
            print_accounts_table(stdout, s, now);
        }
    }
    model_release(s);
    engine_free(e);
    model_free(m);
    auth_free(&op);
    return critical ? EXIT_CRITICAL : EXIT_OK;
}

static const struct option POS_OPTS[] = {{"json", no_argument, NULL, 'j'},
                                         {"csv", no_argument, NULL, 'c'},
                                         {"account", required_argument, NULL, 'a'},
                                         {"live", no_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};

/* The shortest of %.15g and %.17g that reads back as the same double (as
 * cJSON does), so 2348.81 is not written 2348.8099999999999; "" when unset. */
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

static void print_positions_csv(FILE *out, const model_snapshot *s)
{
    fputs("account,ticket,symbol,side,volume,open_price,current_price,stop_loss,take_profit,"
          "profit,swap,commission,open_time,comment\n",
          out);
    for (size_t i = 0; i < s->n_accounts; i++) {
        const account_view *a = &s->accounts[i];
        for (size_t k = 0; k < a->n_positions; k++) {
            const position *p = &a->positions[k];
            char t[40], open[32], cur[32], sl[32], tp[32];
            view_iso_time(p->open_time_ms, t, sizeof t);
            csv_number(p->open_price, open, sizeof open);
            csv_number(p->current_price, cur, sizeof cur);
            csv_number(p->stop_loss, sl, sizeof sl);
            csv_number(p->take_profit, tp, sizeof tp);
            cli_print_csv_field(out, a->id);
            fputc(',', out);
            cli_print_csv_field(out, p->id);
            fputc(',', out);
            cli_print_csv_field(out, p->symbol);
            fprintf(out, ",%s,%.2f,%s,%s,%s,%s,%.2f,%.2f,%.2f,%s,", side_name(p->side), p->volume,
                    open, cur, sl, tp, p->profit, p->swap, p->commission, t);
            cli_print_csv_field(out, p->comment);
            fputc('\n', out);
        }
    }
}

static void print_positions_text(FILE *out, const model_snapshot *s, int64_t now)
{
    print_accounts_table(out, s, now);
    for (size_t i = 0; i < s->n_accounts; i++) {
        const account_view *a = &s->accounts[i];
        if (a->n_positions == 0)
            continue;
        fputs("\n", out);
        cli_print_safe(out, a->id);
        fprintf(out, "\n  %-10s %-10s %-4s %7s %12s %12s %12s %12s %11s %8s %s\n", "TICKET",
                "SYMBOL", "SIDE", "VOLUME", "OPEN", "CURRENT", "SL", "TP", "P&L", "SWAP",
                "OPENED (UTC)");
        for (size_t k = 0; k < a->n_positions; k++) {
            const position *p = &a->positions[k];
            char id[64], sym[64], vol[16], open[32], cur[32], sl[32], tp[32], pnl[32], swap[32],
                t[40];
            sanitize_text(p->id, id, sizeof id, cli_utf8());
            sanitize_text(p->symbol, sym, sizeof sym, cli_utf8());
            fmt_volume(p->volume, vol, sizeof vol);
            fmt_price(p->open_price, open, sizeof open);
            fmt_price(p->current_price, cur, sizeof cur);
            fmt_price(p->stop_loss, sl, sizeof sl);
            fmt_price(p->take_profit, tp, sizeof tp);
            fmt_money(p->profit, 0, pnl, sizeof pnl);
            fmt_money(p->swap, 0, swap, sizeof swap);
            fmt_time_utc(p->open_time_ms, 19, t, sizeof t);
            fprintf(out, "  %-10s %-10s %-4s %7s %12s %12s %12s %12s %11s %8s %s\n", id, sym,
                    side_name(p->side), vol, open, cur, sl, tp, pnl, swap, t);
        }
    }
}

int cli_positions(config *cfg, int argc, char **argv)
{
    bool json = false, csv = false, live = false;
    const char *account = NULL;
    int c;
    optind = 0; /* 0 re-initialises GNU getopt, which the global options used */
    while ((c = getopt_long(argc, argv, "", POS_OPTS, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'c': csv = true; break;
        case 'l': live = true; break;
        case 'a': account = optarg; break;
        case 'h':
            printf("usage: tradeops positions [--account ID] [--json|--csv] [--live]\n"
                   "Prints the latest stored broker state of the accounts you may see, with "
                   "the age of each account's data.\n--live polls the broker first.\n");
            return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (json && csv) {
        fprintf(stderr, "tradeops positions: --json and --csv exclude each other\n");
        return EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "tradeops positions: unexpected argument \"%s\"\n", argv[optind]);
        return EXIT_USAGE;
    }
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    char err[512];
    if (account && !auth_can_see(&op, account)) {
        /* Same answer as for an unknown id: a trader learns nothing of
         * accounts that are not theirs. */
        fprintf(stderr, "tradeops: no account \"%s\" visible to %s\n", account, op.user);
        auth_free(&op);
        PQfinish(pg);
        return EXIT_FAIL;
    }
    if (live) {
        model *m = model_new();
        engine *e = m ? engine_new(cfg, &op, m, err, sizeof err) : NULL;
        if (e)
            engine_poll_everything(e, true); /* asked for: whoever polls them */
        if (!e || engine_cycle_once(e, err, sizeof err) != 0)
            fprintf(stderr, "tradeops: live poll failed: %s; showing stored data\n", err);
        engine_free(e);
        model_free(m);
    }
    model_snapshot *s;
    if (store_load_snapshot(pg, &op, account, (int64_t)cfg->stale_after_s * 1000, &s, err,
                            sizeof err) != 0) {
        fprintf(stderr, "tradeops: reading positions: %s\n", err);
        auth_free(&op);
        PQfinish(pg);
        return EXIT_FAIL;
    }
    if (account && s->n_accounts == 0) {
        fprintf(stderr, "tradeops: no account \"%s\" visible to %s\n", account, op.user);
        rc = EXIT_FAIL;
    } else if (json) {
        int64_t now = clock_now_ms();
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < s->n_accounts; i++)
            cJSON_AddItemToArray(arr, view_json_account(&s->accounts[i], now, s->stale_after_ms, 1));
        cli_print_json(stdout, arr);
        cJSON_Delete(arr);
    } else if (csv) {
        print_positions_csv(stdout, s);
    } else {
        print_positions_text(stdout, s, clock_now_ms());
    }
    model_snapshot_free(s);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

int cli_migrate(config *cfg, int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: tradeops migrate\nApplies every pending schema migration "
                   "(this binary knows up to version %d).\n", migrate_latest());
            return EXIT_OK;
        }
        fprintf(stderr, "tradeops migrate: unexpected argument \"%s\"\n", argv[1]);
        return EXIT_USAGE;
    }
    char err[512];
    PGconn *pg = pg_connect(cfg->pg_url, err, sizeof err);
    if (!pg) {
        fprintf(stderr, "tradeops: %s\n", err);
        return EXIT_FAIL;
    }
    int applied;
    int rc = migrate_up(pg, &applied, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "tradeops: %s\n", err);
    else
        printf("schema at version %d (%d migration%s applied)\n", migrate_latest(), applied,
               applied == 1 ? "" : "s");
    PQfinish(pg);
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
