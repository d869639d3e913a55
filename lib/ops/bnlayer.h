/* bnlayer.h: the notebook's BnLayer after its conv, and its statistics maths.
 *
 * Backend entries (backend_iface):
 *   bnlayer_fwd(ctx, c, a, m, means, stds, skip, y, training)
 *       r = relu(c); in training the mean and the unbiased std (no eps) of r per channel over
 *       N*H*W are written to means/stds [C] (else read from them);
 *       y = (r - mean) / std * m + a, plus skip (the ResnetLayer input, same shape as y) when not
 *       NULL. c, y, skip: same layout; a, m, means, stds [C,1,1] TL_PLAIN.
 *   bnlayer_bwd(ctx, c, m, means, stds, dy, dc, da, dm)
 *       gradients through the batch statistics (training-mode forward) into dc (w.r.t. c, the
 *       pre-ReLU conv output), da, dm. The skip branch's gradient is dy itself (caller adds it).
 * Both backends sum per channel in double: s = sum r, q = sum r^2 over M = N*H*W. */
#ifndef OPS_BNLAYER_H
#define OPS_BNLAYER_H

#include <math.h>
#include "backend/hostdev.h"

/* Channel mean and unbiased std from the sums (a negative variance from rounding counts as 0). */
OPS_HD void bnlayer_stats(double s, double q, double M, float *mean, float *std)
{
    double mu = s / M, var = (q - M * mu * mu) / (M - 1);
    *mean = (float)mu;
    *std = (float)sqrt(var > 0 ? var : 0);
}

/* y = r * scale + shift normalises with the stored statistics: scale = m/std, shift = a - mean*scale. */
OPS_HD void bnlayer_scale_shift(float a, float m, float mean, float std, float *scale, float *shift)
{
    float sc = m / std;
    *scale = sc;
    *shift = a - mean * sc;
}

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(bnlayer)
OP_ENTRY(int, bnlayer_fwd, (void *ctx, const tensor *c, const tensor *a, const tensor *m, tensor *means,
                            tensor *stds, const tensor *skip, tensor *y, int training))
OP_ENTRY(int, bnlayer_bwd, (void *ctx, const tensor *c, const tensor *m, const tensor *means,
                            const tensor *stds, const tensor *dy, tensor *dc, tensor *da, tensor *dm))
#endif
