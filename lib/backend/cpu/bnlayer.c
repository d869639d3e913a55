/* bnlayer.c: the notebook's BnLayer normalisation after conv: ReLU, batch statistics
 * (mean, unbiased std over N*H*W per channel, no eps), scale m and shift a, optional skip add
 * (ResnetLayer). Forward is two passes over the conv output (sums, then normalise); backward is
 * two (gradient sums, then the input gradient).
 *
 * Speed: the work is split in chunks of one image and one channel block (HW positions x B
 * lanes), shared statically between the threads. Each chunk runs a branch-free vector kernel:
 * AVX-512 for 16-lane blocks (one register per position), AVX2 + FMA for 8- or 16-lane blocks
 * (8 lanes at a time); the build has no -march, hence the per-function target and the run-time
 * choice (cpu_isa_for); plain layouts and CPU_MAX_ISA=generic use the generic loops.
 * Sums: in the vector kernels SUB positions in float, then in double; the generic loops sum in
 * double throughout. The AVX2 kernels do per lane exactly the operations of the AVX-512 ones
 * (same order, same fused multiply-adds), so the two give the same bits; the generic loops
 * differ from them by rounding (within the op tests' tolerances). Each chunk writes its own
 * partial sums (no shared accumulators) and they are added in image order, so results do not
 * depend on the number of threads. */
#include <immintrin.h>
#include <math.h>
#include <string.h>
#include "backend/cpu/cpu_backend.h"

/* positions summed in float before adding to the double sums (bounds the float rounding) */
#define SUB 32

/* ---- generic chunk kernels (any B) ---- */

/* o[l] = sum relu(c), o[B + l] = sum relu(c)^2 over the chunk's HW positions */
static void stats_gen(const float *p, int HW, int B, double *o)
{
    for (int l = 0; l < B; l++) o[l] = o[B + l] = 0;
    for (int hw = 0; hw < HW; hw++)
        for (int l = 0; l < B; l++) {
            double v = p[(size_t)hw * B + l] > 0.0f ? p[(size_t)hw * B + l] : 0.0f;
            o[l] += v;
            o[B + l] += v * v;
        }
}

/* y = relu(c) * sc + sh (+ skip) */
static void norm_gen(const float *c, const float *skip, float *y, int HW, int B, const float *sc, const float *sh)
{
    for (int hw = 0; hw < HW; hw++)
        for (int l = 0; l < B; l++) {
            size_t i = (size_t)hw * B + l;
            float v = c[i] > 0.0f ? c[i] : 0.0f;
            y[i] = v * sc[l] + sh[l] + (skip ? skip[i] : 0.0f);
        }
}

/* o[l] = sum dy, o[B + l] = sum dy * relu(c) */
static void gsums_gen(const float *c, const float *g, int HW, int B, double *o)
{
    for (int l = 0; l < B; l++) o[l] = o[B + l] = 0;
    for (int hw = 0; hw < HW; hw++)
        for (int l = 0; l < B; l++) {
            size_t i = (size_t)hw * B + l;
            double v = c[i] > 0.0f ? c[i] : 0.0f;
            o[l] += g[i];
            o[B + l] += (double)g[i] * v;
        }
}

/* dc = c > 0 ? ka * dy + kc * c + k0 : 0 */
static void gpass_gen(const float *c, const float *g, float *dc, int HW, int B, const float *ka, const float *kc,
                      const float *k0)
{
    for (int hw = 0; hw < HW; hw++)
        for (int l = 0; l < B; l++) {
            size_t i = (size_t)hw * B + l;
            float r = ka[l] * g[i] + kc[l] * c[i] + k0[l];
            dc[i] = c[i] > 0.0f ? r : 0.0f;
        }
}

/* ---- AVX-512 chunk kernels (B = 16: one register per position) ---- */
#define AVX512 __attribute__((target("avx512f")))

/* d0 += low 8 lanes of f, d1 += high 8 lanes, in double */
AVX512 static inline void acc_pd(__m512d *d0, __m512d *d1, __m512 f)
{
    *d0 = _mm512_add_pd(*d0, _mm512_cvtps_pd(_mm512_castps512_ps256(f)));
    *d1 = _mm512_add_pd(*d1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
}

AVX512 static void stats16(const float *p, int HW, double *o)
{
    __m512 z = _mm512_setzero_ps();
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
    for (int h0 = 0; h0 < HW; h0 += SUB) {
        int h1 = h0 + SUB < HW ? h0 + SUB : HW, hw = h0;
        __m512 fs = z, fq = z, gs = z, gq = z;
        for (; hw + 1 < h1; hw += 2) {
            __m512 v = _mm512_max_ps(_mm512_loadu_ps(p + (size_t)hw * 16), z);
            __m512 w = _mm512_max_ps(_mm512_loadu_ps(p + (size_t)hw * 16 + 16), z);
            fs = _mm512_add_ps(fs, v); fq = _mm512_fmadd_ps(v, v, fq);
            gs = _mm512_add_ps(gs, w); gq = _mm512_fmadd_ps(w, w, gq);
        }
        if (hw < h1) {
            __m512 v = _mm512_max_ps(_mm512_loadu_ps(p + (size_t)hw * 16), z);
            fs = _mm512_add_ps(fs, v); fq = _mm512_fmadd_ps(v, v, fq);
        }
        acc_pd(&s0, &s1, _mm512_add_ps(fs, gs));
        acc_pd(&q0, &q1, _mm512_add_ps(fq, gq));
    }
    _mm512_storeu_pd(o, s0); _mm512_storeu_pd(o + 8, s1);
    _mm512_storeu_pd(o + 16, q0); _mm512_storeu_pd(o + 24, q1);
}

AVX512 static void norm16(const float *c, const float *skip, float *y, int HW, const float *sc, const float *sh)
{
    __m512 z = _mm512_setzero_ps(), a = _mm512_loadu_ps(sc), b = _mm512_loadu_ps(sh);
    if (skip)
        for (int hw = 0; hw < HW; hw++) {
            size_t i = (size_t)hw * 16;
            __m512 v = _mm512_max_ps(_mm512_loadu_ps(c + i), z);
            _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_fmadd_ps(v, a, b), _mm512_loadu_ps(skip + i)));
        }
    else
        for (int hw = 0; hw < HW; hw++) {
            size_t i = (size_t)hw * 16;
            _mm512_storeu_ps(y + i, _mm512_fmadd_ps(_mm512_max_ps(_mm512_loadu_ps(c + i), z), a, b));
        }
}

AVX512 static void gsums16(const float *c, const float *g, int HW, double *o)
{
    __m512 z = _mm512_setzero_ps();
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
    for (int h0 = 0; h0 < HW; h0 += SUB) {
        int h1 = h0 + SUB < HW ? h0 + SUB : HW, hw = h0;
        __m512 fs = z, fq = z, gs = z, gq = z;
        for (; hw + 1 < h1; hw += 2) {
            size_t i = (size_t)hw * 16;
            __m512 d = _mm512_loadu_ps(g + i), e = _mm512_loadu_ps(g + i + 16);
            fs = _mm512_add_ps(fs, d); fq = _mm512_fmadd_ps(d, _mm512_max_ps(_mm512_loadu_ps(c + i), z), fq);
            gs = _mm512_add_ps(gs, e); gq = _mm512_fmadd_ps(e, _mm512_max_ps(_mm512_loadu_ps(c + i + 16), z), gq);
        }
        if (hw < h1) {
            size_t i = (size_t)hw * 16;
            __m512 d = _mm512_loadu_ps(g + i);
            fs = _mm512_add_ps(fs, d); fq = _mm512_fmadd_ps(d, _mm512_max_ps(_mm512_loadu_ps(c + i), z), fq);
        }
        acc_pd(&s0, &s1, _mm512_add_ps(fs, gs));
        acc_pd(&q0, &q1, _mm512_add_ps(fq, gq));
    }
    _mm512_storeu_pd(o, s0); _mm512_storeu_pd(o + 8, s1);
    _mm512_storeu_pd(o + 16, q0); _mm512_storeu_pd(o + 24, q1);
}

AVX512 static void gpass16(const float *c, const float *g, float *dc, int HW, const float *ka, const float *kc,
                           const float *k0)
{
    __m512 z = _mm512_setzero_ps(), a = _mm512_loadu_ps(ka), b = _mm512_loadu_ps(kc), e = _mm512_loadu_ps(k0);
    for (int hw = 0; hw < HW; hw++) {
        size_t i = (size_t)hw * 16;
        __m512 v = _mm512_loadu_ps(c + i);
        __m512 r = _mm512_fmadd_ps(a, _mm512_loadu_ps(g + i), _mm512_fmadd_ps(b, v, e));
        _mm512_storeu_ps(dc + i, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, z, _CMP_GT_OQ), r));
    }
}

/* ---- AVX2 + FMA chunk kernels (B = 8 or 16: lanes j..j+7 at stride B, per lane the operations
 * of the AVX-512 kernels above) ---- */

/* d0 += low 4 lanes of f, d1 += high 4 lanes, in double */
CPU_AVX2 static inline void acc_pd8(__m256d *d0, __m256d *d1, __m256 f)
{
    *d0 = _mm256_add_pd(*d0, _mm256_cvtps_pd(_mm256_castps256_ps128(f)));
    *d1 = _mm256_add_pd(*d1, _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
}

CPU_AVX2 static void stats8(const float *p, int HW, int B, double *o)
{
    __m256 z = _mm256_setzero_ps();
    for (int j = 0; j < B; j += 8) {
        __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
        for (int h0 = 0; h0 < HW; h0 += SUB) {
            int h1 = h0 + SUB < HW ? h0 + SUB : HW, hw = h0;
            __m256 fs = z, fq = z, gs = z, gq = z;
            for (; hw + 1 < h1; hw += 2) {
                __m256 v = _mm256_max_ps(_mm256_loadu_ps(p + (size_t)hw * B + j), z);
                __m256 w = _mm256_max_ps(_mm256_loadu_ps(p + (size_t)(hw + 1) * B + j), z);
                fs = _mm256_add_ps(fs, v); fq = _mm256_fmadd_ps(v, v, fq);
                gs = _mm256_add_ps(gs, w); gq = _mm256_fmadd_ps(w, w, gq);
            }
            if (hw < h1) {
                __m256 v = _mm256_max_ps(_mm256_loadu_ps(p + (size_t)hw * B + j), z);
                fs = _mm256_add_ps(fs, v); fq = _mm256_fmadd_ps(v, v, fq);
            }
            acc_pd8(&s0, &s1, _mm256_add_ps(fs, gs));
            acc_pd8(&q0, &q1, _mm256_add_ps(fq, gq));
        }
        _mm256_storeu_pd(o + j, s0); _mm256_storeu_pd(o + j + 4, s1);
        _mm256_storeu_pd(o + B + j, q0); _mm256_storeu_pd(o + B + j + 4, q1);
    }
}

CPU_AVX2 static void norm8(const float *c, const float *skip, float *y, int HW, int B, const float *sc, const float *sh)
{
    __m256 z = _mm256_setzero_ps();
    for (int j = 0; j < B; j += 8) {
        __m256 a = _mm256_loadu_ps(sc + j), b = _mm256_loadu_ps(sh + j);
        if (skip)
            for (int hw = 0; hw < HW; hw++) {
                size_t i = (size_t)hw * B + j;
                __m256 v = _mm256_max_ps(_mm256_loadu_ps(c + i), z);
                _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_fmadd_ps(v, a, b), _mm256_loadu_ps(skip + i)));
            }
        else
            for (int hw = 0; hw < HW; hw++) {
                size_t i = (size_t)hw * B + j;
                _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_max_ps(_mm256_loadu_ps(c + i), z), a, b));
            }
    }
}

CPU_AVX2 static void gsums8(const float *c, const float *g, int HW, int B, double *o)
{
    __m256 z = _mm256_setzero_ps();
    for (int j = 0; j < B; j += 8) {
        __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
        for (int h0 = 0; h0 < HW; h0 += SUB) {
            int h1 = h0 + SUB < HW ? h0 + SUB : HW, hw = h0;
            __m256 fs = z, fq = z, gs = z, gq = z;
            for (; hw + 1 < h1; hw += 2) {
                size_t i = (size_t)hw * B + j, i2 = i + (size_t)B;
                __m256 d = _mm256_loadu_ps(g + i), e = _mm256_loadu_ps(g + i2);
                fs = _mm256_add_ps(fs, d); fq = _mm256_fmadd_ps(d, _mm256_max_ps(_mm256_loadu_ps(c + i), z), fq);
                gs = _mm256_add_ps(gs, e); gq = _mm256_fmadd_ps(e, _mm256_max_ps(_mm256_loadu_ps(c + i2), z), gq);
            }
            if (hw < h1) {
                size_t i = (size_t)hw * B + j;
                __m256 d = _mm256_loadu_ps(g + i);
                fs = _mm256_add_ps(fs, d); fq = _mm256_fmadd_ps(d, _mm256_max_ps(_mm256_loadu_ps(c + i), z), fq);
            }
            acc_pd8(&s0, &s1, _mm256_add_ps(fs, gs));
            acc_pd8(&q0, &q1, _mm256_add_ps(fq, gq));
        }
        _mm256_storeu_pd(o + j, s0); _mm256_storeu_pd(o + j + 4, s1);
        _mm256_storeu_pd(o + B + j, q0); _mm256_storeu_pd(o + B + j + 4, q1);
    }
}

CPU_AVX2 static void gpass8(const float *c, const float *g, float *dc, int HW, int B, const float *ka, const float *kc,
                            const float *k0)
{
    __m256 z = _mm256_setzero_ps();
    for (int j = 0; j < B; j += 8) {
        __m256 a = _mm256_loadu_ps(ka + j), b = _mm256_loadu_ps(kc + j), e = _mm256_loadu_ps(k0 + j);
        for (int hw = 0; hw < HW; hw++) {
            size_t i = (size_t)hw * B + j;
            __m256 v = _mm256_loadu_ps(c + i);
            __m256 r = _mm256_fmadd_ps(a, _mm256_loadu_ps(g + i), _mm256_fmadd_ps(b, v, e));
            _mm256_storeu_ps(dc + i, _mm256_and_ps(_mm256_cmp_ps(v, z, _CMP_GT_OQ), r));
        }
    }
}

/* ---- drivers ---- */

/* tot[ch] = sum over chunks of the first sums, tot[CP + ch] of the second, in image order */
static void sums_reduce(const double *part, double *tot, int N, int CB, int B)
{
    int CP = CB * B;
    memset(tot, 0, 2 * (size_t)CP * sizeof(double));
    for (int n = 0; n < N; n++)
        for (int cb = 0; cb < CB; cb++) {
            const double *o = part + ((size_t)n * CB + cb) * 2 * B;
            for (int l = 0; l < B; l++) { tot[cb * B + l] += o[l]; tot[CP + cb * B + l] += o[B + l]; }
        }
}

/* Per-chunk partial sums, their totals and nfloat per-channel vectors, from the context's
 * temporaries (NULL when they cannot grow). */
static double *bn_tmp(cpu_ctx *cc, int N, int CP, int nfloat, float **f)
{
    size_t nd = (size_t)N * 2 * CP + 2 * (size_t)CP;
    double *part = cpu_tmp(cc, nd * sizeof(double) + (size_t)nfloat * CP * sizeof(float));
    *f = part ? (float *)(part + nd) : NULL;
    return part;
}

int cpu_bnlayer_fwd(void *ctx, const tensor *c, const tensor *a, const tensor *m, tensor *means, tensor *stds,
                const tensor *skip, tensor *y, int training)
{
    cpu_ctx *cc = ctx;
    int N = c->shape[0], C = c->shape[1], HW = c->shape[2] * c->shape[3], B = cpu_blk(c), CB = (C + B - 1) / B, CP = CB * B;
    int isa = cpu_isa_for(cc, B);
    float *scale;
    double *part = bn_tmp(cc, N, CP, 2, &scale);
    if (!part) return C_ERR;
    double *tot = part + (size_t)N * 2 * CP;
    float *shift = scale + CP;
    float *mu = means->data, *sd = stds->data;
    const float *av = a->data, *mv = m->data, *cv = c->data, *sk = skip ? skip->data : NULL;
    float *yv = y->data;
    size_t chunk = (size_t)HW * B;
    if (training) {
        #pragma omp parallel for schedule(static)
        for (int k = 0; k < N * CB; k++) {
            if (isa == CPU_ISA_AVX512) stats16(cv + k * chunk, HW, part + (size_t)k * 2 * B);
            else if (isa == CPU_ISA_AVX2) stats8(cv + k * chunk, HW, B, part + (size_t)k * 2 * B);
            else stats_gen(cv + k * chunk, HW, B, part + (size_t)k * 2 * B);
        }
        sums_reduce(part, tot, N, CB, B);
        double M = (double)N * HW;
        for (int ch = 0; ch < C; ch++) bnlayer_stats(tot[ch], tot[CP + ch], M, &mu[ch], &sd[ch]);
    }
    for (int ch = 0; ch < CP; ch++) {
        if (ch < C) bnlayer_scale_shift(av[ch], mv[ch], mu[ch], sd[ch], &scale[ch], &shift[ch]);
        else scale[ch] = shift[ch] = 0.0f;
    }
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < N * CB; k++) {
        int cb = k % CB;
        const float *s = sk ? sk + k * chunk : NULL;
        if (isa == CPU_ISA_AVX512) norm16(cv + k * chunk, s, yv + k * chunk, HW, scale + cb * B, shift + cb * B);
        else if (isa == CPU_ISA_AVX2) norm8(cv + k * chunk, s, yv + k * chunk, HW, B, scale + cb * B, shift + cb * B);
        else norm_gen(cv + k * chunk, s, yv + k * chunk, HW, B, scale + cb * B, shift + cb * B);
    }
    return C_OK;
}

int cpu_bnlayer_bwd(void *ctx, const tensor *c, const tensor *m, const tensor *means, const tensor *stds,
                const tensor *dy, tensor *dc, tensor *da, tensor *dm)
{
    cpu_ctx *cc = ctx;
    int N = c->shape[0], C = c->shape[1], HW = c->shape[2] * c->shape[3], B = cpu_blk(c), CB = (C + B - 1) / B, CP = CB * B;
    int isa = cpu_isa_for(cc, B);
    float *ka;
    double *part = bn_tmp(cc, N, CP, 3, &ka);
    if (!part) return C_ERR;
    double *tot = part + (size_t)N * 2 * CP;
    float *kc = ka + CP, *k0 = kc + CP;
    const float *mv = m->data, *msd = stds->data, *mmu = means->data, *cv = c->data, *gv = dy->data;
    float *dcv = dc->data;
    size_t chunk = (size_t)HW * B;
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < N * CB; k++) {
        if (isa == CPU_ISA_AVX512) gsums16(cv + k * chunk, gv + k * chunk, HW, part + (size_t)k * 2 * B);
        else if (isa == CPU_ISA_AVX2) gsums8(cv + k * chunk, gv + k * chunk, HW, B, part + (size_t)k * 2 * B);
        else gsums_gen(cv + k * chunk, gv + k * chunk, HW, B, part + (size_t)k * 2 * B);
    }
    sums_reduce(part, tot, N, CB, B);
    double M = (double)N * HW;
    float *dav = da->data, *dmv = dm->data;
    for (int ch = 0; ch < CP; ch++) {
        if (ch >= C) { ka[ch] = kc[ch] = k0[ch] = 0.0f; continue; }
        /* xhat = (relu(c) - mu) * inv; da = sum dy; dm = sum dy * xhat */
        double mu = mmu[ch], inv = 1.0 / (double)msd[ch], s = tot[ch], q = inv * (tot[CP + ch] - mu * s);
        dav[ch] = (float)s;
        dmv[ch] = (float)q;
        /* dr = k * (dy - s/M - xhat * q/(M-1)) with k = m * inv, written as ka*dy + kc*c + k0 */
        double k = mv[ch] * inv, gm = q / (M - 1);
        ka[ch] = (float)k;
        kc[ch] = (float)(-k * gm * inv);
        k0[ch] = (float)(-k * s / M + k * gm * inv * mu);
    }
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < N * CB; k++) {
        int cb = k % CB;
        if (isa == CPU_ISA_AVX512) gpass16(cv + k * chunk, gv + k * chunk, dcv + k * chunk, HW, ka + cb * B, kc + cb * B, k0 + cb * B);
        else if (isa == CPU_ISA_AVX2) gpass8(cv + k * chunk, gv + k * chunk, dcv + k * chunk, HW, B, ka + cb * B, kc + cb * B, k0 + cb * B);
        else gpass_gen(cv + k * chunk, gv + k * chunk, dcv + k * chunk, HW, B, ka + cb * B, kc + cb * B, k0 + cb * B);
    }
    return C_OK;
}
