/* batchnorm.c: PyTorch's BatchNorm2d (ops/batchnorm.h) on plain or channel-blocked tensors.
 * Training forward: one pass for the shifted sums of each channel, then one that normalises;
 * backward: one pass for the gradient sums, then one for dx. Eval: the normalising pass only.
 *
 * The work is split in chunks of one image and one channel block (H*W positions x B lanes),
 * shared statically between the threads; each chunk writes its own partial sums and they are
 * added in image order, so nothing depends on the thread count. In a chunk, runs of SUB
 * positions are summed in float, then added in double. Every path (AVX-512 for 16-lane blocks,
 * AVX2 + FMA 8 lanes at a time, the generic loops for plain tensors or CPU_MAX_ISA=generic) does
 * per lane the same float operations, fused multiply-adds included, so all three give the same
 * bits. Padded lanes get scale, shift and the gradient coefficients 0, so they stay 0. */
#include <immintrin.h>
#include <math.h>
#include <string.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/batchnorm.h"

/* positions summed in float before adding to the double sums (bounds the float rounding) */
#define SUB 32

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

/* ---- AVX-512 (B = 16) ---- */

/* d0 += low 8 lanes of f, d1 += high 8 lanes, in double */
CPU_AVX512 static inline void acc16(__m512d *d0, __m512d *d1, __m512 f)
{
    *d0 = _mm512_add_pd(*d0, _mm512_cvtps_pd(_mm512_castps512_ps256(f)));
    *d1 = _mm512_add_pd(*d1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
}

CPU_AVX512 static void sums16(const float *x, const float *g, const float *K, int HW, double *o)
{
    __m512 k = _mm512_loadu_ps(K), z = _mm512_setzero_ps();
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
    for (int h0 = 0; h0 < HW; h0 += SUB) {
        int h1 = h0 + SUB < HW ? h0 + SUB : HW;
        __m512 fs = z, fq = z;
        for (int hw = h0; hw < h1; hw++) {
            __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + (size_t)hw * 16), k);
            if (g) {
                __m512 e = _mm512_loadu_ps(g + (size_t)hw * 16);
                fs = _mm512_add_ps(fs, e);
                fq = _mm512_fmadd_ps(e, d, fq);
            } else {
                fs = _mm512_add_ps(fs, d);
                fq = _mm512_fmadd_ps(d, d, fq);
            }
        }
        acc16(&s0, &s1, fs);
        acc16(&q0, &q1, fq);
    }
    _mm512_storeu_pd(o, s0); _mm512_storeu_pd(o + 8, s1);
    _mm512_storeu_pd(o + 16, q0); _mm512_storeu_pd(o + 24, q1);
}

CPU_AVX512 static void pass16(const float *x, const float *g, float *out, int HW, const float *a, const float *b,
                              const float *c)
{
    __m512 va = _mm512_loadu_ps(a), vb = _mm512_loadu_ps(b), vc = _mm512_loadu_ps(c);
    for (int hw = 0; hw < HW; hw++) {
        size_t i = (size_t)hw * 16;
        __m512 v = _mm512_loadu_ps(x + i);
        _mm512_storeu_ps(out + i, g ? _mm512_fmadd_ps(va, _mm512_loadu_ps(g + i), _mm512_fmadd_ps(vb, v, vc))
                                    : _mm512_fmadd_ps(v, va, vc));
    }
}

/* ---- AVX2 + FMA (B = 8 or 16: lanes j..j+7 at stride B, per lane the operations above) ---- */

CPU_AVX2 static inline void acc8(__m256d *d0, __m256d *d1, __m256 f)
{
    *d0 = _mm256_add_pd(*d0, _mm256_cvtps_pd(_mm256_castps256_ps128(f)));
    *d1 = _mm256_add_pd(*d1, _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
}

CPU_AVX2 static void sums8(const float *x, const float *g, const float *K, int HW, int B, double *o)
{
    __m256 z = _mm256_setzero_ps();
    for (int j = 0; j < B; j += 8) {
        __m256 k = _mm256_loadu_ps(K + j);
        __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
        for (int h0 = 0; h0 < HW; h0 += SUB) {
            int h1 = h0 + SUB < HW ? h0 + SUB : HW;
            __m256 fs = z, fq = z;
            for (int hw = h0; hw < h1; hw++) {
                size_t i = (size_t)hw * B + j;
                __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), k);
                if (g) {
                    __m256 e = _mm256_loadu_ps(g + i);
                    fs = _mm256_add_ps(fs, e);
                    fq = _mm256_fmadd_ps(e, d, fq);
                } else {
                    fs = _mm256_add_ps(fs, d);
                    fq = _mm256_fmadd_ps(d, d, fq);
                }
            }
            acc8(&s0, &s1, fs);
            acc8(&q0, &q1, fq);
        }
        _mm256_storeu_pd(o + j, s0); _mm256_storeu_pd(o + j + 4, s1);
        _mm256_storeu_pd(o + B + j, q0); _mm256_storeu_pd(o + B + j + 4, q1);
    }
}

CPU_AVX2 static void pass8(const float *x, const float *g, float *out, int HW, int B, const float *a, const float *b,
                           const float *c)
{
    for (int j = 0; j < B; j += 8) {
        __m256 va = _mm256_loadu_ps(a + j), vb = _mm256_loadu_ps(b + j), vc = _mm256_loadu_ps(c + j);
        for (int hw = 0; hw < HW; hw++) {
            size_t i = (size_t)hw * B + j;
            __m256 v = _mm256_loadu_ps(x + i);
            _mm256_storeu_ps(out + i, g ? _mm256_fmadd_ps(va, _mm256_loadu_ps(g + i), _mm256_fmadd_ps(vb, v, vc))
                                        : _mm256_fmadd_ps(v, va, vc));
        }
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
        if (s->isa == CPU_ISA_AVX512) sums16(xc, gc, kc, s->HW, o);
        else if (s->isa == CPU_ISA_AVX2) sums8(xc, gc, kc, s->HW, s->B, o);
        else sums_gen(xc, gc, kc, s->HW, s->B, o);
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
        if (s->isa == CPU_ISA_AVX512) pass16(xc, gc, out + k * s->chunk, s->HW, a + off, b + off, c + off);
        else if (s->isa == CPU_ISA_AVX2) pass8(xc, gc, out + k * s->chunk, s->HW, s->B, a + off, b + off, c + off);
        else pass_gen(xc, gc, out + k * s->chunk, s->HW, s->B, a + off, b + off, c + off);
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
