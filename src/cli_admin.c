/*
 * cli_admin.c - `tradeops operator ...` and `tradeops account ...`.
 *
 * Changes are admin-only, audited in the same transaction as the change,
 * and refusals are audited too. The one exception is the very first
 * operator of an empty database, who must be an admin: somebody has to be
 * able to add the others (`make run` does this for the OS user).
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "cli_common.h"
#include "cli_credentials.h"
#include "metrics_store.h"
#include "pg.h"
#include "store.h"

static int operators_empty(PGconn *pg, bool *empty, char *err, size_t errlen)
{
    PGresult *r = pg_exec(pg, "select not exists (select 1 from operators)");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    *empty = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return 0;
}

static int operator_add(const config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"accounts", required_argument, NULL, 'a'},
                                         {"exists-ok", no_argument, NULL, 'e'},
                                         {NULL, 0, NULL, 0}};
    const char *accounts = NULL;
    bool exists_ok = false;
    int c;
    optind = 0; /* 0 re-initialises GNU getopt, which the global options used */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'a')
            accounts = optarg;
        else if (c == 'e')
            exists_ok = true;
        else
            return EXIT_USAGE;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: tradeops operator add USER viewer|trader|oncall|admin "
                        "[--accounts A,B] [--exists-ok]\n");
        return EXIT_USAGE;
    }
    const char *user = argv[optind], *role_s = argv[optind + 1];
    enum role role;
    if (role_parse(role_s, &role) != 0) {
        fprintf(stderr, "tradeops: unknown role \"%s\"; roles are viewer, trader, oncall, admin\n",
                role_s);
        return EXIT_USAGE;
    }
    char err[512];
    operator_id op;
    if (auth_whoami(&op, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: %s\n", err);
        return EXIT_USAGE;
    }
    PGconn *pg = pg_connect(cfg->pg_url, err, sizeof err);
    if (!pg) {
        fprintf(stderr, "tradeops: %s\n", err);
        return EXIT_FAIL;
    }
    bool empty;
    int rc = EXIT_FAIL;
    char **acc = NULL;
    size_t n_acc = 0;
    char *lit = NULL;
    if (operators_empty(pg, &empty, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: %s (has `tradeops migrate` been run?)\n", err);
        goto out;
    }
    if (empty) {
        if (role != ROLE_ADMIN) {
            fprintf(stderr, "tradeops: there are no operators yet; the first one must be an "
                            "admin\n");
            rc = EXIT_REFUSED;
            goto out;
        }
    } else {
        if (auth_load(pg, &op, err, sizeof err) != 0) {
            fprintf(stderr, "tradeops: refused: %s\n", err);
            rc = EXIT_REFUSED;
            goto out;
        }
        if ((rc = cli_require(pg, &op, ROLE_ADMIN, "operator.add", user)) != EXIT_OK)
            goto out;
        rc = EXIT_FAIL;
    }
    if (auth_split_accounts(accounts, &acc, &n_acc, err, sizeof err) != 0 ||
        !(lit = pg_text_array_literal(acc, n_acc))) {
        fprintf(stderr, "tradeops: out of memory\n");
        goto out;
    }
    if (pg_exec_ok(pg, "begin", err, sizeof err) != 0)
        goto fail;
    const char *p[4] = {user, role_name(role), lit, op.actor};
    PGresult *r =
        pg_exec_params(pg,
                       "insert into operators (os_user, role, accounts, created_by)"
                       " select $1, $2, $3::text[], $4"
                       " where (select count(*) from unnest($3::text[]) u"
                       "        where not exists (select 1 from accounts a where a.id = u)) = 0"
                       " on conflict (os_user) do nothing returning os_user",
                       4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "23514") == 0)
            snprintf(err, sizeof err, "\"%s\" is not a valid user name", user);
        else
            pg_error_copy(err, sizeof err, PQresultErrorMessage(r));
        PQclear(r);
        PQclear(pg_exec(pg, "rollback"));
        goto fail;
    }
    int inserted = PQntuples(r);
    PQclear(r);
    if (!inserted) {
        /* Either the user exists or an account is unknown: say which. */
        const char *q[1] = {user};
        PGresult *e = pg_exec_params(pg, "select role from operators where os_user = $1", 1, NULL,
                                     q, NULL, NULL, 0);
        bool exists = PQresultStatus(e) == PGRES_TUPLES_OK && PQntuples(e) > 0;
        PQclear(e);
        PQclear(pg_exec(pg, "rollback"));
        if (exists) {
            if (exists_ok) {
                rc = EXIT_OK;
                goto out;
            }
            snprintf(err, sizeof err,
                     "operator %s already exists (remove them first to change the role)", user);
        } else {
            snprintf(err, sizeof err, "--accounts names an account that does not exist "
                                      "(see `tradeops account list`)");
        }
        goto fail;
    }
    char details[600];
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "role", role_name(role));
    cJSON_AddStringToObject(d, "accounts", accounts ? accounts : "");
    cJSON_AddBoolToObject(d, "bootstrap", empty);
    char *ds = cJSON_PrintUnformatted(d);
    snprintf(details, sizeof details, "%s", ds ? ds : "{}");
    cJSON_free(ds);
    cJSON_Delete(d);
    if (audit_write(pg, &op, "operator.add", user, NULL, "ok", details, err, sizeof err) != 0 ||
        pg_exec_ok(pg, "commit", err, sizeof err) != 0) {
        PQclear(pg_exec(pg, "rollback"));
        goto fail;
    }
    printf("operator %s added as %s\n", user, role_name(role));
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "tradeops: %s\n", err);
    rc = EXIT_FAIL;
out:
    free(lit);
    auth_free_accounts(acc, n_acc);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

/* `tradeops WHAT list [--json]`: the one option, then the session. */
static int list_session(const config *cfg, int argc, char **argv, const char *what, bool *json,
                        PGconn **pg, operator_id *op)
{
    *json = argc > 1 && strcmp(argv[1], "--json") == 0;
    if (argc > (*json ? 2 : 1)) {
        fprintf(stderr, "usage: tradeops %s list [--json]\n", what);
        return EXIT_USAGE;
    }
    return cli_session(cfg, pg, op);
}

static int operator_list(const config *cfg, int argc, char **argv)
{
    bool json;
    PGconn *pg;
    operator_id op;
    int rc = list_session(cfg, argc, argv, "operator", &json, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = cli_require(pg, &op, ROLE_ADMIN, "operator.list", NULL)) != EXIT_OK)
        goto out;
    PGresult *r =
        pg_exec(pg, "select os_user, role, array_to_string(accounts, ','),"
                    " to_char(created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                    " created_by from operators order by os_user");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "tradeops: %s", PQresultErrorMessage(r));
        PQclear(r);
        rc = EXIT_FAIL;
        goto out;
    }
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; i < PQntuples(r); i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "user", PQgetvalue(r, i, 0));
            cJSON_AddStringToObject(o, "role", PQgetvalue(r, i, 1));
            cJSON_AddStringToObject(o, "accounts", PQgetvalue(r, i, 2));
            cJSON_AddStringToObject(o, "createdAt", PQgetvalue(r, i, 3));
            cJSON_AddStringToObject(o, "createdBy", PQgetvalue(r, i, 4));
            cJSON_AddItemToArray(arr, o);
        }
        cli_print_json(stdout, arr);
        cJSON_Delete(arr);
    } else {
        printf("%-20s %-7s %-30s %-21s %s\n", "USER", "ROLE", "ACCOUNTS", "ADDED (UTC)", "BY");
        for (int i = 0; i < PQntuples(r); i++) {
            printf("%-20s %-7s %-30s %-21s ", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                   PQgetvalue(r, i, 2)[0] ? PQgetvalue(r, i, 2) : "-", PQgetvalue(r, i, 3));
            cli_print_safe(stdout, PQgetvalue(r, i, 4));
            putchar('\n');
        }
    }
    PQclear(r);
out:
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

static int operator_remove(const config *cfg, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tradeops operator remove USER\n");
        return EXIT_USAGE;
    }
    const char *user = argv[1];
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    char err[512];
    if ((rc = cli_require(pg, &op, ROLE_ADMIN, "operator.remove", user)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    if (strcmp(user, op.user) == 0) {
        fprintf(stderr, "tradeops: refusing to remove yourself (another admin can)\n");
        goto out;
    }
    if (pg_exec_ok(pg, "begin", err, sizeof err) != 0)
        goto fail;
    const char *p[1] = {user};
    PGresult *r = pg_exec_params(pg, "delete from operators where os_user = $1 returning role", 1,
                                 NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            snprintf(err, sizeof err, "no operator %s", user);
        else
            pg_error_copy(err, sizeof err, PQresultErrorMessage(r));
        PQclear(r);
        PQclear(pg_exec(pg, "rollback"));
        goto fail;
    }
    PQclear(r);
    if (audit_write(pg, &op, "operator.remove", user, NULL, "ok", NULL, err, sizeof err) != 0 ||
        pg_exec_ok(pg, "commit", err, sizeof err) != 0) {
        PQclear(pg_exec(pg, "rollback"));
        goto fail;
    }
    printf("operator %s removed\n", user);
    rc = EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "tradeops: %s\n", err);
out:
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

int cli_operator(config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return operator_add(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return operator_list(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "remove") == 0)
        return operator_remove(cfg, argc - 1, argv + 1);
    fprintf(stderr, "usage: tradeops operator add USER ROLE [--accounts A,B] | list [--json] | "
                    "remove USER\n");
    return EXIT_USAGE;
}

static int account_add(const config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"dd-limit", required_argument, NULL, 'd'},
                                         {"exists-ok", no_argument, NULL, 'e'},
                                         {NULL, 0, NULL, 0}};
    const char *name = NULL;
    double limit = 20;
    bool exists_ok = false;
    int c;
    optind = 0; /* 0 re-initialises GNU getopt, which the global options used */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n') {
            name = optarg;
        } else if (c == 'd') {
            char *end;
            limit = strtod(optarg, &end);
            if (*end || !(limit > 0 && limit < 100)) {
                fprintf(stderr, "tradeops: --dd-limit must be a percent between 0 and 100, not "
                                "\"%s\"\n", optarg);
                return EXIT_USAGE;
            }
        } else if (c == 'e') {
            exists_ok = true;
        } else {
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "usage: tradeops account add ID [--name NAME] [--dd-limit PCT] "
                        "[--exists-ok]\n");
        return EXIT_USAGE;
    }
    const char *id = argv[optind];
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = cli_require(pg, &op, ROLE_ADMIN, "account.add", id)) != EXIT_OK)
        goto out;
    char err[512];
    bool existed;
    if (store_account_add(pg, &op, id, name ? name : id, limit, &existed, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: %s\n", err);
        rc = EXIT_FAIL;
    } else if (existed && !exists_ok) {
        fprintf(stderr, "tradeops: account %s already exists\n", id);
        rc = EXIT_FAIL;
    } else if (!existed) {
        printf("account %s added\n", id);
    }
out:
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

static int account_list(const config *cfg, int argc, char **argv)
{
    bool json;
    PGconn *pg;
    operator_id op;
    int rc = list_session(cfg, argc, argv, "account", &json, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    const char *p[1] = {NULL};
    PGresult *r =
        pg_exec_params(pg, "select id, name, dd_limit_pct, enabled from accounts order by id", 0,
                       NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "tradeops: %s", PQresultErrorMessage(r));
        rc = EXIT_FAIL;
    } else {
        cJSON *arr = json ? cJSON_CreateArray() : NULL;
        if (!json)
            printf("%-20s %-30s %8s %s\n", "ID", "NAME", "DD LIMIT", "ENABLED");
        for (int i = 0; i < PQntuples(r); i++) {
            if (!auth_can_see(&op, PQgetvalue(r, i, 0)))
                continue;
            if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "id", PQgetvalue(r, i, 0));
                cJSON_AddStringToObject(o, "name", PQgetvalue(r, i, 1));
                cJSON_AddNumberToObject(o, "ddLimitPct", strtod(PQgetvalue(r, i, 2), NULL));
                cJSON_AddBoolToObject(o, "enabled", PQgetvalue(r, i, 3)[0] == 't');
                cJSON_AddItemToArray(arr, o);
            } else {
                printf("%-20s ", PQgetvalue(r, i, 0));
                cli_print_safe(stdout, PQgetvalue(r, i, 1));
                printf("  %6s%% %s\n", PQgetvalue(r, i, 2), PQgetvalue(r, i, 3)[0] == 't' ? "yes" : "no");
            }
        }
        if (json) {
            cli_print_json(stdout, arr);
            cJSON_Delete(arr);
        }
    }
    PQclear(r);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

/* account set-balance ID AMOUNT: the capital the account's metrics start
 * from (admin, audited); its stored metrics are rebuilt from it. */
static int account_set_balance(const config *cfg, int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tradeops account set-balance ID AMOUNT\n");
        return EXIT_USAGE;
    }
    char *end;
    double amount = strtod(argv[2], &end);
    if (*end || end == argv[2] || !(isfinite(amount) && amount > 0)) {
        fprintf(stderr, "tradeops: AMOUNT must be a positive number, not \"");
        cli_print_safe(stderr, argv[2]);
        fprintf(stderr, "\"\n");
        return EXIT_USAGE;
    }
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = cli_require(pg, &op, ROLE_ADMIN, "account.set_balance", argv[1])) == EXIT_OK) {
        char err[512];
        int st = metrics_store_set_balance(pg, &op, argv[1], amount, err, sizeof err);
        if (st != 0) {
            fprintf(stderr, "tradeops: account ");
            cli_print_safe(stderr, argv[1]);
            fprintf(stderr, ": %s\n", err);
            rc = EXIT_FAIL;
        } else {
            printf("account %s starts from %.2f; its metrics are rebuilt\n", argv[1], amount);
        }
    }
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

int cli_account(config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "set-balance") == 0)
        return account_set_balance(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return account_add(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return account_list(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "set-guard") == 0)
        return cli_account_set_guard(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "show-guard") == 0)
        return cli_account_show_guard(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "set-sync") == 0)
        return cli_account_set_sync(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "show-sync") == 0)
        return cli_account_show_sync(cfg, argc - 1, argv + 1);
    fprintf(stderr, "usage: tradeops account add ID [--name NAME] [--dd-limit PCT] | list "
                    "[--json] | set-balance ID AMOUNT | set-guard ID ... | show-guard ID "
                    "[--json] | set-sync ID PROVIDER ... | show-sync ID [--json]\n");
    return EXIT_USAGE;
}
