/* gelu.c: GELU forward and backward on plain or channel-blocked tensors (padded lanes stay zero).
 * erf and exp are not vector instructions: the vector kernels (written once, simd.h: AVX-512
 * and AVX2 + FMA) evaluate ops/gelu.h's polynomials lane by lane with the same operations as its
 * scalar functions (the tails and the generic path), so every path gives the same bits. */
#include <omp.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/gelu.h"

#ifdef SIMD_W   /* ---- vector kernels, W lanes: fwd16, bwd16 and fwd8, bwd8 ---- */

SIMD_FN static inline vf V(erf)(vf x)
{
    static const float P[7] = GELU_ERF_P, Q[5] = GELU_ERF_Q;
    vf c = vf_min(vf_max(x, vf_set1(-4.0f)), vf_set1(4.0f));
    vf x2 = vf_mul(c, c);
    vf p = vf_fmadd(x2, vf_set1(P[0]), vf_set1(P[1]));
    for (int i = 2; i < 7; i++) p = vf_fmadd(x2, p, vf_set1(P[i]));
    p = vf_mul(c, p);
    vf q = vf_fmadd(x2, vf_set1(Q[0]), vf_set1(Q[1]));
    for (int i = 2; i < 5; i++) q = vf_fmadd(x2, q, vf_set1(Q[i]));
    return vf_min(vf_max(vf_div(p, q), vf_set1(-1.0f)), vf_set1(1.0f));
}

SIMD_FN static inline vf V(exp)(vf t)
{
    static const float E[6] = GELU_EXP_P;
    t = vf_max(t, vf_set1(GELU_EXP_MIN));
    vf n = vf_round(vf_mul(t, vf_set1(GELU_LOG2E)));
    vf r = vf_fmadd(n, vf_set1(-GELU_LN2_HI), t);
    r = vf_fmadd(n, vf_set1(GELU_LN2_LO_NEG), r);
    vf p = vf_set1(E[0]);
    for (int i = 1; i < 6; i++) p = vf_fmadd(p, r, vf_set1(E[i]));
    p = vf_add(vf_fmadd(p, vf_mul(r, r), r), vf_set1(1.0f));
    vi bits = vi_shl(vi_add(vf_cvti(n), vi_set1(127)), 23);
    return vf_mul(p, vf_asf(bits));
}

SIMD_FN static void V(fwd)(const float *x, float *y, size_t lo, size_t hi)
{
    size_t i = lo;
    for (; i + SIMD_W <= hi; i += SIMD_W) {
        vf v = vf_load(x + i);
        vf e = V(erf)(vf_mul(v, vf_set1(GELU_SQRT1_2)));
        vf_store(y + i, vf_mul(vf_mul(vf_set1(0.5f), v), vf_add(vf_set1(1.0f), e)));
    }
    for (; i < hi; i++) y[i] = gelu_value(x[i]);
}

SIMD_FN static void V(bwd)(const float *x, const float *g, float *dx, size_t lo, size_t hi)
{
    size_t i = lo;
    for (; i + SIMD_W <= hi; i += SIMD_W) {
        vf v = vf_load(x + i);
        vf e = V(erf)(vf_mul(v, vf_set1(GELU_SQRT1_2)));
        vf cdf = vf_mul(vf_set1(0.5f), vf_add(vf_set1(1.0f), e));
        vf pdf = vf_mul(vf_set1(GELU_INV_SQRT_2PI), V(exp)(vf_mul(vf_set1(-0.5f), vf_mul(v, v))));
        vf_store(dx + i, vf_mul(vf_load(g + i), vf_fmadd(v, pdf, cdf)));
    }
    for (; i < hi; i++) dx[i] = gelu_grad(x[i], g[i]);
}

#else

#define SIMD_BODY "backend/cpu/gelu.c"
#include "backend/cpu/simd.h"

static void fwd_gen(const float *x, float *y, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) y[i] = gelu_value(x[i]);
}

static void bwd_gen(const float *x, const float *g, float *dx, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) dx[i] = gelu_grad(x[i], g[i]);
}

int cpu_gelu_fwd(void *ctx, const tensor *x, tensor *y)
{
    int isa = ((const cpu_ctx *)ctx)->isa;
    const float *a = x->data;
    float *b = y->data;
    CPU_SPLIT_RUN(cpu_used_bytes(x) / sizeof(float), lo, hi, SIMD_CALL(isa, fwd, a, b, lo, hi));
    return C_OK;
}

int cpu_gelu_bwd(void *ctx, const tensor *x, const tensor *dy, tensor *dx)
{
    int isa = ((const cpu_ctx *)ctx)->isa;
    const float *a = x->data, *g = dy->data;
    float *d = dx->data;
    CPU_SPLIT_RUN(cpu_used_bytes(x) / sizeof(float), lo, hi, SIMD_CALL(isa, bwd, a, g, d, lo, hi));
    return C_OK;
}

#endif
