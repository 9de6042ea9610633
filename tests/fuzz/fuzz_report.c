/*
 * fuzz_report.c - libFuzzer harness for the offline report's CSV reader
 * (report.h): read any bytes as a trades CSV; what reads writes in every
 * format (JSON, CSV, text, HTML) with every group.
 *
 * Build and run (from the repository root):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Isrc tests/fuzz/fuzz_report.c src/report.c src/report_read.c src/report_html.c \
 *     src/metrics.c src/fmt.c src/sanitize.c -lm -o build/fuzz_report && \
 *     build/fuzz_report -max_total_time=60 -max_len=4096
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *in = fmemopen((void *)data, size ? size : 1, "r");
    if (!in)
        return 0;
    if (!size)
        fgetc(in); /* fmemopen wants a size; an empty input is read as empty */
    report_trades *t = report_trades_new();
    char err[512];
    if (t && report_trades_read(t, in, "fuzz.csv", err, sizeof err) == 0) {
        for (int f = REPORT_JSON; f <= REPORT_HTML; f++) {
            char *buf = NULL;
            size_t len = 0;
            FILE *out = open_memstream(&buf, &len);
            if (!out)
                break;
            report_opts o = {.starting_balance = 1000,
                             .groups = REPORT_BY_ACCOUNT | REPORT_BY_STRATEGY | REPORT_BY_SYMBOL,
                             .format = (report_format)f,
                             .source = "fuzz.csv",
                             .utf8 = f & 1};
            report_write(t, &o, out, err, sizeof err);
            fclose(out);
            free(buf);
        }
    }
    report_trades_free(t);
    fclose(in);
    return 0;
}
