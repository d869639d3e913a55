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
                   block at a time): stats16, norm16, gsums16, gpass16 and the same with 8 ---- */

SIMD_FN static void V(stats)(const float *p, int HW, int B, double *o)
{
    vf z = vf_zero();
    B = simd_block(B);
    for (int j = 0; j < B; j += SIMD_W) {
        vd s0 = vd_zero(), s1 = s0, q0 = s0, q1 = s0;
        for (int h0 = 0; h0 < HW; h0 += SUB) {
            int h1 = h0 + SUB < HW ? h0 + SUB : HW, hw = h0;
            vf fs = z, fq = z, gs = z, gq = z;
            for (; hw + 1 < h1; hw += 2) {
                vf v = vf_max(vf_load(p + (size_t)hw * B + j), z);
                vf w = vf_max(vf_load(p + (size_t)(hw + 1) * B + j), z);
                fs = vf_add(fs, v); fq = vf_fmadd(v, v, fq);
                gs = vf_add(gs, w); gq = vf_fmadd(w, w, gq);
            }
            if (hw < h1) {
                vf v = vf_max(vf_load(p + (size_t)hw * B + j), z);
                fs = vf_add(fs, v); fq = vf_fmadd(v, v, fq);
            }
            vd_acc(&s0, &s1, vf_add(fs, gs));
            vd_acc(&q0, &q1, vf_add(fq, gq));
        }
        vd_store(o + j, s0); vd_store(o + j + SIMD_W / 2, s1);
        vd_store(o + B + j, q0); vd_store(o + B + j + SIMD_W / 2, q1);
    }
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

SIMD_FN static void V(gsums)(const float *c, const float *g, int HW, int B, double *o)
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
                vf d = vf_load(g + i), e = vf_load(g + i2);
                fs = vf_add(fs, d); fq = vf_fmadd(d, vf_max(vf_load(c + i), z), fq);
                gs = vf_add(gs, e); gq = vf_fmadd(e, vf_max(vf_load(c + i2), z), gq);
            }
            if (hw < h1) {
                size_t i = (size_t)hw * B + j;
                vf d = vf_load(g + i);
                fs = vf_add(fs, d); fq = vf_fmadd(d, vf_max(vf_load(c + i), z), fq);
            }
            vd_acc(&s0, &s1, vf_add(fs, gs));
            vd_acc(&q0, &q1, vf_add(fq, gq));
        }
        vd_store(o + j, s0); vd_store(o + j + SIMD_W / 2, s1);
        vd_store(o + B + j, q0); vd_store(o + B + j + SIMD_W / 2, q1);
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
            if (isa == CPU_ISA_AVX512) stats16(cv + k * chunk, HW, B, part + (size_t)k * 2 * B);
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
        if (isa == CPU_ISA_AVX512) norm16(cv + k * chunk, s, yv + k * chunk, HW, B, scale + cb * B, shift + cb * B);
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
        if (isa == CPU_ISA_AVX512) gsums16(cv + k * chunk, gv + k * chunk, HW, B, part + (size_t)k * 2 * B);
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
        if (isa == CPU_ISA_AVX512) gpass16(cv + k * chunk, gv + k * chunk, dcv + k * chunk, HW, B, ka + cb * B, kc + cb * B, k0 + cb * B);
        else if (isa == CPU_ISA_AVX2) gpass8(cv + k * chunk, gv + k * chunk, dcv + k * chunk, HW, B, ka + cb * B, kc + cb * B, k0 + cb * B);
        else gpass_gen(cv + k * chunk, gv + k * chunk, dcv + k * chunk, HW, B, ka + cb * B, kc + cb * B, k0 + cb * B);
    }
    return C_OK;
}

#endif
