/* maxpool.c: the adaptive max pool's reference and cases on plain and blocked inputs (21
 * channels: a padded block). Tolerances: forward 1e-7; the gradient 2e-3 against finite
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

#define POOL(name, ...) { "maxpool/" name, pool_run, &(const pool_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    POOL("n3 c21 5x3 plain", 3, 21, 5, 3, TL_PLAIN),
    POOL("n3 c21 5x3 blocked", 3, 21, 5, 3, TL_ACT),
    POOL("n9 c21 5x5 blocked", 9, 21, 5, 5, TL_ACT),
};

OPS_SUITE(maxpool, cases);
