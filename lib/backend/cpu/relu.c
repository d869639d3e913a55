/* relu.c: ReLU forward and backward on plain or channel-blocked tensors (padded lanes stay zero).
 * The backward's select does not auto-vectorise at -O2 and a data-dependent branch per element
 * costs ~10x a vector pass, so it has a vector kernel (written once, simd.h: AVX-512 and AVX2;
 * the same select on every path gives the same bits); conv2d.c uses the same mask for its fused
 * ReLU. */
#include <omp.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/relu.h"

#ifdef SIMD_W   /* ---- vector kernel, W lanes: mask_pos16 and mask_pos8 ---- */

SIMD_FN static void V(mask_pos)(const float *y, const float *g, float *out, size_t lo, size_t hi)
{
    vf z = vf_zero();
    size_t i = lo;
    for (; i + SIMD_W <= hi; i += SIMD_W) vf_store(out + i, vf_maskz(vm_gt(vf_load(y + i), z), vf_load(g + i)));
    for (; i < hi; i++) out[i] = relu_grad(y[i], g[i]);
}

#else

#define SIMD_BODY "backend/cpu/relu.c"
#include "backend/cpu/simd.h"

static void mask_pos_gen(const float *y, const float *g, float *out, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) out[i] = relu_grad(y[i], g[i]);
}

void cpu_mask_pos(const cpu_ctx *c, const float *y, const float *g, float *out, size_t n)
{
    int isa = c->isa;
    CPU_SPLIT_RUN(n, lo, hi, SIMD_CALL(isa, mask_pos, y, g, out, lo, hi));
}

int cpu_relu_fwd(void *ctx, const tensor *x, tensor *y)
{
    (void)ctx;
    size_t n = cpu_used_bytes(x) / sizeof(float);
    const float *a = x->data;
    float *b = y->data;
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) b[i] = relu_value(a[i]);
    return C_OK;
}

int cpu_relu_bwd(void *ctx, const tensor *y, const tensor *dy, tensor *dx)
{
    cpu_mask_pos(ctx, y->data, dy->data, dx->data, cpu_used_bytes(y) / sizeof(float));
    return C_OK;
}

#endif
