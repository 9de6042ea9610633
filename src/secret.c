/*
 * secret.c - see secret.h: journal credentials sealed with AES-256-GCM
 * (OpenSSL EVP) under a key kept outside the database, and masking.
 *
 * Every buffer that held a key or a secret in clear is wiped with
 * OPENSSL_cleanse before it is released. Errors never quote a key file's
 * content or a secret.
 *
 * Threads: any; a loaded key is read-only and nothing here keeps state.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pg.h"
#include "sanitize.h"

#define KEY_ENV "TRADEOPS_SYNC_KEY"
#define KEY_BYTES 32
#define KEY_HEX (2 * KEY_BYTES)
#define KEY_ID_HEX 16
#define NONCE_BYTES 12
#define TAG_BYTES 16
/* A key file is 64 hex digits and white space; anything much longer is not one. */
#define KEY_FILE_MAX 4096
#define AAD_PREFIX "tradeops-credential:"
#define AAD_MAX 128
#define ACCOUNT_MAX 64
#define MASK "****"
#define MASK_MIN 4
#define B64_MAX (4 * ((SECRET_MAX + 2) / 3) + 1)

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses 64 hex digits with optional surrounding white space into key->k
 * and computes key->id. 0 or -1 (the caller says where from). */
static int parse_key(const char *text, size_t len, secret_key *key)
{
    size_t i = 0, end = len;
    while (i < end && is_space(text[i]))
        i++;
    while (end > i && is_space(text[end - 1]))
        end--;
    if (end - i != KEY_HEX)
        return -1;
    for (size_t j = 0; j < KEY_BYTES; j++) {
        int hi = hexval((unsigned char)text[i + 2 * j]);
        int lo = hexval((unsigned char)text[i + 2 * j + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(key->k, sizeof key->k);
            return -1;
        }
        key->k[j] = (unsigned char)(hi << 4 | lo);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(key->k, KEY_BYTES, md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen < KEY_ID_HEX / 2) {
        OPENSSL_cleanse(key->k, sizeof key->k);
        return -1;
    }
    to_hex(md, KEY_ID_HEX / 2, key->id);
    return 0;
}

int secret_key_load_file(const char *path, secret_key *key, char *err, size_t errlen)
{
    char shown[300];
    sanitize_text(path, shown, sizeof shown, true);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read the credentials key file %s: %s", shown,
                 strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "the credentials key file %s is not a regular file", shown);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        snprintf(err, errlen,
                 "the credentials key file %s is open to group or others (mode %04o): "
                 "run `chmod 600 %s`",
                 shown, (unsigned)(st.st_mode & 07777), shown);
        return -1;
    }
    char buf[KEY_FILE_MAX];
    size_t len = 0;
    ssize_t got;
    while (len < sizeof buf && (got = read(fd, buf + len, sizeof buf - len)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            OPENSSL_cleanse(buf, sizeof buf);
            snprintf(err, errlen, "cannot read the credentials key file %s: %s", shown,
                     strerror(e));
            return -1;
        }
        len += (size_t)got;
    }
    close(fd);
    int rc = len < sizeof buf ? parse_key(buf, len, key) : -1;
    OPENSSL_cleanse(buf, sizeof buf);
    if (rc != 0)
        snprintf(err, errlen,
                 "the credentials key file %s does not hold a key: it must be exactly 64 hex "
                 "digits (`tradeops credentials keygen FILE` makes one)",
                 shown);
    return rc;
}

int secret_key_load(const config *cfg, secret_key *key, char *err, size_t errlen)
{
    memset(key, 0, sizeof *key);
    const char *env = getenv(KEY_ENV);
    if (env && *env) {
        if (parse_key(env, strlen(env), key) != 0) {
            snprintf(err, errlen, KEY_ENV " does not hold a key: it must be exactly 64 hex digits");
            return -1;
        }
        return 0;
    }
    if (!cfg || !cfg->sync_key_file[0]) {
        snprintf(err, errlen,
                 "no credentials key: set [sync] key_file (`tradeops credentials keygen FILE` "
                 "makes one) or " KEY_ENV);
        return -1;
    }
    return secret_key_load_file(cfg->sync_key_file, key, err, errlen);
}

int secret_key_generate(const char *path, char *err, size_t errlen)
{
    char shown[300];
    sanitize_text(path, shown, sizeof shown, true);
    unsigned char k[KEY_BYTES];
    char hex[KEY_HEX + 2];
    if (RAND_bytes(k, sizeof k) != 1) {
        snprintf(err, errlen, "no random bytes for a key (OpenSSL's RAND_bytes failed)");
        return -1;
    }
    to_hex(k, sizeof k, hex);
    OPENSSL_cleanse(k, sizeof k);
    hex[KEY_HEX] = '\n';
    hex[KEY_HEX + 1] = '\0';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        OPENSSL_cleanse(hex, sizeof hex);
        if (e == EEXIST)
            snprintf(err, errlen, "%s already exists; a key file is never overwritten", shown);
        else
            snprintf(err, errlen, "cannot create %s: %s", shown, strerror(e));
        return -1;
    }
    int rc = 0, e = 0;
    if (fchmod(fd, 0600) != 0)
        rc = -1, e = errno;
    size_t off = 0;
    while (rc == 0 && off < KEY_HEX + 1) {
        ssize_t w = write(fd, hex + off, KEY_HEX + 1 - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = -1, e = w < 0 ? errno : EIO;
            break;
        }
        off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -1, e = errno;
    if (close(fd) != 0 && rc == 0)
        rc = -1, e = errno;
    OPENSSL_cleanse(hex, sizeof hex);
    if (rc != 0) {
        unlink(path);
        snprintf(err, errlen, "cannot write %s: %s", shown, strerror(e));
    }
    return rc;
}

void secret_key_wipe(secret_key *key)
{
    if (key)
        OPENSSL_cleanse(key, sizeof *key);
}

/* ---- sealing ---- */

static bool account_ok(const char *a)
{
    size_t n = strlen(a);
    if (n == 0)
        return true;
    if (n > ACCOUNT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-')))
            return false;
    }
    return true;
}

static int make_aad(enum sync_provider p, const char *account, char *aad, size_t n)
{
    int w = snprintf(aad, n, AAD_PREFIX "%s:%s", sync_provider_name(p), account);
    return w > 0 && (size_t)w < n ? w : -1;
}

/* "tradervue" or "tradervue/demo-1": what a person is told. */
static void cred_name(enum sync_provider p, const char *account, char *out, size_t n)
{
    char acc[ACCOUNT_MAX * 2];
    sanitize_text(account, acc, sizeof acc, true);
    snprintf(out, n, "%s%s%s", sync_provider_name(p), acc[0] ? "/" : "", acc);
}

static bool provider_has_secret(enum sync_provider p)
{
    return p == SYNC_TRADERVUE || p == SYNC_WEBHOOK;
}

int secret_store(PGconn *c, const secret_key *key, enum sync_provider p, const char *account,
                 const char *secret, const char *by, char *err, size_t errlen)
{
    if (!account)
        account = "";
    if ((int)p < 0 || p >= SYNC_PROVIDER_COUNT || !provider_has_secret(p)) {
        snprintf(err, errlen, "only tradervue and webhook have credentials");
        return -1;
    }
    if (!account_ok(account)) {
        snprintf(err, errlen, "not an account id (letters, digits, . _ : -; at most 64)");
        return -1;
    }
    size_t slen = secret ? strlen(secret) : 0;
    if (slen == 0 || slen > SECRET_MAX) {
        snprintf(err, errlen, "a secret is 1 to %d bytes", SECRET_MAX);
        return -1;
    }
    char aad[AAD_MAX];
    int aadlen = make_aad(p, account, aad, sizeof aad);
    unsigned char nonce[NONCE_BYTES], tag[TAG_BYTES], ct[SECRET_MAX];
    if (aadlen < 0 || RAND_bytes(nonce, sizeof nonce) != 1) {
        snprintf(err, errlen, "cannot seal the secret (no random nonce)");
        return -1;
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) == 1 &&
              EVP_EncryptInit_ex(ctx, NULL, NULL, key->k, nonce) == 1 &&
              EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, aadlen) == 1 &&
              EVP_EncryptUpdate(ctx, ct, &len, (const unsigned char *)secret, (int)slen) == 1 &&
              EVP_EncryptFinal_ex(ctx, ct + len, &fin) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        snprintf(err, errlen, "cannot seal the secret (OpenSSL AES-256-GCM failed)");
        return -1;
    }
    const char *vals[7] = {sync_provider_name(p), account,          key->id,
                           (const char *)nonce,   (const char *)ct, (const char *)tag,
                           by ? by : ""};
    int lens[7] = {0, 0, 0, NONCE_BYTES, len + fin, TAG_BYTES, 0};
    int fmts[7] = {0, 0, 0, 1, 1, 1, 0};
    PGresult *r = pg_exec_params(
        c,
        "insert into sync_credentials (provider, account_id, key_id, nonce, ciphertext, tag,"
        " updated_by) values ($1, $2, $3, $4::bytea, $5::bytea, $6::bytea, $7)"
        " on conflict (provider, account_id) do update set key_id = excluded.key_id,"
        " nonce = excluded.nonce, ciphertext = excluded.ciphertext, tag = excluded.tag,"
        " updated_at = now(), updated_by = excluded.updated_by",
        7, NULL, vals, lens, fmts, 0);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg_error_copy(err, errlen, PQresultErrorMessage(r));
        rc = -1;
    }
    PQclear(r);
    return rc;
}

int secret_load(PGconn *c, const secret_key *key, enum sync_provider p, const char *account,
                char *out, size_t outlen, char *err, size_t errlen)
{
    if (outlen)
        out[0] = '\0';
    if (!account)
        account = "";
    if ((int)p < 0 || p >= SYNC_PROVIDER_COUNT) {
        snprintf(err, errlen, "unknown provider");
        return -1;
    }
    if (!provider_has_secret(p))
        return 0;
    const char *vals[2] = {sync_provider_name(p), account};
    /* The account's own row first ('' sorts first, so descending). Binary
     * results: bytea arrives raw, text columns as their bytes. */
    PGresult *r = pg_exec_params(c,
                                 "select account_id, key_id, nonce, ciphertext, tag"
                                 " from sync_credentials where provider = $1"
                                 " and account_id in ($2, '') order by account_id desc limit 1",
                                 2, NULL, vals, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        /* With the connection gone there is no result to ask. */
        const char *m = r ? PQresultErrorMessage(r) : "";
        pg_error_copy(err, errlen, m && *m ? m : PQerrorMessage(c));
        PQclear(r);
        return -2;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    char row_account[ACCOUNT_MAX + 1], name[160], row_key[KEY_ID_HEX + 1];
    int alen = PQgetlength(r, 0, 0), klen = PQgetlength(r, 0, 1);
    int nlen = PQgetlength(r, 0, 2), clen = PQgetlength(r, 0, 3), tlen = PQgetlength(r, 0, 4);
    if (alen > ACCOUNT_MAX)
        alen = ACCOUNT_MAX;
    memcpy(row_account, PQgetvalue(r, 0, 0), (size_t)alen);
    row_account[alen] = '\0';
    cred_name(p, row_account, name, sizeof name);
    if (klen != KEY_ID_HEX || nlen != NONCE_BYTES || tlen != TAG_BYTES || clen < 1 ||
        clen > SECRET_MAX) {
        PQclear(r);
        snprintf(err, errlen,
                 "the credentials for %s are damaged (malformed row); store them again with "
                 "`tradeops credentials set`",
                 name);
        return -1;
    }
    memcpy(row_key, PQgetvalue(r, 0, 1), KEY_ID_HEX);
    row_key[KEY_ID_HEX] = '\0';
    if (strcmp(row_key, key->id) != 0) {
        PQclear(r);
        char shown[KEY_ID_HEX + 1];
        sanitize_text(row_key, shown, sizeof shown, false);
        snprintf(err, errlen,
                 "wrong key: the credentials for %s were sealed under key %s, the configured "
                 "key is %s; configure that key or store them again",
                 name, shown, key->id);
        return -1;
    }
    if ((size_t)clen >= outlen) {
        PQclear(r);
        snprintf(err, errlen, "the credentials for %s are longer than %zu bytes", name,
                 outlen ? outlen - 1 : 0);
        return -1;
    }
    char aad[AAD_MAX];
    int aadlen = make_aad(p, row_account, aad, sizeof aad);
    unsigned char pt[SECRET_MAX + 16], tag[TAG_BYTES];
    memcpy(tag, PQgetvalue(r, 0, 4), TAG_BYTES);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    bool ok =
        aadlen > 0 && ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) == 1 &&
        EVP_DecryptInit_ex(ctx, NULL, NULL, key->k, (const unsigned char *)PQgetvalue(r, 0, 2)) ==
            1 &&
        EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, aadlen) == 1 &&
        EVP_DecryptUpdate(ctx, pt, &len, (const unsigned char *)PQgetvalue(r, 0, 3), clen) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) == 1 &&
        EVP_DecryptFinal_ex(ctx, pt + len, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    PQclear(r);
    size_t n = (size_t)len + (size_t)fin;
    if (ok && memchr(pt, '\0', n))
        ok = false;
    if (!ok) {
        OPENSSL_cleanse(pt, sizeof pt);
        snprintf(err, errlen,
                 "the credentials for %s are damaged: they do not open under key %s (altered, "
                 "or moved from another provider or account); store them again",
                 name, key->id);
        return -1;
    }
    memcpy(out, pt, n);
    out[n] = '\0';
    OPENSSL_cleanse(pt, sizeof pt);
    return 1;
}

/* ---- masking ---- */

/* Replaces each occurrence of needle (nlen >= MASK_MIN) with MASK, in place. */
static void mask_one(char *text, const char *needle, size_t nlen)
{
    if (nlen < MASK_MIN)
        return;
    size_t tlen = strlen(text);
    char *p = text;
    while ((p = memmem(p, tlen - (size_t)(p - text), needle, nlen)) != NULL) {
        memcpy(p, MASK, sizeof MASK - 1);
        size_t tail = tlen - (size_t)(p - text) - nlen;
        memmove(p + sizeof MASK - 1, p + nlen, tail + 1);
        tlen -= nlen - (sizeof MASK - 1);
        p += sizeof MASK - 1;
    }
}

void secret_mask(char *text, const char *secret)
{
    if (!text || !secret)
        return;
    size_t slen = strlen(secret);
    if (slen < MASK_MIN || slen > SECRET_MAX)
        return;
    unsigned char b64[B64_MAX];
    int blen = EVP_EncodeBlock(b64, (const unsigned char *)secret, (int)slen);
    mask_one(text, secret, slen);
    if (blen > 0)
        mask_one(text, (const char *)b64, (size_t)blen);
    OPENSSL_cleanse(b64, sizeof b64);
    const char *colon = strchr(secret, ':');
    if (colon)
        mask_one(text, colon + 1, strlen(colon + 1));
}
