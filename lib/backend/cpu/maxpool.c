/* maxpool.c: adaptive max pool to 1x1 and its backward on plain or channel-blocked tensors. The
 * arg max select does not auto-vectorise, so blocked inputs have AVX-512 (16 lanes) and AVX2
 * (8 lanes) kernels; the generic loop is the scan of ops/maxpool.h. All three take the same
 * element (first maximum, NaN wins), so they give the same bits. The backward is a clear and
 * one store per (image, channel) on every path: nothing there for vectors to do. */
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

/* the same for 8 lanes at stride B (one half of a 16-lane block, or an 8-lane block) */
CPU_AVX2 static void maxpool8(const float *p, int HW, int B, float *y, int32_t *idx, int nl)
{
    __m256 best = _mm256_loadu_ps(p);
    __m256i bi = _mm256_setzero_si256();
    for (int i = 1; i < HW; i++) {
        __m256 v = _mm256_loadu_ps(p + (size_t)i * B);
        __m256 k = _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(best, best, _CMP_UNORD_Q));
        best = _mm256_blendv_ps(best, v, k);
        bi = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bi), _mm256_castsi256_ps(_mm256_set1_epi32(i)), k));
    }
    float yb[8];
    int32_t ib[8];
    _mm256_storeu_ps(yb, best);
    _mm256_storeu_si256((__m256i *)ib, bi);
    for (int l = 0; l < nl; l++) { y[l] = yb[l]; idx[l] = ib[l]; }
}

int cpu_maxpool_fwd(void *ctx, const tensor *x, tensor *y, tensor *idx)
{
    const cpu_ctx *cc = ctx;
    int N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], B = cpu_blk(x), CB = (C + B - 1) / B;
    const float *xv = x->data;
    float *yv = y->data;
    int32_t *iv = idx->data;
    int isa = cpu_isa_for(cc, B);
    if (isa != CPU_ISA_GENERIC) {
        #pragma omp parallel for schedule(static)
        for (int k = 0; k < N * CB; k++) {
            int n = k / CB, cb = k % CB, c0 = cb * B, nl = C - c0 < B ? C - c0 : B;
            const float *p = xv + (size_t)k * HW * B;
            float *yo = yv + (size_t)n * C + c0;
            int32_t *io = iv + (size_t)n * C + c0;
            if (isa == CPU_ISA_AVX512) maxpool16(p, HW, yo, io, nl);
            else
                for (int j = 0; j < nl; j += 8) maxpool8(p + j, HW, B, yo + j, io + j, nl - j < 8 ? nl - j : 8);
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
