/*
 * cli_sync_int.h - what the two halves of `tradeops sync` share: the job
 * filter options used by `sync list` (cli_sync.c) and by the bulk actions
 * (cli_sync_ops.c, which holds them).
 *
 * Threads: main thread only.
 */
#ifndef TRADEOPS_CLI_SYNC_INT_H
#define TRADEOPS_CLI_SYNC_INT_H

#include <stdbool.h>

#include "config.h"
#include "sync.h"

/* The filter options' long names and short codes, to splice into a
 * getopt_long table: --state --provider --account --class --text
 * --breached. */
#define CLI_SYNC_FILTER_OPTS                                                                       \
    {"state", required_argument, NULL, 1001}, {"provider", required_argument, NULL, 1002},         \
        {"account", required_argument, NULL, 1003}, {"class", required_argument, NULL, 1004},      \
        {"text", required_argument, NULL, 1005},                                                   \
    {                                                                                              \
        "breached", no_argument, NULL, 1006                                                        \
    }

#define CLI_SYNC_FILTER_HELP                                                                       \
    "  --state S[,S]    available, running, retryable, completed, dead, cancelled;\n"              \
    "                   failed = retryable,dead; live = available,running,retryable\n"             \
    "  --provider P     tradervue, webhook, csv\n"                                                 \
    "  --account A      one account's jobs\n"                                                      \
    "  --class C        the last failure's class (network, timeout, rate_limited, server,\n"       \
    "                   busy, rescued, io, auth, rejected, payload, config)\n"                     \
    "  --text T         in the symbol, position, account or last error (any case)\n"               \
    "  --breached       only jobs that missed the 2-minute promise\n"

/* Applies filter option c (1001..1006) with its argument to f. 1 when c is
 * not a filter option, 0 when applied, EXIT_USAGE (after saying why) when
 * the value is bad. */
int cli_sync_filter_opt(const char *cmd, int c, const char *arg, sync_filter *f);

/* The canonical text of f ("all" when empty); EXIT_USAGE when f cannot be
 * written as a filter the engine will read back the same (a text holding
 * both a quote and a space or '='). */
int cli_sync_filter_text(const char *cmd, const sync_filter *f, char *out, size_t outlen);

/* Says "tradeops CMD: OPT "ARG": WHY" on stderr; EXIT_USAGE. */
int cli_sync_bad_value(const char *cmd, const char *opt, const char *arg, const char *why);

int cli_sync_action(config *cfg, int argc, char **argv); /* cli_sync_ops.c */

#endif
