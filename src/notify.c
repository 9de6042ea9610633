/*
 * notify.c - see notify.h.
 *
 * One statement queues a message for all its destinations: the rows are
 * inserted with ON CONFLICT DO NOTHING against the dedupe index, and each
 * row inserted sends its pg_notify (delivered when the caller commits).
 *
 * Threads: see notify.h.
 */
#include "notify.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pg.h"
#include "sanitize.h"

#define RULE_MAX 64
#define LEVEL_MAX 64
#define ACCOUNT_MAX 64
#define ID_LEN 24
#define FINGERPRINT_BYTES 16
#define PG_ERR_LEN 256

/* Said once per process: a route names a destination that is not configured. */
static atomic_bool said_unconfigured[NOTIFY_KIND_COUNT];

bool notify_configured(const config *cfg, enum notify_kind k)
{
    switch (k) {
    case NOTIFY_TELEGRAM:
        return cfg->notify_telegram_token[0] && cfg->notify_telegram_chat_id[0] &&
               cfg->notify_telegram_api_url[0];
    case NOTIFY_SLACK: return cfg->notify_slack_webhook_url[0] != '\0';
    default: return false;
    }
}

static const char *route_of(const config *cfg, enum alert_severity sev, const char **key)
{
    switch (sev) {
    case ALERT_INFO: *key = "notify.route_info"; return cfg->notify_route_info;
    case ALERT_WARNING: *key = "notify.route_warning"; return cfg->notify_route_warning;
    case ALERT_CRITICAL: *key = "notify.route_critical"; return cfg->notify_route_critical;
    default: *key = "notify.route_*"; return NULL;
    }
}

int notify_route(const config *cfg, enum alert_severity sev, unsigned *mask, char *err,
                 size_t errlen)
{
    const char *key, *route = route_of(cfg, sev, &key);
    *mask = 0;
    if (!route) {
        snprintf(err, errlen, "notify: unknown alert severity %d", (int)sev);
        return -1;
    }
    for (const char *p = route; *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, " ,");
        if (n == 0)
            break;
        char name[16];
        enum notify_kind k;
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
        if (n >= sizeof name || notify_kind_parse(name, &k) != 0) {
            snprintf(err, errlen, "%s: unknown destination \"%.*s\"; allowed: telegram, slack", key,
                     (int)(n > 40 ? 40 : n), p);
            return -1;
        }
        *mask |= 1u << k;
        p += n;
    }
    return 0;
}

static bool http_url_ok(const char *url)
{
    return (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) &&
           !strpbrk(url, " \t\r\n");
}

int notify_check_config(const config *cfg, char *err, size_t errlen)
{
    unsigned mask;
    for (int s = 0; s < ALERT_SEVERITY_COUNT; s++)
        if (notify_route(cfg, (enum alert_severity)s, &mask, err, errlen) != 0)
            return -1;
    if (!http_url_ok(cfg->notify_telegram_api_url)) {
        snprintf(err, errlen, "notify.telegram_api_url must start with http:// or https://");
        return -1;
    }
    if (cfg->notify_telegram_chat_id[0] && !notify_chat_id_ok(cfg->notify_telegram_chat_id)) {
        snprintf(err, errlen,
                 "notify.telegram_chat_id must be a number (groups are negative) or "
                 "@channelname, not \"%.64s\"",
                 cfg->notify_telegram_chat_id);
        return -1;
    }
    for (const char *p = cfg->notify_telegram_token; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(":_-", *p)) {
            snprintf(err, errlen,
                     "notify: the Telegram bot token (telegram_token_file or "
                     "TRADEOPS_TELEGRAM_TOKEN) holds a character a token never has; it should "
                     "look like 123456:ABC-DEF...");
            return -1;
        }
    if (cfg->notify_slack_webhook_url[0] && !http_url_ok(cfg->notify_slack_webhook_url)) {
        snprintf(err, errlen,
                 "notify: the Slack webhook URL (slack_webhook_url_file or "
                 "TRADEOPS_SLACK_WEBHOOK_URL) must be one http:// or https:// URL");
        return -1;
    }
    return 0;
}

void notify_config_fingerprint(const config *cfg, enum notify_kind k, char out[33])
{
    char buf[4 * CONFIG_STR];
    int n = k == NOTIFY_TELEGRAM
                ? snprintf(buf, sizeof buf, "telegram\n%s\n%s\n%s", cfg->notify_telegram_api_url,
                           cfg->notify_telegram_chat_id, cfg->notify_telegram_token)
                : snprintf(buf, sizeof buf, "slack\n%s", cfg->notify_slack_webhook_url);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    out[0] = '\0';
    if (n > 0 &&
        EVP_Digest(buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1), md, &mdlen,
                   EVP_sha256(), NULL) == 1 &&
        mdlen >= FINGERPRINT_BYTES)
        for (int i = 0; i < FINGERPRINT_BYTES; i++)
            snprintf(out + 2 * i, 3, "%02x", md[i]);
    memset(buf, 0, sizeof buf);
}

/* ---- queueing ---- */

static bool rule_ok(const char *r)
{
    size_t n = r ? strlen(r) : 0;
    if (n == 0 || n > RULE_MAX || !islower((unsigned char)r[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!islower((unsigned char)r[i]) && !isdigit((unsigned char)r[i]) && !strchr("_.-", r[i]))
            return false;
    return true;
}

static bool level_ok(const char *l)
{
    size_t n = l ? strlen(l) : 0;
    return n >= 1 && n <= LEVEL_MAX && sanitize_is_clean(l);
}

static void say_unconfigured(enum notify_kind k, enum alert_severity sev)
{
    if (atomic_exchange(&said_unconfigured[k], true))
        return;
    fprintf(stderr,
            "tradeops: notify: %s alerts are routed to %s, which is not configured (%s); nothing "
            "is queued for it\n",
            alert_severity_name(sev), notify_kind_name(k),
            k == NOTIFY_TELEGRAM ? "[notify] telegram_token_file or TRADEOPS_TELEGRAM_TOKEN, and "
                                   "telegram_chat_id"
                                 : "[notify] slack_webhook_url_file or TRADEOPS_SLACK_WEBHOOK_URL");
}

static const char *SQL_ENQUEUE =
    "with ins as (insert into notifications (destination, alert_id, account_id, rule, level,"
    " day, severity, title, body)"
    " select d.name, (select a.id from alerts a where a.id = nullif($1, '0')::bigint),"
    " nullif($2, ''), $3, $4, (now() at time zone 'UTC')::date, $5, $6, nullif($7, '')"
    " from notify_destinations d where d.name = any($8::text[]) and d.disabled_at is null"
    " order by d.name"
    " on conflict do nothing returning destination)"
    " select destination, pg_notify('" NOTIFY_CHANNEL "', destination) from ins";

/* Runs the insert inside a savepoint (or a transaction of its own) so that
 * a failure leaves the caller's transaction as it was. */
static int run_enqueue(PGconn *c, const char *const *p, char *err, size_t errlen)
{
    PGTransactionStatusType ts = PQtransactionStatus(c);
    if (ts != PQTRANS_IDLE && ts != PQTRANS_INTRANS) {
        snprintf(err, errlen, "notify: the connection is %s; nothing queued",
                 ts == PQTRANS_INERROR ? "in a failed transaction" : "busy or broken");
        return -1;
    }
    bool own = ts == PQTRANS_IDLE;
    char perr[PG_ERR_LEN] = "";
    if (pg_exec_ok(c, own ? "begin" : "savepoint notify_enqueue", perr, sizeof perr) != 0) {
        snprintf(err, errlen, "notify: %s", perr);
        return -1;
    }
    PGresult *r = pg_exec_params(c, SQL_ENQUEUE, 8, NULL, p, NULL, NULL, 0);
    int n = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        n = PQntuples(r);
    else
        pg_error_copy(perr, sizeof perr, PQresultErrorMessage(r));
    PQclear(r);
    if (n >= 0 &&
        pg_exec_ok(c, own ? "commit" : "release savepoint notify_enqueue", perr, sizeof perr) == 0)
        return n;
    PQclear(
        pg_exec(c, own ? "rollback"
                       : "rollback to savepoint notify_enqueue; release savepoint notify_enqueue"));
    snprintf(err, errlen, "notify: queueing failed: %s", perr);
    return -1;
}

int notify_enqueue(PGconn *c, const config *cfg, const notify_msg *msg, char *err, size_t errlen)
{
    if (!msg || !rule_ok(msg->rule) || !level_ok(msg->level) || !msg->title ||
        (unsigned)msg->severity >= ALERT_SEVERITY_COUNT) {
        snprintf(err, errlen,
                 "notify: bad message: rule must match [a-z][a-z0-9_.-]{0,63}, level be 1-64 "
                 "printable bytes, title set and severity info, warning or critical");
        return -1;
    }
    if (!cfg->notify_enabled)
        return 0;
    unsigned mask;
    if (notify_route(cfg, msg->severity, &mask, err, errlen) != 0)
        return -1;
    char names[NOTIFY_KIND_COUNT * 16 + 4] = "{";
    int wanted = 0;
    for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
        if (!(mask & (1u << k)))
            continue;
        if (!notify_configured(cfg, (enum notify_kind)k)) {
            say_unconfigured((enum notify_kind)k, msg->severity);
            continue;
        }
        size_t o = strlen(names);
        snprintf(names + o, sizeof names - o, "%s%s", wanted++ ? "," : "",
                 notify_kind_name((enum notify_kind)k));
    }
    if (wanted == 0)
        return 0;
    strcat(names, "}");
    char title[NOTIFY_TITLE_MAX + 1], account[ACCOUNT_MAX + 1], id[ID_LEN];
    char *body = malloc(NOTIFY_BODY_MAX + 1);
    if (!body) {
        snprintf(err, errlen, "notify: out of memory");
        return -1;
    }
    notify_clean(msg->title, title, sizeof title, false);
    notify_clean(msg->body, body, NOTIFY_BODY_MAX + 1, true);
    notify_clean(msg->account, account, sizeof account, false);
    if (!title[0])
        snprintf(title, sizeof title, "(no title)");
    snprintf(id, sizeof id, "%lld", (long long)(msg->alert_id > 0 ? msg->alert_id : 0));
    const char *p[8] = {id,    account, msg->rule, msg->level, alert_severity_name(msg->severity),
                        title, body,    names};
    int n = run_enqueue(c, p, err, errlen);
    free(body);
    return n;
}

/* ---- the notifier's end ---- */

static const char *SQL_DESTINATION =
    "select coalesce(chat_id, ''), coalesce(chat_id_from, ''), disabled_at is not null,"
    " coalesce(disabled_reason, ''), case when next_send_at <= clock_timestamp() then 0"
    " else ceil(extract(epoch from next_send_at - clock_timestamp()) * 1000)::bigint end"
    " from notify_destinations where name = $1 for update";

static const char *SQL_CLAIM =
    "update notifications set state = 'sending', attempts = attempts + 1,"
    " claimed_at = clock_timestamp(), claimed_by = $2"
    " where id in (select id from notifications where destination = $1"
    " and state in ('queued', 'failed') and next_attempt_at <= clock_timestamp()"
    " order by case severity when 'critical' then 0 when 'warning' then 1 else 2 end,"
    " next_attempt_at, id limit 1 for update skip locked)"
    " returning id, severity, coalesce(account_id, ''), title, coalesce(body, ''),"
    " coalesce(alert_id, 0), attempts";

static const char *SQL_NEXT_SEND =
    "update notify_destinations set next_send_at = clock_timestamp() + $2::bigint"
    " * interval '1 ms', updated_at = now() where name = $1";

/* Fills c from the claim's row and the destination's chat. */
static void claim_from(notify_claim *c, enum notify_kind k, PGresult *r, const PGresult *d,
                       const char *cfg_chat)
{
    memset(c, 0, sizeof *c);
    c->kind = k;
    bool moved = PQgetvalue(d, 0, 0)[0] && strcmp(PQgetvalue(d, 0, 1), cfg_chat) == 0;
    snprintf(c->chat, sizeof c->chat, "%s", moved ? PQgetvalue(d, 0, 0) : cfg_chat);
    snprintf(c->id, sizeof c->id, "%s", PQgetvalue(r, 0, 0));
    if (alert_severity_parse(PQgetvalue(r, 0, 1), &c->severity) != 0)
        c->severity = ALERT_CRITICAL;
    snprintf(c->account, sizeof c->account, "%s", PQgetvalue(r, 0, 2));
    c->title = PQgetvalue(r, 0, 3);
    c->body = PQgetvalue(r, 0, 4);
    c->alert_id = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
    c->attempts = atoi(PQgetvalue(r, 0, 6));
    c->res = r;
}

int notify_queue_claim(PGconn *pg, enum notify_kind k, const char *instance, const char *cfg_chat,
                       notify_claim *c, notify_dest_state *st, char *err, size_t errlen)
{
    const char *name = notify_kind_name(k);
    const char *p[2] = {name, instance};
    PGresult *d = NULL, *r = NULL;
    int rc = -1;
    memset(st, 0, sizeof *st);
    if (pg_exec_ok(pg, "begin", err, errlen) != 0)
        return -1;
    /* The destination's row, locked: every instance shares its rate limit. */
    if (!(d = pg_query(pg, SQL_DESTINATION, 1, p, err, errlen)) || PQntuples(d) != 1) {
        if (d)
            snprintf(err, errlen, "notify_destinations has no row %s (run tradeops migrate)", name);
        goto out;
    }
    rc = 0;
    st->disabled = PQgetvalue(d, 0, 2)[0] == 't';
    snprintf(st->reason, sizeof st->reason, "%s", PQgetvalue(d, 0, 3));
    st->wait_ms = strtoll(PQgetvalue(d, 0, 4), NULL, 10);
    if (st->disabled || st->wait_ms > 0)
        goto out;
    if (!(r = pg_query(pg, SQL_CLAIM, 2, p, err, errlen))) {
        rc = -1;
        goto out;
    }
    if (PQntuples(r) == 1) {
        claim_from(c, k, r, d, cfg_chat);
        r = NULL;
        char interval[24];
        snprintf(interval, sizeof interval, "%d",
                 k == NOTIFY_TELEGRAM ? notify_chat_interval_ms(c->chat) : NOTIFY_MIN_INTERVAL_MS);
        const char *p2[2] = {name, interval};
        PGresult *u = pg_query(pg, SQL_NEXT_SEND, 2, p2, err, errlen);
        rc = u ? 1 : -1;
        PQclear(u);
    }
out:
    PQclear(d);
    PQclear(r);
    if (rc >= 0 && pg_exec_ok(pg, "commit", err, errlen) == 0)
        return rc;
    PQclear(pg_exec(pg, "rollback"));
    if (rc == 1)
        notify_claim_done(c);
    return -1;
}

void notify_claim_done(notify_claim *c)
{
    PQclear(c->res);
    c->res = NULL;
    c->title = c->body = NULL;
}

static const char *SQL_SENT =
    "update notifications set state = 'sent', sent_at = now(), last_status = $2::int,"
    " last_error = null, claimed_at = null, claimed_by = null where id = $1::bigint"
    " returning state";

static const char *SQL_FAILED =
    "update notifications set state = case when $3 = 'dead' or ($3 = 'retry' and attempts >="
    " $7::int) then 'dead' else 'failed' end,"
    " attempts = case when $3 = 'again' then greatest(attempts - 1, 0) else attempts end,"
    " next_attempt_at = clock_timestamp() + $4::bigint * interval '1 ms',"
    " last_status = nullif($5::int, 0), last_error = left($6, 500),"
    " claimed_at = null, claimed_by = null"
    " where id = $1::bigint and state = 'sending' and claimed_by = $2 returning state";

int notify_queue_finish(PGconn *pg, const notify_claim *c, const char *instance,
                        enum notify_outcome o, int64_t wait_ms, long status, const char *reason,
                        int max_attempts, bool *dead, char *err, size_t errlen)
{
    static const char *const how[] = {"sent", "retry", "again", "dead"};
    char st[16], wait[24], max[16];
    snprintf(st, sizeof st, "%ld", status);
    snprintf(wait, sizeof wait, "%lld", (long long)wait_ms);
    snprintf(max, sizeof max, "%d", max_attempts);
    const char *p[7] = {
        c->id, o == NOTIFY_OUT_SENT ? st : instance, how[o], wait, st, reason ? reason : "", max};
    /* A delivery is recorded even if the claim was rescued meanwhile. */
    PGresult *r = o == NOTIFY_OUT_SENT ? pg_query(pg, SQL_SENT, 2, p, err, errlen)
                                       : pg_query(pg, SQL_FAILED, 7, p, err, errlen);
    if (!r)
        return -1;
    *dead = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "dead") == 0;
    PQclear(r);
    return 0;
}

int notify_queue_rate_limit(PGconn *pg, enum notify_kind k, int64_t wait_ms, char *err,
                            size_t errlen)
{
    char wait[24];
    snprintf(wait, sizeof wait, "%lld", (long long)wait_ms);
    const char *p[2] = {notify_kind_name(k), wait};
    PGresult *r = pg_query(pg,
                    "update notify_destinations set next_send_at = greatest(next_send_at,"
                    " clock_timestamp() + $2::bigint * interval '1 ms'), updated_at = now()"
                    " where name = $1",
                    2, p, err, errlen);
    PQclear(r);
    return r ? 0 : -1;
}

static const char *SQL_DISABLE =
    "with d as (update notify_destinations set disabled_at = coalesce(disabled_at, now()),"
    " disabled_reason = coalesce(disabled_reason, left($2, 500)), disabled_config = $3,"
    " updated_at = now() where name = $1),"
    " m as (update notifications set state = 'dead', last_status = nullif($4::int, 0),"
    " last_error = left($2, 500), claimed_at = null, claimed_by = null"
    " where id = $5::bigint and state = 'sending'),"
    " s as (update notifications set state = 'skipped', last_error = left('not sent: ' || $1"
    " || ' disabled: ' || $2, 500), claimed_at = null, claimed_by = null"
    " where destination = $1 and state in ('queued', 'failed') returning 1)"
    " select count(*) from s";

int notify_queue_disable(PGconn *pg, const notify_claim *c, const char *reason,
                         const char *fingerprint, long status, long *skipped, char *err,
                         size_t errlen)
{
    char st[16];
    snprintf(st, sizeof st, "%ld", status);
    const char *p[5] = {notify_kind_name(c->kind), reason, fingerprint, st, c->id};
    PGresult *r = pg_query(pg, SQL_DISABLE, 5, p, err, errlen);
    if (!r)
        return -1;
    *skipped = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int notify_queue_migrate(PGconn *pg, const char *new_chat, const char *from_chat, char *err,
                         size_t errlen)
{
    const char *p[2] = {new_chat, from_chat};
    PGresult *r = pg_query(pg,
                    "update notify_destinations set chat_id = $1, chat_id_from = $2,"
                    " updated_at = now() where name = 'telegram'",
                    2, p, err, errlen);
    PQclear(r);
    return r ? 0 : -1;
}

static const char *SQL_RESCUE =
    "update notifications set state = case when attempts >= $1::int then 'dead' else 'failed' end,"
    " next_attempt_at = clock_timestamp(), claimed_at = null, claimed_by = null,"
    " last_error = left('rescued: left sending by ' || coalesce(claimed_by, '?') || ' since '"
    " || claimed_at::text, 500)"
    " where state = 'sending' and claimed_at < clock_timestamp() - $2::bigint * interval '1 ms'"
    " returning id";

int notify_queue_rescue(PGconn *pg, int max_attempts, int64_t older_than_ms, int *rescued,
                        char *err, size_t errlen)
{
    char max[16], older[24];
    snprintf(max, sizeof max, "%d", max_attempts);
    snprintf(older, sizeof older, "%lld", (long long)older_than_ms);
    const char *p[2] = {max, older};
    PGresult *r = pg_query(pg, SQL_RESCUE, 2, p, err, errlen);
    if (!r)
        return -1;
    *rescued = PQntuples(r);
    PQclear(r);
    return 0;
}

int notify_queue_reenable(PGconn *pg, enum notify_kind k, const char *fingerprint, bool *reenabled,
                          char *err, size_t errlen)
{
    const char *p[2] = {notify_kind_name(k), fingerprint};
    PGresult *r = pg_query(pg,
                    "update notify_destinations set disabled_at = null, disabled_reason = null,"
                    " disabled_config = null, updated_at = now() where name = $1"
                    " and disabled_at is not null and disabled_config is distinct from $2"
                    " returning name",
                    2, p, err, errlen);
    if (!r)
        return -1;
    *reenabled = PQntuples(r) == 1;
    PQclear(r);
    return 0;
}
