/*
 * cli.h - the headless commands (scripts, cron, monitoring, tests).
 *
 * Every command prints its result to stdout (text, --json or --csv) and
 * errors to stderr, and exits with one of the codes below, documented in
 * `tradeops --help` and docs/configuration.md. Every action a command takes
 * is authorised and audited exactly as in the console.
 *
 * Threads: main thread only.
 */
#ifndef TRADEOPS_CLI_H
#define TRADEOPS_CLI_H

#include <stdio.h>

#include "config.h"

enum cli_exit {
    EXIT_OK = 0,
    EXIT_FAIL = 1,      /* could not do it: a server unreachable, bad data */
    EXIT_USAGE = 2,     /* bad command line or configuration */
    EXIT_REFUSED = 3,   /* the operator's role does not allow it */
    EXIT_CRITICAL = 4,  /* status: something critical (PostgreSQL or broker down) */
};

int cli_status(config *cfg, int argc, char **argv);
int cli_positions(config *cfg, int argc, char **argv);
int cli_migrate(config *cfg, int argc, char **argv);
int cli_operator(config *cfg, int argc, char **argv);
int cli_account(config *cfg, int argc, char **argv);
int cli_account_set_guard(config *cfg, int argc, char **argv);  /* cli_guard.c */
int cli_account_show_guard(config *cfg, int argc, char **argv); /* cli_guard.c */
int cli_recon(config *cfg, int argc, char **argv);   /* cli_recon.c */
int cli_trades(config *cfg, int argc, char **argv);  /* cli_trades.c */
int cli_alerts(config *cfg, int argc, char **argv);  /* cli_alerts.c */
int cli_guard(config *cfg, int argc, char **argv);   /* cli_guard_ops.c */
int cli_audit(config *cfg, int argc, char **argv);   /* cli_audit.c */
int cli_sync(config *cfg, int argc, char **argv);    /* cli_sync.c */
int cli_report(config *cfg, int argc, char **argv);  /* cli_report.c: no database */

/* Prints JSON with every string made terminal-safe: DEL and C1 controls
 * become \u escapes and bytes that are not UTF-8 become \ufffd, so the
 * output stays strict JSON and inert on a terminal. */
struct cJSON;
void cli_print_json(FILE *out, const struct cJSON *j);

/* Prints a string from outside for a terminal or a CSV cell. */
void cli_print_safe(FILE *out, const char *s);
void cli_print_csv_field(FILE *out, const char *s);

#endif
