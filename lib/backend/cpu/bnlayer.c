/* bnlayer.c: the notebook's BnLayer normalisation after conv: ReLU, batch statistics
 * (mean, unbiased std over N*H*W per channel, no eps), scale m and shift a, optional skip add
 * (ResnetLayer). Forward is two passes over the conv output (sums, then normalise); backward is
 * two (gradient sums, then the input gradient).
 *
 * Speed: the work is split in chunks of one image and one channel block (HW positions x B
 * lanes), shared statically between the threads. Each chunk runs a branch-free vector kernel,
 * written once with simd.h: AVX-512 for 16-lane blocks (one register per position), AVX2 + FMA
 * for 8- or 16-lane blocks (8 lanes at a time); the build has no -march, hence the per-function
 * target and the run-time choice (cpu_isa_for); plain layouts and CPU_MAX_ISA=generic use the
 * generic loops.
 * Sums: in the vector kernels SUB positions in float, then in double; the generic loops sum in
 * double throughout. The one vector kernel does per lane the same operations at both widths
 * (same order, same fused multiply-adds), so the two give the same bits; the generic loops
 * differ from them by rounding (within the op tests' tolerances). Each chunk writes its own
 * partial sums (no shared accumulators) and they are added in image order, so results do not
 * depend on the number of threads. */
#include <math.h>
#include <string.h>
#include "backend/cpu/cpu_backend.h"

/* positions summed in float before adding to the double sums (bounds the float rounding) */
#define SUB 32

#ifdef SIMD_W   /* ---- vector chunk kernels, W lanes at stride B (B = W, or 8 lanes of a 16-lane
                   block at a time): sums16, norm16, gpass16 and the same with 8 ---- */

/* o[l] = sum e, o[B + l] = sum e * relu(c) over the chunk, lanes 0..B-1: e = relu(c) for the
 * statistics (g NULL), the gradient g for the backward's sums. Inlined twice (V(sums) below),
 * so that neither loop tests g. */
SIMD_FN static inline __attribute__((always_inline)) void V(sums_of)(const float *c, const float *g, int HW, int B,
                                                                     double *o)
{
    vf z = vf_zero();
    B = simd_block(B);
    for (int j = 0; j < B; j += SIMD_W) {
        vd s0 = vd_zero(), s1 = s0, q0 = s0, q1 = s0;
        for (int h0 = 0; h0 < HW; h0 += SUB) {
            int h1 = h0 + SUB < HW ? h0 + SUB : HW, hw = h0;
            vf fs = z, fq = z, gs = z, gq = z;
            for (; hw + 1 < h1; hw += 2) {
                size_t i = (size_t)hw * B + j, i2 = i + (size_t)B;
                vf v = vf_max(vf_load(c + i), z), w = vf_max(vf_load(c + i2), z);
                vf d = g ? vf_load(g + i) : v, e = g ? vf_load(g + i2) : w;
                fs = vf_add(fs, d); fq = vf_fmadd(d, v, fq);
                gs = vf_add(gs, e); gq = vf_fmadd(e, w, gq);
            }
            if (hw < h1) {
                size_t i = (size_t)hw * B + j;
                vf v = vf_max(vf_load(c + i), z), d = g ? vf_load(g + i) : v;
                fs = vf_add(fs, d); fq = vf_fmadd(d, v, fq);
            }
            vd_acc(&s0, &s1, vf_add(fs, gs));
            vd_acc(&q0, &q1, vf_add(fq, gq));
        }
        vd_store(o + j, s0); vd_store(o + j + SIMD_W / 2, s1);
        vd_store(o + B + j, q0); vd_store(o + B + j + SIMD_W / 2, q1);
    }
}

SIMD_FN static void V(sums)(const float *c, const float *g, int HW, int B, double *o)
{
    if (g) V(sums_of)(c, g, HW, B, o);
    else V(sums_of)(c, NULL, HW, B, o);
}

SIMD_FN static void V(norm)(const float *c, const float *skip, float *y, int HW, int B, const float *sc, const float *sh)
{
    vf z = vf_zero();
    B = simd_block(B);
    for (int j = 0; j < B; j += SIMD_W) {
        vf a = vf_load(sc + j), b = vf_load(sh + j);
        if (skip)
            for (int hw = 0; hw < HW; hw++) {
                size_t i = (size_t)hw * B + j;
                vf v = vf_max(vf_load(c + i), z);
                vf_store(y + i, vf_add(vf_fmadd(v, a, b), vf_load(skip + i)));
            }
        else
            for (int hw = 0; hw < HW; hw++) {
                size_t i = (size_t)hw * B + j;
                vf_store(y + i, vf_fmadd(vf_max(vf_load(c + i), z), a, b));
            }
    }
}

SIMD_FN static void V(gpass)(const float *c, const float *g, float *dc, int HW, int B, const float *ka, const float *kc,
                             const float *k0)
{
    vf z = vf_zero();
    B = simd_block(B);
    for (int j = 0; j < B; j += SIMD_W) {
        vf a = vf_load(ka + j), b = vf_load(kc + j), e = vf_load(k0 + j);
        for (int hw = 0; hw < HW; hw++) {
            size_t i = (size_t)hw * B + j;
            vf v = vf_load(c + i);
            vf r = vf_fmadd(a, vf_load(g + i), vf_fmadd(b, v, e));
            vf_store(dc + i, vf_maskz(vm_gt(v, z), r));
        }
    }
}

#else

#define SIMD_BODY "backend/cpu/bnlayer.c"
#include "backend/cpu/simd.h"

/* ---- generic chunk kernels (any B) ---- */

/* o[l] = sum e, o[B + l] = sum e * relu(c) over the chunk's HW positions, e = relu(c) for the
 * statistics (g NULL), the gradient g for the backward's sums */
static void sums_gen(const float *c, const float *g, int HW, int B, double *o)
{
    for (int l = 0; l < B; l++) o[l] = o[B + l] = 0;
    for (int hw = 0; hw < HW; hw++)
        for (int l = 0; l < B; l++) {
            size_t i = (size_t)hw * B + l;
            double v = c[i] > 0.0f ? c[i] : 0.0f, e = g ? g[i] : v;
            o[l] += e;
            o[B + l] += e * v;
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

typedef struct bn_dims { int N, C, HW, B, CB, CP, isa; size_t chunk; } bn_dims;

/* The chunks of conv output c (d), and from the context's temporaries the per-chunk partial
 * sums (returned), their totals (*tot) and nfloat per-channel vectors (*f); NULL when they
 * cannot grow. */
static double *bn_setup(cpu_ctx *cc, const tensor *c, int nfloat, bn_dims *d, double **tot, float **f)
{
    d->N = c->shape[0]; d->C = c->shape[1]; d->HW = c->shape[2] * c->shape[3]; d->B = cpu_blk(c);
    d->CB = (d->C + d->B - 1) / d->B; d->CP = d->CB * d->B;
    d->isa = cpu_isa_for(cc, d->B);
    d->chunk = (size_t)d->HW * d->B;
    size_t nd = (size_t)d->N * 2 * d->CP + 2 * (size_t)d->CP;
    double *part = cpu_tmp(cc, nd * sizeof(double) + (size_t)nfloat * d->CP * sizeof(float));
    if (!part) return NULL;
    *tot = part + (size_t)d->N * 2 * d->CP;
    *f = (float *)(part + nd);
    return part;
}

/* tot[ch] = sum over the chunks of e, tot[CP + ch] of e * relu(c) (sums16/8/_gen), in image order */
static void chunk_sums(const bn_dims *d, const float *cv, const float *g, double *part, double *tot)
{
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < d->N * d->CB; k++)
        SIMD_CALL(d->isa, sums, cv + k * d->chunk, g ? g + k * d->chunk : NULL, d->HW, d->B,
                  part + (size_t)k * 2 * d->B);
    sums_reduce(part, tot, d->N, d->CB, d->B);
}

int cpu_bnlayer_fwd(void *ctx, const tensor *c, const tensor *a, const tensor *m, tensor *means, tensor *stds,
                const tensor *skip, tensor *y, int training)
{
    bn_dims d;
    double *tot;
    float *scale;
    double *part = bn_setup(ctx, c, 2, &d, &tot, &scale);
    if (!part) return C_ERR;
    int N = d.N, C = d.C, HW = d.HW, B = d.B, CB = d.CB, CP = d.CP, isa = d.isa;
    float *shift = scale + CP;
    float *mu = means->data, *sd = stds->data;
    const float *av = a->data, *mv = m->data, *cv = c->data, *sk = skip ? skip->data : NULL;
    float *yv = y->data;
    size_t chunk = d.chunk;
    if (training) {
        chunk_sums(&d, cv, NULL, part, tot);
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
        SIMD_CALL(isa, norm, cv + k * chunk, s, yv + k * chunk, HW, B, scale + cb * B, shift + cb * B);
    }
    return C_OK;
}

int cpu_bnlayer_bwd(void *ctx, const tensor *c, const tensor *m, const tensor *means, const tensor *stds,
                const tensor *dy, tensor *dc, tensor *da, tensor *dm)
{
    bn_dims d;
    double *tot;
    float *ka;
    double *part = bn_setup(ctx, c, 3, &d, &tot, &ka);
    if (!part) return C_ERR;
    int N = d.N, C = d.C, HW = d.HW, B = d.B, CB = d.CB, CP = d.CP, isa = d.isa;
    float *kc = ka + CP, *k0 = kc + CP;
    const float *mv = m->data, *msd = stds->data, *mmu = means->data, *cv = c->data, *gv = dy->data;
    float *dcv = dc->data;
    size_t chunk = d.chunk;
    chunk_sums(&d, cv, gv, part, tot);
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
        SIMD_CALL(isa, gpass, cv + k * chunk, gv + k * chunk, dcv + k * chunk, HW, B, ka + cb * B, kc + cb * B,
                  k0 + cb * B);
    }
    return C_OK;
}

#endif
