/*
 * draw.c - see draw.h.
 */
#include "draw.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "sanitize.h"
#include "theme.h"

static const glyphs *cur_glyphs;
static bool cur_utf8;

void draw_setup(const glyphs *g, bool utf8_locale)
{
    cur_glyphs = g;
    cur_utf8 = utf8_locale;
}

const glyphs *draw_glyphs(void)
{
    if (!cur_glyphs)
        cur_glyphs = glyph_select(GLYPH_ASCII, NULL);
    return cur_glyphs;
}

bool draw_utf8(void)
{
    return cur_utf8;
}

void draw_clean(const char *s, char *out, size_t outlen)
{
    sanitize_text(s ? s : "", out, outlen, cur_utf8);
}

/* Length in bytes and width in columns of the character at s. Clean text
 * is valid UTF-8 (or ASCII), so a decode failure only means an odd locale:
 * count the byte as one column, which is how it will be replaced. */
static size_t char_step(const char *s, size_t n, int *cols)
{
    if ((unsigned char)s[0] < 0x80 || !cur_utf8) {
        *cols = 1;
        return 1;
    }
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t wc;
    size_t len = mbrtowc(&wc, s, n, &st);
    if (len == (size_t)-1 || len == (size_t)-2 || len == 0) {
        *cols = 1;
        return 1;
    }
    int w = wcwidth(wc);
    *cols = w < 0 ? 1 : w;
    return len;
}

int draw_width(const char *clean)
{
    int total = 0;
    size_t n = strlen(clean);
    for (size_t i = 0; i < n;) {
        int c;
        i += char_step(clean + i, n - i, &c);
        total += c;
    }
    return total;
}

int draw_fit(char *clean, size_t cap, int width)
{
    if (width <= 0) {
        if (cap)
            clean[0] = '\0';
        return 0;
    }
    int total = draw_width(clean);
    if (total <= width)
        return total;
    const char *ell = draw_glyphs()->ellipsis;
    int room = width - 1; /* the ellipsis is one column */
    size_t n = strlen(clean), i = 0;
    int used = 0;
    while (i < n) {
        int c;
        size_t len = char_step(clean + i, n - i, &c);
        if (used + c > room)
            break;
        used += c;
        i += len;
    }
    size_t elen = strlen(ell);
    if (i + elen + 1 > cap) { /* no room for the mark: cut without it */
        clean[i] = '\0';
        return used;
    }
    memcpy(clean + i, ell, elen + 1);
    return used + 1;
}

size_t draw_wrap(const char *clean, int width, size_t *next)
{
    size_t n = strlen(clean), i = 0, brk = 0;
    int used = 0;
    if (width < 1)
        width = 1;
    while (i < n) {
        int c;
        size_t len = char_step(clean + i, n - i, &c);
        if (used + c > width)
            break;
        if (clean[i] == ' ')
            brk = i; /* the line may end before this space */
        used += c;
        i += len;
    }
    if (i == 0 && n > 0) { /* one character wider than the line: take it */
        int c;
        i = char_step(clean, n, &c);
    }
    size_t end = i;
    if (i < n && clean[i] != ' ' && brk > 0)
        end = brk; /* do not cut a word when a space is in reach */
    size_t after = end;
    while (after < n && clean[after] == ' ')
        after++;
    while (end > 0 && clean[end - 1] == ' ')
        end--;
    if (next)
        *next = after;
    return end;
}

void draw_blank(WINDOW *w, int y, int x, int n, attr_t attr)
{
    int maxy = getmaxy(w), maxx = getmaxx(w);
    if (y < 0 || y >= maxy || x < 0 || x >= maxx || n <= 0)
        return;
    if (n > maxx - x)
        n = maxx - x;
    wattrset(w, attr);
    mvwhline(w, y, x, ' ', n);
}

int draw_text(WINDOW *w, int y, int x, int width, const char *s, attr_t attr, int flags)
{
    int maxy = getmaxy(w), maxx = getmaxx(w);
    if (y < 0 || y >= maxy || x < 0 || x >= maxx)
        return 0;
    if (width <= 0 || width > maxx - x)
        width = maxx - x;
    char buf[DRAW_MAX_TEXT];
    draw_clean(s, buf, sizeof buf);
    int tw = draw_fit(buf, sizeof buf, width);
    int lead = 0;
    if (flags & DRAW_RIGHT)
        lead = width - tw;
    else if (flags & DRAW_CENTER)
        lead = (width - tw) / 2;
    wattrset(w, attr);
    if (lead > 0 && (flags & DRAW_PAD))
        mvwhline(w, y, x, ' ', lead);
    mvwaddstr(w, y, x + lead, buf);
    int drawn = lead + tw;
    if ((flags & DRAW_PAD) && drawn < width) {
        mvwhline(w, y, x + drawn, ' ', width - drawn);
        drawn = width;
    }
    return drawn;
}

void draw_lines_raw(draw_lines *k, const char *label, const char *clean, attr_t a)
{
    size_t n = k->line++;
    if (!k->w || n < k->top || n - k->top >= (size_t)k->h)
        return;
    int ry = k->y + (int)(n - k->top);
    draw_blank(k->w, ry, k->x, k->width, theme_attr(ROLE_NORMAL));
    int vx = k->x;
    if (label) {
        draw_text(k->w, ry, k->x + 1, DRAW_LABEL_W - 1, label, theme_attr(ROLE_NORMAL) | A_BOLD,
                  DRAW_LEFT);
        vx += DRAW_LABEL_W;
    }
    if (vx < k->x + k->width)
        draw_text(k->w, ry, vx, k->x + k->width - vx, clean, a, DRAW_LEFT);
}

void draw_lines_field(draw_lines *k, const char *label, const char *value, attr_t a)
{
    char clean[DRAW_MAX_TEXT];
    draw_clean(value && value[0] ? value : "-", clean, sizeof clean);
    int room = k->width - (label ? DRAW_LABEL_W : 0);
    if (room < 1)
        room = 1;
    const char *p = clean;
    bool first = true;
    do {
        size_t next = 0, len = draw_wrap(p, room, &next);
        char part[DRAW_MAX_TEXT];
        memcpy(part, p, len);
        part[len] = '\0';
        draw_lines_raw(k, first ? label : "", part, a);
        first = false;
        p += next ? next : strlen(p);
    } while (*p);
}

void draw_put(WINDOW *w, int y, int *x, int right, const char *text, attr_t a)
{
    if (*x < right)
        *x += draw_text(w, y, *x, right - *x, text, a, DRAW_LEFT);
}

void draw_put_sep(WINDOW *w, int y, int *x, int right)
{
    char sep[16];
    snprintf(sep, sizeof sep, " %s ", draw_glyphs()->bullet);
    draw_put(w, y, x, right, sep, theme_attr(ROLE_DIM));
}
