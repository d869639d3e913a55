/* conv2d.c: the convolution's reference and cases: odd sizes, stride 1/2, padding 0..3, kernel
 * 1/3/5/7, batch 1 and >1, a partial batch of a larger plan, plain and blocked inputs, with and
 * without bias, fused ReLU and input gradient, both algorithm choices, and shapes where oneDNN
 * may pick Winograd or falls back to its nhwc path.
 * Tolerances: forward 1e-4 against the reference (float accumulation, Winograd); gradients 1e-4
 * against the exact double-precision gradients (the ReLU mask taken from the backend's y) and 2e-3
 * against finite differences; CUDA against the CPU 1e-4 (cuDNN algorithms round differently;
 * TF32 off). Each case also runs a second step on the same plan, which must give the same bytes.
 *
 * The "wino" cases force the CPU's own Winograd F(4x4,3x3) (winograd.c), with the same tolerances
 * for every pass. Its error, max|got - ref| / max|ref|, against oneDNN's direct kernels on the
 * same cases (CONV2D_ALGO_DIRECT), measured on Zen 4 (AVX-512, nChw16c), forward / dx / dw:
 *   shape                           winograd                     direct
 *   resnet2 ic32 14x14 oc32 n2      3.7e-6 / 1.8e-6 / 2.8e-6     4.0e-7 / 3.0e-7 / 8.0e-7
 *   resnet2 ic128 7x7 oc128 n1      7.0e-6 / 1.5e-6 / 2.2e-6     3.4e-7 / 2.1e-7 / 3.5e-7
 *   resnet2 ic256 4x4 oc256 n1      9.7e-6 / 1.7e-6 / 3.0e-6     2.7e-7 / 2.6e-7 / 1.1e-7
 *   airbench94 ic24 31x31 oc64 n1   4.2e-6 / 3.0e-6 / 4.1e-6     4.2e-7 / 3.5e-7 / 1.1e-6
 *   airbench94 ic64 15x15 oc64 n1   5.9e-6 / 2.6e-6 / 2.1e-6     2.9e-7 / 2.6e-7 / 5.4e-7
 *   airbench94 ic256 3x3 oc256 n2   3.1e-6 / 4.9e-7 / 6.4e-7     2.6e-7 / 2.2e-7 / 1.4e-7
 *   ic5 9x11 oc7 bias relu n2       1.3e-6 / 1.3e-6 / 1.5e-6     1.4e-7 / 1.9e-7 / 2.0e-7
 *   ic20 7x7 oc33 n1                4.1e-6 / 7.3e-7 / 1.8e-6     3.2e-7 / 2.0e-7 / 2.1e-7
 *   ic16 6x6 oc16 p0 bias n3        2.3e-6 / 1.4e-6 / 1.9e-6     4.3e-7 / 3.0e-7 / 1.3e-7
 *   ic32 5x5 oc32 n2                2.2e-6 / 1.7e-6 / 2.0e-6     3.2e-7 / 2.5e-7 / 2.8e-7
 *   ic9 13x10 oc11 p0 bias relu n2  2.0e-6 / 8.6e-7 / 1.3e-6     2.8e-7 / 2.0e-7 / 1.9e-7
 *   ic3 5x5 oc4 p0 n2               2.8e-7 / 3.2e-7 / 2.4e-7     1.4e-7 / 1.0e-7 / 1.1e-7
 *   ic7 3x3 oc5 p0 n1               1.8e-7 / 2.4e-7 / 2.5e-7     2.3e-7 / 6.1e-8 / 6.2e-8
 *   ic10 8x8 oc20 bias relu n3 of 5 1.5e-6 / 1.3e-6 / 2.2e-6     3.4e-7 / 3.1e-7 / 2.5e-7
 *   ic12 10x10 oc8 n2 (no dx)       3.1e-6 / -      / 1.6e-6     3.7e-7 / -      / 2.3e-7
 *   ic1 32x32 oc160 n3              3.1e-6 / 4.3e-6 / 3.9e-6     1.3e-7 / 1.3e-6 / 1.2e-6
 * so Winograd is 3 to 35 times less exact (most at 256 channels), still 10x inside the tolerance;
 * a wrong transform coefficient, a missing tile row or the padding ignored fails by 0.1 to 50. */
#include <string.h>
#include "ops/harness.h"
#include "ops/reference.h"

#include "ops/conv2d.h"
#include "ops/sgd.h"

void ref_conv(const double *x, int N, int ic, int ih, int iw, const double *w, const double *b,
              int oc, int k, int s, int p, double *y)
{
    int oh = conv2d_out_size(ih, k, s, p), ow = conv2d_out_size(iw, k, s, p);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < oc; o++) {
            double *yo = y + ((size_t)n * oc + o) * oh * ow;
            for (int i = 0; i < oh * ow; i++) yo[i] = b ? b[o] : 0.0;
            for (int c = 0; c < ic; c++) {
                const double *xc = x + ((size_t)n * ic + c) * ih * iw;
                for (int u = 0; u < k; u++)
                    for (int v = 0; v < k; v++) {
                        double wv = w[(((size_t)o * ic + c) * k + u) * k + v];
                        for (int r = 0; r < oh; r++) {
                            int yy = r * s - p + u;
                            if (yy < 0 || yy >= ih) continue;
                            for (int q = 0; q < ow; q++) {
                                int xx = q * s - p + v;
                                if (xx >= 0 && xx < iw) yo[r * ow + q] += wv * xc[yy * iw + xx];
                            }
                        }
                    }
            }
        }
}

#define FWD_TOL 1e-4
#define GRAD_TOL 2e-3
#define EXACT_TOL 1e-4   /* dx, dw, db against the exact double-precision gradients */
#define GPU_TOL 1e-4

/* The exact gradients of sum(g * conv(x, w)), g the output gradient (already masked for a fused
 * ReLU): dx (NULL: not asked), dw, db (NULL: no bias), all overwritten. */
static void ref_conv_grads(const double *x, int N, int ic, int ih, int iw, const double *w, int oc, int k, int s,
                           int p, const double *g, double *dx, double *dw, double *db)
{
    int oh = conv2d_out_size(ih, k, s, p), ow = conv2d_out_size(iw, k, s, p);
    if (dx) memset(dx, 0, (size_t)N * ic * ih * iw * sizeof *dx);
    memset(dw, 0, (size_t)oc * ic * k * k * sizeof *dw);
    if (db) memset(db, 0, (size_t)oc * sizeof *db);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < oc; o++) {
            const double *go = g + ((size_t)n * oc + o) * oh * ow;
            if (db)
                for (int i = 0; i < oh * ow; i++) db[o] += go[i];
            for (int c = 0; c < ic; c++) {
                size_t xo = ((size_t)n * ic + c) * ih * iw;
                for (int u = 0; u < k; u++)
                    for (int v = 0; v < k; v++) {
                        size_t wi = (((size_t)o * ic + c) * k + u) * k + v;
                        double acc = 0;
                        for (int r = 0; r < oh; r++) {
                            int yy = r * s - p + u;
                            if (yy < 0 || yy >= ih) continue;
                            for (int q = 0; q < ow; q++) {
                                int xx = q * s - p + v;
                                if (xx < 0 || xx >= iw) continue;
                                acc += x[xo + (size_t)yy * iw + xx] * go[r * ow + q];
                                if (dx) dx[xo + (size_t)yy * iw + xx] += w[wi] * go[r * ow + q];
                            }
                        }
                        dw[wi] += acc;
                    }
            }
        }
}

typedef struct conv_case {
    int n, ic, ih, iw, oc, k, s, p, bias, relu, plain_in;
    int grad;        /* check the backward too */
    int algo;        /* CONV2D_ALGO_AUTO, _DIRECT or _WINOGRAD */
    int max_n;       /* plan batch (0: n) */
    int no_dx;       /* plan made without need_dx */
} conv_case;

typedef struct conv_ctx {
    const conv_case *c;
    double *x, *w, *b, *r, *y;
    int oh, ow;
} conv_ctx;

/* the scalar whose gradients are checked: sum(relu?(conv(x, w) + b) * r) */
static double conv_f(void *vp)
{
    conv_ctx *C = vp;
    const conv_case *c = C->c;
    ref_conv(C->x, c->n, c->ic, c->ih, c->iw, C->w, c->bias ? C->b : NULL, c->oc, c->k, c->s, c->p, C->y);
    size_t ny = (size_t)c->n * c->oc * C->oh * C->ow;
    if (c->relu) ref_relu(C->y, ny);
    return ops_dot(C->y, C->r, ny);
}

/* The weights after a training pass (the CPU keeps them in its primitive's blocked layout): they
 * read back as the values uploaded, bit for bit; a copy reads the same; the SGD step on them, their
 * gradient and a momentum buffer gives per element what ops/sgd.h gives on plain values. */
static void weights_round_trip(ops_env *e, tensor *w, tensor *dw, const int *ws, const double *w0,
                               size_t nw)
{
    const backend_iface *B = ops_iface(e);
    float *want = ops_alloc(e, nw * sizeof *want);
    for (size_t i = 0; i < nw; i++) want[i] = (float)w0[i];
    float *got = ops_get(e, w);
    OPS_CHECK(e, !memcmp(got, want, nw * sizeof *got));
    tensor *cp = ops_tensor(e, 4, ws, TL_PLAIN, NULL);
    OPS_CHECK(e, B->copy(ops_ctx(e), cp, w) == C_OK);
    OPS_CHECK(e, !memcmp(ops_get(e, cp), want, nw * sizeof *got));
    float *g = ops_get(e, dw), *m = ops_alloc(e, nw * sizeof *m);
    for (size_t i = 0; i < nw; i++) m[i] = (float)(i % 7) * 0.125f - 0.375f;
    tensor *mom = ops_tensor(e, 4, ws, TL_PLAIN, NULL);
    OPS_CHECK(e, B->upload(ops_ctx(e), mom, m) == C_OK);
    OPS_CHECK(e, B->sgd_step(ops_ctx(e), w, dw, mom, nw, 0.05f, 0.9f, 1e-3f, 0) == C_OK);
    for (size_t i = 0; i < nw; i++) sgd_update(&want[i], g[i], &m[i], 0.05f, 0.9f, 1e-3f, 0);
    OPS_CHECK(e, !memcmp(ops_get(e, w), want, nw * sizeof *got));
    OPS_CHECK(e, !memcmp(ops_get(e, mom), m, nw * sizeof *got));
}

static void conv_run(ops_env *e, const void *param)
{
    const conv_case *cc = param;
    const backend_iface *B = ops_iface(e);
    int max_n = cc->max_n ? cc->max_n : cc->n;
    conv_ctx C = { .c = cc };
    C.oh = conv2d_out_size(cc->ih, cc->k, cc->s, cc->p);
    C.ow = conv2d_out_size(cc->iw, cc->k, cc->s, cc->p);
    size_t nx = (size_t)max_n * cc->ic * cc->ih * cc->iw, nw = (size_t)cc->oc * cc->ic * cc->k * cc->k,
           ny = (size_t)max_n * cc->oc * C.oh * C.ow;
    C.x = ops_rand(e, nx, -1, 1);
    C.w = ops_rand(e, nw, -0.5, 0.5);
    C.b = ops_rand(e, cc->oc, -0.5, 0.5);
    C.r = ops_rand(e, ny, -1, 1);
    C.y = ops_alloc(e, ny * sizeof(double));
    tensor_layout lin = cc->plain_in ? TL_PLAIN : TL_ACT;
    int xs[4] = { max_n, cc->ic, cc->ih, cc->iw }, ws[4] = { cc->oc, cc->ic, cc->k, cc->k }, bs[1] = { cc->oc },
        ys[4] = { max_n, cc->oc, C.oh, C.ow };
    tensor *x = ops_tensor(e, 4, xs, lin, C.x), *w = ops_tensor(e, 4, ws, TL_PLAIN, C.w),
           *b = ops_tensor(e, 1, bs, TL_PLAIN, C.b), *y = ops_tensor(e, 4, ys, TL_ACT, NULL),
           *dy = ops_tensor(e, 4, ys, TL_ACT, C.r), *dx = ops_tensor(e, 4, xs, lin, NULL),
           *dw = ops_tensor(e, 4, ws, TL_PLAIN, NULL), *db = ops_tensor(e, 1, bs, TL_PLAIN, NULL);
    /* a partial batch of the plan: the first n images */
    x->shape[0] = y->shape[0] = dy->shape[0] = dx->shape[0] = cc->n;
    conv2d_desc d = { .max_n = max_n, .ic = cc->ic, .ih = cc->ih, .iw = cc->iw, .oc = cc->oc, .kh = cc->k, .kw = cc->k,
                      .stride = cc->s, .pad = cc->p, .bias = cc->bias, .relu = cc->relu, .need_dx = !cc->no_dx,
                      .src_layout = lin, .algo = cc->algo };
    conv2d_plan *P = B->conv2d_plan_make(ops_ctx(e), &d);
    OPS_CHECK(e, P != NULL);
    if (!P) return;
    OPS_CHECK(e, B->conv2d_fwd(ops_ctx(e), P, x, w, cc->bias ? b : NULL, y) == C_OK);
    if (ops_reference(e)) conv_f(&C);
    ops_expect(e, "y", y, C.y, FWD_TOL, GPU_TOL);
    if (cc->grad) {
        tensor *gx = cc->no_dx ? NULL : dx, *gb = cc->bias ? db : NULL;
        size_t nxn = (size_t)cc->n * cc->ic * cc->ih * cc->iw, nyn = (size_t)cc->n * cc->oc * C.oh * C.ow;
        OPS_CHECK(e, B->conv2d_bwd(ops_ctx(e), P, x, w, y, dy, gx, dw, gb) == C_OK);
        double *rdx = NULL, *rdw = NULL, *rdb = NULL;
        if (ops_reference(e)) {  /* exact gradients, the ReLU mask taken from the backend's y */
            const float *yf = ops_get(e, y);
            double *g = ops_alloc(e, nyn * sizeof *g);
            for (size_t i = 0; i < nyn; i++) g[i] = !cc->relu || yf[i] > 0 ? C.r[i] : 0;
            rdx = gx ? ops_alloc(e, nxn * sizeof *rdx) : NULL;
            rdw = ops_alloc(e, nw * sizeof *rdw);
            rdb = gb ? ops_alloc(e, (size_t)cc->oc * sizeof *rdb) : NULL;
            ref_conv_grads(C.x, cc->n, cc->ic, cc->ih, cc->iw, C.w, cc->oc, cc->k, cc->s, cc->p, g, rdx, rdw, rdb);
        }
        if (gx) ops_expect(e, "dx exact", gx, rdx, EXACT_TOL, GPU_TOL);
        ops_expect(e, "dw exact", dw, rdw, EXACT_TOL, GPU_TOL);
        if (gb) ops_expect(e, "db exact", gb, rdb, EXACT_TOL, GPU_TOL);
        if (gx) ops_expect_grad(e, "dx", gx, C.x, nxn, conv_f, &C, 24, GRAD_TOL, GPU_TOL);
        ops_expect_grad(e, "dw", dw, C.w, nw, conv_f, &C, 24, GRAD_TOL, GPU_TOL);
        if (gb) ops_expect_grad(e, "db", gb, C.b, (size_t)cc->oc, conv_f, &C, 24, GRAD_TOL, GPU_TOL);
        /* a second step on the same plan gives the same bytes (no state carried between steps) */
        tensor *outs[4] = { y, gx, dw, gb };
        float *first[4] = { 0 };
        for (int i = 0; i < 4; i++) first[i] = outs[i] ? ops_get(e, outs[i]) : NULL;
        OPS_CHECK(e, B->conv2d_fwd(ops_ctx(e), P, x, w, cc->bias ? b : NULL, y) == C_OK);
        OPS_CHECK(e, B->conv2d_bwd(ops_ctx(e), P, x, w, y, dy, gx, dw, gb) == C_OK);
        for (int i = 0; i < 4; i++)
            if (outs[i])
                OPS_CHECK(e, !memcmp(ops_get(e, outs[i]), first[i], tensor_numel(outs[i]) * sizeof(float)));
        weights_round_trip(e, w, dw, ws, C.w, nw);
    }
    B->conv2d_plan_free(ops_ctx(e), P);
}

#define AUTO CONV2D_ALGO_AUTO
#define DIRECT CONV2D_ALGO_DIRECT
#define WINO CONV2D_ALGO_WINOGRAD
/* n ic ih iw oc k s p bias relu plain_in grad algo [max_n no_dx] */
#define CONV(name, ...) { "conv2d/" name, conv_run, &(const conv_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    CONV("n1 ic3 9x11 oc5 k3 s1 p1 bias plain", 1, 3, 9, 11, 5, 3, 1, 1, 1, 0, 1, 1, AUTO, 0, 0),
    CONV("n3 ic3 13x12 oc7 k5 s2 p2 bias relu plain", 3, 3, 13, 12, 7, 5, 2, 2, 1, 1, 1, 1, AUTO, 0, 0),
    CONV("n2 ic5 11x9 oc6 k7 s1 p1", 2, 5, 11, 9, 6, 7, 1, 1, 0, 0, 0, 1, AUTO, 0, 0),
    CONV("n2 ic17 8x7 oc20 k3 s2 p0 bias relu", 2, 17, 8, 7, 20, 3, 2, 0, 1, 1, 0, 1, AUTO, 0, 0),
    CONV("n1 ic20 7x7 oc33 k3 s1 p1", 1, 20, 7, 7, 33, 3, 1, 1, 0, 0, 0, 1, AUTO, 0, 0),
    CONV("n3 ic16 6x6 oc16 k3 s1 p1", 3, 16, 6, 6, 16, 3, 1, 1, 0, 0, 0, 1, AUTO, 0, 0),
    CONV("n2 ic32 5x5 oc32 k3 s1 p1", 2, 32, 5, 5, 32, 3, 1, 1, 0, 0, 0, 1, AUTO, 0, 0),
    CONV("n2 ic3 12x12 oc16 k7 s1 p1 plain", 2, 3, 12, 12, 16, 7, 1, 1, 0, 0, 1, 1, AUTO, 0, 0),
    CONV("n2 ic6 15x15 oc10 k3 s2 p0 bias relu", 2, 6, 15, 15, 10, 3, 2, 0, 1, 1, 0, 1, AUTO, 0, 0),
    CONV("n1 ic4 10x10 oc8 k5 s2 p1 bias", 1, 4, 10, 10, 8, 5, 2, 1, 1, 0, 0, 1, AUTO, 0, 0),
    /* convbnnet layers.0: oneDNN has no blocked kernel, nhwc path */
    CONV("n2 ic10 12x12 oc20 k3 s2 p1 relu (nhwc path)", 2, 10, 12, 12, 20, 3, 2, 1, 0, 1, 0, 1, AUTO, 0, 0),
    CONV("n1 ic3 9x11 oc5 k3 s1 p1 bias plain direct", 1, 3, 9, 11, 5, 3, 1, 1, 1, 0, 1, 0, DIRECT, 0, 0),
    CONV("n3 ic3 13x12 oc7 k5 s2 p2 bias relu plain direct", 3, 3, 13, 12, 7, 5, 2, 2, 1, 1, 1, 0, DIRECT, 0, 0),
    CONV("n2 ic5 11x9 oc6 k7 s1 p1 direct", 2, 5, 11, 9, 6, 7, 1, 1, 0, 0, 0, 0, DIRECT, 0, 0),
    CONV("n2 ic17 8x7 oc20 k3 s2 p0 bias relu direct", 2, 17, 8, 7, 20, 3, 2, 0, 1, 1, 0, 0, DIRECT, 0, 0),
    CONV("n1 ic20 7x7 oc33 k3 s1 p1 direct", 1, 20, 7, 7, 33, 3, 1, 1, 0, 0, 0, 0, DIRECT, 0, 0),
    CONV("n3 ic16 6x6 oc16 k3 s1 p1 direct", 3, 16, 6, 6, 16, 3, 1, 1, 0, 0, 0, 0, DIRECT, 0, 0),
    CONV("n2 ic32 5x5 oc32 k3 s1 p1 direct", 2, 32, 5, 5, 32, 3, 1, 1, 0, 0, 0, 0, DIRECT, 0, 0),
    CONV("n2 ic3 12x12 oc16 k7 s1 p1 plain direct", 2, 3, 12, 12, 16, 7, 1, 1, 0, 0, 1, 0, DIRECT, 0, 0),
    CONV("n2 ic6 15x15 oc10 k3 s2 p0 bias relu direct", 2, 6, 15, 15, 10, 3, 2, 0, 1, 1, 0, 0, DIRECT, 0, 0),
    CONV("n1 ic4 10x10 oc8 k5 s2 p1 bias direct", 1, 4, 10, 10, 8, 5, 2, 1, 1, 0, 0, 0, DIRECT, 0, 0),
    CONV("n2 ic10 12x12 oc20 k3 s2 p1 relu direct", 2, 10, 12, 12, 20, 3, 2, 1, 0, 1, 0, 0, DIRECT, 0, 0),
    /* resnet-like 3x3 stride-1 layers at a batch where oneDNN may choose Winograd */
    CONV("winograd n16 ic32 14x14 oc32 k3 s1 p1", 16, 32, 14, 14, 32, 3, 1, 1, 0, 0, 0, 1, AUTO, 0, 0),
    CONV("winograd n16 ic64 7x7 oc64 k3 s1 p1", 16, 64, 7, 7, 64, 3, 1, 1, 0, 0, 0, 0, AUTO, 0, 0),
    /* the shapes of the networks (formerly the CUDA parity cases) */
    CONV("first layer n8 ic3 32x32 oc16 k3 s1 p1 bias relu plain no_dx", 8, 3, 32, 32, 16, 3, 1, 1, 1, 1, 1, 1, AUTO, 8, 1),
    CONV("bnlayer-style n8 ic16 16x16 oc32 k3 s2 p1", 8, 16, 16, 16, 32, 3, 2, 1, 0, 0, 0, 1, AUTO, 8, 0),
    CONV("partial batch n5 of 8 ic10 8x8 oc20 k5 s1 p2 bias relu", 5, 10, 8, 8, 20, 5, 1, 2, 1, 1, 0, 1, AUTO, 8, 0),
    CONV("1x1 n6 ic24 7x7 oc17 k1 s1 p0 bias", 6, 24, 7, 7, 17, 1, 1, 0, 1, 0, 0, 1, AUTO, 6, 0),
    CONV("resnet2 stem n4 ic3 32x32 oc16 k7 s2 p3 plain no_dx", 4, 3, 32, 32, 16, 7, 2, 3, 0, 0, 1, 1, AUTO, 4, 1),
    /* the CPU's own Winograd F(4x4,3x3), forced: the 3x3 stride-1 layers of resnet2 and airbench94
     * (at small batches), odd sizes and channel counts, pad 0 and 1, batch 1 and > 1 */
    CONV("wino resnet2 layers2.0 n2 ic32 14x14 oc32 p1", 2, 32, 14, 14, 32, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino resnet2 layers2.1 n1 ic128 7x7 oc128 p1", 1, 128, 7, 7, 128, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino resnet2 layers2.2 n1 ic256 4x4 oc256 p1", 1, 256, 4, 4, 256, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino airbench94 2.conv1 n1 ic24 31x31 oc64 p1", 1, 24, 31, 31, 64, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino airbench94 2.conv2 n1 ic64 15x15 oc64 p1", 1, 64, 15, 15, 64, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino airbench94 4.conv2 n2 ic256 3x3 oc256 p1", 2, 256, 3, 3, 256, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino n2 ic5 9x11 oc7 p1 bias relu", 2, 5, 9, 11, 7, 3, 1, 1, 1, 1, 0, 1, WINO, 0, 0),
    CONV("wino n1 ic20 7x7 oc33 p1", 1, 20, 7, 7, 33, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino n3 ic16 6x6 oc16 p0 bias", 3, 16, 6, 6, 16, 3, 1, 0, 1, 0, 0, 1, WINO, 0, 0),
    CONV("wino n2 ic32 5x5 oc32 p1", 2, 32, 5, 5, 32, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino n2 ic9 13x10 oc11 p0 bias relu", 2, 9, 13, 10, 11, 3, 1, 0, 1, 1, 0, 1, WINO, 0, 0),
    CONV("wino n2 ic3 5x5 oc4 p0 (one partial tile)", 2, 3, 5, 5, 4, 3, 1, 0, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino n1 ic7 3x3 oc5 p0 (1x1 output)", 1, 7, 3, 3, 5, 3, 1, 0, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino partial batch n3 of 5 ic10 8x8 oc20 p1 bias relu", 3, 10, 8, 8, 20, 3, 1, 1, 1, 1, 0, 1, WINO, 5, 0),
    CONV("wino n2 ic12 10x10 oc8 p1 no_dx", 2, 12, 10, 10, 8, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 1),
    /* many output channels on one input channel (chunks of images: tests/unit/test_winograd.c) */
    CONV("wino n3 ic1 32x32 oc160 p1", 3, 1, 32, 32, 160, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    /* asked where it does not apply: oneDNN runs them */
    CONV("wino asked k5 n2 ic4 9x9 oc6 p2 (oneDNN)", 2, 4, 9, 9, 6, 5, 1, 2, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino asked first layer n2 ic3 12x12 oc16 p1 bias relu plain no_dx (oneDNN)", 2, 3, 12, 12, 16, 3, 1, 1, 1, 1,
         1, 1, WINO, 0, 1),
};

OPS_SUITE(conv2d, cases);
