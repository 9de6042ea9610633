/*
 * cli_sync_target.c - `tradeops account set-sync` and `tradeops account
 * show-sync`: which journals an account's closed trades go to
 * (sync_targets, migration 005), and how.
 *
 * set-sync starts from the target's stored settings (if any), applies the
 * flags, checks the result for the provider, and upserts it with its audit
 * record in one transaction. A webhook URL may carry a token: audit
 * records and show-sync name only its scheme and host.
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
#include "cli_credentials.h"
#include "pg.h"
#include "sanitize.h"
#include "sync_http.h"
#include "sync_queue.h"

#define ACTION_SET "account.set_sync"
#define ACTION_SHOW "account.show_sync"
#define SETTINGS_MAX (sizeof((sync_job *)0)->settings - 1)
#define SYMBOL_MAX (sizeof((sync_job *)0)->symbol - 1)
#define TAG_MAX 100
#define PATH_MAX_LEN 900

static const char SET_USAGE[] =
    "usage: tradeops account set-sync ID PROVIDER [FLAGS]\n"
    "  PROVIDER                 tradervue, webhook or csv\n"
    "  --tag T                  tradervue: the account tag of the import\n"
    "  --multiplier SYMBOL=N    tradervue, csv: units per lot of SYMBOL (* for the rest;\n"
    "                           N none removes it); repeatable\n"
    "  --url URL                webhook: where trades are POSTed (http or https)\n"
    "  --path FILE              csv: the file trades are appended to (absolute)\n"
    "  --format F               csv: tradervue (Tradervue's generic import) or roundtrip\n"
    "  --disable | --enable     stop or resume sending (new targets start enabled)\n"
    "Flags change the stored settings; the rest are kept. Admin only; audited.\n";

static const char SHOW_USAGE[] = "usage: tradeops account show-sync ID [--json]\n";

enum { O_TAG = 256, O_MULT, O_URL, O_PATH, O_FORMAT, O_DISABLE, O_ENABLE, O_HELP };

static const struct option SET_OPTS[] = {{"tag", required_argument, NULL, O_TAG},
                                         {"multiplier", required_argument, NULL, O_MULT},
                                         {"url", required_argument, NULL, O_URL},
                                         {"path", required_argument, NULL, O_PATH},
                                         {"format", required_argument, NULL, O_FORMAT},
                                         {"disable", no_argument, NULL, O_DISABLE},
                                         {"enable", no_argument, NULL, O_ENABLE},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};

static int bad(const char *flag, const char *value, const char *what)
{
    fprintf(stderr, "tradeops: account set-sync: %s \"", flag);
    cli_print_safe(stderr, value);
    fprintf(stderr, "\" %s\n", what);
    return EXIT_USAGE;
}

static bool printable(const char *s)
{
    return sync_utf8_valid(s) && sanitize_is_clean(s);
}

/* Which flags a provider takes. */
static bool flag_allowed(enum sync_provider p, int c)
{
    switch (c) {
    case O_TAG: return p == SYNC_TRADERVUE;
    case O_MULT: return p == SYNC_TRADERVUE || p == SYNC_CSV;
    case O_URL: return p == SYNC_WEBHOOK;
    case O_PATH:
    case O_FORMAT: return p == SYNC_CSV;
    default: return true;
    }
}

/* Applies one flag to the settings object. EXIT_OK or EXIT_USAGE (printed). */
static int apply(cJSON *set, int c, const char *arg, int *enabled)
{
    switch (c) {
    case O_TAG:
        if (!*arg || strlen(arg) > TAG_MAX || !printable(arg))
            return bad("--tag", arg, "is not a tag (1-100 printable characters)");
        cJSON_DeleteItemFromObjectCaseSensitive(set, "account_tag");
        cJSON_AddStringToObject(set, "account_tag", arg);
        return EXIT_OK;
    case O_URL:
        if (!sync_url_ok(arg) || strlen(arg) > PATH_MAX_LEN || !printable(arg))
            return bad("--url", arg, "is not an http:// or https:// URL");
        cJSON_DeleteItemFromObjectCaseSensitive(set, "url");
        cJSON_AddStringToObject(set, "url", arg);
        return EXIT_OK;
    case O_PATH:
        if (arg[0] != '/' || strlen(arg) > PATH_MAX_LEN || !printable(arg))
            return bad("--path", arg, "is not an absolute file name");
        cJSON_DeleteItemFromObjectCaseSensitive(set, "path");
        cJSON_AddStringToObject(set, "path", arg);
        return EXIT_OK;
    case O_FORMAT:
        if (strcmp(arg, "tradervue") != 0 && strcmp(arg, "roundtrip") != 0)
            return bad("--format", arg, "is neither tradervue nor roundtrip");
        cJSON_DeleteItemFromObjectCaseSensitive(set, "format");
        cJSON_AddStringToObject(set, "format", arg);
        return EXIT_OK;
    case O_MULT: {
        const char *eq = strrchr(arg, '=');
        if (!eq || eq == arg || (size_t)(eq - arg) > SYMBOL_MAX)
            return bad("--multiplier", arg, "is not SYMBOL=N");
        char sym[SYMBOL_MAX + 1];
        memcpy(sym, arg, (size_t)(eq - arg));
        sym[eq - arg] = '\0';
        if (!printable(sym))
            return bad("--multiplier", arg, "names a symbol with control characters");
        cJSON *m = cJSON_GetObjectItemCaseSensitive(set, "multipliers");
        if (!cJSON_IsObject(m)) {
            cJSON_DeleteItemFromObjectCaseSensitive(set, "multipliers");
            m = cJSON_AddObjectToObject(set, "multipliers");
        }
        cJSON_DeleteItemFromObjectCaseSensitive(m, sym);
        if (strcmp(eq + 1, "none") == 0)
            return EXIT_OK;
        char *end;
        errno = 0;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end || errno == ERANGE || !isfinite(v) || v <= 0)
            return bad("--multiplier", arg, "needs a positive number of units per lot (or none)");
        cJSON_AddNumberToObject(m, sym, v);
        return EXIT_OK;
    }
    case O_DISABLE: *enabled = 0; return EXIT_OK;
    case O_ENABLE: *enabled = 1; return EXIT_OK;
    default: return EXIT_USAGE;
    }
}

/* The whole settings checked for the provider: "" or why not. */
static void check_settings(enum sync_provider p, const cJSON *set, char *why, size_t n)
{
    why[0] = '\0';
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(set, "url");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(set, "path");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(set, "multipliers");
    if (p == SYNC_WEBHOOK && !(cJSON_IsString(url) && sync_url_ok(url->valuestring)))
        snprintf(why, n, "a webhook target needs --url URL");
    else if (p == SYNC_CSV && !(cJSON_IsString(path) && path->valuestring[0] == '/'))
        snprintf(why, n, "a csv target needs --path FILE (absolute)");
    else if (m && !cJSON_IsObject(m))
        snprintf(why, n, "the stored multipliers are not an object; set them again");
}

/* settings as shown or audited: a URL reduced to its scheme and host. */
static cJSON *redacted(const cJSON *set)
{
    cJSON *c = cJSON_Duplicate(set, true);
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(c, "url");
    if (c && cJSON_IsString(url)) {
        char r[SYNC_QUOTE_MAX + 16];
        sync_url_redact(url->valuestring, r, sizeof r);
        cJSON_ReplaceItemInObjectCaseSensitive(c, "url", cJSON_CreateString(r));
    }
    return c;
}

static int fail_audited(PGconn *pg, const operator_id *op, const char *target, const char *why,
                        int rc)
{
    char aerr[256];
    PQclear(pg_exec(pg, "rollback"));
    if (audit_write(pg, op, ACTION_SET, target, why, "failed", NULL, aerr, sizeof aerr) != 0)
        fprintf(stderr, "tradeops: could not audit the failure: %s\n", aerr);
    fputs("tradeops: account set-sync: ", stderr);
    cli_print_safe(stderr, why);
    fputs("; nothing changed\n", stderr);
    return rc;
}

/* Upserts with the audit record, in pg's open transaction. */
static int save(PGconn *pg, const operator_id *op, const char *account, enum sync_provider p,
                int enabled, const cJSON *set, const cJSON *prev, bool prev_enabled)
{
    char err[512], why[256];
    check_settings(p, set, why, sizeof why);
    if (why[0])
        return fail_audited(pg, op, account, why, EXIT_USAGE);
    char *text = cJSON_PrintUnformatted(set);
    if (!text || strlen(text) > SETTINGS_MAX) {
        cJSON_free(text);
        return fail_audited(pg, op, account, "the settings are too long", EXIT_USAGE);
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "provider", sync_provider_name(p));
    cJSON_AddBoolToObject(d, "enabled", enabled);
    cJSON_AddItemToObject(d, "settings", redacted(set));
    if (prev) {
        cJSON *pv = cJSON_AddObjectToObject(d, "previous");
        cJSON_AddBoolToObject(pv, "enabled", prev_enabled);
        cJSON_AddItemToObject(pv, "settings", redacted(prev));
    }
    char *details = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    const char *vals[5] = {account, sync_provider_name(p), text, enabled ? "true" : "false",
                           op->actor};
    int rc = EXIT_OK;
    if (!details ||
        pg_exec_params_ok(pg,
                          "insert into sync_targets (account_id, provider, settings, enabled,"
                          " updated_by) values ($1, $2, $3::jsonb, $4::boolean, $5)"
                          " on conflict (account_id, provider) do update set"
                          " settings = excluded.settings, enabled = excluded.enabled,"
                          " updated_at = now(), updated_by = excluded.updated_by",
                          5, vals, err, sizeof err) != 0 ||
        audit_write(pg, op, ACTION_SET, account, NULL, "ok", details, err, sizeof err) != 0 ||
        pg_exec_ok(pg, "commit", err, sizeof err) != 0) {
        rc = fail_audited(pg, op, account, details ? err : "out of memory", EXIT_FAIL);
    } else {
        printf("journal target %s of ", sync_provider_name(p));
        cli_print_safe(stdout, account);
        printf(" set (%s): ", enabled ? "enabled" : "disabled");
        cJSON *r = redacted(set);
        char *shown = r ? cJSON_PrintUnformatted(r) : NULL;
        cli_print_safe(stdout, shown ? shown : "");
        putchar('\n');
        cJSON_free(shown);
        cJSON_Delete(r);
    }
    cJSON_free(details);
    cJSON_free(text);
    return rc;
}

int cli_account_set_sync(config *cfg, int argc, char **argv)
{
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", SET_OPTS, NULL)) != -1) {
        if (c == O_HELP) {
            fputs(SET_USAGE, stdout);
            return EXIT_OK;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "tradeops: account set-sync: unknown option or missing value: ");
            cli_print_safe(stderr, argv[optind - 1]);
            fprintf(stderr, "\n%s", SET_USAGE);
            return EXIT_USAGE;
        }
    }
    opterr = 1;
    if (argc - optind != 2) {
        fprintf(stderr, "tradeops: account set-sync needs an account ID and a PROVIDER\n%s",
                SET_USAGE);
        return EXIT_USAGE;
    }
    const char *account = argv[optind];
    enum sync_provider p;
    if (sync_provider_parse(argv[optind + 1], &p) != 0)
        return bad("PROVIDER", argv[optind + 1], "is not tradervue, webhook or csv");
    /* Every flag checked before anything is opened: a bad one changes nothing. */
    cJSON *scratch = cJSON_CreateObject();
    int scratch_en = 1;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", SET_OPTS, NULL)) != -1) {
        if (!flag_allowed(p, c)) {
            const char *name = "?";
            for (const struct option *o = SET_OPTS; o->name; o++)
                if (o->val == c)
                    name = o->name;
            fprintf(stderr, "tradeops: account set-sync: --%s does not apply to %s\n%s", name,
                    sync_provider_name(p), SET_USAGE);
            cJSON_Delete(scratch);
            return EXIT_USAGE;
        }
        if (!scratch || apply(scratch, c, optarg, &scratch_en) != EXIT_OK) {
            cJSON_Delete(scratch);
            return scratch ? EXIT_USAGE : EXIT_FAIL;
        }
    }
    cJSON_Delete(scratch);

    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    char target[80], err[512];
    sanitize_text(account, target, sizeof target, true);
    cJSON *set = NULL, *prev = NULL;
    if ((rc = cli_require(pg, &op, ROLE_ADMIN, ACTION_SET, target)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    if (pg_exec_ok(pg, "begin", err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: %s\n", err);
        goto out;
    }
    const char *kp[2] = {account, sync_provider_name(p)};
    PGresult *r = pg_exec_params(pg,
                                 "select a.id, t.settings, t.enabled from accounts a"
                                 " left join sync_targets t on t.account_id = a.id"
                                 " and t.provider = $2 where a.id = $1 for update of a",
                                 2, NULL, kp, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, sizeof err, PQresultErrorMessage(r));
        PQclear(r);
        rc = fail_audited(pg, &op, target, err, EXIT_FAIL);
        goto out;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        snprintf(err, sizeof err, "no account \"%s\" (see `tradeops account list`)", target);
        rc = fail_audited(pg, &op, target, err, EXIT_FAIL);
        goto out;
    }
    bool existed = !PQgetisnull(r, 0, 1);
    bool prev_enabled = existed && strcmp(PQgetvalue(r, 0, 2), "t") == 0;
    if (existed)
        prev = cJSON_Parse(PQgetvalue(r, 0, 1));
    PQclear(r);
    set = prev ? cJSON_Duplicate(prev, true) : cJSON_CreateObject();
    int enabled = existed ? prev_enabled : 1;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", SET_OPTS, NULL)) != -1)
        if (set && apply(set, c, optarg, &enabled) != EXIT_OK) {
            rc = fail_audited(pg, &op, target, "the stored settings do not take this flag",
                              EXIT_USAGE);
            goto out;
        }
    if (!set) {
        rc = fail_audited(pg, &op, target, "out of memory", EXIT_FAIL);
        goto out;
    }
    rc = save(pg, &op, account, p, enabled, set, prev, prev_enabled);
out:
    cJSON_Delete(set);
    cJSON_Delete(prev);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

/* ---- show-sync ---- */

/* "own", "default" or "none": the credentials a target would use. */
static const char *cred_source(PGconn *pg, enum sync_provider p, const char *account)
{
    if (p == SYNC_CSV)
        return "not needed";
    const char *v[2] = {sync_provider_name(p), account};
    PGresult *r = pg_exec_params(pg,
                                 "select account_id from sync_credentials where provider = $1"
                                 " and account_id in ($2, '') order by account_id desc limit 1",
                                 2, NULL, v, NULL, NULL, 0);
    const char *s = "none";
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        s = PQgetvalue(r, 0, 0)[0] ? "the account's own" : "the provider's default";
    PQclear(r);
    return s;
}

int cli_account_show_sync(config *cfg, int argc, char **argv)
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
            fputs("tradeops: account show-sync: unexpected argument \"", stderr);
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
    char err[512], target[80];
    sanitize_text(account, target, sizeof target, true);
    if (!auth_can_see(&op, account)) {
        if (audit_write(pg, &op, ACTION_SHOW, target, "account outside the operator's scope",
                        "refused", NULL, err, sizeof err) != 0)
            fprintf(stderr, "tradeops: could not audit the refusal: %s\n", err);
        fprintf(stderr, "tradeops: refused: %s may not see account \"%s\"\n", op.user, target);
        rc = EXIT_REFUSED;
        goto out;
    }
    const char *v[1] = {account};
    PGresult *r = pg_exec_params(
        pg,
        "select a.id, t.provider, t.enabled, t.settings::text,"
        " to_char(t.updated_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), t.updated_by"
        " from accounts a left join sync_targets t on t.account_id = a.id where a.id = $1"
        " order by t.provider",
        1, NULL, v, NULL, NULL, 0);
    rc = EXIT_FAIL;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "tradeops: %s", PQresultErrorMessage(r));
        PQclear(r);
        goto out;
    }
    if (PQntuples(r) == 0) {
        fprintf(stderr, "tradeops: no account \"%s\" (see `tradeops account list`)\n", target);
        PQclear(r);
        goto out;
    }
    cJSON *arr = cJSON_CreateArray();
    if (!json)
        printf("journal targets of %s\n", target);
    int shown = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        enum sync_provider p;
        if (PQgetisnull(r, i, 1) || sync_provider_parse(PQgetvalue(r, i, 1), &p) != 0)
            continue;
        shown++;
        cJSON *set = cJSON_Parse(PQgetvalue(r, i, 3));
        cJSON *red = set ? redacted(set) : cJSON_CreateObject();
        cJSON_Delete(set);
        bool en = strcmp(PQgetvalue(r, i, 2), "t") == 0;
        const char *cred = cred_source(pg, p, account);
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "provider", sync_provider_name(p));
            cJSON_AddBoolToObject(o, "enabled", en);
            cJSON_AddItemToObject(o, "settings", red);
            cJSON_AddStringToObject(o, "credentials", cred);
            cJSON_AddStringToObject(o, "updatedAt", PQgetvalue(r, i, 4));
            cJSON_AddStringToObject(o, "updatedBy", PQgetvalue(r, i, 5));
            cJSON_AddItemToArray(arr, o);
        } else {
            char *s = red ? cJSON_PrintUnformatted(red) : NULL;
            printf("  %-10s %-8s ", sync_provider_name(p), en ? "enabled" : "disabled");
            cli_print_safe(stdout, s ? s : "{}");
            printf("\n             credentials: %s; updated %s by ", cred, PQgetvalue(r, i, 4));
            cli_print_safe(stdout, PQgetvalue(r, i, 5));
            putchar('\n');
            cJSON_free(s);
            cJSON_Delete(red);
        }
    }
    if (json)
        cli_print_json(stdout, arr);
    else if (shown == 0)
        printf("  (none: `tradeops account set-sync %s PROVIDER ...` adds one)\n", target);
    cJSON_Delete(arr);
    PQclear(r);
    rc = EXIT_OK;
out:
    auth_free(&op);
    PQfinish(pg);
    return rc;
}
