/*
 * console.c - console_run: the terminal and the event loop.
 *
 * The loop sleeps in poll(2) on up to four descriptors: the terminal, the
 * model's wake-up eventfd, the signal pipe (quit and resize) and the
 * command port's result descriptor (an operator's action answered). The
 * timeout is the next moment something on screen changes by itself (the
 * clock's next second, a flash ending); with nothing due it blocks, so an
 * idle console costs no CPU.
 */
#include "console.h"

#include <curses.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "action.h"
#include "clock.h"
#include "console_ui.h"
#include "terminal.h"

/* Keys read in one wake-up before painting again, so a held key or a big
 * paste cannot starve the screen. */
#define KEYS_PER_FRAME 64

enum { FD_TTY = 0, FD_MODEL, FD_SIGNAL, FD_RESULT, FD_COUNT };

static int poll_timeout(int64_t due, int64_t now)
{
    if (due == INT64_MAX)
        return -1;
    if (due <= now)
        return 0;
    int64_t ms = due - now;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static void take_snapshot(console_ui *ui, model *m)
{
    /* Drain first: a publish racing with the acquire then wakes us again
     * instead of being lost. */
    model_drain_wake(m);
    console_ui_set_snapshot(ui, model_acquire(m), clock_now_ms());
}

/* Reads pending keys. Returns REACT flags gathered (QUIT, REFRESH). *more
 * is set when the per-frame limit cut reading short: curses may hold the
 * rest in its own buffer, where poll(2) cannot see it. */
static unsigned read_keys(console_ui *ui, bool *more)
{
    unsigned all = 0;
    *more = true;
    for (int i = 0; i < KEYS_PER_FRAME; i++) {
        wint_t ch;
        int rc = wget_wch(stdscr, &ch);
        if (rc == ERR) {
            *more = false;
            break;
        }
        all |= console_ui_key(ui, rc == KEY_CODE_YES, ch, clock_now_ms());
        if (all & REACT_QUIT)
            break;
    }
    return all;
}

static enum term_color map_color(enum console_color c)
{
    switch (c) {
    case CONSOLE_COLOR_NEVER: return TERM_COLOR_NEVER;
    case CONSOLE_COLOR_ALWAYS: return TERM_COLOR_ALWAYS;
    default: return TERM_COLOR_AUTO;
    }
}

static enum glyph_mode map_glyphs(enum console_glyphs g)
{
    switch (g) {
    case CONSOLE_GLYPHS_ASCII: return GLYPH_ASCII;
    case CONSOLE_GLYPHS_UTF8: return GLYPH_UTF8;
    default: return GLYPH_AUTO;
    }
}

int console_run(const console_opts *opts, model *m, const command_port *port, char *err,
                size_t errlen)
{
    term_config tc = {
        .color = map_color(opts->color),
        .glyphs = map_glyphs(opts->glyphs),
        .log_path = opts->log_path,
    };
    if (term_init(&tc, err, errlen) < 0)
        return -1;
    console_ui *ui = console_ui_new(opts, err, errlen);
    if (!ui) {
        term_end();
        return -1;
    }
    console_ui_set_port(ui, port);
    console_ui_set_model(ui, m);
    /* poll(2) ignores a negative descriptor: no port, no results to wait for. */
    int result_fd = port && port->take_result ? port->result_fd : -1;
    take_snapshot(ui, m);
    int rc = 0;
    bool more_keys = false;
    for (;;) {
        int64_t due = console_ui_render(ui, clock_now_ms());
        struct pollfd fds[FD_COUNT] = {
            [FD_TTY] = {.fd = STDIN_FILENO, .events = POLLIN},
            [FD_MODEL] = {.fd = model_wake_fd(m), .events = POLLIN},
            [FD_SIGNAL] = {.fd = term_signal_fd(), .events = POLLIN},
            [FD_RESULT] = {.fd = result_fd, .events = POLLIN},
        };
        int n = poll(fds, FD_COUNT, more_keys ? 0 : poll_timeout(due, clock_now_ms()));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "waiting for input failed: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (fds[FD_SIGNAL].revents & POLLIN) {
            unsigned sig = term_take_signals();
            if (sig & TERM_SIG_QUIT)
                break;
            if (sig & TERM_SIG_RESIZE) {
                term_apply_resize();
                console_ui_invalidate(ui, REACT_FULL);
            }
        }
        if ((fds[FD_MODEL].revents & POLLIN) && !console_ui_paused(ui))
            take_snapshot(ui, m);
        else if (fds[FD_MODEL].revents & POLLIN)
            model_drain_wake(m); /* paused: resume takes the newest then */
        if (fds[FD_RESULT].revents & POLLIN)
            console_ui_take_results(ui, clock_now_ms());
        if ((fds[FD_TTY].revents & POLLIN) || more_keys) {
            unsigned react = read_keys(ui, &more_keys);
            if (react & REACT_QUIT)
                break;
            if (react & REACT_REFRESH)
                take_snapshot(ui, m);
        }
        if (fds[FD_TTY].revents & (POLLHUP | POLLERR | POLLNVAL))
            break; /* the terminal went away (SSH dropped): leave quietly */
    }
    console_ui_free(ui);
    term_end();
    return rc;
}
