/*
 * sim_scenario.c - starting and ending scenarios, and what each kind does to
 * the broker and tells (or does not tell) the bot. See sim_scenario.h for
 * the kinds.
 *
 * Every check that can refuse a request is made before anything changes,
 * so a refused start leaves the market and the bot as they were. Positions
 * are acted on oldest first, so with a paused market and a fixed seed the
 * same request always picks the same position.
 *
 * Threads and locks: see sim_scenario.h. Functions named *_locked run with
 * the world mutex held; they enqueue bot events (the bot's mutex nests
 * inside the world's).
 */
#include "sim_scenario.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sim_rng.h"
#include "sim_time.h"

#define SCENARIO_SEED_SALT 0x5CE9A210B0770ull /* its own stream, apart from the market's */
#define NEW_STOP_POINTS 500.0                 /* where a stop goes when the position had none */
#define LOT_DIGITS 2
#define MIN_LOT 0.01
#define LOT_EPSILON 1e-9
#define NEVER_OPENED_LOTS 0.10
#define STOP_OUT_LEVEL_PCT 50.0 /* the margin level a broker stops out at */
#define FALLBACK_STOP_SHARE 0.5 /* a stop that would cross zero goes to half the price */
#define DEMO_SHARE_NUM 3        /* a demo scenario lasts 3/4 of the interval */
#define DEMO_SHARE_DEN 4
#define MS_PER_S 1000L
#define TICKET_MAX_DIGITS 20

struct sim_scenarios {
    sim_world *w;
    sim_bot *bot;
    sim_scenario active[SIM_SCENARIO_MAX_ACTIVE]; /* oldest first */
    size_t n;
    long next_id;
    uint64_t started, ended;
    sim_rng rng;
    pthread_t demo;
    bool demo_started;
    long demo_every_s;
    /* The demo plays every kind once per round, in a shuffled order, so the
     * console shows each kind of divergence before any repeats. */
    enum sim_scenario_kind demo_order[SIM_SCENARIO_KINDS];
    int demo_next;
};

static const char *const KIND_NAMES[SIM_SCENARIO_KINDS] = {
    [SIM_SCENARIO_STOP_OUT] = "stop_out",           [SIM_SCENARIO_MANUAL_TRADE] = "manual_trade",
    [SIM_SCENARIO_PARTIAL_CLOSE] = "partial_close", [SIM_SCENARIO_SL_MOVED] = "sl_moved",
    [SIM_SCENARIO_TP_MOVED] = "tp_moved",           [SIM_SCENARIO_NEVER_OPENED] = "never_opened",
};

sim_scenarios *sim_scenarios_new(sim_world *w, sim_bot *bot, uint64_t seed, char *err,
                                 size_t errlen)
{
    sim_scenarios *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory for the scenarios");
        return NULL;
    }
    s->w = w;
    s->bot = bot;
    sim_rng_seed(&s->rng, seed ^ SCENARIO_SEED_SALT);
    return s;
}

void sim_scenarios_free(sim_scenarios *s)
{
    if (!s)
        return;
    sim_scenarios_demo_stop(s);
    free(s);
}

const char *sim_scenario_kind_name(enum sim_scenario_kind k)
{
    return k >= 0 && k < SIM_SCENARIO_KINDS ? KIND_NAMES[k] : "unknown";
}

static int parse_kind(const char *name, enum sim_scenario_kind *k, char *err, size_t errlen)
{
    for (int i = 0; name && i < SIM_SCENARIO_KINDS; i++)
        if (strcmp(name, KIND_NAMES[i]) == 0) {
            *k = (enum sim_scenario_kind)i;
            return 0;
        }
    snprintf(err, errlen,
             "kind '%.40s' is not one of stop_out, manual_trade, partial_close, sl_moved, "
             "tp_moved, never_opened",
             name ? name : "");
    return -1;
}

static int parse_ticket(const char *s, uint64_t *t, char *err, size_t errlen)
{
    size_t n = strlen(s);
    bool digits = n > 0 && n <= TICKET_MAX_DIGITS;
    for (size_t i = 0; digits && i < n; i++)
        digits = isdigit((unsigned char)s[i]);
    errno = 0;
    unsigned long long v = digits ? strtoull(s, NULL, 10) : 0;
    if (!digits || errno != 0 || v == 0) {
        snprintf(err, errlen, "position must be a ticket such as \"46648037\", not '%.40s'", s);
        return -1;
    }
    *t = v;
    return 0;
}

static long find_account_locked(sim_scenarios *s, const char *id, char *err, size_t errlen)
{
    const sim_market *m = sim_world_market(s->w);
    long acc = id ? sim_market_find(m, id) : -1;
    if (acc < 0)
        snprintf(err, errlen, "account '%.64s' not found; this simulator has demo-1 .. demo-%zu",
                 id ? id : "", sim_market_accounts(m));
    return acc;
}

static const sim_scenario *holding(const sim_scenarios *s, size_t acc, uint64_t ticket)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->active[i].account == acc && s->active[i].ticket == ticket)
            return &s->active[i];
    return NULL;
}

static bool too_small_to_halve(const sim_position *p)
{
    return p->volume < 2 * MIN_LOT - LOT_EPSILON;
}

/* The named position, or the oldest bot position no scenario holds, or a
 * new one opened through the bot's path. */
static int pick_locked(sim_scenarios *s, size_t acc, enum sim_scenario_kind kind,
                       const char *position, int64_t now_ms, sim_position *out, bool *opened,
                       char *err, size_t errlen)
{
    sim_market *m = sim_world_market(s->w);
    if (position) {
        uint64_t t;
        if (parse_ticket(position, &t, err, errlen) != 0)
            return -1;
        const sim_scenario *h = holding(s, acc, t);
        if (h) {
            snprintf(err, errlen,
                     "scenario %ld (%s) is already running on position %s; end it first", h->id,
                     KIND_NAMES[h->kind], position);
            return -1;
        }
        if (!sim_market_position(m, acc, t, out)) {
            snprintf(err, errlen, "position %s is not open on demo-%zu (GET its positions)",
                     position, acc + 1);
            return -1;
        }
        if (out->magic == 0) {
            snprintf(err, errlen,
                     "position %s was placed by hand (magic 0): the bot has no row for it",
                     position);
            return -1;
        }
        if (kind == SIM_SCENARIO_PARTIAL_CLOSE && too_small_to_halve(out)) {
            snprintf(err, errlen, "position %s holds %.2f lots, too few to close half of", position,
                     out->volume);
            return -1;
        }
        return 0;
    }
    sim_position pos[SIM_MARKET_MAX_POSITIONS];
    size_t n = sim_market_positions(m, acc, pos);
    for (size_t i = 0; i < n; i++) { /* kept in the order they opened */
        if (pos[i].magic == 0 || holding(s, acc, pos[i].ticket) ||
            (kind == SIM_SCENARIO_PARTIAL_CLOSE && too_small_to_halve(&pos[i])))
            continue;
        *out = pos[i];
        return 0;
    }
    uint64_t t = 0;
    char why[160];
    double min_volume = kind == SIM_SCENARIO_PARTIAL_CLOSE ? 2 * MIN_LOT : 0;
    if (sim_market_open_now(m, acc, SIM_OPEN_BOT, min_volume, now_ms, &t, why, sizeof why) != 0) {
        snprintf(err, errlen, "nothing to act on: demo-%zu has no bot position free for %s, and %s",
                 acc + 1, KIND_NAMES[kind], why);
        return -1;
    }
    sim_market_position(m, acc, t, out);
    *opened = true;
    return 0;
}

static double point_of(const sim_position *p)
{
    return pow(10.0, -sim_market_symbol_digits(p->symbol));
}

/* Moves a stop SIM_SCENARIO_MOVE_POINTS away from the price (so it cannot
 * trigger sooner than before), or places one NEW_STOP_POINTS beyond the
 * open or current price, whichever is further, when there was none. */
static double moved_stop(const sim_position *p, bool is_sl)
{
    double pt = point_of(p);
    double away = (p->side == SIM_SIDE_BUY) == is_sl ? -1.0 : 1.0; /* direction away from price */
    double old = is_sl ? p->stop_loss : p->take_profit;
    double v;
    if (old > 0) {
        v = old + away * SIM_SCENARIO_MOVE_POINTS * pt;
        if (v <= 0)
            v = old - away * SIM_SCENARIO_MOVE_POINTS * pt;
    } else {
        double ref = away < 0 ? fmin(p->open_price, p->current_price)
                              : fmax(p->open_price, p->current_price);
        v = ref + away * NEW_STOP_POINTS * pt;
        if (v <= 0)
            v = ref * FALLBACK_STOP_SHARE;
    }
    int digits = sim_market_symbol_digits(p->symbol);
    double f = pow(10.0, digits);
    return round(v * f) / f;
}

static const char *side_name(const sim_position *p)
{
    return p->side == SIM_SIDE_BUY ? "BUY" : "SELL";
}

/* Does to the broker what kind does to position p. */
static int act_locked(sim_scenarios *s, sim_scenario *sc, const sim_position *p, int64_t now_ms,
                      char *err, size_t errlen)
{
    sim_market *m = sim_world_market(s->w);
    const char *sym = sim_market_symbol_name(p->symbol);
    int digits = sim_market_symbol_digits(p->symbol);
    size_t acc = sc->account;
    if (sc->kind == SIM_SCENARIO_STOP_OUT) {
        sim_account_info info;
        sim_market_info(m, acc, &info);
        char comment[SIM_MARKET_COMMENT_LEN];
        snprintf(comment, sizeof comment, "[so %.1f%%/%.2f/%.2f]", STOP_OUT_LEVEL_PCT, info.equity,
                 info.margin);
        if (sim_market_close_quietly(m, acc, p->ticket, comment, now_ms) != SIM_CLOSE_DONE) {
            snprintf(err, errlen, "out of memory recording the stop-out");
            return -1;
        }
        snprintf(sc->detail, sizeof sc->detail,
                 "the broker stopped out %s %s %.2f lots; the bot was not told", sym, side_name(p),
                 p->volume);
        return 0;
    }
    if (sc->kind == SIM_SCENARIO_PARTIAL_CLOSE) {
        double f = pow(10.0, LOT_DIGITS);
        double half = round(p->volume / 2 * f) / f;
        if (sim_market_reduce(m, acc, p->ticket, half, "partial close", now_ms) != SIM_CLOSE_DONE) {
            snprintf(err, errlen, "out of memory recording the partial close");
            return -1;
        }
        snprintf(sc->detail, sizeof sc->detail,
                 "the broker closed %.2f of %.2f lots of %s %s; the bot was not told", half,
                 p->volume, sym, side_name(p));
    } else { /* SL or TP moved */
        bool is_sl = sc->kind == SIM_SCENARIO_SL_MOVED;
        double old = is_sl ? p->stop_loss : p->take_profit;
        double v = moved_stop(p, is_sl);
        sim_market_set_stops(m, acc, p->ticket, is_sl ? v : p->stop_loss,
                             is_sl ? p->take_profit : v);
        char was[40] = "unset";
        if (old > 0)
            snprintf(was, sizeof was, "%.*f", digits, old);
        snprintf(sc->detail, sizeof sc->detail,
                 "the broker moved the %s of %s %s from %s to %.*f; the bot was not told",
                 is_sl ? "SL" : "TP", sym, side_name(p), was, digits, v);
    }
    sim_market_hold(m, acc, p->ticket, true);
    return 0;
}

static int start_locked(sim_scenarios *s, size_t acc, enum sim_scenario_kind kind,
                        const char *position, int64_t now_ms, sim_scenario *out, char *err,
                        size_t errlen)
{
    sim_market *m = sim_world_market(s->w);
    if (s->n >= SIM_SCENARIO_MAX_ACTIVE) {
        snprintf(err, errlen, "%d scenarios are running, the most at once; end one first",
                 SIM_SCENARIO_MAX_ACTIVE);
        return -1;
    }
    sim_scenario sc = {.kind = kind, .account = acc, .started_ms = now_ms};
    if (kind == SIM_SCENARIO_MANUAL_TRADE || kind == SIM_SCENARIO_NEVER_OPENED) {
        if (position) {
            snprintf(err, errlen, "%s makes a position of its own; leave out \"position\"",
                     KIND_NAMES[kind]);
            return -1;
        }
    }
    if (kind == SIM_SCENARIO_MANUAL_TRADE) {
        char why[160];
        if (sim_market_open_now(m, acc, SIM_OPEN_MANUAL, 0, now_ms, &sc.ticket, why, sizeof why) !=
            0) {
            snprintf(err, errlen, "nothing to act on: cannot place a manual trade: %s", why);
            return -1;
        }
        sim_position p;
        sim_market_position(m, acc, sc.ticket, &p);
        sim_market_hold(m, acc, sc.ticket, true);
        snprintf(sc.detail, sizeof sc.detail,
                 "a trade (%s %s %.2f lots) was placed by hand at the broker (magic 0); the bot "
                 "has no row for it",
                 sim_market_symbol_name(p.symbol), side_name(&p), p.volume);
    } else if (kind == SIM_SCENARIO_NEVER_OPENED) {
        sim_position p = {.ticket = sim_market_reserve_ticket(m),
                          .symbol =
                              (int)sim_rng_below(&s->rng, (uint64_t)sim_market_symbol_count()),
                          .side = sim_rng_chance(&s->rng, 0.5) ? SIM_SIDE_BUY : SIM_SIDE_SELL,
                          .magic = sim_market_bot_magic(sim_rng_next(&s->rng)),
                          .open_ms = now_ms,
                          .volume = NEVER_OPENED_LOTS};
        sc.ticket = p.ticket;
        sim_bot_opened(s->bot, acc, &p);
        snprintf(sc.detail, sizeof sc.detail,
                 "the bot recorded a position (%s %s %.2f lots) the broker never opened",
                 sim_market_symbol_name(p.symbol), side_name(&p), p.volume);
    } else {
        sim_position p;
        if (pick_locked(s, acc, kind, position, now_ms, &p, &sc.opened_for_it, err, errlen) != 0)
            return -1;
        sc.ticket = p.ticket;
        if (act_locked(s, &sc, &p, now_ms, err, errlen) != 0)
            return -1;
    }
    sc.id = ++s->next_id;
    s->active[s->n++] = sc;
    s->started++;
    *out = sc;
    return 0;
}

int sim_scenarios_start(sim_scenarios *s, const char *account, const char *kind,
                        const char *position, int64_t now_ms, sim_scenario *out, char *err,
                        size_t errlen)
{
    enum sim_scenario_kind k;
    if (parse_kind(kind, &k, err, errlen) != 0)
        return -1;
    if (!s->bot) {
        snprintf(err, errlen, "scenarios need the bot: start tradeops-sim with --pg CONNINFO");
        return -1;
    }
    sim_world_lock(s->w);
    long acc = find_account_locked(s, account, err, errlen);
    int rc = acc < 0 ? -1 : start_locked(s, (size_t)acc, k, position, now_ms, out, err, errlen);
    sim_world_unlock(s->w);
    return rc;
}

/* Brings the bot and the broker back together for sc. */
static int finish_locked(sim_scenarios *s, const sim_scenario *sc, int64_t now_ms, char *err,
                         size_t errlen)
{
    sim_market *m = sim_world_market(s->w);
    sim_position p;
    switch (sc->kind) {
    case SIM_SCENARIO_STOP_OUT:
    case SIM_SCENARIO_NEVER_OPENED: sim_bot_closed(s->bot, sc->account, sc->ticket, now_ms); break;
    case SIM_SCENARIO_MANUAL_TRADE:
        if (sim_market_close_quietly(m, sc->account, sc->ticket, "manual", now_ms) < 0) {
            snprintf(err, errlen, "out of memory recording the close; the scenario goes on");
            return -1;
        }
        break;
    default: /* partial_close, sl_moved, tp_moved */
        sim_market_hold(m, sc->account, sc->ticket, false);
        /* Closed meanwhile (through the API): the bot was told then. */
        if (sim_market_position(m, sc->account, sc->ticket, &p))
            sim_bot_modified(s->bot, sc->account, &p, now_ms);
        break;
    }
    return 0;
}

static int end_locked(sim_scenarios *s, size_t acc, enum sim_scenario_kind kind, long id,
                      const uint64_t *ticket, int64_t now_ms, sim_scenario *out, char *err,
                      size_t errlen)
{
    size_t i = 0;
    while (i < s->n &&
           !(s->active[i].account == acc && s->active[i].kind == kind &&
             (id <= 0 || s->active[i].id == id) && (!ticket || s->active[i].ticket == *ticket)))
        i++;
    if (i == s->n) {
        char which[64] = "";
        if (id > 0)
            snprintf(which, sizeof which, " with id %ld", id);
        else if (ticket)
            snprintf(which, sizeof which, " on position %" PRIu64, *ticket);
        snprintf(err, errlen,
                 "no %s scenario%s is running on demo-%zu (GET /_sim/scenarios lists them)",
                 KIND_NAMES[kind], which, acc + 1);
        return -1;
    }
    sim_scenario sc = s->active[i];
    if (finish_locked(s, &sc, now_ms, err, errlen) != 0)
        return -1;
    memmove(&s->active[i], &s->active[i + 1], (s->n - i - 1) * sizeof s->active[0]);
    s->n--;
    s->ended++;
    *out = sc;
    return 0;
}

int sim_scenarios_end(sim_scenarios *s, const char *account, const char *kind, long id,
                      const char *position, int64_t now_ms, sim_scenario *out, char *err,
                      size_t errlen)
{
    enum sim_scenario_kind k;
    uint64_t t = 0;
    if (parse_kind(kind, &k, err, errlen) != 0 ||
        (position && parse_ticket(position, &t, err, errlen) != 0))
        return -1;
    sim_world_lock(s->w);
    long acc = find_account_locked(s, account, err, errlen);
    int rc =
        acc < 0 ? -1
                : end_locked(s, (size_t)acc, k, id, position ? &t : NULL, now_ms, out, err, errlen);
    sim_world_unlock(s->w);
    return rc;
}

cJSON *sim_scenario_json(const sim_scenario *sc, const char *state)
{
    char acc[SIM_MARKET_ID_LEN], pos[24], at[SIM_TIME_TEXT_LEN];
    snprintf(acc, sizeof acc, "demo-%zu", sc->account + 1);
    snprintf(pos, sizeof pos, "%" PRIu64, sc->ticket);
    sim_time_iso(sc->started_ms, at, sizeof at);
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddNumberToObject(o, "id", (double)sc->id) &&
              cJSON_AddStringToObject(o, "account", acc) &&
              cJSON_AddStringToObject(o, "kind", KIND_NAMES[sc->kind]) &&
              cJSON_AddStringToObject(o, "position", pos) &&
              cJSON_AddStringToObject(o, "state", state) &&
              cJSON_AddStringToObject(o, "started_at", at) &&
              cJSON_AddBoolToObject(o, "opened_for_it", sc->opened_for_it) &&
              cJSON_AddStringToObject(o, "detail", sc->detail);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *sim_scenarios_json(sim_scenarios *s)
{
    sim_scenario *copy = malloc(SIM_SCENARIO_MAX_ACTIVE * sizeof *copy);
    if (!copy)
        return NULL;
    sim_world_lock(s->w);
    size_t n = s->n;
    memcpy(copy, s->active, n * sizeof *copy);
    double started = (double)s->started, ended = (double)s->ended;
    sim_world_unlock(s->w);
    cJSON *o = cJSON_CreateObject();
    cJSON *list = o ? cJSON_AddArrayToObject(o, "scenarios") : NULL;
    bool ok = list != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *item = sim_scenario_json(&copy[i], "active");
        ok = item && cJSON_AddItemToArray(list, item);
        if (!ok)
            cJSON_Delete(item);
    }
    ok = ok && cJSON_AddNumberToObject(o, "started", started) &&
         cJSON_AddNumberToObject(o, "ended", ended);
    free(copy);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *sim_scenarios_stats_json(sim_scenarios *s)
{
    sim_world_lock(s->w);
    double active = (double)s->n, started = (double)s->started, ended = (double)s->ended;
    sim_world_unlock(s->w);
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddNumberToObject(o, "active", active) &&
        cJSON_AddNumberToObject(o, "started", started) &&
        cJSON_AddNumberToObject(o, "ended", ended))
        return o;
    cJSON_Delete(o);
    return NULL;
}

/* ---- --scenario-every ---- */

/* With the world mutex held. */
static enum sim_scenario_kind demo_kind_locked(sim_scenarios *s)
{
    if (s->demo_next == 0) {
        for (int i = 0; i < SIM_SCENARIO_KINDS; i++)
            s->demo_order[i] = (enum sim_scenario_kind)i;
        for (int i = SIM_SCENARIO_KINDS - 1; i > 0; i--) { /* Fisher-Yates */
            int j = (int)sim_rng_below(&s->rng, (uint64_t)i + 1);
            enum sim_scenario_kind t = s->demo_order[i];
            s->demo_order[i] = s->demo_order[j];
            s->demo_order[j] = t;
        }
    }
    enum sim_scenario_kind k = s->demo_order[s->demo_next];
    s->demo_next = (s->demo_next + 1) % SIM_SCENARIO_KINDS;
    return k;
}

static void *demo_main(void *arg)
{
    sim_scenarios *s = arg;
    long every_ms = s->demo_every_s * MS_PER_S;
    long run_ms = every_ms / DEMO_SHARE_DEN * DEMO_SHARE_NUM;
    while (!sim_world_stopping(s->w)) {
        sim_scenario sc;
        char err[320];
        sim_world_lock(s->w);
        size_t acc = (size_t)sim_rng_below(&s->rng, sim_market_accounts(sim_world_market(s->w)));
        enum sim_scenario_kind k = demo_kind_locked(s);
        int rc = start_locked(s, acc, k, NULL, clock_now_ms(), &sc, err, sizeof err);
        sim_world_unlock(s->w);
        if (rc != 0)
            fprintf(stderr, "tradeops-sim: demo scenario %s on demo-%zu not started: %s\n",
                    KIND_NAMES[k], acc + 1, err);
        else
            fprintf(stderr,
                    "tradeops-sim: demo scenario %ld started: %s on demo-%zu position %" PRIu64
                    " for %.1f s: %s\n",
                    sc.id, KIND_NAMES[k], acc + 1, sc.ticket, (double)run_ms / MS_PER_S, sc.detail);
        sim_world_sleep_ms(s->w, run_ms);
        if (rc == 0 && !sim_world_stopping(s->w)) {
            sim_scenario done;
            sim_world_lock(s->w);
            rc = end_locked(s, acc, k, sc.id, NULL, clock_now_ms(), &done, err, sizeof err);
            sim_world_unlock(s->w);
            if (rc == 0)
                fprintf(stderr, "tradeops-sim: demo scenario %ld ended\n", sc.id);
            else /* someone ended it first through /_sim/scenario */
                fprintf(stderr, "tradeops-sim: demo scenario %ld: %s\n", sc.id, err);
        }
        sim_world_sleep_ms(s->w, every_ms - run_ms);
    }
    return NULL;
}

int sim_scenarios_demo_start(sim_scenarios *s, long every_s, char *err, size_t errlen)
{
    if (!s->bot) {
        snprintf(err, errlen, "--scenario-every needs the bot: give --pg CONNINFO too");
        return -1;
    }
    s->demo_every_s = every_s;
    int rc = pthread_create(&s->demo, NULL, demo_main, s);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the demo scenario thread: %s", strerror(rc));
        return -1;
    }
    s->demo_started = true;
    return 0;
}

void sim_scenarios_demo_stop(sim_scenarios *s)
{
    if (s->demo_started) {
        pthread_join(s->demo, NULL);
        s->demo_started = false;
    }
}
