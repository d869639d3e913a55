/* bnlayer.c: BnLayer's reference and cases: after its conv (as in convbnnet and resnet2, the
 * gradients checked through the conv into x and the weights), with the ResnetLayer skip, in
 * evaluation mode with stored statistics, and on its own on larger channel counts.
 * Tolerances: forward and statistics 1e-4 against the reference; gradients 2e-3 against finite
 * differences; CUDA against the CPU 1e-5 (statistics, evaluation) and 1e-4 (training forward,
 * gradients). */
#include "ops/harness.h"
#include "ops/reference.h"

#include <math.h>
#include "ops/conv2d.h"

void ref_bn(const double *c, int N, int C, int HW, const double *a, const double *m, const double *skip,
            double *means, double *stds, int training, double *y)
{
    double M = (double)N * HW;
    for (int ch = 0; ch < C; ch++) {
        if (training) {
            double s = 0, q = 0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < HW; i++) { double v = c[((size_t)n * C + ch) * HW + i]; s += v > 0 ? v : 0; }
            double mean = s / M;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < HW; i++) {
                    double v = c[((size_t)n * C + ch) * HW + i];
                    v = v > 0 ? v : 0;
                    q += (v - mean) * (v - mean);
                }
            means[ch] = mean;
            stds[ch] = sqrt(q / (M - 1));
        }
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t o = ((size_t)n * C + ch) * HW + i;
                double v = c[o] > 0 ? c[o] : 0;
                y[o] = (v - means[ch]) / stds[ch] * m[ch] + a[ch] + (skip ? skip[o] : 0.0);
            }
    }
}

/* ---- after its conv: x -> conv (no bias) -> BnLayer (+ x) ---- */
typedef struct convbn_case { int n, ic, oc, h, k, s, resnet; tensor_layout layout; } convbn_case;

typedef struct convbn_ctx {
    const convbn_case *c;
    double *x, *wt, *a, *m, *r, *cv, *y, *means, *stds;
    int oh;
} convbn_ctx;

static double convbn_f(void *vp)
{
    convbn_ctx *B = vp;
    const convbn_case *c = B->c;
    ref_conv(B->x, c->n, c->ic, c->h, c->h, B->wt, NULL, c->oc, c->k, c->s, 1, B->cv);
    ref_bn(B->cv, c->n, c->oc, B->oh * B->oh, B->a, B->m, c->resnet ? B->x : NULL, B->means, B->stds, 1, B->y);
    return ops_dot(B->y, B->r, (size_t)c->n * c->oc * B->oh * B->oh);
}

static void convbn_run(ops_env *e, const void *param)
{
    const convbn_case *cc = param;
    const backend_iface *B = ops_iface(e);
    int n = cc->n, ic = cc->ic, oc = cc->oc, h = cc->h, k = cc->k;
    convbn_ctx C = { .c = cc };
    C.oh = conv2d_out_size(h, k, cc->s, 1);
    size_t nx = (size_t)n * ic * h * h, nw = (size_t)oc * ic * k * k, ny = (size_t)n * oc * C.oh * C.oh;
    C.x = ops_rand(e, nx, -1, 1);
    C.wt = ops_rand(e, nw, -0.5, 0.5);
    C.a = ops_rand(e, oc, -1, 1);
    C.m = ops_rand(e, oc, 0.5, 1.5);
    C.r = ops_rand(e, ny, -1, 1);
    C.cv = ops_alloc(e, ny * sizeof(double));
    C.y = ops_alloc(e, ny * sizeof(double));
    C.means = ops_alloc(e, oc * sizeof(double));
    C.stds = ops_alloc(e, oc * sizeof(double));
    int xs[4] = { n, ic, h, h }, ws[4] = { oc, ic, k, k }, vs[3] = { oc, 1, 1 }, ys[4] = { n, oc, C.oh, C.oh };
    tensor_layout lay = cc->layout;
    tensor *x = ops_tensor(e, 4, xs, lay, C.x), *w = ops_tensor(e, 4, ws, TL_PLAIN, C.wt),
           *a = ops_tensor(e, 3, vs, TL_PLAIN, C.a), *m = ops_tensor(e, 3, vs, TL_PLAIN, C.m),
           *mu = ops_tensor(e, 3, vs, TL_PLAIN, NULL), *sd = ops_tensor(e, 3, vs, TL_PLAIN, NULL),
           *c = ops_tensor(e, 4, ys, TL_ACT, NULL), *y = ops_tensor(e, 4, ys, TL_ACT, NULL),
           *dy = ops_tensor(e, 4, ys, TL_ACT, C.r), *dc = ops_tensor(e, 4, ys, TL_ACT, NULL),
           *dx = ops_tensor(e, 4, xs, lay, NULL), *dw = ops_tensor(e, 4, ws, TL_PLAIN, NULL),
           *da = ops_tensor(e, 3, vs, TL_PLAIN, NULL), *dm = ops_tensor(e, 3, vs, TL_PLAIN, NULL);
    conv2d_desc d = { .max_n = n, .ic = ic, .ih = h, .iw = h, .oc = oc, .kh = k, .kw = k, .stride = cc->s, .pad = 1,
                      .need_dx = 1, .src_layout = lay, .algo = CONV2D_ALGO_AUTO };
    conv2d_plan *P = B->conv2d_plan_make(ops_ctx(e), &d);
    OPS_CHECK(e, P != NULL);
    if (!P) return;
    OPS_CHECK(e, B->conv2d_fwd(ops_ctx(e), P, x, w, NULL, c) == C_OK);
    OPS_CHECK(e, B->bnlayer_fwd(ops_ctx(e), c, a, m, mu, sd, cc->resnet ? x : NULL, y, 1) == C_OK);
    if (ops_reference(e)) convbn_f(&C);
    ops_expect(e, "y (training)", y, C.y, 1e-4, 1e-4);
    float *fm = ops_get(e, mu), *fs = ops_get(e, sd);
    ops_expect_values(e, "means", fm, (size_t)oc, C.means, 1e-4, 1e-5);
    ops_expect_values(e, "stds", fs, (size_t)oc, C.stds, 1e-4, 1e-5);
    /* backward: BnLayer into dc, conv into dx, the skip adds dy */
    OPS_CHECK(e, B->bnlayer_bwd(ops_ctx(e), c, m, mu, sd, dy, dc, da, dm) == C_OK);
    OPS_CHECK(e, B->conv2d_bwd(ops_ctx(e), P, x, w, NULL, dc, dx, dw, NULL) == C_OK);
    if (cc->resnet) OPS_CHECK(e, B->accumulate(ops_ctx(e), dx, dy) == C_OK);
    ops_expect_grad(e, "dx", dx, C.x, nx, convbn_f, &C, 24, 2e-3, 1e-4);
    ops_expect_grad(e, "dw", dw, C.wt, nw, convbn_f, &C, 24, 2e-3, 1e-4);
    ops_expect_grad(e, "da", da, C.a, (size_t)oc, convbn_f, &C, 24, 2e-3, 1e-4);
    ops_expect_grad(e, "dm", dm, C.m, (size_t)oc, convbn_f, &C, 24, 2e-3, 1e-4);
    /* eval mode: a different batch normalised with the stored statistics */
    double *x2 = ops_rand(e, nx, -1, 1), *means = ops_alloc(e, oc * sizeof(double)), *stds = ops_alloc(e, oc * sizeof(double));
    for (int i = 0; i < oc; i++) { means[i] = fm[i]; stds[i] = fs[i]; }
    tensor *x2t = ops_tensor(e, 4, xs, lay, x2);
    OPS_CHECK(e, B->conv2d_fwd(ops_ctx(e), P, x2t, w, NULL, c) == C_OK);
    OPS_CHECK(e, B->bnlayer_fwd(ops_ctx(e), c, a, m, mu, sd, cc->resnet ? x2t : NULL, y, 0) == C_OK);
    if (ops_reference(e)) {
        ref_conv(x2, n, ic, h, h, C.wt, NULL, oc, k, cc->s, 1, C.cv);
        ref_bn(C.cv, n, oc, C.oh * C.oh, C.a, C.m, cc->resnet ? x2 : NULL, means, stds, 0, C.y);
    }
    ops_expect(e, "y (eval)", y, C.y, 1e-4, 1e-4);
    float *fm2 = ops_get(e, mu);
    OPS_CHECK(e, fm2[0] == fm[0]);                          /* eval leaves the statistics alone */
    B->conv2d_plan_free(ops_ctx(e), P);
}

/* ---- on its own: c given, larger channel counts ---- */
typedef struct bn_case { int n, C, hw, skip; } bn_case;

static void bn_run(ops_env *e, const void *param)
{
    const bn_case *bc = param;
    const backend_iface *B = ops_iface(e);
    int n = bc->n, C = bc->C, hw = bc->hw, HW = hw * hw;
    size_t tot = (size_t)n * C * HW;
    /* shifted so a good share survives the ReLU and the std is well away from 0 */
    double *hc = ops_rand(e, tot, -0.5, 1.5), *hs = ops_rand(e, tot, -1, 1), *hdy = ops_rand(e, tot, -1, 1);
    double *ha = ops_rand(e, C, -0.2, 0.2), *hm = ops_rand(e, C, 0.5, 1.5);
    double *ry = ops_alloc(e, tot * sizeof(double)), *rmu = ops_alloc(e, C * sizeof(double)),
           *rsd = ops_alloc(e, C * sizeof(double));
    int s4[4] = { n, C, hw, hw }, vs[3] = { C, 1, 1 };
    tensor *c = ops_tensor(e, 4, s4, TL_ACT, hc), *s = ops_tensor(e, 4, s4, TL_ACT, hs), *y = ops_tensor(e, 4, s4, TL_ACT, NULL),
           *dy = ops_tensor(e, 4, s4, TL_ACT, hdy), *dc = ops_tensor(e, 4, s4, TL_ACT, NULL),
           *a = ops_tensor(e, 3, vs, TL_PLAIN, ha), *m = ops_tensor(e, 3, vs, TL_PLAIN, hm),
           *mu = ops_tensor(e, 3, vs, TL_PLAIN, NULL), *sd = ops_tensor(e, 3, vs, TL_PLAIN, NULL),
           *da = ops_tensor(e, 3, vs, TL_PLAIN, NULL), *dm = ops_tensor(e, 3, vs, TL_PLAIN, NULL);
    OPS_CHECK(e, B->bnlayer_fwd(ops_ctx(e), c, a, m, mu, sd, bc->skip ? s : NULL, y, 1) == C_OK);
    if (ops_reference(e)) ref_bn(hc, n, C, HW, ha, hm, bc->skip ? hs : NULL, rmu, rsd, 1, ry);
    ops_expect(e, "means", mu, rmu, 1e-4, 1e-5);
    ops_expect(e, "stds", sd, rsd, 1e-4, 1e-5);
    ops_expect(e, "y (training)", y, ry, 1e-4, 1e-4);
    OPS_CHECK(e, B->bnlayer_bwd(ops_ctx(e), c, m, mu, sd, dy, dc, da, dm) == C_OK);
    ops_expect(e, "dc", dc, NULL, 0, 1e-4);
    ops_expect(e, "da", da, NULL, 0, 1e-4);
    ops_expect(e, "dm", dm, NULL, 0, 1e-4);
    /* eval mode reads stored statistics */
    double *hmu = ops_rand(e, C, 0, 1), *hsd = ops_rand(e, C, 0.5, 2);
    ops_set(e, mu, hmu);
    ops_set(e, sd, hsd);
    for (int i = 0; i < C; i++) { rmu[i] = (float)hmu[i]; rsd[i] = (float)hsd[i]; }
    OPS_CHECK(e, B->bnlayer_fwd(ops_ctx(e), c, a, m, mu, sd, bc->skip ? s : NULL, y, 0) == C_OK);
    if (ops_reference(e)) ref_bn(hc, n, C, HW, ha, hm, bc->skip ? hs : NULL, rmu, rsd, 0, ry);
    ops_expect(e, "y (eval)", y, ry, 1e-4, 1e-5);
    ops_expect(e, "means after eval", mu, rmu, 0, 0);
}

#define CONVBN(name, ...) { "bnlayer/" name, convbn_run, &(const convbn_case){ __VA_ARGS__ } }
#define BN(name, ...) { "bnlayer/" name, bn_run, &(const bn_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    /* n ic oc h k s resnet layout */
    CONVBN("after conv n3 ic3 oc16 9x9 k7 s1 plain (resnet2's conv1, smaller)", 3, 3, 16, 9, 7, 1, 0, TL_PLAIN),
    CONVBN("after conv n2 ic10 oc20 8x8 k3 s2 (padded channel blocks)", 2, 10, 20, 8, 3, 2, 0, TL_ACT),
    CONVBN("after conv n1 ic5 oc7 6x6 k3 s2 (batch 1)", 1, 5, 7, 6, 3, 2, 0, TL_ACT),
    CONVBN("resnetlayer n2 c20 5x5", 2, 20, 20, 5, 3, 1, 1, TL_ACT),
    CONVBN("resnetlayer n3 c32 4x4", 3, 32, 32, 4, 3, 1, 1, TL_ACT),
    /* 361 positions: the sums' float sub-blocks and odd tails */
    CONVBN("resnetlayer n2 c17 19x19", 2, 17, 17, 19, 3, 1, 1, TL_ACT),
    /* n C hw skip */
    BN("alone n16 c20 16x16", 16, 20, 16, 0),
    BN("alone n16 c40 8x8 skip", 16, 40, 8, 1),
    BN("alone n3 c7 2x2 (small M, channels not a multiple of 16)", 3, 7, 2, 0),
};

OPS_SUITE(bnlayer, cases);
