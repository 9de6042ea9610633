/*
 * prompt.h - a one-line editor for the bottom line (filter text, later the
 * command line): insert, delete, move, accept with Enter, cancel with Esc.
 *
 * The buffer is UTF-8 and edited by whole characters. What the operator
 * types is drawn through draw_text like anything else, so pasted control
 * characters are never echoed raw; they are not even inserted.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_UI_PROMPT_H
#define TRADEOPS_UI_PROMPT_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

#define PROMPT_MAX 256       /* bytes of text, NUL included */
#define PROMPT_LABEL_MAX 192 /* labels may name what the text is for */
/* Columns kept for the text however long the label: a long label is cut
 * (with the ellipsis) rather than leave no room to type. */
#define PROMPT_MIN_ROOM 16

typedef struct prompt {
    bool open;
    char label[PROMPT_LABEL_MAX];
    char text[PROMPT_MAX];
    size_t len; /* bytes */
    size_t cur; /* byte offset of the cursor, on a character boundary */
} prompt;

enum prompt_result { PROMPT_EDITING = 0, PROMPT_ACCEPT, PROMPT_CANCEL };

void prompt_open(prompt *p, const char *label, const char *initial);
void prompt_close(prompt *p);

/* One key from wget_wch: fn is true for KEY_* codes. */
enum prompt_result prompt_key(prompt *p, bool fn, wint_t ch);

void prompt_draw(const prompt *p, WINDOW *w, int y, int width);

#endif
