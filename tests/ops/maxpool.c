/* maxpool.c: the adaptive max pool's and MaxPool2d(k)'s references and cases on plain and
 * blocked inputs (21 channels: a padded block; 31x31 with k = 2 and 3x3 with k = 3 as in
 * airbench94, odd sizes whose last rows and columns floor mode drops). Tolerances: forward 1e-7;
 * the gradient 2e-3 (adaptive) and 1e-6 (MaxPool2d: piecewise linear) against finite
 * differences; CUDA against the CPU 0 (values, arg max and gradient alike). */
#include "ops/harness.h"
#include "ops/reference.h"

void ref_maxpool(const double *x, int N, int C, int HW, double *y)
{
    for (int i = 0; i < N * C; i++) {
        double m = x[(size_t)i * HW];
        for (int j = 1; j < HW; j++) m = x[(size_t)i * HW + j] > m ? x[(size_t)i * HW + j] : m;
        y[i] = m;
    }
}

typedef struct pool_case { int n, c, h, w; tensor_layout layout; } pool_case;
typedef struct pool_ctx { const pool_case *c; double *x, *r, *y; } pool_ctx;

static double pool_f(void *vp)
{
    pool_ctx *P = vp;
    int NC = P->c->n * P->c->c;
    ref_maxpool(P->x, P->c->n, P->c->c, P->c->h * P->c->w, P->y);
    return ops_dot(P->y, P->r, (size_t)NC);
}

static void pool_run(ops_env *e, const void *param)
{
    const pool_case *c = param;
    const backend_iface *B = ops_iface(e);
    int xs[4] = { c->n, c->c, c->h, c->w }, ps[4] = { c->n, c->c, 1, 1 }, is[2] = { c->n, c->c };
    size_t nx = (size_t)c->n * c->c * c->h * c->w, np = (size_t)c->n * c->c;
    pool_ctx P = { c, ops_rand(e, nx, -1, 1), ops_rand(e, np, -1, 1), ops_alloc(e, np * sizeof(double)) };
    tensor *x = ops_tensor(e, 4, xs, c->layout, P.x), *y = ops_tensor(e, 4, ps, TL_PLAIN, NULL),
           *dy = ops_tensor(e, 4, ps, TL_PLAIN, P.r), *dx = ops_tensor(e, 4, xs, c->layout, NULL),
           *idx = ops_tensor_raw(e, DT_I32, 2, is, TL_PLAIN, NULL);
    OPS_CHECK(e, B->maxpool_fwd(ops_ctx(e), x, y, idx) == C_OK);
    if (ops_reference(e)) pool_f(&P);
    ops_expect(e, "y", y, P.y, 1e-7, 0);
    ops_expect(e, "arg max", idx, NULL, 0, 0);
    OPS_CHECK(e, B->maxpool_bwd(ops_ctx(e), idx, dy, dx) == C_OK);
    ops_expect_grad(e, "dx", dx, P.x, nx, pool_f, &P, 60, 2e-3, 0);
}

void ref_maxpool2d(const double *x, int N, int C, int H, int W, int k, double *y)
{
    int OH = H / k, OW = W / k;
    for (int i = 0; i < N * C; i++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                double m = x[((size_t)i * H + oy * k) * W + ox * k];
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++) {
                        double v = x[((size_t)i * H + oy * k + a) * W + ox * k + b];
                        m = v > m ? v : m;
                    }
                y[((size_t)i * OH + oy) * OW + ox] = m;
            }
}

typedef struct pool2d_case { int n, c, h, w, k; tensor_layout layout; } pool2d_case;
typedef struct pool2d_ctx { const pool2d_case *c; double *x, *r, *y; size_t ny; } pool2d_ctx;

static double pool2d_f(void *vp)
{
    pool2d_ctx *P = vp;
    ref_maxpool2d(P->x, P->c->n, P->c->c, P->c->h, P->c->w, P->c->k, P->y);
    return ops_dot(P->y, P->r, P->ny);
}

static void pool2d_run(ops_env *e, const void *param)
{
    const pool2d_case *c = param;
    const backend_iface *B = ops_iface(e);
    int oh = c->h / c->k, ow = c->w / c->k, xs[4] = { c->n, c->c, c->h, c->w }, ys[4] = { c->n, c->c, oh, ow };
    size_t nx = (size_t)c->n * c->c * c->h * c->w;
    pool2d_ctx P = { c, ops_rand(e, nx, -1, 1), NULL, NULL, (size_t)c->n * c->c * oh * ow };
    P.r = ops_rand(e, P.ny, -1, 1);
    P.y = ops_alloc(e, P.ny * sizeof(double));
    tensor *x = ops_tensor(e, 4, xs, c->layout, P.x), *y = ops_tensor(e, 4, ys, c->layout, NULL),
           *dy = ops_tensor(e, 4, ys, c->layout, P.r), *dx = ops_tensor(e, 4, xs, c->layout, NULL);
    OPS_CHECK(e, B->maxpool2d_fwd(ops_ctx(e), x, y, c->k) == C_OK);
    if (ops_reference(e)) pool2d_f(&P);
    ops_expect(e, "y", y, P.y, 1e-7, 0);
    /* dx starts dirty: the backward overwrites all of it */
    double *junk = ops_rand(e, nx, 5, 6);
    ops_set(e, dx, junk);
    OPS_CHECK(e, B->maxpool2d_bwd(ops_ctx(e), x, dy, dx, c->k) == C_OK);
    ops_expect_grad(e, "dx", dx, P.x, nx, pool2d_f, &P, 60, 1e-6, 0);
    /* floor mode: rows and columns outside every window get 0; each window one nonzero */
    float *g = ops_get(e, dx);
    int ok = 1;
    for (int i = 0; i < c->n * c->c; i++)
        for (int h = 0; h < c->h; h++)
            for (int w = 0; w < c->w; w++) {
                float v = g[((size_t)i * c->h + h) * c->w + w];
                if ((h >= oh * c->k || w >= ow * c->k) && v != 0.0f) ok = 0;
            }
    for (int i = 0; i < c->n * c->c && ok; i++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                int nz = 0;
                for (int a = 0; a < c->k; a++)
                    for (int b = 0; b < c->k; b++) nz += g[((size_t)i * c->h + oy * c->k + a) * c->w + ox * c->k + b] != 0.0f;
                if (nz != 1) ok = 0;
            }
    OPS_CHECK(e, ok);
}

#define POOL2D(name, ...) { "maxpool/2d " name, pool2d_run, &(const pool2d_case){ __VA_ARGS__ } }
#define POOL(name, ...) { "maxpool/" name, pool_run, &(const pool_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    POOL("n3 c21 5x3 plain", 3, 21, 5, 3, TL_PLAIN),
    POOL("n3 c21 5x3 blocked", 3, 21, 5, 3, TL_ACT),
    POOL("n9 c21 5x5 blocked", 9, 21, 5, 5, TL_ACT),
    POOL2D("k2 n3 c21 31x31 blocked", 3, 21, 31, 31, 2, TL_ACT),
    POOL2D("k3 n3 c21 3x3 blocked", 3, 21, 3, 3, 3, TL_ACT),
    POOL2D("k2 n2 c5 5x7 plain", 2, 5, 5, 7, 2, TL_PLAIN),
    POOL2D("k3 n2 c21 8x7 blocked", 2, 21, 8, 7, 3, TL_ACT),
};

OPS_SUITE(maxpool, cases);
