/*
 * secret.h - secrets at rest: AES-256-GCM under a key that never enters the
 * database, and masking of secrets in any text that could show them.
 *
 * The key is 32 bytes written as 64 hex digits, read from [sync] key_file
 * or the environment (TRADEOPS_SYNC_KEY, which wins). Its id is the first
 * 16 hex digits of its SHA-256: stored beside each sealed secret, so a row
 * sealed under another key is reported as "wrong key" rather than
 * "damaged". The provider and account are bound into each seal as
 * associated data, so a row copied onto another provider or account does
 * not open.
 *
 * Threads: any; a loaded key is read-only.
 */
#ifndef TRADEOPS_SECRET_H
#define TRADEOPS_SECRET_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "sync.h"

#define SECRET_MAX 1024 /* bytes of one secret */

typedef struct secret_key {
    unsigned char k[32];
    char id[17];
} secret_key;

/* Loads the key: TRADEOPS_SYNC_KEY, else cfg->sync_key_file. A missing or
 * unreadable file, a file readable by group or others, or anything but 64
 * hex digits (surrounding white space allowed) is an error saying which
 * and where, never quoting the file's content. 0 or -1. */
int secret_key_load(const config *cfg, secret_key *key, char *err, size_t errlen);
/* Loads the key from path alone (the same checks; no environment). */
int secret_key_load_file(const char *path, secret_key *key, char *err, size_t errlen);
/* Writes a new random key (64 hex digits and a newline) to path, created
 * with mode 0600 and refusing to overwrite. 0 or -1. */
int secret_key_generate(const char *path, char *err, size_t errlen);
/* Wipes the key from memory. */
void secret_key_wipe(secret_key *key);

/* Stores secret (1..SECRET_MAX bytes, no NUL) for (provider, account; ""
 * for the provider's default), sealed under key, replacing any earlier one.
 * by: the operator, for updated_by. 0 or -1. */
int secret_store(PGconn *c, const secret_key *key, enum sync_provider p, const char *account,
                 const char *secret, const char *by, char *err, size_t errlen);

/* Loads the secret for (provider, account), falling back to the
 * provider's default. 1 and out filled (NUL-terminated), 0 when none is
 * stored, -1 with err: the wrong key ("... sealed under key 1a2b..., the
 * configured key is 3c4d...") or a damaged row; -2 with err when the
 * database failed (try again later: nothing is wrong with the secret). */
int secret_load(PGconn *c, const secret_key *key, enum sync_provider p, const char *account,
                char *out, size_t outlen, char *err, size_t errlen);

/* Replaces every occurrence of secret (when at least 4 bytes long) in
 * text, in place, with "****"; also the secret's base64 (Basic auth) and
 * its part after the first ':' (a password), when those are 4+ bytes. */
void secret_mask(char *text, const char *secret);

#endif
