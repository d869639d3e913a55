/* dropout.h: the dropout op's contract and the mask every backend (and the tests' reference)
 * shares.
 *
 * Backend entries (backend_iface), on TL_PLAIN F32 tensors:
 *   dropout_fwd(ctx, x, y, p, seed, step, salt, training)
 *       inverted dropout: kept elements are scaled by 1/(1-p), dropped ones are 0;
 *       training = 0 (or p = 0): identity (a copy when y is not x)
 *   dropout_bwd(ctx, dy, dx, p, seed, step, salt)
 *       the same mask and scale applied to dy (regenerated, never stored)
 *
 * Element i of a dropout layer's input in training step `step` is kept when the 24-bit uniform
 * from Philox(seed, RNG_DROPOUT, a = step, b = salt << 24 | i / 4), word i % 4, is >= p.
 * salt tells several dropout layers of one network apart (the layer's index, < 256). */
#ifndef OPS_DROPOUT_H
#define OPS_DROPOUT_H

#include <stddef.h>
#include <stdint.h>
#include "backend/hostdev.h"
#include "core/philox.h"
#include "core/rng.h"

/* The Philox block b holds the draws of elements 4b .. 4b+3. */
OPS_HD uint32_t dropout_block_index(uint32_t salt, size_t i) { return (salt << 24) | (uint32_t)(i >> 2); }

OPS_HD void dropout_block(uint64_t seed, uint32_t step, uint32_t salt, size_t block, uint32_t w[4])
{
    philox_block(seed, RNG_DROPOUT, step, dropout_block_index(salt, block * 4), w);
}

OPS_HD float dropout_scale(float p) { return 1.0f / (1.0f - p); }

/* The output of one element from its Philox word. */
OPS_HD float dropout_value(float x, uint32_t word, float p, float scale)
{
    return philox_to_float(word) >= p ? x * scale : 0.0f;
}

OPS_HD int dropout_keep(uint64_t seed, uint32_t step, uint32_t salt, size_t i, float p)
{
    uint32_t w[4];
    dropout_block(seed, step, salt, i >> 2, w);
    return philox_to_float(w[i & 3]) >= p;
}

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(dropout)
OP_ENTRY(int, dropout_fwd, (void *ctx, const tensor *x, tensor *y, float p, uint64_t seed, uint32_t step,
                            uint32_t salt, int training))
OP_ENTRY(int, dropout_bwd, (void *ctx, const tensor *dy, tensor *dx, float p, uint64_t seed, uint32_t step,
                            uint32_t salt))
#endif
