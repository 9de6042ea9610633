/* bench_main.c - `make bench` entry: runs each part in turn. */
#include <curl/curl.h>
#include <stdio.h>

#include "bench.h"

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 0;
    /* First, while this process is small: the report's peak memory is
     * read from forked children, which start from the parent's size. */
    if (bench_report() != 0)
        rc = 1;
    if (bench_poll() != 0)
        rc = 1;
    if (bench_screen() != 0)
        rc = 1;
    if (bench_recon() != 0)
        rc = 1;
    if (bench_guard() != 0)
        rc = 1;
    if (bench_close() != 0)
        rc = 1;
    if (bench_sync() != 0)
        rc = 1;
    if (bench_metrics_store() != 0)
        rc = 1;
    curl_global_cleanup();
    return rc;
}
