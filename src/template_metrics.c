/*
 * template_metrics.c - the fields of a performance digest template: every
 * key of metrics_result (metrics.h, metrics.md's names) plus account,
 * period, period_start and period_end, served from metrics_compute's output.
 * See template.h.
 *
 * Threads: pure; the tables are constant.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "template.h"

/* ---- the fields of a performance digest ---- */

/* Every key of metrics_result: name, kind, default format. */
#define METRIC_FIELDS(X)                                                                           \
    X(n_trades, INT, INT)                                                                          \
    X(n_wins, INT, INT)                                                                            \
    X(n_losses, INT, INT)                                                                          \
    X(n_breakeven, INT, INT)                                                                       \
    X(win_rate, NUM, PCT)                                                                          \
    X(loss_rate, NUM, PCT)                                                                         \
    X(net_profit, NUM, MONEY)                                                                      \
    X(gross_profit, NUM, MONEY)                                                                    \
    X(gross_loss, NUM, MONEY)                                                                      \
    X(profit_factor, NUM, NUM2)                                                                    \
    X(expectancy, NUM, MONEY)                                                                      \
    X(avg_win, NUM, MONEY)                                                                         \
    X(avg_loss, NUM, MONEY)                                                                        \
    X(payoff_ratio, NUM, NUM2)                                                                     \
    X(largest_win, NUM, MONEY)                                                                     \
    X(largest_loss, NUM, MONEY)                                                                    \
    X(max_consecutive_wins, INT, INT)                                                              \
    X(max_consecutive_losses, INT, INT)                                                            \
    X(n_days, INT, INT)                                                                            \
    X(start_date, DAY, DATE)                                                                       \
    X(end_date, DAY, DATE)                                                                         \
    X(starting_balance, NUM, MONEY)                                                                \
    X(final_equity, NUM, MONEY)                                                                    \
    X(total_return, NUM, PCT)                                                                      \
    X(cagr, NUM, PCT)                                                                              \
    X(annual_volatility, NUM, PCT)                                                                 \
    X(sharpe, NUM, NUM2)                                                                           \
    X(downside_risk, NUM, PCT)                                                                     \
    X(sortino, NUM, NUM2)                                                                          \
    X(max_drawdown, NUM, PCT)                                                                      \
    X(max_drawdown_amount, NUM, MONEY)                                                             \
    X(max_drawdown_peak_date, DAY, DATE)                                                           \
    X(max_drawdown_valley_date, DAY, DATE)                                                         \
    X(max_drawdown_recovery_date, DAY, DATE)                                                       \
    X(max_drawdown_duration, INT, INT)                                                             \
    X(max_drawdown_duration_calendar_days, INT, INT)                                               \
    X(max_drawdown_trade_curve, NUM, PCT)                                                          \
    X(max_drawdown_amount_trade_curve, NUM, MONEY)                                                 \
    X(calmar, NUM, NUM2)                                                                           \
    X(recovery_factor, NUM, NUM2)                                                                  \
    X(recovery_factor_trade_curve, NUM, NUM2)

/* Each field's C type must match its kind (double for NUM, int64_t else). */
#define IS_DOUBLE(f) _Generic(((metrics_result *)0)->f, double : 1, default : 0)
#define IS_INT64(f) _Generic(((metrics_result *)0)->f, int64_t : 1, default : 0)
#define KIND_CHECK(f, k, d)                                                                        \
    _Static_assert(TEMPLATE_##k == TEMPLATE_NUM ? IS_DOUBLE(f) : IS_INT64(f),                      \
                   #f " has the wrong kind");
METRIC_FIELDS(KIND_CHECK)

typedef struct metric_field {
    const char *name;
    enum template_kind kind;
    enum template_format fmt;
    size_t off;
} metric_field;

#define FIELD_ROW(f, k, d) {#f, TEMPLATE_##k, TEMPLATE_FMT_##d, offsetof(metrics_result, f)},
static const metric_field METRIC_TABLE[] = {METRIC_FIELDS(FIELD_ROW)};
#define N_METRIC (sizeof METRIC_TABLE / sizeof METRIC_TABLE[0])

#define FIELD_NAME(f, k, d) #f,
static const char *const DIGEST_FIELDS[] = {METRIC_FIELDS(FIELD_NAME) "account", "period",
                                            "period_start", "period_end"};

const char *const *template_metrics_fields(size_t *n)
{
    *n = sizeof DIGEST_FIELDS / sizeof DIGEST_FIELDS[0];
    return DIGEST_FIELDS;
}

int template_metrics_lookup(void *ctx, const char *field, template_value *out)
{
    const template_metrics_ctx *c = ctx;
    *out = (template_value){.kind = TEMPLATE_STR, .fmt = TEMPLATE_FMT_NONE};
    if (!c || !field)
        return -1;
    if (strcmp(field, "account") == 0 || strcmp(field, "period") == 0) {
        out->str = field[0] == 'a' ? c->account : c->period;
        return 0;
    }
    if (strcmp(field, "period_start") == 0 || strcmp(field, "period_end") == 0) {
        out->kind = TEMPLATE_DAY, out->fmt = TEMPLATE_FMT_DATE;
        out->i = strcmp(field, "period_start") == 0 ? c->period_start : c->period_end;
        return 0;
    }
    if (!c->m)
        return -1;
    for (size_t k = 0; k < N_METRIC; k++) {
        const metric_field *f = &METRIC_TABLE[k];
        if (strcmp(f->name, field) != 0)
            continue;
        const char *base = (const char *)c->m + f->off;
        out->kind = f->kind, out->fmt = f->fmt;
        if (f->kind == TEMPLATE_NUM)
            memcpy(&out->num, base, sizeof out->num);
        else
            memcpy(&out->i, base, sizeof out->i);
        return 0;
    }
    return -1;
}

int template_metrics_check(const template *t, char *err, size_t errlen)
{
    metrics_result m;
    memset(&m, 0, sizeof m);
    template_metrics_ctx c = {.m = &m,
                              .account = "",
                              .period = "",
                              .period_start = TEMPLATE_NO_DAY,
                              .period_end = TEMPLATE_NO_DAY};
    char *out = NULL;
    int rc = template_render(t, template_metrics_lookup, &c, TEMPLATE_ESC_NONE, &out, err, errlen);
    free(out);
    return rc;
}
