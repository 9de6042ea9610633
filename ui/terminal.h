/*
 * terminal.h - terminal policy (htop's CRT.c role): start and stop curses, the
 * locale and glyph set, colour depth, escape delay, signals, crash restore
 * and keeping stderr off the screen.
 *
 * Promises: after term_init succeeds the terminal is restored by term_end,
 * by exit() (atexit), and by a crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT: the handler leaves curses and re-raises the signal with its
 * default action, so a core dump still happens). While the screen is up,
 * stderr points at the log file so no library message can scribble over it.
 * SIGINT, SIGTERM and SIGHUP, and SIGWINCH, only make term_signal_fd
 * readable: the loop decides what to do, from its own thread, whichever
 * thread the kernel delivered the signal to.
 *
 * Threads: the UI thread only (one terminal per process).
 */
#ifndef TRADEOPS_UI_TERM_H
#define TRADEOPS_UI_TERM_H

#include <stdbool.h>
#include <stddef.h>

#include "glyph.h"

/* Milliseconds curses waits after ESC for the rest of a key sequence: short,
 * so Esc feels instant; long enough for a local or SSH terminal's bursts. */
#define TERM_ESCDELAY_MS 25

enum term_color { TERM_COLOR_AUTO = 0, TERM_COLOR_NEVER, TERM_COLOR_ALWAYS };

typedef struct term_config {
    enum term_color color; /* NO_COLOR in the environment forces NEVER */
    enum glyph_mode glyphs;
    const char *log_path; /* stderr while the screen is up; NULL: /dev/null */
} term_config;

/* 0, or -1 with err filled (not a terminal, unknown TERM, log not writable).
 * On failure nothing is left changed. */
int term_init(const term_config *cfg, char *err, size_t errlen);

/* Leaves curses, restores stderr and the previous signal handlers.
 * Idempotent. */
void term_end(void);

bool term_active(void);
bool term_mono(void);

/* Readable when SIGINT/SIGTERM/SIGHUP or SIGWINCH arrived. */
int term_signal_fd(void);

enum { TERM_SIG_QUIT = 1u << 0, TERM_SIG_RESIZE = 1u << 1 };
/* Drains term_signal_fd and returns which signals arrived since last time. */
unsigned term_take_signals(void);

/* Asks the kernel for the window size and resizes curses when it changed.
 * True when it changed. */
bool term_apply_resize(void);

#endif
