/*
 * bar.c - see bar.h.
 */
#include "bar.h"

#include <stdio.h>
#include <string.h>

#include "draw.h"

#define BAR_MAX_SEGS 32
#define BAR_MAX_HINTS 64
#define TAB_GAP 1

/* How much of the tab bar to show; each level drops more. */
enum tabs_level {
    TABS_FULL = 0, /* product, env, every tab, clock */
    TABS_NO_PRODUCT,
    TABS_TIGHT,   /* inactive tabs without their padding */
    TABS_NUMBERS, /* inactive tabs as their number only */
    TABS_NO_CLOCK,
    TABS_ACTIVE_ONLY,
    TABS_LEVELS
};

static int text_width(const char *s)
{
    char buf[256];
    draw_clean(s, buf, sizeof buf);
    return draw_width(buf);
}

/* First word of a label ("1" of "1 Inbox"). */
static void label_number(const char *label, char *out, size_t cap)
{
    size_t n = strcspn(label, " ");
    snprintf(out, cap, "%.*s", (int)n, label);
}

static int tabs_width(const bar_tabs *s, int level)
{
    int w = 0;
    if (level < TABS_NO_PRODUCT && s->product)
        w += 1 + text_width(s->product) + TAB_GAP;
    if (s->env)
        w += text_width(s->env) + 2 + TAB_GAP;
    for (int i = 0; i < s->ntabs; i++) {
        if (level >= TABS_ACTIVE_ONLY && i != s->active)
            continue;
        if (level >= TABS_NUMBERS && i != s->active) {
            char num[16];
            label_number(s->tabs[i].label, num, sizeof num);
            w += text_width(num) + 2 + TAB_GAP;
            if (s->tabs[i].badge) /* badges stay: "2(1)" */
                w += text_width(s->tabs[i].badge);
        } else {
            int pad = level >= TABS_TIGHT && i != s->active ? 0 : 2;
            w += text_width(s->tabs[i].label) + pad + TAB_GAP;
            if (s->tabs[i].badge)
                w += text_width(s->tabs[i].badge);
        }
    }
    if (level < TABS_NO_CLOCK && s->clock)
        w += text_width(s->clock) + 1;
    return w;
}

void bar_draw_tabs(WINDOW *w, int y, int width, const bar_tabs *s)
{
    attr_t bar = theme_attr(ROLE_BAR);
    draw_blank(w, y, 0, width, bar);
    int level = TABS_FULL;
    while (level < TABS_ACTIVE_ONLY && tabs_width(s, level) > width)
        level++;
    int x = 0;
    if (level < TABS_NO_PRODUCT && s->product) {
        x += draw_text(w, y, x, 0, " ", bar, DRAW_LEFT);
        x += draw_text(w, y, x, width - x, s->product, theme_attr(ROLE_TITLE), DRAW_LEFT);
        x += TAB_GAP;
    }
    if (s->env && x < width) {
        char env[64];
        snprintf(env, sizeof env, " %s ", s->env);
        x += draw_text(w, y, x, width - x, env,
                       theme_attr(s->env_danger ? ROLE_ENV_DANGER : ROLE_ENV_SAFE), DRAW_LEFT);
        x += TAB_GAP;
    }
    for (int i = 0; i < s->ntabs && x < width; i++) {
        if (level >= TABS_ACTIVE_ONLY && i != s->active)
            continue;
        bool act = i == s->active;
        attr_t a = theme_attr(act ? ROLE_TAB_ACTIVE : ROLE_TAB);
        char lab[96];
        bool tight = level == TABS_TIGHT && !act;
        if (level >= TABS_NUMBERS && !act) {
            char num[16];
            label_number(s->tabs[i].label, num, sizeof num);
            snprintf(lab, sizeof lab, " %s", num);
        } else {
            snprintf(lab, sizeof lab, "%s%s", tight ? "" : " ", s->tabs[i].label);
        }
        x += draw_text(w, y, x, width - x, lab, a, DRAW_LEFT);
        /* A badge (alerts, failures) is kept even when the name is not. */
        if (s->tabs[i].badge && x < width)
            x += draw_text(w, y, x, width - x, s->tabs[i].badge, theme_attr(s->tabs[i].badge_role),
                           DRAW_LEFT);
        if (x < width && !tight)
            x += draw_text(w, y, x, 1, " ", a, DRAW_LEFT);
        x += TAB_GAP;
    }
    if (level < TABS_NO_CLOCK && s->clock) {
        int cw = text_width(s->clock);
        int cx = width - cw - 1;
        if (cx >= x) /* x already counts the gap after the last tab */
            draw_text(w, y, cx, cw, s->clock, bar | A_BOLD, DRAW_LEFT);
    }
}

void bar_draw_segments(WINDOW *w, int y, int width, const bar_segment *segs, size_t n)
{
    attr_t bar = theme_attr(ROLE_BAR);
    draw_blank(w, y, 0, width, bar);
    if (n > BAR_MAX_SEGS)
        n = BAR_MAX_SEGS;
    bool keep[BAR_MAX_SEGS];
    int sep = text_width(draw_glyphs()->bullet) + 2;
    int total = 1;
    for (size_t i = 0; i < n; i++) {
        keep[i] = segs[i].text && segs[i].text[0];
        if (keep[i])
            total += text_width(segs[i].text) + sep;
    }
    /* Drop the least important segment until the rest fits. */
    while (total > width) {
        int victim = -1;
        for (size_t i = 0; i < n; i++)
            if (keep[i] && segs[i].priority > 0 &&
                (victim < 0 || segs[i].priority >= segs[victim].priority))
                victim = (int)i;
        if (victim < 0)
            break;
        keep[victim] = false;
        total -= text_width(segs[victim].text) + sep;
    }
    int x = 1;
    bool first = true;
    for (size_t i = 0; i < n && x < width; i++) {
        if (!keep[i])
            continue;
        if (!first) {
            x += draw_text(w, y, x, 1, " ", bar, DRAW_LEFT);
            x += draw_text(w, y, x, width - x, draw_glyphs()->bullet, bar, DRAW_LEFT);
            x += draw_text(w, y, x, 1, " ", bar, DRAW_LEFT);
        }
        first = false;
        attr_t a = segs[i].role == ROLE_NORMAL ? bar : theme_attr(segs[i].role);
        if (x < width)
            x += draw_text(w, y, x, width - x, segs[i].text, a, DRAW_LEFT);
    }
}

void bar_draw_hints(WINDOW *w, int y, int width, const action *table, size_t n,
                    const action_filter *f)
{
    char text[512];
    size_t idx[BAR_MAX_HINTS];
    size_t k = actions_hint(table, n, f, width - 1, text, sizeof text, idx, BAR_MAX_HINTS);
    draw_blank(w, y, 0, width, theme_attr(ROLE_HINT));
    int x = 0;
    for (size_t i = 0; i < k && i < BAR_MAX_HINTS && x < width; i++) {
        const action *a = &table[idx[i]];
        if (i)
            x += 2;
        x += draw_text(w, y, x, width - x, a->keys_label, theme_attr(ROLE_HINT_KEY), DRAW_LEFT);
        if (x < width)
            x += draw_text(w, y, x, 1, " ", theme_attr(ROLE_HINT), DRAW_LEFT);
        if (x < width)
            x += draw_text(w, y, x, width - x, a->name, theme_attr(ROLE_HINT), DRAW_LEFT);
    }
}
