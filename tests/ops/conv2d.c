/* conv2d.c: the convolution's reference and cases: odd sizes, stride 1/2, padding 0..3, kernel
 * 1/3/5/7, batch 1 and >1, a partial batch of a larger plan, plain and blocked inputs, with and
 * without bias, fused ReLU and input gradient, both algorithm choices, and shapes where oneDNN
 * may pick Winograd or falls back to its nhwc path.
 * Tolerances: forward 1e-4 against the reference (float accumulation, Winograd); gradients 2e-3
 * against finite differences; CUDA against the CPU 1e-4 (cuDNN algorithms round differently;
 * TF32 off). */
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
#define GPU_TOL 1e-4

typedef struct conv_case {
    int n, ic, ih, iw, oc, k, s, p, bias, relu, plain_in;
    int grad;        /* check the backward too */
    int algo;        /* CONV2D_ALGO_AUTO or _DIRECT */
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
        OPS_CHECK(e, B->conv2d_bwd(ops_ctx(e), P, x, w, y, dy, cc->no_dx ? NULL : dx, dw, cc->bias ? db : NULL) == C_OK);
        if (!cc->no_dx) ops_expect_grad(e, "dx", dx, C.x, (size_t)cc->n * cc->ic * cc->ih * cc->iw, conv_f, &C, 24,
                                        GRAD_TOL, GPU_TOL);
        ops_expect_grad(e, "dw", dw, C.w, nw, conv_f, &C, 24, GRAD_TOL, GPU_TOL);
        if (cc->bias) ops_expect_grad(e, "db", db, C.b, (size_t)cc->oc, conv_f, &C, 24, GRAD_TOL, GPU_TOL);
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
    /* the CPU's own Winograd F(4x4,3x3), forced */
    CONV("wino n2 ic5 9x11 oc7 p1 bias relu", 2, 5, 9, 11, 7, 3, 1, 1, 1, 1, 0, 1, WINO, 0, 0),
    CONV("wino n1 ic20 7x7 oc33 p1", 1, 20, 7, 7, 33, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino n3 ic16 6x6 oc16 p0 bias", 3, 16, 6, 6, 16, 3, 1, 0, 1, 0, 0, 1, WINO, 0, 0),
    CONV("wino n2 ic32 5x5 oc32 p1", 2, 32, 5, 5, 32, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino n4 ic32 16x16 oc32 p1 (resnet2 layers2.0)", 4, 32, 16, 16, 32, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
    CONV("wino n3 ic16 32x32 oc64 p1 (3 chunks)", 3, 16, 32, 32, 64, 3, 1, 1, 0, 0, 0, 1, WINO, 0, 0),
};

OPS_SUITE(conv2d, cases);
