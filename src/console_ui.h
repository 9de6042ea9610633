/*
 * console_ui.h - the console's state and one frame of it, without the
 * event loop: screens, windows, action dispatch, tab/status/hint lines.
 *
 * console_run (console.c) owns the terminal and the poll(2) loop and calls
 * these; tests call them directly on a curses screen made with newterm() on
 * /dev/null, so every frame the operator would see can be read back.
 *
 * Threads: UI thread only; all of it calls curses.
 */
#ifndef TRADEOPS_CONSOLE_UI_H
#define TRADEOPS_CONSOLE_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "command.h"
#include "console.h"
#include "model.h"

/* Below this size the console shows only "terminal too small (WxH)". */
#define CONSOLE_MIN_COLS 40
#define CONSOLE_MIN_LINES 8

typedef struct console_ui console_ui;

/* Needs curses started (term_init or newterm). opts' strings must outlive
 * the console_ui. NULL with err filled when memory ran out. */
console_ui *console_ui_new(const console_opts *opts, char *err, size_t errlen);
void console_ui_free(console_ui *ui);

/* Where screens send commands (NULL: no engine; a screen then says it
 * cannot act). The port must outlive the console_ui. */
void console_ui_set_port(console_ui *ui, const command_port *port);

/* The engine's model, which screens ask to load other data (the Sync
 * screen's filter); NULL: none. It must outlive the console_ui. */
void console_ui_set_model(console_ui *ui, model *m);

/* Takes every result waiting at the port and shows each on the message
 * line (refusals and failures in the error role). Call when the port's
 * result_fd is readable. Returns how many it took. */
size_t console_ui_take_results(console_ui *ui, int64_t now_ms);

/* Shows one command result on the message line. */
void console_ui_show_result(console_ui *ui, const command_result *res, int64_t now_ms);

/* Hands over a snapshot reference (NULL allowed): the previous one is
 * released after every screen has moved to the new one. */
void console_ui_set_snapshot(console_ui *ui, model_snapshot *snap, int64_t now_ms);

/* One key as returned by wget_wch (fn true for KEY_CODE_YES). Returns the
 * REACT_* flags of action.h; the caller acts on REACT_QUIT and
 * REACT_REFRESH, the rest is handled inside. */
unsigned console_ui_key(console_ui *ui, bool fn, wint_t ch, int64_t now_ms);

/* Marks parts stale (REACT_* flags); REACT_FULL also re-lays out windows
 * and makes the next frame repaint the whole terminal. */
void console_ui_invalidate(console_ui *ui, unsigned react);

/* Paints what changed with wnoutrefresh and one doupdate. Returns the wall
 * time (ms) of the next frame that is due without input or data (the clock
 * tick, a flash ending); INT64_MAX when nothing ticks. */
int64_t console_ui_render(console_ui *ui, int64_t now_ms);

bool console_ui_paused(const console_ui *ui);

#endif
