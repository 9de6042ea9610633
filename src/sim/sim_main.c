/*
 * sim_main.c - tradeops-sim: command line, token, port file, signals, and
 * the start/stop order of the world (market + tick thread), the bot (--pg),
 * the scenarios and the HTTP server.
 *
 * Threads: main parses, blocks SIGINT/SIGTERM before any thread exists (so
 * every thread inherits the mask and only main's sigwait sees them), starts
 * the world, the bot's writer, the demo scenario thread and the server, then
 * sleeps in sigwait until told to stop. Shutdown: stop the world first (tick
 * thread joined, latency sleeps and the demo thread's waits cut short), join
 * the demo thread, then the server (connection threads joined), then the
 * bot (one last attempt to write what is queued), then free.
 *
 * Exit status: 0 after an orderly stop, 1 when start-up fails, 2 for bad flags.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_bot.h"
#include "sim_faults.h"
#include "sim_http.h"
#include "sim_scenario.h"
#include "sim_world.h"

#ifndef TRADEOPS_VERSION
#define TRADEOPS_VERSION "0.0.0"
#endif

#define EXIT_USAGE 2
#define DEFAULT_LISTEN "127.0.0.1"
#define DEFAULT_PORT 7301L
#define DEFAULT_TOKEN "demo-token"
#define DEFAULT_ACCOUNTS 6L
#define DEFAULT_SEED 1u
#define DEFAULT_TICK_MS 500L
#define MAX_TOKEN_LEN 256
#define MAX_PORT 65535L
#define MAX_SCENARIO_EVERY_S 86400L

typedef struct options {
    const char *listen, *port_file, *token, *token_file, *pg;
    long port, accounts, tick_ms, scenario_every;
    uint64_t seed;
    bool start_paused, verbose, help, version;
    sim_faults faults;
} options;

enum opt_kind { OPT_STR, OPT_LONG, OPT_U64, OPT_FLAG };

static const struct opt {
    const char *flag;
    enum opt_kind kind;
    size_t offset;
    long min, max; /* OPT_LONG */
    const char *arg, *help;
} OPTS[] = {
    {"--listen", OPT_STR, offsetof(options, listen), 0, 0, "ADDR",
     "loopback address to listen on (127.x.x.x or ::1; default 127.0.0.1)"},
    {"--port", OPT_LONG, offsetof(options, port), 0, MAX_PORT, "N",
     "TCP port (default 7301; 0 picks a free one)"},
    {"--port-file", OPT_STR, offsetof(options, port_file), 0, 0, "PATH",
     "write the port, once listening, to PATH (atomically)"},
    {"--token", OPT_STR, offsetof(options, token), 0, 0, "T",
     "auth-token clients must send (default demo-token)"},
    {"--token-file", OPT_STR, offsetof(options, token_file), 0, 0, "PATH",
     "read the token from PATH's first line instead"},
    {"--accounts", OPT_LONG, offsetof(options, accounts), 1, SIM_MARKET_MAX_ACCOUNTS, "N",
     "demo accounts demo-1..demo-N (default 6)"},
    {"--seed", OPT_U64, offsetof(options, seed), 0, 0, "S",
     "random seed; same seed, same market (default 1)"},
    {"--tick-ms", OPT_LONG, offsetof(options, tick_ms), SIM_WORLD_MIN_TICK_MS,
     SIM_WORLD_MAX_TICK_MS, "N", "milliseconds between price ticks (default 500)"},
    {"--start-paused", OPT_FLAG, offsetof(options, start_paused), 0, 0, "",
     "no ticks until POST /_sim/resume (or /_sim/tick)"},
    {"--pg", OPT_STR, offsetof(options, pg), 0, 0, "CONNINFO",
     "also play the trading bot: write bot_positions there (docs/bot-contract.md)"},
    {"--scenario-every", OPT_LONG, offsetof(options, scenario_every), 0, MAX_SCENARIO_EVERY_S,
     "SECONDS", "a scenario every SECONDS, ended after 3/4 of that (needs --pg; 0: off)"},
    {"--verbose", OPT_FLAG, offsetof(options, verbose), 0, 0, "", "log every request to stderr"},
    {"--help", OPT_FLAG, offsetof(options, help), 0, 0, "", "show this help"},
    {"--version", OPT_FLAG, offsetof(options, version), 0, 0, "", "show the version"},
};
#define N_OPTS (sizeof OPTS / sizeof OPTS[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: tradeops-sim [flags]\n"
                 "A MetaApi-shaped demo broker on loopback for tradeops.\n\nflags:\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        char left[40];
        snprintf(left, sizeof left, "%s%s%s", OPTS[i].flag, *OPTS[i].arg ? " " : "", OPTS[i].arg);
        fprintf(out, "  %-24s %s\n", left, OPTS[i].help);
    }
    fprintf(out, "\nfaults (also settable at run time with POST /_sim/faults):\n");
    sim_faults_usage(out);
    fprintf(out, "\nroutes (header auth-token on every one but the notifier and journal far "
                 "ends):\n"
                 "  GET  /users/current/accounts/{id}/account-information\n"
                 "  GET  /users/current/accounts/{id}/positions\n"
                 "  GET  /users/current/accounts/{id}/history-deals/time/{from}/{to}"
                 "?offset=&limit=\n"
                 "  POST /users/current/accounts/{id}/trade  "
                 "{\"actionType\":\"POSITION_CLOSE_ID\",\"positionId\":\"...\"}\n"
                 "  GET|POST /_sim/faults   POST /_sim/pause   POST /_sim/resume\n"
                 "  POST /_sim/tick {\"count\":N}   GET /_sim/stats\n"
                 "  POST /_sim/scenario {\"account\":\"demo-2\",\"kind\":K,"
                 "\"action\":\"start\"|\"end\"}\n"
                 "       optional \"position\":\"TICKET\" (start: act on it; end: pick by it), "
                 "\"id\":N (end)\n"
                 "       K: stop_out, manual_trade, partial_close, sl_moved, tp_moved, "
                 "never_opened\n"
                 "  GET  /_sim/scenarios   (the active ones)\n"
                 "  POST /_sim/drawdown {\"account\":\"demo-2\",\"depth\":0.3,\"seconds\":5}"
                 "  (equity slides to\n"
                 "       (1-depth) x peak over seconds and stays; >= 3 positions, the strategy\n"
                 "       leaves them alone)   {\"account\":\"demo-2\",\"action\":\"end\"} ends it\n"
                 "  GET  /_sim/drawdown   (the active slides)\n"
                 "  POST /_sim/notify {\"target\":\"telegram\"|\"slack\",\"fail_next\":N,"
                 "\"status\":429|403|500,\"retry_after\":S}\n"
                 "       | {\"migrate\":{\"from\":CHAT,\"to\":CHAT}} | {\"reset\":true}\n"
                 "  GET  /_sim/notify   (what Telegram and Slack received, attempts, faults)\n"
                 "  GET  /_sim/journal   (what Tradervue and the webhook stored, counts; no "
                 "auth-token)\n"
                 "  POST /_sim/journal/reset   (clears them; no auth-token)   /_sim/control = "
                 "/_sim/faults\n"
                 "\nnotifier far ends (no auth-token; the secret is in the URL):\n"
                 "  POST /bot{TOKEN}/sendMessage  {\"chat_id\",\"text\"[,\"parse_mode\":\"HTML\"]}"
                 "  Telegram\n"
                 "  POST /services/{T}/{B}/{SECRET}  {\"text\"}  Slack incoming webhook\n"
                 "\njournal far ends (no auth-token; faulted by the journal_* knobs only):\n"
                 "  GET|POST /api/v1/imports  Tradervue (Basic auth --journal-user/"
                 "--journal-password,\n"
                 "       User-Agent required; 424 while an import runs; status cleared once read)\n"
                 "  POST /hooks/{NAME}  webhook: Idempotency-Key, X-Tradeops-Timestamp,\n"
                 "       X-Tradeops-Signature: sha256=HMAC-SHA256(--webhook-secret, "
                 "\"TS.BODY\")\n");
}

static int set_opt(options *o, const struct opt *op, const char *value, char *err, size_t errlen)
{
    char *field = (char *)o + op->offset;
    char *end;
    errno = 0;
    switch (op->kind) {
    case OPT_STR:
        if (!*value) {
            snprintf(err, errlen, "%s: needs a non-empty value", op->flag);
            return -1;
        }
        memcpy(field, &value, sizeof value);
        return 0;
    case OPT_LONG: {
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno || v < op->min || v > op->max) {
            snprintf(err, errlen, "%s: '%s' is not allowed; use a whole number from %ld to %ld",
                     op->flag, value, op->min, op->max);
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case OPT_U64: {
        unsigned long long v = strtoull(value, &end, 10);
        if (*value < '0' || *value > '9' || *end || errno) {
            snprintf(err, errlen, "%s: '%s' is not allowed; use a whole number from 0 to %llu",
                     op->flag, value, (unsigned long long)UINT64_MAX);
            return -1;
        }
        uint64_t u = v;
        memcpy(field, &u, sizeof u);
        return 0;
    }
    case OPT_FLAG: {
        bool b = true;
        memcpy(field, &b, sizeof b);
        return 0;
    }
    }
    return -1;
}

/* Applies one "--flag" with its value (NULL for flags that take none). */
static int apply_flag(options *o, const char *flag, const char *value, bool *takes, char *err,
                      size_t errlen)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (strcmp(OPTS[i].flag, flag) != 0)
            continue;
        *takes = OPTS[i].kind != OPT_FLAG;
        return value || !*takes ? set_opt(o, &OPTS[i], value, err, errlen) : 0;
    }
    if (sim_faults_is_flag(flag, takes))
        return value || !*takes ? sim_faults_set_flag(&o->faults, flag, value, err, errlen) : 0;
    snprintf(err, errlen, "unknown flag '%.64s' (see --help)", flag);
    return -1;
}

static int parse_args(int argc, char **argv, options *o, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%.64s' (flags start with --)", arg);
            return -1;
        }
        char flag[64];
        const char *eq = strchr(arg, '=');
        size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
        snprintf(flag, sizeof flag, "%.*s", (int)(n < sizeof flag ? n : sizeof flag - 1), arg);
        bool takes = false;
        /* First pass learns whether the flag takes a value. */
        if (apply_flag(o, flag, NULL, &takes, err, errlen) != 0)
            return -1;
        if (!takes && eq) {
            snprintf(err, errlen, "%s takes no value", flag);
            return -1;
        }
        if (!takes)
            continue;
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            snprintf(err, errlen, "%s needs a value (see --help)", flag);
            return -1;
        }
        if (apply_flag(o, flag, value, &takes, err, errlen) != 0)
            return -1;
    }
    if (o->pg && sim_bot_check_conninfo(o->pg, err, errlen) != 0)
        return -1;
    if (o->scenario_every > 0 && !o->pg) {
        snprintf(err, errlen, "--scenario-every needs --pg: scenarios act on the bot's rows");
        return -1;
    }
    if (o->token && o->token_file) {
        snprintf(err, errlen, "--token and --token-file: give one or the other");
        return -1;
    }
    return o->listen ? sim_http_check_listen(o->listen, err, errlen) : 0;
}

static int check_token(const char *flag, const char *t, char *err, size_t errlen)
{
    size_t n = strlen(t);
    if (n == 0 || n > MAX_TOKEN_LEN) {
        snprintf(err, errlen, "%s: the token must be 1 to %d bytes", flag, MAX_TOKEN_LEN);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] == 0x7f) {
            snprintf(err, errlen, "%s: the token may not contain spaces or control bytes", flag);
            return -1;
        }
    return 0;
}

/* Reads the first line of path, trimmed; *out is malloc'ed. */
static int read_token_file(const char *path, char **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "--token-file: cannot open '%.200s': %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    int read_errno = errno;
    fclose(f);
    if (n < 0) {
        free(line);
        snprintf(err, errlen, "--token-file: '%.200s' is empty or unreadable%s%s", path,
                 read_errno ? ": " : "", read_errno ? strerror(read_errno) : "");
        return -1;
    }
    char *s = line, *e = line + n;
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    *e = '\0';
    memmove(line, s, (size_t)(e - s) + 1);
    if (check_token("--token-file", line, err, errlen) != 0) {
        free(line);
        return -1;
    }
    *out = line;
    return 0;
}

/* Written to a temporary name and renamed, so a reader never sees half. */
static int write_port_file(const char *path, int port, char *err, size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "--port-file: path is too long");
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "--port-file: cannot create '%.200s': %s", tmp, strerror(errno));
        return -1;
    }
    bool ok = fprintf(f, "%d\n", port) > 0;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    int save = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "--port-file: cannot write '%.200s': %s", path,
                 strerror(ok ? errno : save));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void say_listening(const options *o, const sim_http *h, bool bot)
{
    bool v6 = strchr(o->listen, ':') != NULL;
    fprintf(stderr,
            "tradeops-sim %s: listening on http://%s%s%s:%d (%ld accounts, seed %" PRIu64
            ", tick %ld ms%s%s)\n",
            TRADEOPS_VERSION, v6 ? "[" : "", o->listen, v6 ? "]" : "", sim_http_port(h),
            o->accounts, o->seed, o->tick_ms, o->start_paused ? ", paused" : "",
            bot ? ", bot writing to PostgreSQL" : "");
    if (o->scenario_every > 0)
        fprintf(stderr, "tradeops-sim: a demo scenario every %ld s\n", o->scenario_every);
}

static int run(const options *o, const char *token, const sigset_t *stop_signals)
{
    char err[320];
    sim_world_config wc = {.market = {.accounts = (size_t)o->accounts,
                                      .seed = o->seed,
                                      .no_random_manual = o->pg != NULL},
                           .tick_ms = o->tick_ms,
                           .start_paused = o->start_paused,
                           .faults = o->faults};
    sim_world *w = sim_world_new(&wc, err, sizeof err);
    if (!w) {
        fprintf(stderr, "tradeops-sim: %s\n", err);
        return EXIT_FAILURE;
    }
    sim_bot *bot = o->pg ? sim_bot_new(o->pg, (size_t)o->accounts, err, sizeof err) : NULL;
    sim_scenarios *sc = !o->pg || bot ? sim_scenarios_new(w, bot, o->seed, err, sizeof err) : NULL;
    if (!sc) {
        fprintf(stderr, "tradeops-sim: %s\n", err);
        sim_bot_free(bot);
        sim_world_free(w);
        return EXIT_FAILURE;
    }
    if (bot) { /* before any tick, so the bot's first rows are the market's start */
        sim_world_lock(w);
        sim_bot_follow(bot, sim_world_market(w));
        sim_world_unlock(w);
    }
    sim_world_attach(w, bot, sc);
    sim_http_config hc = {
        .listen = o->listen, .port = o->port, .token = token, .verbose = o->verbose};
    sim_http *h = sim_http_start(w, &hc, err, sizeof err);
    bool up =
        h && (!bot || sim_bot_start(bot, err, sizeof err) == 0) &&
        sim_world_start(w, err, sizeof err) == 0 &&
        (!o->port_file || write_port_file(o->port_file, sim_http_port(h), err, sizeof err) == 0);
    if (up) /* before the demo thread's first scenario says anything */
        say_listening(o, h, bot != NULL);
    up = up && (o->scenario_every == 0 ||
                sim_scenarios_demo_start(sc, o->scenario_every, err, sizeof err) == 0);
    int status = EXIT_SUCCESS;
    if (!up) {
        fprintf(stderr, "tradeops-sim: %s\n", err);
        status = EXIT_FAILURE;
    } else {
        int sig;
        while (sigwait(stop_signals, &sig) != 0)
            ;
    }
    sim_world_stop(w);
    sim_scenarios_demo_stop(sc);
    sim_http_stop(h);
    sim_bot_stop(bot);
    sim_scenarios_free(sc);
    sim_bot_free(bot);
    sim_world_free(w);
    return status;
}

int main(int argc, char **argv)
{
    options o = {.listen = DEFAULT_LISTEN,
                 .port = DEFAULT_PORT,
                 .accounts = DEFAULT_ACCOUNTS,
                 .seed = DEFAULT_SEED,
                 .tick_ms = DEFAULT_TICK_MS};
    sim_faults_default(&o.faults);
    char err[320];
    if (parse_args(argc, argv, &o, err, sizeof err) != 0) {
        fprintf(stderr, "tradeops-sim: %s\n", err);
        return EXIT_USAGE;
    }
    if (o.help) {
        usage(stdout);
        return EXIT_SUCCESS;
    }
    if (o.version) {
        printf("tradeops-sim %s\n", TRADEOPS_VERSION);
        return EXIT_SUCCESS;
    }
    char *file_token = NULL;
    const char *token = o.token ? o.token : DEFAULT_TOKEN;
    if ((o.token_file && read_token_file(o.token_file, &file_token, err, sizeof err) != 0) ||
        (o.token && check_token("--token", o.token, err, sizeof err) != 0)) {
        fprintf(stderr, "tradeops-sim: %s\n", err);
        return EXIT_USAGE;
    }
    if (file_token)
        token = file_token;

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    signal(SIGPIPE, SIG_IGN); /* a client hanging up must not kill the server */
    int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    int status = EXIT_FAILURE;
    if (rc != 0)
        fprintf(stderr, "tradeops-sim: cannot block signals: %s\n", strerror(rc));
    else
        status = run(&o, token, &stop_signals);
    free(file_token);
    return status;
}
