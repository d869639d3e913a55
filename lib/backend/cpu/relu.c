/* relu.c: ReLU forward and backward on plain or channel-blocked tensors (padded lanes stay zero).
 * The backward's select does not auto-vectorise at -O2 and a data-dependent branch per element
 * costs ~10x a vector pass, so it has AVX-512 and AVX2 kernels (the same select: every path gives
 * the same bits); conv2d.c uses the same mask for its fused ReLU. */
#include <immintrin.h>
#include <omp.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/relu.h"

/* work split of n elements into 64-byte aligned ranges, one per thread */
#define SPLIT(n, t, nt, lo, hi) \
    size_t lo = ((n) / 16 * (size_t)(t) / (size_t)(nt)) * 16, hi = (t) + 1 == (nt) ? (n) : ((n) / 16 * (size_t)((t) + 1) / (size_t)(nt)) * 16

CPU_AVX512 static void mask_pos16(const float *y, const float *g, float *out, size_t lo, size_t hi)
{
    __m512 z = _mm512_setzero_ps();
    size_t i = lo;
    for (; i + 16 <= hi; i += 16)
        _mm512_storeu_ps(out + i, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(y + i), z, _CMP_GT_OQ),
                                                      _mm512_loadu_ps(g + i)));
    for (; i < hi; i++) out[i] = relu_grad(y[i], g[i]);
}

CPU_AVX2 static void mask_pos8(const float *y, const float *g, float *out, size_t lo, size_t hi)
{
    __m256 z = _mm256_setzero_ps();
    size_t i = lo;
    for (; i + 8 <= hi; i += 8)
        _mm256_storeu_ps(out + i, _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y + i), z, _CMP_GT_OQ),
                                                _mm256_loadu_ps(g + i)));
    for (; i < hi; i++) out[i] = relu_grad(y[i], g[i]);
}

void cpu_mask_pos(const cpu_ctx *c, const float *y, const float *g, float *out, size_t n)
{
    int isa = c->isa;
    #pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        SPLIT(n, t, nt, lo, hi);
        if (isa == CPU_ISA_AVX512) mask_pos16(y, g, out, lo, hi);
        else if (isa == CPU_ISA_AVX2) mask_pos8(y, g, out, lo, hi);
        else for (size_t i = lo; i < hi; i++) out[i] = relu_grad(y[i], g[i]);
    }
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
