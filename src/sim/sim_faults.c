/*
 * sim_faults.c - fault settings: defaults, the knob table, CLI and JSON input.
 *
 * Functions on caller-owned structs; safe from any thread. journal_down_ms
 * is the one knob that reads a clock: it is kept as a monotonic deadline.
 */
#include "sim_faults.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define MAX_LATENCY_MS 600000L /* ten minutes: past any client's timeout */
#define MAX_RETRY_AFTER_S 3600L
#define DEFAULT_RETRY_AFTER_S 2L
#define MAX_NEXT_COUNT 1000000L /* trade_*_next */
#define DEFAULT_TRADE_HANG_MS 5000L
#define MAX_DOWN_MS 86400000L /* journal_down_ms: a day */
#define DEFAULT_JOURNAL_HANG_MS 30000L
#define DEFAULT_JOURNAL_IMPORT_MS 200L
#define MAX_TEXT (SIM_FAULTS_TEXT_LEN - 1)

/* KNOB_UNTIL: given as milliseconds from now, kept as a monotonic deadline
 * (a long), shown as the milliseconds left. KNOB_TEXT: 1..max printable
 * ASCII characters in a char[SIM_FAULTS_TEXT_LEN]; KNOB_NAME likewise
 * without ':' (a Basic-auth user name). */
enum knob_kind { KNOB_RATE, KNOB_LONG, KNOB_BOOL, KNOB_UNTIL, KNOB_TEXT, KNOB_NAME };

typedef struct knob {
    const char *key;  /* JSON key */
    const char *flag; /* CLI flag */
    enum knob_kind kind;
    size_t offset;
    long max; /* KNOB_LONG only; the minimum is 0 */
    const char *help;
} knob;

static const knob KNOBS[] = {
    {"latency_ms", "--latency-ms", KNOB_LONG, offsetof(sim_faults, latency_ms), MAX_LATENCY_MS,
     "milliseconds added to every broker reply"},
    {"error_rate", "--error-rate", KNOB_RATE, offsetof(sim_faults, error_rate), 0,
     "fraction answered 500"},
    {"rate_limit_rate", "--rate-limit-rate", KNOB_RATE, offsetof(sim_faults, rate_limit_rate), 0,
     "fraction answered 429 with Retry-After"},
    {"retry_after", "--retry-after", KNOB_LONG, offsetof(sim_faults, retry_after),
     MAX_RETRY_AFTER_S, "seconds in Retry-After (default 2)"},
    {"malformed_rate", "--malformed-rate", KNOB_RATE, offsetof(sim_faults, malformed_rate), 0,
     "fraction answered 200 with invalid/truncated JSON"},
    {"oversized_rate", "--oversized-rate", KNOB_RATE, offsetof(sim_faults, oversized_rate), 0,
     "fraction answered 200 with a ~8 MiB body"},
    {"drop_rate", "--drop-rate", KNOB_RATE, offsetof(sim_faults, drop_rate), 0,
     "fraction where the connection closes without a reply"},
    {"wrong_types_rate", "--wrong-types-rate", KNOB_RATE, offsetof(sim_faults, wrong_types_rate), 0,
     "fraction with numbers as strings / fields missing"},
    {"hostile_text", "--hostile-text", KNOB_BOOL, offsetof(sim_faults, hostile_text), 0,
     "escape sequences, C1 controls and bad UTF-8 in names, symbols, comments"},
    {"trade_reject_next", "--trade-reject-next", KNOB_LONG, offsetof(sim_faults, trade_reject_next),
     MAX_NEXT_COUNT, "next N closes answered 200 TRADE_RETCODE_REJECT (10006), left open"},
    {"trade_requote_next", "--trade-requote-next", KNOB_LONG,
     offsetof(sim_faults, trade_requote_next), MAX_NEXT_COUNT,
     "next N closes answered 200 TRADE_RETCODE_REQUOTE (10004), left open"},
    {"trade_error_next", "--trade-error-next", KNOB_LONG, offsetof(sim_faults, trade_error_next),
     MAX_NEXT_COUNT, "next N closes answered HTTP 500, left open"},
    {"trade_hang_next", "--trade-hang-next", KNOB_LONG, offsetof(sim_faults, trade_hang_next),
     MAX_NEXT_COUNT, "next N closes wait --trade-hang-ms, then close and answer"},
    {"trade_hang_ms", "--trade-hang-ms", KNOB_LONG, offsetof(sim_faults, trade_hang_ms),
     MAX_LATENCY_MS, "milliseconds a hung close waits (default 5000)"},
    {"journal_down_ms", "--journal-down-ms", KNOB_UNTIL, offsetof(sim_faults, journal_down_until_ms),
     MAX_DOWN_MS, "journal far ends answer 503 for the next N ms (0 ends it)"},
    {"journal_429_next", "--journal-429-next", KNOB_LONG, offsetof(sim_faults, journal_429_next),
     MAX_NEXT_COUNT, "next N journal requests answered 429 with Retry-After"},
    {"journal_424_next", "--journal-424-next", KNOB_LONG, offsetof(sim_faults, journal_424_next),
     MAX_NEXT_COUNT, "next N Tradervue imports answered 424 (in progress)"},
    {"journal_401_next", "--journal-401-next", KNOB_LONG, offsetof(sim_faults, journal_401_next),
     MAX_NEXT_COUNT, "next N journal requests answered 401"},
    {"journal_malformed_next", "--journal-malformed-next", KNOB_LONG,
     offsetof(sim_faults, journal_malformed_next), MAX_NEXT_COUNT,
     "next N journal replies 200 with broken JSON"},
    {"journal_huge_next", "--journal-huge-next", KNOB_LONG, offsetof(sim_faults, journal_huge_next),
     MAX_NEXT_COUNT, "next N journal replies 200 with a 2 MiB body"},
    {"journal_hang_next", "--journal-hang-next", KNOB_LONG, offsetof(sim_faults, journal_hang_next),
     MAX_NEXT_COUNT, "next N journal requests wait --journal-hang-ms, then 504"},
    {"journal_hang_ms", "--journal-hang-ms", KNOB_LONG, offsetof(sim_faults, journal_hang_ms),
     MAX_LATENCY_MS, "milliseconds a hung journal request waits (default 30000)"},
    {"journal_retry_after_s", "--journal-retry-after-s", KNOB_LONG,
     offsetof(sim_faults, journal_retry_after_s), MAX_RETRY_AFTER_S,
     "seconds in the journal's 429 Retry-After (default 2)"},
    {"journal_import_ms", "--journal-import-ms", KNOB_LONG, offsetof(sim_faults, journal_import_ms),
     MAX_LATENCY_MS, "milliseconds a Tradervue import runs (default 200)"},
    {"journal_fail_next_import", "--journal-fail-next-import", KNOB_LONG,
     offsetof(sim_faults, journal_fail_next_import), MAX_NEXT_COUNT,
     "next N Tradervue imports finish \"failed\""},
    {"journal_user", "--journal-user", KNOB_NAME, offsetof(sim_faults, journal_user), MAX_TEXT,
     "Tradervue user (default demo)"},
    {"journal_password", "--journal-password", KNOB_TEXT, offsetof(sim_faults, journal_password),
     MAX_TEXT, "Tradervue password (default demo-pass)"},
    {"webhook_secret", "--webhook-secret", KNOB_TEXT, offsetof(sim_faults, webhook_secret),
     MAX_TEXT, "webhook receiver's HMAC secret (default demo-webhook-secret)"},
};
#define N_KNOBS (sizeof KNOBS / sizeof KNOBS[0])

void sim_faults_default(sim_faults *f)
{
    memset(f, 0, sizeof *f);
    f->retry_after = DEFAULT_RETRY_AFTER_S;
    f->trade_hang_ms = DEFAULT_TRADE_HANG_MS;
    f->journal_hang_ms = DEFAULT_JOURNAL_HANG_MS;
    f->journal_retry_after_s = DEFAULT_RETRY_AFTER_S;
    f->journal_import_ms = DEFAULT_JOURNAL_IMPORT_MS;
    snprintf(f->journal_user, sizeof f->journal_user, "demo");
    snprintf(f->journal_password, sizeof f->journal_password, "demo-pass");
    snprintf(f->webhook_secret, sizeof f->webhook_secret, "demo-webhook-secret");
}

static bool is_text(const knob *k)
{
    return k->kind == KNOB_TEXT || k->kind == KNOB_NAME;
}

/* A text knob's value: 1..max printable ASCII, no ':' in a name. */
static bool text_ok(const knob *k, const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > (size_t)k->max)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < 0x20 || *p > 0x7e || (k->kind == KNOB_NAME && *p == ':'))
            return false;
    return true;
}

static void store_text(sim_faults *f, const knob *k, const char *s)
{
    snprintf((char *)f + k->offset, SIM_FAULTS_TEXT_LEN, "%s", s);
}

static const knob *knob_by_flag(const char *flag)
{
    for (size_t i = 0; i < N_KNOBS; i++)
        if (strcmp(KNOBS[i].flag, flag) == 0)
            return &KNOBS[i];
    return NULL;
}

static const knob *knob_by_key(const char *key)
{
    for (size_t i = 0; i < N_KNOBS; i++)
        if (strcmp(KNOBS[i].key, key) == 0)
            return &KNOBS[i];
    return NULL;
}

int sim_faults_is_flag(const char *flag, bool *takes_value)
{
    const knob *k = knob_by_flag(flag);
    if (!k)
        return 0;
    *takes_value = k->kind != KNOB_BOOL;
    return 1;
}

static void describe(const knob *k, char *buf, size_t buflen)
{
    switch (k->kind) {
    case KNOB_RATE: snprintf(buf, buflen, "a number from 0 to 1"); break;
    case KNOB_LONG:
    case KNOB_UNTIL: snprintf(buf, buflen, "a whole number from 0 to %ld", k->max); break;
    case KNOB_BOOL: snprintf(buf, buflen, "true or false"); break;
    case KNOB_TEXT: snprintf(buf, buflen, "1 to %ld printable ASCII characters", k->max); break;
    case KNOB_NAME:
        snprintf(buf, buflen, "1 to %ld printable ASCII characters without ':'", k->max);
        break;
    }
}

/* Stores a validated number in the knob's field of f. */
static void store(sim_faults *f, const knob *k, double v)
{
    char *field = (char *)f + k->offset;
    switch (k->kind) {
    case KNOB_RATE: memcpy(field, &v, sizeof v); break;
    case KNOB_LONG: {
        long l = (long)v;
        memcpy(field, &l, sizeof l);
        break;
    }
    case KNOB_BOOL: {
        bool b = v != 0;
        memcpy(field, &b, sizeof b);
        break;
    }
    case KNOB_UNTIL: {
        long until = v == 0 ? 0 : (long)clock_mono_ms() + (long)v;
        memcpy(field, &until, sizeof until);
        break;
    }
    case KNOB_TEXT:
    case KNOB_NAME: break; /* store_text */
    }
}

static int in_range(const knob *k, double v)
{
    if (!isfinite(v) || v < 0)
        return 0;
    if (k->kind == KNOB_RATE)
        return v <= 1.0;
    if (k->kind == KNOB_LONG || k->kind == KNOB_UNTIL)
        return v == floor(v) && v <= (double)k->max;
    return 1;
}

int sim_faults_set_flag(sim_faults *f, const char *flag, const char *value, char *err,
                        size_t errlen)
{
    const knob *k = knob_by_flag(flag);
    char allowed[64];
    if (!k) {
        snprintf(err, errlen, "%s is not a fault flag", flag);
        return -1;
    }
    describe(k, allowed, sizeof allowed);
    if (k->kind == KNOB_BOOL) {
        store(f, k, 1);
        return 0;
    }
    if (is_text(k)) {
        if (!value || !text_ok(k, value)) {
            snprintf(err, errlen, "%s: not allowed; use %s", flag, allowed);
            return -1;
        }
        store_text(f, k, value);
        return 0;
    }
    char *end;
    errno = 0;
    double v = value && *value ? strtod(value, &end) : NAN;
    if (!value || !*value || errno != 0 || *end != '\0' || !in_range(k, v)) {
        snprintf(err, errlen, "%s: '%s' is not allowed; use %s", flag, value ? value : "", allowed);
        return -1;
    }
    store(f, k, v);
    return 0;
}

int sim_faults_apply_json(sim_faults *f, const cJSON *obj, char *err, size_t errlen)
{
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errlen, "body must be a JSON object of fault settings");
        return -1;
    }
    sim_faults next = *f;
    const cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        const knob *k = knob_by_key(item->string);
        if (!k) {
            snprintf(err, errlen, "unknown key '%.64s'", item->string);
            return -1;
        }
        char allowed[64];
        describe(k, allowed, sizeof allowed);
        bool bad = k->kind == KNOB_BOOL ? !cJSON_IsBool(item)
                   : is_text(k)         ? !cJSON_IsString(item) || !text_ok(k, item->valuestring)
                                : !cJSON_IsNumber(item) || !in_range(k, item->valuedouble);
        if (bad) {
            snprintf(err, errlen, "bad value for '%s': use %s", k->key, allowed);
            return -1;
        }
        if (is_text(k))
            store_text(&next, k, item->valuestring);
        else
            store(&next, k, k->kind == KNOB_BOOL ? cJSON_IsTrue(item) : item->valuedouble);
    }
    *f = next;
    return 0;
}

cJSON *sim_faults_to_json(const sim_faults *f)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    for (size_t i = 0; i < N_KNOBS; i++) {
        const knob *k = &KNOBS[i];
        const char *field = (const char *)f + k->offset;
        cJSON *v = NULL;
        if (k->kind == KNOB_RATE) {
            double d;
            memcpy(&d, field, sizeof d);
            v = cJSON_CreateNumber(d);
        } else if (k->kind == KNOB_LONG) {
            long l;
            memcpy(&l, field, sizeof l);
            v = cJSON_CreateNumber((double)l);
        } else if (k->kind == KNOB_UNTIL) {
            long until, now = (long)clock_mono_ms();
            memcpy(&until, field, sizeof until);
            v = cJSON_CreateNumber(until > now ? (double)(until - now) : 0.0);
        } else if (is_text(k)) {
            v = cJSON_CreateString(field);
        } else {
            bool b;
            memcpy(&b, field, sizeof b);
            v = cJSON_CreateBool(b);
        }
        if (!v || !cJSON_AddItemToObject(o, k->key, v)) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

void sim_faults_usage(FILE *out)
{
    for (size_t i = 0; i < N_KNOBS; i++) {
        const knob *k = &KNOBS[i];
        char arg[40];
        snprintf(arg, sizeof arg, "%s%s", k->flag,
                 k->kind == KNOB_RATE                              ? " F"
                 : k->kind == KNOB_LONG || k->kind == KNOB_UNTIL ? " N"
                 : is_text(k)                                    ? " S"
                                                                 : "");
        fprintf(out, "  %-30s %s\n", arg, k->help);
    }
}
