/*
 * cli_digest.c - `tradeops digest ...`: scheduled performance digests and
 * free-form messages (digest.h).
 *
 *   digest add NAME --kind daily|weekly|message --at HH:MM --tz ZONE
 *              [--weekday Mon] [--accounts a,b] [--group NAME] --template FILE
 *              --to telegram,slack
 *   digest list [--json]
 *   digest remove|enable|disable NAME
 *   digest preview NAME [--account ID]
 *   digest send NAME
 *
 * Everything but list is admin only. add/remove/enable/disable are
 * configuration, audited with audit_write in their transaction (as
 * `account set-sync`); send is the console's N: command_execute
 * (CMD_DIGEST_SEND) queues it, then this process posts it at once.
 * Exit: 0 ok, 1 failed, 2 usage, 3 refused (cli.h).
 *
 * Threads: main thread only.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "clock.h"
#include "command.h"
#include "digest.h"
#include "pg.h"
#include "sanitize.h"
#include "template.h"

static const char USAGE[] =
    "usage: tradeops digest add NAME --kind daily|weekly|message --at HH:MM --tz ZONE\n"
    "                  [--weekday Mon] [--accounts a,b] [--group NAME] --template FILE\n"
    "                  --to telegram,slack\n"
    "       tradeops digest list [--json]\n"
    "       tradeops digest remove|enable|disable NAME\n"
    "       tradeops digest preview NAME [--account ID]\n"
    "       tradeops digest send NAME\n"
    "Times are local to --tz; a daily digest covers the day before its slot, a weekly one\n"
    "the week; one post per account (no --accounts: every enabled account), or with\n"
    "--group one post for the accounts together under that name. Admin only (list: any\n"
    "operator); audited.\n";

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "tradeops: digest: %s\n", why);
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}

static void say_err(const char *what, const char *err)
{
    char clean[600];
    sanitize_text(err, clean, sizeof clean, cli_utf8());
    fprintf(stderr, "tradeops: %s: %s\n", what, clean);
}

/* Reads a template file (at most TEMPLATE_MAX_BYTES). NULL with err. */
static char *read_template(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read the template %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(TEMPLATE_MAX_BYTES + 2);
    size_t n = buf ? fread(buf, 1, TEMPLATE_MAX_BYTES + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad || n > TEMPLATE_MAX_BYTES || memchr(buf, '\0', n)) {
        snprintf(err, errlen, "%s: %s", path,
                 !buf ? "out of memory"
                 : bad ? "read error"
                 : n > TEMPLATE_MAX_BYTES ? "the template is over 16 KiB"
                                          : "the template holds a NUL byte");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int parse_add(int argc, char **argv, digest_spec *s, const char **file)
{
    memset(s, 0, sizeof *s);
    *file = NULL;
    snprintf(s->name, sizeof s->name, "%s", argv[0]);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage("an option lacks its value");
        i++;
        if (strcmp(a, "--kind") == 0)
            snprintf(s->kind, sizeof s->kind, "%s", v);
        else if (strcmp(a, "--at") == 0)
            snprintf(s->at, sizeof s->at, "%s", v);
        else if (strcmp(a, "--tz") == 0)
            snprintf(s->tz, sizeof s->tz, "%s", v);
        else if (strcmp(a, "--weekday") == 0) {
            if (!(s->weekday = digest_weekday_parse(v)))
                return usage("--weekday must be Mon..Sun or 1..7");
        } else if (strcmp(a, "--accounts") == 0)
            snprintf(s->accounts, sizeof s->accounts, "%s", v);
        else if (strcmp(a, "--group") == 0) {
            if (strlen(v) >= sizeof s->group)
                return usage("--group is at most 64 characters");
            snprintf(s->group, sizeof s->group, "%s", v);
        }
        else if (strcmp(a, "--template") == 0)
            *file = v;
        else if (strcmp(a, "--to") == 0)
            snprintf(s->destinations, sizeof s->destinations, "%s", v);
        else
            return usage("unknown option");
    }
    if (!s->kind[0] || !s->at[0] || !s->tz[0] || !*file || !s->destinations[0])
        return usage("add needs --kind, --at, --tz, --template and --to");
    return EXIT_OK;
}

static int print_list(PGconn *pg, const operator_id *op, bool json)
{
    char err[256];
    digest_set *s = digest_load(pg, op, NULL, clock_now_ms(), err, sizeof err);
    if (!s) {
        say_err("digest list", err);
        return EXIT_FAIL;
    }
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; i < s->n_rows; i++) {
        const digest_row *d = &s->rows[i];
        if (arr) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", d->name);
            cJSON_AddStringToObject(o, "kind", d->kind);
            cJSON_AddStringToObject(o, "schedule", d->schedule);
            cJSON_AddStringToObject(o, "accounts", d->scope);
            if (d->group[0])
                cJSON_AddStringToObject(o, "group", d->group);
            else
                cJSON_AddNullToObject(o, "group");
            cJSON_AddStringToObject(o, "to", d->destinations);
            cJSON_AddBoolToObject(o, "enabled", d->enabled);
            cJSON_AddNumberToObject(o, "next_ms", (double)d->next_ms);
            cJSON_AddNumberToObject(o, "last_ms", (double)d->last_ms);
            cJSON_AddStringToObject(o, "last_status", d->last_status);
            cJSON_AddStringToObject(o, "last_error", d->last_error);
            cJSON_AddItemToArray(arr, o);
            continue;
        }
        /* The scope last: a list of accounts has no useful width. */
        char status[40], group[96] = "";
        snprintf(status, sizeof status, "%s%s", d->enabled ? "" : "disabled ",
                 d->last_status[0] ? d->last_status : "never run");
        if (d->group[0])
            sanitize_text(d->group, group, sizeof group, true);
        printf("%-20s %-8s %-34s %-15s %-18s %s%s%s%s\n", d->name, d->kind, d->schedule,
               d->destinations, status, group[0] ? "group " : "", group, group[0] ? ": " : "",
               d->scope);
    }
    if (arr) {
        cli_print_json(stdout, arr);
        cJSON_Delete(arr);
    }
    digest_set_release(s);
    return EXIT_OK;
}

static int run_send(const config *cfg, PGconn *pg, const operator_id *op, const char *name)
{
    command cmd = {.seq = 1, .kind = CMD_DIGEST_SEND};
    snprintf(cmd.name, sizeof cmd.name, "%s", name);
    command_result res;
    enum command_status st = command_execute(pg, op, &cmd, &res);
    char msg[sizeof res.message + 8];
    sanitize_text(res.message, msg, sizeof msg, cli_utf8());
    if (st != CMD_OK) {
        fprintf(stderr, "tradeops: %s\n", msg);
        return st == CMD_REFUSED ? EXIT_REFUSED : EXIT_FAIL;
    }
    char err[256];
    int posted = 0;
    if (digest_post_pending(pg, cfg, clock_now_ms(), &posted, err, sizeof err) != 0) {
        say_err("digest send", err);
        return EXIT_FAIL;
    }
    /* The run's outcome, as recorded. */
    const char *p[1] = {name};
    PGresult *r = pg_exec_params(pg,
                                 "select status, coalesce(error, ''), n_posts from digest_runs"
                                 " where digest = $1 and manual order by id desc limit 1",
                                 1, NULL, p, NULL, NULL, 0);
    int rc = EXIT_FAIL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        bool ok = strcmp(PQgetvalue(r, 0, 0), "queued") == 0;
        char e[300];
        sanitize_text(PQgetvalue(r, 0, 1), e, sizeof e, cli_utf8());
        if (ok)
            printf("%s; %s notification(s) queued%s%s\n", msg, PQgetvalue(r, 0, 2),
                   e[0] ? "; " : "", e);
        else
            fprintf(stderr, "tradeops: digest send: %s: %s\n", PQgetvalue(r, 0, 0),
                    e[0] ? e : "not posted yet (another instance holds it)");
        rc = ok ? EXIT_OK : EXIT_FAIL;
    } else {
        say_err("digest send", PQresultErrorMessage(r));
    }
    PQclear(r);
    return rc;
}

static int run(const config *cfg, PGconn *pg, const operator_id *op, const char *sub, int argc,
               char **argv)
{
    char err[600];
    const char *action = strcmp(sub, "preview") == 0 ? "digest.preview" : NULL;
    char act[32];
    snprintf(act, sizeof act, "digest.%s", sub);
    if (strcmp(sub, "send") != 0) {
        int rc = cli_require(pg, op, ROLE_ADMIN, action ? action : act, argv[0]);
        if (rc != EXIT_OK)
            return rc;
    }
    if (strcmp(sub, "add") == 0) {
        digest_spec s;
        const char *file;
        int rc = parse_add(argc, argv, &s, &file);
        if (rc != EXIT_OK)
            return rc;
        char *text = read_template(file, err, sizeof err);
        if (!text) {
            say_err("digest add", err);
            return EXIT_USAGE;
        }
        s.template_text = text;
        rc = digest_add(pg, op, &s, err, sizeof err);
        free(text);
        if (rc != 0) {
            say_err("digest add", err);
            return rc > 0 ? EXIT_USAGE : EXIT_FAIL;
        }
        printf("digest %s added\n", s.name);
        return EXIT_OK;
    }
    if (strcmp(sub, "remove") == 0 || strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0) {
        if (argc != 1)
            return usage(NULL);
        int rc = sub[0] == 'r' ? digest_remove(pg, op, argv[0], err, sizeof err)
                               : digest_enable(pg, op, argv[0], sub[0] == 'e', err, sizeof err);
        if (rc != 0) {
            say_err(act, err);
            return EXIT_FAIL;
        }
        printf("digest %s %s\n", argv[0], sub[0] == 'r' ? "removed" : sub[0] == 'e' ? "enabled"
                                                                                 : "disabled");
        return EXIT_OK;
    }
    if (strcmp(sub, "preview") == 0) {
        const char *account = NULL;
        if (argc == 3 && strcmp(argv[1], "--account") == 0)
            account = argv[2];
        else if (argc != 1)
            return usage(NULL);
        char *out = NULL;
        int rc = digest_preview(pg, argv[0], account, clock_now_ms(), &out, err, sizeof err);
        if (rc != 0) {
            say_err("digest preview", err);
            return EXIT_FAIL;
        }
        for (char *line = out, *nl; line; line = nl ? nl + 1 : NULL) {
            if ((nl = strchr(line, '\n')))
                *nl = '\0';
            cli_print_safe(stdout, line); /* each line made terminal-safe */
            fputc('\n', stdout);
        }
        free(out);
        return EXIT_OK;
    }
    if (argc != 1)
        return usage(NULL);
    return run_send(cfg, pg, op, argv[0]);
}

int cli_digest(config *cfg, int argc, char **argv)
{
    argc--, argv++; /* "digest" */
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)
        return usage(argc < 1 ? "which digest command?" : NULL);
    const char *sub = argv[0];
    bool list = strcmp(sub, "list") == 0;
    if (!list && strcmp(sub, "add") && strcmp(sub, "remove") && strcmp(sub, "enable") &&
        strcmp(sub, "disable") && strcmp(sub, "preview") && strcmp(sub, "send"))
        return usage("unknown digest command");
    if (list && argc > 2)
        return usage(NULL);
    if (list && argc == 2 && strcmp(argv[1], "--json") != 0)
        return usage(NULL);
    if (!list && argc < 2)
        return usage("a digest NAME is required");
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    rc = list ? print_list(pg, &op, argc == 2) : run(cfg, pg, &op, sub, argc - 1, argv + 1);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}
