/* flatten.c: flatten's cases: blocked and plain activations to NCHW-ordered features (as
 * x.view(n, -1)) and back. The reference is the identity on the NCHW values. Tolerances: 1e-7
 * against the reference; CUDA against the CPU 0. */
#include "ops/harness.h"

typedef struct flat_case { int n, c, h, w; tensor_layout layout; } flat_case;

static void flat_run(ops_env *e, const void *param)
{
    const flat_case *c = param;
    const backend_iface *B = ops_iface(e);
    int xs[4] = { c->n, c->c, c->h, c->w }, fs[2] = { c->n, c->c * c->h * c->w };
    double *xd = ops_rand(e, (size_t)c->n * c->c * c->h * c->w, -1, 1);
    tensor *x = ops_tensor(e, 4, xs, c->layout, xd), *y = ops_tensor(e, 2, fs, TL_PLAIN, NULL),
           *dx = ops_tensor(e, 4, xs, c->layout, NULL);
    OPS_CHECK(e, B->flatten_fwd(ops_ctx(e), x, y) == C_OK);
    ops_expect(e, "y", y, xd, 1e-7, 0);
    OPS_CHECK(e, B->flatten_bwd(ops_ctx(e), y, dx) == C_OK);
    ops_expect(e, "dx", dx, xd, 1e-7, 0);
}

#define FLAT(name, ...) { "flatten/" name, flat_run, &(const flat_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    FLAT("n2 c19 3x2 blocked", 2, 19, 3, 2, TL_ACT),
    FLAT("n9 c21 5x5 blocked", 9, 21, 5, 5, TL_ACT),
    FLAT("n2 c19 3x2 plain", 2, 19, 3, 2, TL_PLAIN),
};

OPS_SUITE(flatten, cases);
