/*
 * screens.c - the table of screens. Adding a screen is a file in screens/
 * and one line here; nothing else switches on screen kinds.
 *
 * Threads: UI thread only.
 */
#include <stdarg.h>
#include <stdio.h>

#include "screen.h"

extern const screen_ops positions_screen;
extern const screen_ops alerts_screen;
extern const screen_ops recon_screen;
extern const screen_ops audit_screen;

const screen_ops *const screens_table[] = {
    &positions_screen,
    &alerts_screen,
    &recon_screen,
    &audit_screen,
};

const size_t screens_count = sizeof screens_table / sizeof screens_table[0];

/* Messages are one status-line segment: longer text is cut there anyway. */
#define SCREEN_SAY_MAX 256

void screen_say(const screen_env *env, int role, const char *fmt, ...)
{
    if (!env || !env->say)
        return;
    char text[SCREEN_SAY_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    env->say(env->say_ctx, role, text);
}
