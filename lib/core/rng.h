/* rng.h: counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
 *
 * Every draw is a pure function of (seed, purpose, counters), so results never depend on thread
 * timing and the CUDA backend can compute the same numbers in a kernel. One seed drives all
 * randomness; the purpose keeps init, shuffling, augmentation and dropout independent. */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>
#include "core/philox.h"

#ifdef __cplusplus
extern "C" {

#endif

typedef enum rng_purpose {
    RNG_INIT = 1,      /* parameter initialisation: a = parameter index, b = element block */
    RNG_SHUFFLE = 2,   /* epoch permutations: a = phase/epoch counter */
    RNG_AUGMENT = 3,   /* per-image flip and crop: a = pass counter, b = image index */
    RNG_DROPOUT = 4,   /* dropout masks: a = step counter */
    RNG_TEST = 99      /* tests only */
} rng_purpose;

/* The raw generator: 4 x 32 random bits for one 128-bit counter under a 64-bit key. */
void philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Four 32-bit words for (seed, purpose, a, b). */
void rng_block(uint64_t seed, rng_purpose purpose, uint32_t a, uint32_t b, uint32_t out[4]);

/* A sequential stream over consecutive blocks of (seed, purpose, a); b counts blocks. */
typedef struct rng_stream {
    uint64_t seed;
    rng_purpose purpose;
    uint32_t a;
    uint32_t block;      /* next block index */
    uint32_t buf[4];
    int used;            /* words of buf consumed; 4 = empty */
} rng_stream;

void rng_stream_init(rng_stream *s, uint64_t seed, rng_purpose purpose, uint32_t a);
uint32_t rng_next_u32(rng_stream *s);
/* Uniform in [0,1) with 24 random bits (exact in float). */
float rng_next_float(rng_stream *s);
/* Uniform in [0,1) with 53 random bits. */
double rng_next_double(rng_stream *s);
/* Uniform integer in [0, n), unbiased (rejection). */
uint32_t rng_next_below(rng_stream *s, uint32_t n);

/* 24-bit float in [0,1) from one word: the conversion every backend must share. */
static inline float rng_u32_to_float(uint32_t x) { return philox_to_float(x); }

/* Fisher-Yates permutation of 0..n-1 drawn from s. */
void rng_permutation(rng_stream *s, uint32_t *perm, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif
