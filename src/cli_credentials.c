/*
 * cli_credentials.c - `tradeops credentials set|keygen|list`: journal
 * credentials sealed under the key of [sync] key_file (secret.h).
 *
 * set reads the secret from stdin (one line; on a terminal with a prompt
 * and echo off), never from the command line where ps and the shell's
 * history would keep it. The key is loaded before anything else, so a
 * missing or wrong key stores nothing. The audit records which credentials
 * changed and under which key id, never the secret.
 *
 * Threads: main thread only.
 */
#include "cli_credentials.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "cli.h"
#include "cli_common.h"
#include "pg.h"
#include "sanitize.h"
#include "secret.h"

#define ACTION_SET "credentials.set"
#define ACTION_LIST "credentials.list"
#define TARGET_MAX 160

static const char USAGE[] =
    "usage: tradeops credentials set PROVIDER [--account ID]   store a secret read from stdin\n"
    "       tradeops credentials keygen FILE                  write a new key (mode 600)\n"
    "       tradeops credentials list [--json]                what is stored (never the secret)\n"
    "PROVIDER: tradervue (the secret is \"user:password\") or webhook (the signing key).\n"
    "Without --account the secret is the provider's default for every account.\n"
    "The key comes from [sync] key_file or TRADEOPS_SYNC_KEY. set and list: admin; audited.\n";

/* ---- reading the secret ---- */

static struct termios saved_tty;
static volatile sig_atomic_t tty_saved;

static void restore_tty(int sig)
{
    if (tty_saved)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line from stdin into buf (at most max bytes of secret), byte
 * by byte so no stdio buffer keeps a copy. 0, or -1 with err. */
static int read_secret(const char *what, char *buf, size_t max, char *err, size_t errlen)
{
    bool tty = isatty(STDIN_FILENO);
    void (*old_int)(int) = SIG_DFL, (*old_term)(int) = SIG_DFL;
    if (tty) {
        fprintf(stderr, "secret for %s (not echoed; Enter ends it): ", what);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
            struct termios t = saved_tty;
            t.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
            old_int = signal(SIGINT, restore_tty);
            old_term = signal(SIGTERM, restore_tty);
            tty_saved = 1;
            if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) != 0) {
                tty_saved = 0;
                snprintf(err, errlen, "cannot turn the terminal's echo off");
                signal(SIGINT, old_int);
                signal(SIGTERM, old_term);
                return -1;
            }
        }
    }
    size_t n = 0;
    bool too_long = false, eol = false;
    int rc = 0;
    for (;;) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read stdin: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (r == 0)
            break;
        if (c == '\n') {
            eol = true;
            break;
        }
        if (n < max)
            buf[n++] = c;
        else
            too_long = true;
        c = 0;
    }
    if (tty && tty_saved) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
        tty_saved = 0;
        signal(SIGINT, old_int);
        signal(SIGTERM, old_term);
        fputc('\n', stderr);
    }
    (void)eol;
    if (n > 0 && buf[n - 1] == '\r')
        n--; /* a line pasted from elsewhere */
    buf[n] = '\0';
    if (rc != 0)
        return -1;
    if (too_long) {
        snprintf(err, errlen, "the secret is longer than %d bytes", SECRET_MAX);
        return -1;
    }
    if (n == 0) {
        snprintf(err, errlen, "no secret on stdin (an empty line)");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "the secret holds a control character (byte %zu)", i + 1);
            return -1;
        }
    }
    return 0;
}

/* ---- set ---- */

static bool account_syntax_ok(const char *a)
{
    size_t n = strlen(a);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-')))
            return false;
    }
    return true;
}

static int parse_provider(const char *s, enum sync_provider *p)
{
    if (sync_provider_parse(s, p) != 0 || *p == SYNC_CSV) {
        fputs("tradeops: credentials: \"", stderr);
        cli_print_safe(stderr, s);
        fputs("\" is not a provider with credentials (tradervue, webhook)\n", stderr);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* Whether account exists; -1 on a database error (printed). */
static int account_exists(PGconn *pg, const char *account)
{
    const char *p[1] = {account};
    PGresult *r =
        pg_exec_params(pg, "select 1 from accounts where id = $1", 1, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) > 0 : -1;
    if (rc < 0)
        fprintf(stderr, "tradeops: %s", PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

static void audit_failure(PGconn *pg, const operator_id *op, const char *target, const char *why)
{
    char aerr[256];
    if (audit_write(pg, op, ACTION_SET, target, why, "failed", NULL, aerr, sizeof aerr) != 0)
        fprintf(stderr, "tradeops: could not audit the failure: %s\n", aerr);
}

static int cred_set(config *cfg, int argc, char **argv)
{
    const char *prov = NULL, *account = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--account") == 0 && i + 1 < argc) {
            account = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            fputs(USAGE, stdout);
            return EXIT_OK;
        } else if (argv[i][0] == '-' || prov) {
            fputs("tradeops: credentials set: unexpected argument \"", stderr);
            cli_print_safe(stderr, argv[i]);
            fprintf(stderr, "\"\n%s", USAGE);
            return EXIT_USAGE;
        } else {
            prov = argv[i];
        }
    }
    enum sync_provider p;
    if (!prov) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    if (parse_provider(prov, &p) != EXIT_OK)
        return EXIT_USAGE;
    if (account[0] && !account_syntax_ok(account)) {
        fputs("tradeops: credentials set: \"", stderr);
        cli_print_safe(stderr, account);
        fputs("\" is not an account id\n", stderr);
        return EXIT_USAGE;
    }
    char target[TARGET_MAX], err[512];
    snprintf(target, sizeof target, "%s%s%s", sync_provider_name(p), account[0] ? "/" : "",
             account);
    secret_key key;
    if (secret_key_load(cfg, &key, err, sizeof err) != 0) {
        fputs("tradeops: credentials set: ", stderr);
        cli_print_safe(stderr, err);
        fputs("; nothing stored\n", stderr);
        return EXIT_FAIL;
    }
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK) {
        secret_key_wipe(&key);
        return rc;
    }
    char secret[SECRET_MAX + 2];
    if ((rc = cli_require(pg, &op, ROLE_ADMIN, ACTION_SET, target)) != EXIT_OK)
        goto out;
    rc = EXIT_FAIL;
    if (account[0]) {
        int ex = account_exists(pg, account);
        if (ex < 0)
            goto out;
        if (ex == 0) {
            audit_failure(pg, &op, target, "no such account");
            fprintf(stderr,
                    "tradeops: credentials set: no account \"%s\" (see `tradeops account "
                    "list`); nothing stored\n",
                    account);
            goto out;
        }
    }
    if (read_secret(target, secret, SECRET_MAX, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: credentials set: %s; nothing stored\n", err);
        rc = EXIT_USAGE;
        goto wipe;
    }
    if (p == SYNC_TRADERVUE && (secret[0] == ':' || !strchr(secret, ':'))) {
        fprintf(stderr, "tradeops: credentials set: Tradervue credentials are one line "
                        "\"user:password\"; nothing stored\n");
        rc = EXIT_USAGE;
        goto wipe;
    }
    char details[160];
    snprintf(details, sizeof details, "{\"provider\":\"%s\",\"account\":\"%s\",\"key_id\":\"%s\"}",
             sync_provider_name(p), account, key.id);
    if (pg_exec_ok(pg, "begin", err, sizeof err) != 0 ||
        secret_store(pg, &key, p, account, secret, op.actor, err, sizeof err) != 0 ||
        audit_write(pg, &op, ACTION_SET, target, NULL, "ok", details, err, sizeof err) != 0 ||
        pg_exec_ok(pg, "commit", err, sizeof err) != 0) {
        PQclear(pg_exec(pg, "rollback"));
        secret_mask(err, secret);
        audit_failure(pg, &op, target, err);
        fputs("tradeops: credentials set: ", stderr);
        cli_print_safe(stderr, err);
        fputs("; nothing stored\n", stderr);
        goto wipe;
    }
    printf("stored the %s credentials%s%s (sealed under key %s)\n", sync_provider_name(p),
           account[0] ? " of " : " (the default for every account)", account, key.id);
    /* A key change leaves older rows unreadable: say so now, not at the first send. */
    const char *kp[1] = {key.id};
    PGresult *r = pg_exec_params(pg, "select count(*) from sync_credentials where key_id <> $1", 1,
                                 NULL, kp, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) > 0)
        fprintf(stderr,
                "tradeops: note: %s other credentials are sealed under another key and will not "
                "open under this one (`tradeops credentials list`)\n",
                PQgetvalue(r, 0, 0));
    PQclear(r);
    rc = EXIT_OK;
wipe:
    OPENSSL_cleanse(secret, sizeof secret);
out:
    secret_key_wipe(&key);
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

/* ---- keygen ---- */

static int cred_keygen(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        fputs(USAGE, stdout);
        return EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-' || argv[1][0] == '\0') {
        fprintf(stderr, "usage: tradeops credentials keygen FILE\n");
        return EXIT_USAGE;
    }
    char err[512];
    if (secret_key_generate(argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: credentials keygen: %s\n", err);
        return EXIT_FAIL;
    }
    secret_key key;
    if (secret_key_load_file(argv[1], &key, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: credentials keygen: %s\n", err);
        return EXIT_FAIL;
    }
    printf("wrote a new key to ");
    cli_print_safe(stdout, argv[1]);
    printf(" (key id %s, mode 600)\n"
           "Set [sync] key_file to it, and keep a copy: credentials sealed under it cannot be "
           "opened without it.\n",
           key.id);
    secret_key_wipe(&key);
    return EXIT_OK;
}

/* ---- list ---- */

static int cred_list(config *cfg, int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fputs("tradeops: credentials list: unexpected argument \"", stderr);
            cli_print_safe(stderr, argv[i]);
            fprintf(stderr, "\"\n%s", USAGE);
            return EXIT_USAGE;
        }
    }
    /* The configured key, when there is one, tells which rows it opens. */
    secret_key key;
    char err[512], kid[sizeof key.id] = "";
    if (secret_key_load(cfg, &key, err, sizeof err) == 0)
        snprintf(kid, sizeof kid, "%s", key.id);
    secret_key_wipe(&key);
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = cli_require(pg, &op, ROLE_ADMIN, ACTION_LIST, NULL)) != EXIT_OK)
        goto out;
    PGresult *r = pg_exec(pg, "select provider, account_id, key_id,"
                              " to_char(updated_at at time zone 'UTC',"
                              " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), updated_by"
                              " from sync_credentials order by provider, account_id");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "tradeops: %s", PQresultErrorMessage(r));
        PQclear(r);
        rc = EXIT_FAIL;
        goto out;
    }
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (!json)
        printf("%-10s %-20s %-17s %-21s %s\n", "PROVIDER", "ACCOUNT", "KEY", "UPDATED (UTC)", "BY");
    for (int i = 0; i < PQntuples(r); i++) {
        const char *acc = PQgetvalue(r, i, 1), *k = PQgetvalue(r, i, 2);
        bool opens = kid[0] && strcmp(k, kid) == 0;
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "provider", PQgetvalue(r, i, 0));
            cJSON_AddStringToObject(o, "account", acc);
            cJSON_AddStringToObject(o, "keyId", k);
            if (kid[0])
                cJSON_AddBoolToObject(o, "configuredKey", opens);
            cJSON_AddStringToObject(o, "updatedAt", PQgetvalue(r, i, 3));
            cJSON_AddStringToObject(o, "updatedBy", PQgetvalue(r, i, 4));
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("%-10s %-20s %-17s %-21s ", PQgetvalue(r, i, 0), acc[0] ? acc : "(default)", k,
                   PQgetvalue(r, i, 3));
            cli_print_safe(stdout, PQgetvalue(r, i, 4));
            printf("%s\n", kid[0] && !opens ? "  (another key: will not open)" : "");
        }
    }
    if (json) {
        cli_print_json(stdout, arr);
        cJSON_Delete(arr);
    } else if (PQntuples(r) == 0) {
        printf("(none: `tradeops credentials set PROVIDER` stores one)\n");
    }
    PQclear(r);
out:
    auth_free(&op);
    PQfinish(pg);
    return rc;
}

int cli_credentials(config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "set") == 0)
        return cred_set(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
        return cred_keygen(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return cred_list(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fputs(USAGE, stdout);
        return EXIT_OK;
    }
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}
