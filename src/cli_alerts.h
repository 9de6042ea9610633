/*
 * cli_alerts.h - helpers shared by the headless commands on alerts and
 * guards (cli_alerts.c: `tradeops alerts`, cli_guard_ops.c: `tradeops guard`):
 * reading result columns, JSON fields, the account scope check, and running
 * an operator's action through command_execute.
 *
 * Threads: main thread only.
 */
#ifndef TRADEOPS_CLI_ALERTS_H
#define TRADEOPS_CLI_ALERTS_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "auth.h"
#include "command.h"
#include "config.h"

/* A column as epoch ms (0 when null) or a number (NAN when null). */
int64_t cli_col_ms(const PGresult *r, int i, int c);
double cli_col_num(const PGresult *r, int i, int c);

/* JSON fields: an ISO time (null for 0), a string (null when empty), a JSON
 * document stored as text (null when NULL or unparseable). */
void cli_json_time(cJSON *o, const char *name, int64_t ms);
void cli_json_str(cJSON *o, const char *name, const char *s);
void cli_json_doc(cJSON *o, const char *name, const char *text);

/* Prints why a query of `what` failed; returns EXIT_FAIL. */
int cli_query_failed(PGresult *r, const char *what);

/* EXIT_OK when account exists and op may see it; otherwise prints one
 * answer for both (a trader learns nothing of other accounts) and returns
 * EXIT_FAIL. */
int cli_visible_account(PGconn *pg, const operator_id *op, const char *account);

/* EXIT_OK for an account id that fits a command (1..63 bytes), else says
 * so and returns EXIT_USAGE. */
int cli_check_account_arg(const char *cmd, const char *account);

/* Runs cmd through command_execute on a new session and prints the
 * engine's answer (stdout when done, stderr otherwise). Exit code: 0 done,
 * 3 refused, 1 invalid or failed (or cli_session's). */
int cli_execute(config *cfg, const command *cmd);

/* The options of an action subcommand. */
typedef struct cli_action_opts {
    const char *note, *confirm, *account;
} cli_action_opts;

/* Parses "SUB [ARG] [--note T] [--confirm A] [--account A]": exactly one
 * target, ARG or --account (*arg is NULL with --account); a note longer
 * than COMMAND_NOTE_MAX is refused. EXIT_OK, EXIT_USAGE, or -1 when --help
 * printed usage. */
int cli_parse_action(const char *cmd, const char *usage, int argc, char **argv,
                     cli_action_opts *o, const char **arg);

#endif
