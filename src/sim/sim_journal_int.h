/*
 * sim_journal_int.h - the journal far ends' insides, shared by
 * sim_journal.c (state, faults, webhook receiver, /_sim/journal) and
 * sim_journal_tv.c (Tradervue's imports). Nothing else includes this file.
 *
 * Threads: struct sim_journal's fields are guarded by its mutex; the
 * helpers below that touch them say so.
 */
#ifndef TRADEOPS_SIM_JOURNAL_INT_H
#define TRADEOPS_SIM_JOURNAL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_journal.h"

#define SJ_SYMBOL_MAX 64   /* bytes */
#define SJ_TAG_MAX 128     /* account_tag bytes */
#define SJ_DATETIME_MAX 40 /* "2026-11-21T10:00:00.123456789+00:00" fits */
#define SJ_ERROR_LEN 160
/* Open-addressing index slots: a power of two over twice the cap, so a
 * probe run stays short when full. */
#define SJ_INDEX_SLOTS (1u << 18)

/* A set of indices (index + 1 in each slot, 0 = empty) into an array the
 * caller owns; lookups compare through a callback. Never shrinks but by
 * clearing. */
typedef struct sj_index {
    uint32_t *slot; /* SJ_INDEX_SLOTS */
} sj_index;

typedef struct sj_exec {
    int64_t second; /* datetime to the second, for the duplicate check */
    double quantity, price, commission;
    uint32_t journal;
    char datetime[SJ_DATETIME_MAX]; /* as posted */
    char symbol[SJ_SYMBOL_MAX + 1];
} sj_exec;

/* A symbol's net position in one journal (trade_count_new). */
typedef struct sj_pos {
    uint32_t journal;
    double qty;
    char symbol[SJ_SYMBOL_MAX + 1];
} sj_pos;

typedef struct sj_jrnl {
    char user[SIM_FAULTS_TEXT_LEN];
    char tag[SJ_TAG_MAX + 1];
} sj_jrnl;

/* One user's latest import. */
typedef struct sj_import {
    char user[SIM_FAULTS_TEXT_LEN];
    bool has_status; /* started, and its finished status not read yet */
    bool applied;    /* finished and put in the journal */
    bool fail;       /* journal_fail_next_import took it */
    bool allow_dup;
    int64_t start_ms, finish_ms; /* monotonic */
    char tag[SJ_TAG_MAX + 1];
    sj_exec *pending; /* malloc'ed until applied */
    size_t n_pending;
    /* The outcome, once applied. */
    bool failed;
    char error[SJ_ERROR_LEN];
    long exec_count, trade_count_new, duplicate_count;
} sj_import;

typedef struct sj_hook {
    char *key, *account;
    double trade_id;
    uint64_t count;
} sj_hook;

struct sim_journal {
    pthread_mutex_t mu;
    sj_exec *ex; /* every stored execution, arrival order */
    size_t n_ex, cap_ex;
    sj_index ex_index; /* over ex: (journal, second, symbol, quantity, price) */
    sj_pos *pos;
    size_t n_pos, cap_pos;
    sj_index pos_index; /* over pos: (journal, symbol) */
    sj_jrnl *jr;        /* SIM_JOURNAL_MAX_JOURNALS */
    size_t n_jr;
    sj_import *imp; /* SIM_JOURNAL_MAX_USERS */
    size_t n_imp;
    sj_hook *hooks;
    size_t n_hooks, cap_hooks;
    sj_index hook_index; /* over hooks: key */
    uint64_t requests, imports, rejected_424, failed_imports, executions, duplicates;
    uint64_t deliveries, duplicate_deliveries, bad_signatures;
};

/* ---- sim_journal.c ---- */

/* {"error":msg} with status. */
void sj_error(sim_reply *out, unsigned status, const char *msg);
/* A header of the request, NULL when absent. */
const char *sj_header(const sim_request *rq, const char *name);
/* 64-bit FNV-1a of n bytes, continuing from h (start with SJ_HASH_SEED). */
#define SJ_HASH_SEED 0xcbf29ce484222325ull
uint64_t sj_hash(uint64_t h, const void *p, size_t n);
/* Looks for an entry with eq(ctx, index) among the slots hash leads to;
 * returns its index, or -1 (then *free_slot is where it would go). */
long sj_index_find(const sj_index *ix, uint64_t hash, bool (*eq)(const void *ctx, uint32_t i),
                   const void *ctx, size_t *free_slot);
/* The first free slot hash leads to (for an entry equal to one there). */
size_t sj_index_free(const sj_index *ix, uint64_t hash);
void sj_index_put(sj_index *ix, size_t slot, uint32_t i);

/* ---- sim_journal_tv.c ---- */

/* GET|POST under /api/v1, after the faults. */
void sj_tradervue(sim_journal *j, sim_world *w, const sim_request *rq, const sim_faults *f,
                  sim_reply *out);
/* Puts a finished import into its journal (once). Mutex held. */
void sj_apply(sim_journal *j, sj_import *im);
/* Frees every import's pending executions and forgets them. Mutex held. */
void sj_imports_clear(sim_journal *j);

#endif
