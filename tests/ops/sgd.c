/* sgd.c: the SGD step's reference (PyTorch torch.optim.SGD in double) and cases: a first step
 * (momentum buffer set to the gradient) then a momentum step. Tolerances: 1e-6 against the
 * reference; CUDA against the CPU 1e-6. */
#include "ops/harness.h"
#include "ops/reference.h"

void ref_sgd(double *p, const double *g, double *buf, size_t n, double lr, double momentum, double wd, int first)
{
    for (size_t i = 0; i < n; i++) {
        double d = g[i] + wd * p[i];
        buf[i] = first ? d : momentum * buf[i] + d;
        p[i] -= lr * buf[i];
    }
}

typedef struct sgd_case { int n; float lr, momentum, wd; } sgd_case;

static void sgd_run(ops_env *e, const void *param)
{
    const sgd_case *c = param;
    const backend_iface *B = ops_iface(e);
    size_t n = (size_t)c->n;
    int s[1] = { c->n };
    double *p = ops_rand(e, n, -3, 3), *g0 = ops_rand(e, n, -1, 1), *g1 = ops_rand(e, n, -1, 1);
    double *buf = ops_alloc(e, n * sizeof(double));
    for (size_t i = 0; i < n; i++) p[i] = (float)p[i];   /* the reference starts from the float values */
    tensor *tp = ops_tensor(e, 1, s, TL_PLAIN, p), *tg = ops_tensor(e, 1, s, TL_PLAIN, g0),
           *tb = ops_tensor(e, 1, s, TL_PLAIN, NULL);
    OPS_CHECK(e, B->sgd_step(ops_ctx(e), tp, tg, tb, n, c->lr, c->momentum, c->wd, 1) == C_OK);
    for (size_t i = 0; i < n; i++) g0[i] = (float)g0[i];
    ref_sgd(p, g0, buf, n, c->lr, c->momentum, c->wd, 1);
    ops_expect(e, "param after the first step", tp, p, 1e-6, 1e-6);
    ops_expect(e, "momentum after the first step", tb, buf, 1e-6, 1e-6);
    ops_set(e, tg, g1);
    OPS_CHECK(e, B->sgd_step(ops_ctx(e), tp, tg, tb, n, c->lr, c->momentum, c->wd, 0) == C_OK);
    for (size_t i = 0; i < n; i++) g1[i] = (float)g1[i];
    ref_sgd(p, g1, buf, n, c->lr, c->momentum, c->wd, 0);
    ops_expect(e, "param after a momentum step", tp, p, 1e-6, 1e-6);
    ops_expect(e, "momentum after a momentum step", tb, buf, 1e-6, 1e-6);
}

#define SGD(name, ...) { "sgd/" name, sgd_run, &(const sgd_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    SGD("n5 lr0.1 momentum0.9 wd0.01", 5, 0.1f, 0.9f, 0.01f),
    SGD("n1000 lr0.1 momentum0.9 wd5e-4", 1000, 0.1f, 0.9f, 5e-4f),
    SGD("n70000 (threaded) lr0.02 momentum0.9 wd5e-4", 70000, 0.02f, 0.9f, 5e-4f),
};

OPS_SUITE(sgd, cases);
