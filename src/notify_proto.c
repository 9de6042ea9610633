/*
 * notify_proto.c - see notify_proto.h.
 *
 * Telegram's Bot API: https://core.telegram.org/bots/api#sendmessage and
 * #responseparameters (retry_after, migrate_to_chat_id); HTML parse mode
 * needs only & < > escaped in text. Slack incoming webhooks answer 200 "ok"
 * or an error word in the body (invalid_payload, action_prohibited,
 * no_service, channel_is_archived...).
 *
 * Pure functions, safe from any thread.
 */
#include "notify_proto.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "sanitize.h"

#define MS_PER_S 1000
#define MS_PER_MIN 60000
#define HTTP_OK_MIN 200
#define HTTP_OK_MAX 299
#define HTTP_BAD_REQUEST 400
#define HTTP_UNAUTHORIZED 401
#define HTTP_FORBIDDEN 403
#define HTTP_NOT_FOUND 404
#define HTTP_REQUEST_TIMEOUT 408
#define HTTP_TOO_MANY 429
#define HTTP_CLIENT_MAX 499
#define HTTP_SERVER_MIN 500
#define HTTP_SERVER_MAX 599
#define ELLIPSIS "..."
#define ACCOUNT_MAX 64
#define QUOTE_MAX 120 /* bytes of a reply quoted in a reason */
#define CHAT_DIGITS_MAX 20
#define CHAT_NAME_MIN 4
#define CHAT_NAME_MAX 32
#define TOKEN_ID_SHOWN 3
#define URL_SEGMENTS_SHOWN 2
#define REDACT_PART_MIN 6
#define BACKOFF_MAX_SHIFT 30

static const char *const KIND_NAMES[NOTIFY_KIND_COUNT] = {"telegram", "slack"};

const char *notify_kind_name(enum notify_kind k)
{
    return (unsigned)k < NOTIFY_KIND_COUNT ? KIND_NAMES[k] : "?";
}

int notify_kind_parse(const char *s, enum notify_kind *out)
{
    for (int k = 0; k < NOTIFY_KIND_COUNT; k++)
        if (s && strcasecmp(s, KIND_NAMES[k]) == 0) {
            *out = (enum notify_kind)k;
            return 0;
        }
    return -1;
}

/* ---- cleaning and escaping ---- */

/* Cuts s (len bytes) to at most max bytes at a UTF-8 boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

size_t notify_clean(const char *in, char *out, size_t outlen, bool multiline)
{
    if (outlen == 0)
        return 0;
    out[0] = '\0';
    if (!in)
        return 0;
    size_t n = strlen(in), o = 0;
    char *tmp = malloc(n + 1), *line = malloc(n + 1);
    if (!tmp || !line) {
        free(tmp);
        free(line);
        return 0;
    }
    for (const char *p = in;;) {
        const char *nl = multiline ? strchr(p, '\n') : NULL;
        size_t ln = nl ? (size_t)(nl - p) : strlen(p);
        memcpy(line, p, ln);
        line[ln] = '\0';
        if (multiline && ln && line[ln - 1] == '\r')
            line[--ln] = '\0';
        for (size_t i = 0; i < ln; i++)
            if (line[i] == '\t')
                line[i] = ' ';
        /* sanitize_text never writes more than it reads, so this fits. */
        o += sanitize_text(line, tmp + o, n + 1 - o, true);
        if (!nl)
            break;
        tmp[o++] = '\n';
        p = nl + 1;
    }
    tmp[o] = '\0';
    if (o >= outlen) {
        size_t room = outlen > sizeof ELLIPSIS ? outlen - sizeof ELLIPSIS : 0;
        o = utf8_cut(tmp, o, room);
        memcpy(tmp + o, ELLIPSIS, sizeof ELLIPSIS);
        o += sizeof ELLIPSIS - 1;
        if (o >= outlen) /* outlen too small even for the ellipsis */
            o = 0;
        tmp[o] = '\0';
    }
    memcpy(out, tmp, o + 1);
    free(tmp);
    free(line);
    return o;
}

char *notify_escape(const char *s)
{
    if (!s)
        s = "";
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : 1;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = s; *p; p++) {
        const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
        if (rep) {
            memcpy(o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* ---- the message ---- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, bool escape)
{
    char *esc = escape ? notify_escape(s) : NULL;
    const char *src = escape ? esc : s;
    if (b->oom || !src) {
        b->oom = true;
        free(esc);
        return;
    }
    size_t n = strlen(src);
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            free(esc);
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n + 1);
    b->len += n;
    free(esc);
}

static char *sb_finish(sbuf *b)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    return b->p ? b->p : calloc(1, 1);
}

enum markup { MARKUP_NONE, MARKUP_HTML, MARKUP_MRKDWN };

static char *build_text(const notify_text *m, enum markup mk)
{
    char title[NOTIFY_TITLE_MAX + 1], body[NOTIFY_BODY_MAX + 1], acct[ACCOUNT_MAX + 1];
    notify_clean(m->title, title, sizeof title, false);
    notify_clean(m->body, body, sizeof body, true);
    notify_clean(m->account, acct, sizeof acct, false);
    char sev[16];
    snprintf(sev, sizeof sev, "%s", alert_severity_name(m->severity));
    for (char *p = sev; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    bool esc = mk != MARKUP_NONE;
    sbuf b = {0};
    sb_add(&b, mk == MARKUP_HTML ? "<b>" : mk == MARKUP_MRKDWN ? "*" : "", false);
    sb_add(&b, "[", false);
    sb_add(&b, sev, false);
    sb_add(&b, "] ", false);
    sb_add(&b, title, esc);
    sb_add(&b, mk == MARKUP_HTML ? "</b>" : mk == MARKUP_MRKDWN ? "*" : "", false);
    if (body[0]) {
        sb_add(&b, "\n", false);
        sb_add(&b, body, esc);
    }
    if (acct[0] || m->alert_id > 0) {
        char alert[40] = "";
        if (m->alert_id > 0)
            snprintf(alert, sizeof alert, "%salert #%lld", acct[0] ? " \xC2\xB7 " : "",
                     (long long)m->alert_id);
        sb_add(&b, "\n", false);
        if (acct[0]) {
            sb_add(&b, "account ", false);
            sb_add(&b, acct, esc);
        }
        sb_add(&b, alert, false);
    }
    return sb_finish(&b);
}

char *notify_text_telegram(const notify_text *m, bool html)
{
    return build_text(m, html ? MARKUP_HTML : MARKUP_NONE);
}

char *notify_text_slack(const notify_text *m)
{
    return build_text(m, MARKUP_MRKDWN);
}

/* Prints obj and hands back a malloc'ed copy (free(), not cJSON_free). */
static char *print_json(cJSON *obj, bool ok)
{
    char *printed = ok ? cJSON_PrintUnformatted(obj) : NULL, *out = NULL;
    if (printed) {
        out = strdup(printed);
        cJSON_free(printed);
    }
    cJSON_Delete(obj);
    return out;
}

char *notify_request_telegram(const char *chat_id, const char *text, bool html)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "chat_id", chat_id ? chat_id : "") &&
              cJSON_AddStringToObject(o, "text", text ? text : "") &&
              (!html || cJSON_AddStringToObject(o, "parse_mode", "HTML")) &&
              cJSON_AddTrueToObject(o, "disable_web_page_preview");
    return print_json(o, ok);
}

char *notify_request_slack(const char *text)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "text", text ? text : "");
    return print_json(o, ok);
}

bool notify_chat_id_ok(const char *c)
{
    if (!c || !*c)
        return false;
    size_t n = strlen(c);
    if (c[0] == '@') {
        if (n - 1 < CHAT_NAME_MIN || n - 1 > CHAT_NAME_MAX || !isalpha((unsigned char)c[1]))
            return false;
        for (size_t i = 1; i < n; i++)
            if (!isalnum((unsigned char)c[i]) && c[i] != '_')
                return false;
        return true;
    }
    size_t i = c[0] == '-' ? 1 : 0;
    if (n == i || n - i > CHAT_DIGITS_MAX)
        return false;
    for (; i < n; i++)
        if (!isdigit((unsigned char)c[i]))
            return false;
    return true;
}

int notify_chat_interval_ms(const char *chat_id)
{
    int group = MS_PER_MIN / NOTIFY_GROUP_PER_MINUTE;
    bool shared = chat_id && (chat_id[0] == '-' || chat_id[0] == '@'); /* group or channel */
    return shared && group > NOTIFY_MIN_INTERVAL_MS ? group : NOTIFY_MIN_INTERVAL_MS;
}

/* ---- what a reply means ---- */

static const char *const VERDICT_NAMES[NOTIFY_VERDICT_COUNT] = {
    "sent", "resend-plain", "migrate", "rate-limited", "disable", "transient", "permanent"};

const char *notify_verdict_name(enum notify_verdict v)
{
    return (unsigned)v < NOTIFY_VERDICT_COUNT ? VERDICT_NAMES[v] : "?";
}

static bool status_ok(long s)
{
    return s >= HTTP_OK_MIN && s <= HTTP_OK_MAX;
}

/* A short, cleaned quote of a reply body (one line). */
static void quote_body(const notify_reply *r, char *out, size_t outlen)
{
    size_t n = r->body ? r->len : 0;
    if (n > QUOTE_MAX)
        n = QUOTE_MAX;
    char raw[QUOTE_MAX + 1];
    memcpy(raw, r->body ? r->body : "", n);
    raw[n] = '\0';
    notify_clean(raw, out, outlen, false);
}

/* Retry-After (header) and retry_after (body, seconds): the longer, else
 * the default, at most NOTIFY_MAX_RETRY_AFTER_MS. */
static int64_t retry_wait_ms(const notify_reply *r, double body_s)
{
    int64_t h = r->retry_after && r->retry_after[0]
                    ? broker_parse_retry_after(r->retry_after, r->now_ms)
                    : -1;
    int64_t b = -1;
    if (isfinite(body_s) && body_s >= 0)
        b = body_s * MS_PER_S > (double)NOTIFY_MAX_RETRY_AFTER_MS ? NOTIFY_MAX_RETRY_AFTER_MS
                                                                  : (int64_t)(body_s * MS_PER_S);
    int64_t w = h > b ? h : b;
    if (w < 0)
        w = NOTIFY_DEFAULT_RETRY_AFTER_MS;
    return w > NOTIFY_MAX_RETRY_AFTER_MS ? NOTIFY_MAX_RETRY_AFTER_MS : w;
}

static void verdict(notify_judgement *j, enum notify_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verdict(notify_judgement *j, enum notify_verdict v, const char *fmt, ...)
{
    j->verdict = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->reason, sizeof j->reason, fmt, ap);
    va_end(ap);
}

/* Reads a chat id that Telegram sends as a number (or, leniently, a string). */
static bool chat_id_of(const cJSON *v, char *out, size_t outlen)
{
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && fabs(v->valuedouble) < 1e18 &&
        v->valuedouble == floor(v->valuedouble))
        snprintf(out, outlen, "%.0f", v->valuedouble);
    else if (cJSON_IsString(v) && v->valuestring && strlen(v->valuestring) < outlen)
        snprintf(out, outlen, "%s", v->valuestring);
    else
        return false;
    return notify_chat_id_ok(out);
}

void notify_judge_telegram(const notify_reply *r, notify_judgement *j)
{
    memset(j, 0, sizeof *j);
    j->status = r->transport_ok ? r->status : 0;
    if (!r->transport_ok) {
        verdict(j, NOTIFY_TRANSIENT, "no reply");
        return;
    }
    cJSON *root = r->body && r->len ? cJSON_ParseWithLength(r->body, r->len) : NULL;
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(root, "ok");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(root, "error_code");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(root, "description");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "parameters");
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(params, "retry_after");
    const cJSON *mig = cJSON_GetObjectItemCaseSensitive(params, "migrate_to_chat_id");
    bool is_reply = cJSON_IsObject(root) && cJSON_IsBool(ok);
    char words[NOTIFY_REASON_LEN / 2] = "", quote[QUOTE_MAX + 1];
    if (cJSON_IsString(desc) && desc->valuestring)
        notify_clean(desc->valuestring, words, sizeof words, false);
    long st = r->status;
    /* A 200 that says ok:false carries its real status in error_code. */
    if (status_ok(st) && is_reply && !cJSON_IsTrue(ok) && cJSON_IsNumber(code) &&
        code->valuedouble >= HTTP_BAD_REQUEST && code->valuedouble <= HTTP_SERVER_MAX)
        st = (long)code->valuedouble;
    j->status = st;
    if (!words[0] && !is_reply) {
        quote_body(r, quote, sizeof quote);
        if (quote[0])
            snprintf(words, sizeof words, "reply is not JSON: %s", quote);
    }
    const char *sep = words[0] ? ": " : "";
    if (status_ok(st)) {
        if (is_reply && cJSON_IsTrue(ok))
            verdict(j, NOTIFY_SENT, "%s", "");
        else
            verdict(j, NOTIFY_PERMANENT,
                    "HTTP %ld but not Telegram's {\"ok\":true} (%s); is telegram_api_url right?",
                    st, words[0] ? words : "empty reply");
    } else if (st == HTTP_TOO_MANY) {
        j->retry_after_ms = retry_wait_ms(r, cJSON_IsNumber(ra) ? ra->valuedouble : NAN);
        verdict(j, NOTIFY_RATE_LIMITED, "HTTP 429%s%s; retry after %lld ms", sep, words,
                (long long)j->retry_after_ms);
    } else if (st == HTTP_BAD_REQUEST && mig &&
               chat_id_of(mig, j->new_chat_id, sizeof j->new_chat_id)) {
        verdict(j, NOTIFY_MIGRATE, "HTTP 400%s%s; the chat moved to %s", sep, words,
                j->new_chat_id);
    } else if (st == HTTP_BAD_REQUEST && strcasestr(words, "can't parse entities")) {
        verdict(j, NOTIFY_RESEND_PLAIN, "HTTP 400%s%s", sep, words);
    } else if (st == HTTP_UNAUTHORIZED || st == HTTP_FORBIDDEN || st == HTTP_NOT_FOUND) {
        verdict(j, NOTIFY_DISABLE,
                "HTTP %ld%s%s (check the bot token and that the bot is in the chat)", st, sep,
                words);
    } else if (st == HTTP_REQUEST_TIMEOUT || (st >= HTTP_SERVER_MIN && st <= HTTP_SERVER_MAX)) {
        verdict(j, NOTIFY_TRANSIENT, "HTTP %ld%s%s", st, sep, words);
    } else {
        verdict(j, NOTIFY_PERMANENT, "HTTP %ld%s%s", st, sep, words);
    }
    cJSON_Delete(root);
}

void notify_judge_slack(const notify_reply *r, notify_judgement *j)
{
    memset(j, 0, sizeof *j);
    j->status = r->transport_ok ? r->status : 0;
    if (!r->transport_ok) {
        verdict(j, NOTIFY_TRANSIENT, "no reply");
        return;
    }
    long st = r->status;
    char quote[QUOTE_MAX + 1];
    quote_body(r, quote, sizeof quote);
    const char *sep = quote[0] ? ": " : "";
    if (status_ok(st)) {
        if (r->body && r->len == 2 && memcmp(r->body, "ok", 2) == 0)
            verdict(j, NOTIFY_SENT, "%s", "");
        else
            verdict(j, NOTIFY_PERMANENT,
                    "HTTP %ld but the body is not \"ok\" (%s); is the webhook URL right?", st,
                    quote[0] ? quote : "empty");
    } else if (st == HTTP_TOO_MANY) {
        j->retry_after_ms = retry_wait_ms(r, NAN);
        verdict(j, NOTIFY_RATE_LIMITED, "HTTP 429%s%s; retry after %lld ms", sep, quote,
                (long long)j->retry_after_ms);
    } else if (st == HTTP_REQUEST_TIMEOUT || (st >= HTTP_SERVER_MIN && st <= HTTP_SERVER_MAX)) {
        verdict(j, NOTIFY_TRANSIENT, "HTTP %ld%s%s", st, sep, quote);
    } else if (st >= HTTP_BAD_REQUEST && st <= HTTP_CLIENT_MAX) {
        verdict(j, NOTIFY_DISABLE, "HTTP %ld%s%s (check the Slack webhook URL and its channel)", st,
                sep, quote);
    } else {
        verdict(j, NOTIFY_PERMANENT, "HTTP %ld%s%s", st, sep, quote);
    }
}

int64_t notify_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double jitter)
{
    if (attempt < 1)
        attempt = 1;
    int shift = attempt - 1 > BACKOFF_MAX_SHIFT ? BACKOFF_MAX_SHIFT : attempt - 1;
    double d = (double)base_ms * (double)(1LL << shift) * (isfinite(jitter) ? jitter : 1.0);
    if (d > (double)max_ms)
        return max_ms;
    return d < 0 ? 0 : (int64_t)d;
}

/* ---- secrets ---- */

void notify_mask_token(const char *token, char *out, size_t outlen)
{
    const char *colon = token ? strchr(token, ':') : NULL;
    size_t id = colon ? (size_t)(colon - token) : 0;
    bool digits = id > 0;
    for (size_t i = 0; i < id; i++)
        digits = digits && isdigit((unsigned char)token[i]);
    if (!digits) {
        snprintf(out, outlen, "***");
        return;
    }
    snprintf(out, outlen, "bot%.*s\xE2\x80\xA6:***",
             (int)(id < TOKEN_ID_SHOWN ? id : TOKEN_ID_SHOWN), token);
}

void notify_mask_url(const char *url, char *out, size_t outlen)
{
    const char *sch = url ? strstr(url, "://") : NULL;
    if (!sch) {
        snprintf(out, outlen, "***");
        return;
    }
    const char *auth = sch + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *host = auth;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            host = auth + i + 1;
    size_t hlen = alen - (size_t)(host - auth);
    const char *path = auth + alen;
    size_t plen = *path == '/' ? strcspn(path, "?#") : 0;
    /* Where each non-empty path segment ends. */
    size_t ends[URL_SEGMENTS_SHOWN + 1];
    int segs = 0;
    for (size_t i = 0; i < plen && segs <= URL_SEGMENTS_SHOWN; i++)
        if (path[i] != '/' && (i + 1 == plen || path[i + 1] == '/'))
            ends[segs++] = i + 1;
    /* At most URL_SEGMENTS_SHOWN of them, and never the last one. */
    int keep = segs > URL_SEGMENTS_SHOWN ? URL_SEGMENTS_SHOWN : segs - 1;
    size_t kept = keep > 0 ? ends[keep - 1] : 0;
    snprintf(out, outlen, "%.*s%.*s%.*s/***", (int)(sch + 3 - url), url, (int)hlen, host, (int)kept,
             path);
}

/* Replaces every needle in s (cap bytes with the NUL) by rep. */
static void replace_all(char *s, size_t cap, const char *needle, const char *rep)
{
    size_t nl = strlen(needle), rl = strlen(rep);
    if (nl == 0)
        return;
    char *hit = s;
    while ((hit = strstr(hit, needle)) != NULL) {
        size_t at = (size_t)(hit - s), tail = strlen(hit + nl);
        if (at + rl >= cap) { /* no room even for the mask: cut here */
            *hit = '\0';
            return;
        }
        if (at + rl + tail >= cap)
            tail = cap - 1 - at - rl;
        memmove(s + at + rl, hit + nl, tail);
        memcpy(s + at, rep, rl);
        s[at + rl + tail] = '\0';
        hit = s + at + rl;
    }
}

void notify_redact(char *s, size_t cap, const char *secret, const char *mask)
{
    if (!s || cap == 0 || !secret || !secret[0])
        return;
    replace_all(s, cap, secret, mask);
    const char *part = NULL;
    const char *colon = strchr(secret, ':');
    if (strstr(secret, "://")) {
        const char *slash = strrchr(secret, '/');
        part = slash ? slash + 1 : NULL;
    } else if (colon) {
        part = colon + 1;
    }
    if (part && strlen(part) >= REDACT_PART_MIN)
        replace_all(s, cap, part, "***");
}
