/* glyph.c - see glyph.h. */
#include "glyph.h"

#include <string.h>
#include <strings.h>

static const glyphs glyphs_utf8 = {
    .utf8 = true,
    .sort_asc = "\xe2\x96\xb2",  /* U+25B2 */
    .sort_desc = "\xe2\x96\xbc", /* U+25BC */
    .tag = "\xe2\x9c\x93",       /* U+2713 */
    .ellipsis = "\xe2\x80\xa6",  /* U+2026 */
    .hline = "\xe2\x94\x80",     /* U+2500 */
    .vline = "\xe2\x94\x82",     /* U+2502 */
    .up = "\xe2\x86\x91",        /* U+2191 */
    .down = "\xe2\x86\x93",      /* U+2193 */
    .bullet = "\xc2\xb7",        /* U+00B7 */
    .differ = "\xe2\x89\xa0",    /* U+2260 */
};

static const glyphs glyphs_ascii = {
    .utf8 = false,
    .sort_asc = "^",
    .sort_desc = "v",
    .tag = "*",
    .ellipsis = "~",
    .hline = "-",
    .vline = "|",
    .up = "+",
    .down = "-",
    .bullet = "|",
    .differ = "!",
};

bool glyph_codeset_is_utf8(const char *codeset)
{
    return codeset && (strcasecmp(codeset, "UTF-8") == 0 || strcasecmp(codeset, "UTF8") == 0);
}

const glyphs *glyph_select(enum glyph_mode mode, const char *codeset)
{
    if (mode == GLYPH_ASCII || !glyph_codeset_is_utf8(codeset))
        return &glyphs_ascii;
    return &glyphs_utf8;
}
