/*
 * console_chrome.c - the tab bar and the status line: what the operator
 * must always see (environment, clock, service links, data age, who they
 * are, read-only and paused) whatever screen is up.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bar.h"
#include "console_int.h"
#include "fmt.h"

#define TAB_LABEL_MAX 48
#define TAB_BADGE_MAX 16
#define SEG_TEXT_MAX 256
#define PRODUCT_NAME "tradeops"
#define MAX_TABS 16

void console_draw_tabs(console_ui *ui)
{
    bar_tab tabs[MAX_TABS];
    char labels[MAX_TABS][TAB_LABEL_MAX], badges[MAX_TABS][TAB_BADGE_MAX];
    size_t n = screens_count < MAX_TABS ? screens_count : MAX_TABS;
    screen_env env = console_env(ui);
    for (size_t i = 0; i < n; i++) {
        const screen_ops *ops = screens_table[i];
        snprintf(labels[i], sizeof labels[i], "%d %s", screens_number(i), ops->name);
        int role = ROLE_NORMAL;
        bool has =
            ops->badge && ops->badge(ui->states[i], &env, badges[i], sizeof badges[i], &role);
        tabs[i] = (bar_tab){labels[i], has ? badges[i] : NULL, (enum theme_role)role};
    }
    const char *envname = ui->opts.environment;
    char clock[CONSOLE_CLOCK_MAX + 8];
    snprintf(clock, sizeof clock, "%s UTC", ui->clock);
    bar_tabs spec = {
        .product = PRODUCT_NAME,
        .env = envname && *envname ? envname : NULL,
        .env_danger = envname && strcasecmp(envname, "LIVE") == 0,
        .tabs = tabs,
        .ntabs = (int)n,
        .active = (int)ui->cur,
        .clock = clock,
    };
    bar_draw_tabs(ui->w_tabs, 0, getmaxx(ui->w_tabs), &spec);
}

enum { SEG_MAX = 16 };

typedef struct seg_buf {
    bar_segment segs[SEG_MAX];
    char text[SEG_MAX][SEG_TEXT_MAX];
    size_t n;
} seg_buf;

static void add(seg_buf *b, enum theme_role role, int priority, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(seg_buf *b, enum theme_role role, int priority, const char *fmt, ...)
{
    if (b->n >= SEG_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->text[b->n], SEG_TEXT_MAX, fmt, ap);
    va_end(ap);
    b->segs[b->n] = (bar_segment){b->text[b->n], role, priority};
    b->n++;
}

/* Status priorities: 0 never dropped; larger dropped first when narrow. */
enum { PRIO_KEEP = 0, PRIO_AGE = 1, PRIO_WHO = 2, PRIO_P95 = 3, PRIO_ERROR = 4 };

static void link_segments(seg_buf *b, const char *name, enum link_state st, const char *error)
{
    enum theme_role role = st == LINK_UP ? ROLE_GOOD : st == LINK_DOWN ? ROLE_BAD : ROLE_WARN;
    add(b, role, PRIO_KEEP, "%s %s", name, link_state_name(st));
    if (st != LINK_UP && error && error[0])
        add(b, ROLE_BAD, PRIO_ERROR, "%s: %s", name, error);
}

void console_draw_status(console_ui *ui)
{
    seg_buf b;
    b.n = 0;
    const model_snapshot *s = ui->snap;
    if (!s) {
        add(&b, ROLE_WARN, PRIO_KEEP, "waiting for data");
    } else {
        link_segments(&b, "PostgreSQL", s->pg, s->pg_error);
        link_segments(&b, "Redis", s->redis, s->redis_error);
        link_segments(&b, "Broker", s->broker, s->broker_error);
        if (s->n_accounts) {
            int64_t oldest = model_oldest_age_ms(s, ui->now_ms);
            char age[32];
            fmt_age(oldest, age, sizeof age);
            bool stale = oldest > s->stale_after_ms;
            add(&b, stale ? ROLE_BAD : ROLE_NORMAL, PRIO_AGE, "oldest %s", age);
        }
        if (s->poll_latency.count) {
            char p95[32];
            fmt_latency(s->poll_latency.p95, p95, sizeof p95);
            add(&b, ROLE_NORMAL, PRIO_P95, "poll p95 %s", p95);
        }
    }
    add(&b, ROLE_NORMAL, PRIO_WHO, "%s@%s", ui->opts.operator_name ? ui->opts.operator_name : "?",
        ui->opts.role ? ui->opts.role : "?");
    if (ui->opts.readonly)
        add(&b, ROLE_WARN, PRIO_KEEP, "READ-ONLY");
    if (ui->paused)
        add(&b, ROLE_WARN, PRIO_KEEP, "PAUSED");
    if (ui->out_of_memory)
        add(&b, ROLE_BAD, PRIO_KEEP, "out of memory: some rows are not shown");
    if (ui->message[0])
        add(&b, (enum theme_role)ui->message_role, PRIO_KEEP, "%s", ui->message);
    bar_draw_segments(ui->w_status, 0, getmaxx(ui->w_status), b.segs, b.n);
}
