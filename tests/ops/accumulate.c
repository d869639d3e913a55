/* accumulate.c: dst += src; the reference is the sum in double. Tolerances: 1e-6 against the
 * reference (one float rounding); CUDA against the CPU 0. */
#include "ops/harness.h"

typedef struct acc_case { int n, c, h, w; tensor_layout layout; } acc_case;

static void acc_run(ops_env *e, const void *param)
{
    const acc_case *c = param;
    int xs[4] = { c->n, c->c, c->h, c->w };
    size_t n = (size_t)c->n * c->c * c->h * c->w;
    double *a = ops_rand(e, n, -1, 1), *b = ops_rand(e, n, -1, 1), *sum = ops_alloc(e, n * sizeof(double));
    for (size_t i = 0; i < n; i++) sum[i] = (double)(float)a[i] + (double)(float)b[i];
    tensor *d = ops_tensor(e, 4, xs, c->layout, a), *s = ops_tensor(e, 4, xs, c->layout, b);
    OPS_CHECK(e, ops_iface(e)->accumulate(ops_ctx(e), d, s) == C_OK);
    ops_expect(e, "dst", d, sum, 1e-6, 0);
}

#define ACC(name, ...) { "accumulate/" name, acc_run, &(const acc_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    ACC("n9 c21 5x5 blocked", 9, 21, 5, 5, TL_ACT),
    ACC("n2 c7 3x3 plain", 2, 7, 3, 3, TL_PLAIN),
};

OPS_SUITE(accumulate, cases);
