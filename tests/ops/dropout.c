/* dropout.c: dropout's reference (the mask of ops/dropout.h, applied in double) and cases:
 * training forward and backward with a fixed mask, evaluation (identity), odd lengths (a partial
 * Philox block at the end). Tolerances: forward 1e-6 against the reference; the gradient 2e-3
 * against finite differences; CUDA against the CPU 0 (the same Philox draws). */
#include "ops/harness.h"

#include <string.h>
#include "ops/dropout.h"
#include "ops/reference.h"

void ref_dropout(double *x, size_t n, double p, uint64_t seed, uint32_t step, uint32_t salt)
{
    for (size_t i = 0; i < n; i++) x[i] = dropout_keep(seed, step, salt, i, (float)p) ? x[i] / (1.0 - (double)(float)p) : 0.0;
}

typedef struct drop_case { int rows, cols; float p; uint64_t seed; uint32_t step, salt, bwd_step, bwd_salt; } drop_case;
typedef struct drop_ctx { const drop_case *c; size_t n; double *x, *r, *y; uint32_t step, salt; } drop_ctx;

static double drop_f(void *vp)
{
    drop_ctx *D = vp;
    memcpy(D->y, D->x, D->n * sizeof(double));
    ref_dropout(D->y, D->n, D->c->p, D->c->seed, D->step, D->salt);
    return ops_dot(D->y, D->r, D->n);
}

static void drop_run(ops_env *e, const void *param)
{
    const drop_case *c = param;
    const backend_iface *B = ops_iface(e);
    int s[2] = { c->rows, c->cols };
    drop_ctx D = { c, (size_t)c->rows * c->cols, NULL, NULL, NULL, c->step, c->salt };
    D.x = ops_rand(e, D.n, -1, 1);
    D.r = ops_rand(e, D.n, -1, 1);
    D.y = ops_alloc(e, D.n * sizeof(double));
    tensor *x = ops_tensor(e, 2, s, TL_PLAIN, D.x), *y = ops_tensor(e, 2, s, TL_PLAIN, NULL),
           *dy = ops_tensor(e, 2, s, TL_PLAIN, D.r), *dx = ops_tensor(e, 2, s, TL_PLAIN, NULL);
    OPS_CHECK(e, B->dropout_fwd(ops_ctx(e), x, y, c->p, c->seed, c->step, c->salt, 1) == C_OK);
    if (ops_reference(e)) drop_f(&D);
    float *f = ops_get(e, y);
    ops_expect_values(e, "y (training)", f, D.n, D.y, 1e-6, 0);
    size_t dropped = 0;
    for (size_t i = 0; i < D.n; i++) dropped += f[i] == 0.0f;
    OPS_CHECK(e, dropped > D.n * c->p / 2 && dropped < D.n * c->p * 2);   /* about p of them */
    /* the backward regenerates the mask of its own (step, salt) */
    D.step = c->bwd_step;
    D.salt = c->bwd_salt;
    OPS_CHECK(e, B->dropout_bwd(ops_ctx(e), dy, dx, c->p, c->seed, c->bwd_step, c->bwd_salt) == C_OK);
    ops_expect_grad(e, "dx", dx, D.x, D.n, drop_f, &D, 60, 2e-3, 0);
    OPS_CHECK(e, B->dropout_fwd(ops_ctx(e), x, y, c->p, c->seed, c->step, c->salt, 0) == C_OK);
    ops_expect(e, "y (eval: identity)", y, D.x, 1e-7, 0);
}

#define DROP(name, ...) { "dropout/" name, drop_run, &(const drop_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    DROP("7x33 p0.2", 7, 33, 0.2f, 77, 5, 3, 5, 3),
    DROP("9x37 p0.3 backward of another step", 9, 37, 0.3f, 99, 17, 5, 18, 2),
};

OPS_SUITE(dropout, cases);
