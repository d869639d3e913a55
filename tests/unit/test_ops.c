/* Every CPU backend op against the double-precision references of ref_ops.h: forwards on random
 * inputs (odd sizes, stride 1/2, padding 0/1/2, kernel 3/5/7, batch 1 and >1, plain and blocked
 * layouts), backwards against central finite differences of the reference in double.
 * Tolerances: forward 1e-4 relative to the output's scale (float accumulation, Winograd);
 * gradients 2e-3 relative to the largest finite-difference value sampled. */
#include <stdlib.h>
#include "backend/backend.h"
#include "core/error.h"
#include "ref_ops.h"
#include "core/rng.h"
#include "test.h"

static backend be;
static rng_stream rs;

#define BI (be.iface)
#define FWD_TOL 1e-4
#define GRAD_TOL 2e-3
#define FD_H 1e-6

static double *drand_vec(size_t n, double lo, double hi)
{
    double *d = xmalloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = lo + (hi - lo) * rng_next_double(&rs);
    return d;
}

/* allocate + upload a double vector as float */
static void tput(tensor *t, int ndim, const int *shape, tensor_layout lay, const double *d)
{
    if (BI->alloc(be.ctx, t, DT_F32, ndim, shape, lay)) exit(2);
    if (!d) return;
    size_t n = tensor_numel(t);
    float *f = xmalloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)d[i];
    BI->upload(be.ctx, t, f);
    free(f);
}

static float *tget(const tensor *t)
{
    float *f = xmalloc(tensor_numel(t) * sizeof *f);
    BI->download(be.ctx, t, f);
    return f;
}

/* max |a - b| / max(max |b|, floor) */
static double rel_err(const float *a, const double *b, size_t n)
{
    double e = 0, s = 1e-6;
    for (size_t i = 0; i < n; i++) { s = fmax(s, fabs(b[i])); e = fmax(e, fabs(a[i] - b[i])); }
    return e / s;
}

typedef double (*scalar_fn)(void *);

/* Checks sampled entries of an analytic gradient g (float, of param) against central differences
 * of f in double. Returns the relative error. */
static double grad_err(double *param, size_t n, const float *g, scalar_fn f, void *ctx, int samples)
{
    double e = 0, s = 1e-6;
    for (int k = 0; k < samples && k < (int)n; k++) {
        size_t i = (size_t)samples >= n ? (size_t)k : rng_next_below(&rs, (uint32_t)n);
        double keep = param[i];
        param[i] = keep + FD_H;
        double a = f(ctx);
        param[i] = keep - FD_H;
        double b = f(ctx);
        param[i] = keep;
        double num = (a - b) / (2 * FD_H);
        s = fmax(s, fabs(num));
        e = fmax(e, fabs(g[i] - num));
    }
    return e / s;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ---- conv2d ---- */
typedef struct conv_case { int n, ic, ih, iw, oc, k, s, p, bias, relu, plain_in; } conv_case;

typedef struct conv_ctx {
    conv_case c;
    double *x, *w, *b, *r, *y;
    int oh, ow;
} conv_ctx;

static double conv_f(void *vp)
{
    conv_ctx *C = vp;
    ref_conv(C->x, C->c.n, C->c.ic, C->c.ih, C->c.iw, C->w, C->c.bias ? C->b : NULL, C->c.oc, C->c.k, C->c.s, C->c.p, C->y);
    size_t ny = (size_t)C->c.n * C->c.oc * C->oh * C->ow;
    if (C->c.relu) ref_relu(C->y, ny);
    return dot(C->y, C->r, ny);
}

static void conv_run(conv_case cc, int check_grad, int algo)
{
    conv_ctx C = { .c = cc };
    C.oh = conv2d_out_size(cc.ih, cc.k, cc.s, cc.p);
    C.ow = conv2d_out_size(cc.iw, cc.k, cc.s, cc.p);
    size_t nx = (size_t)cc.n * cc.ic * cc.ih * cc.iw, nw = (size_t)cc.oc * cc.ic * cc.k * cc.k,
           ny = (size_t)cc.n * cc.oc * C.oh * C.ow;
    C.x = drand_vec(nx, -1, 1); C.w = drand_vec(nw, -0.5, 0.5); C.b = drand_vec(cc.oc, -0.5, 0.5);
    C.r = drand_vec(ny, -1, 1); C.y = xmalloc(ny * sizeof(double));
    tensor_layout lin = cc.plain_in ? TL_PLAIN : TL_ACT;
    int xs[4] = { cc.n, cc.ic, cc.ih, cc.iw }, ws[4] = { cc.oc, cc.ic, cc.k, cc.k }, bs[1] = { cc.oc },
        ys[4] = { cc.n, cc.oc, C.oh, C.ow };
    tensor x, w, b, y, dy, dx, dw, db;
    tput(&x, 4, xs, lin, C.x); tput(&w, 4, ws, TL_PLAIN, C.w); tput(&b, 1, bs, TL_PLAIN, C.b);
    tput(&y, 4, ys, TL_ACT, NULL); tput(&dy, 4, ys, TL_ACT, C.r); tput(&dx, 4, xs, lin, NULL);
    tput(&dw, 4, ws, TL_PLAIN, NULL); tput(&db, 1, bs, TL_PLAIN, NULL);
    conv2d_desc d = { .max_n = cc.n, .ic = cc.ic, .ih = cc.ih, .iw = cc.iw, .oc = cc.oc, .kh = cc.k, .kw = cc.k,
                    .stride = cc.s, .pad = cc.p, .bias = cc.bias, .relu = cc.relu, .need_dx = 1,
                    .src_layout = lin, .algo = algo };
    conv2d_plan *P = BI->conv2d_plan_make(be.ctx, &d);
    CHECK(P != NULL);
    if (!P) return;
    CHECK(BI->conv2d_fwd(be.ctx, P, &x, &w, cc.bias ? &b : NULL, &y) == C_OK);
    conv_f(&C);
    float *yf = tget(&y);
    double fe = rel_err(yf, C.y, ny);
    CHECK_NEAR(fe, 0, FWD_TOL);
    if (check_grad) {
        CHECK(BI->conv2d_bwd(be.ctx, P, &x, &w, &y, &dy, &dx, &dw, cc.bias ? &db : NULL) == C_OK);
        float *gx = tget(&dx), *gw = tget(&dw), *gb = tget(&db);
        double ex = grad_err(C.x, nx, gx, conv_f, &C, 24), ew = grad_err(C.w, nw, gw, conv_f, &C, 24);
        CHECK_NEAR(ex, 0, GRAD_TOL);
        CHECK_NEAR(ew, 0, GRAD_TOL);
        if (cc.bias) {
            double eb = grad_err(C.b, cc.oc, gb, conv_f, &C, 24);
            CHECK_NEAR(eb, 0, GRAD_TOL);
        }
        free(gx); free(gw); free(gb);
    }
    free(yf);
    BI->conv2d_plan_free(be.ctx, P);
    tensor *ts[] = { &x, &w, &b, &y, &dy, &dx, &dw, &db };
    for (int i = 0; i < 8; i++) BI->free_tensor(be.ctx, ts[i]);
    free(C.x); free(C.w); free(C.b); free(C.r); free(C.y);
}

static const conv_case conv_cases[] = {
    /* n ic ih iw oc k s p bias relu plain_in */
    { 1, 3, 9, 11, 5, 3, 1, 1, 1, 0, 1 },
    { 3, 3, 13, 12, 7, 5, 2, 2, 1, 1, 1 },
    { 2, 5, 11, 9, 6, 7, 1, 1, 0, 0, 0 },
    { 2, 17, 8, 7, 20, 3, 2, 0, 1, 1, 0 },
    { 1, 20, 7, 7, 33, 3, 1, 1, 0, 0, 0 },
    { 3, 16, 6, 6, 16, 3, 1, 1, 0, 0, 0 },
    { 2, 32, 5, 5, 32, 3, 1, 1, 0, 0, 0 },
    { 2, 3, 12, 12, 16, 7, 1, 1, 0, 0, 1 },
    { 2, 6, 15, 15, 10, 3, 2, 0, 1, 1, 0 },
    { 1, 4, 10, 10, 8, 5, 2, 1, 1, 0, 0 },
    { 2, 10, 12, 12, 20, 3, 2, 1, 0, 1, 0 },   /* convbnnet layers.0: oneDNN has no blocked kernel, nhwc path */
};
#define N_CONV ((int)(sizeof conv_cases / sizeof conv_cases[0]))

static void conv_forward_matches_reference(void)
{
    for (int i = 0; i < N_CONV; i++) conv_run(conv_cases[i], 0, CONV2D_ALGO_AUTO);
    for (int i = 0; i < N_CONV; i++) conv_run(conv_cases[i], 0, CONV2D_ALGO_DIRECT);
}

static void conv_backward_matches_finite_differences(void)
{
    for (int i = 0; i < N_CONV; i++) conv_run(conv_cases[i], 1, CONV2D_ALGO_AUTO);
}

static void conv_winograd_shapes_match_reference(void)
{
    /* resnet-like 3x3 stride-1 layers at a batch where oneDNN may choose Winograd */
    conv_run((conv_case){ 16, 32, 14, 14, 32, 3, 1, 1, 0, 0, 0 }, 1, CONV2D_ALGO_AUTO);
    conv_run((conv_case){ 16, 64, 7, 7, 64, 3, 1, 1, 0, 0, 0 }, 0, CONV2D_ALGO_AUTO);
}

/* ---- linear ---- */
typedef struct lin_ctx { int n, in, out; double *x, *w, *b, *r, *y; } lin_ctx;
static double lin_f(void *vp)
{
    lin_ctx *L = vp;
    ref_linear(L->x, L->n, L->in, L->w, L->b, L->out, L->y);
    return dot(L->y, L->r, (size_t)L->n * L->out);
}

static void linear_matches_reference(void)
{
    int cases[][3] = { { 1, 7, 3 }, { 5, 33, 10 }, { 4, 3072, 40 } };
    for (int k = 0; k < 3; k++) {
        lin_ctx L = { .n = cases[k][0], .in = cases[k][1], .out = cases[k][2] };
        size_t nx = (size_t)L.n * L.in, nw = (size_t)L.out * L.in, ny = (size_t)L.n * L.out;
        L.x = drand_vec(nx, -1, 1); L.w = drand_vec(nw, -1, 1); L.b = drand_vec(L.out, -1, 1);
        L.r = drand_vec(ny, -1, 1); L.y = xmalloc(ny * sizeof(double));
        int xs[2] = { L.n, L.in }, ws[2] = { L.out, L.in }, bs[1] = { L.out }, ys[2] = { L.n, L.out };
        tensor x, w, b, y, dy, dx, dw, db;
        tput(&x, 2, xs, TL_PLAIN, L.x); tput(&w, 2, ws, TL_PLAIN, L.w); tput(&b, 1, bs, TL_PLAIN, L.b);
        tput(&y, 2, ys, TL_PLAIN, NULL); tput(&dy, 2, ys, TL_PLAIN, L.r); tput(&dx, 2, xs, TL_PLAIN, NULL);
        tput(&dw, 2, ws, TL_PLAIN, NULL); tput(&db, 1, bs, TL_PLAIN, NULL);
        CHECK(BI->linear_fwd(be.ctx, &x, &w, &b, &y) == C_OK);
        lin_f(&L);
        float *yf = tget(&y);
        CHECK_NEAR(rel_err(yf, L.y, ny), 0, FWD_TOL);
        CHECK(BI->linear_bwd(be.ctx, &x, &w, &dy, &dx, &dw, &db) == C_OK);
        float *gx = tget(&dx), *gw = tget(&dw), *gb = tget(&db);
        CHECK_NEAR(grad_err(L.x, nx, gx, lin_f, &L, 20), 0, GRAD_TOL);
        CHECK_NEAR(grad_err(L.w, nw, gw, lin_f, &L, 20), 0, GRAD_TOL);
        CHECK_NEAR(grad_err(L.b, L.out, gb, lin_f, &L, 20), 0, GRAD_TOL);
        free(yf); free(gx); free(gw); free(gb);
        tensor *ts[] = { &x, &w, &b, &y, &dy, &dx, &dw, &db };
        for (int i = 0; i < 8; i++) BI->free_tensor(be.ctx, ts[i]);
        free(L.x); free(L.w); free(L.b); free(L.r); free(L.y);
    }
}

/* ---- relu, max pool, flatten (blocked layouts) ---- */
typedef struct pool_ctx { int n, c, hw; double *x, *r, *y; int relu; } pool_ctx;
static double pool_f(void *vp)
{
    pool_ctx *P = vp;
    size_t nx = (size_t)P->n * P->c * P->hw;
    double *t = xmalloc(nx * sizeof *t);
    memcpy(t, P->x, nx * sizeof *t);
    if (P->relu) { ref_relu(t, nx); free(P->y); P->y = t; return dot(t, P->r, nx); }
    ref_maxpool(t, P->n, P->c, P->hw, P->y);
    free(t);
    return dot(P->y, P->r, (size_t)P->n * P->c);
}

static void relu_and_maxpool_match_reference(void)
{
    for (int lay = 0; lay < 2; lay++) {
        tensor_layout L = lay ? TL_ACT : TL_PLAIN;
        int N = 3, C = 21, H = 5, W = 3;
        int xs[4] = { N, C, H, W }, ps[4] = { N, C, 1, 1 }, is[2] = { N, C };
        size_t nx = (size_t)N * C * H * W;
        pool_ctx P = { N, C, H * W, drand_vec(nx, -1, 1), drand_vec(nx, -1, 1), xmalloc(nx * sizeof(double)), 1 };
        tensor x, y, dy, dx, py, pdy, idx;
        tput(&x, 4, xs, L, P.x); tput(&y, 4, xs, L, NULL); tput(&dy, 4, xs, L, P.r); tput(&dx, 4, xs, L, NULL);
        BI->relu_fwd(be.ctx, &x, &y);
        pool_f(&P);
        float *f = tget(&y);
        CHECK_NEAR(rel_err(f, P.y, nx), 0, 1e-7);
        free(f);
        BI->relu_bwd(be.ctx, &y, &dy, &dx);
        f = tget(&dx);
        CHECK_NEAR(grad_err(P.x, nx, f, pool_f, &P, 40), 0, GRAD_TOL);
        free(f);
        /* max pool */
        P.relu = 0;
        free(P.r); P.r = drand_vec((size_t)N * C, -1, 1);
        tput(&py, 4, ps, TL_PLAIN, NULL); tput(&pdy, 4, ps, TL_PLAIN, P.r);
        if (BI->alloc(be.ctx, &idx, DT_I32, 2, is, TL_PLAIN)) exit(2);
        BI->maxpool_fwd(be.ctx, &x, &py, &idx);
        pool_f(&P);
        f = tget(&py);
        CHECK_NEAR(rel_err(f, P.y, (size_t)N * C), 0, 1e-7);
        free(f);
        BI->maxpool_bwd(be.ctx, &idx, &pdy, &dx);
        f = tget(&dx);
        CHECK_NEAR(grad_err(P.x, nx, f, pool_f, &P, 60), 0, GRAD_TOL);
        free(f);
        tensor *ts[] = { &x, &y, &dy, &dx, &py, &pdy, &idx };
        for (int i = 0; i < 7; i++) BI->free_tensor(be.ctx, ts[i]);
        free(P.x); free(P.r); free(P.y);
    }
}

static void flatten_blocked_round_trip(void)
{
    int N = 2, C = 19, H = 3, W = 2, xs[4] = { N, C, H, W }, fs[2] = { N, C * H * W };
    size_t nx = (size_t)N * C * H * W;
    double *xd = drand_vec(nx, -1, 1);
    tensor x, y, dx;
    tput(&x, 4, xs, TL_ACT, xd); tput(&y, 2, fs, TL_PLAIN, NULL); tput(&dx, 4, xs, TL_ACT, NULL);
    BI->flatten_fwd(be.ctx, &x, &y);
    float *f = tget(&y);
    CHECK_NEAR(rel_err(f, xd, nx), 0, 1e-7);     /* NCHW order, as x.view(n, -1) */
    free(f);
    BI->flatten_bwd(be.ctx, &y, &dx);
    f = tget(&dx);
    CHECK_NEAR(rel_err(f, xd, nx), 0, 1e-7);
    free(f);
    BI->free_tensor(be.ctx, &x); BI->free_tensor(be.ctx, &y); BI->free_tensor(be.ctx, &dx);
    free(xd);
}

/* ---- dropout with a fixed mask ---- */
typedef struct drop_ctx { size_t n; double *x, *r, *y; } drop_ctx;
static double drop_f(void *vp)
{
    drop_ctx *D = vp;
    memcpy(D->y, D->x, D->n * sizeof(double));
    ref_dropout(D->y, D->n, 0.2, 77, 5, 3);
    return dot(D->y, D->r, D->n);
}

static void dropout_matches_reference(void)
{
    int s[2] = { 7, 33 };
    drop_ctx D = { 7 * 33, drand_vec(7 * 33, -1, 1), drand_vec(7 * 33, -1, 1), xmalloc(7 * 33 * sizeof(double)) };
    tensor x, y, dy, dx;
    tput(&x, 2, s, TL_PLAIN, D.x); tput(&y, 2, s, TL_PLAIN, NULL); tput(&dy, 2, s, TL_PLAIN, D.r); tput(&dx, 2, s, TL_PLAIN, NULL);
    BI->dropout_fwd(be.ctx, &x, &y, 0.2f, 77, 5, 3, 1);
    drop_f(&D);
    float *f = tget(&y);
    CHECK_NEAR(rel_err(f, D.y, D.n), 0, 1e-6);
    int dropped = 0;
    for (size_t i = 0; i < D.n; i++) dropped += f[i] == 0.0f;
    CHECK(dropped > 10 && dropped < 90);           /* about 20% of 231 */
    free(f);
    BI->dropout_bwd(be.ctx, &dy, &dx, 0.2f, 77, 5, 3);
    f = tget(&dx);
    CHECK_NEAR(grad_err(D.x, D.n, f, drop_f, &D, 60), 0, GRAD_TOL);
    free(f);
    BI->dropout_fwd(be.ctx, &x, &y, 0.2f, 77, 5, 3, 0);   /* eval: identity */
    f = tget(&y);
    CHECK_NEAR(rel_err(f, D.x, D.n), 0, 1e-7);
    free(f);
    BI->free_tensor(be.ctx, &x); BI->free_tensor(be.ctx, &y); BI->free_tensor(be.ctx, &dy); BI->free_tensor(be.ctx, &dx);
    free(D.x); free(D.r); free(D.y);
}

/* ---- BnLayer and ResnetLayer (conv + relu + batch stats + skip) ---- */
typedef struct bn_ctx {
    int n, ic, oc, h, w, k, s, p, resnet;
    double *x, *wt, *a, *m, *r, *c, *y, *means, *stds;
    int oh, ow;
} bn_ctx;

static double bn_f(void *vp)
{
    bn_ctx *B = vp;
    ref_conv(B->x, B->n, B->ic, B->h, B->w, B->wt, NULL, B->oc, B->k, B->s, B->p, B->c);
    ref_bn(B->c, B->n, B->oc, B->oh * B->ow, B->a, B->m, B->resnet ? B->x : NULL, B->means, B->stds, 1, B->y);
    return dot(B->y, B->r, (size_t)B->n * B->oc * B->oh * B->ow);
}

static void bn_run(int n, int ic, int oc, int h, int k, int s, int resnet, tensor_layout lay)
{
    bn_ctx B = { .n = n, .ic = ic, .oc = oc, .h = h, .w = h, .k = k, .s = s, .p = 1, .resnet = resnet };
    B.oh = B.ow = conv2d_out_size(h, k, s, 1);
    size_t nx = (size_t)n * ic * h * h, nw = (size_t)oc * ic * k * k, ny = (size_t)n * oc * B.oh * B.ow;
    B.x = drand_vec(nx, -1, 1); B.wt = drand_vec(nw, -0.5, 0.5); B.a = drand_vec(oc, -1, 1); B.m = drand_vec(oc, 0.5, 1.5);
    B.r = drand_vec(ny, -1, 1); B.c = xmalloc(ny * sizeof(double)); B.y = xmalloc(ny * sizeof(double));
    B.means = xmalloc(oc * sizeof(double)); B.stds = xmalloc(oc * sizeof(double));
    int xs[4] = { n, ic, h, h }, ws[4] = { oc, ic, k, k }, vs[3] = { oc, 1, 1 }, ys[4] = { n, oc, B.oh, B.ow };
    tensor x, w, a, m, mu, sd, c, y, dy, dc, dx, dw, da, dm;
    tput(&x, 4, xs, lay, B.x); tput(&w, 4, ws, TL_PLAIN, B.wt); tput(&a, 3, vs, TL_PLAIN, B.a); tput(&m, 3, vs, TL_PLAIN, B.m);
    tput(&mu, 3, vs, TL_PLAIN, NULL); tput(&sd, 3, vs, TL_PLAIN, NULL);
    tput(&c, 4, ys, TL_ACT, NULL); tput(&y, 4, ys, TL_ACT, NULL); tput(&dy, 4, ys, TL_ACT, B.r); tput(&dc, 4, ys, TL_ACT, NULL);
    tput(&dx, 4, xs, lay, NULL); tput(&dw, 4, ws, TL_PLAIN, NULL); tput(&da, 3, vs, TL_PLAIN, NULL); tput(&dm, 3, vs, TL_PLAIN, NULL);
    conv2d_desc d = { .max_n = n, .ic = ic, .ih = h, .iw = h, .oc = oc, .kh = k, .kw = k, .stride = s, .pad = 1,
                    .need_dx = 1, .src_layout = lay, .algo = CONV2D_ALGO_AUTO };
    conv2d_plan *P = BI->conv2d_plan_make(be.ctx, &d);
    CHECK(P != NULL);
    if (!P) return;
    CHECK(BI->conv2d_fwd(be.ctx, P, &x, &w, NULL, &c) == C_OK);
    BI->bnlayer_fwd(be.ctx, &c, &a, &m, &mu, &sd, resnet ? &x : NULL, &y, 1);
    bn_f(&B);
    float *f = tget(&y), *fm = tget(&mu), *fs = tget(&sd);
    CHECK_NEAR(rel_err(f, B.y, ny), 0, FWD_TOL);
    CHECK_NEAR(rel_err(fm, B.means, oc), 0, FWD_TOL);
    CHECK_NEAR(rel_err(fs, B.stds, oc), 0, FWD_TOL);
    free(f);
    /* backward: BnLayer into dc, conv into dx, the skip adds dy */
    BI->bnlayer_bwd(be.ctx, &c, &m, &mu, &sd, &dy, &dc, &da, &dm);
    CHECK(BI->conv2d_bwd(be.ctx, P, &x, &w, NULL, &dc, &dx, &dw, NULL) == C_OK);
    if (resnet) BI->accumulate(be.ctx, &dx, &dy);
    float *gx = tget(&dx), *gw = tget(&dw), *ga = tget(&da), *gm = tget(&dm);
    CHECK_NEAR(grad_err(B.x, nx, gx, bn_f, &B, 24), 0, GRAD_TOL);
    CHECK_NEAR(grad_err(B.wt, nw, gw, bn_f, &B, 24), 0, GRAD_TOL);
    CHECK_NEAR(grad_err(B.a, oc, ga, bn_f, &B, 24), 0, GRAD_TOL);
    CHECK_NEAR(grad_err(B.m, oc, gm, bn_f, &B, 24), 0, GRAD_TOL);
    /* eval mode: a different batch normalised with the stored statistics */
    double *x2 = drand_vec(nx, -1, 1), *means = xmalloc(oc * sizeof(double)), *stds = xmalloc(oc * sizeof(double));
    for (int i = 0; i < oc; i++) { means[i] = fm[i]; stds[i] = fs[i]; }
    tensor x2t;
    tput(&x2t, 4, xs, lay, x2);
    CHECK(BI->conv2d_fwd(be.ctx, P, &x2t, &w, NULL, &c) == C_OK);
    BI->bnlayer_fwd(be.ctx, &c, &a, &m, &mu, &sd, resnet ? &x2t : NULL, &y, 0);
    ref_conv(x2, n, ic, h, h, B.wt, NULL, oc, k, s, 1, B.c);
    ref_bn(B.c, n, oc, B.oh * B.ow, B.a, B.m, resnet ? x2 : NULL, means, stds, 0, B.y);
    f = tget(&y);
    CHECK_NEAR(rel_err(f, B.y, ny), 0, FWD_TOL);
    float *fm2 = tget(&mu);
    CHECK(fm2[0] == fm[0]);                          /* eval leaves the statistics alone */
    free(f); free(fm2); free(fm); free(fs); free(gx); free(gw); free(ga); free(gm); free(x2); free(means); free(stds);
    BI->conv2d_plan_free(be.ctx, P);
    tensor *ts[] = { &x, &w, &a, &m, &mu, &sd, &c, &y, &dy, &dc, &dx, &dw, &da, &dm, &x2t };
    for (int i = 0; i < 15; i++) BI->free_tensor(be.ctx, ts[i]);
    free(B.x); free(B.wt); free(B.a); free(B.m); free(B.r); free(B.c); free(B.y); free(B.means); free(B.stds);
}

static void bnlayer_matches_reference(void)
{
    bn_run(3, 3, 16, 9, 7, 1, 0, TL_PLAIN);      /* resnet2's conv1 shape, smaller */
    bn_run(2, 10, 20, 8, 3, 2, 0, TL_ACT);       /* padded channel blocks */
    bn_run(1, 5, 7, 6, 3, 2, 0, TL_ACT);         /* batch 1 */
}

static void resnetlayer_matches_reference(void)
{
    bn_run(2, 20, 20, 5, 3, 1, 1, TL_ACT);
    bn_run(3, 32, 32, 4, 3, 1, 1, TL_ACT);
    bn_run(2, 17, 17, 19, 3, 1, 1, TL_ACT);      /* 361 positions: the sums' float sub-blocks and odd tails */
}

/* The same ops on the generic loops that CPUs without AVX-512 run (CPU_NO_AVX512 set). */
static void generic_kernels_match_reference(void)
{
    backend_free(&be);
    setenv("CPU_NO_AVX512", "1", 1);
    if (backend_cpu_init(&be, 0)) exit(2);
    relu_and_maxpool_match_reference();
    bnlayer_matches_reference();
    resnetlayer_matches_reference();
    unsetenv("CPU_NO_AVX512");
    backend_free(&be);
    if (backend_cpu_init(&be, 0)) exit(2);
}

/* ---- log-softmax + NLL ---- */
typedef struct ls_ctx { int n, k; double *x, *y; uint8_t *lab; } ls_ctx;
static double ls_f(void *vp)
{
    ls_ctx *L = vp;
    ref_logsoftmax(L->x, L->n, L->k, L->y);
    return ref_nll(L->y, L->n, L->k, L->lab);
}

static void logsoftmax_nll_matches_reference(void)
{
    ls_ctx L = { 5, 10, drand_vec(50, -4, 4), xmalloc(50 * sizeof(double)), xmalloc(5) };
    for (int i = 0; i < 5; i++) L.lab[i] = (uint8_t)rng_next_below(&rs, 10);
    int s[2] = { 5, 10 }, ls[1] = { 5 };
    tensor x, y, dx, lab;
    tput(&x, 2, s, TL_PLAIN, L.x); tput(&y, 2, s, TL_PLAIN, NULL); tput(&dx, 2, s, TL_PLAIN, NULL);
    if (BI->alloc(be.ctx, &lab, DT_U8, 1, ls, TL_PLAIN)) exit(2);
    BI->upload(be.ctx, &lab, L.lab);
    BI->logsoftmax_fwd(be.ctx, &x, &y);
    double loss = ls_f(&L);
    float *f = tget(&y);
    CHECK_NEAR(rel_err(f, L.y, 50), 0, 1e-6);
    float got = NAN;
    CHECK(BI->nll_loss(be.ctx, &y, &lab, &got) == C_OK);
    CHECK_NEAR(got, loss, 1e-6);
    free(f);
    BI->logsoftmax_nll_bwd(be.ctx, &y, &lab, &dx);
    f = tget(&dx);
    CHECK_NEAR(grad_err(L.x, 50, f, ls_f, &L, 50), 0, GRAD_TOL);
    free(f);
    BI->free_tensor(be.ctx, &x); BI->free_tensor(be.ctx, &y); BI->free_tensor(be.ctx, &dx); BI->free_tensor(be.ctx, &lab);
    free(L.x); free(L.y); free(L.lab);
}

/* ---- SGD with PyTorch semantics ---- */
static void sgd_step_is_pytorch_sgd(void)
{
    int s[1] = { 5 };
    double p0[5] = { 1, -2, 0.5, 3, 0 }, g0[5] = { 0.1, 0.2, -0.3, 0, 1 }, g1[5] = { -1, 0.5, 0.25, 2, 0 };
    tensor p, g, buf;
    tput(&p, 1, s, TL_PLAIN, p0); tput(&g, 1, s, TL_PLAIN, g0); tput(&buf, 1, s, TL_PLAIN, NULL);
    float lr = 0.1f, mom = 0.9f, wd = 0.01f;
    BI->sgd_step(be.ctx, &p, &g, &buf, 5, lr, mom, wd, 1);
    double exp_p[5], exp_b[5];
    for (int i = 0; i < 5; i++) { exp_b[i] = g0[i] + wd * p0[i]; exp_p[i] = p0[i] - lr * exp_b[i]; }
    float *f = tget(&p);
    CHECK_NEAR(rel_err(f, exp_p, 5), 0, 1e-6);
    free(f);
    float gf[5];
    for (int i = 0; i < 5; i++) gf[i] = (float)g1[i];
    BI->upload(be.ctx, &g, gf);
    BI->sgd_step(be.ctx, &p, &g, &buf, 5, lr, mom, wd, 0);
    for (int i = 0; i < 5; i++) { exp_b[i] = mom * exp_b[i] + g1[i] + wd * exp_p[i]; exp_p[i] -= lr * exp_b[i]; }
    f = tget(&p);
    CHECK_NEAR(rel_err(f, exp_p, 5), 0, 1e-6);
    free(f);
    f = tget(&buf);
    CHECK_NEAR(rel_err(f, exp_b, 5), 0, 1e-6);
    free(f);
    BI->free_tensor(be.ctx, &p); BI->free_tensor(be.ctx, &g); BI->free_tensor(be.ctx, &buf);
}

int main(int argc, char **argv)
{
    (void)argc;
    err_init(argv[0]);
    if (backend_cpu_init(&be, 0)) return 1;
    rng_stream_init(&rs, 1234, RNG_TEST, 0);
    TEST_RUN(conv_forward_matches_reference);
    TEST_RUN(conv_backward_matches_finite_differences);
    TEST_RUN(conv_winograd_shapes_match_reference);
    TEST_RUN(linear_matches_reference);
    TEST_RUN(relu_and_maxpool_match_reference);
    TEST_RUN(flatten_blocked_round_trip);
    TEST_RUN(dropout_matches_reference);
    TEST_RUN(bnlayer_matches_reference);
    TEST_RUN(resnetlayer_matches_reference);
    TEST_RUN(generic_kernels_match_reference);
    TEST_RUN(logsoftmax_nll_matches_reference);
    TEST_RUN(sgd_step_is_pytorch_sgd);
    backend_free(&be);
    TEST_EXIT();
}
