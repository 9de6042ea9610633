/*
 * main.c - tradeops: the console, or one headless command.
 *
 * Order of configuration: built-in defaults, the INI file (--config or
 * $XDG_CONFIG_HOME/tradeops/config.ini), TRADEOPS_* environment variables,
 * then flags. Only main exits; everything below returns errors.
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "auth.h"
#include "cli.h"
#include "cli_common.h"
#include "cli_credentials.h"
#include "config.h"
#include "console.h"
#include "digest.h"
#include "engine.h"
#include "migrate.h"
#include "model.h"
#include "pg.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tradeops [OPTIONS] [COMMAND [ARGS]]\n"
            "\n"
            "With no command, opens the operations console.\n"
            "\n"
            "Commands:\n"
            "  status [--json]                       health and accounts summary (exit 4 when\n"
            "                                        PostgreSQL or the broker link is down)\n"
            "  positions [--account ID] [--json|--csv] [--live]\n"
            "                                        latest positions of the accounts you may see\n"
            "  operator add USER ROLE [--accounts A,B] | list [--json] | remove USER\n"
            "                                        roles: viewer, trader, oncall, admin (admin "
            "only)\n"
            "  account add ID [--name N] [--dd-limit PCT] | list [--json]\n"
            "  account set-guard ID --preset NAME | --max-loss-pct P --mode M [...]\n"
            "                                        drawdown guard rules (admin; --help: flags)\n"
            "  account show-guard ID [--json]        an account's guard rules\n"
            "  account set-balance ID AMOUNT         the capital its metrics start from (admin)\n"
            "  account set-sync ID PROVIDER [--tag T] [--url URL] [--path FILE] [--format F]\n"
            "        [--multiplier SYMBOL=N]... [--disable|--enable]\n"
            "                                        where its closed trades go (admin; --help)\n"
            "  account show-sync ID [--json]         an account's journal targets\n"
            "  credentials set PROVIDER [--account ID]   store a journal secret read from stdin\n"
            "                                        (admin); keygen FILE | list [--json]\n"
            "  recon [--open] [--account ID] [--limit N] [--json]\n"
            "                                        divergences between the bot and the broker\n"
            "  recon resolve ID --note TEXT          resolve one with a note (oncall, admin)\n"
            "  trades [--account ID] [--since T] [--limit N] [--json|--csv]\n"
            "                                        closed trades, newest first (T: 2026-11-21, "
            "24h, 7d)\n"
            "  alerts [--all] [--account ID] [--severity S] [--limit N] [--json]\n"
            "                                        active alerts (exit 4 when one is critical)\n"
            "  alerts ack ID [--note TEXT] | abort ID|ACCOUNT --note REASON   (oncall, admin)\n"
            "  guard status [--account ID] [--json]  drawdown guards: state, floors, countdown\n"
            "  guard close-all ACCOUNT --confirm ACCOUNT [--note TEXT] | rearm ACCOUNT   (admin)\n"
            "  sync list [--state S] [--provider P] [--account A] [--class C] [--text T]\n"
            "        [--breached] [--limit N] [--json|--csv]   journal sync jobs\n"
            "  sync show ID [--json]                 one job with every attempt\n"
            "  sync retry|reset|cancel|delete ID... | --all [filters] [--yes] [--note TEXT]\n"
            "                                        (retry: oncall, admin; others: admin)\n"
            "  audit [--since T] [--user U] [--action A] [--outcome O] [--target TEXT]\n"
            "        [--limit N] [--json|--csv]      the audit log, newest first\n"
            "  report --trades-csv FILE --starting-balance N [--groups account,strategy,symbol]\n"
            "        [--format text|json|csv|html] [--output FILE]\n"
            "                                        performance metrics of a trades CSV (no\n"
            "                                        database needed)\n"
            "  digest add NAME --kind daily|weekly|message --at HH:MM --tz ZONE [--weekday D]\n"
            "        [--accounts A,B] --template FILE --to telegram,slack   (admin)\n"
            "  digest list [--json] | remove|enable|disable|preview|send NAME\n"
            "                                        scheduled digests and messages (admin)\n"
            "  migrate                               apply pending schema migrations\n"
            "  daemon [--metrics-listen IP:PORT]     run the engine with no console\n"
            "\n"
            "Options:\n"
            "  --config FILE        configuration file (default "
            "$XDG_CONFIG_HOME/tradeops/config.ini)\n"
            "  --pg CONNINFO        PostgreSQL (same as [database] url, TRADEOPS_PG)\n"
            "  --redis URL          Redis, unix:PATH or HOST:PORT (TRADEOPS_REDIS)\n"
            "  --broker-url URL     broker bridge base URL (TRADEOPS_BROKER_URL)\n"
            "  --set SECTION.KEY=VALUE   any configuration key\n"
            "  --readonly           no dangerous action is available\n"
            "  --no-color           monochrome (NO_COLOR in the environment does the same)\n"
            "  --ascii              ASCII line drawing and charts\n"
            "  --log-file FILE      where stderr goes while the console is on screen\n"
            "  --metrics-listen IP:PORT  Prometheus endpoint, no auth ([metrics] listen)\n"
            "  --help-config        every configuration key, its default and its variable\n"
            "  --help, --version\n"
            "\n"
            "Exit codes: 0 ok, 1 failed, 2 usage or configuration error, 3 refused by role,\n"
            "4 critical (status; alerts: an active critical alert).\n");
}

enum {
    OPT_CONFIG = 256,
    OPT_PG,
    OPT_REDIS,
    OPT_BROKER,
    OPT_SET,
    OPT_READONLY,
    OPT_NOCOLOR,
    OPT_ASCII,
    OPT_LOG,
    OPT_METRICS,
    OPT_HELPCFG,
    OPT_VERSION
};

static const struct option GLOBAL_OPTS[] = {{"config", required_argument, NULL, OPT_CONFIG},
                                            {"pg", required_argument, NULL, OPT_PG},
                                            {"redis", required_argument, NULL, OPT_REDIS},
                                            {"broker-url", required_argument, NULL, OPT_BROKER},
                                            {"set", required_argument, NULL, OPT_SET},
                                            {"readonly", no_argument, NULL, OPT_READONLY},
                                            {"no-color", no_argument, NULL, OPT_NOCOLOR},
                                            {"ascii", no_argument, NULL, OPT_ASCII},
                                            {"log-file", required_argument, NULL, OPT_LOG},
                                            {"metrics-listen", required_argument, NULL, OPT_METRICS},
                                            {"help-config", no_argument, NULL, OPT_HELPCFG},
                                            {"help", no_argument, NULL, 'h'},
                                            {"version", no_argument, NULL, OPT_VERSION},
                                            {NULL, 0, NULL, 0}};

/* Flags are applied after the file and the environment, so they are kept
 * as (section, key, value) until then. */
struct flag_set {
    const char *section, *key;
    char value[CONFIG_STR];
    bool owned; /* section and key were allocated by split_set */
};

static int split_set(const char *arg, struct flag_set *f)
{
    const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
    if (!dot || !eq || dot > eq)
        return -1;
    char *s = strndup(arg, (size_t)(dot - arg));
    char *k = strndup(dot + 1, (size_t)(eq - dot - 1));
    if (!s || !k) {
        free(s);
        free(k);
        return -1;
    }
    f->section = s;
    f->key = k;
    f->owned = true;
    snprintf(f->value, sizeof f->value, "%s", eq + 1);
    return 0;
}

#define MAX_FLAGS 32

static void default_log_path(char *out, size_t n)
{
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char dir[CONFIG_STR];
    if (state && *state)
        snprintf(dir, sizeof dir, "%s/tradeops", state);
    else
        snprintf(dir, sizeof dir, "%s/.local/state/tradeops", home && *home ? home : "/tmp");
    /* mkdir -p of the two last levels is enough for the XDG layout. */
    char parent[CONFIG_STR];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        mkdir(parent, 0700);
    }
    mkdir(dir, 0700);
    snprintf(out, n, "%.400s/console.log", dir);
}

static int run_console(config *cfg)
{
    char err[512];
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    PQfinish(pg);
    model *m = model_new();
    engine *e = m ? engine_new(cfg, &op, m, err, sizeof err) : NULL;
    if (!e) {
        fprintf(stderr, "tradeops: %s\n", m ? err : "out of memory");
        model_free(m);
        auth_free(&op);
        return EXIT_FAIL;
    }
    if (engine_start(e, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: %s\n", err);
        engine_free(e);
        model_free(m);
        auth_free(&op);
        return EXIT_FAIL;
    }
    char log_path[CONFIG_STR];
    if (cfg->log_file[0])
        snprintf(log_path, sizeof log_path, "%s", cfg->log_file);
    else
        default_log_path(log_path, sizeof log_path);
    console_opts o = {
        .operator_name = op.user,
        .role = role_name(op.role),
        .source = op.source,
        .environment = cfg->environment,
        .readonly = cfg->readonly,
        .color = strcmp(cfg->color, "never") == 0    ? CONSOLE_COLOR_NEVER
                 : strcmp(cfg->color, "always") == 0 ? CONSOLE_COLOR_ALWAYS
                                                     : CONSOLE_COLOR_AUTO,
        .glyphs = strcmp(cfg->glyphs, "ascii") == 0  ? CONSOLE_GLYPHS_ASCII
                  : strcmp(cfg->glyphs, "utf8") == 0 ? CONSOLE_GLYPHS_UTF8
                                                     : CONSOLE_GLYPHS_AUTO,
        .log_path = log_path,
    };
    command_port port;
    engine_command_port(e, &port);
    rc = console_run(&o, m, port.submit ? &port : NULL, err, sizeof err) == 0 ? EXIT_OK : EXIT_FAIL;
    engine_stop(e);
    if (rc != EXIT_OK)
        fprintf(stderr, "tradeops: %s\n", err);
    engine_free(e);
    model_free(m);
    auth_free(&op);
    return rc;
}

static int run_daemon(config *cfg, int argc, char **argv)
{
    char err[512];
    if (argc == 3 && strcmp(argv[1], "--metrics-listen") == 0) {
        if (config_set(cfg, "metrics", "listen", argv[2], err, sizeof err) != 0) {
            fprintf(stderr, "tradeops daemon: --metrics-listen: %s\n", err);
            return EXIT_USAGE;
        }
    } else if (argc > 1) {
        fprintf(stderr, "usage: tradeops daemon [--metrics-listen IP:PORT]\n");
        return EXIT_USAGE;
    }
    PGconn *pg;
    operator_id op;
    int rc = cli_session(cfg, &pg, &op);
    if (rc != EXIT_OK)
        return rc;
    PQfinish(pg);
    /* Block the stop signals in every thread; this one waits for them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    model *m = model_new();
    engine *e = m ? engine_new(cfg, NULL, m, err, sizeof err) : NULL;
    if (!e || engine_start(e, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops: %s\n", err);
        engine_free(e);
        model_free(m);
        auth_free(&op);
        return EXIT_FAIL;
    }
    fprintf(stderr, "tradeops daemon: running as %s; SIGTERM or SIGINT stops it\n", op.actor);
    int sig;
    sigwait(&set, &sig);
    fprintf(stderr, "tradeops daemon: stopping (%s)\n", strsignal(sig));
    engine_free(e);
    model_free(m);
    auth_free(&op);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    signal(SIGPIPE, SIG_IGN);
    config cfg;
    config_defaults(&cfg);
    const char *config_path = NULL;
    struct flag_set flags[MAX_FLAGS];
    size_t n_flags = 0;
    bool readonly = false, no_color = false, ascii = false;
    int c, rc = EXIT_USAGE;

    while ((c = getopt_long(argc, argv, "+h", GLOBAL_OPTS, NULL)) != -1) {
        struct flag_set *f = n_flags < MAX_FLAGS ? &flags[n_flags] : NULL;
        if (!f &&
            (c == OPT_PG || c == OPT_REDIS || c == OPT_BROKER || c == OPT_SET || c == OPT_LOG ||
             c == OPT_METRICS)) {
            fprintf(stderr, "tradeops: too many options\n");
            goto out;
        }
        switch (c) {
        case OPT_CONFIG: config_path = optarg; continue;
        case OPT_PG: *f = (struct flag_set){"database", "url", "", false}; break;
        case OPT_REDIS: *f = (struct flag_set){"redis", "url", "", false}; break;
        case OPT_BROKER: *f = (struct flag_set){"broker", "url", "", false}; break;
        case OPT_LOG: *f = (struct flag_set){"console", "log_file", "", false}; break;
        case OPT_METRICS: *f = (struct flag_set){"metrics", "listen", "", false}; break;
        case OPT_SET:
            if (split_set(optarg, f) != 0) {
                fprintf(stderr, "tradeops: --set wants SECTION.KEY=VALUE, not \"%s\"\n", optarg);
                goto out;
            }
            n_flags++;
            continue;
        case OPT_READONLY: readonly = true; continue;
        case OPT_NOCOLOR: no_color = true; continue;
        case OPT_ASCII: ascii = true; continue;
        case OPT_HELPCFG:
            config_print_reference(stdout);
            rc = EXIT_OK;
            goto out;
        case 'h':
            usage(stdout);
            rc = EXIT_OK;
            goto out;
        case OPT_VERSION:
            printf("tradeops %s\n", TRADEOPS_VERSION);
            rc = EXIT_OK;
            goto out;
        default: usage(stderr); goto out;
        }
        snprintf(f->value, sizeof f->value, "%s", optarg);
        n_flags++;
    }

    char err[600], path[CONFIG_STR];
    if (config_path) {
        if (config_load_file(&cfg, config_path, true, err, sizeof err) != 0)
            goto bad_config;
    } else {
        config_default_path(path, sizeof path);
        if (config_load_file(&cfg, path, false, err, sizeof err) != 0)
            goto bad_config;
    }
    if (config_load_env(&cfg, err, sizeof err) != 0)
        goto bad_config;
    for (size_t i = 0; i < n_flags; i++) {
        char msg[500];
        if (config_set(&cfg, flags[i].section, flags[i].key, flags[i].value, msg, sizeof msg)) {
            snprintf(err, sizeof err, "command line: %s", msg);
            goto bad_config;
        }
    }
    if (readonly)
        cfg.readonly = true;
    if (no_color || (getenv("NO_COLOR") && getenv("NO_COLOR")[0]))
        snprintf(cfg.color, sizeof cfg.color, "never");
    if (ascii)
        snprintf(cfg.glyphs, sizeof cfg.glyphs, "ascii");
    if (config_load_secrets(&cfg, err, sizeof err) != 0)
        goto bad_config;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "tradeops: cannot initialise libcurl\n");
        rc = EXIT_FAIL;
        goto out;
    }
    int cargc = argc - optind;
    char **cargv = argv + optind;
    if (cargc == 0) {
        rc = run_console(&cfg);
    } else {
        static const struct {
            const char *name;
            int (*fn)(config *, int, char **);
        } commands[] = {
            {"status", cli_status},     {"positions", cli_positions}, {"migrate", cli_migrate},
            {"operator", cli_operator}, {"account", cli_account},     {"daemon", run_daemon},
            {"recon", cli_recon},       {"trades", cli_trades},
            {"alerts", cli_alerts},     {"guard", cli_guard},         {"audit", cli_audit},
            {"credentials", cli_credentials}, {"sync", cli_sync},
            {"report", cli_report},     {"digest", cli_digest},
        };
        rc = -1;
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (strcmp(cargv[0], commands[i].name) == 0)
                rc = commands[i].fn(&cfg, cargc, cargv);
        if (rc == -1) {
            fprintf(stderr, "tradeops: unknown command \"%s\" (see tradeops --help)\n", cargv[0]);
            rc = EXIT_USAGE;
        }
    }
    curl_global_cleanup();
    goto out;
bad_config:
    fprintf(stderr, "tradeops: %s\n", err);
    rc = EXIT_USAGE;
out:
    for (size_t i = 0; i < n_flags; i++)
        if (flags[i].owned) {
            free((char *)flags[i].section);
            free((char *)flags[i].key);
        }
    memset(cfg.broker_token, 0, sizeof cfg.broker_token);
    return rc;
}
