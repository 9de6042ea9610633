/*
 * metrics_int.h - what the Metrics screen's files share. The screen
 * (metrics.c, metrics_draw.c) shows the performance table, the equity
 * curve and the system metrics; its digests view (metrics_digests.c) lists
 * the scheduled posts, previews one and sends one now. The screen owns a
 * digests view and hands it the verbs while it is open.
 *
 * Threads: UI thread only.
 */
#ifndef TRADEOPS_SCREENS_METRICS_INT_H
#define TRADEOPS_SCREENS_METRICS_INT_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>

#include "screen.h"

typedef struct metrics_digests metrics_digests;

metrics_digests *metrics_digests_new(void); /* NULL when memory ran out */
void metrics_digests_free(metrics_digests *d);
/* The view opens (asks the model for the digest list and the preview of
 * the selected one) and closes (asks for no preview). */
void metrics_digests_open(metrics_digests *d, const screen_env *env);
void metrics_digests_close(metrics_digests *d, const screen_env *env);
/* A new snapshot: 0, or -1 when memory ran out. */
int metrics_digests_update(metrics_digests *d, const screen_env *env);
/* Paints the list with the preview of the selected digest; returns as
 * screen_ops.draw does. */
int64_t metrics_digests_draw(metrics_digests *d, WINDOW *w, int y, int x, int h, int width,
                             const screen_env *env);
/* Verbs while the view is open, the verbs it answers (VERB_DIGESTS closes
 * it: the screen handles that), and the send prompt's ask and answer. */
unsigned metrics_digests_handle(metrics_digests *d, int verb, const char *arg,
                                const screen_env *env);
unsigned long metrics_digests_verbs(const metrics_digests *d);
bool metrics_digests_ask(metrics_digests *d, int verb, const screen_env *env, screen_ask *out);
unsigned metrics_digests_answer(metrics_digests *d, int verb, const char *target, const char *text,
                                const screen_env *env);

#endif
