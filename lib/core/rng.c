#include "core/rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

void philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = mulhilo(PHILOX_M0, c0, &hi0);
        uint32_t lo1 = mulhilo(PHILOX_M1, c2, &hi1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void rng_block(uint64_t seed, rng_purpose purpose, uint32_t a, uint32_t b, uint32_t out[4])
{
    const uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
    const uint32_t ctr[4] = { b, a, (uint32_t)purpose, 0x43494641u /* "CIFA" */ };
    philox4x32(ctr, key, out);
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
