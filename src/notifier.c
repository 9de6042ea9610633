/*
 * notifier.c - see notifier.h.
 *
 * Threads: see notifier.h. The lock guards stats; stop is atomic; every
 * other field belongs to the thread running passes, or is set up by
 * notifier_new and read-only after.
 */
#include "notifier.h"

#include "alerts.h"

#include <curl/curl.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "broker_xfer.h"
#include "clock.h"
#include "notify.h"
#include "notify_proto.h"
#include "pg.h"
#include "sysmetrics.h"

#define POLL_MS 1000 /* longest sleep between passes */
#define BATCH 10     /* claims per destination and pass, at most */
#define FOLLOWUPS 3  /* requests per attempt: plain-text fallback, migrations */
#define RESCUE_MARGIN_MS 30000
#define JITTER_SPAN 0.2 /* backoff is scaled by 0.9 to 1.1 */
#define ERR_LEN 256
#define MASK_LEN 160
#define URL_LEN (2 * CONFIG_STR)
#define INSTANCE_LEN 128
#define MS_PER_S 1000

struct notifier {
    const config *cfg;
    bool active[NOTIFY_KIND_COUNT];
    int n_active;
    char instance[INSTANCE_LEN];
    char fingerprint[NOTIFY_KIND_COUNT][33];
    char token_mask[MASK_LEN], url_mask[MASK_LEN];
    struct curl_slist *headers;
    int wake_fd;

    /* The pass-running thread's. */
    PGconn *pg;
    int listen_pid; /* backend that runs our LISTEN (0: none) */
    bool reenable_done;
    bool said_disabled[NOTIFY_KIND_COUNT];
    broker_xfer *x;
    uint64_t rng;
    int64_t wait_hint_ms;
    char printed[NOTIFY_REASON_LEN];

    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t lock; /* guards stats */
    notifier_stats stats;
};

static void masked(const notifier *n, char *s, size_t cap)
{
    char in_url[sizeof n->cfg->notify_telegram_token + 4];
    snprintf(in_url, sizeof in_url, "bot%s", n->cfg->notify_telegram_token);
    /* In a URL "/bot{TOKEN}" becomes "/bot123...:" and stars, not "botbot". */
    if (n->cfg->notify_telegram_token[0])
        notify_redact(s, cap, in_url, n->token_mask);
    memset(in_url, 0, sizeof in_url);
    notify_redact(s, cap, n->cfg->notify_telegram_token, n->token_mask);
    notify_redact(s, cap, n->cfg->notify_slack_webhook_url, n->url_mask);
}

static void say(const notifier *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const notifier *n, const char *fmt, ...)
{
    char line[2 * ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    masked(n, line, sizeof line);
    fprintf(stderr, "tradeops: notify: %s\n", line);
}

static void bump(notifier *n, uint64_t *field, uint64_t by)
{
    pthread_mutex_lock(&n->lock);
    *field += by;
    pthread_mutex_unlock(&n->lock);
}

/* ---- sending ---- */

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    return atomic_load(&((notifier *)ud)->stop) ? 1 : 0;
}

static double next_jitter(notifier *n)
{
    n->rng ^= n->rng << 13;
    n->rng ^= n->rng >> 7;
    n->rng ^= n->rng << 17;
    return 1.0 - JITTER_SPAN / 2 + JITTER_SPAN * (double)(n->rng >> 11) / (double)(1ULL << 53);
}

/* One POST; j gets what the reply means. */
static void post(notifier *n, enum notify_kind k, const char *json, notify_judgement *j)
{
    char url[URL_LEN];
    const config *cfg = n->cfg;
    if (k == NOTIFY_TELEGRAM) {
        size_t bl = strlen(cfg->notify_telegram_api_url);
        while (bl > 0 && cfg->notify_telegram_api_url[bl - 1] == '/')
            bl--;
        snprintf(url, sizeof url, "%.*s/bot%s/sendMessage", (int)bl, cfg->notify_telegram_api_url,
                 cfg->notify_telegram_token);
    } else {
        snprintf(url, sizeof url, "%s", cfg->notify_slack_webhook_url);
    }
    broker_xfer_reset(n->x);
    CURL *e = n->x->easy;
    bool set = curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
               curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(json)) == CURLE_OK &&
               curl_easy_setopt(e, CURLOPT_POSTFIELDS, json) == CURLE_OK;
    memset(url, 0, sizeof url); /* curl keeps its own copy */
    n->x->result = set ? curl_easy_perform(e) : CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    bump(n, &n->stats.requests, 1);
    notify_reply r = {.transport_ok = n->x->result == CURLE_OK,
                      .status = broker_xfer_status(n->x),
                      .body = n->x->body,
                      .len = n->x->len,
                      .retry_after = n->x->retry_after,
                      .now_ms = clock_now_ms()};
    if (k == NOTIFY_TELEGRAM)
        notify_judge_telegram(&r, j);
    else
        notify_judge_slack(&r, j);
    if (!r.transport_ok) {
        if (n->x->result == CURLE_COULDNT_RESOLVE_HOST)
            snprintf(j->reason, sizeof j->reason, "%s: cannot resolve the host name",
                     notify_kind_name(k));
        else if (n->x->result == CURLE_ABORTED_BY_CALLBACK)
            snprintf(j->reason, sizeof j->reason, "%s: interrupted by shutdown",
                     notify_kind_name(k));
        else
            broker_xfer_describe_failure(n->x, notify_kind_name(k), j->reason, sizeof j->reason);
    }
    masked(n, j->reason, sizeof j->reason);
    broker_xfer_trim(n->x);
}

/* Sends c, following Telegram's plain-text fallback and chat migrations. */
static void deliver(notifier *n, notify_claim *c, notify_judgement *j)
{
    notify_text t = {.severity = c->severity,
                     .account = c->account,
                     .title = c->title,
                     .body = c->body,
                     .alert_id = c->alert_id};
    bool html = true;
    for (int step = 0; step < FOLLOWUPS; step++) {
        char *text =
            c->kind == NOTIFY_TELEGRAM ? notify_text_telegram(&t, html) : notify_text_slack(&t);
        char *json = !text                        ? NULL
                     : c->kind == NOTIFY_TELEGRAM ? notify_request_telegram(c->chat, text, html)
                                                  : notify_request_slack(text);
        free(text);
        if (!json) {
            memset(j, 0, sizeof *j);
            j->verdict = NOTIFY_TRANSIENT;
            snprintf(j->reason, sizeof j->reason, "out of memory building the message");
            return;
        }
        post(n, c->kind, json, j);
        free(json);
        if (j->verdict == NOTIFY_RESEND_PLAIN && html) {
            html = false;
            continue;
        }
        if (j->verdict == NOTIFY_MIGRATE && strcmp(j->new_chat_id, c->chat) != 0) {
            char err[ERR_LEN];
            if (notify_queue_migrate(n->pg, j->new_chat_id, n->cfg->notify_telegram_chat_id, err,
                                     sizeof err) != 0)
                say(n, "telegram: the chat moved, but storing its new id failed: %s", err);
            else
                say(n, "telegram: the chat moved to %s; using it from now on", j->new_chat_id);
            snprintf(c->chat, sizeof c->chat, "%s", j->new_chat_id);
            continue;
        }
        return;
    }
    if (j->verdict == NOTIFY_RESEND_PLAIN || j->verdict == NOTIFY_MIGRATE)
        j->verdict = NOTIFY_PERMANENT; /* refused again after the fallbacks */
}

/* ---- one destination ---- */

/* Writes what became of c. */
static int record(notifier *n, notify_claim *c, const notify_judgement *j, char *err, size_t errlen)
{
    const char *name = notify_kind_name(c->kind);
    if (j->verdict == NOTIFY_DISABLE) {
        long skipped = 0;
        if (notify_queue_disable(n->pg, c, j->reason, n->fingerprint[c->kind], j->status, &skipped,
                                 err, errlen) != 0)
            return -1;
        bump(n, &n->stats.disabled, 1);
        say(n,
            "%s disabled: %s (%ld queued message(s) skipped); change its configuration and "
            "restart to enable it again",
            name, j->reason, skipped);
        n->said_disabled[c->kind] = true;
        /* On the Alerts screen too (and to the other destination, if it
         * takes warnings): alerts no longer reach this one. */
        char title[400], aerr[256];
        snprintf(title, sizeof title, "%s notifications disabled: %.300s", name, j->reason);
        alert_spec a = {.kind = "notify.destination_disabled",
                        .severity = ALERT_WARNING,
                        .rule = name,
                        .title = title};
        if (alert_raise(n->pg, n->cfg, &a, NULL, NULL, aerr, sizeof aerr) != 0)
            say(n, "cannot raise the alert for %s: %s", name, aerr);
        return 0;
    }
    enum notify_outcome o = NOTIFY_OUT_DEAD;
    int64_t ms = 0;
    if (j->verdict == NOTIFY_SENT) {
        o = NOTIFY_OUT_SENT;
    } else if (j->verdict == NOTIFY_RATE_LIMITED) {
        o = NOTIFY_OUT_AGAIN;
        ms = j->retry_after_ms;
        if (notify_queue_rate_limit(n->pg, c->kind, ms, err, errlen) != 0)
            return -1;
        bump(n, &n->stats.rate_limited, 1);
    } else if (j->verdict == NOTIFY_TRANSIENT && n->x->result == CURLE_ABORTED_BY_CALLBACK) {
        o = NOTIFY_OUT_AGAIN; /* stopped mid-request: not the far end's fault */
    } else if (j->verdict == NOTIFY_TRANSIENT) {
        o = NOTIFY_OUT_RETRY;
        ms = notify_backoff_ms(c->attempts, n->cfg->notify_retry_base_ms,
                               (int64_t)n->cfg->notify_retry_max_s * MS_PER_S, next_jitter(n));
    }
    bool dead = false;
    if (notify_queue_finish(n->pg, c, n->instance, o, ms, j->status, j->reason,
                            n->cfg->notify_max_attempts, &dead, err, errlen) != 0)
        return -1;
    bump(n, o == NOTIFY_OUT_SENT ? &n->stats.sent : dead ? &n->stats.dead : &n->stats.retries, 1);
    if (o == NOTIFY_OUT_RETRY || o == NOTIFY_OUT_DEAD)
        sysm_count_error();
    if (dead)
        say(n, "%s: a message was given up: %s", name, j->reason);
    return 0;
}

/* Delivers due messages of kind k; how many were attempted, or -1. */
static int destination_pass(notifier *n, enum notify_kind k, char *err, size_t errlen)
{
    int done = 0;
    for (int i = 0; i < BATCH && !atomic_load(&n->stop); i++) {
        notify_claim c;
        notify_dest_state st;
        int rc = notify_queue_claim(n->pg, k, n->instance, n->cfg->notify_telegram_chat_id, &c, &st,
                                    err, errlen);
        if (rc == 0 && st.disabled && !n->said_disabled[k])
            say(n, "%s is disabled: %s; change its configuration and restart to enable it again",
                notify_kind_name(k), st.reason);
        if (rc == 0)
            n->said_disabled[k] = st.disabled;
        if (st.wait_ms > 0 && st.wait_ms < n->wait_hint_ms)
            n->wait_hint_ms = st.wait_ms;
        if (rc <= 0)
            return rc < 0 ? -1 : done;
        notify_judgement j;
        deliver(n, &c, &j);
        /* Each new trouble once; disabling and giving up say so in record(). */
        if ((j.verdict == NOTIFY_TRANSIENT || j.verdict == NOTIFY_RATE_LIMITED) &&
            strcmp(j.reason, n->printed) != 0) {
            say(n, "%s: %s", notify_kind_name(k), j.reason);
            snprintf(n->printed, sizeof n->printed, "%s", j.reason);
        }
        rc = record(n, &c, &j, err, errlen);
        notify_claim_done(&c);
        if (rc != 0)
            return -1;
        done++;
    }
    return done;
}

/* ---- the pass ---- */

static int connect_and_listen(notifier *n, char *err, size_t errlen)
{
    if (pg_ensure(&n->pg, n->cfg->pg_url, err, errlen) != 0)
        return -1;
    int pid = PQbackendPID(n->pg);
    if (pid != n->listen_pid) {
        if (pg_exec_ok(n->pg, "listen " NOTIFY_CHANNEL, err, errlen) != 0)
            return -1;
        n->listen_pid = pid;
    }
    if (!n->reenable_done) {
        for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
            if (!n->active[k])
                continue;
            bool again = false;
            if (notify_queue_reenable(n->pg, (enum notify_kind)k, n->fingerprint[k], &again, err,
                                      errlen) != 0)
                return -1;
            if (again)
                say(n, "%s enabled again: its configuration changed since it was disabled",
                    notify_kind_name((enum notify_kind)k));
        }
        n->reenable_done = true;
    }
    return 0;
}

static int pass(notifier *n, char *err, size_t errlen)
{
    n->wait_hint_ms = POLL_MS;
    if (n->n_active == 0)
        return 0;
    /* A connection that died since the last pass shows only when used. */
    if (connect_and_listen(n, err, errlen) != 0 ||
        (PQstatus(n->pg) == CONNECTION_OK && pg_exec_ok(n->pg, "select 1", err, errlen) != 0 &&
         connect_and_listen(n, err, errlen) != 0))
        return -1;
    if (!n->x) {
        n->x = broker_xfer_new(n->cfg->notify_timeout_ms, n->cfg->notify_timeout_ms, n->headers);
        /* notifier_stop aborts a request in flight. */
        if (!n->x || curl_easy_setopt(n->x->easy, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
            curl_easy_setopt(n->x->easy, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
            curl_easy_setopt(n->x->easy, CURLOPT_XFERINFODATA, n) != CURLE_OK) {
            broker_xfer_free(n->x);
            n->x = NULL;
            snprintf(err, errlen, "out of memory setting up requests");
            return -1;
        }
    }
    int rescued = 0;
    if (notify_queue_rescue(n->pg, n->cfg->notify_max_attempts,
                            (int64_t)n->cfg->notify_timeout_ms * FOLLOWUPS + RESCUE_MARGIN_MS,
                            &rescued, err, errlen) != 0)
        return -1;
    bump(n, &n->stats.rescued, (uint64_t)rescued);
    int total = 0;
    for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
        if (!n->active[k])
            continue;
        int d = destination_pass(n, (enum notify_kind)k, err, errlen);
        if (d < 0)
            return -1;
        total += d;
    }
    return total;
}

int notifier_run_once(notifier *n, char *err, size_t errlen)
{
    char e[ERR_LEN] = "";
    int rc = pass(n, e, sizeof e);
    masked(n, e, sizeof e);
    pthread_mutex_lock(&n->lock);
    n->stats.passes++;
    n->stats.last_pass_ms = clock_now_ms();
    snprintf(n->stats.last_error, sizeof n->stats.last_error, "%s", rc < 0 ? e : "");
    pthread_mutex_unlock(&n->lock);
    if (rc < 0)
        snprintf(err, errlen, "%s", e);
    return rc;
}

/* ---- the thread ---- */

/* Sleeps until a NOTIFY, the stop eventfd, or timeout_ms. */
static void wait_for_work(notifier *n, int timeout_ms)
{
    /* A NOTIFY read while the pass ran its queries is already in libpq's
     * list, and the socket will not say so again. */
    if (n->pg && pg_drain_notifies(n->pg))
        return;
    struct pollfd fds[2] = {{.fd = n->wake_fd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    if (n->pg && PQstatus(n->pg) == CONNECTION_OK && n->listen_pid)
        fds[1].fd = PQsocket(n->pg);
    if (poll(fds, 2, timeout_ms) <= 0)
        return;
    if (fds[1].revents && n->pg) {
        if (PQconsumeInput(n->pg) == 0)
            n->listen_pid = 0; /* broken: the next pass reconnects */
        pg_drain_notifies(n->pg);
    }
}

static void *notifier_main(void *arg)
{
    notifier *n = arg;
    while (!atomic_load(&n->stop)) {
        char err[ERR_LEN] = "";
        if (notifier_run_once(n, err, sizeof err) < 0) {
            if (strcmp(err, n->printed) != 0)
                say(n, "%s", err);
            snprintf(n->printed, sizeof n->printed, "%s", err);
            n->wait_hint_ms = POLL_MS;
        }
        if (!atomic_load(&n->stop))
            wait_for_work(n, (int)(n->wait_hint_ms > 0 ? n->wait_hint_ms : 1));
    }
    return NULL;
}

int notifier_start(notifier *n, char *err, size_t errlen)
{
    if (n->started) {
        snprintf(err, errlen, "notify: the notifier is already running");
        return -1;
    }
    if (n->n_active == 0)
        return 0;
    atomic_store(&n->stop, false);
    int rc = pthread_create(&n->thread, NULL, notifier_main, n);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the notifier thread: %s", strerror(rc));
        return -1;
    }
    n->started = true;
    return 0;
}

void notifier_stop(notifier *n)
{
    if (!n || !n->started)
        return;
    atomic_store(&n->stop, true);
    uint64_t one = 1;
    if (write(n->wake_fd, &one, sizeof one) < 0) {
        /* the counter is full: the thread is being woken anyway */
    }
    pthread_join(n->thread, NULL);
    n->started = false;
    uint64_t drain;
    while (read(n->wake_fd, &drain, sizeof drain) > 0)
        ;
}

void notifier_free(notifier *n)
{
    if (!n)
        return;
    notifier_stop(n);
    broker_xfer_free(n->x);
    curl_slist_free_all(n->headers);
    if (n->pg)
        PQfinish(n->pg);
    if (n->wake_fd >= 0)
        close(n->wake_fd);
    pthread_mutex_destroy(&n->lock);
    free(n);
    curl_global_cleanup();
}

notifier *notifier_new(const config *cfg, char *err, size_t errlen)
{
    if (notify_check_config(cfg, err, errlen) != 0)
        return NULL;
    notifier *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "notify: out of memory");
        return NULL;
    }
    n->wake_fd = -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(n);
        snprintf(err, errlen, "notify: libcurl failed to initialise");
        return NULL;
    }
    /* From here on notifier_free can undo whatever was done. */
    n->cfg = cfg;
    atomic_init(&n->stop, false);
    pthread_mutex_init(&n->lock, NULL);
    static atomic_uint serial;
    char host[64] = "";
    if (!cfg->instance[0] && gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "localhost");
    snprintf(n->instance, sizeof n->instance, "%.64s:%ld:%u",
             cfg->instance[0] ? cfg->instance : host, (long)getpid(), atomic_fetch_add(&serial, 1));
    n->rng = (uint64_t)clock_mono_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid() ^
             ((uint64_t)(uintptr_t)n << 7) ^ 1;
    notify_mask_token(cfg->notify_telegram_token, n->token_mask, sizeof n->token_mask);
    notify_mask_url(cfg->notify_slack_webhook_url, n->url_mask, sizeof n->url_mask);
    for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
        n->active[k] = cfg->notify_enabled && notify_configured(cfg, (enum notify_kind)k);
        n->n_active += n->active[k];
        notify_config_fingerprint(cfg, (enum notify_kind)k, n->fingerprint[k]);
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    n->headers = h ? curl_slist_append(h, "Accept: application/json") : NULL;
    if (!n->headers)
        curl_slist_free_all(h);
    n->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!n->headers || n->wake_fd < 0) {
        notifier_free(n);
        snprintf(err, errlen, "notify: out of resources setting up the notifier");
        return NULL;
    }
    return n;
}

void notifier_last_stats(notifier *n, notifier_stats *out)
{
    pthread_mutex_lock(&n->lock);
    *out = n->stats;
    pthread_mutex_unlock(&n->lock);
}

int notifier_destinations(const notifier *n)
{
    return n->n_active;
}
