/* batchnorm.c: BatchNorm2d's reference and cases: training forward (batch statistics, the
 * running statistics' update), the backward into x, weight and bias through the batch
 * statistics, and the eval forward with the running statistics; plain and blocked layouts,
 * 21 channels (a padded block) and 64, inputs offset from 0 per channel so a variance that
 * cancels would show. Tolerances: forward, saved and running statistics 1e-5 against the
 * reference; gradients 1e-4 against finite differences; CUDA against the CPU 1e-5 (forward,
 * statistics) and 1e-4 (gradients: the CPU sums runs of 32 in float, CUDA sums in double). */
#include "ops/harness.h"
#include "ops/reference.h"

#include <math.h>

void ref_batchnorm(const double *x, int N, int C, int HW, const double *w, const double *b, double *running_mean,
                   double *running_var, int training, double momentum, double eps, double *y)
{
    double M = (double)N * HW;
    for (int ch = 0; ch < C; ch++) {
        double mean, var;
        if (training) {
            double s = 0, q = 0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < HW; i++) s += x[((size_t)n * C + ch) * HW + i];
            mean = s / M;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < HW; i++) {
                    double d = x[((size_t)n * C + ch) * HW + i] - mean;
                    q += d * d;
                }
            var = q / M;
            if (running_mean) running_mean[ch] = (1 - momentum) * running_mean[ch] + momentum * mean;
            if (running_var) running_var[ch] = (1 - momentum) * running_var[ch] + momentum * q / (M - 1);
        } else {
            mean = running_mean[ch];
            var = running_var[ch];
        }
        double inv = 1.0 / sqrt(var + eps);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t o = ((size_t)n * C + ch) * HW + i;
                y[o] = (x[o] - mean) * inv * w[ch] + b[ch];
            }
    }
}

typedef struct bn2d_case { int n, c, h, w; tensor_layout layout; double momentum, eps; } bn2d_case;
typedef struct bn2d_ctx { const bn2d_case *c; double *x, *w, *b, *r, *y; size_t n; } bn2d_ctx;

static double bn2d_f(void *vp)
{
    bn2d_ctx *B = vp;
    const bn2d_case *c = B->c;
    ref_batchnorm(B->x, c->n, c->c, c->h * c->w, B->w, B->b, NULL, NULL, 1, c->momentum, c->eps, B->y);
    return ops_dot(B->y, B->r, B->n);
}

static void bn2d_run(ops_env *e, const void *param)
{
    const bn2d_case *c = param;
    const backend_iface *I = ops_iface(e);
    int C = c->c, HW = c->h * c->w, xs[4] = { c->n, C, c->h, c->w }, vs[1] = { C };
    bn2d_ctx B = { .c = c, .n = (size_t)c->n * C * HW };
    B.x = ops_rand(e, B.n, -1, 1);
    double *off = ops_rand(e, C, -4, 4);
    for (size_t i = 0; i < B.n; i++) B.x[i] = (float)(B.x[i] + off[(i / HW) % C]);   /* the values the op sees */
    B.w = ops_rand(e, C, 0.5, 1.5);
    B.b = ops_rand(e, C, -0.5, 0.5);
    B.r = ops_rand(e, B.n, -1, 1);
    B.y = ops_alloc(e, B.n * sizeof(double));
    double *rm = ops_rand(e, C, -1, 1), *rv = ops_rand(e, C, 0.5, 2), *ref_m = ops_alloc(e, C * sizeof(double)),
           *ref_v = ops_alloc(e, C * sizeof(double)), *smean = ops_alloc(e, C * sizeof(double)),
           *sinv = ops_alloc(e, C * sizeof(double));
    for (int i = 0; i < C; i++) { rm[i] = (float)rm[i]; rv[i] = (float)rv[i]; ref_m[i] = rm[i]; ref_v[i] = rv[i]; }
    tensor *x = ops_tensor(e, 4, xs, c->layout, B.x), *y = ops_tensor(e, 4, xs, c->layout, NULL),
           *w = ops_tensor(e, 1, vs, TL_PLAIN, B.w), *b = ops_tensor(e, 1, vs, TL_PLAIN, B.b),
           *trm = ops_tensor(e, 1, vs, TL_PLAIN, rm), *trv = ops_tensor(e, 1, vs, TL_PLAIN, rv),
           *sm = ops_tensor(e, 1, vs, TL_PLAIN, NULL), *si = ops_tensor(e, 1, vs, TL_PLAIN, NULL),
           *dy = ops_tensor(e, 4, xs, c->layout, B.r), *dx = ops_tensor(e, 4, xs, c->layout, NULL),
           *dw = ops_tensor(e, 1, vs, TL_PLAIN, NULL), *db = ops_tensor(e, 1, vs, TL_PLAIN, NULL);
    OPS_CHECK(e, I->batchnorm_fwd(ops_ctx(e), x, w, b, trm, trv, sm, si, y, 1, (float)c->momentum, (float)c->eps) == C_OK);
    if (ops_reference(e)) {
        ref_batchnorm(B.x, c->n, C, HW, B.w, B.b, ref_m, ref_v, 1, (float)c->momentum, (float)c->eps, B.y);
        /* the saved statistics: the batch mean and 1/sqrt(biased var + eps) */
        for (int ch = 0; ch < C; ch++) {
            double s = 0, q = 0;
            for (int n = 0; n < c->n; n++)
                for (int i = 0; i < HW; i++) s += B.x[((size_t)n * C + ch) * HW + i];
            smean[ch] = s / ((double)c->n * HW);
            for (int n = 0; n < c->n; n++)
                for (int i = 0; i < HW; i++) q += pow(B.x[((size_t)n * C + ch) * HW + i] - smean[ch], 2);
            sinv[ch] = 1.0 / sqrt(q / ((double)c->n * HW) + (float)c->eps);
        }
    }
    ops_expect(e, "y (training)", y, B.y, 1e-5, 1e-5);
    ops_expect(e, "save_mean", sm, smean, 1e-5, 1e-5);
    ops_expect(e, "save_invstd", si, sinv, 1e-5, 1e-5);
    ops_expect(e, "running_mean", trm, ref_m, 1e-5, 1e-5);
    ops_expect(e, "running_var", trv, ref_v, 1e-5, 1e-5);
    OPS_CHECK(e, I->batchnorm_bwd(ops_ctx(e), x, w, sm, si, dy, dx, dw, db) == C_OK);
    ops_expect_grad(e, "dx", dx, B.x, B.n, bn2d_f, &B, 40, 1e-4, 1e-4);
    ops_expect_grad(e, "dweight", dw, B.w, (size_t)C, bn2d_f, &B, 40, 1e-4, 1e-4);
    ops_expect_grad(e, "dbias", db, B.b, (size_t)C, bn2d_f, &B, 40, 1e-4, 1e-4);
    /* dx alone (weight frozen: no dweight, no dbias) gives the same dx */
    tensor *dx2 = ops_tensor(e, 4, xs, c->layout, NULL);
    OPS_CHECK(e, I->batchnorm_bwd(ops_ctx(e), x, w, sm, si, dy, dx2, NULL, NULL) == C_OK);
    float *g1 = ops_get(e, dx), *g2 = ops_get(e, dx2);
    int same = 1;
    for (size_t i = 0; i < B.n; i++) same &= g1[i] == g2[i];
    OPS_CHECK(e, same);
    /* eval: another batch, normalised with the running statistics the training step left */
    double *x2 = ops_rand(e, B.n, -2, 2), *em = ops_alloc(e, C * sizeof(double)), *ev = ops_alloc(e, C * sizeof(double));
    float *fm = ops_get(e, trm), *fv = ops_get(e, trv), *fs = ops_get(e, sm);
    for (int i = 0; i < C; i++) { em[i] = fm[i]; ev[i] = fv[i]; }
    tensor *xe = ops_tensor(e, 4, xs, c->layout, x2);
    OPS_CHECK(e, I->batchnorm_fwd(ops_ctx(e), xe, w, b, trm, trv, sm, si, y, 0, (float)c->momentum, (float)c->eps) == C_OK);
    if (ops_reference(e)) {
        for (size_t i = 0; i < B.n; i++) x2[i] = (float)x2[i];
        ref_batchnorm(x2, c->n, C, HW, B.w, B.b, em, ev, 0, c->momentum, (float)c->eps, B.y);
    }
    ops_expect(e, "y (eval)", y, B.y, 1e-5, 1e-5);
    float *fm2 = ops_get(e, trm), *fs2 = ops_get(e, sm);
    OPS_CHECK(e, fm2[0] == fm[0] && fs2[0] == fs[0]);   /* eval leaves every statistic alone */
}

#define BN2D(name, ...) { "batchnorm/" name, bn2d_run, &(const bn2d_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    BN2D("n3 c21 5x5 plain", 3, 21, 5, 5, TL_PLAIN, 0.4, 1e-12),
    BN2D("n3 c21 5x5 blocked", 3, 21, 5, 5, TL_ACT, 0.4, 1e-12),
    BN2D("n4 c64 7x7 blocked", 4, 64, 7, 7, TL_ACT, 0.4, 1e-12),
    BN2D("n2 c24 3x3 blocked eps 1e-5 momentum 0.1", 2, 24, 3, 3, TL_ACT, 0.1, 1e-5),
};

OPS_SUITE(batchnorm, cases);
