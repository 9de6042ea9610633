/*
 * cli_common.h - what every headless command does first: connect, check
 * the schema, and identify the operator.
 */
#ifndef TRADEOPS_CLI_COMMON_H
#define TRADEOPS_CLI_COMMON_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "auth.h"
#include "config.h"

/* Connects and loads the operator. Prints the reason and returns the exit
 * code on failure (EXIT_FAIL, or EXIT_REFUSED for an unknown operator). */
int cli_session(const config *cfg, PGconn **pg, operator_id *op);

/* Refuses (printing why, and auditing the refusal) unless op has role r. */
int cli_require(PGconn *pg, const operator_id *op, enum role r, const char *action,
                const char *target);

/* True when stdout should get UTF-8 (the locale says so). */
bool cli_utf8(void);

/* --since T: an age before now_ms ("90m", "24h", "7d", "2w") or a UTC date or
 * date-time ("2026-11-21", "2026-11-21T09:30", "2026-11-21 09:30:15", with an
 * optional zone). 0 with *out in UTC epoch ms, or -1. (cli_trades.c) */
int cli_parse_since(const char *s, int64_t now_ms, int64_t *out);

#endif
