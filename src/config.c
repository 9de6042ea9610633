/*
 * config.c - see config.h.
 *
 * One table describes every key: its section and name, its type and limits,
 * and its help text. The INI parser (libinih), the environment overrides
 * (TRADEOPS_SECTION_KEY, plus the short aliases in env_aliases) and --set all
 * go through config_set, so validation is written once.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* KEY_NAME: a string of letters, digits and ":_.-" (no glob characters,
 * no spaces), at least one. */
enum key_type { KEY_STR, KEY_INT, KEY_BOOL, KEY_ENUM, KEY_NAME };

struct key {
    const char *section, *name;
    enum key_type type;
    size_t offset, size;    /* size: buffer size for strings */
    long min, max;          /* KEY_INT */
    const char *choices;    /* KEY_ENUM: "a|b|c" */
    const char *def;
    const char *help;
};

#define S(f) offsetof(config, f), sizeof(((config *)0)->f)
static const struct key KEYS[] = {
    {"database", "url", KEY_STR, S(pg_url), 0, 0, NULL, "dbname=tradeops",
     "libpq connection string or URI of the PostgreSQL system of record"},
    {"redis", "url", KEY_STR, S(redis_url), 0, 0, NULL, "unix:/run/redis/redis.sock",
     "Redis address: unix:/path/to/socket or HOST:PORT"},
    {"redis", "timeout_ms", KEY_INT, S(redis_timeout_ms), 10, 60000, NULL, "500",
     "connect and command timeout for Redis"},
    {"redis", "cache_ttl_s", KEY_INT, S(cache_ttl_s), 1, 3600, NULL, "5",
     "lifetime of per-account snapshots in the cache"},
    {"redis", "key_prefix", KEY_NAME, S(redis_prefix), 0, 0, NULL, "tradeops:",
     "prefix of every cache key and channel, so deployments sharing a Redis stay apart"},
    {"broker", "url", KEY_STR, S(broker_url), 0, 0, NULL,
     "https://mt-client-api-v1.agiliumtrade.agiliumtrade.ai",
     "base URL of the MetaApi-shaped broker bridge"},
    {"broker", "token_file", KEY_STR, S(broker_token_file), 0, 0, NULL, "",
     "file whose first line is the bridge's auth-token (keep it mode 600)"},
    {"broker", "poll_interval_ms", KEY_INT, S(poll_interval_ms), 100, 600000, NULL, "1000",
     "time between two poll cycles"},
    {"broker", "timeout_ms", KEY_INT, S(broker_timeout_ms), 100, 120000, NULL, "5000",
     "limit for one request to the bridge, connection included"},
    {"broker", "connect_timeout_ms", KEY_INT, S(broker_connect_timeout_ms), 50, 60000, NULL,
     "2000", "limit for connecting to the bridge"},
    {"broker", "stale_after_s", KEY_INT, S(stale_after_s), 1, 86400, NULL, "10",
     "account data older than this is stale: dimmed, and never acted on"},
    {"broker", "rate_limit_backoff_s", KEY_INT, S(rate_limit_backoff_s), 1, 3600, NULL, "5",
     "wait after a 429 that carries no Retry-After"},
    {"console", "environment", KEY_ENUM, S(environment), 0, 0, "DEMO|LIVE", "DEMO",
     "label in the top line; LIVE is shown in red"},
    {"console", "color", KEY_ENUM, S(color), 0, 0, "auto|never|always", "auto",
     "colours; NO_COLOR in the environment means never"},
    {"console", "glyphs", KEY_ENUM, S(glyphs), 0, 0, "auto|ascii|utf8", "auto",
     "line drawing and charts; auto uses UTF-8 only in a UTF-8 locale"},
    {"console", "log_file", KEY_STR, S(log_file), 0, 0, NULL, "",
     "where stderr goes while the console is on screen (default: "
     "$XDG_STATE_HOME/tradeops/console.log)"},
    {"console", "readonly", KEY_BOOL, S(readonly), 0, 0, NULL, "false",
     "remove every dangerous action (same as --readonly)"},
    {"engine", "instance", KEY_STR, S(instance), 0, 0, NULL, "",
     "name of this instance in logs and job claims (default: host name)"},
    {"engine", "account_refresh_s", KEY_INT, S(account_refresh_s), 1, 3600, NULL, "10",
     "how often the engine re-reads the account list"},
    {"recon", "interval_s", KEY_INT, S(recon_interval_s), 1, 3600, NULL, "5",
     "seconds between reconciliation passes (the bot's positions against the broker's)"},
    {"recon", "persist_cycles", KEY_INT, S(recon_persist_cycles), 1, 100, NULL, "2",
     "passes in a row a divergence must last before it is logged"},
    {"recon", "tolerance_points", KEY_INT, S(recon_tolerance_points), 0, 100000, NULL, "10",
     "how many points an SL or TP may differ before it is a mismatch"},
    {"recon", "resolved_shown", KEY_INT, S(recon_resolved_shown), 0, 100000, NULL, "500",
     "resolved rows kept in the console besides every open one"},
    {"trades", "interval_s", KEY_INT, S(trades_interval_s), 1, 3600, NULL, "5",
     "seconds between reads of each account's deal history"},
    {"trades", "overlap_s", KEY_INT, S(trades_overlap_s), 0, 86400, NULL, "300",
     "each read starts this long before where the last one ended, for late deals"},
    {"trades", "lookback_h", KEY_INT, S(trades_lookback_h), 1, 87600, NULL, "168",
     "how far back the first read of a new account goes"},
    {"guard", "interval_ms", KEY_INT, S(guard_interval_ms), 100, 60000, NULL, "500",
     "milliseconds between evaluations of every guard this instance owns"},
    {"guard", "watch_interval_ms", KEY_INT, S(guard_watch_interval_ms), 100, 60000, NULL, "1000",
     "longest wait before the console re-reads alerts, guards and the audit log"},
    {"guard", "close_attempts", KEY_INT, S(guard_close_attempts), 1, 10, NULL, "4",
     "attempts per position when the guard closes an account (transient failures retried)"},
    {"guard", "link_down_after_s", KEY_INT, S(guard_link_down_after_s), 1, 86400, NULL, "30",
     "seconds a broker link must be down before the broker.link_down alert"},
    {"notify", "enabled", KEY_BOOL, S(notify_enabled), 0, 0, NULL, "true",
     "send alerts to the configured destinations (one without its secret is off anyway)"},
    {"notify", "telegram_api_url", KEY_STR, S(notify_telegram_api_url), 0, 0, NULL,
     "https://api.telegram.org", "base URL of the Telegram Bot API"},
    {"notify", "telegram_chat_id", KEY_STR, S(notify_telegram_chat_id), 0, 0, NULL, "",
     "chat to post to: a number (groups are negative) or @channelname"},
    {"notify", "telegram_token_file", KEY_STR, S(notify_telegram_token_file), 0, 0, NULL, "",
     "file whose first line is the bot token (mode 600); or TRADEOPS_TELEGRAM_TOKEN"},
    {"notify", "slack_webhook_url_file", KEY_STR, S(notify_slack_webhook_url_file), 0, 0, NULL,
     "",
     "file whose first line is the Slack webhook URL (mode 600); or TRADEOPS_SLACK_WEBHOOK_URL"},
    {"notify", "route_info", KEY_STR, S(notify_route_info), 0, 0, NULL, "",
     "destinations of info alerts: comma-separated telegram, slack, or empty"},
    {"notify", "route_warning", KEY_STR, S(notify_route_warning), 0, 0, NULL, "slack",
     "destinations of warning alerts"},
    {"notify", "route_critical", KEY_STR, S(notify_route_critical), 0, 0, NULL, "telegram,slack",
     "destinations of critical alerts"},
    {"notify", "max_attempts", KEY_INT, S(notify_max_attempts), 1, 100, NULL, "8",
     "attempts per message before it is given up (dead)"},
    {"notify", "timeout_ms", KEY_INT, S(notify_timeout_ms), 100, 120000, NULL, "10000",
     "limit for one request to Telegram or Slack, connection included"},
    {"notify", "retry_base_ms", KEY_INT, S(notify_retry_base_ms), 10, 600000, NULL, "2000",
     "wait before the first retry after a transient failure; doubles with each attempt"},
    {"notify", "retry_max_s", KEY_INT, S(notify_retry_max_s), 1, 86400, NULL, "600",
     "longest wait between two attempts"},
    {"sync", "enabled", KEY_BOOL, S(sync_enabled), 0, 0, NULL, "true",
     "run journal sync workers in this instance (jobs are queued either way)"},
    {"sync", "workers", KEY_INT, S(sync_workers), 1, 64, NULL, "4",
     "worker threads sending jobs in this instance"},
    {"sync", "tradervue_url", KEY_STR, S(sync_tradervue_url), 0, 0, NULL,
     "https://app.tradervue.com/api/v1", "base URL of Tradervue's API"},
    {"sync", "user_agent", KEY_STR, S(sync_user_agent), 0, 0, NULL,
     "tradeops/1.0 (journal sync)", "User-Agent of every journal request (Tradervue requires one)"},
    {"sync", "key_file", KEY_STR, S(sync_key_file), 0, 0, NULL, "",
     "file holding the 64-hex-digit key that seals journal credentials (mode 600); or "
     "TRADEOPS_SYNC_KEY"},
    {"sync", "timeout_ms", KEY_INT, S(sync_timeout_ms), 100, 300000, NULL, "15000",
     "limit for one request to a journal, connection included"},
    {"sync", "poll_ms", KEY_INT, S(sync_poll_ms), 50, 60000, NULL, "1000",
     "longest wait before workers look for due jobs without a notification"},
    {"sync", "unit_ms", KEY_INT, S(sync_unit_ms), 1, 60000, NULL, "1000",
     "the \"second\" of the backoff: 2 units x 2^(n-1) before the deadline, n^4 units after"},
    {"sync", "deadline_s", KEY_INT, S(sync_deadline_s), 1, 86400, NULL, "120",
     "the promise: a trade is in its journals this long after its close, or the job is flagged"},
    {"sync", "slow_cap_s", KEY_INT, S(sync_slow_cap_s), 1, 86400, NULL, "3600",
     "longest wait between two attempts once past the deadline"},
    {"sync", "max_attempts", KEY_INT, S(sync_max_attempts), 1, 100, NULL, "15",
     "attempts before a job is dead (manual retries do not count)"},
    {"sync", "rescue_interval_s", KEY_INT, S(sync_rescue_interval_s), 1, 3600, NULL, "30",
     "how often jobs left running by a dead or hung worker are looked for"},
    {"sync", "rescue_margin_s", KEY_INT, S(sync_rescue_margin_s), 1, 3600, NULL, "30",
     "a job running longer than its request limits plus this is taken back"},
    {"sync", "import_poll_ms", KEY_INT, S(sync_import_poll_ms), 10, 60000, NULL, "1000",
     "wait between two reads of a running Tradervue import's status"},
    {"sync", "import_timeout_s", KEY_INT, S(sync_import_timeout_s), 1, 3600, NULL, "120",
     "longest wait for a Tradervue import to finish before the attempt is a timeout"},
    {"sync", "batch", KEY_INT, S(sync_batch), 1, 100000, NULL, "500",
     "jobs changed per transaction by a bulk action"},
    {"sync", "view_rows", KEY_INT, S(sync_view_rows), 100, 1000000, NULL, "5000",
     "jobs the Sync screen loads for the current filter (the counts cover all of them)"},
    {"metrics", "listen", KEY_STR, S(metrics_listen), 0, 0, NULL, "",
     "IP:port for the Prometheus endpoint (GET /metrics, no auth); empty: off"},
    {"metrics", "sample_ms", KEY_INT, S(metrics_sample_ms), 100, 600000, NULL, "5000",
     "ms between system-metrics samples"},
};
#undef S
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

/* Short names the issue and the README promise, besides TRADEOPS_SECTION_KEY. */
static const struct {
    const char *env, *section, *key;
} env_aliases[] = {
    {"TRADEOPS_PG", "database", "url"},
    {"TRADEOPS_REDIS", "redis", "url"},
    {"TRADEOPS_BROKER_URL", "broker", "url"},
    {"TRADEOPS_BROKER_TOKEN_FILE", "broker", "token_file"},
    {"TRADEOPS_LOG", "console", "log_file"},
};

static const struct key *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcasecmp(KEYS[i].section, section) == 0 && strcasecmp(KEYS[i].name, name) == 0)
            return &KEYS[i];
    return NULL;
}

static bool section_known(const char *section)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcasecmp(KEYS[i].section, section) == 0)
            return true;
    return false;
}

static void keys_of_section(const char *section, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < NKEYS && o < outlen; i++)
        if (strcasecmp(KEYS[i].section, section) == 0)
            o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", KEYS[i].name);
}

static bool choice_ok(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vl && strncasecmp(p, v, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

static int set_key(config *c, const struct key *k, const char *value, char *err, size_t errlen)
{
    char *field = (char *)c + k->offset;
    switch (k->type) {
    case KEY_STR:
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "%s.%s is too long (at most %zu bytes)", k->section, k->name,
                     k->size - 1);
            return -1;
        }
        for (const char *p = value; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                snprintf(err, errlen, "%s.%s contains a control character", k->section, k->name);
                return -1;
            }
        snprintf(field, k->size, "%s", value);
        return 0;
    case KEY_NAME:
        if (!value[0] || strlen(value) >= k->size) {
            snprintf(err, errlen, "%s.%s must be 1 to %zu characters", k->section, k->name,
                     k->size - 1);
            return -1;
        }
        for (const char *p = value; *p; p++)
            if (!isalnum((unsigned char)*p) && !strchr(":_.-", *p)) {
                snprintf(err, errlen,
                         "%s.%s may hold only letters, digits and : _ . - (found \"%c\")",
                         k->section, k->name, isprint((unsigned char)*p) ? *p : '?');
                return -1;
            }
        snprintf(field, k->size, "%s", value);
        return 0;
    case KEY_INT: {
        errno = 0;
        char *end;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end != '\0' || v < k->min || v > k->max) {
            snprintf(err, errlen, "%s.%s must be a whole number from %ld to %ld, not \"%.40s\"",
                     k->section, k->name, k->min, k->max, value);
            return -1;
        }
        *(int *)field = (int)v;
        return 0;
    }
    case KEY_BOOL:
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1") ||
            !strcasecmp(value, "on")) {
            *(bool *)field = true;
        } else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") ||
                   !strcmp(value, "0") || !strcasecmp(value, "off")) {
            *(bool *)field = false;
        } else {
            snprintf(err, errlen, "%s.%s must be true or false, not \"%.40s\"", k->section,
                     k->name, value);
            return -1;
        }
        return 0;
    case KEY_ENUM:
        if (!choice_ok(k->choices, value)) {
            snprintf(err, errlen, "%s.%s must be one of %s, not \"%.40s\"", k->section, k->name,
                     k->choices, value);
            return -1;
        }
        snprintf(field, k->size, "%s", value);
        /* Canonical case: LIVE/DEMO upper, the others lower. */
        for (char *p = field; *p; p++)
            *p = (char)(strcmp(k->name, "environment") == 0 ? toupper((unsigned char)*p)
                                                             : tolower((unsigned char)*p));
        return 0;
    }
    return -1;
}

int config_set(config *c, const char *section, const char *key, const char *value, char *err,
               size_t errlen)
{
    const struct key *k = find_key(section, key);
    if (!k) {
        if (!section_known(section)) {
            snprintf(err, errlen,
                     "unknown section [%.40s]; sections are database, redis, broker, console, "
                     "engine, recon, trades, guard, notify, sync, metrics",
                     section);
        } else {
            char keys[256];
            keys_of_section(section, keys, sizeof keys);
            snprintf(err, errlen, "unknown key \"%.40s\" in [%s]; allowed: %s", key, section,
                     keys);
        }
        return -1;
    }
    return set_key(c, k, value, err, errlen);
}

void config_defaults(config *c)
{
    memset(c, 0, sizeof *c);
    char err[64];
    for (size_t i = 0; i < NKEYS; i++)
        set_key(c, &KEYS[i], KEYS[i].def, err, sizeof err);
}

struct ini_ctx {
    config *c;
    char *err;
    size_t errlen;
    const char *path;
    FILE *f;
    int lineno; /* counted by our reader: Debian's inih does not pass it */
    int failed;
};

static char *ini_reader_counting(char *str, int num, void *stream)
{
    struct ini_ctx *x = stream;
    char *r = fgets(str, num, x->f);
    if (r)
        x->lineno++;
    return r;
}

static int config_ini_handler(void *user, const char *section, const char *name,
                              const char *value)
{
    struct ini_ctx *x = user;
    int lineno = x->lineno;
    char msg[400];
    if (!name) /* a section header alone */
        return 1;
    if (config_set(x->c, section, name, value, msg, sizeof msg) != 0) {
        snprintf(x->err, x->errlen, "%s:%d: %s", x->path, lineno, msg);
        x->failed = 1;
        return 0;
    }
    return 1;
}

int config_load_file(config *c, const char *path, bool explicit_path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!explicit_path && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct ini_ctx x = {c, err, errlen, path, f, 0, 0};
    int rc = ini_parse_stream(ini_reader_counting, &x, config_ini_handler, &x);
    fclose(f);
    if (x.failed)
        return -1;
    if (rc > 0) {
        snprintf(err, errlen, "%s:%d: not an INI line (expected [section] or key = value)", path,
                 rc);
        return -1;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot read", path);
        return -1;
    }
    snprintf(c->source_path, sizeof c->source_path, "%s", path);
    return 0;
}

int config_load_env(config *c, char *err, size_t errlen)
{
    char msg[400];
    for (size_t i = 0; i < NKEYS; i++) {
        char var[96];
        int n = snprintf(var, sizeof var, "TRADEOPS_%s_%s", KEYS[i].section, KEYS[i].name);
        for (int j = 0; j < n; j++)
            var[j] = (char)toupper((unsigned char)var[j]);
        const char *v = getenv(var);
        if (v && set_key(c, &KEYS[i], v, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "%s: %s", var, msg);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof env_aliases / sizeof env_aliases[0]; i++) {
        const char *v = getenv(env_aliases[i].env);
        if (v && config_set(c, env_aliases[i].section, env_aliases[i].key, v, msg, sizeof msg)) {
            snprintf(err, errlen, "%s: %s", env_aliases[i].env, msg);
            return -1;
        }
    }
    const struct {
        const char *var;
        char *dst;
        size_t size;
    } secrets[] = {
        {"TRADEOPS_BROKER_TOKEN", c->broker_token, sizeof c->broker_token},
        {"TRADEOPS_TELEGRAM_TOKEN", c->notify_telegram_token, sizeof c->notify_telegram_token},
        {"TRADEOPS_SLACK_WEBHOOK_URL", c->notify_slack_webhook_url,
         sizeof c->notify_slack_webhook_url},
    };
    /* TRADEOPS_SYNC_KEY is read by secret_key_load (secret.h) when needed,
     * so the key is in memory only while credentials are sealed or opened. */
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        const char *v = getenv(secrets[i].var);
        if (!v)
            continue;
        if (strlen(v) >= secrets[i].size || strpbrk(v, "\r\n")) {
            snprintf(err, errlen, "%s: too long or more than one line", secrets[i].var);
            return -1;
        }
        snprintf(secrets[i].dst, secrets[i].size, "%s", v);
    }
    return 0;
}

/* Reads the first line of the file named by key (section.name = path) into
 * out, unless out is already set (by the environment). */
static int load_secret_file(const char *key, const char *path, char *out, size_t outlen,
                            char *err, size_t errlen)
{
    if (!path[0] || out[0])
        return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s %s: cannot open: %s", key, path, strerror(errno));
        return -1;
    }
    char line[CONFIG_STR + 2];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        snprintf(err, errlen, "%s %s: empty", key, path);
        return -1;
    }
    fclose(f);
    size_t n = strlen(line);
    while (n && isspace((unsigned char)line[n - 1]))
        line[--n] = '\0';
    if (n == 0 || n >= outlen) {
        memset(line, 0, sizeof line);
        snprintf(err, errlen, "%s %s: the first line must hold the secret (1-%zu bytes)", key,
                 path, outlen - 1);
        return -1;
    }
    memcpy(out, line, n + 1);
    memset(line, 0, sizeof line);
    return 0;
}

int config_load_secrets(config *c, char *err, size_t errlen)
{
    if (load_secret_file("broker.token_file", c->broker_token_file, c->broker_token,
                         sizeof c->broker_token, err, errlen) != 0 ||
        load_secret_file("notify.telegram_token_file", c->notify_telegram_token_file,
                         c->notify_telegram_token, sizeof c->notify_telegram_token, err,
                         errlen) != 0 ||
        load_secret_file("notify.slack_webhook_url_file", c->notify_slack_webhook_url_file,
                         c->notify_slack_webhook_url, sizeof c->notify_slack_webhook_url, err,
                         errlen) != 0)
        return -1;
    return 0;
}

void config_default_path(char *out, size_t outlen)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, outlen, "%s/tradeops/config.ini", xdg);
    else
        snprintf(out, outlen, "%s/.config/tradeops/config.ini", home && *home ? home : ".");
}

void config_print_reference(FILE *out)
{
    const char *section = "";
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &KEYS[i];
        if (strcmp(section, k->section) != 0) {
            fprintf(out, "%s[%s]\n", i ? "\n" : "", k->section);
            section = k->section;
        }
        char env[96];
        int n = snprintf(env, sizeof env, "TRADEOPS_%s_%s", k->section, k->name);
        for (int j = 0; j < n; j++)
            env[j] = (char)toupper((unsigned char)env[j]);
        fprintf(out, "  %-22s %s\n", k->name, k->help);
        if (k->type == KEY_INT)
            fprintf(out, "  %-22s default %s, from %ld to %ld; env %s\n", "", k->def, k->min,
                    k->max, env);
        else if (k->type == KEY_ENUM)
            fprintf(out, "  %-22s default %s, one of %s; env %s\n", "", k->def, k->choices, env);
        else if (k->type == KEY_BOOL)
            fprintf(out, "  %-22s default %s, true or false; env %s\n", "", k->def, env);
        else
            fprintf(out, "  %-22s default \"%s\"; env %s\n", "", k->def, env);
    }
}
