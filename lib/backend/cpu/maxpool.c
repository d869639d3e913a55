/* maxpool.c: adaptive max pool to 1x1 and MaxPool2d(k) (stride k, floor), with their backwards,
 * on plain or channel-blocked tensors. The arg max select does not auto-vectorise, so blocked
 * inputs have vector kernels, written once (simd.h) for AVX-512 (16 lanes) and AVX2 (8 lanes);
 * the generic loop is the scan of ops/maxpool.h. All three take the same element (first
 * maximum, NaN wins), so they give the same bits. The adaptive backward is a clear and one store
 * per (image, channel) on every path: nothing there for vectors to do. MaxPool2d keeps no arg
 * max: its backward scans each window of x again (the same scan) and stores dy or 0 at each of
 * its positions. */
#include <string.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/maxpool.h"

#ifndef MAXPOOL_SHAPE
#define MAXPOOL_SHAPE
/* ---- MaxPool2d(k): one chunk is one image's channel block, [H, W] positions of B lanes ---- */

typedef struct pool2d_shape { int H, W, OH, OW, k, B; } pool2d_shape;

/* window (oy, ox): its first position's offset and the offset of window position j (row-major) */
static inline size_t win_pos(const pool2d_shape *s, int oy, int ox, int j)
{
    return ((size_t)(oy * s->k + j / s->k) * s->W + (size_t)(ox * s->k + j % s->k)) * s->B;
}
#endif

#ifdef SIMD_W   /* ---- vector kernels, W lanes: maxpool16, pool2d16 and maxpool8, pool2d8 ---- */

/* arg max over HW positions of W lanes at stride B (a 16-lane block, or 8 lanes of a block of 8
 * or 16): y, idx get the first `nl` lanes */
SIMD_FN static void V(maxpool)(const float *p, int HW, int B, float *y, int32_t *idx, int nl)
{
    B = simd_block(B);
    vf best = vf_load(p);
    vi bi = vi_zero();
    for (int i = 1; i < HW; i++) {
        vf v = vf_load(p + (size_t)i * B);
        /* take v where v > best or best is NaN (maxpool_takes) */
        vm k = vm_or(vm_gt(v, best), vm_nan(best));
        best = vf_select(k, best, v);
        bi = vi_select(k, bi, vi_set1(i));
    }
    vf_store_n(y, best, nl);
    vi_store_n(idx, bi, nl);
}

/* MaxPool2d over one chunk, lanes l0..l0+W-1 of blocks of B lanes */
SIMD_FN static void V(pool2d)(const pool2d_shape *s, int l0, const float *x, float *y, const float *dy, float *dx)
{
    int kk = s->k * s->k;
    for (int oy = 0; oy < s->OH; oy++)
        for (int ox = 0; ox < s->OW; ox++) {
            vf best = vf_load(x + win_pos(s, oy, ox, 0) + l0);
            vi bi = vi_zero();
            for (int j = 1; j < kk; j++) {
                vf v = vf_load(x + win_pos(s, oy, ox, j) + l0);
                vm m = vm_or(vm_gt(v, best), vm_nan(best));
                best = vf_select(m, best, v);
                bi = vi_select(m, bi, vi_set1(j));
            }
            size_t o = ((size_t)oy * s->OW + ox) * s->B + l0;
            if (y) { vf_store(y + o, best); continue; }
            vf g = vf_load(dy + o);
            for (int j = 0; j < kk; j++) vf_store(dx + win_pos(s, oy, ox, j) + l0, vf_maskz(vm_eqi(bi, vi_set1(j)), g));
        }
}

#else

#define SIMD_BODY "backend/cpu/maxpool.c"
#include "backend/cpu/simd.h"

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
            if (isa == CPU_ISA_AVX512) maxpool16(p, HW, B, yo, io, nl);
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
        if (isa == CPU_ISA_AVX512) pool2d16(&s, 0, xc, yc, gc, dxc);
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

#endif
