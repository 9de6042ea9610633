/*
 * theme.c - see theme.h.
 *
 * Pair numbers equal role numbers, so a role's pair never collides with
 * another's. Roles that only need attributes (bold, reverse) use pair 0.
 */
#include "theme.h"

#include <stdbool.h>

/* 256-colour palette indexes for softer flash and dim shades. */
enum {
    C256_UP_BG = 22,   /* dark green */
    C256_DOWN_BG = 52, /* dark red */
    C256_DIM_FG = 244, /* mid grey */
    C256_BAR_BG = 236, /* near-black grey */
    C256_SEL_BG = 24,  /* steel blue */
    C256_SEL_DIM_BG = 238,
};

static attr_t role_attr[ROLE_COUNT];
static enum theme_depth depth = THEME_MONO;

typedef struct role_style {
    short fg, bg;
    attr_t extra;
} role_style;

static void set_mono(void)
{
    for (int r = 0; r < ROLE_COUNT; r++)
        role_attr[r] = A_NORMAL;
    role_attr[ROLE_TITLE] = A_BOLD;
    role_attr[ROLE_HEADER] = A_BOLD | A_UNDERLINE;
    role_attr[ROLE_SELECTED] = A_REVERSE;
    role_attr[ROLE_SELECTED_DIM] = A_UNDERLINE;
    role_attr[ROLE_TAGGED] = A_BOLD;
    role_attr[ROLE_FLASH_UP] = A_BOLD;
    role_attr[ROLE_FLASH_DOWN] = A_BOLD | A_UNDERLINE;
    role_attr[ROLE_DIM] = A_DIM;
    role_attr[ROLE_BAD] = A_BOLD;
    role_attr[ROLE_WARN] = A_BOLD;
    role_attr[ROLE_TAB_ACTIVE] = A_REVERSE | A_BOLD;
    role_attr[ROLE_ENV_DANGER] = A_REVERSE | A_BOLD;
    role_attr[ROLE_ENV_SAFE] = A_BOLD;
    role_attr[ROLE_BAR] = A_REVERSE;
    role_attr[ROLE_HINT_KEY] = A_BOLD;
    role_attr[ROLE_PROMPT] = A_BOLD;
    role_attr[ROLE_DANGER] = A_BOLD;
}

static void set_pairs(const role_style *styles)
{
    for (int r = 1; r < ROLE_COUNT; r++) {
        const role_style *s = &styles[r];
        if (s->fg == -2) { /* attributes only */
            role_attr[r] = s->extra;
            continue;
        }
        if (init_pair((short)r, s->fg, s->bg) == ERR) {
            role_attr[r] = s->extra;
            continue;
        }
        role_attr[r] = COLOR_PAIR(r) | s->extra;
    }
}

/* fg -2 means "no pair, attributes only"; -1 is the terminal default. */
static const role_style styles8[ROLE_COUNT] = {
    [ROLE_NORMAL] = {-2, -1, A_NORMAL},
    [ROLE_TITLE] = {COLOR_CYAN, COLOR_BLUE, A_BOLD},
    [ROLE_HEADER] = {COLOR_BLACK, COLOR_GREEN, A_NORMAL},
    [ROLE_SELECTED] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL},
    [ROLE_SELECTED_DIM] = {COLOR_BLACK, COLOR_WHITE, A_NORMAL},
    [ROLE_TAGGED] = {COLOR_YELLOW, -1, A_BOLD},
    [ROLE_FLASH_UP] = {COLOR_BLACK, COLOR_GREEN, A_NORMAL},
    [ROLE_FLASH_DOWN] = {COLOR_WHITE, COLOR_RED, A_BOLD},
    [ROLE_DIM] = {-2, -1, A_DIM},
    [ROLE_GOOD] = {COLOR_GREEN, -1, A_NORMAL},
    [ROLE_WARN] = {COLOR_YELLOW, -1, A_BOLD},
    [ROLE_BAD] = {COLOR_RED, -1, A_BOLD},
    [ROLE_TAB] = {COLOR_WHITE, COLOR_BLUE, A_NORMAL},
    [ROLE_TAB_ACTIVE] = {COLOR_BLACK, COLOR_CYAN, A_BOLD},
    [ROLE_ENV_SAFE] = {COLOR_BLACK, COLOR_YELLOW, A_BOLD},
    [ROLE_ENV_DANGER] = {COLOR_WHITE, COLOR_RED, A_BOLD},
    [ROLE_BAR] = {COLOR_WHITE, COLOR_BLUE, A_NORMAL},
    [ROLE_HINT_KEY] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL},
    [ROLE_HINT] = {-2, -1, A_NORMAL},
    [ROLE_PROMPT] = {COLOR_YELLOW, -1, A_BOLD},
    [ROLE_DANGER] = {COLOR_RED, -1, A_BOLD},
};

static const role_style styles256[ROLE_COUNT] = {
    [ROLE_NORMAL] = {-2, -1, A_NORMAL},
    [ROLE_TITLE] = {COLOR_CYAN, C256_BAR_BG, A_BOLD},
    [ROLE_HEADER] = {COLOR_BLACK, COLOR_GREEN, A_NORMAL},
    [ROLE_SELECTED] = {COLOR_WHITE, C256_SEL_BG, A_BOLD},
    [ROLE_SELECTED_DIM] = {COLOR_WHITE, C256_SEL_DIM_BG, A_NORMAL},
    [ROLE_TAGGED] = {COLOR_YELLOW, -1, A_BOLD},
    [ROLE_FLASH_UP] = {COLOR_WHITE, C256_UP_BG, A_BOLD},
    [ROLE_FLASH_DOWN] = {COLOR_WHITE, C256_DOWN_BG, A_BOLD},
    [ROLE_DIM] = {C256_DIM_FG, -1, A_NORMAL},
    [ROLE_GOOD] = {COLOR_GREEN, -1, A_NORMAL},
    [ROLE_WARN] = {COLOR_YELLOW, -1, A_BOLD},
    [ROLE_BAD] = {COLOR_RED, -1, A_BOLD},
    [ROLE_TAB] = {COLOR_WHITE, C256_BAR_BG, A_NORMAL},
    [ROLE_TAB_ACTIVE] = {COLOR_BLACK, COLOR_CYAN, A_BOLD},
    [ROLE_ENV_SAFE] = {COLOR_BLACK, COLOR_YELLOW, A_BOLD},
    [ROLE_ENV_DANGER] = {COLOR_WHITE, COLOR_RED, A_BOLD},
    [ROLE_BAR] = {COLOR_WHITE, C256_BAR_BG, A_NORMAL},
    [ROLE_HINT_KEY] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL},
    [ROLE_HINT] = {-2, -1, A_NORMAL},
    [ROLE_PROMPT] = {COLOR_YELLOW, -1, A_BOLD},
    [ROLE_DANGER] = {COLOR_RED, -1, A_BOLD},
};

enum theme_depth theme_init(bool mono)
{
    set_mono();
    depth = THEME_MONO;
    if (mono || !has_colors())
        return depth;
    /* Without default-colour support, -1 is not a valid colour: fall back
     * to black so pairs still initialise. */
    bool defaults = use_default_colors() == OK;
    role_style fixed[ROLE_COUNT];
    const role_style *src = COLORS >= 256 && COLOR_PAIRS > ROLE_COUNT ? styles256 : styles8;
    for (int r = 0; r < ROLE_COUNT; r++) {
        fixed[r] = src[r];
        if (!defaults && fixed[r].fg == -1)
            fixed[r].fg = COLOR_WHITE;
        if (!defaults && fixed[r].bg == -1)
            fixed[r].bg = COLOR_BLACK;
    }
    if (COLOR_PAIRS <= ROLE_COUNT)
        return depth;
    set_pairs(fixed);
    depth = src == styles256 ? THEME_256 : THEME_8;
    return depth;
}

attr_t theme_attr(enum theme_role role)
{
    if ((int)role < 0 || role >= ROLE_COUNT)
        return A_NORMAL;
    return role_attr[role];
}

enum theme_depth theme_depth(void)
{
    return depth;
}
