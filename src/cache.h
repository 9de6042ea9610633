/*
 * cache.h - Redis as cache and live-update bus.
 *
 * Per-account snapshots live under "{prefix}acct:{id}" with a short TTL so
 * other console instances can read them; a generation number is published on
 * "{prefix}updates" after each cycle. The prefix ([redis] key_prefix,
 * "tradeops:" by default) keeps deployments that share a Redis apart. Redis is only a cache: every caller
 * must carry on when it is down (the functions return -1 with a message).
 * Invalidation uses SCAN + UNLINK, never KEYS.
 *
 * Threads: a cache belongs to the thread that opened it (hiredis contexts
 * are not shared). It reconnects by itself on the next call after a failure.
 */
#ifndef TRADEOPS_CACHE_H
#define TRADEOPS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_DEFAULT_PREFIX "tradeops:"

typedef struct cache cache;

/* Never NULL except out of memory; check cache_ok() for the connection.
 * prefix NULL or "" is CACHE_DEFAULT_PREFIX. */
cache *cache_open(const char *url, int timeout_ms, const char *prefix);
void cache_close(cache *c);
int cache_ok(cache *c, char *err, size_t errlen);

/* Round trip of PING in microseconds, or -1 with err. */
int cache_ping(cache *c, double *us, char *err, size_t errlen);

/* Stores each (key suffix, value) with the TTL, pipelined. */
int cache_put_accounts(cache *c, const char *const *ids, const char *const *json, size_t n,
                       int ttl_s, char *err, size_t errlen);
/* Reads one; *out is malloc'ed, NULL on a miss (return 0 either way). */
int cache_get_account(cache *c, const char *id, char **out, char *err, size_t errlen);
/* Reads n in one round trip (MGET): out[i] malloc'ed, NULL when absent.
 * On failure (-1) every out[i] is NULL. The system metrics' hit rate is
 * the caller's to count (sysm_cache_lookup), once it knows whether an
 * entry was usable; cache_hit_stats counts what Redis returned. */
int cache_get_accounts(cache *c, const char *const *ids, size_t n, char **out, char *err,
                       size_t errlen);
/* Remaining TTL of an account key in seconds (-2 missing, -1 no TTL). */
int cache_ttl_account(cache *c, const char *id, long long *ttl, char *err, size_t errlen);
int cache_publish_generation(cache *c, uint64_t generation, char *err, size_t errlen);
/* Deletes keys matching the glob pattern with SCAN + UNLINK; *n counts them. */
int cache_invalidate(cache *c, const char *pattern, size_t *n, char *err, size_t errlen);

/* Hit/miss counters of cache_get_account since open. */
void cache_hit_stats(const cache *c, uint64_t *hits, uint64_t *misses);

#endif
