/*
 * sim_journal_tv.c - Tradervue's import API in the simulator: Basic auth,
 * the User-Agent rule, body validation, one import per user at a time
 * (424), the import "running" until its stored finish time, the status
 * cleared once read, and the duplicate check. See sim_journal.h.
 *
 * Threads: any connection thread. The journal's mutex is held to judge and
 * change imports and journals; the world's is taken inside it only to count
 * the journal_424_next and journal_fail_next_import knobs down.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "clock.h"
#include "sim_journal.h"
#include "sim_journal_int.h"
#include "sim_notify.h"
#include "sim_time.h"

#define IMPORTS_PATH "/api/v1/imports"
/* base64 of "user:password" at the knobs' longest, with padding. */
#define AUTH_B64_MAX (4 * ((2 * (SIM_FAULTS_TEXT_LEN - 1) + 1 + 2) / 3))
#define FLAT_EPSILON 1e-9 /* a position this small relative to its size is flat */

/* ---- who is asking ---- */

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* "Basic base64(user:password)" matching the knobs; the user into user.
 * The credentials are compared in constant time. */
static bool basic_auth(const sim_request *rq, const sim_faults *f, char *user, size_t userlen)
{
    const char *h = sj_header(rq, "Authorization");
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return false;
    const char *b = h + 6;
    while (*b == ' ')
        b++;
    size_t n = strlen(b), pad = 0;
    if (n == 0 || n % 4 != 0 || n > AUTH_B64_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '=' && i >= n - 2)
            pad++;
        else if (pad > 0 || !b64_char(b[i]))
            return false;
    }
    unsigned char dec[AUTH_B64_MAX + 1];
    int len = EVP_DecodeBlock(dec, (const unsigned char *)b, (int)n);
    bool ok = len >= (int)pad;
    size_t dlen = ok ? (size_t)len - pad : 0;
    const unsigned char *colon = ok ? memchr(dec, ':', dlen) : NULL;
    ok = colon && !memchr(dec, '\0', dlen);
    if (ok) {
        size_t ulen = (size_t)(colon - dec), plen = dlen - ulen - 1;
        size_t want_u = strlen(f->journal_user), want_p = strlen(f->journal_password);
        /* Both compared whatever the first says, so timing tells nothing. */
        int u = ulen == want_u ? CRYPTO_memcmp(dec, f->journal_user, ulen) : 1;
        int p = plen == want_p ? CRYPTO_memcmp(colon + 1, f->journal_password, plen) : 1;
        ok = u == 0 && p == 0 && ulen < userlen;
        if (ok) {
            memcpy(user, dec, ulen);
            user[ulen] = '\0';
        }
    }
    OPENSSL_cleanse(dec, sizeof dec);
    return ok;
}

/* ---- the body ---- */

typedef struct import_req {
    bool allow_dup;
    char tag[SJ_TAG_MAX + 1];
    sj_exec *ex;
    size_t n;
} import_req;

/* A number field of an execution; false after writing what is wrong. */
static bool exec_number(const cJSON *e, size_t i, const char *key, double *out, char *err,
                        size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
    if (!v) {
        snprintf(err, errlen, "executions[%zu]: %s is missing", i, key);
        return false;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        snprintf(err, errlen, "executions[%zu].%s must be a number", i, key);
        return false;
    }
    *out = v->valuedouble;
    return true;
}

static bool parse_exec(const cJSON *e, size_t i, sj_exec *x, char *err, size_t errlen)
{
    memset(x, 0, sizeof *x);
    if (!cJSON_IsObject(e)) {
        snprintf(err, errlen, "executions[%zu] must be an object", i);
        return false;
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "datetime");
    const cJSON *sym = cJSON_GetObjectItemCaseSensitive(e, "symbol");
    int64_t ms;
    size_t len;
    if (!dt) {
        snprintf(err, errlen, "executions[%zu]: datetime is missing", i);
        return false;
    }
    if (!cJSON_IsString(dt) || (len = strlen(dt->valuestring)) >= SJ_DATETIME_MAX || len < 11 ||
        dt->valuestring[10] != 'T' || sim_time_parse_iso(dt->valuestring, &ms) != 0) {
        snprintf(err, errlen,
                 "executions[%zu].datetime must be an ISO 8601 date and time such as "
                 "2026-11-21T10:00:00Z",
                 i);
        return false;
    }
    memcpy(x->datetime, dt->valuestring, len + 1);
    x->second = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    if (!sym) {
        snprintf(err, errlen, "executions[%zu]: symbol is missing", i);
        return false;
    }
    if (!cJSON_IsString(sym) || (len = strlen(sym->valuestring)) == 0 || len > SJ_SYMBOL_MAX ||
        !sim_notify_utf8(sym->valuestring, NULL)) {
        snprintf(err, errlen, "executions[%zu].symbol must be 1 to %d bytes of UTF-8", i,
                 SJ_SYMBOL_MAX);
        return false;
    }
    memcpy(x->symbol, sym->valuestring, len + 1);
    if (!exec_number(e, i, "quantity", &x->quantity, err, errlen) ||
        !exec_number(e, i, "price", &x->price, err, errlen) ||
        !exec_number(e, i, "commission", &x->commission, err, errlen))
        return false;
    if (x->quantity == 0) {
        snprintf(err, errlen, "executions[%zu].quantity must not be 0 (negative is a sell)", i);
        return false;
    }
    if (!(x->price > 0)) {
        snprintf(err, errlen, "executions[%zu].price must be greater than 0", i);
        return false;
    }
    return true;
}

/* Parses and checks the whole body; false with err (400). */
static bool parse_import(const sim_request *rq, import_req *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    cJSON *b = cJSON_ParseWithLength(rq->body, rq->body_len);
    const cJSON *ad = cJSON_GetObjectItemCaseSensitive(b, "allow_duplicates");
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(b, "account_tag");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(b, "executions");
    bool ok = false;
    if (!b)
        snprintf(err, errlen, "body is not valid JSON");
    else if (!cJSON_IsObject(b))
        snprintf(err, errlen, "body must be a JSON object");
    else if (ad && !cJSON_IsBool(ad) &&
             !(cJSON_IsString(ad) &&
               (strcmp(ad->valuestring, "true") == 0 || strcmp(ad->valuestring, "false") == 0)))
        snprintf(err, errlen, "allow_duplicates must be \"true\", \"false\" or a boolean");
    else if (tag && (!cJSON_IsString(tag) || strlen(tag->valuestring) > SJ_TAG_MAX ||
                     !sim_notify_utf8(tag->valuestring, NULL)))
        snprintf(err, errlen, "account_tag must be a string of at most %d bytes of UTF-8",
                 SJ_TAG_MAX);
    else if (!ex)
        snprintf(err, errlen, "executions is missing");
    else if (!cJSON_IsArray(ex) || cJSON_GetArraySize(ex) == 0)
        snprintf(err, errlen, "executions must be a non-empty array");
    else
        ok = true;
    if (ok) {
        r->allow_dup = cJSON_IsTrue(ad) || (cJSON_IsString(ad) && ad->valuestring[0] == 't');
        snprintf(r->tag, sizeof r->tag, "%s", tag ? tag->valuestring : "");
        size_t n = (size_t)cJSON_GetArraySize(ex);
        r->ex = malloc(n * sizeof *r->ex);
        if (!r->ex) {
            snprintf(err, errlen, "out of memory");
            ok = false;
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, ex)
        {
            if (!ok || !parse_exec(e, r->n, &r->ex[r->n], err, errlen)) {
                ok = false;
                break;
            }
            r->n++;
        }
    }
    cJSON_Delete(b);
    if (!ok) {
        free(r->ex);
        r->ex = NULL;
    }
    return ok;
}

/* ---- the journals ---- */

typedef struct exec_key {
    const sim_journal *j;
    const sj_exec *x;
    uint32_t journal;
} exec_key;

static uint64_t exec_hash(uint32_t journal, const sj_exec *x)
{
    uint64_t h = sj_hash(SJ_HASH_SEED, &journal, sizeof journal);
    h = sj_hash(h, &x->second, sizeof x->second);
    h = sj_hash(h, x->symbol, strlen(x->symbol));
    h = sj_hash(h, &x->quantity, sizeof x->quantity);
    return sj_hash(h, &x->price, sizeof x->price);
}

static bool exec_eq(const void *ctx, uint32_t i)
{
    const exec_key *k = ctx;
    const sj_exec *e = &k->j->ex[i];
    return e->journal == k->journal && e->second == k->x->second && e->quantity == k->x->quantity &&
           e->price == k->x->price && strcmp(e->symbol, k->x->symbol) == 0;
}

static uint64_t pos_hash(uint32_t journal, const char *symbol)
{
    return sj_hash(sj_hash(SJ_HASH_SEED, &journal, sizeof journal), symbol, strlen(symbol));
}

static bool pos_eq(const void *ctx, uint32_t i)
{
    const exec_key *k = ctx;
    const sj_pos *p = &k->j->pos[i];
    return p->journal == k->journal && strcmp(p->symbol, k->x->symbol) == 0;
}

/* The journal of (user, tag), made if new; -1 when there are too many. */
static long journal_of(sim_journal *j, const char *user, const char *tag)
{
    for (size_t i = 0; i < j->n_jr; i++)
        if (strcmp(j->jr[i].user, user) == 0 && strcmp(j->jr[i].tag, tag) == 0)
            return (long)i;
    if (j->n_jr >= SIM_JOURNAL_MAX_JOURNALS)
        return -1;
    snprintf(j->jr[j->n_jr].user, sizeof j->jr[j->n_jr].user, "%s", user);
    snprintf(j->jr[j->n_jr].tag, sizeof j->jr[j->n_jr].tag, "%s", tag);
    return (long)j->n_jr++;
}

/* Room for n more executions and positions; false when out of memory. */
static bool reserve(sim_journal *j, size_t n)
{
    if (j->n_ex + n > j->cap_ex) {
        size_t cap = j->cap_ex ? j->cap_ex : 256;
        while (cap < j->n_ex + n)
            cap *= 2;
        sj_exec *ne = realloc(j->ex, cap * sizeof *ne);
        if (!ne)
            return false;
        j->ex = ne;
        j->cap_ex = cap;
    }
    if (j->n_pos + n > j->cap_pos) {
        size_t cap = j->cap_pos ? j->cap_pos : 64;
        while (cap < j->n_pos + n)
            cap *= 2;
        sj_pos *np = realloc(j->pos, cap * sizeof *np);
        if (!np)
            return false;
        j->pos = np;
        j->cap_pos = cap;
    }
    return true;
}

/* Stores x in journal jr, moving its symbol's position; true when that
 * closed a round trip. Room reserved. */
static bool store_exec(sim_journal *j, uint32_t jr, const sj_exec *x, size_t ex_slot)
{
    exec_key k = {j, x, jr};
    j->ex[j->n_ex] = *x;
    j->ex[j->n_ex].journal = jr;
    sj_index_put(&j->ex_index, ex_slot, (uint32_t)j->n_ex);
    j->n_ex++;
    size_t slot;
    long p = sj_index_find(&j->pos_index, pos_hash(jr, x->symbol), pos_eq, &k, &slot);
    if (p < 0) {
        p = (long)j->n_pos++;
        j->pos[p] = (sj_pos){.journal = jr, .qty = 0};
        memcpy(j->pos[p].symbol, x->symbol, sizeof x->symbol);
        sj_index_put(&j->pos_index, slot, (uint32_t)p);
    }
    double before = j->pos[p].qty;
    j->pos[p].qty += x->quantity;
    if (before != 0 && fabs(j->pos[p].qty) <= FLAT_EPSILON * fabs(before)) {
        j->pos[p].qty = 0;
        return true;
    }
    return false;
}

static void import_fail(sj_import *im, const char *why)
{
    im->failed = true;
    snprintf(im->error, sizeof im->error, "%s", why);
}

void sj_apply(sim_journal *j, sj_import *im)
{
    if (im->applied)
        return;
    im->applied = true;
    im->failed = false;
    im->exec_count = im->trade_count_new = im->duplicate_count = 0;
    long jr = -1;
    if (im->fail)
        import_fail(im, "simulated failure");
    else if ((jr = journal_of(j, im->user, im->tag)) < 0)
        import_fail(im, "too many journals in the simulator; POST /_sim/journal/reset");
    else if (j->n_ex + im->n_pending > SIM_JOURNAL_MAX_EXECUTIONS)
        import_fail(im, "journal full (the simulator keeps 100000 executions); POST "
                        "/_sim/journal/reset");
    else if (!reserve(j, im->n_pending))
        import_fail(im, "out of memory");
    for (size_t i = 0; !im->failed && i < im->n_pending; i++) {
        const sj_exec *x = &im->pending[i];
        exec_key k = {j, x, (uint32_t)jr};
        size_t slot;
        long dup = sj_index_find(&j->ex_index, exec_hash((uint32_t)jr, x), exec_eq, &k, &slot);
        if (dup >= 0 && !im->allow_dup) {
            im->duplicate_count++;
            continue;
        }
        if (dup >= 0) /* stored twice: the new one goes past the old */
            slot = sj_index_free(&j->ex_index, exec_hash((uint32_t)jr, x));
        im->exec_count++;
        if (store_exec(j, (uint32_t)jr, x, slot))
            im->trade_count_new++;
    }
    free(im->pending);
    im->pending = NULL;
    im->n_pending = 0;
    j->executions += (uint64_t)im->exec_count;
    j->duplicates += (uint64_t)im->duplicate_count;
    if (im->failed)
        j->failed_imports++;
}

void sj_imports_clear(sim_journal *j)
{
    for (size_t i = 0; i < j->n_imp; i++)
        free(j->imp[i].pending);
    memset(j->imp, 0, SIM_JOURNAL_MAX_USERS * sizeof *j->imp);
    j->n_imp = 0;
}

/* ---- the routes ---- */

static cJSON *status_json(const char *status)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "status", status)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* A finished import's status reply. */
static cJSON *outcome_json(const sj_import *im)
{
    cJSON *o = status_json(im->failed ? "failed" : "succeeded");
    cJSON *info = o ? cJSON_AddObjectToObject(o, "info") : NULL;
    bool ok =
        info &&
        (im->failed
             ? cJSON_AddStringToObject(info, "error", im->error) != NULL
             : cJSON_AddNumberToObject(info, "exec_count", (double)im->exec_count) &&
                   cJSON_AddNumberToObject(info, "trade_count_new", (double)im->trade_count_new) &&
                   cJSON_AddNumberToObject(info, "duplicate_count", (double)im->duplicate_count));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static sj_import *import_of(sim_journal *j, const char *user)
{
    for (size_t i = 0; i < j->n_imp; i++)
        if (strcmp(j->imp[i].user, user) == 0)
            return &j->imp[i];
    return NULL;
}

/* A slot for user's next import: theirs, a new one, or one whose status
 * has been read (its user starts again from "none"). NULL when full. */
static sj_import *import_slot(sim_journal *j, const char *user)
{
    sj_import *im = import_of(j, user);
    if (im)
        return im;
    if (j->n_imp < SIM_JOURNAL_MAX_USERS)
        im = &j->imp[j->n_imp++];
    for (size_t i = 0; !im && i < j->n_imp; i++)
        if (!j->imp[i].has_status)
            im = &j->imp[i];
    if (im) {
        free(im->pending);
        memset(im, 0, sizeof *im);
        snprintf(im->user, sizeof im->user, "%s", user);
    }
    return im;
}

static void get_status(sim_journal *j, const char *user, sim_reply *out)
{
    pthread_mutex_lock(&j->mu);
    sj_import *im = import_of(j, user);
    int64_t now = clock_mono_ms();
    cJSON *o;
    if (!im || !im->has_status) {
        o = status_json("none");
    } else if (now < im->finish_ms) {
        bool first_half = now - im->start_ms < (im->finish_ms - im->start_ms) / 2;
        o = status_json(first_half ? "queued" : "processing");
    } else {
        sj_apply(j, im);
        o = outcome_json(im);
        if (o)
            im->has_status = false; /* read once: Tradervue clears it */
    }
    pthread_mutex_unlock(&j->mu);
    if (!o)
        sj_error(out, 500, "out of memory");
    else {
        out->status = 200;
        out->json = o;
    }
}

static void post_import(sim_journal *j, sim_world *w, const sim_request *rq, const sim_faults *f,
                        const char *user, sim_reply *out)
{
    static const size_t KNOB_424 = offsetof(sim_faults, journal_424_next);
    static const size_t KNOB_FAIL = offsetof(sim_faults, journal_fail_next_import);
    import_req r;
    char err[SJ_ERROR_LEN + 64];
    if (!parse_import(rq, &r, err, sizeof err)) {
        sj_error(out, 400, err);
        return;
    }
    const char *refused = NULL;
    unsigned status = 424;
    pthread_mutex_lock(&j->mu);
    int64_t now = clock_mono_ms();
    sj_import *im = import_of(j, user);
    if (sim_world_take_next(w, &KNOB_424, 1) == 0 || (im && im->has_status && now < im->finish_ms))
        refused = "Import already in progress";
    else if (!(im = import_slot(j, user))) {
        refused = "too many users with imports in the simulator; POST /_sim/journal/reset";
        status = 503;
    }
    if (refused) {
        if (status == 424)
            j->rejected_424++;
        pthread_mutex_unlock(&j->mu);
        free(r.ex);
        sj_error(out, status, refused);
        return;
    }
    if (im->has_status)
        sj_apply(j, im); /* finished but unread: it lands; its status is replaced */
    free(im->pending);
    im->has_status = true;
    im->applied = false;
    im->fail = sim_world_take_next(w, &KNOB_FAIL, 1) == 0;
    im->allow_dup = r.allow_dup;
    im->start_ms = now;
    im->finish_ms = now + f->journal_import_ms;
    memcpy(im->tag, r.tag, sizeof im->tag);
    im->pending = r.ex;
    im->n_pending = r.n;
    j->imports++;
    pthread_mutex_unlock(&j->mu);
    cJSON *o = status_json("queued");
    if (!o)
        sj_error(out, 500, "out of memory");
    else {
        out->status = 200;
        out->json = o;
    }
}

void sj_tradervue(sim_journal *j, sim_world *w, const sim_request *rq, const sim_faults *f,
                  sim_reply *out)
{
    char user[SIM_FAULTS_TEXT_LEN];
    const char *ua = sj_header(rq, "User-Agent");
    if (!basic_auth(rq, f, user, sizeof user))
        sj_error(out, 401, "Access denied");
    else if (!ua || ua[0] == '\0')
        sj_error(out, 400, "User-Agent header required");
    else if (strcmp(rq->path, IMPORTS_PATH) != 0)
        sj_error(out, 404, "Not found");
    else if (strcmp(rq->method, "GET") == 0)
        get_status(j, user, out);
    else if (strcmp(rq->method, "POST") == 0)
        post_import(j, w, rq, f, user, out);
    else {
        sj_error(out, 405, "Method not allowed");
        out->allow = "GET, POST";
    }
}
