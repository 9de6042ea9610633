/*
 * notify_proto.h - the two notification protocols without any I/O: the
 * text of a message, the request bodies for Telegram's sendMessage and a
 * Slack incoming webhook, what a reply means, backoff, and masking of the
 * secrets (bot token, webhook URL) in anything that may be shown or stored.
 *
 * Every string handed in is untrusted outside text (alert titles carry
 * account names and broker messages). Cleaning drops nothing silently into
 * the far end: invalid UTF-8, C0/C1 controls (ESC included), DEL and bidi
 * overrides become '?', then HTML/mrkdwn specials are escaped.
 *
 * Pure functions (no globals), safe from any thread.
 */
#ifndef TRADEOPS_NOTIFY_PROTO_H
#define TRADEOPS_NOTIFY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum notify_kind { NOTIFY_TELEGRAM = 0, NOTIFY_SLACK, NOTIFY_KIND_COUNT };

/* "telegram", "slack". */
const char *notify_kind_name(enum notify_kind k);
/* 0 and *out, or -1 for an unknown name (case-insensitive). */
int notify_kind_parse(const char *s, enum notify_kind *out);

/* Longest stored title and body, in bytes (cut at a UTF-8 boundary). */
#define NOTIFY_TITLE_MAX 300
#define NOTIFY_BODY_MAX 3000
/* Rate limits (Telegram's documented limits; Slack asks for one a second). */
#define NOTIFY_MIN_INTERVAL_MS 1000 /* per chat / webhook */
#define NOTIFY_GROUP_PER_MINUTE 20  /* Telegram groups and channels ('-...', '@...') */
/* Shortest wait a 429 without any figure gets. */
#define NOTIFY_DEFAULT_RETRY_AFTER_MS 5000
/* Longest wait a 429 may impose (a bigger figure is capped). */
#define NOTIFY_MAX_RETRY_AFTER_MS (3600 * 1000)
/* Room for error text, and for a Telegram chat id. */
#define NOTIFY_REASON_LEN 300
#define NOTIFY_CHAT_ID_LEN 64

/* ---- cleaning and escaping ---- */

/* Copies in to out (at most outlen-1 bytes plus NUL, never splitting a
 * UTF-8 sequence), every byte or code point sanitize_text would refuse
 * replaced by '?'. With multiline, '\n' survives (and '\r\n' becomes '\n');
 * tabs become spaces. When in does not fit, it ends with "..." instead.
 * NULL in gives "". Returns the bytes written. */
size_t notify_clean(const char *in, char *out, size_t outlen, bool multiline);

/* A malloc'ed copy of s with & < > as &amp; &lt; &gt; (what both Telegram
 * HTML and Slack mrkdwn need). NULL when out of memory. */
char *notify_escape(const char *s);

/* ---- the message ---- */

typedef struct notify_text {
    enum alert_severity severity;
    const char *account; /* NULL or "" */
    const char *title;
    const char *body; /* NULL or "" */
    int64_t alert_id; /* 0: none */
} notify_text;

/* The text as sent, malloc'ed (NULL when out of memory):
 *   telegram, html:  <b>[CRITICAL] title</b>\nbody\naccount demo-3 · alert #12
 *   telegram, plain: the same without markup or escaping
 *   slack:           *[CRITICAL] title*\nbody\n... with & < > escaped
 * Every outside string is cleaned first (notify_clean). */
char *notify_text_telegram(const notify_text *m, bool html);
char *notify_text_slack(const notify_text *m);

/* Request bodies, malloc'ed JSON (NULL when out of memory):
 *   {"chat_id":"...","text":"...","parse_mode":"HTML","disable_web_page_preview":true}
 *   (no parse_mode when html is false), and {"text":"..."}. */
char *notify_request_telegram(const char *chat_id, const char *text, bool html);
char *notify_request_slack(const char *text);

/* True for a chat id Telegram accepts: an integer (groups are negative) or
 * "@channelname". */
bool notify_chat_id_ok(const char *chat_id);
/* Milliseconds between two messages to this chat: 1 s, or 3 s (20 a
 * minute) for a group or channel: an id starting with '-' or '@'. */
int notify_chat_interval_ms(const char *chat_id);

/* ---- what a reply means ---- */

enum notify_verdict {
    NOTIFY_SENT = 0,
    NOTIFY_RESEND_PLAIN, /* Telegram could not parse our HTML: resend as plain text now */
    NOTIFY_MIGRATE,      /* the group became a supergroup: resend to new_chat_id now */
    NOTIFY_RATE_LIMITED, /* nothing to this destination for retry_after_ms */
    NOTIFY_DISABLE,      /* the far end refuses our configuration: stop using it */
    NOTIFY_TRANSIENT,    /* retry later with backoff */
    NOTIFY_PERMANENT,    /* this message will never go: dead */
    NOTIFY_VERDICT_COUNT
};

typedef struct notify_reply {
    bool transport_ok; /* false: no HTTP reply (timeout, refused...) */
    long status;       /* HTTP status */
    const char *body;  /* may be NULL; need not be NUL-terminated */
    size_t len;
    const char *retry_after; /* Retry-After header value, NULL or "" when absent */
    int64_t now_ms;          /* wall clock, for an HTTP-date Retry-After */
} notify_reply;

typedef struct notify_judgement {
    enum notify_verdict verdict;
    long status;                          /* copied from the reply (0: none) */
    int64_t retry_after_ms;               /* NOTIFY_RATE_LIMITED */
    char new_chat_id[NOTIFY_CHAT_ID_LEN]; /* NOTIFY_MIGRATE */
    char reason[NOTIFY_REASON_LEN];       /* the far end's words, cleaned; "" when sent */
} notify_judgement;

/* Judges a reply of Telegram's sendMessage. A reply without a transport
 * must not be judged here (the caller knows what failed). */
void notify_judge_telegram(const notify_reply *r, notify_judgement *j);
/* Judges a reply of a Slack incoming webhook. */
void notify_judge_slack(const notify_reply *r, notify_judgement *j);

const char *notify_verdict_name(enum notify_verdict v);

/* Delay before retry number attempt (1 = the first retry): base_ms *
 * 2^(attempt-1), scaled by jitter (a factor, e.g. 0.9-1.1), at most max_ms. */
int64_t notify_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, double jitter);

/* ---- secrets ---- */

/* "bot123…:***" for a token "123456:ABC...": only the first digits of the
 * bot's id survive. Writes at most outlen-1 bytes plus NUL. */
void notify_mask_token(const char *token, char *out, size_t outlen);
/* Scheme and host (without any user:password@), then at most the first two
 * path segments and never the last one, then a slash and three stars:
 * https://hooks.slack.com/services/T000 and the stars for a Slack webhook. */
void notify_mask_url(const char *url, char *out, size_t outlen);

/* Replaces in s (NUL-terminated, at most cap bytes with the NUL) every
 * occurrence of the secret, and of the part of it that matters on its own
 * (a token's text after ':', a URL's last path segment when 6 bytes or
 * longer), with mask; the result is cut to fit cap. Nothing happens when
 * secret is NULL or "". */
void notify_redact(char *s, size_t cap, const char *secret, const char *mask);

#endif
