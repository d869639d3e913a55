/* linear.c: Linear's reference and cases (batch 1 and more, a 4-D input as the flatten-free
 * path sees it, with and without bias).
 * Tolerances: forward 1e-4 against the reference; gradients 2e-3 against finite differences;
 * CUDA against the CPU 1e-5 (cuBLAS FP32, another summation order). */
#include "ops/harness.h"
#include "ops/reference.h"

void ref_linear(const double *x, int N, int in, const double *w, const double *b, int out, double *y)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < in; i++) s += x[(size_t)n * in + i] * w[(size_t)o * in + i];
            y[(size_t)n * out + o] = s;
        }
}

typedef struct lin_case { int n, in, out, bias, x4d; double wlo, whi; } lin_case;
typedef struct lin_ctx { const lin_case *c; double *x, *w, *b, *r, *y; } lin_ctx;

static double lin_f(void *vp)
{
    lin_ctx *L = vp;
    ref_linear(L->x, L->c->n, L->c->in, L->w, L->c->bias ? L->b : NULL, L->c->out, L->y);
    return ops_dot(L->y, L->r, (size_t)L->c->n * L->c->out);
}

static void lin_run(ops_env *e, const void *param)
{
    const lin_case *c = param;
    const backend_iface *B = ops_iface(e);
    lin_ctx L = { .c = c };
    size_t nx = (size_t)c->n * c->in, nw = (size_t)c->out * c->in, ny = (size_t)c->n * c->out;
    L.x = ops_rand(e, nx, -1, 1);
    L.w = ops_rand(e, nw, c->wlo, c->whi);
    L.b = ops_rand(e, c->out, -1, 1);
    L.r = ops_rand(e, ny, -1, 1);
    L.y = ops_alloc(e, ny * sizeof(double));
    int xs2[2] = { c->n, c->in }, xs4[4] = { c->n, c->in, 1, 1 }, ws[2] = { c->out, c->in }, bs[1] = { c->out },
        ys[2] = { c->n, c->out };
    tensor *x = c->x4d ? ops_tensor(e, 4, xs4, TL_PLAIN, L.x) : ops_tensor(e, 2, xs2, TL_PLAIN, L.x);
    tensor *dx = c->x4d ? ops_tensor(e, 4, xs4, TL_PLAIN, NULL) : ops_tensor(e, 2, xs2, TL_PLAIN, NULL);
    tensor *w = ops_tensor(e, 2, ws, TL_PLAIN, L.w), *b = ops_tensor(e, 1, bs, TL_PLAIN, L.b),
           *y = ops_tensor(e, 2, ys, TL_PLAIN, NULL), *dy = ops_tensor(e, 2, ys, TL_PLAIN, L.r),
           *dw = ops_tensor(e, 2, ws, TL_PLAIN, NULL), *db = ops_tensor(e, 1, bs, TL_PLAIN, NULL);
    OPS_CHECK(e, B->linear_fwd(ops_ctx(e), x, w, c->bias ? b : NULL, y) == C_OK);
    if (ops_reference(e)) lin_f(&L);
    ops_expect(e, "y", y, L.y, 1e-4, 1e-5);
    OPS_CHECK(e, B->linear_bwd(ops_ctx(e), x, w, dy, dx, dw, c->bias ? db : NULL) == C_OK);
    ops_expect_grad(e, "dx", dx, L.x, nx, lin_f, &L, 20, 2e-3, 1e-5);
    ops_expect_grad(e, "dw", dw, L.w, nw, lin_f, &L, 20, 2e-3, 1e-5);
    if (c->bias) ops_expect_grad(e, "db", db, L.b, (size_t)c->out, lin_f, &L, 20, 2e-3, 1e-5);
    /* dx may be NULL (the first layer) */
    OPS_CHECK(e, B->linear_bwd(ops_ctx(e), x, w, dy, NULL, dw, c->bias ? db : NULL) == C_OK);
    ops_expect_grad(e, "dw (no dx)", dw, L.w, nw, lin_f, &L, 20, 2e-3, 1e-5);
}

#define LIN(name, ...) { "linear/" name, lin_run, &(const lin_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    LIN("n1 in7 out3 bias", 1, 7, 3, 1, 0, -1, 1),
    LIN("n5 in33 out10 bias", 5, 33, 10, 1, 0, -1, 1),
    LIN("n4 in3072 out40 bias", 4, 3072, 40, 1, 0, -1, 1),
    LIN("n13 in160 out10 bias 4-d input", 13, 160, 10, 1, 1, -0.1, 0.1),
    LIN("n13 in160 out10 no bias 4-d input", 13, 160, 10, 0, 1, -0.1, 0.1),
};

OPS_SUITE(linear, cases);
