/*
 * cli_recon.c - `tradeops recon`: the reconciliation log, and resolving a
 * row with a note through the same command path as the console.
 *
 * Threads: main thread only.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "clock.h"
#include "command.h"
#include "fmt.h"
#include "recon_store.h"
#include "sanitize.h"
#include "view_json.h"

/* Rows shown besides the open ones when --open is not given. */
#define CLI_RECON_DEFAULT_LIMIT 100

static void add_time(cJSON *o, const char *name, int64_t ms)
{
    char t[40];
    if (ms <= 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    view_iso_time(ms, t, sizeof t);
    cJSON_AddStringToObject(o, name, t);
}

static cJSON *side_json(const recon_side *s)
{
    if (!s->present)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "symbol", s->symbol);
    cJSON_AddStringToObject(o, "side", s->side);
    view_json_add_number(o, "volume", s->volume);
    view_json_add_number(o, "stopLoss", s->stop_loss);
    view_json_add_number(o, "takeProfit", s->take_profit);
    cJSON_AddNumberToObject(o, "magic", (double)s->magic);
    cJSON_AddStringToObject(o, "strategy", s->strategy);
    return o;
}

static const char *row_state(const recon_row *r)
{
    if (!r->resolved_ms)
        return "open";
    return r->by_operator ? "resolved" : "auto-resolved";
}

static cJSON *row_json(const recon_row *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddStringToObject(o, "account", r->account);
    cJSON_AddStringToObject(o, "position", r->position);
    cJSON_AddStringToObject(o, "symbol", r->symbol);
    cJSON_AddStringToObject(o, "kind", recon_kind_name(r->kind));
    cJSON_AddStringToObject(o, "state", row_state(r));
    cJSON_AddStringToObject(o, "detail", r->detail);
    cJSON_AddItemToObject(o, "expected", side_json(&r->expected));
    cJSON_AddItemToObject(o, "actual", side_json(&r->actual));
    add_time(o, "firstSeen", r->first_seen_ms);
    add_time(o, "lastSeen", r->last_seen_ms);
    add_time(o, "clearedAt", r->cleared_ms);
    add_time(o, "resolvedAt", r->resolved_ms);
    if (r->resolved_ms) {
        cJSON_AddStringToObject(o, "resolvedBy", r->by_operator ? r->resolved_by : "auto");
        cJSON_AddStringToObject(o, "note", r->note);
    } else {
        cJSON_AddNullToObject(o, "resolvedBy");
        cJSON_AddNullToObject(o, "note");
    }
    return o;
}

static void print_text(FILE *out, const recon_set *s)
{
    bool u = cli_utf8();
    fprintf(out, "%zu open:", s->n_open);
    for (int k = 0; k < RECON_KIND_COUNT; k++)
        if (s->open_by_kind[k])
            fprintf(out, " %s %zu", recon_kind_label((enum recon_kind)k), s->open_by_kind[k]);
    fputs("\n", out);
    if (s->n_rows == 0)
        return;
    fprintf(out, "%-7s %-12s %-12s %-8s %-10s %-19s %-19s %-14s %s\n", "ID", "ACCOUNT", "POSITION",
            "SYMBOL", "KIND", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "STATE", "DETAIL");
    for (size_t i = 0; i < s->n_rows; i++) {
        const recon_row *r = &s->rows[i];
        char acc[80], pos[64], sym[48], detail[256], first[40], last[40], by[48], state[64];
        sanitize_text(r->account, acc, sizeof acc, u);
        sanitize_text(r->position, pos, sizeof pos, u);
        sanitize_text(r->symbol, sym, sizeof sym, u);
        sanitize_text(r->detail, detail, sizeof detail, u);
        fmt_time_utc(r->first_seen_ms, 19, first, sizeof first);
        fmt_time_utc(r->last_seen_ms, 19, last, sizeof last);
        if (r->resolved_ms && r->by_operator) {
            sanitize_text(r->resolved_by, by, sizeof by, u);
            snprintf(state, sizeof state, "by %s", by);
        } else {
            snprintf(state, sizeof state, "%s", row_state(r));
        }
        fprintf(out, "%-7" PRId64 " %-12s %-12s %-8s %-10s %-19s %-19s %-14s %s\n", r->id, acc, pos,
                sym, recon_kind_label(r->kind), first, last, state, detail);
        if (r->resolved_ms && r->by_operator && r->note[0]) {
            char note[600];
            sanitize_text(r->note, note, sizeof note, u);
            fprintf(out, "        note: %s\n", note);
        }
    }
}

static int recon_list(config *cfg, int argc, char **argv)
{
    static const struct option OPTS[] = {
        {"open", no_argument, NULL, 'o'}, {"account", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'}, {"limit", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    bool open_only = false, json = false;
    const char *account = NULL;
    long limit = CLI_RECON_DEFAULT_LIMIT;
    int c;
    optind = 0; /* 0 re-initialises GNU getopt, which the global options used */
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        switch (c) {
        case 'o': open_only = true; break;
        case 'j': json = true; break;
        case 'a': account = optarg; break;
        case 'l': {
            char *end;
            errno = 0;
            limit = strtol(optarg, &end, 10);
            if (errno || *end || limit < 0 || limit > 1000000) {
                fprintf(stderr, "tradeops recon: --limit wants a number 0-1000000, not \"%s\"\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'h':
            printf("usage: tradeops recon [--open] [--account ID] [--limit N] [--json]\n"
                   "       tradeops recon resolve ID --note TEXT\n"
                   "Lists divergences between the bot's expected positions and the broker's:\n"
                   "every open row, and the N most recently resolved (default %d) unless "
                   "--open.\n",
                   CLI_RECON_DEFAULT_LIMIT);
            return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tradeops recon: unexpected argument \"%s\"\n", argv[optind]);
        return EXIT_USAGE;
    }
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    char err[256];
    recon_set *s = NULL;
    recon_query q = {.open_only = open_only, .account = account, .resolved_limit = limit};
    if (account && !auth_can_see(&op, account)) {
        fprintf(stderr, "tradeops: no account \"%s\" visible to %s\n", account, op.user);
        rc = EXIT_FAIL;
    } else if (recon_store_load_set(pg, &op, &q, &s, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: reading the reconciliation log: %s\n", err);
        rc = EXIT_FAIL;
    } else if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < s->n_rows; i++)
            cJSON_AddItemToArray(arr, row_json(&s->rows[i]));
        cli_print_json(stdout, arr);
        cJSON_Delete(arr);
    } else {
        print_text(stdout, s);
    }
    recon_set_release(s);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

static int recon_resolve(config *cfg, int argc, char **argv)
{
    static const struct option OPTS[] = {
        {"note", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *note = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        switch (c) {
        case 'n': note = optarg; break;
        case 'h':
            printf("usage: tradeops recon resolve ID --note TEXT\n"
                   "Marks a reconciliation row resolved with a note (oncall and admin; "
                   "audited).\n");
            return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "tradeops recon resolve: give exactly one row id (see --help)\n");
        return EXIT_USAGE;
    }
    char *end;
    errno = 0;
    long long id = strtoll(argv[optind], &end, 10);
    if (errno || *end || id <= 0) {
        fprintf(stderr, "tradeops recon resolve: \"%s\" is not a row id\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!note) {
        fprintf(stderr, "tradeops recon resolve: --note TEXT is required (why it is resolved)\n");
        return EXIT_USAGE;
    }
    if (strlen(note) > COMMAND_NOTE_MAX) {
        fprintf(stderr, "tradeops recon resolve: the note is %zu bytes; at most %d are kept\n",
                strlen(note), COMMAND_NOTE_MAX);
        return EXIT_USAGE;
    }
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    command cmd = {.kind = CMD_RECON_RESOLVE, .target_id = id};
    snprintf(cmd.note, sizeof cmd.note, "%s", note);
    command_result res;
    enum command_status st = command_execute(pg, &op, &cmd, &res);
    char msg[300];
    sanitize_text(res.message, msg, sizeof msg, cli_utf8());
    fprintf(st == CMD_OK ? stdout : stderr, "%s%s\n", st == CMD_OK ? "" : "tradeops: ", msg);
    rc = st == CMD_OK ? EXIT_OK : st == CMD_REFUSED ? EXIT_REFUSED : EXIT_FAIL;
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

int cli_recon(config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "resolve") == 0)
        return recon_resolve(cfg, argc - 1, argv + 1);
    return recon_list(cfg, argc, argv);
}
