/*
 * sim_rng.h - the simulator's seeded pseudo-random numbers (xorshift64*).
 *
 * Repeatability is the point: the same seed must give the same ticks, opens
 * and closes on every machine, so the generator is ours rather than rand(3),
 * whose sequence differs between C libraries and which hides shared state.
 *
 * Threads: an rng has no lock; it belongs to whoever holds its owner's lock
 * (the market's rng under the world mutex) or is a local on one stack.
 */
#ifndef TRADEOPS_SIM_RNG_H
#define TRADEOPS_SIM_RNG_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sim_rng {
    uint64_t s;
} sim_rng;

/* splitmix64 spreads small seeds (1, 2, 3...) over the whole state; xorshift
 * started from a near-zero state would give correlated first outputs. */
static inline void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    r->s = z ? z : 0x2545F4914F6CDD1Dull; /* xorshift never leaves 0 */
}

static inline uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, 1). */
static inline double sim_rng_unit(sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static inline double sim_rng_range(sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sim_rng_unit(r);
}

/* Uniform in [0, n); the modulo bias is below 2^-40 for the n we use. */
static inline uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    return n ? sim_rng_next(r) % n : 0;
}

static inline bool sim_rng_chance(sim_rng *r, double p)
{
    return sim_rng_unit(r) < p;
}

/* Standard normal (Box-Muller); u1 is kept away from 0 so log() is finite. */
static inline double sim_rng_gauss(sim_rng *r)
{
    double u1 = 1.0 - sim_rng_unit(r);
    double u2 = sim_rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
