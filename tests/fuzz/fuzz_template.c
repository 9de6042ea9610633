/*
 * fuzz_template.c - libFuzzer harness for template.h: compile any bytes
 * against the digest fields, render what compiles with every escape.
 *
 * Build and run (from the repository root):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Isrc tests/fuzz/fuzz_template.c src/template.c src/template_metrics.c \
 *     src/metrics.c src/fmt.c src/sanitize.c -lm -o build/fuzz_template && build/fuzz_template -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t n = 0;
    const char *const *f = template_metrics_fields(&n);
    template *t = NULL;
    char err[512];
    if (template_compile(text, f, n, &t, err, sizeof err) == 0) {
        metrics_result m;
        metrics_compute(NULL, 0, 1000, &m);
        template_metrics_ctx c = {.m = &m, .account = text, .period = "p",
                                  .period_start = 19844, .period_end = TEMPLATE_NO_DAY};
        for (int e = 0; e < 3; e++) {
            char *out = NULL;
            if (template_render(t, template_metrics_lookup, &c, (enum template_escape)e, &out, err,
                                sizeof err) == 0)
                free(out);
        }
        template_free(t);
    }
    free(text);
    return 0;
}
