/*
 * terminal.c - see terminal.h.
 *
 * Handlers do only async-signal-safe work (set a flag, write a byte), with
 * one deliberate exception shared with htop: the crash handler calls
 * endwin(), because a terminal left in raw mode on the alternate screen is
 * worse than the small risk of endwin() misbehaving in a dying process.
 */
#include "terminal.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "draw.h"
#include "theme.h"

static volatile sig_atomic_t active;
static volatile sig_atomic_t got_quit, got_resize;
static int saved_stderr = -1;
static int sig_pipe[2] = {-1, -1};
static SCREEN *screen;
static bool mono;
static bool atexit_done;

static const int crash_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static const int quit_sigs[] = {SIGINT, SIGTERM, SIGHUP};
#define N_CRASH (sizeof crash_sigs / sizeof crash_sigs[0])
#define N_QUIT (sizeof quit_sigs / sizeof quit_sigs[0])
static struct sigaction old_crash[N_CRASH], old_quit[N_QUIT], old_winch;

static void restore_stderr(void)
{
    if (saved_stderr >= 0) {
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        saved_stderr = -1;
    }
}

static void crash_handler(int sig)
{
    if (active) {
        active = 0;
        endwin();
        if (saved_stderr >= 0)
            dup2(saved_stderr, STDERR_FILENO);
        static const char msg[] = "fatal signal; terminal restored\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
    }
    /* SA_RESETHAND restored the default action; the raised signal is
     * delivered when this handler returns. */
    raise(sig);
}

static void poke(void)
{
    int saved = errno;
    if (sig_pipe[1] >= 0) {
        char c = 1;
        ssize_t w = write(sig_pipe[1], &c, 1); /* full pipe: a wake-up is pending anyway */
        (void)w;
    }
    errno = saved;
}

static void quit_handler(int sig)
{
    (void)sig;
    got_quit = 1;
    poke();
}

static void winch_handler(int sig)
{
    (void)sig;
    got_resize = 1;
    poke();
}

static void at_exit(void)
{
    term_end();
}

static void install(int sig, void (*fn)(int), int flags, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, old);
}

static void install_handlers(void)
{
    for (size_t i = 0; i < N_CRASH; i++)
        install(crash_sigs[i], crash_handler, SA_RESETHAND, &old_crash[i]);
    for (size_t i = 0; i < N_QUIT; i++)
        install(quit_sigs[i], quit_handler, SA_RESTART, &old_quit[i]);
    /* Installed before newterm so curses keeps its hands off SIGWINCH: the
     * pipe wakes poll(2) whichever thread the signal hits. */
    install(SIGWINCH, winch_handler, SA_RESTART, &old_winch);
}

static void restore_handlers(void)
{
    for (size_t i = 0; i < N_CRASH; i++)
        sigaction(crash_sigs[i], &old_crash[i], NULL);
    for (size_t i = 0; i < N_QUIT; i++)
        sigaction(quit_sigs[i], &old_quit[i], NULL);
    sigaction(SIGWINCH, &old_winch, NULL);
}

static int redirect_stderr(const char *path, char *err, size_t errlen)
{
    const char *target = path && *path ? path : "/dev/null";
    int fd = open(target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open log file %s: %s (set another log path)", target,
                 strerror(errno));
        return -1;
    }
    saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0) {
        snprintf(err, errlen, "cannot redirect stderr: %s", strerror(errno));
        close(fd);
        if (saved_stderr >= 0)
            close(saved_stderr);
        saved_stderr = -1;
        return -1;
    }
    close(fd);
    return 0;
}

static void close_pipe(void)
{
    for (int i = 0; i < 2; i++)
        if (sig_pipe[i] >= 0) {
            close(sig_pipe[i]);
            sig_pipe[i] = -1;
        }
}

int term_init(const term_config *cfg, char *err, size_t errlen)
{
    if (active) {
        snprintf(err, errlen, "terminal already in use");
        return -1;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, errlen,
                 "the console needs a terminal on stdin and stdout "
                 "(use a headless command instead)");
        return -1;
    }
    setlocale(LC_ALL, "");
    const char *codeset = nl_langinfo(CODESET);
    bool utf8 = glyph_codeset_is_utf8(codeset);
    draw_setup(glyph_select(cfg->glyphs, codeset), utf8);
    const char *nc = getenv("NO_COLOR");
    mono = cfg->color == TERM_COLOR_NEVER || (nc && *nc);

    if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot create signal pipe: %s", strerror(errno));
        return -1;
    }
    if (redirect_stderr(cfg->log_path, err, errlen) < 0) {
        close_pipe();
        return -1;
    }
    got_quit = got_resize = 0;
    install_handlers();
    /* The kernel's idea of the size wins over stale LINES/COLUMNS. */
    use_env(TRUE);
    use_tioctl(TRUE);
    screen = newterm(NULL, stdout, stdin);
    if (!screen) {
        const char *t = getenv("TERM");
        restore_handlers();
        restore_stderr();
        close_pipe();
        snprintf(err, errlen, "cannot use terminal type '%s' (check TERM)", t ? t : "(unset)");
        return -1;
    }
    set_term(screen);
    active = 1;
    if (!atexit_done) {
        atexit(at_exit);
        atexit_done = true;
    }
    set_escdelay(TERM_ESCDELAY_MS);
    cbreak();
    noecho();
    nonl();
    intrflush(stdscr, FALSE);
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    if (!mono && has_colors())
        start_color();
    theme_init(mono);
    return 0;
}

void term_end(void)
{
    if (!active)
        return;
    active = 0;
    /* Without an alternate screen (vt100 and kin) the console would stay
     * on the terminal under the shell prompt: wipe it first. */
    const char *rmcup = tigetstr("rmcup");
    if (!rmcup || rmcup == (const char *)-1 || !*rmcup) {
        clear();
        refresh();
    }
    endwin();
    delscreen(screen);
    screen = NULL;
    restore_stderr();
    restore_handlers();
    close_pipe();
}

bool term_active(void)
{
    return active;
}
bool term_mono(void)
{
    return mono;
}
int term_signal_fd(void)
{
    return sig_pipe[0];
}

unsigned term_take_signals(void)
{
    char buf[64];
    while (sig_pipe[0] >= 0 && read(sig_pipe[0], buf, sizeof buf) > 0)
        ;
    unsigned r = 0;
    if (got_quit) {
        got_quit = 0;
        r |= TERM_SIG_QUIT;
    }
    if (got_resize) {
        got_resize = 0;
        r |= TERM_SIG_RESIZE;
    }
    return r;
}

bool term_apply_resize(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
        return false;
    if (ws.ws_row == LINES && ws.ws_col == COLS)
        return false;
    resizeterm(ws.ws_row, ws.ws_col);
    return true;
}
