/*
 * test_secret.c - credentials at rest (src/secret.c): the key from the
 * environment or a file (and every way a key file can be wrong, without
 * its content ever quoted), key generation, sealing and opening against a
 * fresh database (wrong key, damaged rows, rows moved to another account
 * or provider), and masking.
 *
 * Each Criterion test runs in its own process, so setenv here touches no
 * other test.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "config.h"
#include "harness/th.h"
#include "secret.h"

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define KEY_ZERO "0000000000000000000000000000000000000000000000000000000000000000"
/* SHA-256 of 32 zero bytes starts 66687aadf862bd77 (sha256sum agrees). */
#define KEY_ZERO_ID "66687aadf862bd77"
#define TV_SECRET "demo:demo-pass"

static void init(void)
{
    unsetenv("TRADEOPS_SYNC_KEY");
}

TestSuite(secret, .init = init, .timeout = 60);

/* A private directory for key files. */
static void tmpdir(char *out, size_t n)
{
    snprintf(out, n, "/tmp/tradeops-secret-XXXXXX");
    cr_assert_not_null(mkdtemp(out));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    cr_assert(fd >= 0, "create %s", path);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cr_assert_eq(chmod(path, mode), 0);
}

static void key_from(const char *hex, secret_key *k)
{
    setenv("TRADEOPS_SYNC_KEY", hex, 1);
    config cfg;
    config_defaults(&cfg);
    char err[300];
    cr_assert_eq(secret_key_load(&cfg, k, err, sizeof err), 0, "%s", err);
}

/* ---- keys ---- */

Test(secret, key_from_environment_and_its_id)
{
    secret_key k;
    key_from(KEY_ZERO, &k);
    cr_expect_str_eq(k.id, KEY_ZERO_ID);
    secret_key k2;
    key_from("  " KEY_A "\n", &k2);
    cr_expect_eq(k2.k[0], 0x00);
    cr_expect_eq(k2.k[31], 0x1f);
    cr_expect_eq(strlen(k2.id), 16);
    cr_expect_str_neq(k2.id, k.id);
}

Test(secret, environment_wins_over_the_key_file)
{
    char dir[64], path[128], err[300];
    tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/key", dir);
    write_file(path, KEY_A "\n", 0600);
    config cfg;
    config_defaults(&cfg);
    snprintf(cfg.sync_key_file, sizeof cfg.sync_key_file, "%s", path);
    secret_key from_file, from_env;
    cr_assert_eq(secret_key_load(&cfg, &from_file, err, sizeof err), 0, "%s", err);
    setenv("TRADEOPS_SYNC_KEY", KEY_B, 1);
    cr_assert_eq(secret_key_load(&cfg, &from_env, err, sizeof err), 0, "%s", err);
    cr_expect_str_neq(from_file.id, from_env.id, "the environment's key is used");
    cr_expect_eq(from_env.k[0], 0xff);
    unlink(path);
    rmdir(dir);
}

Test(secret, bad_keys_are_refused_without_quoting_them)
{
    config cfg;
    config_defaults(&cfg);
    secret_key k;
    char err[300];
    cr_expect_eq(secret_key_load(&cfg, &k, err, sizeof err), -1, "no key configured");
    cr_expect(strstr(err, "key_file") && strstr(err, "keygen"), "%s", err);

    setenv("TRADEOPS_SYNC_KEY", "not-a-key-SECRETWORD", 1);
    cr_expect_eq(secret_key_load(&cfg, &k, err, sizeof err), -1);
    cr_expect(strstr(err, "64 hex digits") && !strstr(err, "SECRETWORD"), "%s", err);
    setenv("TRADEOPS_SYNC_KEY", KEY_A "00", 1);
    cr_expect_eq(secret_key_load(&cfg, &k, err, sizeof err), -1, "66 digits is not a key");
    unsetenv("TRADEOPS_SYNC_KEY");

    char dir[64], path[128];
    tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/key", dir);
    snprintf(cfg.sync_key_file, sizeof cfg.sync_key_file, "%s", path);
    cr_expect_eq(secret_key_load(&cfg, &k, err, sizeof err), -1, "missing file");
    cr_expect(strstr(err, path) && strstr(err, "No such file"), "%s", err);

    write_file(path, KEY_A "\n", 0640);
    cr_expect_eq(secret_key_load(&cfg, &k, err, sizeof err), -1, "group-readable");
    char want[200];
    snprintf(want, sizeof want, "chmod 600 %s", path);
    cr_expect(strstr(err, want), "%s", err);
    cr_expect(!strstr(err, "0001020304"), "the key is never quoted: %s", err);
    write_file(path, KEY_A "\n", 0604);
    cr_expect_eq(secret_key_load(&cfg, &k, err, sizeof err), -1, "readable by others");

    /* 64 characters, but not hex: the content stays out of the message. */
    write_file(path, "SECRETWORDzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n", 0600);
    cr_expect_eq(secret_key_load(&cfg, &k, err, sizeof err), -1, "not hex");
    cr_expect(strstr(err, "64 hex digits") && !strstr(err, "SECRETWORD"), "%s", err);
    write_file(path, "", 0600);
    cr_expect_eq(secret_key_load(&cfg, &k, err, sizeof err), -1, "empty file");
    write_file(path, "\t " KEY_B " \n\n", 0600);
    cr_expect_eq(secret_key_load(&cfg, &k, err, sizeof err), 0, "white space around: %s", err);
    cr_expect_eq(k.k[1], 0xee);
    unlink(path);
    rmdir(dir);
}

Test(secret, keygen_writes_a_private_key_once)
{
    char dir[64], path[128], err[300];
    tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/new.key", dir);
    cr_assert_eq(secret_key_generate(path, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_expect_eq(st.st_size, 65, "64 hex digits and a newline");
    secret_key k1, k2;
    cr_assert_eq(secret_key_load_file(path, &k1, err, sizeof err), 0, "%s", err);
    cr_expect_eq(secret_key_generate(path, err, sizeof err), -1, "never overwrites");
    cr_expect(strstr(err, "already exists"), "%s", err);
    cr_assert_eq(secret_key_load_file(path, &k2, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(k1.id, k2.id, "the first key is still there");
    char other[160];
    snprintf(other, sizeof other, "%s/second.key", dir);
    cr_assert_eq(secret_key_generate(other, err, sizeof err), 0, "%s", err);
    cr_assert_eq(secret_key_load_file(other, &k2, err, sizeof err), 0, "%s", err);
    cr_expect_str_neq(k1.id, k2.id, "two keys are random, not equal");
    secret_key_wipe(&k2);
    cr_expect_eq(k2.k[0] | k2.k[31], 0);
    unlink(path);
    unlink(other);
    rmdir(dir);
}

/* ---- masking ---- */

Test(secret, mask_secret_base64_and_password)
{
    char t[300];
    snprintf(t, sizeof t,
             "sent demo:demo-pass as ZGVtbzpkZW1vLXBhc3M= (pw demo-pass) demo:demo-pass");
    secret_mask(t, TV_SECRET);
    cr_expect_str_eq(t, "sent **** as **** (pw ****) ****");
    snprintf(t, sizeof t, "abc x:y xy");
    secret_mask(t, "x:y");
    cr_expect_str_eq(t, "abc x:y xy", "a secret under 4 bytes is not masked");
    snprintf(t, sizeof t, "k=a:bc bc");
    secret_mask(t, "a:bc");
    cr_expect_str_eq(t, "k=**** bc", "a password under 4 bytes is not masked alone");
    snprintf(t, sizeof t, "nothing here");
    secret_mask(t, "long-webhook-key");
    cr_expect_str_eq(t, "nothing here");
}

/* ---- sealing, against a fresh database ---- */

static PGconn *db(char **ci)
{
    *ci = th_db_fresh();
    cr_assert_not_null(*ci, "no test database (is tests/run.sh running?)");
    PGconn *c = PQconnectdb(*ci);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

static void exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
              "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static char *text_of(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    char *s = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return s;
}

Test(secret, seal_open_round_trip_and_fallback)
{
    char *ci;
    PGconn *c = db(&ci);
    secret_key k;
    key_from(KEY_A, &k);
    char err[400], out[SECRET_MAX + 1];
    cr_expect_eq(secret_load(c, &k, SYNC_TRADERVUE, "demo-1", out, sizeof out, err, sizeof err), 0,
                 "none stored yet");
    cr_assert_eq(secret_store(c, &k, SYNC_TRADERVUE, "", TV_SECRET, "tester", err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(secret_load(c, &k, SYNC_TRADERVUE, "demo-1", out, sizeof out, err, sizeof err), 1,
                 "%s", err);
    cr_expect_str_eq(out, TV_SECRET, "the provider's default serves every account");
    cr_assert_eq(
        secret_store(c, &k, SYNC_TRADERVUE, "demo-1", "own:password-1", "tester", err, sizeof err),
        0, "%s", err);
    cr_assert_eq(secret_load(c, &k, SYNC_TRADERVUE, "demo-1", out, sizeof out, err, sizeof err), 1);
    cr_expect_str_eq(out, "own:password-1", "an account's own secret wins");
    cr_assert_eq(secret_load(c, &k, SYNC_TRADERVUE, "demo-2", out, sizeof out, err, sizeof err), 1);
    cr_expect_str_eq(out, TV_SECRET);
    cr_expect_eq(secret_load(c, &k, SYNC_WEBHOOK, "demo-1", out, sizeof out, err, sizeof err), 0,
                 "another provider has none");
    cr_assert_eq(secret_store(c, &k, SYNC_TRADERVUE, "", "new:pass-2", "tester", err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(secret_load(c, &k, SYNC_TRADERVUE, "", out, sizeof out, err, sizeof err), 1);
    cr_expect_str_eq(out, "new:pass-2", "storing again replaces");
    char *n = text_of(c, "select count(*) from sync_credentials");
    cr_expect_str_eq(n, "2");
    free(n);
    /* The table holds no trace of the secret in clear, in text or in hex. */
    char *dump = text_of(c, "select string_agg(row_to_json(s)::text, ' ') from sync_credentials s");
    cr_expect(!strstr(dump, "pass-2") && !strstr(dump, "password-1"), "%s", dump);
    cr_expect(!strstr(dump, "706173732d32"), "hex of pass-2: %s", dump);
    cr_expect(strstr(dump, k.id), "the key id is stored: %s", dump);
    free(dump);
    char *by = text_of(c, "select updated_by from sync_credentials where account_id = ''");
    cr_expect_str_eq(by, "tester");
    free(by);
    /* Refusals: nothing stored. */
    char big[SECRET_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_expect_eq(secret_store(c, &k, SYNC_WEBHOOK, "", big, "t", err, sizeof err), -1, "too long");
    cr_expect_eq(secret_store(c, &k, SYNC_WEBHOOK, "", "", "t", err, sizeof err), -1, "empty");
    cr_expect_eq(secret_store(c, &k, SYNC_WEBHOOK, "bad account!", "abcd", "t", err, sizeof err),
                 -1, "bad account id");
    cr_expect_eq(secret_store(c, &k, SYNC_CSV, "", "abcd", "t", err, sizeof err), -1,
                 "csv has no credentials");
    n = text_of(c, "select count(*) from sync_credentials");
    cr_expect_str_eq(n, "2");
    free(n);
    PQfinish(c);
    th_db_drop(ci);
}

Test(secret, wrong_key_names_both_ids)
{
    char *ci;
    PGconn *c = db(&ci);
    secret_key a, b;
    key_from(KEY_A, &a);
    key_from(KEY_B, &b);
    char err[400], out[SECRET_MAX + 1];
    cr_assert_eq(secret_store(c, &a, SYNC_WEBHOOK, "demo-1", "hook-secret", "t", err, sizeof err),
                 0, "%s", err);
    cr_expect_eq(secret_load(c, &b, SYNC_WEBHOOK, "demo-1", out, sizeof out, err, sizeof err), -1);
    cr_expect(strstr(err, "wrong key") && strstr(err, a.id) && strstr(err, b.id), "%s", err);
    cr_expect(!strstr(err, "hook-secret"), "%s", err);
    cr_expect_str_eq(out, "", "nothing comes out");
    PQfinish(c);
    th_db_drop(ci);
}

Test(secret, damaged_or_moved_rows_do_not_open)
{
    char *ci;
    PGconn *c = db(&ci);
    secret_key k;
    key_from(KEY_A, &k);
    char err[400], out[SECRET_MAX + 1];
    cr_assert_eq(secret_store(c, &k, SYNC_TRADERVUE, "demo-1", TV_SECRET, "t", err, sizeof err), 0);
    cr_assert_eq(secret_store(c, &k, SYNC_WEBHOOK, "demo-2", "hook-secret", "t", err, sizeof err),
                 0);
    /* One flipped bit in the ciphertext. */
    exec(c, "update sync_credentials set ciphertext = set_byte(ciphertext, 0,"
            " get_byte(ciphertext, 0) # 1) where provider = 'tradervue'");
    cr_expect_eq(secret_load(c, &k, SYNC_TRADERVUE, "demo-1", out, sizeof out, err, sizeof err),
                 -1);
    cr_expect(strstr(err, "damaged") && !strstr(err, "wrong key"), "%s", err);
    cr_expect_str_eq(out, "");
    /* A flipped bit in the tag. */
    cr_assert_eq(secret_store(c, &k, SYNC_TRADERVUE, "demo-1", TV_SECRET, "t", err, sizeof err), 0);
    exec(c, "update sync_credentials set tag = set_byte(tag, 15, get_byte(tag, 15) # 128)"
            " where provider = 'tradervue'");
    cr_expect_eq(secret_load(c, &k, SYNC_TRADERVUE, "demo-1", out, sizeof out, err, sizeof err),
                 -1);
    cr_expect(strstr(err, "damaged"), "%s", err);
    /* Moved to another account: sealed for demo-2, it does not open as demo-3's. */
    exec(c, "update sync_credentials set account_id = 'demo-3' where provider = 'webhook'");
    cr_expect_eq(secret_load(c, &k, SYNC_WEBHOOK, "demo-3", out, sizeof out, err, sizeof err), -1);
    cr_expect(strstr(err, "damaged") && strstr(err, "webhook/demo-3"), "%s", err);
    /* Moved to the provider default: no better. */
    exec(c, "update sync_credentials set account_id = '' where provider = 'webhook'");
    cr_expect_eq(secret_load(c, &k, SYNC_WEBHOOK, "demo-2", out, sizeof out, err, sizeof err), -1);
    /* Moved to another provider. */
    exec(c, "delete from sync_credentials");
    cr_assert_eq(secret_store(c, &k, SYNC_WEBHOOK, "", "hook-secret", "t", err, sizeof err), 0);
    exec(c, "update sync_credentials set provider = 'tradervue'");
    cr_expect_eq(secret_load(c, &k, SYNC_TRADERVUE, "", out, sizeof out, err, sizeof err), -1);
    cr_expect(strstr(err, "damaged"), "%s", err);
    /* Back where it was sealed, it opens again: the checks were real. */
    exec(c, "update sync_credentials set provider = 'webhook'");
    cr_expect_eq(secret_load(c, &k, SYNC_WEBHOOK, "", out, sizeof out, err, sizeof err), 1, "%s",
                 err);
    cr_expect_str_eq(out, "hook-secret");
    PQfinish(c);
    th_db_drop(ci);
}
