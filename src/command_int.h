/*
 * command_int.h - what command.c shares with the files that hold the
 * lookup and act functions of some commands (command_sync.c). Internal to
 * the command path.
 *
 * Threads: as command.h: the caller's connection only.
 */
#ifndef TRADEOPS_COMMAND_INT_H
#define TRADEOPS_COMMAND_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "command.h"

/* What a command acts on, read (and locked) before deciding. */
typedef struct target {
    char account[64];
    char label[460];   /* for the audit record and messages ("filter: <text>" for bulk) */
    char details[400]; /* JSON for the audit record's details */
    bool done_already; /* e.g. a row someone resolved first */
    char done_by[200];
    char invalid[240]; /* the target's state forbids the command: why, for people */
} target;

/* Journal sync jobs (command_sync.c), for CMD_SYNC_*. lookup: 1 found, 0
 * not found, -1 database error. act: 0 or -1 with err, in the command's
 * transaction after its audit record. post: runs after that transaction
 * committed; true when it decided the result (a bulk action: its batches
 * run in transactions of their own), false to let command_execute say
 * "done". */
int command_sync_lookup(PGconn *c, const command *cmd, target *t, char *err, size_t errlen);
int command_sync_act(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                     char *err, size_t errlen);
bool command_sync_post(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                       command_result *res);

/* CMD_DIGEST_SEND (command_digest.c): lookup locks the digest by
 * cmd->name; act queues a pending manual run of it. */
int command_digest_lookup(PGconn *c, const command *cmd, target *t, char *err, size_t errlen);
int command_digest_act(PGconn *c, const operator_id *op, const command *cmd, const target *t,
                       char *err, size_t errlen);

#endif
