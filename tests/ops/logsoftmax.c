/* logsoftmax.c: log-softmax and NLL references and cases: the forward, the loss (waiting and
 * queued on the device), and the fused gradient against finite differences of
 * nll(logsoftmax(x)); the same for the label-smoothed loss (sum and mean). Tolerances: 1e-6
 * against the reference (double sums); the gradient 2e-3; CUDA against the CPU 1e-6 (expf
 * last-ulp differences). The CPU's AVX2 and AVX-512 rows use libmvec's exp and expf and are held
 * to the same tolerances as its plain rows. */
#include "ops/harness.h"
#include "ops/reference.h"

#include <math.h>

void ref_logsoftmax(const double *x, int N, int K, double *y)
{
    for (int n = 0; n < N; n++) {
        double mx = x[(size_t)n * K], s = 0;
        for (int j = 1; j < K; j++) mx = x[(size_t)n * K + j] > mx ? x[(size_t)n * K + j] : mx;
        for (int j = 0; j < K; j++) s += exp(x[(size_t)n * K + j] - mx);
        for (int j = 0; j < K; j++) y[(size_t)n * K + j] = x[(size_t)n * K + j] - mx - log(s);
    }
}

double ref_nll(const double *logp, int N, int K, const uint8_t *labels)
{
    double s = 0;
    for (int n = 0; n < N; n++) s -= logp[(size_t)n * K + labels[n]];
    return s / N;
}

typedef struct ls_case { int n, k; } ls_case;
typedef struct ls_ctx { int n, k; double *x, *y; uint8_t *lab; } ls_ctx;

static double ls_f(void *vp)
{
    ls_ctx *L = vp;
    ref_logsoftmax(L->x, L->n, L->k, L->y);
    return ref_nll(L->y, L->n, L->k, L->lab);
}

static void ls_run(ops_env *e, const void *param)
{
    const ls_case *c = param;
    const backend_iface *B = ops_iface(e);
    size_t nk = (size_t)c->n * c->k;
    ls_ctx L = { c->n, c->k, ops_rand(e, nk, -4, 4), ops_alloc(e, nk * sizeof(double)), ops_alloc(e, (size_t)c->n) };
    for (int i = 0; i < c->n; i++) L.lab[i] = (uint8_t)ops_rand_below(e, (uint32_t)c->k);
    int s[2] = { c->n, c->k }, ls[1] = { c->n };
    tensor *x = ops_tensor(e, 2, s, TL_PLAIN, L.x), *y = ops_tensor(e, 2, s, TL_PLAIN, NULL),
           *dx = ops_tensor(e, 2, s, TL_PLAIN, NULL), *lab = ops_tensor_raw(e, DT_U8, 1, ls, TL_PLAIN, L.lab);
    OPS_CHECK(e, B->logsoftmax_fwd(ops_ctx(e), x, y) == C_OK);
    double loss = ops_reference(e) ? ls_f(&L) : 0;
    ops_expect(e, "logp", y, L.y, 1e-6, 1e-6);
    float got = NAN;
    OPS_CHECK(e, B->nll_loss(ops_ctx(e), y, lab, &got) == C_OK);
    ops_expect_values(e, "nll loss", &got, 1, &loss, 1e-6, 1e-6);
    if (B->nll_loss_queue) {   /* the queued loss gives the same bits */
        float q = NAN;
        OPS_CHECK(e, B->nll_loss_queue(ops_ctx(e), y, lab) == C_OK && B->loss_stash(ops_ctx(e), 3) == C_OK &&
                     B->loss_fetch(ops_ctx(e), 3, &q) == C_OK);
        OPS_CHECK(e, q == got);
    }
    OPS_CHECK(e, B->logsoftmax_nll_bwd(ops_ctx(e), y, lab, dx) == C_OK);
    ops_expect_grad(e, "dx", dx, L.x, nk, ls_f, &L, 50, 2e-3, 1e-6);
}

/* torch CrossEntropyLoss(label_smoothing=eps): per row (1-eps)*(-logp[y]) + eps*mean_j(-logp[j]);
 * summed, or the mean over the batch. */
static double ref_smooth_nll(const double *logp, int N, int K, const uint8_t *labels, double eps, int sum)
{
    double s = 0;
    for (int n = 0; n < N; n++) {
        double all = 0;
        for (int j = 0; j < K; j++) all -= logp[(size_t)n * K + j];
        s += (1 - eps) * -logp[(size_t)n * K + labels[n]] + eps * all / K;
    }
    return sum ? s : s / N;
}

typedef struct sm_case { int n, k; float eps; int sum; } sm_case;
typedef struct sm_ctx { ls_ctx L; double eps; int sum; } sm_ctx;

static double sm_f(void *vp)
{
    sm_ctx *S = vp;
    ref_logsoftmax(S->L.x, S->L.n, S->L.k, S->L.y);
    return ref_smooth_nll(S->L.y, S->L.n, S->L.k, S->L.lab, S->eps, S->sum);
}

static void sm_run(ops_env *e, const void *param)
{
    const sm_case *c = param;
    const backend_iface *B = ops_iface(e);
    size_t nk = (size_t)c->n * c->k;
    sm_ctx S = { { c->n, c->k, ops_rand(e, nk, -4, 4), ops_alloc(e, nk * sizeof(double)), ops_alloc(e, (size_t)c->n) },
                 c->eps, c->sum };
    for (int i = 0; i < c->n; i++) S.L.lab[i] = (uint8_t)ops_rand_below(e, (uint32_t)c->k);
    int s[2] = { c->n, c->k }, ls[1] = { c->n };
    tensor *x = ops_tensor(e, 2, s, TL_PLAIN, S.L.x), *y = ops_tensor(e, 2, s, TL_PLAIN, NULL),
           *dx = ops_tensor(e, 2, s, TL_PLAIN, NULL), *lab = ops_tensor_raw(e, DT_U8, 1, ls, TL_PLAIN, S.L.lab);
    OPS_CHECK(e, B->logsoftmax_fwd(ops_ctx(e), x, y) == C_OK);
    double loss = ops_reference(e) ? sm_f(&S) : 0;
    float got = NAN;
    OPS_CHECK(e, B->smooth_nll_loss(ops_ctx(e), y, lab, c->eps, c->sum, &got) == C_OK);
    ops_expect_values(e, "smoothed loss", &got, 1, &loss, 1e-6, 1e-6);
    if (c->eps == 0 && !c->sum) {   /* eps 0, mean: the plain NLL */
        float plain = NAN;
        OPS_CHECK(e, B->nll_loss(ops_ctx(e), y, lab, &plain) == C_OK);
        OPS_CHECK(e, fabsf(plain - got) <= 1e-6f * fmaxf(1.0f, fabsf(plain)));
    }
    if (B->smooth_nll_loss_queue) {   /* the queued loss gives the same bits */
        float q = NAN;
        OPS_CHECK(e, B->smooth_nll_loss_queue(ops_ctx(e), y, lab, c->eps, c->sum) == C_OK &&
                     B->loss_stash(ops_ctx(e), 2) == C_OK && B->loss_fetch(ops_ctx(e), 2, &q) == C_OK);
        OPS_CHECK(e, q == got);
    }
    OPS_CHECK(e, B->logsoftmax_smooth_nll_bwd(ops_ctx(e), y, lab, c->eps, c->sum, dx) == C_OK);
    ops_expect_grad(e, "dx", dx, S.L.x, nk, sm_f, &S, 50, 2e-3, 1e-6);
}

#define LS(name, ...) { "logsoftmax/" name, ls_run, &(const ls_case){ __VA_ARGS__ } }
#define SM(name, ...) { "logsoftmax/smooth " name, sm_run, &(const sm_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    LS("n5 k10", 5, 10),
    LS("n9 k10", 9, 10),
    LS("n1 k3", 1, 3),
    LS("n7 k37", 7, 37),   /* vector paths: whole vectors and a padded tail */
    LS("n4 k16", 4, 16),
    SM("n9 k10 eps0.2 sum (airbench)", 9, 10, 0.2f, 1),
    SM("n5 k10 eps0.1 mean", 5, 10, 0.1f, 0),
    SM("n7 k10 eps0 mean (the plain NLL)", 7, 10, 0.0f, 0),
    SM("n1 k3 eps0.5 sum", 1, 3, 0.5f, 1),
    SM("n7 k37 eps0.2 sum (vector tails)", 7, 37, 0.2f, 1),
};

OPS_SUITE(logsoftmax, cases);
