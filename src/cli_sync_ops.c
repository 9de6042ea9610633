/*
 * cli_sync_ops.c - `tradeops sync retry|reset|cancel|delete`: operators'
 * actions on journal sync jobs from a shell.
 *
 *   tradeops sync ACTION ID... [--note TEXT]
 *   tradeops sync ACTION --all [--state S] [--provider P] [--account A] [--class C]
 *                       [--text T] [--breached] [--yes] [--note TEXT]
 *
 * Each id, or the whole filter, is one struct command run by
 * command_execute: the same role check, scope check and audit record as
 * the console's (refusals too). With --all the count is shown first; on
 * a terminal the operator confirms it (default no), and without one
 * --yes is required, so a script never acts on a set it did not mean.
 * Exit: 0 done, 1 failed or invalid (or not confirmed), 2 usage, 3 refused.
 * The job filter options, which `sync list` shares, are here too.
 *
 * Threads: main thread only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_common.h"
#include "cli_sync_int.h"
#include "command.h"
#include "pg.h"
#include "sanitize.h"
#include "sync_queue.h"

#define MAX_IDS 10000

/* ---- filter options (cli_sync_int.h; `sync list` uses them too) ---- */

int cli_sync_bad_value(const char *cmd, const char *opt, const char *arg, const char *why)
{
    fprintf(stderr, "tradeops %s: %s \"", cmd, opt);
    cli_print_safe(stderr, arg);
    fprintf(stderr, "\": %s\n", why);
    return EXIT_USAGE;
}

int cli_sync_filter_opt(const char *cmd, int c, const char *arg, sync_filter *f)
{
    char err[200];
    switch (c) {
    case 1001: {
        sync_filter tmp;
        char text[160];
        if (strpbrk(arg, " \"=") || strlen(arg) > 100)
            return cli_sync_bad_value(cmd, "--state", arg, "a comma-separated list of states");
        snprintf(text, sizeof text, "state=%s", arg);
        if (sync_filter_parse(text, &tmp, err, sizeof err) != 0)
            return cli_sync_bad_value(cmd, "--state", arg, err);
        f->states |= tmp.states;
        return 0;
    }
    case 1002: {
        enum sync_provider p;
        if (sync_provider_parse(arg, &p) != 0)
            return cli_sync_bad_value(cmd, "--provider", arg, "not one of tradervue, webhook, csv");
        f->provider = (int)p;
        return 0;
    }
    case 1003:
        if (!arg[0] || strlen(arg) >= sizeof f->account || !sanitize_is_clean(arg) ||
            strpbrk(arg, " \"="))
            return cli_sync_bad_value(cmd, "--account", arg,
                                      "an account id is 1 to 63 plain characters");
        snprintf(f->account, sizeof f->account, "%s", arg);
        return 0;
    case 1004: {
        enum sync_error_class k;
        if (sync_error_class_parse(arg, &k) != 0 || k == SYNC_ERR_NONE)
            return cli_sync_bad_value(
                cmd, "--class", arg,
                "not one of network, timeout, rate_limited, server, busy, rescued, "
                "io, auth, rejected, payload, config");
        f->error_class = (int)k;
        return 0;
    }
    case 1005:
        if (!arg[0] || strlen(arg) >= sizeof f->text || !sanitize_is_clean(arg))
            return cli_sync_bad_value(cmd, "--text", arg, "1 to 95 bytes of plain text");
        snprintf(f->text, sizeof f->text, "%s", arg);
        return 0;
    case 1006: f->breached = true; return 0;
    default: return 1;
    }
}

static bool same_filter(const sync_filter *a, const sync_filter *b)
{
    return a->states == b->states && a->provider == b->provider &&
           strcmp(a->account, b->account) == 0 && a->error_class == b->error_class &&
           strcmp(a->text, b->text) == 0 && a->breached == b->breached && a->id == b->id;
}

int cli_sync_filter_text(const char *cmd, const sync_filter *f, char *out, size_t outlen)
{
    sync_filter_format(f, out, outlen);
    sync_filter back;
    char err[200];
    if (!out[0])
        snprintf(out, outlen, "all");
    if (sync_filter_parse(out, &back, err, sizeof err) != 0 || !same_filter(f, &back)) {
        fprintf(stderr,
                "tradeops %s: these filters cannot be written as one filter text "
                "(a --text with both a quote and a space or '='?)\n",
                cmd);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static bool parse_id(const char *s, int64_t *out)
{
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
        return false;
    long long v = strtoll(s, NULL, 10);
    if (v <= 0)
        return false;
    *out = v;
    return true;
}

static enum command_kind kind_of(const char *sub, enum sync_admin_op *op)
{
    if (strcmp(sub, "reset") == 0) {
        *op = SYNC_OP_RESET;
        return CMD_SYNC_RESET;
    }
    if (strcmp(sub, "cancel") == 0) {
        *op = SYNC_OP_CANCEL;
        return CMD_SYNC_CANCEL;
    }
    if (strcmp(sub, "delete") == 0) {
        *op = SYNC_OP_DELETE;
        return CMD_SYNC_DELETE;
    }
    *op = SYNC_OP_RETRY;
    return CMD_SYNC_RETRY;
}

/* Prints the engine's answer; the exit code it means. */
static int report(enum command_status st, const command_result *res)
{
    char msg[sizeof res->message + 8];
    sanitize_text(res->message, msg, sizeof msg, cli_utf8());
    fprintf(st == CMD_OK ? stdout : stderr, "%s%s\n", st == CMD_OK ? "" : "tradeops: ", msg);
    return st == CMD_OK ? EXIT_OK : st == CMD_REFUSED ? EXIT_REFUSED : EXIT_FAIL;
}

/* Asks on the terminal; true only for y or yes. */
static bool confirmed(const char *question)
{
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    char line[32];
    if (!fgets(line, sizeof line, stdin))
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    return strcmp(line, "y") == 0 || strcmp(line, "Y") == 0 || strcmp(line, "yes") == 0;
}

static int run_ids(config *cfg, enum command_kind kind, int n, char **ids, const char *note)
{
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    int worst = EXIT_OK;
    for (int i = 0; i < n; i++) {
        command cmd;
        memset(&cmd, 0, sizeof cmd);
        cmd.seq = (uint64_t)i + 1;
        cmd.kind = kind;
        parse_id(ids[i], &cmd.target_id); /* checked by the caller */
        snprintf(cmd.note, sizeof cmd.note, "%s", note ? note : "");
        command_result res;
        int r = report(command_execute(pg, &op, &cmd, &res), &res);
        /* Refused outranks failed: a script learns it lacks the role. */
        if (r == EXIT_REFUSED || (r == EXIT_FAIL && worst == EXIT_OK))
            worst = r;
    }
    auth_free(&op);
    PQfinish(pg);
    return worst;
}

static int run_all(config *cfg, enum command_kind kind, enum sync_admin_op op_kind,
                   const sync_filter *f, const char *text, bool yes, const char *note,
                   const char *sub)
{
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    int64_t matched = 0, applicable = 0;
    char err[256];
    if (sync_queue_count(pg, f, op_kind, &matched, &applicable, err, sizeof err) != 0) {
        fputs("tradeops: counting the jobs: ", stderr);
        cli_print_safe(stderr, err);
        fputc('\n', stderr);
        rc = EXIT_FAIL;
        goto out;
    }
    printf("%lld job%s the filter \"", (long long)matched, matched == 1 ? " matches" : "s match");
    cli_print_safe(stdout, text);
    printf("\"; %s applies to %lld of them\n", sub, (long long)applicable);
    fflush(stdout);
    if (!yes) {
        char q[160];
        snprintf(q, sizeof q, "%c%s %lld job%s?", sub[0] - 'a' + 'A', sub + 1,
                 (long long)applicable, applicable == 1 ? "" : "s");
        if (!confirmed(q)) {
            fprintf(stderr, "tradeops: not confirmed; nothing changed\n");
            rc = EXIT_FAIL;
            goto out;
        }
    }
    command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.seq = 1;
    cmd.kind = kind;
    cmd.batch = cfg->sync_batch;
    snprintf(cmd.filter, sizeof cmd.filter, "%s", text);
    snprintf(cmd.note, sizeof cmd.note, "%s", note ? note : "");
    command_result res;
    rc = report(command_execute(pg, &op, &cmd, &res), &res);
out:
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

int cli_sync_action(config *cfg, int argc, char **argv)
{
    static const struct option OPTS[] = {CLI_SYNC_FILTER_OPTS,
                                         {"all", no_argument, NULL, 'a'},
                                         {"yes", no_argument, NULL, 'y'},
                                         {"note", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *sub = argv[0];
    char cmdname[32], usage[400];
    snprintf(cmdname, sizeof cmdname, "sync %s", sub);
    snprintf(usage, sizeof usage,
             "usage: tradeops sync %s ID... [--note TEXT]\n"
             "       tradeops sync %s --all [filters] [--yes] [--note TEXT]\n",
             sub, sub);
    enum sync_admin_op op_kind;
    enum command_kind kind = kind_of(sub, &op_kind);
    sync_filter f;
    sync_filter_init(&f);
    bool all = false, yes = false, filtered = false;
    const char *note = NULL;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        switch (c) {
        case 'a': all = true; break;
        case 'y': yes = true; break;
        case 'n': note = optarg; break;
        case 'h':
            printf("%s%s\n%s"
                   "  --yes            do not ask (required when there is no terminal)\n"
                   "  --note TEXT      kept in the audit log\n"
                   "retry: oncall or admin; reset, cancel, delete: admin. Audited, refusals "
                   "too.\n",
                   usage,
                   kind == CMD_SYNC_RETRY    ? "Sends the jobs again now; running ones are "
                                               "skipped; a manual retry does not count "
                                               "against the attempt limit."
                   : kind == CMD_SYNC_RESET  ? "Attempts back to zero, their errors archived, "
                                               "sent again now."
                   : kind == CMD_SYNC_CANCEL ? "Stops jobs still waiting (available, "
                                               "retryable)."
                                             : "Deletes finished jobs (completed, dead, "
                                               "cancelled).",
                   CLI_SYNC_FILTER_HELP);
            return EXIT_OK;
        default:
            if ((rc = cli_sync_filter_opt(cmdname, c, optarg, &f)) == 0) {
                filtered = true;
                break;
            }
            if (rc != 1)
                return rc;
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    }
    int n_ids = argc - optind;
    if (note && strlen(note) > COMMAND_NOTE_MAX) {
        fprintf(stderr, "tradeops %s: the note is %zu bytes; at most %d are kept\n", cmdname,
                strlen(note), COMMAND_NOTE_MAX);
        return EXIT_USAGE;
    }
    if (all == (n_ids > 0)) {
        fprintf(stderr, "tradeops %s: give job ids, or --all (with filters), not %s\n%s", cmdname,
                all ? "both" : "neither", usage);
        return EXIT_USAGE;
    }
    if (!all && filtered) {
        fprintf(stderr, "tradeops %s: filters go with --all\n%s", cmdname, usage);
        return EXIT_USAGE;
    }
    if (!all) {
        if (n_ids > MAX_IDS) {
            fprintf(stderr, "tradeops %s: at most %d ids at once; use --all with filters\n",
                    cmdname, MAX_IDS);
            return EXIT_USAGE;
        }
        for (int i = optind; i < argc; i++) {
            int64_t id;
            if (!parse_id(argv[i], &id)) {
                fprintf(stderr, "tradeops %s: \"", cmdname);
                cli_print_safe(stderr, argv[i]);
                fputs("\" is not a job id (a number; see `tradeops sync list`)\n", stderr);
                return EXIT_USAGE;
            }
        }
        return run_ids(cfg, kind, n_ids, argv + optind, note);
    }
    char text[SYNC_FILTER_TEXT];
    if ((rc = cli_sync_filter_text(cmdname, &f, text, sizeof text)) != EXIT_OK)
        return rc;
    if (!yes && !isatty(STDIN_FILENO)) {
        fprintf(stderr,
                "tradeops %s --all: no terminal to confirm on; add --yes to %s every job "
                "matching \"%s\"\n",
                cmdname, sub, text);
        return EXIT_USAGE;
    }
    return run_all(cfg, kind, op_kind, &f, text, yes, note, sub);
}
