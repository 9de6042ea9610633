/*
 * command.h - operators' actions as commands: one path for the console and
 * the command line.
 *
 * A command names what to do and to what (captured when the operator
 * invoked it, never "the row under the cursor now"), and carries the
 * operator's reason or note. command_execute is the engine's side: in one
 * transaction it checks the operator's role and account scope, writes the
 * audit record (refusals and failures too) and only then acts. The console
 * submits commands to the engine's command thread (engine_submit); the
 * command line, which runs no engine thread, calls command_execute itself.
 * Either way the same function decides.
 *
 * Threads: command_execute runs on the caller's own connection.
 */
#ifndef TRADEOPS_COMMAND_H
#define TRADEOPS_COMMAND_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "sync.h"

enum command_kind {
    CMD_RECON_RESOLVE = 0,  /* target_id: recon_log id; note required (oncall) */
    CMD_ALERT_ACK,          /* target_id: alerts id; note optional (oncall) */
    CMD_GUARD_ABORT,        /* account (or target_id: an alert of that account); reason
                               required; refused once the close has started (oncall) */
    CMD_GUARD_CLOSE_ALL,    /* account; close every position now; note optional (admin) */
    CMD_GUARD_REARM,        /* account; a closed or aborted guard guards again (admin) */
    /* Journal sync jobs (sync_queue.h). target_id > 0: that job; target_id
     * == 0: every job the filter text names (bulk, server-side, in
     * batches; the filter must not be empty: "all" names every job). Note
     * optional. */
    CMD_SYNC_RETRY,         /* retry now (oncall) */
    CMD_SYNC_CANCEL,        /* cancel (admin) */
    CMD_SYNC_RESET,         /* attempts to zero, errors archived (admin) */
    CMD_SYNC_DELETE,        /* delete a finished job (admin) */
    CMD_DIGEST_SEND,        /* name: post that digest now through the notifier (admin) */
    CMD_KIND_COUNT
};

#define COMMAND_NOTE_MAX 500 /* bytes of note or reason kept */

typedef struct command {
    uint64_t seq;           /* the submitter's number, echoed in the result */
    enum command_kind kind;
    int64_t target_id;
    char account[64];       /* for account-wide commands ("" otherwise) */
    char note[COMMAND_NOTE_MAX + 1]; /* untrusted text, checked by command_execute */
    char filter[SYNC_FILTER_TEXT];   /* CMD_SYNC_* bulk: sync_filter_parse text, else "" */
    char name[64];          /* CMD_DIGEST_SEND: the digest's name, else "" */
    int batch;              /* CMD_SYNC_* bulk: rows per transaction ([sync] batch);
                               0: SYNC_ADMIN_BATCH */
} command;

enum command_status {
    CMD_OK = 0,
    CMD_REFUSED,    /* the role or scope does not allow it (audited) */
    CMD_INVALID,    /* bad argument or target: note, unknown id, already done (audited) */
    CMD_FAILED,     /* the database failed; nothing changed */
};

typedef struct command_result {
    uint64_t seq;
    enum command_kind kind;
    int64_t target_id;
    enum command_status status;
    char message[256];      /* for a person, e.g. "recon #12 resolved" */
} command_result;

/* How a client (the console) reaches the engine's command thread without
 * knowing the engine: submit queues, the result comes back later through
 * take_result, and result_fd becomes readable when one waits (for poll(2)).
 * engine_command_port (engine.h) fills one. */
typedef struct command_port {
    /* 0 when queued (cmd->seq is the caller's), -1 with why in err. */
    int (*submit)(void *ctx, const command *cmd, char *err, size_t errlen);
    /* true and *res filled when a result waits; drains result_fd when none left. */
    bool (*take_result)(void *ctx, command_result *res);
    int result_fd;
    void *ctx;
} command_port;

/* Authorises, audits and acts, in that order, in one transaction (the audit
 * record of a refusal is committed on its own). op must have been loaded
 * with auth_load. Fills res and returns res->status. */
enum command_status command_execute(PGconn *c, const operator_id *op, const command *cmd,
                                    command_result *res);

/* "recon.resolve": the action name the audit log records. */
const char *command_name(enum command_kind k);
/* The least role that may run it. */
enum role command_min_role(enum command_kind k);

/* Checks a note or reason: 1..COMMAND_NOTE_MAX bytes of valid UTF-8 with no
 * control characters. 0, or -1 with why in err. */
int command_check_text(const char *text, const char *what, char *err, size_t errlen);

#endif
