/*
 * cache.c - see cache.h.
 */
#include "cache.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "clock.h"
#include "sysmetrics.h"

/* After a failure, do not hammer a dead Redis: one reconnect attempt per
 * interval keeps a cycle from paying the connect timeout every time. */
#define CACHE_RETRY_INTERVAL_MS 2000
#define CACHE_SCAN_COUNT "500"

struct cache {
    char url[512];
    char prefix[64];
    int timeout_ms;
    redisContext *ctx;
    int64_t next_try_ms;
    char last_err[200];
    uint64_t hits, misses;
};

static void set_err(cache *c, char *err, size_t errlen, const char *what)
{
    snprintf(c->last_err, sizeof c->last_err, "Redis %s: %s", what,
             c->ctx && c->ctx->err ? c->ctx->errstr : "not connected");
    if (err)
        snprintf(err, errlen, "%s", c->last_err);
}

static void drop(cache *c)
{
    if (c->ctx)
        redisFree(c->ctx);
    c->ctx = NULL;
    c->next_try_ms = clock_mono_ms() + CACHE_RETRY_INTERVAL_MS;
}

static int connect_now(cache *c, char *err, size_t errlen)
{
    struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};
    if (strncmp(c->url, "unix:", 5) == 0) {
        c->ctx = redisConnectUnixWithTimeout(c->url + 5, tv);
    } else {
        char host[256];
        const char *colon = strrchr(c->url, ':');
        const char *u = c->url;
        if (strncmp(u, "redis://", 8) == 0)
            u += 8;
        if (!colon || colon < u || (size_t)(colon - u) >= sizeof host) {
            snprintf(c->last_err, sizeof c->last_err,
                     "Redis url \"%.100s\" is not unix:PATH or HOST:PORT", c->url);
            if (err)
                snprintf(err, errlen, "%s", c->last_err);
            c->next_try_ms = clock_mono_ms() + CACHE_RETRY_INTERVAL_MS;
            return -1;
        }
        memcpy(host, u, (size_t)(colon - u));
        host[colon - u] = '\0';
        c->ctx = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    }
    if (!c->ctx || c->ctx->err) {
        set_err(c, err, errlen, "connect");
        drop(c);
        return -1;
    }
    redisSetTimeout(c->ctx, tv);
    c->last_err[0] = '\0';
    return 0;
}

static int ensure(cache *c, char *err, size_t errlen)
{
    if (c->ctx)
        return 0;
    if (clock_mono_ms() < c->next_try_ms) {
        if (err)
            snprintf(err, errlen, "%s", c->last_err[0] ? c->last_err : "Redis: not connected");
        return -1;
    }
    return connect_now(c, err, errlen);
}

cache *cache_open(const char *url, int timeout_ms, const char *prefix)
{
    cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->url, sizeof c->url, "%s", url);
    snprintf(c->prefix, sizeof c->prefix, "%s", prefix && prefix[0] ? prefix : CACHE_DEFAULT_PREFIX);
    c->timeout_ms = timeout_ms;
    connect_now(c, NULL, 0);
    return c;
}

void cache_close(cache *c)
{
    if (!c)
        return;
    if (c->ctx)
        redisFree(c->ctx);
    free(c);
}

int cache_ok(cache *c, char *err, size_t errlen) { return ensure(c, err, errlen); }

/* Runs one command; a transport failure drops the connection. */
static redisReply *command(cache *c, char *err, size_t errlen, int argc, const char **argv,
                           const size_t *lens)
{
    if (ensure(c, err, errlen) != 0) {
        sysm_count_error();
        return NULL;
    }
    double t0 = clock_mono_us();
    redisReply *r = redisCommandArgv(c->ctx, argc, argv, lens);
    if (r)
        sysm_observe_ms(SYSM_REDIS_MS, (clock_mono_us() - t0) / 1000.0);
    if (!r || r->type == REDIS_REPLY_ERROR)
        sysm_count_error();
    if (!r) {
        set_err(c, err, errlen, argv[0]);
        drop(c);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(c->last_err, sizeof c->last_err, "Redis %s: %s", argv[0], r->str);
        if (err)
            snprintf(err, errlen, "%s", c->last_err);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

int cache_ping(cache *c, double *us, char *err, size_t errlen)
{
    const char *argv[] = {"PING"};
    double t0 = clock_mono_us();
    redisReply *r = command(c, err, errlen, 1, argv, NULL);
    if (!r)
        return -1;
    *us = clock_mono_us() - t0;
    freeReplyObject(r);
    return 0;
}

int cache_put_accounts(cache *c, const char *const *ids, const char *const *json, size_t n,
                       int ttl_s, char *err, size_t errlen)
{
    if (ensure(c, err, errlen) != 0) {
        sysm_count_error();
        return -1;
    }
    double t0 = clock_mono_us();
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    for (size_t i = 0; i < n; i++) {
        char key[128];
        snprintf(key, sizeof key, "%sacct:%s", c->prefix, ids[i]);
        const char *argv[] = {"SET", key, json[i], "EX", ttl};
        if (redisAppendCommandArgv(c->ctx, 5, argv, NULL) != REDIS_OK) {
            set_err(c, err, errlen, "SET");
            drop(c);
            sysm_count_error();
            return -1;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c->ctx, (void **)&r) != REDIS_OK || !r) {
            set_err(c, err, errlen, "SET");
            drop(c);
            sysm_count_error();
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR && rc == 0) {
            snprintf(err, errlen, "Redis SET: %s", r->str);
            rc = -1;
        }
        freeReplyObject(r);
    }
    if (n > 0) /* the pipelined batch: one round trip */
        sysm_observe_ms(SYSM_REDIS_MS, (clock_mono_us() - t0) / 1000.0);
    if (rc != 0)
        sysm_count_error();
    return rc;
}

int cache_get_account(cache *c, const char *id, char **out, char *err, size_t errlen)
{
    *out = NULL;
    char key[128];
    snprintf(key, sizeof key, "%sacct:%s", c->prefix, id);
    const char *argv[] = {"GET", key};
    redisReply *r = command(c, err, errlen, 2, argv, NULL);
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_STRING) {
        *out = strndup(r->str, r->len);
        if (!*out) {
            freeReplyObject(r);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        c->hits++;
    } else {
        c->misses++;
    }
    sysm_cache_lookup(r->type == REDIS_REPLY_STRING);
    freeReplyObject(r);
    return 0;
}

int cache_get_accounts(cache *c, const char *const *ids, size_t n, char **out, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (n == 0)
        return 0;
    const char **argv = calloc(n + 1, sizeof *argv);
    char (*keys)[128] = calloc(n, sizeof *keys);
    redisReply *r = NULL;
    int rc = -1;
    if (!argv || !keys) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "%sacct:%s", c->prefix, ids[i]);
        argv[i + 1] = keys[i];
    }
    r = command(c, err, errlen, (int)(n + 1), argv, NULL);
    if (!r)
        goto out;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        snprintf(err, errlen, "Redis MGET: unexpected reply");
        sysm_count_error();
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *v = r->element[i];
        if (v->type == REDIS_REPLY_STRING) {
            out[i] = strndup(v->str, v->len);
            if (!out[i]) {
                snprintf(err, errlen, "out of memory");
                for (size_t j = 0; j < i; j++) {
                    free(out[j]);
                    out[j] = NULL;
                }
                goto out;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (out[i])
            c->hits++;
        else
            c->misses++;
    }
    rc = 0;
out:
    if (r)
        freeReplyObject(r);
    free(keys);
    free(argv);
    return rc;
}

int cache_ttl_account(cache *c, const char *id, long long *ttl, char *err, size_t errlen)
{
    char key[128];
    snprintf(key, sizeof key, "%sacct:%s", c->prefix, id);
    const char *argv[] = {"TTL", key};
    redisReply *r = command(c, err, errlen, 2, argv, NULL);
    if (!r)
        return -1;
    *ttl = r->type == REDIS_REPLY_INTEGER ? r->integer : -2;
    freeReplyObject(r);
    return 0;
}

int cache_publish_generation(cache *c, uint64_t generation, char *err, size_t errlen)
{
    char g[32], channel[96];
    snprintf(g, sizeof g, "%llu", (unsigned long long)generation);
    snprintf(channel, sizeof channel, "%supdates", c->prefix);
    const char *argv[] = {"PUBLISH", channel, g};
    redisReply *r = command(c, err, errlen, 3, argv, NULL);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int cache_invalidate(cache *c, const char *pattern, size_t *n, char *err, size_t errlen)
{
    *n = 0;
    char cursor[32] = "0";
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", CACHE_SCAN_COUNT};
        redisReply *r = command(c, err, errlen, 6, argv, NULL);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            snprintf(err, errlen, "Redis SCAN: unexpected reply");
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        redisReply *keys = r->element[1];
        if (keys->elements > 0) {
            size_t argc = keys->elements + 1;
            const char **argv2 = calloc(argc, sizeof *argv2);
            size_t *lens = calloc(argc, sizeof *lens);
            if (!argv2 || !lens) {
                free(argv2);
                free(lens);
                freeReplyObject(r);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            argv2[0] = "UNLINK";
            lens[0] = 6;
            for (size_t i = 0; i < keys->elements; i++) {
                argv2[i + 1] = keys->element[i]->str;
                lens[i + 1] = keys->element[i]->len;
            }
            redisReply *u = command(c, err, errlen, (int)argc, argv2, lens);
            free(argv2);
            free(lens);
            if (!u) {
                freeReplyObject(r);
                return -1;
            }
            *n += (size_t)u->integer;
            freeReplyObject(u);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

void cache_hit_stats(const cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c->hits;
    *misses = c->misses;
}
