/* scale.c: the Mul op's cases (y = s x; its backward is the same entry on dy) on plain and
 * blocked layouts. Tolerances: 1e-7 against the reference (one float multiply), the gradient
 * 1e-6 against finite differences; CUDA against the CPU 0 (the same multiply). */
#include "ops/harness.h"

typedef struct scale_case { int n, c, h, w; tensor_layout layout; double s; } scale_case;
typedef struct scale_ctx { size_t n; double *x, *r, s; } scale_ctx;

static double scale_f(void *vp)
{
    scale_ctx *S = vp;
    double t = 0;
    for (size_t i = 0; i < S->n; i++) t += S->s * S->x[i] * S->r[i];
    return t;
}

static void scale_run(ops_env *e, const void *param)
{
    const scale_case *c = param;
    const backend_iface *B = ops_iface(e);
    int xs[4] = { c->n, c->c, c->h, c->w }, nd = c->layout == TL_ACT ? 4 : 2, fs[2] = { c->n, c->c * c->h * c->w };
    const int *shape = nd == 4 ? xs : fs;
    scale_ctx S = { (size_t)c->n * c->c * c->h * c->w, NULL, NULL, (double)(float)c->s };
    S.x = ops_rand(e, S.n, -2, 2);
    S.r = ops_rand(e, S.n, -1, 1);
    double *ref = ops_alloc(e, S.n * sizeof(double));
    for (size_t i = 0; i < S.n; i++) ref[i] = S.s * (float)S.x[i];
    tensor *x = ops_tensor(e, nd, shape, c->layout, S.x), *y = ops_tensor(e, nd, shape, c->layout, NULL),
           *dy = ops_tensor(e, nd, shape, c->layout, S.r), *dx = ops_tensor(e, nd, shape, c->layout, NULL);
    OPS_CHECK(e, B->scale(ops_ctx(e), x, y, (float)c->s) == C_OK);
    ops_expect(e, "y", y, ref, 1e-7, 0);
    OPS_CHECK(e, B->scale(ops_ctx(e), dy, dx, (float)c->s) == C_OK);
    ops_expect_grad(e, "dx", dx, S.x, S.n, scale_f, &S, 40, 1e-6, 0);
    OPS_CHECK(e, B->scale(ops_ctx(e), x, x, (float)c->s) == C_OK);    /* in place */
    ops_expect(e, "y in place", x, ref, 1e-7, 0);
}

#define SCALE(name, ...) { "scale/" name, scale_run, &(const scale_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    SCALE("n4 f10 plain 1/9", 4, 10, 1, 1, TL_PLAIN, 1.0 / 9),
    SCALE("n3 c21 5x3 blocked -2.5", 3, 21, 5, 3, TL_ACT, -2.5),
};

OPS_SUITE(scale, cases);
