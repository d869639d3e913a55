/* gelu.h: the GELU op's contract and its element maths (PyTorch nn.GELU(), the exact erf form).
 *
 * Backend entries (backend_iface):
 *   gelu_fwd(ctx, x, y)        y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), any layout
 *   gelu_bwd(ctx, x, dy, dx)   dx = dy * (Phi(x) + x phi(x)), from the forward's input x
 * Padded lanes hold 0 and stay 0 (gelu(0) = 0, and dy is 0 there).
 *
 * Every path computes the functions below with the same float operations (fused multiply-adds
 * where written, one division, rint), so the CPU's AVX-512, AVX2 and plain C kernels and the CUDA
 * kernel give the same bits. erf: x P(x^2) / Q(x^2) on [-4, 4] (XLA's and Eigen's float erf),
 * |error| < 4e-7 against the exact erf; exp: Cephes' expf (range reduction by ln 2, degree-5
 * polynomial), relative error < 1e-7, on the arguments -x^2/2 <= 0 the backward needs. */
#ifndef OPS_GELU_H
#define OPS_GELU_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "backend/hostdev.h"

#define GELU_SQRT1_2 0.70710678118654752f
#define GELU_INV_SQRT_2PI 0.39894228040143268f
#define GELU_LOG2E 1.44269504088896341f
#define GELU_LN2_HI 0.693359375f          /* ln 2 = GELU_LN2_HI - GELU_LN2_LO_NEG, split for */
#define GELU_LN2_LO_NEG 2.12194440e-4f    /* an exact n * GELU_LN2_HI */
#define GELU_EXP_MIN (-87.0f)             /* below: e^t would leave the normal floats */

/* numerator x P(x^2) (odd, highest first) and denominator Q(x^2) (even) */
#define GELU_ERF_P { -2.72614225801306e-10f, 2.77068142495902e-08f, -2.10102402082508e-06f, \
                     -5.69250639462346e-05f, -7.34990630326855e-04f, -2.95459980854025e-03f, \
                     -1.60960333262415e-02f }
#define GELU_ERF_Q { -1.45660718464996e-05f, -2.13374055278905e-04f, -1.68282697438203e-03f, \
                     -7.37332916720468e-03f, -1.42647390514189e-02f }
#define GELU_EXP_P { 1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, \
                     1.6666665459e-1f, 5.0000001201e-1f }

/* The selects of the vector min/max instructions: max(a, b) = a > b ? a : b. */
OPS_HD float gelu_max(float a, float b) { return a > b ? a : b; }
OPS_HD float gelu_min(float a, float b) { return a < b ? a : b; }

OPS_HD float gelu_erf(float x)
{
    const float P[7] = GELU_ERF_P, Q[5] = GELU_ERF_Q;
    float c = gelu_min(gelu_max(x, -4.0f), 4.0f), x2 = c * c;
    float p = fmaf(x2, P[0], P[1]);
    for (int i = 2; i < 7; i++) p = fmaf(x2, p, P[i]);
    p = c * p;
    float q = fmaf(x2, Q[0], Q[1]);
    for (int i = 2; i < 5; i++) q = fmaf(x2, q, Q[i]);
    return gelu_min(gelu_max(p / q, -1.0f), 1.0f);
}

/* e^t for t <= 0 (t below GELU_EXP_MIN counts as GELU_EXP_MIN: about 1.6e-38) */
OPS_HD float gelu_exp(float t)
{
    const float E[6] = GELU_EXP_P;
    t = gelu_max(t, GELU_EXP_MIN);
    float n = rintf(t * GELU_LOG2E);
    float r = fmaf(n, -GELU_LN2_HI, t);
    r = fmaf(n, GELU_LN2_LO_NEG, r);
    float p = E[0];
    for (int i = 1; i < 6; i++) p = fmaf(p, r, E[i]);
    p = fmaf(p, r * r, r) + 1.0f;
    int32_t bits = ((int32_t)n + 127) * (1 << 23);
#ifdef __CUDA_ARCH__
    float s = __int_as_float(bits);
#else
    float s;
    memcpy(&s, &bits, sizeof s);
#endif
    return p * s;
}

OPS_HD float gelu_value(float x)
{
    float e = gelu_erf(x * GELU_SQRT1_2);
    return (0.5f * x) * (1.0f + e);
}

/* dy * (Phi(x) + x phi(x)) */
OPS_HD float gelu_grad(float x, float dy)
{
    float cdf = 0.5f * (1.0f + gelu_erf(x * GELU_SQRT1_2));
    float pdf = GELU_INV_SQRT_2PI * gelu_exp(-0.5f * (x * x));
    return dy * fmaf(x, pdf, cdf);
}

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(gelu)
OP_ENTRY(int, gelu_fwd, (void *ctx, const tensor *x, tensor *y))
OP_ENTRY(int, gelu_bwd, (void *ctx, const tensor *x, const tensor *dy, tensor *dx))
#endif
