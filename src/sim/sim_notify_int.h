/*
 * sim_notify_int.h - the notifier far ends' insides, shared by sim_notify.c
 * (Telegram and Slack requests) and sim_notify_control.c (/_sim/notify).
 * Nothing else includes this file; everyone else goes through sim_notify.h.
 *
 * Threads: struct sim_notify's fields are guarded by its mutex; the helpers
 * below that touch them are called with it held.
 */
#ifndef TRADEOPS_SIM_NOTIFY_INT_H
#define TRADEOPS_SIM_NOTIFY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sim_notify.h"

#define NT_CHAT_ID_LEN 40 /* "-1001234567890", "@channel_name_up_to_32" */
#define NT_CHAT_DIGITS_MAX 20
#define NT_CHANNEL_NAME_MIN 5
#define NT_CHANNEL_NAME_MAX 32
#define NT_TG_TOKEN_ID_MAX 20     /* digits before ':' */
#define NT_TG_TOKEN_SECRET_MIN 10 /* characters after ':' */
#define NT_SLACK_SEGMENT_MAX 128
#define NT_MAX_SAFE_INTEGER 9007199254740991.0 /* 2^53 - 1: a JSON number held exactly */
#define NT_DEFAULT_FAIL_STATUS 500
#define NT_DEFAULT_RETRY_AFTER_S 1L
#define NT_TEXT_PLAIN "text/plain; charset=utf-8"
#define NT_SIM_BOT_NAME "tradeops-sim"

enum nt_target { NT_T_TELEGRAM = 0, NT_T_SLACK, NT_T_COUNT };

typedef struct nt_record {
    char *where; /* chat id (Telegram) or path (Slack) */
    char *text;
    char *parse_mode; /* Telegram; NULL when none */
    int64_t at_ms;
} nt_record;

typedef struct nt_ring {
    nt_record *r; /* SIM_NOTIFY_MAX_RECORDS slots */
    size_t head, n;
} nt_ring;

typedef struct nt_fault {
    long fail_next; /* -1: every request */
    int status;
    long retry_after;
} nt_fault;

typedef struct nt_migration {
    char from[NT_CHAT_ID_LEN], to[NT_CHAT_ID_LEN];
} nt_migration;

struct sim_notify {
    pthread_mutex_t mu;
    nt_ring rec[NT_T_COUNT];
    uint64_t attempts[NT_T_COUNT];
    nt_fault faults[NT_T_COUNT];
    nt_migration mig[SIM_NOTIFY_MAX_MIGRATIONS];
    size_t n_mig;
    int64_t next_message_id;
};

/* Frees what a record owns and zeroes it. */
void sim_notify_record_free(nt_record *r);
/* Drops every record of g. Mutex held. */
void sim_notify_ring_clear(nt_ring *g);
/* No faults armed; status 500 and retry_after 1 for the next one. Mutex held. */
void sim_notify_faults_default(sim_notify *n);
/* A chat id as text: an integer (held exactly), a decimal string, or
 * "@channel". False when v is none of those. */
bool sim_notify_chat_id(const cJSON *v, char *buf, size_t buflen);

#endif
