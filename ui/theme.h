/*
 * theme.h - colour roles: what a piece of text means, mapped to attributes.
 *
 * Widgets ask for a role (header, selected, flash-up, ...) and never for a
 * colour, so one place decides how each looks in 8 colours, in 256 colours
 * and in monochrome (bold/reverse/dim only, for NO_COLOR and --no-color).
 *
 * Threads: UI thread only (theme_init calls ncurses).
 */
#ifndef TRADEOPS_UI_THEME_H
#define TRADEOPS_UI_THEME_H

#include <curses.h>

enum theme_role {
    ROLE_NORMAL = 0,
    ROLE_TITLE,        /* product name */
    ROLE_HEADER,       /* table column titles */
    ROLE_SELECTED,     /* cursor row of the focused table */
    ROLE_SELECTED_DIM, /* cursor row of a table without focus */
    ROLE_TAGGED,
    ROLE_FLASH_UP,   /* a value that just rose */
    ROLE_FLASH_DOWN, /* a value that just fell */
    ROLE_DIM,        /* stale or secondary */
    ROLE_GOOD,       /* link up, profit */
    ROLE_WARN,
    ROLE_BAD, /* link down, error, stale age */
    ROLE_TAB,
    ROLE_TAB_ACTIVE,
    ROLE_ENV_SAFE,   /* a non-production environment label */
    ROLE_ENV_DANGER, /* a production environment label (red) */
    ROLE_BAR,        /* status and tab line background */
    ROLE_HINT_KEY,
    ROLE_HINT,
    ROLE_PROMPT,
    ROLE_DANGER, /* dangerous action marks */
    ROLE_COUNT
};

enum theme_depth { THEME_MONO = 0, THEME_8, THEME_256 };

/* Chooses attributes for every role. mono forces THEME_MONO; otherwise the
 * depth follows the terminal (needs start_color() already done when
 * has_colors()). Returns the depth in use. */
enum theme_depth theme_init(bool mono);

/* Attributes of a role (A_NORMAL before theme_init). */
attr_t theme_attr(enum theme_role role);

enum theme_depth theme_depth(void);

#endif
