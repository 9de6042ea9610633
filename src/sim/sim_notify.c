/*
 * sim_notify.c - Telegram and Slack far ends: requests judged as the real
 * services judge them, delivered messages recorded in two bounded rings,
 * faults and chat migrations set through /_sim/notify. See sim_notify.h.
 *
 * Each request is judged outside the lock (path, body, HTML); the lock is
 * taken to count the attempt and take a fault, to look up a migration, and
 * to record a delivery, so a slow client never holds it.
 *
 * Threads: any connection thread; the notifier's mutex guards everything in
 * struct sim_notify. It is a leaf lock: nothing else is taken under it.
 */
#include "sim_notify.h"
#include "sim_notify_int.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"

void sim_notify_record_free(nt_record *r)
{
    free(r->where);
    free(r->text);
    free(r->parse_mode);
    memset(r, 0, sizeof *r);
}

void sim_notify_ring_clear(nt_ring *g)
{
    for (size_t i = 0; i < g->n; i++)
        sim_notify_record_free(&g->r[(g->head + i) % SIM_NOTIFY_MAX_RECORDS]);
    g->head = g->n = 0;
}

/* Takes ownership of *rec; the oldest record goes when the ring is full. */
static void ring_push(nt_ring *g, nt_record *rec)
{
    if (g->n == SIM_NOTIFY_MAX_RECORDS) {
        sim_notify_record_free(&g->r[g->head]);
        g->head = (g->head + 1) % SIM_NOTIFY_MAX_RECORDS;
        g->n--;
    }
    g->r[(g->head + g->n) % SIM_NOTIFY_MAX_RECORDS] = *rec;
    g->n++;
}

void sim_notify_faults_default(sim_notify *n)
{
    for (int t = 0; t < NT_T_COUNT; t++)
        n->faults[t] = (nt_fault){0, NT_DEFAULT_FAIL_STATUS, NT_DEFAULT_RETRY_AFTER_S};
}

sim_notify *sim_notify_new(void)
{
    sim_notify *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    for (int t = 0; t < NT_T_COUNT; t++)
        if (!(n->rec[t].r = calloc(SIM_NOTIFY_MAX_RECORDS, sizeof(nt_record)))) {
            for (int k = 0; k < t; k++)
                free(n->rec[k].r);
            free(n);
            return NULL;
        }
    if (pthread_mutex_init(&n->mu, NULL) != 0) {
        for (int t = 0; t < NT_T_COUNT; t++)
            free(n->rec[t].r);
        free(n);
        return NULL;
    }
    sim_notify_faults_default(n);
    n->next_message_id = 1;
    return n;
}

void sim_notify_free(sim_notify *n)
{
    if (!n)
        return;
    for (int t = 0; t < NT_T_COUNT; t++) {
        sim_notify_ring_clear(&n->rec[t]);
        free(n->rec[t].r);
    }
    pthread_mutex_destroy(&n->mu);
    free(n);
}

/* Counts an attempt and, when a fault is armed, takes it: its status, else 0. */
static int attempt(sim_notify *n, enum nt_target t, bool may_fault, long *retry_after)
{
    pthread_mutex_lock(&n->mu);
    n->attempts[t]++;
    nt_fault *f = &n->faults[t];
    int status = 0;
    if (may_fault && f->fail_next != 0) {
        if (f->fail_next > 0)
            f->fail_next--;
        status = f->status;
        *retry_after = f->retry_after;
    }
    pthread_mutex_unlock(&n->mu);
    return status;
}

/* ---- Telegram ---- */

static void tg_error(sim_reply *out, unsigned code, const char *description, long retry_after,
                     const char *migrate_to)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddFalseToObject(o, "ok") &&
              cJSON_AddNumberToObject(o, "error_code", code) &&
              cJSON_AddStringToObject(o, "description", description);
    if (ok && (retry_after >= 0 || migrate_to)) {
        cJSON *par = cJSON_AddObjectToObject(o, "parameters");
        ok =
            par &&
            (retry_after < 0 || cJSON_AddNumberToObject(par, "retry_after", (double)retry_after)) &&
            (!migrate_to || cJSON_AddNumberToObject(par, "migrate_to_chat_id", atof(migrate_to)));
    }
    if (!ok) {
        cJSON_Delete(o);
        o = NULL;
    }
    out->status = code;
    out->json = o;
    if (code == 429) {
        out->has_retry_after = true;
        out->retry_after = retry_after;
    }
}

/* "/bot<TOKEN>/sendMessage" with TOKEN ^[0-9]{1,20}:[A-Za-z0-9_-]{10,}$ */
static bool tg_path_ok(const char *path, long long *bot_id)
{
    const char *p = path + strlen("/bot");
    const char *colon = p;
    while (isdigit((unsigned char)*colon))
        colon++;
    size_t digits = (size_t)(colon - p);
    if (digits < 1 || digits > NT_TG_TOKEN_ID_MAX || *colon != ':')
        return false;
    const char *s = colon + 1, *e = s;
    while (isalnum((unsigned char)*e) || *e == '_' || *e == '-')
        e++;
    if ((size_t)(e - s) < NT_TG_TOKEN_SECRET_MIN || *e != '/')
        return false;
    *bot_id = strtoll(p, NULL, 10);
    return strcasecmp(e + 1, "sendMessage") == 0; /* Telegram's method names ignore case */
}

/* A chat id as text: an integer (exact), a decimal string, or "@channel". */
bool sim_notify_chat_id(const cJSON *v, char *buf, size_t buflen)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!isfinite(d) || d != floor(d) || fabs(d) > NT_MAX_SAFE_INTEGER || d == 0)
            return false;
        snprintf(buf, buflen, "%.0f", d);
        return true;
    }
    if (!cJSON_IsString(v))
        return false;
    const char *s = v->valuestring;
    size_t len = strlen(s);
    if (s[0] == '@') {
        if (len - 1 < NT_CHANNEL_NAME_MIN || len - 1 > NT_CHANNEL_NAME_MAX)
            return false;
        for (size_t i = 1; i < len; i++)
            if (!isalnum((unsigned char)s[i]) && s[i] != '_')
                return false;
    } else {
        size_t digits = len - (s[0] == '-');
        if (digits < 1 || digits > NT_CHAT_DIGITS_MAX)
            return false;
        for (size_t i = s[0] == '-'; i < len; i++)
            if (!isdigit((unsigned char)s[i]))
                return false;
        if (strspn(s + (s[0] == '-'), "0") == digits)
            return false; /* chat 0 does not exist */
    }
    snprintf(buf, buflen, "%s", s);
    return true;
}

static const char *chat_type(const char *id)
{
    if (id[0] == '@')
        return "channel";
    if (strncmp(id, "-100", 4) == 0)
        return "supergroup";
    return id[0] == '-' ? "group" : "private";
}

static bool only_space(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

/* Checks the text as Telegram would; 0 with *shown (malloc'ed), or -1
 * after answering 400 (or 500 out of memory). */
static int tg_text(const char *text, bool html, char **shown, sim_reply *out)
{
    size_t cps = 0;
    if (!sim_notify_utf8(text, NULL)) {
        tg_error(out, 400, "Bad Request: text must be encoded in UTF-8", -1, NULL);
        return -1;
    }
    char err[256], desc[320];
    char *plain = NULL;
    int rc = html ? sim_notify_tg_html(text, &plain, err, sizeof err)
                  : ((plain = strdup(text)) ? 0 : -2);
    if (rc == -2) {
        tg_error(out, 500, "Internal Server Error", -1, NULL);
        return -1;
    }
    if (rc != 0) {
        snprintf(desc, sizeof desc, "Bad Request: can't parse entities: %s", err);
        tg_error(out, 400, desc, -1, NULL);
        return -1;
    }
    sim_notify_utf8(plain, &cps);
    if (only_space(plain)) {
        tg_error(out, 400, "Bad Request: message text is empty", -1, NULL);
        free(plain);
        return -1;
    }
    if (cps > SIM_NOTIFY_TG_MAX_TEXT) {
        tg_error(out, 400, "Bad Request: message is too long", -1, NULL);
        free(plain);
        return -1;
    }
    *shown = plain;
    return 0;
}

static cJSON *tg_result(int64_t message_id, long long bot_id, const char *chat, int64_t now_ms,
                        const char *shown)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *res = o && cJSON_AddTrueToObject(o, "ok") ? cJSON_AddObjectToObject(o, "result") : NULL;
    cJSON *from = NULL, *ch = NULL;
    bool numeric = chat[0] != '@';
    bool ok = res && cJSON_AddNumberToObject(res, "message_id", (double)message_id) &&
              (from = cJSON_AddObjectToObject(res, "from")) != NULL &&
              (ch = cJSON_AddObjectToObject(res, "chat")) != NULL &&
              cJSON_AddNumberToObject(from, "id", (double)bot_id) &&
              cJSON_AddTrueToObject(from, "is_bot") &&
              cJSON_AddStringToObject(from, "first_name", NT_SIM_BOT_NAME) &&
              (numeric ? cJSON_AddNumberToObject(ch, "id", atof(chat)) != NULL
                       : cJSON_AddStringToObject(ch, "id", chat) != NULL) &&
              cJSON_AddStringToObject(ch, "type", chat_type(chat)) &&
              cJSON_AddNumberToObject(res, "date", (double)(now_ms / 1000)) &&
              cJSON_AddStringToObject(res, "text", shown);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Records a delivery and answers; takes ownership of nothing. */
static void tg_deliver(sim_notify *n, long long bot_id, const char *chat, const char *text,
                       const char *parse_mode, const char *shown, sim_reply *out)
{
    int64_t now = clock_now_ms();
    nt_record rec = {.where = strdup(chat),
                     .text = strdup(text),
                     .parse_mode = parse_mode ? strdup(parse_mode) : NULL,
                     .at_ms = now};
    if (!rec.where || !rec.text || (parse_mode && !rec.parse_mode)) {
        sim_notify_record_free(&rec);
        tg_error(out, 500, "Internal Server Error", -1, NULL);
        return;
    }
    pthread_mutex_lock(&n->mu);
    int64_t id = n->next_message_id++;
    ring_push(&n->rec[NT_T_TELEGRAM], &rec);
    pthread_mutex_unlock(&n->mu);
    out->status = 200;
    out->json = tg_result(id, bot_id, chat, now, shown);
}

static void tg_fault(sim_reply *out, int status, long retry_after)
{
    char desc[96];
    if (status == 429) {
        snprintf(desc, sizeof desc, "Too Many Requests: retry after %ld", retry_after);
        tg_error(out, 429, desc, retry_after, NULL);
    } else if (status == 403) {
        tg_error(out, 403, "Forbidden: bot was blocked by the user", -1, NULL);
    } else {
        tg_error(out, 500, "Internal Server Error", -1, NULL);
    }
}

void sim_notify_telegram(sim_notify *n, const char *path, const char *body, size_t len,
                         sim_reply *out)
{
    long long bot_id = 0;
    bool path_ok = tg_path_ok(path, &bot_id);
    long retry_after = 0;
    int fault_status = attempt(n, NT_T_TELEGRAM, path_ok, &retry_after);
    if (!path_ok) {
        tg_error(out, 404, "Not Found", -1, NULL);
        return;
    }
    if (fault_status) {
        tg_fault(out, fault_status, retry_after);
        return;
    }
    cJSON *req = cJSON_ParseWithLength(body, len);
    const cJSON *chat = cJSON_GetObjectItemCaseSensitive(req, "chat_id");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(req, "text");
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(req, "parse_mode");
    const cJSON *preview = cJSON_GetObjectItemCaseSensitive(req, "disable_web_page_preview");
    char chat_id[NT_CHAT_ID_LEN], migrated_to[NT_CHAT_ID_LEN] = "";
    const char *parse_mode =
        cJSON_IsString(mode) && mode->valuestring[0] ? mode->valuestring : NULL;
    char *shown = NULL;
    if (!cJSON_IsObject(req)) {
        tg_error(out, 400, "Bad Request: the request body must be a JSON object", -1, NULL);
    } else if (!chat || cJSON_IsNull(chat)) {
        tg_error(out, 400, "Bad Request: chat_id is empty", -1, NULL);
    } else if (!sim_notify_chat_id(chat, chat_id, sizeof chat_id)) {
        tg_error(out, 400, "Bad Request: chat not found", -1, NULL);
    } else if (!cJSON_IsString(text) || text->valuestring[0] == '\0') {
        tg_error(out, 400, "Bad Request: message text is empty", -1, NULL);
    } else if (mode && !cJSON_IsNull(mode) && !cJSON_IsString(mode)) {
        tg_error(out, 400, "Bad Request: parse_mode must be a string", -1, NULL);
    } else if (parse_mode && strcasecmp(parse_mode, "HTML") != 0 &&
               strcasecmp(parse_mode, "Markdown") != 0 &&
               strcasecmp(parse_mode, "MarkdownV2") != 0) {
        tg_error(out, 400, "Bad Request: unsupported parse_mode", -1, NULL);
    } else if (preview && !cJSON_IsBool(preview)) {
        tg_error(out, 400, "Bad Request: disable_web_page_preview must be a Boolean", -1, NULL);
    } else {
        pthread_mutex_lock(&n->mu);
        for (size_t i = 0; i < n->n_mig; i++)
            if (strcmp(n->mig[i].from, chat_id) == 0)
                memcpy(migrated_to, n->mig[i].to, sizeof migrated_to);
        pthread_mutex_unlock(&n->mu);
        if (migrated_to[0])
            tg_error(out, 400, "Bad Request: group chat was upgraded to a supergroup chat", -1,
                     migrated_to);
        else if (tg_text(text->valuestring, parse_mode && strcasecmp(parse_mode, "HTML") == 0,
                         &shown, out) == 0)
            tg_deliver(n, bot_id, chat_id, text->valuestring, parse_mode, shown, out);
    }
    free(shown);
    cJSON_Delete(req);
}

/* ---- Slack ---- */

static void slack_text(sim_reply *out, unsigned status, const char *body)
{
    out->status = status;
    out->text = strdup(body);
    out->content_type = NT_TEXT_PLAIN;
    if (!out->text) /* out of memory: a JSON null tells sim_http to close */
        out->json = NULL;
}

/* "/services/A/B/C", each [A-Za-z0-9]{1,NT_SLACK_SEGMENT_MAX} */
static bool slack_path_ok(const char *path)
{
    const char *p = path + strlen("/services");
    for (int seg = 0; seg < 3; seg++) {
        if (*p++ != '/')
            return false;
        size_t n = 0;
        while (isalnum((unsigned char)p[n]))
            n++;
        if (n == 0 || n > NT_SLACK_SEGMENT_MAX)
            return false;
        p += n;
    }
    return *p == '\0';
}

void sim_notify_slack(sim_notify *n, const char *path, const char *body, size_t len, sim_reply *out)
{
    bool path_ok = slack_path_ok(path);
    long retry_after = 0;
    int fault_status = attempt(n, NT_T_SLACK, path_ok, &retry_after);
    if (!path_ok) {
        slack_text(out, 404, "no_service");
        return;
    }
    if (fault_status) {
        slack_text(out, (unsigned)fault_status,
                   fault_status == 429   ? "rate_limited"
                   : fault_status == 403 ? "action_prohibited"
                                         : "internal_error");
        if (fault_status == 429) {
            out->has_retry_after = true;
            out->retry_after = retry_after;
        }
        return;
    }
    cJSON *req = cJSON_ParseWithLength(body, len);
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(req, "text");
    const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(req, "blocks");
    const cJSON *mrkdwn = cJSON_GetObjectItemCaseSensitive(req, "mrkdwn");
    if (!cJSON_IsObject(req) || !cJSON_IsString(text) || only_space(text->valuestring) ||
        !sim_notify_utf8(text->valuestring, NULL) || (blocks && !cJSON_IsArray(blocks)) ||
        (mrkdwn && !cJSON_IsBool(mrkdwn))) {
        slack_text(out, 400, "invalid_payload");
        cJSON_Delete(req);
        return;
    }
    nt_record rec = {
        .where = strdup(path), .text = strdup(text->valuestring), .at_ms = clock_now_ms()};
    cJSON_Delete(req);
    if (!rec.where || !rec.text) {
        sim_notify_record_free(&rec);
        slack_text(out, 500, "internal_error");
        return;
    }
    pthread_mutex_lock(&n->mu);
    ring_push(&n->rec[NT_T_SLACK], &rec);
    pthread_mutex_unlock(&n->mu);
    slack_text(out, 200, "ok");
}
