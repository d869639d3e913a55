/* gelu.c: GELU's reference (the exact erf form, libm's erf in double) and cases on plain and
 * blocked layouts (21 channels: a padded block), inputs in [-6, 6] so the erf clamp at |x/sqrt 2|
 * = 4 and the exp tail are crossed. Tolerances: forward 1e-6 (the float erf is within 4e-7 of
 * the exact one); the gradient 1e-5 against finite differences; CUDA against the CPU 1e-6 (the
 * same float operations: expected bit for bit). */
#include "ops/harness.h"

#include <math.h>
#include <string.h>
#include "ops/reference.h"

void ref_gelu(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
}

typedef struct gelu_case { int n, c, h, w; tensor_layout layout; } gelu_case;
typedef struct gelu_ctx { size_t n; double *x, *r, *y; } gelu_ctx;

static double gelu_f(void *vp)
{
    gelu_ctx *G = vp;
    memcpy(G->y, G->x, G->n * sizeof(double));
    ref_gelu(G->y, G->n);
    return ops_dot(G->y, G->r, G->n);
}

static void gelu_run(ops_env *e, const void *param)
{
    const gelu_case *c = param;
    const backend_iface *B = ops_iface(e);
    int xs[4] = { c->n, c->c, c->h, c->w };
    gelu_ctx G = { (size_t)c->n * c->c * c->h * c->w, NULL, NULL, NULL };
    G.x = ops_rand(e, G.n, -6, 6);
    G.r = ops_rand(e, G.n, -1, 1);
    G.y = ops_alloc(e, G.n * sizeof(double));
    tensor *x = ops_tensor(e, 4, xs, c->layout, G.x), *y = ops_tensor(e, 4, xs, c->layout, NULL),
           *dy = ops_tensor(e, 4, xs, c->layout, G.r), *dx = ops_tensor(e, 4, xs, c->layout, NULL);
    OPS_CHECK(e, B->gelu_fwd(ops_ctx(e), x, y) == C_OK);
    if (ops_reference(e)) gelu_f(&G);
    ops_expect(e, "y", y, G.y, 1e-6, 1e-6);
    OPS_CHECK(e, B->gelu_bwd(ops_ctx(e), x, dy, dx) == C_OK);
    ops_expect_grad(e, "dx", dx, G.x, G.n, gelu_f, &G, 80, 1e-5, 1e-6);
}

/* a few exact points: gelu(0) = 0 with gradient 1/2, and far out the identity and zero */
static void gelu_points(ops_env *e, const void *param)
{
    (void)param;
    const backend_iface *B = ops_iface(e);
    double pts[8] = { 0, 1, -1, 10, -10, 3.5, -3.5, 0.25 }, ref[8], g[8], ones[8];
    for (int i = 0; i < 8; i++) {
        ref[i] = pts[i];
        ones[i] = 1;
        g[i] = 0.5 * (1 + erf(pts[i] / sqrt(2.0))) + pts[i] * exp(-0.5 * pts[i] * pts[i]) / sqrt(2 * M_PI);
    }
    ref_gelu(ref, 8);
    int s[4] = { 1, 8, 1, 1 };
    tensor *x = ops_tensor(e, 4, s, TL_PLAIN, pts), *y = ops_tensor(e, 4, s, TL_PLAIN, NULL),
           *dy = ops_tensor(e, 4, s, TL_PLAIN, ones), *dx = ops_tensor(e, 4, s, TL_PLAIN, NULL);
    OPS_CHECK(e, B->gelu_fwd(ops_ctx(e), x, y) == C_OK);
    OPS_CHECK(e, B->gelu_bwd(ops_ctx(e), x, dy, dx) == C_OK);
    float *fy = ops_get(e, y), *fd = ops_get(e, dx);
    OPS_CHECK(e, fy[0] == 0.0f && fd[0] == 0.5f);
    OPS_CHECK(e, fy[3] == 10.0f && fy[4] == 0.0f);
    ops_expect_values(e, "y at points", fy, 8, ref, 1e-6, 1e-6);
    ops_expect_values(e, "dx at points", fd, 8, g, 1e-6, 1e-6);
}

#define GELU(name, ...) { "gelu/" name, gelu_run, &(const gelu_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    GELU("n3 c21 5x3 plain", 3, 21, 5, 3, TL_PLAIN),
    GELU("n3 c21 5x3 blocked", 3, 21, 5, 3, TL_ACT),
    GELU("n9 c21 5x5 blocked", 9, 21, 5, 5, TL_ACT),
    { "gelu/points", gelu_points, NULL },
};

OPS_SUITE(gelu, cases);
