/*
 * glyph.h - the characters the toolkit draws with, in a UTF-8 and an ASCII set.
 *
 * A terminal whose locale is not UTF-8 (or an operator who asked for ASCII)
 * must never receive box-drawing bytes it will show as mojibake, so every
 * non-text character the toolkit draws comes from the table chosen here.
 *
 * Threads: pure; glyph_select may be called from any thread.
 */
#ifndef TRADEOPS_UI_GLYPH_H
#define TRADEOPS_UI_GLYPH_H

#include <stdbool.h>

enum glyph_mode { GLYPH_AUTO = 0, GLYPH_ASCII, GLYPH_UTF8 };

typedef struct glyphs {
    bool utf8;            /* true for the UTF-8 set */
    const char *sort_asc; /* header mark of the ascending sort column */
    const char *sort_desc;
    const char *tag;      /* gutter mark of a tagged row */
    const char *ellipsis; /* shown where text was cut */
    const char *hline;    /* separator line */
    const char *vline;
    const char *up; /* value went up */
    const char *down;
    const char *bullet; /* separates items on one line */
    const char *differ; /* marks a value that differs from its counterpart */
} glyphs;

/* True when a locale codeset name (nl_langinfo(CODESET)) is UTF-8. */
bool glyph_codeset_is_utf8(const char *codeset);

/* The set to use: ASCII when asked, or in AUTO mode when the codeset is not
 * UTF-8; UTF-8 only when asked or when the codeset is UTF-8. An explicit
 * GLYPH_UTF8 still falls back to ASCII on a non-UTF-8 codeset, because the
 * terminal would show the bytes as garbage. */
const glyphs *glyph_select(enum glyph_mode mode, const char *codeset);

#endif
