/*
 * command_queue.h - the engine's command thread: the console's actions go
 * in as commands, are executed one at a time by command_execute on the
 * thread's own PostgreSQL connection, and their results come back.
 *
 * Threads: new/start/stop/free from the controlling thread. The port's
 * submit and take_result may be called from any thread (the console's);
 * a mutex guards both rings. The worker thread alone touches its PGconn.
 */
#ifndef TRADEOPS_COMMAND_QUEUE_H
#define TRADEOPS_COMMAND_QUEUE_H

#include <stddef.h>

#include "auth.h"
#include "command.h"
#include "config.h"

/* Commands waiting at most; a console cannot type faster than this drains. */
#define COMMAND_QUEUE_CAP 64

typedef struct command_queue command_queue;

/* Called on the worker thread after each command (e.g. to make the
 * reconciler publish the change at once). May be NULL. */
typedef void (*command_done_fn)(void *ctx, const command_result *res);

/* op: the console's operator (identity; the role is re-read per command).
 * cfg and op must outlive the queue. */
command_queue *command_queue_new(const config *cfg, const operator_id *op, command_done_fn done,
                                 void *done_ctx, char *err, size_t errlen);
int command_queue_start(command_queue *q, char *err, size_t errlen);
/* Commands still queued are answered as failed ("shutting down"). */
void command_queue_stop(command_queue *q);
void command_queue_free(command_queue *q);

/* Fills a port that submits to this queue. */
void command_queue_port(command_queue *q, command_port *port);

#endif
