/* bench_main.c - `make bench` entry: runs each part in turn, or only the
 * parts BENCH_ONLY names (comma-separated, e.g. BENCH_ONLY=poll,share). */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const struct {
    const char *name;
    int (*run)(void);
} PARTS[] = {
    /* First, while this process is small: the report's peak memory is
     * read from forked children, which start from the parent's size. */
    {"report", bench_report},
    {"poll", bench_poll},
    {"share", bench_share}, /* on the accounts poll added */
    {"screen", bench_screen},
    {"recon", bench_recon},
    {"guard", bench_guard},
    {"close", bench_close},
    {"sync", bench_sync},
    {"metrics_store", bench_metrics_store},
};

static bool wanted(const char *only, const char *name)
{
    if (!only || !*only)
        return true;
    size_t n = strlen(name);
    for (const char *p = only; (p = strstr(p, name)) != NULL; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return true;
    return false;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *only = getenv("BENCH_ONLY");
    int rc = 0;
    for (size_t i = 0; i < sizeof PARTS / sizeof PARTS[0]; i++)
        if (wanted(only, PARTS[i].name) && PARTS[i].run() != 0)
            rc = 1;
    curl_global_cleanup();
    return rc;
}
