/*
 * command_queue.c - see command_queue.h.
 *
 * Two rings under one mutex: pending commands (the worker waits on a
 * condition variable) and finished results (an eventfd tells the console).
 * The worker connects to PostgreSQL lazily and again after a failure, so a
 * database that is down answers each command "failed" with the reason
 * instead of hanging the console.
 */
#include "command_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pg.h"

struct command_queue {
    const config *cfg;
    const operator_id *op;
    command_done_fn done;
    void *done_ctx;

    pthread_mutex_t lock;
    pthread_cond_t wake;
    command pending[COMMAND_QUEUE_CAP];
    size_t p_head, p_len;
    command_result results[COMMAND_QUEUE_CAP];
    size_t r_head, r_len;
    bool stop;
    int result_fd;

    pthread_t thread;
    bool started;
    PGconn *pg; /* worker thread only */
};

static void push_result(command_queue *q, const command_result *res)
{
    pthread_mutex_lock(&q->lock);
    if (q->r_len == COMMAND_QUEUE_CAP) { /* nobody reads: drop the oldest */
        q->r_head = (q->r_head + 1) % COMMAND_QUEUE_CAP;
        q->r_len--;
    }
    q->results[(q->r_head + q->r_len) % COMMAND_QUEUE_CAP] = *res;
    q->r_len++;
    pthread_mutex_unlock(&q->lock);
    uint64_t one = 1;
    while (write(q->result_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static void run_one(command_queue *q, const command *in)
{
    command_result res;
    char err[256];
    /* Bulk sync actions run in [sync] batch rows per transaction. */
    command local = *in;
    if (local.batch <= 0)
        local.batch = q->cfg->sync_batch;
    const command *cmd = &local;
    if (pg_ensure(&q->pg, q->cfg->pg_url, err, sizeof err) != 0) {
        memset(&res, 0, sizeof res);
        res.seq = cmd->seq;
        res.kind = cmd->kind;
        res.target_id = cmd->target_id;
        res.status = CMD_FAILED;
        snprintf(res.message, sizeof res.message, "%s not done: %.200s", command_name(cmd->kind),
                 err);
    } else if (command_execute(q->pg, q->op, cmd, &res) == CMD_FAILED &&
               PQstatus(q->pg) != CONNECTION_OK &&
               pg_ensure(&q->pg, q->cfg->pg_url, err, sizeof err) == 0) {
        /* The server went away since the last command (a restart): the
         * transaction rolled back, so running it again is safe. */
        command_execute(q->pg, q->op, cmd, &res);
    }
    if (q->done)
        q->done(q->done_ctx, &res);
    push_result(q, &res);
}

static void *worker_main(void *arg)
{
    command_queue *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->stop && q->p_len == 0)
            pthread_cond_wait(&q->wake, &q->lock);
        if (q->stop)
            break;
        command cmd = q->pending[q->p_head];
        q->p_head = (q->p_head + 1) % COMMAND_QUEUE_CAP;
        q->p_len--;
        pthread_mutex_unlock(&q->lock);
        run_one(q, &cmd);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static int port_submit(void *ctx, const command *cmd, char *err, size_t errlen)
{
    command_queue *q = ctx;
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    if (q->stop || !q->started) {
        snprintf(err, errlen, "the engine is not running");
        rc = -1;
    } else if (q->p_len == COMMAND_QUEUE_CAP) {
        snprintf(err, errlen, "%d commands are already waiting; try again in a moment",
                 COMMAND_QUEUE_CAP);
        rc = -1;
    } else {
        q->pending[(q->p_head + q->p_len) % COMMAND_QUEUE_CAP] = *cmd;
        q->p_len++;
        pthread_cond_signal(&q->wake);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

static bool port_take_result(void *ctx, command_result *res)
{
    command_queue *q = ctx;
    pthread_mutex_lock(&q->lock);
    bool got = q->r_len > 0;
    if (got) {
        *res = q->results[q->r_head];
        q->r_head = (q->r_head + 1) % COMMAND_QUEUE_CAP;
        q->r_len--;
    } else {
        /* Drained under the lock: a result pushed after this wakes again. */
        uint64_t v;
        while (read(q->result_fd, &v, sizeof v) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_unlock(&q->lock);
    return got;
}

command_queue *command_queue_new(const config *cfg, const operator_id *op, command_done_fn done,
                                 void *done_ctx, char *err, size_t errlen)
{
    command_queue *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    q->result_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (q->result_fd < 0) {
        snprintf(err, errlen, "cannot make the command result descriptor: %s", strerror(errno));
        free(q);
        return NULL;
    }
    q->cfg = cfg;
    q->op = op;
    q->done = done;
    q->done_ctx = done_ctx;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    return q;
}

int command_queue_start(command_queue *q, char *err, size_t errlen)
{
    pthread_mutex_lock(&q->lock);
    q->started = true;
    pthread_mutex_unlock(&q->lock);
    int rc = pthread_create(&q->thread, NULL, worker_main, q);
    if (rc != 0) {
        pthread_mutex_lock(&q->lock);
        q->started = false;
        pthread_mutex_unlock(&q->lock);
        snprintf(err, errlen, "cannot start the command thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

void command_queue_stop(command_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    bool was = q->started;
    q->stop = true;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);
    if (was)
        pthread_join(q->thread, NULL);
    pthread_mutex_lock(&q->lock);
    q->started = false;
    size_t left = q->p_len;
    q->p_len = 0;
    pthread_mutex_unlock(&q->lock);
    for (size_t i = 0; i < left; i++) {
        const command *cmd = &q->pending[(q->p_head + i) % COMMAND_QUEUE_CAP];
        command_result res = {
            .seq = cmd->seq, .kind = cmd->kind, .target_id = cmd->target_id, .status = CMD_FAILED};
        snprintf(res.message, sizeof res.message, "%s not done: shutting down",
                 command_name(cmd->kind));
        push_result(q, &res);
    }
}

void command_queue_free(command_queue *q)
{
    if (!q)
        return;
    command_queue_stop(q);
    if (q->pg)
        PQfinish(q->pg);
    close(q->result_fd);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void command_queue_port(command_queue *q, command_port *port)
{
    port->submit = port_submit;
    port->take_result = port_take_result;
    port->result_fd = q->result_fd;
    port->ctx = q;
}
