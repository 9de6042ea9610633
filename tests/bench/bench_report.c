/*
 * bench_report.c - `make bench`: the offline report (tradeops report
 * --trades-csv) over BENCH_REPORT_ROWS (1,000,000) generated trades:
 * seconds and peak memory, beside references measured in the same run on
 * the same file.
 *
 * Each measurement runs in a child process of its own (fork), so its peak
 * resident size (ru_maxrss from wait4) is its own and not the bench's
 * earlier parts'. The figures:
 *   baseline   a child that does nothing: the memory every child starts with
 *   reference  reading the file and splitting each line into its five fields,
 *              no parsing and no computation (the I/O floor)
 *   library    report_trades_read + report_write (JSON, by account, strategy
 *              and symbol) into memory
 *   command    the tradeops binary itself (BIN_TRADEOPS), JSON to /dev/null,
 *              when the binary is there
 * Peak memory is shown above the baseline and per trade.
 *
 * Environment: BENCH_REPORT_ROWS (default 1000000), BIN_TRADEOPS.
 * Threads: the main thread, and children.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"
#include "report.h"

#define ROWS_DEFAULT 1000000L
#define START_S 1577836800L /* 2020-01-01T00:00:00Z */
#define STEP_S 300          /* a trade every five minutes */
#define N_ACCOUNTS 20
#define N_STRATEGIES 6
#define BALANCE 100000.0
#define KB 1024.0

static const char *const SYMBOLS[] = {"EURUSD", "XAUUSD", "US30", "USDJPY", "GBPUSD", "BTCUSD"};
#define N_SYMBOLS (sizeof SYMBOLS / sizeof SYMBOLS[0])

static int generate(const char *path, long rows)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(REPORT_CSV_HEADER "\n", f);
    for (long i = 0; i < rows; i++) {
        time_t s = START_S + i * STEP_S;
        struct tm tm;
        char when[32];
        gmtime_r(&s, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        /* +-10.00 in a fixed pattern, a few breakevens. */
        double pnl = (double)((i * 7919) % 2001 - 1000) / 100;
        fprintf(f, "%s,acc-%ld,strat-%ld,%s,%.2f\n", when, i % N_ACCOUNTS, i % N_STRATEGIES,
                SYMBOLS[i % N_SYMBOLS], pnl);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* The reference: every line read and cut at its commas, nothing parsed. */
static int work_reference(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    char *line = NULL;
    size_t cap = 0, fields = 0, lines = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        char *save = NULL;
        for (char *tok = strtok_r(line, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save))
            fields++;
        lines++;
    }
    free(line);
    fclose(f);
    return fields >= lines * 5 ? 0 : 1;
}

static int work_library(const char *path)
{
    FILE *f = fopen(path, "r");
    report_trades *t = report_trades_new();
    char err[512], *buf = NULL;
    size_t len = 0;
    int rc = 1;
    if (!f || !t)
        goto out;
    if (report_trades_read(t, f, path, err, sizeof err) != 0) {
        fprintf(stderr, "bench_report: %s\n", err);
        goto out;
    }
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        goto out;
    report_opts o = {.starting_balance = BALANCE,
                     .groups = REPORT_BY_ACCOUNT | REPORT_BY_STRATEGY | REPORT_BY_SYMBOL,
                     .format = REPORT_JSON};
    int w = report_write(t, &o, mem, err, sizeof err);
    fclose(mem);
    rc = w == 0 && len > 0 ? 0 : 1;
out:
    if (f)
        fclose(f);
    report_trades_free(t);
    free(buf);
    return rc;
}

typedef struct run {
    double seconds;
    long maxrss_kb;
    int ok;
} run;

/* Runs what in a child (fn(path), or exec of argv) and measures it. */
static run measure(int (*fn)(const char *), const char *path, char *const *argv)
{
    run r = {0, 0, 0};
    double t0 = clock_mono_us();
    pid_t pid = fork();
    if (pid < 0)
        return r;
    if (pid == 0) {
        if (argv) {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0)
                dup2(devnull, STDOUT_FILENO);
            execv(argv[0], argv);
            _exit(127);
        }
        _exit(fn ? fn(path) : 0);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return r;
    r.seconds = (clock_mono_us() - t0) / 1e6;
    r.maxrss_kb = ru.ru_maxrss;
    r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return r;
}

static void print_row(const char *what, run r, long base_kb, long rows, run ref)
{
    double above = (double)(r.maxrss_kb - base_kb);
    printf("  %-40s %8.2f s %7.2fx  peak %7.1f MB  (+%6.1f MB, %5.1f bytes/trade)%s\n", what,
           r.seconds, ref.seconds > 0 ? r.seconds / ref.seconds : 0, (double)r.maxrss_kb / KB,
           above / KB, above * KB / (double)rows, r.ok ? "" : "  FAILED");
}

int bench_report(void)
{
    const char *env = getenv("BENCH_REPORT_ROWS");
    long rows = env && atol(env) > 0 ? atol(env) : ROWS_DEFAULT;
    char path[] = "/tmp/tradeops-bench-report-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "bench_report: cannot make a temporary file: %s\n", strerror(errno));
        return -1;
    }
    close(fd);
    double g0 = clock_mono_us();
    if (generate(path, rows) != 0) {
        fprintf(stderr, "bench_report: cannot write %s\n", path);
        unlink(path);
        return -1;
    }
    double gen_s = (clock_mono_us() - g0) / 1e6;
    FILE *f = fopen(path, "r");
    long bytes = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        bytes = ftell(f);
        fclose(f);
    }
    fflush(stdout); /* the children inherit stdio buffers */
    run base = measure(NULL, path, NULL);
    run ref = measure(work_reference, path, NULL);
    run lib = measure(work_library, path, NULL);
    const char *bin = getenv("BIN_TRADEOPS");
    char balance[32];
    snprintf(balance, sizeof balance, "%.0f", BALANCE);
    char *argv[] = {(char *)bin, "report",   "--trades-csv", path,       "--starting-balance",
                    balance,     "--format", "json",         "--groups", "account,strategy,symbol",
                    NULL};
    bool have_bin = bin && access(bin, X_OK) == 0;
    run cmd = have_bin ? measure(NULL, path, argv) : (run){0, 0, 0};

    printf("offline report over %ld generated trades (%.1f MB CSV, %d accounts, %d strategies, "
           "%zu symbols; generated in %.1f s),\n  JSON by account, strategy and symbol; time "
           "beside the reference, peak RSS above a do-nothing child (%.1f MB):\n",
           rows, (double)bytes / KB / KB, N_ACCOUNTS, N_STRATEGIES, N_SYMBOLS, gen_s,
           (double)base.maxrss_kb / KB);
    print_row("reference: read + split lines, no work", ref, base.maxrss_kb, rows, ref);
    print_row("report library: parse + compute + JSON", lib, base.maxrss_kb, rows, ref);
    if (have_bin)
        print_row("tradeops report (the command)", cmd, base.maxrss_kb, rows, ref);
    else
        printf("  tradeops report: skipped (BIN_TRADEOPS not set or not executable)\n");
    unlink(path);
    return ref.ok && lib.ok && (!have_bin || cmd.ok) ? 0 : -1;
}
