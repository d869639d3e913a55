/* relu.c: ReLU's reference and cases on plain and blocked layouts (21 channels: a padded block).
 * Tolerances: forward 1e-7 (exact but for the float rounding of the inputs); the gradient 2e-3
 * against finite differences; CUDA against the CPU 0 (the same selects). */
#include "ops/harness.h"

#include <string.h>
#include "ops/reference.h"

void ref_relu(double *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0; }

typedef struct relu_case { int n, c, h, w; tensor_layout layout; } relu_case;
typedef struct relu_ctx { size_t n; double *x, *r, *y; } relu_ctx;

static double relu_f(void *vp)
{
    relu_ctx *R = vp;
    memcpy(R->y, R->x, R->n * sizeof(double));
    ref_relu(R->y, R->n);
    return ops_dot(R->y, R->r, R->n);
}

static void relu_run(ops_env *e, const void *param)
{
    const relu_case *c = param;
    const backend_iface *B = ops_iface(e);
    int xs[4] = { c->n, c->c, c->h, c->w };
    relu_ctx R = { (size_t)c->n * c->c * c->h * c->w, NULL, NULL, NULL };
    R.x = ops_rand(e, R.n, -1, 1);
    R.r = ops_rand(e, R.n, -1, 1);
    R.y = ops_alloc(e, R.n * sizeof(double));
    tensor *x = ops_tensor(e, 4, xs, c->layout, R.x), *y = ops_tensor(e, 4, xs, c->layout, NULL),
           *dy = ops_tensor(e, 4, xs, c->layout, R.r), *dx = ops_tensor(e, 4, xs, c->layout, NULL);
    OPS_CHECK(e, B->relu_fwd(ops_ctx(e), x, y) == C_OK);
    if (ops_reference(e)) relu_f(&R);
    ops_expect(e, "y", y, R.y, 1e-7, 0);
    OPS_CHECK(e, B->relu_bwd(ops_ctx(e), y, dy, dx) == C_OK);
    ops_expect_grad(e, "dx", dx, R.x, R.n, relu_f, &R, 40, 2e-3, 0);
    /* in place: y may be x */
    if (ops_reference(e)) relu_f(&R);   /* the differences left y perturbed */
    OPS_CHECK(e, B->relu_fwd(ops_ctx(e), x, x) == C_OK);
    ops_expect(e, "y in place", x, R.y, 1e-7, 0);
}

#define RELU(name, ...) { "relu/" name, relu_run, &(const relu_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    RELU("n3 c21 5x3 plain", 3, 21, 5, 3, TL_PLAIN),
    RELU("n3 c21 5x3 blocked", 3, 21, 5, 3, TL_ACT),
    RELU("n9 c21 5x5 blocked", 9, 21, 5, 5, TL_ACT),
};

OPS_SUITE(relu, cases);
