/* sgd.c: the optimiser ops' references (PyTorch torch.optim.SGD in double, plain and Nesterov,
 * with a group lr multiplier; torch.lerp_ for the lookahead step) and cases: a first step
 * (momentum buffer set to the gradient) then a momentum step; the lookahead's start, a lerp and
 * the final decay 1. Tolerances: 1e-6 against the reference; CUDA against the CPU 1e-6. */
#include "ops/harness.h"
#include "ops/reference.h"

#include <string.h>

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

/* torch SGD(nesterov=nesterov) in double: d = g + wd*p; buf = first ? d : m*buf + d;
 * p -= lr*(nesterov ? d + m*buf : buf). */
static void ref_sgd_group(double *p, const double *g, double *buf, size_t n, double lr, double momentum, double wd,
                          int nesterov, int first)
{
    for (size_t i = 0; i < n; i++) {
        double d = g[i] + wd * p[i];
        buf[i] = first ? d : momentum * buf[i] + d;
        p[i] -= lr * (nesterov ? d + momentum * buf[i] : buf[i]);
    }
}

typedef struct group_case { int n; float lr, lr_scale, momentum, wd; int nesterov; } group_case;

static void group_run(ops_env *e, const void *param)
{
    const group_case *c = param;
    const backend_iface *B = ops_iface(e);
    size_t n = (size_t)c->n;
    int s[1] = { c->n };
    double *p = ops_rand(e, n, -3, 3), *g0 = ops_rand(e, n, -1, 1), *g1 = ops_rand(e, n, -1, 1);
    double *buf = ops_alloc(e, n * sizeof(double));
    for (size_t i = 0; i < n; i++) p[i] = (float)p[i];
    tensor *tp = ops_tensor(e, 1, s, TL_PLAIN, p), *tg = ops_tensor(e, 1, s, TL_PLAIN, g0),
           *tb = ops_tensor(e, 1, s, TL_PLAIN, NULL);
    double lr = (double)(c->lr * c->lr_scale);   /* the op's float product */
    for (int step = 0; step < 3; step++) {       /* a first step, then two momentum steps */
        double *g = step == 1 ? g1 : g0;
        if (step) ops_set(e, tg, g);
        OPS_CHECK(e, B->sgd_group_step(ops_ctx(e), tp, tg, tb, n, c->lr, c->lr_scale, c->momentum, c->wd, c->nesterov,
                                       step == 0) == C_OK);
        for (size_t i = 0; i < n; i++) g[i] = (float)g[i];
        ref_sgd_group(p, g, buf, n, lr, c->momentum, c->wd, c->nesterov, step == 0);
        ops_expect(e, step ? "param after a momentum step" : "param after the first step", tp, p, 1e-6, 1e-6);
        ops_expect(e, step ? "momentum after a momentum step" : "momentum after the first step", tb, buf, 1e-6, 1e-6);
    }
    /* nesterov 0 with scale 1 is sgd_step bit for bit */
    if (!c->nesterov && c->lr_scale == 1.0f) {
        float *pf = ops_get(e, tp), *bf = ops_get(e, tb);
        double *pd = ops_alloc(e, n * sizeof(double)), *bd = ops_alloc(e, n * sizeof(double));
        for (size_t i = 0; i < n; i++) { pd[i] = pf[i]; bd[i] = bf[i]; }
        tensor *tq = ops_tensor(e, 1, s, TL_PLAIN, pd), *tc = ops_tensor(e, 1, s, TL_PLAIN, bd);
        OPS_CHECK(e, B->sgd_group_step(ops_ctx(e), tp, tg, tb, n, c->lr, 1.0f, c->momentum, c->wd, 0, 0) == C_OK);
        OPS_CHECK(e, B->sgd_step(ops_ctx(e), tq, tg, tc, n, c->lr, c->momentum, c->wd, 0) == C_OK);
        OPS_CHECK(e, !memcmp(ops_get(e, tp), ops_get(e, tq), n * sizeof(float)));
        OPS_CHECK(e, !memcmp(ops_get(e, tb), ops_get(e, tc), n * sizeof(float)));
    }
}

/* Lookahead: ema = p (start), then ema = lerp(ema, p, w) and p = ema, with torch's two-sided lerp. */
typedef struct la_case { int n; float w; } la_case;

static void la_run(ops_env *e, const void *param)
{
    const la_case *c = param;
    const backend_iface *B = ops_iface(e);
    size_t n = (size_t)c->n;
    int s[1] = { c->n };
    double *p0 = ops_rand(e, n, -2, 2), *p1 = ops_rand(e, n, -2, 2), *ema = ops_alloc(e, n * sizeof(double));
    for (size_t i = 0; i < n; i++) { p0[i] = (float)p0[i]; p1[i] = (float)p1[i]; }
    tensor *tp = ops_tensor(e, 1, s, TL_PLAIN, p0), *te = ops_tensor(e, 1, s, TL_PLAIN, NULL);
    OPS_CHECK(e, B->lookahead_step(ops_ctx(e), te, tp, n, 0.0f, 1) == C_OK);
    ops_expect(e, "ema after the start", te, p0, 0, 0);
    ops_set(e, tp, p1);   /* the net moved on */
    OPS_CHECK(e, B->lookahead_step(ops_ctx(e), te, tp, n, c->w, 0) == C_OK);
    for (size_t i = 0; i < n; i++) ema[i] = p0[i] + (double)c->w * (p1[i] - p0[i]);
    ops_expect(e, "ema after a lerp", te, ema, 1e-6, 1e-6);
    ops_expect(e, "param copied back", tp, ema, 1e-6, 1e-6);
    float *before = ops_get(e, te);
    ops_set(e, tp, p0);
    OPS_CHECK(e, B->lookahead_step(ops_ctx(e), te, tp, n, 0.0f, 0) == C_OK);   /* decay 1: keep the EMA */
    double *keep = ops_alloc(e, n * sizeof(double));
    for (size_t i = 0; i < n; i++) keep[i] = before[i];
    ops_expect(e, "param after decay 1", tp, keep, 0, 0);
}

#define SGD(name, ...) { "sgd/" name, sgd_run, &(const sgd_case){ __VA_ARGS__ } }
#define GROUP(name, ...) { "sgd/group " name, group_run, &(const group_case){ __VA_ARGS__ } }
#define LA(name, ...) { "sgd/lookahead " name, la_run, &(const la_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    SGD("n5 lr0.1 momentum0.9 wd0.01", 5, 0.1f, 0.9f, 0.01f),
    SGD("n1000 lr0.1 momentum0.9 wd5e-4", 1000, 0.1f, 0.9f, 5e-4f),
    SGD("n70000 (threaded) lr0.02 momentum0.9 wd5e-4", 70000, 0.02f, 0.9f, 5e-4f),
    GROUP("nesterov n37 lr0.1 momentum0.85 wd0.01", 37, 0.1f, 1.0f, 0.85f, 0.01f, 1),
    GROUP("nesterov n70000 (threaded) lr0.002 x64 momentum0.85 wd0.02", 70000, 0.002f, 64.0f, 0.85f, 0.02f, 1),
    GROUP("plain n1000 lr0.01 x64 momentum0.9 wd5e-4", 1000, 0.01f, 64.0f, 0.9f, 5e-4f, 0),
    GROUP("plain n1000 lr0.05 x1 momentum0.9 wd1e-4 (= sgd_step)", 1000, 0.05f, 1.0f, 0.9f, 1e-4f, 0),
    LA("n1000 w0.3 (small weight)", 1000, 0.3f),
    LA("n70000 (threaded) w0.9 (large weight)", 70000, 0.9f),
};

OPS_SUITE(sgd, cases);
