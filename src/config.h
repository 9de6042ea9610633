/*
 * config.h - configuration: built-in defaults, then an INI file, then the
 * environment, then command-line flags, each overriding the one before.
 *
 * Every key lives in one table (config.c) that drives parsing, validation,
 * the environment names and `tradeops --help-config`. An unknown key or a
 * bad value is an error naming the file, the line and what is allowed.
 *
 * Threads: loaded once by main before any thread starts; read-only after.
 */
#ifndef TRADEOPS_CONFIG_H
#define TRADEOPS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONFIG_STR 512

typedef struct config {
    /* [database] */
    char pg_url[CONFIG_STR];
    /* [redis] */
    char redis_url[CONFIG_STR];
    int redis_timeout_ms;
    int cache_ttl_s;
    char redis_prefix[64];
    /* [broker] */
    char broker_url[CONFIG_STR];
    char broker_token_file[CONFIG_STR];
    int poll_interval_ms;
    int broker_timeout_ms;
    int broker_connect_timeout_ms;
    int stale_after_s;
    int rate_limit_backoff_s;
    /* [console] */
    char environment[8];    /* DEMO | LIVE */
    char color[8];          /* auto | never | always */
    char glyphs[8];         /* auto | ascii | utf8 */
    char log_file[CONFIG_STR];
    bool readonly;
    /* [engine] */
    char instance[64];
    int account_refresh_s;
    /* [recon] */
    int recon_interval_s;
    int recon_persist_cycles;
    int recon_tolerance_points;
    int recon_resolved_shown;
    /* [trades] */
    int trades_interval_s;
    int trades_overlap_s;
    int trades_lookback_h;
    /* [guard] */
    int guard_interval_ms;
    int guard_watch_interval_ms;
    int guard_close_attempts;
    int guard_link_down_after_s;
    /* [notify] */
    bool notify_enabled;
    char notify_telegram_api_url[CONFIG_STR];
    char notify_telegram_chat_id[64];
    char notify_telegram_token_file[CONFIG_STR];
    char notify_slack_webhook_url_file[CONFIG_STR];
    char notify_route_info[64];
    char notify_route_warning[64];
    char notify_route_critical[64];
    int notify_max_attempts;
    int notify_timeout_ms;
    int notify_retry_base_ms;
    int notify_retry_max_s;
    /* [sync] */
    bool sync_enabled;
    int sync_workers;
    char sync_tradervue_url[CONFIG_STR];
    char sync_user_agent[128];
    char sync_key_file[CONFIG_STR];
    int sync_timeout_ms;
    int sync_poll_ms;
    int sync_unit_ms;
    int sync_deadline_s;
    int sync_slow_cap_s;
    int sync_max_attempts;
    int sync_rescue_interval_s;
    int sync_rescue_margin_s;
    int sync_import_poll_ms;
    int sync_import_timeout_s;
    int sync_batch;
    int sync_view_rows;
    char metrics_listen[64];    /* [metrics] listen: "IP:port" of the Prometheus endpoint, "" off */
    int metrics_sample_ms;

    /* Loaded from broker_token_file (or TRADEOPS_BROKER_TOKEN), never printed. */
    char broker_token[256];
    /* [notify] secrets, from telegram_token_file / slack_webhook_url_file (or
     * TRADEOPS_TELEGRAM_TOKEN / TRADEOPS_SLACK_WEBHOOK_URL), never printed. */
    char notify_telegram_token[256];
    char notify_slack_webhook_url[CONFIG_STR];
    /* Where the file came from, for messages ("" when none was read). */
    char source_path[CONFIG_STR];
} config;

void config_defaults(config *c);

/* Reads path (required when explicit is true; the XDG default may be
 * absent). Returns 0 or -1 with "FILE:LINE: message" in err. */
int config_load_file(config *c, const char *path, bool explicit_path, char *err, size_t errlen);

/* Applies TRADEOPS_* variables. Returns 0 or -1 with "VAR: message". */
int config_load_env(config *c, char *err, size_t errlen);

/* Sets one key from "section.key=value" (the --set flag) or by name. */
int config_set(config *c, const char *section, const char *key, const char *value, char *err,
               size_t errlen);

/* Reads the broker token file into broker_token, and the [notify] secret
 * files into notify_telegram_token / notify_slack_webhook_url (each when set
 * and not already given by the environment). */
int config_load_secrets(config *c, char *err, size_t errlen);

/* Default path: $XDG_CONFIG_HOME/tradeops/config.ini or ~/.config/... */
void config_default_path(char *out, size_t outlen);

/* Prints every key with its default, allowed values and help. */
void config_print_reference(FILE *out);

#endif
