/*
 * console.h - the interactive console: terminal, screens, key loop.
 *
 * The console reads the engine model (model.h) and never calls the network
 * or the database. It runs on the thread that calls console_run (the main
 * thread); every ncurses call stays on that thread.
 */
#ifndef TRADEOPS_CONSOLE_H
#define TRADEOPS_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "command.h"
#include "model.h"

enum console_color { CONSOLE_COLOR_AUTO = 0, CONSOLE_COLOR_NEVER, CONSOLE_COLOR_ALWAYS };
enum console_glyphs { CONSOLE_GLYPHS_AUTO = 0, CONSOLE_GLYPHS_ASCII, CONSOLE_GLYPHS_UTF8 };

typedef struct console_opts {
    const char *operator_name;  /* OS user */
    const char *role;           /* viewer | trader | oncall | admin */
    const char *source;         /* SSH client address, or "local" */
    const char *environment;    /* "DEMO" or "LIVE" (LIVE is shown in red) */
    bool readonly;              /* --readonly: no dangerous action exists */
    enum console_color color;   /* NO_COLOR in the environment forces NEVER */
    enum console_glyphs glyphs; /* AUTO: UTF-8 glyphs only in a UTF-8 locale */
    const char *log_path;       /* stderr goes here while the screen is up */
} console_opts;

/* Runs until the operator quits (0) or the terminal cannot be used (-1 with
 * err filled). Restores the terminal on every exit path, crashes included.
 * port is where operators' actions go (the engine's command thread); its
 * results are shown as they come back. NULL: no engine, and screens say
 * so instead of acting. */
int console_run(const console_opts *opts, model *m, const command_port *port, char *err,
                size_t errlen);

#endif
