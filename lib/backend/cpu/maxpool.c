/* maxpool.c: adaptive max pool to 1x1 and MaxPool2d(k) (stride k, floor), with their backwards,
 * on plain or channel-blocked tensors. The arg max select does not auto-vectorise, so blocked
 * inputs have AVX-512 (16 lanes) and AVX2 (8 lanes) kernels; the generic loop is the scan of
 * ops/maxpool.h. All three take the same element (first maximum, NaN wins), so they give the
 * same bits. The adaptive backward is a clear and one store per (image, channel) on every path:
 * nothing there for vectors to do. MaxPool2d keeps no arg max: its backward scans each window
 * of x again (the same scan) and stores dy or 0 at each of its positions. */
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

/* ---- MaxPool2d(k): one chunk is one image's channel block, [H, W] positions of B lanes ---- */

typedef struct pool2d_shape { int H, W, OH, OW, k, B; } pool2d_shape;

/* window (oy, ox): its first position's offset and the offset of window position j (row-major) */
static inline size_t win_pos(const pool2d_shape *s, int oy, int ox, int j)
{
    return ((size_t)(oy * s->k + j / s->k) * s->W + (size_t)(ox * s->k + j % s->k)) * s->B;
}

CPU_AVX512 static void pool2d16(const pool2d_shape *s, const float *x, float *y, const float *dy, float *dx)
{
    int kk = s->k * s->k;
    for (int oy = 0; oy < s->OH; oy++)
        for (int ox = 0; ox < s->OW; ox++) {
            __m512 best = _mm512_loadu_ps(x + win_pos(s, oy, ox, 0));
            __m512i bi = _mm512_setzero_si512();
            for (int j = 1; j < kk; j++) {
                __m512 v = _mm512_loadu_ps(x + win_pos(s, oy, ox, j));
                __mmask16 m = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(best, best, _CMP_UNORD_Q);
                best = _mm512_mask_mov_ps(best, m, v);
                bi = _mm512_mask_mov_epi32(bi, m, _mm512_set1_epi32(j));
            }
            size_t o = ((size_t)oy * s->OW + ox) * 16;
            if (y) { _mm512_storeu_ps(y + o, best); continue; }
            __m512 g = _mm512_loadu_ps(dy + o);
            for (int j = 0; j < kk; j++)
                _mm512_storeu_ps(dx + win_pos(s, oy, ox, j),
                                 _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(bi, _mm512_set1_epi32(j)), g));
        }
}

/* lanes l0..l0+7 of blocks of B lanes */
CPU_AVX2 static void pool2d8(const pool2d_shape *s, int l0, const float *x, float *y, const float *dy, float *dx)
{
    int kk = s->k * s->k;
    for (int oy = 0; oy < s->OH; oy++)
        for (int ox = 0; ox < s->OW; ox++) {
            __m256 best = _mm256_loadu_ps(x + win_pos(s, oy, ox, 0) + l0);
            __m256i bi = _mm256_setzero_si256();
            for (int j = 1; j < kk; j++) {
                __m256 v = _mm256_loadu_ps(x + win_pos(s, oy, ox, j) + l0);
                __m256 m = _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(best, best, _CMP_UNORD_Q));
                best = _mm256_blendv_ps(best, v, m);
                bi = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bi), _mm256_castsi256_ps(_mm256_set1_epi32(j)), m));
            }
            size_t o = ((size_t)oy * s->OW + ox) * s->B + l0;
            if (y) { _mm256_storeu_ps(y + o, best); continue; }
            __m256 g = _mm256_loadu_ps(dy + o);
            for (int j = 0; j < kk; j++)
                _mm256_storeu_ps(dx + win_pos(s, oy, ox, j) + l0,
                                 _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(bi, _mm256_set1_epi32(j))), g));
        }
}

static void pool2d_gen(const pool2d_shape *s, const float *x, float *y, const float *dy, float *dx)
{
    int kk = s->k * s->k;
    for (int oy = 0; oy < s->OH; oy++)
        for (int ox = 0; ox < s->OW; ox++)
            for (int l = 0; l < s->B; l++) {
                float best = x[win_pos(s, oy, ox, 0) + l];
                int bi = 0;
                for (int j = 1; j < kk; j++) {
                    float v = x[win_pos(s, oy, ox, j) + l];
                    if (maxpool_takes(v, best)) { best = v; bi = j; }
                }
                size_t o = ((size_t)oy * s->OW + ox) * s->B + l;
                if (y) y[o] = best;
                else
                    for (int j = 0; j < kk; j++) dx[win_pos(s, oy, ox, j) + l] = j == bi ? dy[o] : 0.0f;
            }
}

/* forward (y set) or backward (dy, dx set) over every chunk */
static int pool2d_run(const cpu_ctx *cc, const tensor *x, int k, float *y, const float *dy, float *dx)
{
    int N = x->shape[0], C = x->shape[1], B = cpu_blk(x), CB = (C + B - 1) / B;
    pool2d_shape s = { x->shape[2], x->shape[3], maxpool2d_out_size(x->shape[2], k), maxpool2d_out_size(x->shape[3], k),
                       k, B };
    if (k < 1 || s.OH < 1 || s.OW < 1) return err_msg("maxpool2d", "kernel %d does not fit %dx%d", k, s.H, s.W);
    int isa = cpu_isa_for(cc, B);
    size_t in_chunk = (size_t)s.H * s.W * B, out_chunk = (size_t)s.OH * s.OW * B;
    const float *xv = x->data;
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < N * CB; c++) {
        const float *xc = xv + (size_t)c * in_chunk;
        float *yc = y ? y + (size_t)c * out_chunk : NULL, *dxc = dx ? dx + (size_t)c * in_chunk : NULL;
        const float *gc = dy ? dy + (size_t)c * out_chunk : NULL;
        /* positions outside every window (floor mode) get no gradient */
        if (dxc && (s.OH * k != s.H || s.OW * k != s.W)) memset(dxc, 0, in_chunk * sizeof(float));
        if (isa == CPU_ISA_AVX512) pool2d16(&s, xc, yc, gc, dxc);
        else if (isa == CPU_ISA_AVX2)
            for (int l0 = 0; l0 < B; l0 += 8) pool2d8(&s, l0, xc, yc, gc, dxc);
        else pool2d_gen(&s, xc, yc, gc, dxc);
    }
    return C_OK;
}

int cpu_maxpool2d_fwd(void *ctx, const tensor *x, tensor *y, int k)
{
    return pool2d_run(ctx, x, k, y->data, NULL, NULL);
}

int cpu_maxpool2d_bwd(void *ctx, const tensor *x, const tensor *dy, tensor *dx, int k)
{
    return pool2d_run(ctx, x, k, NULL, dy->data, dx->data);
}
