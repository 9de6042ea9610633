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
extern const screen_ops sync_screen;
extern const screen_ops metrics_screen;
extern const screen_ops audit_screen;

const screen_ops *const screens_table[] = {
    &positions_screen,
    &alerts_screen,
    &recon_screen,
    &sync_screen,
    &metrics_screen,
    &audit_screen,
};

const size_t screens_count = sizeof screens_table / sizeof screens_table[0];

int screens_number(size_t index)
{
    if (index >= screens_count)
        return 0;
    int n = screens_table[index]->number;
    return n > 0 ? n : (int)index + 1;
}

int screens_index_of(int number)
{
    for (size_t i = 0; i < screens_count; i++)
        if (screens_number(i) == number)
            return (int)i;
    return -1;
}

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
