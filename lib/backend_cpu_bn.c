/* backend_cpu_bn.c: the notebook's BnLayer normalisation after conv: ReLU, batch statistics
 * (mean, unbiased std over N*H*W per channel, no eps), scale m and shift a, optional skip add
 * (ResnetLayer). Forward is two passes over the conv output (sums, then normalise); backward is
 * two (gradient sums, then the input gradient). Sums are in double, per thread, then reduced. */
#include <math.h>
#include <omp.h>
#include <string.h>
#include "backend_cpu.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* s[c] += sum r, q[c] += sum r^2 over this thread's (n, cb) share; r = relu(c) */
ALWAYS_INLINE void stats_pass(const float *cv, double *part, int N, int CB, int HW, int B, int CP)
{
    #pragma omp parallel
    {
        double *s = part + (size_t)omp_get_thread_num() * 2 * CP, *q = s + CP;
        memset(s, 0, 2 * (size_t)CP * sizeof(double));
        #pragma omp for collapse(2) schedule(static)
        for (int n = 0; n < N; n++)
            for (int cb = 0; cb < CB; cb++) {
                const float *p = cv + ((size_t)n * CB + cb) * HW * B;
                double ls[CPU_BLK] = { 0 }, lq[CPU_BLK] = { 0 };
                for (int hw = 0; hw < HW; hw++)
                    for (int l = 0; l < B; l++) {
                        double v = p[hw * B + l] > 0.0f ? p[hw * B + l] : 0.0f;
                        ls[l] += v;
                        lq[l] += v * v;
                    }
                for (int l = 0; l < B; l++) { s[cb * B + l] += ls[l]; q[cb * B + l] += lq[l]; }
            }
    }
}

ALWAYS_INLINE void norm_pass(const float *cv, const float *skip, float *yv, const float *scale, const float *shift,
                             int N, int CB, int HW, int B)
{
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int cb = 0; cb < CB; cb++) {
            size_t o = ((size_t)n * CB + cb) * HW * B;
            const float *sc = scale + cb * B, *sh = shift + cb * B;
            for (int hw = 0; hw < HW; hw++)
                for (int l = 0; l < B; l++) {
                    float v = cv[o + hw * B + l];
                    v = v > 0.0f ? v : 0.0f;
                    float r = v * sc[l] + sh[l];
                    yv[o + hw * B + l] = skip ? r + skip[o + hw * B + l] : r;
                }
        }
}

void cpu_bn_fwd(void *ctx, const tensor *c, const tensor *a, const tensor *m, tensor *means, tensor *stds,
                const tensor *skip, tensor *y, int training)
{
    cpu_ctx *cc = ctx;
    int N = c->shape[0], C = c->shape[1], HW = c->shape[2] * c->shape[3], B = cpu_blk(c), CB = (C + B - 1) / B, CP = CB * B;
    int T = omp_get_max_threads();
    double *part = cpu_tmp(cc, ((size_t)T * 2 * CP) * sizeof(double) + 2 * (size_t)CP * sizeof(float));
    float *scale = (float *)(part + (size_t)T * 2 * CP), *shift = scale + CP;
    float *mu = means->data, *sd = stds->data;
    const float *av = a->data, *mv = m->data;
    if (training) {
        if (B == CPU_BLK) stats_pass(c->data, part, N, CB, HW, CPU_BLK, CP);
        else stats_pass(c->data, part, N, CB, HW, 1, CP);
        double M = (double)N * HW;
        for (int ch = 0; ch < C; ch++) {
            double s = 0, q = 0;
            for (int t = 0; t < T; t++) { s += part[(size_t)t * 2 * CP + ch]; q += part[(size_t)t * 2 * CP + CP + ch]; }
            double mean = s / M, var = (q - M * mean * mean) / (M - 1);
            mu[ch] = (float)mean;
            sd[ch] = (float)sqrt(var > 0 ? var : 0);
        }
    }
    for (int ch = 0; ch < CP; ch++) {
        if (ch < C) { scale[ch] = mv[ch] / sd[ch]; shift[ch] = av[ch] - mu[ch] * scale[ch]; }
        else scale[ch] = shift[ch] = 0.0f;
    }
    const float *sk = skip ? skip->data : NULL;
    if (B == CPU_BLK) norm_pass(c->data, sk, y->data, scale, shift, N, CB, HW, CPU_BLK);
    else norm_pass(c->data, sk, y->data, scale, shift, N, CB, HW, 1);
}

/* per channel: s = sum dy, q = sum dy * xhat (xhat from r = relu(c)) */
ALWAYS_INLINE void grad_sums(const float *cv, const float *g, const float *mu, const float *inv, double *part,
                             int N, int CB, int HW, int B, int CP)
{
    #pragma omp parallel
    {
        double *s = part + (size_t)omp_get_thread_num() * 2 * CP, *q = s + CP;
        memset(s, 0, 2 * (size_t)CP * sizeof(double));
        #pragma omp for collapse(2) schedule(static)
        for (int n = 0; n < N; n++)
            for (int cb = 0; cb < CB; cb++) {
                size_t o = ((size_t)n * CB + cb) * HW * B;
                const float *m0 = mu + cb * B, *i0 = inv + cb * B;
                double ls[CPU_BLK] = { 0 }, lq[CPU_BLK] = { 0 };
                for (int hw = 0; hw < HW; hw++)
                    for (int l = 0; l < B; l++) {
                        float v = cv[o + hw * B + l];
                        v = v > 0.0f ? v : 0.0f;
                        float xh = (v - m0[l]) * i0[l], d = g[o + hw * B + l];
                        ls[l] += d;
                        lq[l] += d * xh;
                    }
                for (int l = 0; l < B; l++) { s[cb * B + l] += ls[l]; q[cb * B + l] += lq[l]; }
            }
    }
}

/* dc = c > 0 ? k * (dy - ga - xhat * gm) : 0 with k = m/std, ga = da/M, gm = dm/(M-1) */
ALWAYS_INLINE void grad_pass(const float *cv, const float *g, float *dc, const float *mu, const float *inv,
                             const float *k, const float *ga, const float *gm, int N, int CB, int HW, int B)
{
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int cb = 0; cb < CB; cb++) {
            size_t o = ((size_t)n * CB + cb) * HW * B;
            const float *m0 = mu + cb * B, *i0 = inv + cb * B, *k0 = k + cb * B, *a0 = ga + cb * B, *g0 = gm + cb * B;
            for (int hw = 0; hw < HW; hw++)
                for (int l = 0; l < B; l++) {
                    float v = cv[o + hw * B + l];
                    float xh = (v > 0.0f ? v - m0[l] : -m0[l]) * i0[l];
                    float r = k0[l] * (g[o + hw * B + l] - a0[l] - xh * g0[l]);
                    dc[o + hw * B + l] = v > 0.0f ? r : 0.0f;
                }
        }
}

void cpu_bn_bwd(void *ctx, const tensor *c, const tensor *m, const tensor *means, const tensor *stds,
                const tensor *dy, tensor *dc, tensor *da, tensor *dm)
{
    cpu_ctx *cc = ctx;
    int N = c->shape[0], C = c->shape[1], HW = c->shape[2] * c->shape[3], B = cpu_blk(c), CB = (C + B - 1) / B, CP = CB * B;
    int T = omp_get_max_threads();
    double *part = cpu_tmp(cc, ((size_t)T * 2 * CP) * sizeof(double) + 5 * (size_t)CP * sizeof(float));
    float *mu = (float *)(part + (size_t)T * 2 * CP), *inv = mu + CP, *k = inv + CP, *ga = k + CP, *gm = ga + CP;
    const float *mv = m->data, *msd = stds->data, *mmu = means->data;
    for (int ch = 0; ch < CP; ch++) {
        mu[ch] = ch < C ? mmu[ch] : 0.0f;
        inv[ch] = ch < C ? 1.0f / msd[ch] : 0.0f;
    }
    if (B == CPU_BLK) grad_sums(c->data, dy->data, mu, inv, part, N, CB, HW, CPU_BLK, CP);
    else grad_sums(c->data, dy->data, mu, inv, part, N, CB, HW, 1, CP);
    double M = (double)N * HW;
    float *dav = da->data, *dmv = dm->data;
    for (int ch = 0; ch < CP; ch++) {
        if (ch >= C) { k[ch] = ga[ch] = gm[ch] = 0.0f; continue; }
        double s = 0, q = 0;
        for (int t = 0; t < T; t++) { s += part[(size_t)t * 2 * CP + ch]; q += part[(size_t)t * 2 * CP + CP + ch]; }
        dav[ch] = (float)s;
        dmv[ch] = (float)q;
        k[ch] = mv[ch] * inv[ch];
        ga[ch] = (float)(s / M);
        gm[ch] = (float)(q / (M - 1));
    }
    if (B == CPU_BLK) grad_pass(c->data, dy->data, dc->data, mu, inv, k, ga, gm, N, CB, HW, CPU_BLK);
    else grad_pass(c->data, dy->data, dc->data, mu, inv, k, ga, gm, N, CB, HW, 1);
}
