/*
 * sim_notify.h - the far ends of the notifier's protocols: Telegram's Bot API
 * sendMessage and Slack's incoming webhooks, answering as the real services
 * do, recording what they deliver, and failing on demand.
 *
 * Telegram: POST /bot{TOKEN}/sendMessage, JSON {"chat_id": string or
 * integer, "text", "parse_mode" (optional: "HTML" is checked as Telegram's
 * parser reads it; "Markdown"/"MarkdownV2" are taken unchecked),
 * "disable_web_page_preview" (optional bool)}.
 *   TOKEN not ^[0-9]{1,20}:[A-Za-z0-9_-]{10,}$, or a method other than
 *   sendMessage: 404 {"ok":false,"error_code":404,"description":"Not Found"}
 *   no chat_id: 400 "Bad Request: chat_id is empty"; a chat_id that is not
 *   an integer, a decimal string or "@channel": 400 "Bad Request: chat not
 *   found"; no text (or only tags and white space): 400 "Bad Request:
 *   message text is empty"; not UTF-8: 400 "Bad Request: text must be
 *   encoded in UTF-8"; bad HTML: 400 "Bad Request: can't parse entities:
 *   <what, at which byte offset>"; over SIM_NOTIFY_TG_MAX_TEXT code points
 *   after entity parsing: 400 "Bad Request: message is too long"; a chat
 *   that migrated: 400 "Bad Request: group chat was upgraded to a supergroup
 *   chat" with "parameters":{"migrate_to_chat_id":N}.
 *   Success: 200 {"ok":true,"result":{"message_id","from","chat":{"id",
 *   "type"},"date","text"}} where text is the text as Telegram shows it
 *   (tags removed, entities decoded).
 * Slack: POST /services/{T}/{B}/{SECRET} (each [A-Za-z0-9]+), JSON {"text"
 *   (non-empty string), optional "blocks" (array), "mrkdwn" (bool)}.
 *   Success: 200 text/plain "ok"; not JSON, no text, bad types or not UTF-8:
 *   400 "invalid_payload"; any other path: 404 "no_service".
 *
 * Control (POST /_sim/notify, JSON object; all-or-nothing):
 *   {"reset":true}  clears records, attempt counts, faults and migrations
 *   {"migrate":{"from":"-100200","to":"-1001234567"}}  messages to chat
 *       "from" are answered with migrate_to_chat_id "to" (replaces an older
 *       migration of the same "from")
 *   {"target":"telegram"|"slack","fail_next":N,"status":429|403|500,
 *    "retry_after":S}  the next N requests (-1: every one until reset; 0:
 *       none) fail: Telegram 429 (Retry-After: S and "parameters":
 *       {"retry_after":S}), 403 "Forbidden: bot was blocked by the user",
 *       500 "Internal Server Error"; Slack 429 "rate_limited" (Retry-After),
 *       403 "action_prohibited", 500 "internal_error". status defaults to
 *       500, retry_after to 1.
 *   Keys may be combined; reset goes first.
 * GET /_sim/notify: {"telegram":[{"chat_id","text","parse_mode" or null,
 *   "at"}], "slack":[{"path","text","at"}], "attempts":{"telegram","slack"},
 *   "faults":{...}, "migrations":[{"from","to"}]}; the lists hold delivered
 *   (200) messages only, oldest first, at most SIM_NOTIFY_MAX_RECORDS each
 *   (the oldest dropped); attempts counts every request, faulted too.
 *
 * Threads: every function may be called from any connection thread; the
 * state is guarded by the notifier's own mutex (not the world's), held to
 * copy or change it and to render GET /_sim/notify.
 */
#ifndef TRADEOPS_SIM_NOTIFY_H
#define TRADEOPS_SIM_NOTIFY_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "sim_routes.h"

#define SIM_NOTIFY_MAX_RECORDS 10000 /* per service */
#define SIM_NOTIFY_MAX_MIGRATIONS 64
#define SIM_NOTIFY_MAX_FAIL_NEXT 1000000L
#define SIM_NOTIFY_MAX_RETRY_AFTER 3600L
#define SIM_NOTIFY_TG_MAX_TEXT 4096 /* code points after entity parsing */
#define SIM_NOTIFY_TG_MAX_DEPTH 32  /* nested HTML tags */

typedef struct sim_notify sim_notify;

/* NULL when out of memory. */
sim_notify *sim_notify_new(void);
void sim_notify_free(sim_notify *n);

/* path is the whole request path ("/bot.../sendMessage", "/services/...");
 * body is the request body (NUL-terminated, len bytes). */
void sim_notify_telegram(sim_notify *n, const char *path, const char *body, size_t len,
                         sim_reply *out);
void sim_notify_slack(sim_notify *n, const char *path, const char *body, size_t len,
                      sim_reply *out);
void sim_notify_control(sim_notify *n, const char *body, size_t len, sim_reply *out);
/* GET /_sim/notify's body; NULL out of memory. */
cJSON *sim_notify_json(sim_notify *n);

/* ---- Telegram's HTML parse mode (sim_notify_html.c); pure ---- */

/* Checks text (valid UTF-8) as Telegram's HTML parser reads it: only the
 * tags b, strong, i, em, u, ins, s, strike, del, a href, code, pre,
 * tg-spoiler, blockquote and span class="tg-spoiler", properly nested and
 * closed; '<', '>' and '&' outside tags written &lt; &gt; &amp; (or &quot;
 * and numeric entities). Returns 0 with *plain (malloc'ed: the text as shown,
 * tags removed, entities decoded), -1 with err saying what is wrong and at
 * which byte offset, or -2 out of memory. */
int sim_notify_tg_html(const char *text, char **plain, char *err, size_t errlen);
/* True when s is valid UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF); *code_points gets how many it holds. */
bool sim_notify_utf8(const char *s, size_t *code_points);

#endif
