/* elementwise.c: the small ops (ReLU, adaptive max pool, flatten, dropout, add) on plain or
 * nChw16c tensors. Padded channel lanes are never written with anything but zero.
 * The selects (ReLU masks, arg max) do not auto-vectorise at -O2 and a data-dependent branch per
 * element costs ~10x a vector pass, so they have AVX-512 kernels used when the CPU has it. */
#include <immintrin.h>
#include <string.h>
#include "backend/cpu/cpu_backend.h"
#include <omp.h>
#include "ops/dropout.h"

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
    for (; i < hi; i++) out[i] = y[i] > 0.0f ? g[i] : 0.0f;
}

void cpu_mask_pos(const cpu_ctx *c, const float *y, const float *g, float *out, size_t n)
{
    int v = c->avx512;
    #pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        SPLIT(n, t, nt, lo, hi);
        if (v) mask_pos16(y, g, out, lo, hi);
        else for (size_t i = lo; i < hi; i++) out[i] = y[i] > 0.0f ? g[i] : 0.0f;
    }
}

int cpu_relu_fwd(void *ctx, const tensor *x, tensor *y)
{
    (void)ctx;
    size_t n = cpu_used_bytes(x) / sizeof(float);
    const float *a = x->data;
    float *b = y->data;
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) b[i] = a[i] > 0.0f ? a[i] : 0.0f;
    return C_OK;
}

int cpu_relu_bwd(void *ctx, const tensor *y, const tensor *dy, tensor *dx)
{
    cpu_mask_pos(ctx, y->data, dy->data, dx->data, cpu_used_bytes(y) / sizeof(float));
    return C_OK;
}

int cpu_accumulate(void *ctx, tensor *dst, const tensor *src)
{
    (void)ctx;
    size_t n = cpu_used_bytes(dst) / sizeof(float);
    float *d = dst->data;
    const float *s = src->data;
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) d[i] += s[i];
    return C_OK;
}

/* arg max over HW positions of one 16-lane block: y, idx get the first `nl` lanes */
CPU_AVX512 static void maxpool16(const float *p, int HW, float *y, int32_t *idx, int nl)
{
    __m512 best = _mm512_loadu_ps(p);
    __m512i bi = _mm512_setzero_si512();
    for (int i = 1; i < HW; i++) {
        __m512 v = _mm512_loadu_ps(p + (size_t)i * 16);
        /* take v where v > best or best is NaN (PyTorch: first maximum, NaN wins) */
        __mmask16 k = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(best, best, _CMP_UNORD_Q);
        best = _mm512_mask_mov_ps(best, k, v);
        bi = _mm512_mask_mov_epi32(bi, k, _mm512_set1_epi32(i));
    }
    __mmask16 m = (__mmask16)((1u << nl) - 1);
    _mm512_mask_storeu_ps(y, m, best);
    _mm512_mask_storeu_epi32(idx, m, bi);
}

int cpu_maxpool_fwd(void *ctx, const tensor *x, tensor *y, tensor *idx)
{
    const cpu_ctx *cc = ctx;
    int N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], B = cpu_blk(x), CB = (C + B - 1) / B;
    const float *xv = x->data;
    float *yv = y->data;
    int32_t *iv = idx->data;
    if (cc->avx512 && B == CPU_BLK) {
        #pragma omp parallel for schedule(static)
        for (int k = 0; k < N * CB; k++) {
            int n = k / CB, cb = k % CB, c0 = cb * B, nl = C - c0 < B ? C - c0 : B;
            maxpool16(xv + (size_t)k * HW * B, HW, yv + (size_t)n * C + c0, iv + (size_t)n * C + c0, nl);
        }
        return C_OK;
    }
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *p = xv + ((size_t)n * CB + c / B) * HW * B + c % B;
            float best = p[0];
            int bi = 0;
            for (int i = 1; i < HW; i++)
                if (p[(size_t)i * B] > best || best != best) { best = p[(size_t)i * B]; bi = i; }
            yv[(size_t)n * C + c] = best;
            iv[(size_t)n * C + c] = bi;
        }
    return C_OK;
}

int cpu_maxpool_bwd(void *ctx, const tensor *idx, const tensor *dy, tensor *dx)
{
    (void)ctx;
    int N = dx->shape[0], C = dx->shape[1], HW = dx->shape[2] * dx->shape[3], B = cpu_blk(dx), CB = (C + B - 1) / B;
    const float *g = dy->data;
    const int32_t *iv = idx->data;
    float *d = dx->data;
    /* per image: zero its part of dx, then place the gradients (one pass, in parallel) */
    size_t per = (size_t)CB * HW * B;
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *dn = d + (size_t)n * per;
        memset(dn, 0, per * sizeof(float));
        for (int c = 0; c < C; c++)
            dn[(size_t)(c / B) * HW * B + c % B + (size_t)iv[(size_t)n * C + c] * B] = g[(size_t)n * C + c];
    }
    return C_OK;
}

int cpu_flatten_fwd(void *ctx, const tensor *x, tensor *y)
{
    (void)ctx;
    if (cpu_blk(x) > 1) cpu_from_blocked(x->data, y->data, x->shape[0], x->shape[1], x->shape[2] * x->shape[3]);
    else memcpy(y->data, x->data, tensor_numel(x) * sizeof(float));
    return C_OK;
}

int cpu_flatten_bwd(void *ctx, const tensor *dy, tensor *dx)
{
    (void)ctx;
    if (cpu_blk(dx) > 1) cpu_to_blocked(dy->data, dx->data, dx->shape[0], dx->shape[1], dx->shape[2] * dx->shape[3]);
    else memcpy(dx->data, dy->data, tensor_numel(dx) * sizeof(float));
    return C_OK;
}

/* y = x * mask / (1 - p), four elements per Philox block */
static void dropout_apply(const float *x, float *y, size_t n, float p, uint64_t seed, uint32_t step, uint32_t salt)
{
    float scale = 1.0f / (1.0f - p);
    size_t nb = (n + 3) / 4;
    #pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nb; b++) {
        uint32_t w[4];
        rng_block(seed, RNG_DROPOUT, step, dropout_block_index(salt, b * 4), w);
        for (size_t k = 0; k < 4 && b * 4 + k < n; k++) {
            size_t i = b * 4 + k;
            y[i] = rng_u32_to_float(w[k]) >= p ? x[i] * scale : 0.0f;
        }
    }
}

int cpu_dropout_fwd(void *ctx, const tensor *x, tensor *y, float p, uint64_t seed, uint32_t step, uint32_t salt, int training)
{
    (void)ctx;
    size_t n = tensor_numel(x);
    if (!training || p == 0.0f) {
        if (y->data != x->data) memcpy(y->data, x->data, n * sizeof(float));
        return C_OK;
    }
    dropout_apply(x->data, y->data, n, p, seed, step, salt);
    return C_OK;
}

int cpu_dropout_bwd(void *ctx, const tensor *dy, tensor *dx, float p, uint64_t seed, uint32_t step, uint32_t salt)
{
    cpu_dropout_fwd(ctx, dy, dx, p, seed, step, salt, 1);
    return C_OK;
}
