/* dropout.h: the dropout mask every backend (and the tests' reference) shares.
 *
 * Element i of a dropout layer's input in training step `step` is kept when the 24-bit uniform
 * from Philox(seed, RNG_DROPOUT, a = step, b = salt << 24 | i / 4), word i % 4, is >= p.
 * salt tells several dropout layers of one network apart (the layer's index, < 256). */
#ifndef OP_DROPOUT_H
#define OP_DROPOUT_H

#include <stddef.h>
#include <stdint.h>
#include "core/rng.h"

static inline uint32_t dropout_block_index(uint32_t salt, size_t i) { return (salt << 24) | (uint32_t)(i >> 2); }

static inline int dropout_keep(uint64_t seed, uint32_t step, uint32_t salt, size_t i, float p)
{
    uint32_t w[4];
    rng_block(seed, RNG_DROPOUT, step, dropout_block_index(salt, i), w);
    return rng_u32_to_float(w[i & 3]) >= p;
}

#endif
