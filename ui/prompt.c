/*
 * prompt.c - see prompt.h.
 */
#include "prompt.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <wctype.h>

#include "draw.h"
#include "theme.h"

#define KEY_ESC 27
#define CTRL(c) ((c)&0x1f)

void prompt_open(prompt *p, const char *label, const char *initial)
{
    memset(p, 0, sizeof *p);
    p->open = true;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    snprintf(p->text, sizeof p->text, "%s", initial ? initial : "");
    p->len = p->cur = strlen(p->text);
}

void prompt_close(prompt *p)
{
    p->open = false;
}

static bool is_cont(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

static size_t prev_char(const prompt *p, size_t at)
{
    if (at == 0)
        return 0;
    at--;
    while (at > 0 && is_cont(p->text[at]))
        at--;
    return at;
}

static size_t next_char(const prompt *p, size_t at)
{
    if (at >= p->len)
        return p->len;
    at++;
    while (at < p->len && is_cont(p->text[at]))
        at++;
    return at;
}

static void delete_range(prompt *p, size_t from, size_t to)
{
    memmove(p->text + from, p->text + to, p->len - to + 1);
    p->len -= to - from;
    p->cur = from;
}

static void insert_char(prompt *p, wint_t ch)
{
    char mb[MB_LEN_MAX];
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t n;
    if (ch < 0x80) {
        mb[0] = (char)ch;
        n = 1;
    } else {
        n = wcrtomb(mb, (wchar_t)ch, &st);
        if (n == (size_t)-1)
            return;
    }
    if (p->len + n + 1 > sizeof p->text)
        return;
    memmove(p->text + p->cur + n, p->text + p->cur, p->len - p->cur + 1);
    memcpy(p->text + p->cur, mb, n);
    p->len += n;
    p->cur += n;
}

enum prompt_result prompt_key(prompt *p, bool fn, wint_t ch)
{
    if (fn) {
        switch (ch) {
        case KEY_ENTER: return PROMPT_ACCEPT;
        case KEY_BACKSPACE:
            if (p->cur)
                delete_range(p, prev_char(p, p->cur), p->cur);
            break;
        case KEY_DC:
            if (p->cur < p->len)
                delete_range(p, p->cur, next_char(p, p->cur));
            break;
        case KEY_LEFT: p->cur = prev_char(p, p->cur); break;
        case KEY_RIGHT: p->cur = next_char(p, p->cur); break;
        case KEY_HOME: p->cur = 0; break;
        case KEY_END: p->cur = p->len; break;
        default: break;
        }
        return PROMPT_EDITING;
    }
    switch (ch) {
    case '\r':
    case '\n': return PROMPT_ACCEPT;
    case KEY_ESC:
    case CTRL('g'): return PROMPT_CANCEL;
    case 127:
    case CTRL('h'):
        if (p->cur)
            delete_range(p, prev_char(p, p->cur), p->cur);
        return PROMPT_EDITING;
    case CTRL('a'): p->cur = 0; return PROMPT_EDITING;
    case CTRL('e'): p->cur = p->len; return PROMPT_EDITING;
    case CTRL('u'): delete_range(p, 0, p->cur); return PROMPT_EDITING;
    case CTRL('w'): {
        size_t at = p->cur;
        while (at > 0 && p->text[at - 1] == ' ')
            at--;
        while (at > 0 && p->text[at - 1] != ' ')
            at--;
        delete_range(p, at, p->cur);
        return PROMPT_EDITING;
    }
    default: break;
    }
    /* Only printable characters go in: a pasted ESC sequence is dropped. */
    if (ch >= 0x20 && ch != 0x7f && !(ch >= 0x80 && ch < 0xa0) && iswprint(ch))
        insert_char(p, ch);
    return PROMPT_EDITING;
}

void prompt_draw(const prompt *p, WINDOW *w, int y, int width)
{
    attr_t a = theme_attr(ROLE_PROMPT);
    draw_blank(w, y, 0, width, theme_attr(ROLE_NORMAL));
    int label_w = width - PROMPT_MIN_ROOM;
    if (label_w < width / 2)
        label_w = width / 2;
    int x = label_w > 0 ? draw_text(w, y, 0, label_w, p->label, a, DRAW_LEFT) : 0;
    /* Keep the cursor in view: show the tail when the text is too long. */
    char before[PROMPT_MAX], clean[PROMPT_MAX];
    snprintf(before, sizeof before, "%.*s", (int)p->cur, p->text);
    draw_clean(before, clean, sizeof clean);
    int room = width - x - 1;
    const char *shown = clean;
    while (*shown && draw_width(shown) > room) {
        shown++;
        while (*shown && is_cont(*shown))
            shown++;
    }
    if (room <= 0)
        return;
    x += draw_text(w, y, x, room, shown, theme_attr(ROLE_NORMAL), DRAW_LEFT);
    /* The cursor cell: the character under it, or a space, in reverse. */
    char under[8] = " ";
    if (p->cur < p->len)
        snprintf(under, sizeof under, "%.*s", (int)(next_char(p, p->cur) - p->cur),
                 p->text + p->cur);
    if (x < width)
        x += draw_text(w, y, x, 1, under, A_REVERSE, DRAW_LEFT);
    if (p->cur < p->len && x < width)
        draw_text(w, y, x, width - x, p->text + next_char(p, p->cur), theme_attr(ROLE_NORMAL),
                  DRAW_LEFT);
}
