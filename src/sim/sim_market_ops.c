/*
 * sim_market_ops.c - one-off changes to the market that scenarios make: a
 * broker-side close the bot is not told of, a partial close, stops moved at
 * the broker, a trade placed by hand, holding a position still; the close
 * the trade route asks for; the observer hook the bot listens on; and the
 * read-only queries (accounts, positions, deals).
 *
 * "Quiet" changes are the point of a scenario: the broker's state changes
 * and the observer (the bot) is not told, which is exactly how the bot's
 * rows and the broker drift apart in real life.
 *
 * Threads: none of its own; not thread-safe. Called only under the world
 * mutex, like sim_market.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_market.h"
#include "sim_market_int.h"

void sim_market_observe(sim_market *m, sim_market_observer fn, void *ctx)
{
    m->observer = fn;
    m->observer_ctx = ctx;
}

long sim_mkt_find_ticket(const sim_mkt_account *a, uint64_t ticket)
{
    for (size_t i = 0; i < a->n_pos; i++)
        if (a->pos[i].ticket == ticket)
            return (long)i;
    return -1;
}

bool sim_market_position(const sim_market *m, size_t acc, uint64_t ticket, sim_position *out)
{
    const sim_mkt_account *a = &m->acc[acc];
    long i = sim_mkt_find_ticket(a, ticket);
    if (i < 0)
        return false;
    *out = a->pos[i];
    return true;
}

int sim_market_hold(sim_market *m, size_t acc, uint64_t ticket, bool held)
{
    sim_mkt_account *a = &m->acc[acc];
    long i = sim_mkt_find_ticket(a, ticket);
    if (i < 0)
        return -1;
    a->pos[i].held = held;
    return 0;
}

bool sim_market_halted(const sim_market *m, size_t acc)
{
    return m->acc[acc].halted != 0;
}

int sim_market_open_now(sim_market *m, size_t acc, enum sim_open_kind kind, double min_volume,
                        int64_t now_ms, uint64_t *ticket, char *err, size_t errlen)
{
    sim_mkt_account *a = &m->acc[acc];
    if (a->n_pos >= SIM_MARKET_MAX_POSITIONS) {
        snprintf(err, errlen, "demo-%zu already holds %d positions, the most an account may",
                 acc + 1, SIM_MARKET_MAX_POSITIONS);
        return 1;
    }
    if (kind == SIM_OPEN_BOT && a->halted) {
        snprintf(err, errlen,
                 "the bot of demo-%zu is halted (a position was closed through the API) and "
                 "opens nothing",
                 acc + 1);
        return 1;
    }
    sim_mkt_open_opts opts = {
        .manual = kind == SIM_OPEN_MANUAL, .min_volume = min_volume, .quiet = kind != SIM_OPEN_BOT};
    if (sim_mkt_open(m, a, now_ms, 0, &opts) != 0) {
        snprintf(err, errlen, "out of memory opening a position");
        return -1;
    }
    *ticket = a->pos[a->n_pos - 1].ticket;
    return 0;
}

int sim_market_close(sim_market *m, size_t acc, const char *position_id, int64_t now_ms,
                     uint64_t *order_id)
{
    if (!isdigit((unsigned char)position_id[0]))
        return SIM_CLOSE_NOT_FOUND;
    char *end;
    errno = 0;
    unsigned long long t = strtoull(position_id, &end, 10);
    if (errno != 0 || *end != '\0')
        return SIM_CLOSE_NOT_FOUND;
    sim_market_slide_apply(m, acc); /* the loss realised is the path's now */
    sim_mkt_account *a = &m->acc[acc];
    for (size_t i = 0; i < a->n_pos; i++) {
        if (a->pos[i].ticket != t)
            continue;
        if (sim_mkt_close(m, a, i, now_ms, "closed by API", true, order_id) != 0)
            return -1;
        if (a->scripted)
            a->halted = 1;
        return SIM_CLOSE_DONE;
    }
    return SIM_CLOSE_NOT_FOUND;
}

int sim_market_close_quietly(sim_market *m, size_t acc, uint64_t ticket, const char *comment,
                             int64_t now_ms)
{
    sim_mkt_account *a = &m->acc[acc];
    long i = sim_mkt_find_ticket(a, ticket);
    if (i < 0)
        return SIM_CLOSE_NOT_FOUND;
    return sim_mkt_close(m, a, (size_t)i, now_ms, comment, false, NULL) == 0 ? SIM_CLOSE_DONE : -1;
}

/* The closed part settles its share of profit, swap and entry commission,
 * plus its own exit commission, as MT5 does for a partial close. */
int sim_market_reduce(sim_market *m, size_t acc, uint64_t ticket, double volume,
                      const char *comment, int64_t now_ms)
{
    sim_mkt_account *a = &m->acc[acc];
    long i = sim_mkt_find_ticket(a, ticket);
    if (i < 0)
        return SIM_CLOSE_NOT_FOUND;
    sim_position *p = &a->pos[i];
    if (!(volume > 0 && volume < p->volume))
        return SIM_CLOSE_NOT_FOUND;
    if (sim_mkt_deal_reserve(m, a) != 0)
        return -1;
    if (p->adverse == 0) /* a drawdown slide's mark is its price: keep it */
        sim_mkt_mark(m, p);
    double share = volume / p->volume;
    double profit = sim_mkt_money(p->profit * share);
    double swap = sim_mkt_money(p->swap * share);
    double entry_commission = sim_mkt_money(p->commission * share);
    sim_deal d = {.id = m->next_deal++,
                  .position_id = p->ticket,
                  .order_id = m->next_ticket++,
                  .time_ms = now_ms,
                  .magic = p->magic,
                  .volume = volume,
                  .price = p->current_price,
                  .commission = sim_mkt_money(-SIM_MKT_COMMISSION_PER_LOT * volume),
                  .swap = swap,
                  .profit = profit,
                  .symbol = p->symbol,
                  .type = p->side == SIM_SIDE_BUY ? SIM_DEAL_SELL : SIM_DEAL_BUY,
                  .entry = SIM_ENTRY_OUT};
    snprintf(d.comment, sizeof d.comment, "%s", comment);
    sim_mkt_deal_push(a, &d);
    a->balance = sim_mkt_money(a->balance + profit + swap + entry_commission + d.commission);
    /* Lots are whole hundredths; rounding keeps 0.35 - 0.17 from printing as 0.18000000000000002.
     */
    p->volume = sim_mkt_round(p->volume - volume, 2);
    p->swap = sim_mkt_money(p->swap - swap);
    p->commission = sim_mkt_money(p->commission - entry_commission);
    p->adverse = sim_mkt_money(p->adverse * (1.0 - share));
    sim_mkt_mark(m, p);
    sim_mkt_slide_mark(a, p);
    return SIM_CLOSE_DONE;
}

int sim_market_set_stops(sim_market *m, size_t acc, uint64_t ticket, double sl, double tp)
{
    sim_mkt_account *a = &m->acc[acc];
    long i = sim_mkt_find_ticket(a, ticket);
    if (i < 0)
        return -1;
    a->pos[i].stop_loss = sl;
    a->pos[i].take_profit = tp;
    return 0;
}

uint64_t sim_market_reserve_ticket(sim_market *m)
{
    return m->next_ticket++;
}

/* ---- reading the market ---- */

size_t sim_market_accounts(const sim_market *m)
{
    return m->n_accounts;
}

uint64_t sim_market_ticks(const sim_market *m)
{
    return m->ticks;
}

long sim_market_find(const sim_market *m, const char *id)
{
    static const char prefix[] = "demo-";
    if (strncmp(id, prefix, sizeof prefix - 1) != 0)
        return -1;
    const char *p = id + sizeof prefix - 1;
    if (*p < '1' || *p > '9') /* no sign, no leading zero: one spelling per sim_mkt_account */
        return -1;
    size_t v = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (size_t)(*p - '0');
        if (v > m->n_accounts)
            return -1;
    }
    return (long)v - 1;
}

size_t sim_market_positions(const sim_market *m, size_t acc, sim_position *out)
{
    const sim_mkt_account *a = &m->acc[acc];
    memcpy(out, a->pos, a->n_pos * sizeof *out);
    return a->n_pos;
}

size_t sim_market_deals(const sim_market *m, size_t acc, int64_t from_ms, int64_t to_ms,
                        size_t offset, size_t limit, sim_deal *out)
{
    const sim_mkt_account *a = &m->acc[acc];
    size_t lo = 0, hi = a->n_deals;
    while (lo < hi) { /* first deal at or after from_ms */
        size_t mid = lo + (hi - lo) / 2;
        if (a->deals[mid].time_ms < from_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    for (size_t i = lo; i < a->n_deals && a->deals[i].time_ms < to_ms && n < limit; i++) {
        if (offset > 0) {
            offset--;
            continue;
        }
        out[n++] = a->deals[i];
    }
    return n;
}
