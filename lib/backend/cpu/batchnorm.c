/* batchnorm.c: PyTorch's BatchNorm2d (ops/batchnorm.h) on plain or channel-blocked tensors.
 * Training forward: one pass for the shifted sums of each channel, then one that normalises;
 * backward: one pass for the gradient sums, then one for dx. Eval: the normalising pass only.
 *
 * The work is split in chunks of one image and one channel block (H*W positions x B lanes),
 * shared statically between the threads; each chunk writes its own partial sums and they are
 * added in image order, so nothing depends on the thread count. In a chunk, runs of SUB
 * positions are summed in float, then added in double. Every path (the vector kernels, written
 * once with simd.h: AVX-512 for 16-lane blocks, AVX2 + FMA 8 lanes at a time; the generic loops
 * for plain tensors or CPU_MAX_ISA=generic) does per lane the same float operations, fused
 * multiply-adds included, so all three give the same bits. Padded lanes get scale, shift and
 * the gradient coefficients 0, so they stay 0. */
#include <math.h>
#include <string.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/batchnorm.h"

/* positions summed in float before adding to the double sums (bounds the float rounding) */
#define SUB 32

#ifdef SIMD_W   /* ---- vector kernels, W lanes at stride B (B = W, or 8 lanes of a 16-lane block
                   at a time): sums16, pass16 and sums8, pass8; per lane the generic loops ---- */

SIMD_FN static void V(sums)(const float *x, const float *g, const float *K, int HW, int B, double *o)
{
    vf z = vf_zero();
    B = simd_block(B);
    for (int j = 0; j < B; j += SIMD_W) {
        vf k = vf_load(K + j);
        vd s0 = vd_zero(), s1 = s0, q0 = s0, q1 = s0;
        for (int h0 = 0; h0 < HW; h0 += SUB) {
            int h1 = h0 + SUB < HW ? h0 + SUB : HW;
            vf fs = z, fq = z;
            for (int hw = h0; hw < h1; hw++) {
                size_t i = (size_t)hw * B + j;
                vf d = vf_sub(vf_load(x + i), k);
                if (g) {
                    vf e = vf_load(g + i);
                    fs = vf_add(fs, e);
                    fq = vf_fmadd(e, d, fq);
                } else {
                    fs = vf_add(fs, d);
                    fq = vf_fmadd(d, d, fq);
                }
            }
            vd_acc(&s0, &s1, fs);
            vd_acc(&q0, &q1, fq);
        }
        vd_store(o + j, s0); vd_store(o + j + SIMD_W / 2, s1);
        vd_store(o + B + j, q0); vd_store(o + B + j + SIMD_W / 2, q1);
    }
}

SIMD_FN static void V(pass)(const float *x, const float *g, float *out, int HW, int B, const float *a, const float *b,
                            const float *c)
{
    B = simd_block(B);
    for (int j = 0; j < B; j += SIMD_W) {
        vf va = vf_load(a + j), vb = vf_load(b + j), vc = vf_load(c + j);
        for (int hw = 0; hw < HW; hw++) {
            size_t i = (size_t)hw * B + j;
            vf v = vf_load(x + i);
            vf_store(out + i, g ? vf_fmadd(va, vf_load(g + i), vf_fmadd(vb, v, vc)) : vf_fmadd(v, va, vc));
        }
    }
}

#else

#define SIMD_BODY "backend/cpu/batchnorm.c"
#include "backend/cpu/simd.h"

/* ---- generic (any B): o[l] = sum f1, o[B + l] = sum f2 over the chunk, lanes 0..B-1 ---- */

/* stats: f1 = x - K, f2 = (x - K)^2; grads (g != NULL): f1 = g, f2 = g * (x - K) with K the mean */
static void sums_gen(const float *x, const float *g, const float *K, int HW, int B, double *o)
{
    for (int l = 0; l < B; l++) {
        double s = 0, q = 0;
        for (int h0 = 0; h0 < HW; h0 += SUB) {
            int h1 = h0 + SUB < HW ? h0 + SUB : HW;
            float fs = 0.0f, fq = 0.0f;
            for (int hw = h0; hw < h1; hw++) {
                float d = x[(size_t)hw * B + l] - K[l];
                if (g) { float e = g[(size_t)hw * B + l]; fs = fs + e; fq = fmaf(e, d, fq); }
                else { fs = fs + d; fq = fmaf(d, d, fq); }
            }
            s += (double)fs;
            q += (double)fq;
        }
        o[l] = s;
        o[B + l] = q;
    }
}

/* forward: out = x * a + c; backward (g != NULL): out = a * g + (b * x + c) */
static void pass_gen(const float *x, const float *g, float *out, int HW, int B, const float *a, const float *b,
                     const float *c)
{
    for (int hw = 0; hw < HW; hw++)
        for (int l = 0; l < B; l++) {
            size_t i = (size_t)hw * B + l;
            out[i] = g ? fmaf(a[l], g[i], fmaf(b[l], x[i], c[l])) : fmaf(x[i], a[l], c[l]);
        }
}

/* ---- drivers ---- */

typedef struct bn_shape { int N, C, HW, B, CB, CP, isa; size_t chunk; } bn_shape;

static bn_shape shape_of(const cpu_ctx *cc, const tensor *x)
{
    bn_shape s = { x->shape[0], x->shape[1], x->shape[2] * x->shape[3], cpu_blk(x), 0, 0, 0, 0 };
    s.CB = (s.C + s.B - 1) / s.B;
    s.CP = s.CB * s.B;
    s.isa = cpu_isa_for(cc, s.B);
    s.chunk = (size_t)s.HW * s.B;
    return s;
}

/* tot[ch] (first sums) and tot[CP + ch] (second) over every chunk, added in image order */
static void chunk_sums(const bn_shape *s, const float *x, const float *g, const float *K, double *part, double *tot)
{
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < s->N * s->CB; k++) {
        const float *xc = x + k * s->chunk, *gc = g ? g + k * s->chunk : NULL, *kc = K + (k % s->CB) * s->B;
        double *o = part + (size_t)k * 2 * s->B;
        SIMD_CALL(s->isa, sums, xc, gc, kc, s->HW, s->B, o);
    }
    memset(tot, 0, 2 * (size_t)s->CP * sizeof(double));
    for (int n = 0; n < s->N; n++)
        for (int cb = 0; cb < s->CB; cb++) {
            const double *o = part + ((size_t)n * s->CB + cb) * 2 * s->B;
            for (int l = 0; l < s->B; l++) { tot[cb * s->B + l] += o[l]; tot[s->CP + cb * s->B + l] += o[s->B + l]; }
        }
}

/* the elementwise pass with per-channel vectors a, b, c (b unused forward) */
static void chunk_pass(const bn_shape *s, const float *x, const float *g, float *out, const float *a, const float *b,
                       const float *c)
{
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < s->N * s->CB; k++) {
        size_t off = (size_t)(k % s->CB) * s->B;
        const float *xc = x + k * s->chunk, *gc = g ? g + k * s->chunk : NULL;
        SIMD_CALL(s->isa, pass, xc, gc, out + k * s->chunk, s->HW, s->B, a + off, b + off, c + off);
    }
}

/* partial sums, totals and nf per-channel float vectors from the context's temporaries */
static double *bn_tmp(cpu_ctx *cc, const bn_shape *s, int nf, float **f)
{
    size_t nd = (size_t)s->N * 2 * s->CP + 2 * (size_t)s->CP;
    double *part = cpu_tmp(cc, nd * sizeof(double) + (size_t)nf * s->CP * sizeof(float));
    if (!part) return NULL;
    *f = (float *)(part + nd);
    memset(*f, 0, (size_t)nf * s->CP * sizeof(float));
    return part;
}

int cpu_batchnorm_fwd(void *ctx, const tensor *x, const tensor *weight, const tensor *bias, tensor *running_mean,
                      tensor *running_var, tensor *save_mean, tensor *save_invstd, tensor *y, int training,
                      float momentum, float eps)
{
    cpu_ctx *cc = ctx;
    bn_shape s = shape_of(cc, x);
    double M = (double)s.N * s.HW;
    if (training && M < 2) return err_msg("batchnorm", "training needs more than 1 value per channel, got %.0f", M);
    float *K;
    double *part = bn_tmp(cc, &s, 3, &K);
    if (!part) return C_ERR;
    double *tot = part + (size_t)s.N * 2 * s.CP;
    float *scale = K + s.CP, *shift = scale + s.CP;
    const float *xv = x->data, *w = weight->data, *b = bias->data;
    float *rm = running_mean->data, *rv = running_var->data;
    if (training) {
        for (int ch = 0; ch < s.C; ch++) K[ch] = xv[(size_t)(ch / s.B) * s.chunk + ch % s.B];   /* x[0,ch,0,0] */
        chunk_sums(&s, xv, NULL, K, part, tot);
        float *sm = save_mean->data, *si = save_invstd->data;
        for (int ch = 0; ch < s.C; ch++) {
            double mean, var;
            batchnorm_stats(tot[ch], tot[s.CP + ch], M, K[ch], &mean, &var);
            sm[ch] = (float)mean;
            si[ch] = batchnorm_invstd(var, eps);
            batchnorm_running(mean, var, M, momentum, &rm[ch], &rv[ch]);
            batchnorm_scale_shift(w[ch], b[ch], sm[ch], si[ch], &scale[ch], &shift[ch]);
        }
    } else {
        for (int ch = 0; ch < s.C; ch++)
            batchnorm_scale_shift(w[ch], b[ch], rm[ch], batchnorm_invstd(rv[ch], eps), &scale[ch], &shift[ch]);
    }
    chunk_pass(&s, xv, NULL, y->data, scale, scale, shift);
    return C_OK;
}

int cpu_batchnorm_bwd(void *ctx, const tensor *x, const tensor *weight, const tensor *save_mean,
                      const tensor *save_invstd, const tensor *dy, tensor *dx, tensor *dweight, tensor *dbias)
{
    cpu_ctx *cc = ctx;
    bn_shape s = shape_of(cc, x);
    double M = (double)s.N * s.HW;
    float *mu;
    double *part = bn_tmp(cc, &s, 4, &mu);
    if (!part) return C_ERR;
    double *tot = part + (size_t)s.N * 2 * s.CP;
    float *ka = mu + s.CP, *kc = ka + s.CP, *k0 = kc + s.CP;
    const float *w = weight->data, *sm = save_mean->data, *si = save_invstd->data;
    memcpy(mu, sm, (size_t)s.C * sizeof(float));
    chunk_sums(&s, x->data, dy->data, mu, part, tot);
    for (int ch = 0; ch < s.C; ch++) {
        double s1 = tot[ch], s2 = tot[s.CP + ch];
        if (dbias) ((float *)dbias->data)[ch] = (float)s1;
        if (dweight) ((float *)dweight->data)[ch] = (float)(s2 * si[ch]);
        batchnorm_grad_coeffs(s1, s2, M, w[ch], sm[ch], si[ch], &ka[ch], &kc[ch], &k0[ch]);
    }
    if (dx) chunk_pass(&s, x->data, dy->data, dx->data, ka, kc, k0);
    return C_OK;
}

#endif
