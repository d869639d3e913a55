/* rng.c: counter-based random streams on Philox4x32-10 (core/philox.h). */
#include "core/rng.h"
#include "core/philox.h"

/* The one Philox implementation is core/philox.h (shared with the CUDA kernels). */
void philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    philox4x32_10(ctr, key[0], key[1], out);
}

void rng_block(uint64_t seed, rng_purpose purpose, uint32_t a, uint32_t b, uint32_t out[4])
{
    philox_block(seed, (uint32_t)purpose, a, b, out);
}

void rng_stream_init(rng_stream *s, uint64_t seed, rng_purpose purpose, uint32_t a)
{
    s->seed = seed;
    s->purpose = purpose;
    s->a = a;
    s->block = 0;
    s->used = 4;
}

uint32_t rng_next_u32(rng_stream *s)
{
    if (s->used == 4) {
        rng_block(s->seed, s->purpose, s->a, s->block++, s->buf);
        s->used = 0;
    }
    return s->buf[s->used++];
}

float rng_next_float(rng_stream *s) { return rng_u32_to_float(rng_next_u32(s)); }

double rng_next_double(rng_stream *s)
{
    uint64_t hi = rng_next_u32(s) >> 5, lo = rng_next_u32(s) >> 6; /* 27 + 26 bits */
    return (double)(hi * 67108864u + lo) * (1.0 / 9007199254740992.0);
}

uint32_t rng_next_below(rng_stream *s, uint32_t n)
{
    /* Lemire-style rejection on the low end keeps every value equally likely. */
    uint32_t limit = (uint32_t)(-n) % n;
    for (;;) {
        uint64_t m = (uint64_t)rng_next_u32(s) * n;
        if ((uint32_t)m >= limit) return (uint32_t)(m >> 32);
    }
}

void rng_permutation(rng_stream *s, uint32_t *perm, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rng_next_below(s, i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
