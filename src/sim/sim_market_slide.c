/*
 * sim_market_slide.c - drawdown slides on demand (POST /_sim/drawdown): an
 * account's equity taken down a straight path in time to a chosen depth
 * below its peak, so the drawdown guard has something to act on in seconds
 * rather than the minutes demo-3's script takes. See sim_market.h.
 *
 * How: like demo-3's script, the account's open positions are marked against
 * it (current price moved adversely) just enough that equity is on the
 * path; the loss is spread over the positions by notional, and each
 * position remembers how much it carries (sim_position.adverse) so a tick,
 * which marks every position at the market first, can put it back. Prices
 * are solved exactly for the wanted profit (USDxxx pairs convert P&L at the
 * current price) and rounded against the position, so equity is never above
 * the path by more than the cent rounding of each position's profit.
 *
 * Time: the path follows the monotonic clock, not ticks and not the wall
 * clock, so a paused market still slides (reads apply the path at their
 * moment) and a wall-clock step neither jumps nor stalls it. No rng draws:
 * a slide does not change the market's random sequence (the positions it
 * may open at the start do, as any open does).
 *
 * Threads: none of its own; not thread-safe. Called only under the world
 * mutex, like sim_market.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "sim_market.h"
#include "sim_market_int.h"

#define SLIDE_PASSES 3            /* spreading rounds when a price floor stops a position */
#define SLIDE_CENT 0.005          /* excess below this is rounding, not a gap */
#define SLIDE_MAX_PRICE_RATIO 1e6 /* a SELL's price is never pushed past open x this */

/* The price at which p's profit would be want (account money): the inverse
 * of sim_mkt_profit, rounded against the position and kept within the
 * symbol's range. */
static double price_for_profit(const sim_position *p, double want)
{
    double contract, min_px;
    bool base_usd;
    int digits;
    sim_mkt_symbol_facts(p->symbol, &contract, &base_usd, &min_px, &digits);
    bool buy = p->side == SIM_SIDE_BUY;
    double vc = p->volume * contract;
    double cap = p->open_price * SLIDE_MAX_PRICE_RATIO;
    double price;
    if (!base_usd) {
        price = p->open_price + (buy ? want : -want) / vc;
    } else {
        /* profit = vc (1 - open/price) for a BUY, vc (open/price - 1) for a SELL */
        double d = buy ? 1.0 - want / vc : 1.0 + want / vc;
        price = d > 1.0 / SLIDE_MAX_PRICE_RATIO ? p->open_price / d : cap;
    }
    double f = pow(10.0, digits);
    price = buy ? floor(price * f) / f : ceil(price * f) / f;
    if (price < min_px)
        price = min_px;
    if (price > cap)
        price = cap;
    return price;
}

/* Moves p's price against it so its profit drops by loss; never in its
 * favour. Returns the loss actually made (less when the price floor stops
 * it, a little more for rounding against it). */
static double mark_against(sim_position *p, double loss)
{
    if (!(loss > 0))
        return 0;
    double price = price_for_profit(p, p->profit - loss);
    bool buy = p->side == SIM_SIDE_BUY;
    if (buy ? price >= p->current_price : price <= p->current_price)
        return 0;
    double before = p->profit;
    p->current_price = price;
    p->profit = sim_mkt_profit(p);
    return before - p->profit;
}

/* Where the path is now: from start_equity down to the floor, linearly over
 * the duration, then flat. */
static double path_target(const sim_mkt_slide *s, int64_t now_mono_ms, double *floor_out)
{
    double floor_eq = (1.0 - s->depth) * s->peak;
    int64_t elapsed = now_mono_ms - s->start_mono_ms;
    double frac = s->duration_ms > 0 ? (double)elapsed / (double)s->duration_ms : 1.0;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    if (floor_out)
        *floor_out = floor_eq;
    if (s->start_equity <= floor_eq)
        return floor_eq;
    return s->start_equity + (floor_eq - s->start_equity) * frac;
}

/* Spreads equity's excess over target across a's positions by notional;
 * a position a price floor stopped drops out of the next round. */
static void push_down(sim_mkt_account *a, double target)
{
    bool stuck[SIM_MARKET_MAX_POSITIONS] = {false};
    for (int pass = 0; pass < SLIDE_PASSES; pass++) {
        double excess = sim_mkt_equity(a) - target;
        if (excess <= SLIDE_CENT)
            return;
        double total = 0;
        for (size_t i = 0; i < a->n_pos; i++)
            if (!stuck[i])
                total += sim_mkt_notional(&a->pos[i], a->pos[i].current_price);
        if (!(total > 0))
            return;
        for (size_t i = 0; i < a->n_pos; i++) {
            if (stuck[i])
                continue;
            sim_position *p = &a->pos[i];
            double want = excess * sim_mkt_notional(p, p->current_price) / total;
            double got = mark_against(p, want);
            p->adverse = sim_mkt_money(p->adverse + got);
            if (got < want - 2 * SLIDE_CENT)
                stuck[i] = true;
        }
    }
}

void sim_mkt_slide_mark(sim_mkt_account *a, sim_position *p)
{
    if (a->slide.active) {
        p->adverse = 0; /* the tick's end puts equity back on the path */
        return;
    }
    if (p->adverse > 0)
        mark_against(p, p->adverse);
}

void sim_mkt_slide_tick(sim_mkt_account *a)
{
    if (a->slide.active)
        push_down(a, path_target(&a->slide, clock_mono_ms(), NULL));
}

void sim_market_slide_apply(sim_market *m, size_t acc)
{
    sim_mkt_slide_tick(&m->acc[acc]);
}

static void describe(const sim_market *m, size_t acc, sim_slide_info *out)
{
    const sim_mkt_account *a = &m->acc[acc];
    const sim_mkt_slide *s = &a->slide;
    int64_t now = clock_mono_ms();
    memset(out, 0, sizeof *out);
    out->account = acc;
    out->active = s->active;
    out->started_ms = s->started_ms;
    out->duration_ms = s->duration_ms;
    out->elapsed_ms = now - s->start_mono_ms;
    out->depth = s->depth;
    out->peak = sim_mkt_money(s->peak);
    out->start_equity = sim_mkt_money(s->start_equity);
    out->target = sim_mkt_money(path_target(s, now, &out->floor));
    out->floor = sim_mkt_money(out->floor);
    out->equity = sim_mkt_money(sim_mkt_equity(a));
    out->balance = sim_mkt_money(a->balance);
    out->n_tickets = a->n_pos;
    for (size_t i = 0; i < a->n_pos; i++)
        out->tickets[i] = a->pos[i].ticket;
}

int sim_market_slide_start(sim_market *m, size_t acc, double depth, int64_t duration_ms,
                           int64_t now_ms, sim_slide_info *out, char *err, size_t errlen)
{
    sim_mkt_account *a = &m->acc[acc];
    if (a->slide.active) {
        snprintf(err, errlen,
                 "demo-%zu is already sliding (depth %.4g); end it first with "
                 "{\"account\":\"demo-%zu\",\"action\":\"end\"}",
                 acc + 1, a->slide.depth, acc + 1);
        return 1;
    }
    /* Heavy positions, so the path can reach any allowed depth before a
     * BUY's price meets the symbol's floor. The bot is told, as of any open. */
    static const sim_mkt_open_opts heavy = {.heavy = true};
    size_t opened = 0;
    while (a->n_pos < SIM_SLIDE_MIN_POSITIONS) {
        if (sim_mkt_open(m, a, now_ms, 0, &heavy) != 0) {
            snprintf(err, errlen, "out of memory opening a position on demo-%zu", acc + 1);
            return -1;
        }
        opened++;
    }
    double equity = sim_mkt_equity(a);
    a->slide = (sim_mkt_slide){.active = true,
                               .start_mono_ms = clock_mono_ms(),
                               .duration_ms = duration_ms,
                               .started_ms = now_ms,
                               .depth = depth,
                               .peak = a->peak_equity > equity ? a->peak_equity : equity,
                               .start_equity = equity};
    describe(m, acc, out);
    out->opened = opened;
    return 0;
}

int sim_market_slide_end(sim_market *m, size_t acc, sim_slide_info *out, char *err, size_t errlen)
{
    sim_mkt_account *a = &m->acc[acc];
    if (!a->slide.active) {
        snprintf(err, errlen, "demo-%zu has no active drawdown to end", acc + 1);
        return 1;
    }
    sim_market_slide_apply(m, acc); /* equity stays where the path has it now */
    a->slide.active = false;
    describe(m, acc, out);
    return 0;
}

size_t sim_market_slides(sim_market *m, sim_slide_info *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_accounts; i++) {
        if (!m->acc[i].slide.active)
            continue;
        sim_market_slide_apply(m, i);
        if (out && n < max)
            describe(m, i, &out[n]);
        n++;
    }
    return n;
}
