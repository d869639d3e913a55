/* batchnorm.h: PyTorch's nn.BatchNorm2d (affine, track_running_stats) and its statistics maths.
 *
 * Backend entries (backend_iface):
 *   batchnorm_fwd(ctx, x, weight, bias, running_mean, running_var, save_mean, save_invstd, y,
 *                 training, momentum, eps)
 *       x, y [N,C,H,W] in the same layout (any); the other tensors [C] TL_PLAIN.
 *       training: mean and biased variance var of x per channel over the M = N*H*W values;
 *       save_mean = mean, save_invstd = 1/sqrt(var + eps) (for the backward);
 *       running_mean = (1 - momentum) running_mean + momentum mean, running_var likewise with
 *       the unbiased variance var * M/(M-1) (M < 2 is refused, as PyTorch does);
 *       y = (x - mean) * invstd * weight + bias.
 *       eval: the same with running_mean and 1/sqrt(running_var + eps); save_* untouched.
 *   batchnorm_bwd(ctx, x, weight, save_mean, save_invstd, dy, dx, dweight, dbias)
 *       through the batch statistics of the training-mode forward: dbias = sum dy, dweight =
 *       sum dy * xhat (xhat = (x - mean) * invstd), dx = weight * invstd * (dy - dbias/M -
 *       xhat * dweight/M). dx, dweight, dbias may each be NULL (not computed); all overwritten.
 * Sums: per channel of (x - K) and (x - K)^2 with K the channel's first value (x[0,c,0,0]), so
 * the variance does not cancel when the mean is large; the CPU adds 32 positions in float,
 * then in double, image by image (one fixed order: runs and thread counts give the same bits);
 * CUDA sums in double (cuda_backend.h's deterministic reduction). */
#ifndef OPS_BATCHNORM_H
#define OPS_BATCHNORM_H

#include <math.h>
#include "backend/hostdev.h"

/* Mean and biased variance from the shifted sums s = sum (x - K), q = sum (x - K)^2 over M. */
OPS_HD void batchnorm_stats(double s, double q, double M, double K, double *mean, double *var)
{
    double d = s / M, v = q / M - d * d;
    *mean = K + d;
    *var = v > 0 ? v : 0;
}

/* The running statistics' update (training) from the batch mean and biased variance. */
OPS_HD void batchnorm_running(double mean, double var, double M, double momentum, float *rm, float *rv)
{
    *rm = (float)((1 - momentum) * *rm + momentum * mean);
    *rv = (float)((1 - momentum) * *rv + momentum * var * M / (M - 1));
}

OPS_HD float batchnorm_invstd(double var, double eps) { return (float)(1.0 / sqrt(var + eps)); }

/* y = x * scale + shift: scale = weight * invstd, shift = bias - mean * scale. */
OPS_HD void batchnorm_scale_shift(float w, float b, float mean, float invstd, float *scale, float *shift)
{
    float sc = w * invstd;
    *scale = sc;
    *shift = b - mean * sc;
}

/* From s1 = sum dy and s2 = sum dy (x - mean): dx = ka dy + kc x + k0. */
OPS_HD void batchnorm_grad_coeffs(double s1, double s2, double M, float w, float mean, float invstd, float *ka,
                                  float *kc, float *k0)
{
    double a = (double)w * invstd, c = -a * invstd * invstd * s2 / M;
    *ka = (float)a;
    *kc = (float)c;
    *k0 = (float)(-a * s1 / M - c * mean);
}

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(batchnorm)
OP_ENTRY(int, batchnorm_fwd, (void *ctx, const tensor *x, const tensor *weight, const tensor *bias,
                              tensor *running_mean, tensor *running_var, tensor *save_mean,
                              tensor *save_invstd, tensor *y, int training, float momentum, float eps))
OP_ENTRY(int, batchnorm_bwd, (void *ctx, const tensor *x, const tensor *weight, const tensor *save_mean,
                              const tensor *save_invstd, const tensor *dy, tensor *dx, tensor *dweight,
                              tensor *dbias))
#endif
