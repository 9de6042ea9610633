/*
 * screens.c - the table of screens. Adding a screen is a file in screens/
 * and one line here; nothing else switches on screen kinds.
 */
#include "screen.h"

extern const screen_ops positions_screen;

const screen_ops *const screens_table[] = {
    &positions_screen,
};

const size_t screens_count = sizeof screens_table / sizeof screens_table[0];
