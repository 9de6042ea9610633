/*
 * cli_credentials.h - the headless commands for journal credentials and an
 * account's journal targets:
 *
 *   tradeops credentials set PROVIDER [--account ID]   (admin; secret on stdin)
 *   tradeops credentials keygen FILE
 *   tradeops credentials list [--json]                  (admin)
 *   tradeops account set-sync ID PROVIDER [FLAGS]       (admin)
 *   tradeops account show-sync ID [--json]
 *
 * Every change is authorised and audited; no secret is ever printed,
 * audited or echoed.
 *
 * Threads: main thread only.
 */
#ifndef TRADEOPS_CLI_CREDENTIALS_H
#define TRADEOPS_CLI_CREDENTIALS_H

#include "config.h"

int cli_credentials(config *cfg, int argc, char **argv);       /* cli_credentials.c */
int cli_account_set_sync(config *cfg, int argc, char **argv);  /* cli_sync_target.c */
int cli_account_show_sync(config *cfg, int argc, char **argv); /* cli_sync_target.c */

#endif
