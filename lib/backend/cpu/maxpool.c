/* maxpool.c: adaptive max pool to 1x1 and its backward on plain or nChw16c tensors. The arg max
 * select does not auto-vectorise, so blocked inputs have an AVX-512 kernel used when the CPU has
 * it; the generic loop is the scan of ops/maxpool.h. */
#include <immintrin.h>
#include <string.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/maxpool.h"

/* arg max over HW positions of one 16-lane block: y, idx get the first `nl` lanes */
CPU_AVX512 static void maxpool16(const float *p, int HW, float *y, int32_t *idx, int nl)
{
    __m512 best = _mm512_loadu_ps(p);
    __m512i bi = _mm512_setzero_si512();
    for (int i = 1; i < HW; i++) {
        __m512 v = _mm512_loadu_ps(p + (size_t)i * 16);
        /* take v where v > best or best is NaN (maxpool_takes) */
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
                if (maxpool_takes(p[(size_t)i * B], best)) { best = p[(size_t)i * B]; bi = i; }
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
