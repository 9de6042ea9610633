/*
 * sim_market.c - the simulated broker's state and its rules.
 *
 * Offers: symbols on mean-reverting random walks, demo accounts that a
 * simple "bot" trades (opens at random, exits at random or on SL/TP), deal
 * history per account, closes on request, and the demo-3 drawdown script.
 *
 * Determinism: every random draw comes from m->rng and the number of draws
 * per tick depends only on the state, never on the clock, so two markets
 * with the same seed stay identical tick for tick (wall time only stamps
 * deals). Draws are made unconditionally where a branch might skip them.
 *
 * Money model (MetaApi's): a position reports its entry commission, and
 * equity = balance + sum(profit + swap + commission); the balance moves when
 * a deal settles: the deposit, and each close (profit, swap, both commissions).
 *
 * Observer (the bot, sim_bot.c): told of every open and close made here,
 * under the world mutex. Positions a scenario holds (sim_position.held) are
 * left alone by the strategy and their SL/TP do not trigger, so the
 * divergence a scenario made lasts until it ends. Scenarios' own changes live
 * in sim_market_ops.c, which shares this file's insides (sim_market_int.h).
 *
 * Threads: none of its own; not thread-safe. Called only under the world
 * mutex (sim_world.c).
 */
#include "sim_market.h"
#include "sim_market_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_rng.h"

typedef struct sym_spec {
    const char *name;
    double anchor; /* where the walk starts and drifts back to */
    int digits;    /* price decimals */
    double pip;
    double sigma_pips; /* standard deviation of one tick's move */
    double contract;   /* units per lot */
    int base_usd;      /* 1 for USDxxx pairs, whose P&L is in the quote currency and is
                          converted back to USD at the current price */
} sym_spec;

static const sym_spec SYMBOLS[] = {
    {"EURUSD", 1.08500, 5, 0.0001, 1.2, 100000, 0}, {"GBPUSD", 1.27000, 5, 0.0001, 1.5, 100000, 0},
    {"USDJPY", 151.500, 3, 0.01, 1.5, 100000, 1},   {"XAUUSD", 2350.00, 2, 0.1, 5.0, 100, 0},
    {"US30", 39000.0, 1, 1.0, 8.0, 1, 0},           {"BTCUSD", 65000.00, 2, 1.0, 30.0, 1, 0},
    {"AUDUSD", 0.66000, 5, 0.0001, 1.0, 100000, 0}, {"USDCHF", 0.90000, 5, 0.0001, 1.0, 100000, 1},
};
#define N_SYMBOLS ((int)(sizeof SYMBOLS / sizeof SYMBOLS[0]))
_Static_assert(N_SYMBOLS == SIM_MKT_SYMBOLS, "SIM_MKT_SYMBOLS must match the symbol table");

static const char *const NAMES[] = {
    "Alpha",   "Bravo", "Charlie", "Delta",  "Echo",     "Foxtrot", "Golf",   "Hotel",  "India",
    "Juliett", "Kilo",  "Lima",    "Mike",   "November", "Oscar",   "Papa",   "Quebec", "Romeo",
    "Sierra",  "Tango", "Uniform", "Victor", "Whiskey",  "Xray",    "Yankee", "Zulu"};
#define N_NAMES (sizeof NAMES / sizeof NAMES[0])

/* magic 0 is how MT5 marks a trade placed by hand rather than by an EA. */
static const struct {
    int64_t magic;
    const char *comment;
    const char *name; /* what the bot writes in bot_positions.strategy */
} STRATEGIES[] = {{20260101, "tradeops-bot trend", "trend-a"},
                  {20260102, "tradeops-bot grid", "grid-a"},
                  {20260103, "tradeops-bot meanrev", "meanrev-b"},
                  {0, "", "manual"}};
#define MANUAL_STRATEGY 3
#define MANUAL_ONE_IN 10

#define LEVERAGE 100
#define FIRST_LOGIN 71000001
#define FIRST_TICKET 46648037ull
#define FIRST_DEAL 83251100ull
#define MIN_BALANCE 10000
#define MAX_BALANCE 100000
#define BALANCE_STEP 1000
#define DEPOSIT_AGE_MS (30ll * 86400000)
#define INIT_SPAN_MS (6ll * 3600000) /* initial positions opened within this */
#define INIT_MAX_POSITIONS 5
#define INIT_SHIFT_SIGMAS 12.0 /* how far back their entry prices lie */
#define REVERT 0.0005          /* pull towards the anchor per tick */
#define MIN_PRICE_PIPS 10.0
#define P_OPEN 0.03   /* per account per tick */
#define P_CLOSE 0.006 /* per position per tick: ~5 open on average */
#define P_STOP_LOSS 0.7
#define P_TAKE_PROFIT 0.6
#define STOP_MIN_SIGMAS 15.0 /* SL/TP distance in tick sigmas */
#define STOP_MAX_SIGMAS 80.0
#define NOTIONAL_MIN 0.3 /* position size as a multiple of balance */
#define NOTIONAL_MAX 2.0
#define MIN_LOT SIM_MKT_MIN_LOT
#define MAX_LOT 100.0
#define COMMISSION_PER_LOT SIM_MKT_COMMISSION_PER_LOT
#define SWAP_EVERY_TICKS 720
#define SWAP_PER_LOT 0.7

/* demo-3: a bot without stop losses whose equity slides 1.2% of its peak per
 * 20 ticks (10 s at the default 500 ms), so a 20% guard limit is crossed
 * about 2m47s after start, and settles 25% down. Its positions are marked
 * against it (current price moved adversely) just enough to hold equity on
 * that path; closing any of them through the API realises the loss and halts
 * its bot, as an operator stopping a runaway account would expect. */
#define SCRIPT_ACCOUNT 2
#define SCRIPT_SLIDE_PER_TICK 0.0006
#define SCRIPT_FLOOR 0.25
#define SCRIPT_NOISE 0.0005
#define SCRIPT_MIN_POSITIONS 2
#define SCRIPT_NOTIONAL_MIN 2.0
#define SCRIPT_NOTIONAL_MAX 4.0

/* History is bounded so a 20000-account benchmark cannot grow without limit;
 * past the budget the oldest quarter of an account's deals is forgotten. */
#define DEAL_BUDGET 1000000
#define MIN_DEALS_PER_ACCOUNT 64
#define DEALS_INITIAL_CAP 16

double sim_mkt_round(double x, int digits)
{
    double f = pow(10.0, digits);
    return round(x * f) / f;
}

double sim_mkt_money(double x)
{
    return sim_mkt_round(x, 2);
}

static double min_price(const sym_spec *s)
{
    return s->pip * MIN_PRICE_PIPS;
}

double sim_mkt_profit(const sim_position *p)
{
    const sym_spec *s = &SYMBOLS[p->symbol];
    double diff = p->side == SIM_SIDE_BUY ? p->current_price - p->open_price
                                          : p->open_price - p->current_price;
    double quote = diff * p->volume * s->contract;
    return sim_mkt_money(s->base_usd ? quote / p->current_price : quote);
}

double sim_mkt_notional(const sim_position *p, double price)
{
    const sym_spec *s = &SYMBOLS[p->symbol];
    return p->volume * s->contract * (s->base_usd ? 1.0 : price);
}

double sim_mkt_equity(const sim_mkt_account *a)
{
    double e = a->balance;
    for (size_t i = 0; i < a->n_pos; i++)
        e += a->pos[i].profit + a->pos[i].swap + a->pos[i].commission;
    return e;
}

void sim_mkt_symbol_facts(int symbol, double *contract, bool *base_usd, double *min_px, int *digits)
{
    const sym_spec *s = &SYMBOLS[symbol];
    *contract = s->contract;
    *base_usd = s->base_usd != 0;
    *min_px = min_price(s);
    *digits = s->digits;
}

int sim_mkt_deal_reserve(const sim_market *m, sim_mkt_account *a)
{
    if (a->n_deals < a->cap_deals)
        return 0;
    if (a->cap_deals < m->deal_cap) {
        size_t ncap = a->cap_deals ? a->cap_deals * 2 : DEALS_INITIAL_CAP;
        if (ncap > m->deal_cap)
            ncap = m->deal_cap;
        sim_deal *nd = realloc(a->deals, ncap * sizeof *nd);
        if (!nd)
            return -1;
        a->deals = nd;
        a->cap_deals = ncap;
        return 0;
    }
    size_t drop = a->n_deals / 4 + 1;
    memmove(a->deals, a->deals + drop, (a->n_deals - drop) * sizeof *a->deals);
    a->n_deals -= drop;
    return 0;
}

/* Caller has reserved room. Times never go backwards within an account, even
 * if the wall clock does, so history stays sorted for the range search. */
void sim_mkt_deal_push(sim_mkt_account *a, sim_deal *d)
{
    if (a->n_deals > 0 && d->time_ms < a->deals[a->n_deals - 1].time_ms)
        d->time_ms = a->deals[a->n_deals - 1].time_ms;
    a->deals[a->n_deals++] = *d;
}

void sim_mkt_mark(const sim_market *m, sim_position *p)
{
    p->current_price = m->price[p->symbol];
    p->profit = sim_mkt_profit(p);
}

static void tell(const sim_market *m, enum sim_market_event_kind kind, const sim_mkt_account *a,
                 const sim_position *p, int64_t at_ms)
{
    sim_market_event ev = {kind, (size_t)(a - m->acc), p, at_ms};
    if (m->observer)
        m->observer(m->observer_ctx, &ev);
}

int sim_mkt_open(sim_market *m, sim_mkt_account *a, int64_t open_ms, double shift_sigmas,
                 const sim_mkt_open_opts *opts)
{
    static const sim_mkt_open_opts strategy = {0};
    if (!opts)
        opts = &strategy;
    if (a->n_pos >= SIM_MARKET_MAX_POSITIONS)
        return 0;
    if (sim_mkt_deal_reserve(m, a) != 0)
        return -1;
    sim_rng *r = &m->rng;
    int si = (int)sim_rng_below(r, N_SYMBOLS);
    const sym_spec *s = &SYMBOLS[si];
    double step = s->sigma_pips * s->pip;
    sim_position p = {0};
    p.ticket = m->next_ticket++;
    p.symbol = si;
    p.side = sim_rng_chance(r, 0.5) ? SIM_SIDE_BUY : SIM_SIDE_SELL;
    p.open_price = sim_mkt_round(m->price[si] + step * shift_sigmas * sim_rng_gauss(r), s->digits);
    if (p.open_price < min_price(s))
        p.open_price = min_price(s);

    double lo = a->scripted || opts->heavy ? SCRIPT_NOTIONAL_MIN : NOTIONAL_MIN;
    double hi = a->scripted || opts->heavy ? SCRIPT_NOTIONAL_MAX : NOTIONAL_MAX;
    double notional = a->balance * sim_rng_range(r, lo, hi);
    double per_lot = s->contract * (s->base_usd ? 1.0 : p.open_price);
    p.volume = sim_mkt_round(notional / per_lot, 2);
    p.volume = p.volume < MIN_LOT ? MIN_LOT : p.volume > MAX_LOT ? MAX_LOT : p.volume;
    if (p.volume < opts->min_volume)
        p.volume = opts->min_volume;

    double dir = p.side == SIM_SIDE_BUY ? 1.0 : -1.0;
    int want_sl = sim_rng_chance(r, P_STOP_LOSS) && !a->scripted;
    double sl = p.open_price - dir * step * sim_rng_range(r, STOP_MIN_SIGMAS, STOP_MAX_SIGMAS);
    int want_tp = sim_rng_chance(r, P_TAKE_PROFIT) && !a->scripted;
    double tp = p.open_price + dir * step * sim_rng_range(r, STOP_MIN_SIGMAS, STOP_MAX_SIGMAS);
    p.stop_loss = want_sl && sl > min_price(s) ? sim_mkt_round(sl, s->digits) : 0;
    p.take_profit = want_tp && tp > min_price(s) ? sim_mkt_round(tp, s->digits) : 0;

    uint64_t k = sim_rng_below(r, MANUAL_ONE_IN);
    size_t strat = k == 0 ? MANUAL_STRATEGY : (size_t)(k % MANUAL_STRATEGY);
    if (strat == MANUAL_STRATEGY && m->no_random_manual)
        strat = 0; /* the draw is still made: same sequence as without the bot */
    if (opts->manual)
        strat = MANUAL_STRATEGY;
    p.magic = STRATEGIES[strat].magic;
    snprintf(p.comment, sizeof p.comment, "%s",
             opts->manual ? "manual" : STRATEGIES[strat].comment);
    p.commission = sim_mkt_money(-COMMISSION_PER_LOT * p.volume);
    p.open_ms = open_ms;
    sim_mkt_mark(m, &p);

    sim_deal d = {.id = m->next_deal++,
                  .position_id = p.ticket,
                  .order_id = p.ticket,
                  .time_ms = open_ms,
                  .magic = p.magic,
                  .volume = p.volume,
                  .price = p.open_price,
                  .commission = p.commission,
                  .symbol = si,
                  .type = p.side == SIM_SIDE_BUY ? SIM_DEAL_BUY : SIM_DEAL_SELL,
                  .entry = SIM_ENTRY_IN};
    memcpy(d.comment, p.comment, sizeof d.comment);
    sim_mkt_deal_push(a, &d);
    p.open_ms = d.time_ms;
    a->pos[a->n_pos++] = p;
    if (!opts->quiet)
        tell(m, SIM_MARKET_OPENED, a, &a->pos[a->n_pos - 1], p.open_ms);
    return 0;
}

int sim_mkt_close(sim_market *m, sim_mkt_account *a, size_t i, int64_t now_ms, const char *why,
                  bool notify, uint64_t *order_id)
{
    if (sim_mkt_deal_reserve(m, a) != 0)
        return -1;
    sim_position *p = &a->pos[i];
    sim_deal d = {.id = m->next_deal++,
                  .position_id = p->ticket,
                  .order_id = m->next_ticket++,
                  .time_ms = now_ms,
                  .magic = p->magic,
                  .volume = p->volume,
                  .price = p->current_price,
                  .commission = sim_mkt_money(-COMMISSION_PER_LOT * p->volume),
                  .swap = p->swap,
                  .profit = p->profit,
                  .symbol = p->symbol,
                  .type = p->side == SIM_SIDE_BUY ? SIM_DEAL_SELL : SIM_DEAL_BUY,
                  .entry = SIM_ENTRY_OUT};
    snprintf(d.comment, sizeof d.comment, "%s", why);
    sim_mkt_deal_push(a, &d);
    a->balance = sim_mkt_money(a->balance + p->profit + p->swap + p->commission + d.commission);
    if (order_id)
        *order_id = d.order_id;
    if (notify)
        tell(m, SIM_MARKET_CLOSED, a, p, d.time_ms);
    memmove(p, p + 1, (a->n_pos - i - 1) * sizeof *p);
    a->n_pos--;
    return 0;
}

static double slide_depth(const sim_market *m)
{
    double d = (double)m->ticks * SCRIPT_SLIDE_PER_TICK;
    return d < SCRIPT_FLOOR ? d : SCRIPT_FLOOR;
}

/* Marks the scripted account's positions against it until equity is on the
 * slide path; never in its favour, so realised losses keep it down. */
static void script_slide(sim_market *m, sim_mkt_account *a)
{
    double noise = SCRIPT_NOISE * sim_rng_gauss(&m->rng);
    double target = a->peak_equity * (1.0 - slide_depth(m) + noise);
    double excess = sim_mkt_equity(a) - target;
    double total = 0;
    for (size_t i = 0; i < a->n_pos; i++)
        total += sim_mkt_notional(&a->pos[i], a->pos[i].current_price);
    if (excess <= 0 || total <= 0)
        return;
    for (size_t i = 0; i < a->n_pos; i++) {
        sim_position *p = &a->pos[i];
        const sym_spec *s = &SYMBOLS[p->symbol];
        double loss = excess * sim_mkt_notional(p, p->current_price) / total;
        double move = loss / (p->volume * s->contract) * (s->base_usd ? p->current_price : 1.0);
        double price = p->current_price + (p->side == SIM_SIDE_BUY ? -move : move);
        price = sim_mkt_round(price, s->digits);
        p->current_price = price < min_price(s) ? min_price(s) : price;
        p->profit = sim_mkt_profit(p);
    }
}

/* Returns the reason a position closes this tick, or NULL. The exit draw is
 * made for every position so the draw count does not depend on SL/TP hits. */
static const char *exit_reason(sim_market *m, const sim_position *p, int bot_may_exit, char *buf,
                               size_t buflen)
{
    int bot_exit = sim_rng_chance(&m->rng, P_CLOSE);
    if (p->held)
        return NULL;
    int digits = SYMBOLS[p->symbol].digits;
    int buy = p->side == SIM_SIDE_BUY;
    double px = p->current_price;
    if (p->stop_loss > 0 && (buy ? px <= p->stop_loss : px >= p->stop_loss)) {
        snprintf(buf, buflen, "[sl %.*f]", digits, p->stop_loss);
        return buf;
    }
    if (p->take_profit > 0 && (buy ? px >= p->take_profit : px <= p->take_profit)) {
        snprintf(buf, buflen, "[tp %.*f]", digits, p->take_profit);
        return buf;
    }
    return bot_exit && bot_may_exit ? "tradeops-bot exit" : NULL;
}

static int account_tick(sim_market *m, sim_mkt_account *a, int64_t now_ms)
{
    int rc = 0;
    int sliding = a->scripted && slide_depth(m) < SCRIPT_FLOOR;
    for (size_t i = 0; i < a->n_pos;) {
        sim_position *p = &a->pos[i];
        sim_mkt_mark(m, p);
        sim_mkt_slide_mark(a, p);
        if (m->ticks % SWAP_EVERY_TICKS == 0)
            p->swap = sim_mkt_money(p->swap - SWAP_PER_LOT * p->volume);
        char buf[SIM_MARKET_COMMENT_LEN];
        const char *why = exit_reason(m, p, !sliding, buf, sizeof buf);
        if (a->slide.active) /* a drawdown slide freezes the account's positions */
            why = NULL;
        if (why && sim_mkt_close(m, a, i, now_ms, why, true, NULL) == 0)
            continue; /* the next position moved into slot i */
        if (why)
            rc = -1;
        i++;
    }
    bool may_open = !a->halted && !a->slide.active;
    if (sliding && may_open)
        while (a->n_pos < SCRIPT_MIN_POSITIONS && rc == 0)
            rc = sim_mkt_open(m, a, now_ms, 0, NULL);
    if (sim_rng_chance(&m->rng, P_OPEN) && may_open && sim_mkt_open(m, a, now_ms, 0, NULL) != 0)
        rc = -1;
    if (a->scripted)
        script_slide(m, a);
    sim_mkt_slide_tick(a);
    double eq = sim_mkt_equity(a);
    if (eq > a->peak_equity)
        a->peak_equity = eq;
    return rc;
}

int sim_market_tick(sim_market *m, int64_t now_ms)
{
    int rc = 0;
    m->ticks++;
    for (int i = 0; i < N_SYMBOLS; i++) {
        const sym_spec *s = &SYMBOLS[i];
        double p = m->price[i] + s->sigma_pips * s->pip * sim_rng_gauss(&m->rng) +
                   REVERT * (s->anchor - m->price[i]);
        p = sim_mkt_round(p, s->digits);
        m->price[i] = p < min_price(s) ? min_price(s) : p;
    }
    for (size_t i = 0; i < m->n_accounts; i++)
        if (account_tick(m, &m->acc[i], now_ms) != 0)
            rc = -1;
    return rc;
}

static int init_account(sim_market *m, size_t i, int64_t now_ms)
{
    sim_mkt_account *a = &m->acc[i];
    a->scripted = i == SCRIPT_ACCOUNT;
    if (i < N_NAMES)
        snprintf(a->name, sizeof a->name, "Demo %s", NAMES[i]);
    else
        snprintf(a->name, sizeof a->name, "Demo %s %zu", NAMES[i % N_NAMES], i / N_NAMES + 1);
    a->login = FIRST_LOGIN + (int64_t)i;
    uint64_t steps = (MAX_BALANCE - MIN_BALANCE) / BALANCE_STEP + 1;
    a->balance = MIN_BALANCE + BALANCE_STEP * (double)sim_rng_below(&m->rng, steps);

    if (sim_mkt_deal_reserve(m, a) != 0)
        return -1;
    sim_deal dep = {.id = m->next_deal++,
                    .time_ms = now_ms - DEPOSIT_AGE_MS,
                    .profit = a->balance,
                    .symbol = -1,
                    .type = SIM_DEAL_BALANCE,
                    .entry = SIM_ENTRY_NONE};
    snprintf(dep.comment, sizeof dep.comment, "Demo deposit");
    sim_mkt_deal_push(a, &dep);

    uint64_t n =
        a->scripted ? SCRIPT_MIN_POSITIONS + 1 : sim_rng_below(&m->rng, INIT_MAX_POSITIONS + 1);
    int64_t slot = INIT_SPAN_MS / (int64_t)(n + 1);
    for (uint64_t k = 0; k < n; k++) {
        int64_t t = now_ms - INIT_SPAN_MS + (int64_t)(k + 1) * slot -
                    (int64_t)sim_rng_below(&m->rng, (uint64_t)slot / 2);
        /* The scripted account starts flat so its slide is the script's alone. */
        if (sim_mkt_open(m, a, t, a->scripted ? 0 : INIT_SHIFT_SIGMAS, NULL) != 0)
            return -1;
    }
    a->peak_equity = sim_mkt_equity(a);
    return 0;
}

sim_market *sim_market_new(const sim_market_config *cfg, int64_t now_ms, char *err, size_t errlen)
{
    if (cfg->accounts < 1 || cfg->accounts > SIM_MARKET_MAX_ACCOUNTS) {
        snprintf(err, errlen, "account count %zu is out of range 1..%d", cfg->accounts,
                 SIM_MARKET_MAX_ACCOUNTS);
        return NULL;
    }
    sim_market *m = calloc(1, sizeof *m);
    if (!m || !(m->acc = calloc(cfg->accounts, sizeof *m->acc))) {
        free(m);
        snprintf(err, errlen, "out of memory for %zu accounts", cfg->accounts);
        return NULL;
    }
    m->n_accounts = cfg->accounts;
    m->no_random_manual = cfg->no_random_manual;
    sim_rng_seed(&m->rng, cfg->seed);
    m->next_ticket = FIRST_TICKET;
    m->next_deal = FIRST_DEAL;
    m->deal_cap = DEAL_BUDGET / cfg->accounts;
    if (m->deal_cap < MIN_DEALS_PER_ACCOUNT)
        m->deal_cap = MIN_DEALS_PER_ACCOUNT;
    for (int i = 0; i < N_SYMBOLS; i++)
        m->price[i] = SYMBOLS[i].anchor;
    for (size_t i = 0; i < m->n_accounts; i++) {
        if (init_account(m, i, now_ms) != 0) {
            snprintf(err, errlen, "out of memory building account demo-%zu", i + 1);
            sim_market_free(m);
            return NULL;
        }
    }
    return m;
}

void sim_market_free(sim_market *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_accounts; i++)
        free(m->acc[i].deals);
    free(m->acc);
    free(m);
}

void sim_market_info(const sim_market *m, size_t acc, sim_account_info *out)
{
    const sim_mkt_account *a = &m->acc[acc];
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "demo-%zu", acc + 1);
    memcpy(out->name, a->name, sizeof out->name);
    out->login = a->login;
    out->leverage = LEVERAGE;
    double margin = 0;
    for (size_t i = 0; i < a->n_pos; i++)
        margin += sim_mkt_notional(&a->pos[i], a->pos[i].open_price) / LEVERAGE;
    double equity = sim_mkt_equity(a);
    out->balance = sim_mkt_money(a->balance);
    out->equity = sim_mkt_money(equity);
    out->margin = sim_mkt_money(margin);
    out->free_margin = sim_mkt_money(equity - margin);
    out->margin_level = out->margin > 0 ? sim_mkt_money(equity / out->margin * 100.0) : 0;
}

const char *sim_market_symbol_name(int symbol)
{
    return symbol >= 0 && symbol < N_SYMBOLS ? SYMBOLS[symbol].name : NULL;
}

int sim_market_symbol_digits(int symbol)
{
    return symbol >= 0 && symbol < N_SYMBOLS ? SYMBOLS[symbol].digits : 0;
}

int sim_market_symbol_count(void)
{
    return N_SYMBOLS;
}

int64_t sim_market_bot_magic(uint64_t pick)
{
    return STRATEGIES[pick % MANUAL_STRATEGY].magic;
}

const char *sim_market_strategy_name(int64_t magic)
{
    for (size_t i = 0; i < sizeof STRATEGIES / sizeof STRATEGIES[0]; i++)
        if (STRATEGIES[i].magic == magic)
            return STRATEGIES[i].name;
    return NULL;
}
