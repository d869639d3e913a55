/* test_cuda_parity: the CUDA backend against the CPU backend (the specification).
 *
 * Every op runs on both backends from the same random inputs; the CPU's activations use its own
 * blocked layout (TL_ACT), so layouts are exercised too. Per op the normalised error
 * max|gpu - cpu| / max(1, max|cpu|) is printed and held to a stated tolerance:
 *   exact (0):  ReLU, add, max pool (values and arg max), flatten, dropout (same Philox mask),
 *               the augmentation kernel (same draws, same lookup table)
 *   1e-6:       log-softmax, NLL, its gradient, SGD (double sums / expf last-ulp differences)
 *   1e-5:       linear forward and backward (cuBLAS FP32, different summation order)
 *   1e-4:       convolution forward/backward, BnLayer forward/backward (cuDNN algorithms such as
 *               Winograd/FFT round differently; the GPU runs with TF32 off)
 *   1e-3:       relative loss after a few whole training steps of convbnnet and resnet2
 * Without a GPU (or without CUDA compiled in) the GPU cases print SKIP with the reason. The
 * Philox header shared with the kernels and the device selection are checked on the CPU always. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "data/augment.h"
#include "backend/backend.h"
#include "backend/select.h"
#include "core/error.h"
#include "data/loader.h"
#include "nn/net.h"
#include "ops/dropout.h"
#include "core/philox.h"
#include "core/rng.h"
#ifdef HAVE_CUDA
#include "backend/cuda/augment_batch.h"
#include "backend/cuda_init.h"
#endif

/* ---- CPU-only cases ---- */

static void test_philox_matches_rng(void)
{
    rng_stream s;
    rng_stream_init(&s, 42, RNG_TEST, 0);
    for (int i = 0; i < 20000; i++) {
        uint64_t seed = (uint64_t)rng_next_u32(&s) << 32 | rng_next_u32(&s);
        if (i < 4) seed = (uint64_t)i;  /* small seeds too */
        uint32_t purpose = 1 + rng_next_u32(&s) % 4, a = rng_next_u32(&s), b = rng_next_u32(&s);
        uint32_t w1[4], w2[4];
        rng_block(seed, (rng_purpose)purpose, a, b, w1);
        philox_block(seed, purpose, a, b, w2);
        CHECK(!memcmp(w1, w2, sizeof w1));
        for (int k = 0; k < 4; k++) CHECK(philox_to_float(w1[k]) == rng_u32_to_float(w1[k]));
    }
    /* the raw generator too, on a known counter */
    const uint32_t ctr[4] = { 1, 2, 3, 4 }, key[2] = { 5, 6 };
    uint32_t o1[4], o2[4];
    philox4x32(ctr, key, o1);
    philox4x32_10(ctr, key[0], key[1], o2);
    CHECK(!memcmp(o1, o2, sizeof o1));
    /* and the dropout mask formula of op_dropout.h */
    for (size_t i = 0; i < 4096; i++) {
        uint32_t w[4];
        philox_block(7, RNG_DROPOUT, 3, (5u << 24) | (uint32_t)(i >> 2), w);
        CHECK(dropout_keep(7, 3, 5, i, 0.25f) == (philox_to_float(w[i & 3]) >= 0.25f));
    }
}

static void test_select_cpu_and_errors(void)
{
    backend be = { 0 };
    unsetenv("DEVICE");
    CHECK(backend_select(&be, "cpu", 1) == C_OK);
    CHECK(be.iface && !strcmp(be.iface->name, "cpu"));
    backend_free(&be);
    CHECK(backend_select(&be, "tpu", 1) == C_ERR);
    CHECK(be.iface == NULL);
    /* the environment overrides params */
    setenv("DEVICE", "cpu", 1);
    CHECK(backend_select(&be, "cuda", 1) == C_OK);
    CHECK(be.iface && !strcmp(be.iface->name, "cpu"));
    backend_free(&be);
    setenv("DEVICE", "bogus", 1);
    CHECK(backend_select(&be, "cpu", 1) == C_ERR);
    unsetenv("DEVICE");
    /* auto follows availability */
    CHECK(backend_select(&be, "auto", 1) == C_OK);
    CHECK(be.iface && !strcmp(be.iface->name, backend_cuda_available() ? "cuda" : "cpu"));
    backend_free(&be);
}

static void test_select_cuda_without_gpu(void)
{
    if (backend_cuda_available()) SKIP("a GPU is visible (the error path needs a machine without one)");
    backend be = { 0 };
    unsetenv("DEVICE");
    CHECK(backend_select(&be, "cuda", 1) == C_ERR);
    CHECK(be.iface == NULL);
}

/* ---- GPU cases ---- */

#ifdef HAVE_CUDA
static backend cpu, gpu;
static int gpu_ok;
static const char *gpu_reason = "built without CUDA (nvcc not found)";

#define NEED_GPU() do { if (!gpu_ok) SKIP("%s", gpu_reason); } while (0)

static void fill(float *h, size_t n, float lo, float hi, uint32_t stream)
{
    rng_stream s;
    rng_stream_init(&s, 1234, RNG_TEST, stream);
    for (size_t i = 0; i < n; i++) h[i] = lo + (hi - lo) * rng_next_float(&s);
}

static float *rnd(size_t n, float lo, float hi, uint32_t stream)
{
    float *h = xmalloc(n * sizeof(float) + 4);
    fill(h, n, lo, hi, stream);
    return h;
}

/* The same tensor on both backends. */
typedef struct pair { tensor c, g; } pair;

static void mk(pair *p, tensor_dtype dt, int ndim, const int *shape, tensor_layout lay, const void *host)
{
    if (cpu.iface->alloc(cpu.ctx, &p->c, dt, ndim, shape, lay) || gpu.iface->alloc(gpu.ctx, &p->g, dt, ndim, shape, lay))
        err_die("test", "allocation failed");
    if (host) {
        cpu.iface->upload(cpu.ctx, &p->c, host);
        gpu.iface->upload(gpu.ctx, &p->g, host);
    }
}

static void mk4(pair *p, int n, int c, int h, int w, tensor_layout lay, const float *host)
{
    int s[4] = { n, c, h, w };
    mk(p, DT_F32, 4, s, lay, host);
}

static void rm(pair *p)
{
    cpu.iface->free_tensor(cpu.ctx, &p->c);
    gpu.iface->free_tensor(gpu.ctx, &p->g);
}

static void set_n(pair *p, int n) { p->c.shape[0] = p->g.shape[0] = n; }

/* max|gpu - cpu| / max(1, max|cpu|) over the current shape (I32: mismatching elements). */
static double err_of(const pair *p)
{
    size_t n = tensor_numel(&p->c), sz = n * tensor_elsize(p->c.dtype) + 4;
    void *a = xmalloc(sz), *b = xmalloc(sz);
    cpu.iface->download(cpu.ctx, &p->c, a);
    gpu.iface->download(gpu.ctx, &p->g, b);
    double diff = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double x, y;
        if (p->c.dtype == DT_F32) { x = ((float *)a)[i]; y = ((float *)b)[i]; }
        else if (p->c.dtype == DT_I32) { x = ((int32_t *)a)[i]; y = ((int32_t *)b)[i]; diff += x != y; continue; }
        else { x = ((uint8_t *)a)[i]; y = ((uint8_t *)b)[i]; }
        double d = fabs(x - y);
        if (d > diff || d != d) diff = d != d ? INFINITY : d;
        if (fabs(x) > mx) mx = fabs(x);
    }
    free(a);
    free(b);
    return diff / fmax(1.0, mx);
}

#define EXPECT(p, tol, what) do { \
        double e_ = err_of(p); \
        printf("    %-34s normalised error %.3g (tol %.3g)\n", (what), e_, (double)(tol)); \
        CHECK(e_ <= (tol)); \
    } while (0)

typedef struct conv_case { int n, max_n, ic, hw, oc, k, s, p, bias, relu, need_dx; tensor_layout src; } conv_case;

static void run_conv(const conv_case *cc, uint32_t salt)
{
    conv2d_desc d = { .max_n = cc->max_n, .ic = cc->ic, .ih = cc->hw, .iw = cc->hw, .oc = cc->oc, .kh = cc->k, .kw = cc->k,
                    .stride = cc->s, .pad = cc->p, .bias = cc->bias, .relu = cc->relu, .need_dx = cc->need_dx,
                    .src_layout = cc->src, .algo = CONV2D_ALGO_AUTO };
    int oh = conv2d_out_size(cc->hw, cc->k, cc->s, cc->p);
    conv2d_plan *pc = cpu.iface->conv2d_plan_make(cpu.ctx, &d), *pg = gpu.iface->conv2d_plan_make(gpu.ctx, &d);
    CHECK(pc && pg);
    if (!pc || !pg) return;
    size_t nx = (size_t)cc->max_n * cc->ic * cc->hw * cc->hw, ny = (size_t)cc->max_n * cc->oc * oh * oh;
    float *hx = rnd(nx, -1, 1, salt), *hw = rnd((size_t)cc->oc * cc->ic * cc->k * cc->k, -0.3f, 0.3f, salt + 1);
    float *hb = rnd((size_t)cc->oc, -0.5f, 0.5f, salt + 2), *hdy = rnd(ny, -1, 1, salt + 3);
    int ws[4] = { cc->oc, cc->ic, cc->k, cc->k }, bs[1] = { cc->oc };
    pair x, w, b, y, dy, dx, dw, db;
    mk4(&x, cc->max_n, cc->ic, cc->hw, cc->hw, cc->src, hx);
    mk(&w, DT_F32, 4, ws, TL_PLAIN, hw);
    mk(&b, DT_F32, 1, bs, TL_PLAIN, hb);
    mk4(&y, cc->max_n, cc->oc, oh, oh, TL_ACT, NULL);
    mk4(&dy, cc->max_n, cc->oc, oh, oh, TL_ACT, hdy);
    mk4(&dx, cc->max_n, cc->ic, cc->hw, cc->hw, cc->src, NULL);
    mk(&dw, DT_F32, 4, ws, TL_PLAIN, NULL);
    mk(&db, DT_F32, 1, bs, TL_PLAIN, NULL);
    set_n(&x, cc->n); set_n(&y, cc->n); set_n(&dy, cc->n); set_n(&dx, cc->n);
    CHECK(cpu.iface->conv2d_fwd(cpu.ctx, pc, &x.c, &w.c, cc->bias ? &b.c : NULL, &y.c) == C_OK);
    CHECK(gpu.iface->conv2d_fwd(gpu.ctx, pg, &x.g, &w.g, cc->bias ? &b.g : NULL, &y.g) == C_OK);
    char what[96];
    snprintf(what, sizeof what, "conv fwd n%d ic%d oc%d k%d s%d", cc->n, cc->ic, cc->oc, cc->k, cc->s);
    EXPECT(&y, 1e-4, what);
    CHECK(cpu.iface->conv2d_bwd(cpu.ctx, pc, &x.c, &w.c, &y.c, &dy.c, cc->need_dx ? &dx.c : NULL, &dw.c, cc->bias ? &db.c : NULL) == C_OK);
    CHECK(gpu.iface->conv2d_bwd(gpu.ctx, pg, &x.g, &w.g, &y.g, &dy.g, cc->need_dx ? &dx.g : NULL, &dw.g, cc->bias ? &db.g : NULL) == C_OK);
    EXPECT(&dw, 1e-4, "  conv bwd dw");
    if (cc->bias) EXPECT(&db, 1e-4, "  conv bwd db");
    if (cc->need_dx) EXPECT(&dx, 1e-4, "  conv bwd dx");
    pair *all[] = { &x, &w, &b, &y, &dy, &dx, &dw, &db };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rm(all[i]);
    cpu.iface->conv2d_plan_free(cpu.ctx, pc);
    gpu.iface->conv2d_plan_free(gpu.ctx, pg);
    free(hx); free(hw); free(hb); free(hdy);
}

static void test_conv(void)
{
    NEED_GPU();
    const conv_case cases[] = {
        { 8, 8, 3, 32, 16, 3, 1, 1, 1, 1, 0, TL_PLAIN },     /* first layer: plain input, bias, fused ReLU */
        { 8, 8, 16, 16, 32, 3, 2, 1, 0, 0, 1, TL_ACT },      /* stride 2, BnLayer-style (no bias) */
        { 5, 8, 10, 8, 20, 5, 1, 2, 1, 1, 1, TL_ACT },       /* partial batch, 5x5, odd channels */
        { 6, 6, 24, 7, 17, 1, 1, 0, 1, 0, 1, TL_ACT },       /* 1x1 */
        { 4, 4, 3, 32, 16, 7, 2, 3, 0, 0, 0, TL_PLAIN },     /* resnet2's 7x7 stride-2 stem */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_conv(&cases[i], 100 + 10 * (uint32_t)i);
}

static void test_linear(void)
{
    NEED_GPU();
    int n = 13, in = 160, out = 10;
    int xs[4] = { n, in, 1, 1 }, ws[2] = { out, in }, bs[1] = { out }, ys[2] = { n, out };
    float *hx = rnd((size_t)n * in, -1, 1, 1), *hw = rnd((size_t)out * in, -0.1f, 0.1f, 2), *hb = rnd(out, -1, 1, 3);
    float *hdy = rnd((size_t)n * out, -1, 1, 4);
    pair x, w, b, y, dy, dx, dw, db;
    mk(&x, DT_F32, 4, xs, TL_PLAIN, hx); mk(&w, DT_F32, 2, ws, TL_PLAIN, hw); mk(&b, DT_F32, 1, bs, TL_PLAIN, hb);
    mk(&y, DT_F32, 2, ys, TL_PLAIN, NULL); mk(&dy, DT_F32, 2, ys, TL_PLAIN, hdy); mk(&dx, DT_F32, 4, xs, TL_PLAIN, NULL);
    mk(&dw, DT_F32, 2, ws, TL_PLAIN, NULL); mk(&db, DT_F32, 1, bs, TL_PLAIN, NULL);
    CHECK(cpu.iface->linear_fwd(cpu.ctx, &x.c, &w.c, &b.c, &y.c) == C_OK);
    CHECK(gpu.iface->linear_fwd(gpu.ctx, &x.g, &w.g, &b.g, &y.g) == C_OK);
    EXPECT(&y, 1e-5, "linear fwd (bias)");
    CHECK(cpu.iface->linear_fwd(cpu.ctx, &x.c, &w.c, NULL, &y.c) == C_OK);
    CHECK(gpu.iface->linear_fwd(gpu.ctx, &x.g, &w.g, NULL, &y.g) == C_OK);
    EXPECT(&y, 1e-5, "linear fwd (no bias)");
    CHECK(cpu.iface->linear_bwd(cpu.ctx, &x.c, &w.c, &dy.c, &dx.c, &dw.c, &db.c) == C_OK);
    CHECK(gpu.iface->linear_bwd(gpu.ctx, &x.g, &w.g, &dy.g, &dx.g, &dw.g, &db.g) == C_OK);
    EXPECT(&dx, 1e-5, "linear bwd dx");
    EXPECT(&dw, 1e-5, "linear bwd dw");
    EXPECT(&db, 1e-5, "linear bwd db");
    pair *all[] = { &x, &w, &b, &y, &dy, &dx, &dw, &db };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rm(all[i]);
    free(hx); free(hw); free(hb); free(hdy);
}

static void run_bn(int n, int C, int hw, int with_skip)
{
    size_t tot = (size_t)n * C * hw * hw;
    /* shifted so a good share survives the ReLU and the std is well away from 0 */
    float *hc = rnd(tot, -0.5f, 1.5f, 20), *hs = rnd(tot, -1, 1, 21), *hdy = rnd(tot, -1, 1, 22);
    float *ha = rnd(C, -0.2f, 0.2f, 23), *hm = rnd(C, 0.5f, 1.5f, 24);
    int vs[3] = { C, 1, 1 };
    pair c, s, y, a, m, mu, sd, dy, dc, da, dm;
    mk4(&c, n, C, hw, hw, TL_ACT, hc); mk4(&s, n, C, hw, hw, TL_ACT, hs); mk4(&y, n, C, hw, hw, TL_ACT, NULL);
    mk4(&dy, n, C, hw, hw, TL_ACT, hdy); mk4(&dc, n, C, hw, hw, TL_ACT, NULL);
    mk(&a, DT_F32, 3, vs, TL_PLAIN, ha); mk(&m, DT_F32, 3, vs, TL_PLAIN, hm);
    mk(&mu, DT_F32, 3, vs, TL_PLAIN, NULL); mk(&sd, DT_F32, 3, vs, TL_PLAIN, NULL);
    mk(&da, DT_F32, 3, vs, TL_PLAIN, NULL); mk(&dm, DT_F32, 3, vs, TL_PLAIN, NULL);
    const tensor *skc = with_skip ? &s.c : NULL, *skg = with_skip ? &s.g : NULL;
    cpu.iface->bnlayer_fwd(cpu.ctx, &c.c, &a.c, &m.c, &mu.c, &sd.c, skc, &y.c, 1);
    gpu.iface->bnlayer_fwd(gpu.ctx, &c.g, &a.g, &m.g, &mu.g, &sd.g, skg, &y.g, 1);
    printf("    BnLayer n%d C%d %dx%d%s\n", n, C, hw, hw, with_skip ? " + skip" : "");
    EXPECT(&mu, 1e-5, "  bn means");
    EXPECT(&sd, 1e-5, "  bn stds");
    EXPECT(&y, 1e-4, "  bn fwd (training)");
    cpu.iface->bnlayer_bwd(cpu.ctx, &c.c, &m.c, &mu.c, &sd.c, &dy.c, &dc.c, &da.c, &dm.c);
    gpu.iface->bnlayer_bwd(gpu.ctx, &c.g, &m.g, &mu.g, &sd.g, &dy.g, &dc.g, &da.g, &dm.g);
    EXPECT(&dc, 1e-4, "  bn bwd dc");
    EXPECT(&da, 1e-4, "  bn bwd da");
    EXPECT(&dm, 1e-4, "  bn bwd dm");
    /* eval mode reads the stored statistics (the CPU's, uploaded to both) */
    float *hmu = rnd(C, 0, 1, 25), *hsd = rnd(C, 0.5f, 2, 26);
    cpu.iface->upload(cpu.ctx, &mu.c, hmu); gpu.iface->upload(gpu.ctx, &mu.g, hmu);
    cpu.iface->upload(cpu.ctx, &sd.c, hsd); gpu.iface->upload(gpu.ctx, &sd.g, hsd);
    cpu.iface->bnlayer_fwd(cpu.ctx, &c.c, &a.c, &m.c, &mu.c, &sd.c, skc, &y.c, 0);
    gpu.iface->bnlayer_fwd(gpu.ctx, &c.g, &a.g, &m.g, &mu.g, &sd.g, skg, &y.g, 0);
    EXPECT(&y, 1e-5, "  bn fwd (eval)");
    EXPECT(&mu, 0, "  bn eval leaves means");
    pair *all[] = { &c, &s, &y, &a, &m, &mu, &sd, &dy, &dc, &da, &dm };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rm(all[i]);
    free(hc); free(hs); free(hdy); free(ha); free(hm); free(hmu); free(hsd);
}

static void test_bn(void)
{
    NEED_GPU();
    run_bn(16, 20, 16, 0);
    run_bn(16, 40, 8, 1);
    run_bn(3, 7, 2, 0);   /* small M, channels not a multiple of 16 */
}

static void test_small_ops(void)
{
    NEED_GPU();
    int n = 9, C = 21, hw = 5;
    size_t tot = (size_t)n * C * hw * hw;
    float *hx = rnd(tot, -1, 1, 30), *hx2 = rnd(tot, -1, 1, 31);
    pair x, x2, y, dx;
    mk4(&x, n, C, hw, hw, TL_ACT, hx); mk4(&x2, n, C, hw, hw, TL_ACT, hx2);
    mk4(&y, n, C, hw, hw, TL_ACT, NULL); mk4(&dx, n, C, hw, hw, TL_ACT, NULL);
    cpu.iface->relu_fwd(cpu.ctx, &x.c, &y.c); gpu.iface->relu_fwd(gpu.ctx, &x.g, &y.g);
    EXPECT(&y, 0, "relu fwd");
    cpu.iface->relu_bwd(cpu.ctx, &y.c, &x2.c, &dx.c); gpu.iface->relu_bwd(gpu.ctx, &y.g, &x2.g, &dx.g);
    EXPECT(&dx, 0, "relu bwd");
    cpu.iface->accumulate(cpu.ctx, &dx.c, &x.c); gpu.iface->accumulate(gpu.ctx, &dx.g, &x.g);
    EXPECT(&dx, 0, "add");

    /* adaptive max pool 1x1 and its backward */
    int ps[4] = { n, C, 1, 1 }, is[2] = { n, C };
    pair py, pidx, pdy, pdx;
    float *hpd = rnd((size_t)n * C, -1, 1, 32);
    mk(&py, DT_F32, 4, ps, TL_PLAIN, NULL); mk(&pidx, DT_I32, 2, is, TL_PLAIN, NULL); mk(&pdy, DT_F32, 4, ps, TL_PLAIN, hpd);
    mk4(&pdx, n, C, hw, hw, TL_ACT, NULL);
    cpu.iface->maxpool_fwd(cpu.ctx, &x.c, &py.c, &pidx.c); gpu.iface->maxpool_fwd(gpu.ctx, &x.g, &py.g, &pidx.g);
    EXPECT(&py, 0, "maxpool fwd");
    EXPECT(&pidx, 0, "maxpool arg max (mismatches)");
    cpu.iface->maxpool_bwd(cpu.ctx, &pidx.c, &pdy.c, &pdx.c); gpu.iface->maxpool_bwd(gpu.ctx, &pidx.g, &pdy.g, &pdx.g);
    EXPECT(&pdx, 0, "maxpool bwd");

    /* flatten */
    int fs[2] = { n, C * hw * hw };
    pair f, fb;
    mk(&f, DT_F32, 2, fs, TL_PLAIN, NULL);
    mk4(&fb, n, C, hw, hw, TL_ACT, NULL);
    cpu.iface->flatten_fwd(cpu.ctx, &x.c, &f.c); gpu.iface->flatten_fwd(gpu.ctx, &x.g, &f.g);
    EXPECT(&f, 0, "flatten fwd");
    cpu.iface->flatten_bwd(cpu.ctx, &f.c, &fb.c); gpu.iface->flatten_bwd(gpu.ctx, &f.g, &fb.g);
    EXPECT(&fb, 0, "flatten bwd");

    /* dropout on plain features (odd length: a partial Philox block at the end) */
    int ds[2] = { n, 37 };
    float *hd = rnd((size_t)n * 37, -1, 1, 33);
    pair dxp, dyp;
    mk(&dxp, DT_F32, 2, ds, TL_PLAIN, hd); mk(&dyp, DT_F32, 2, ds, TL_PLAIN, NULL);
    cpu.iface->dropout_fwd(cpu.ctx, &dxp.c, &dyp.c, 0.3f, 99, 17, 5, 1);
    gpu.iface->dropout_fwd(gpu.ctx, &dxp.g, &dyp.g, 0.3f, 99, 17, 5, 1);
    EXPECT(&dyp, 0, "dropout fwd (training)");
    cpu.iface->dropout_bwd(cpu.ctx, &dxp.c, &dyp.c, 0.3f, 99, 18, 2);
    gpu.iface->dropout_bwd(gpu.ctx, &dxp.g, &dyp.g, 0.3f, 99, 18, 2);
    EXPECT(&dyp, 0, "dropout bwd");
    cpu.iface->dropout_fwd(cpu.ctx, &dxp.c, &dyp.c, 0.3f, 99, 17, 5, 0);
    gpu.iface->dropout_fwd(gpu.ctx, &dxp.g, &dyp.g, 0.3f, 99, 17, 5, 0);
    EXPECT(&dyp, 0, "dropout fwd (eval)");

    /* log-softmax, NLL, gradient */
    int k = 10, ls[2] = { n, k }, lb[1] = { n };
    float *hl = rnd((size_t)n * k, -4, 4, 34);
    uint8_t lab[64];
    for (int i = 0; i < n; i++) lab[i] = (uint8_t)((i * 7 + 3) % k);
    pair lx, lp, lg, labels;
    mk(&lx, DT_F32, 2, ls, TL_PLAIN, hl); mk(&lp, DT_F32, 2, ls, TL_PLAIN, NULL); mk(&lg, DT_F32, 2, ls, TL_PLAIN, NULL);
    mk(&labels, DT_U8, 1, lb, TL_PLAIN, lab);
    cpu.iface->logsoftmax_fwd(cpu.ctx, &lx.c, &lp.c); gpu.iface->logsoftmax_fwd(gpu.ctx, &lx.g, &lp.g);
    EXPECT(&lp, 1e-6, "logsoftmax");
    float lc = NAN, lgv = NAN;
    CHECK(cpu.iface->nll_loss(cpu.ctx, &lp.c, &labels.c, &lc) == C_OK && gpu.iface->nll_loss(gpu.ctx, &lp.g, &labels.g, &lgv) == C_OK);
    printf("    %-34s cpu %.9g gpu %.9g\n", "nll loss", lc, lgv);
    CHECK_NEAR(lgv, lc, 1e-6);
    cpu.iface->logsoftmax_nll_bwd(cpu.ctx, &lp.c, &labels.c, &lg.c);
    gpu.iface->logsoftmax_nll_bwd(gpu.ctx, &lp.g, &labels.g, &lg.g);
    EXPECT(&lg, 1e-6, "logsoftmax+nll bwd");

    /* fused SGD: first step, then a momentum step */
    int ss[1] = { 1000 };
    float *hp = rnd(1000, -1, 1, 35), *hg = rnd(1000, -1, 1, 36);
    pair p, g, mb;
    mk(&p, DT_F32, 1, ss, TL_PLAIN, hp); mk(&g, DT_F32, 1, ss, TL_PLAIN, hg); mk(&mb, DT_F32, 1, ss, TL_PLAIN, NULL);
    for (int step = 0; step < 2; step++) {
        cpu.iface->sgd_step(cpu.ctx, &p.c, &g.c, &mb.c, 1000, 0.1f, 0.9f, 5e-4f, step == 0);
        gpu.iface->sgd_step(gpu.ctx, &p.g, &g.g, &mb.g, 1000, 0.1f, 0.9f, 5e-4f, step == 0);
    }
    EXPECT(&p, 1e-6, "sgd params");
    EXPECT(&mb, 1e-6, "sgd momentum");
    pair *all[] = { &x, &x2, &y, &dx, &py, &pidx, &pdy, &pdx, &f, &fb, &dxp, &dyp, &lx, &lp, &lg, &labels, &p, &g, &mb };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rm(all[i]);
    free(hx); free(hx2); free(hpd); free(hd); free(hl); free(hp); free(hg);
}

/* The GPU data path against lib/augment.c: augmented and plain, gathered by a permutation. */
static void test_augment_kernel(void)
{
    NEED_GPU();
    enum { N = 40, H = 32, W = 32, B = 24 };
    uint8_t *img = xmalloc((size_t)N * H * W * 3), lab[N];
    rng_stream s;
    rng_stream_init(&s, 5, RNG_TEST, 0);
    for (size_t i = 0; i < (size_t)N * H * W * 3; i++) img[i] = (uint8_t)rng_next_u32(&s);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)(i % 10);
    uint32_t perm[N];
    rng_permutation(&s, perm, N);
    const double mean[3] = { 0.4914, 0.4822, 0.4465 }, sdv[3] = { 0.2470, 0.2435, 0.2616 };
    norm_stats ns;
    norm_stats_init(&ns, mean, sdv);
    tensor timg, tlab, tlut, tids, tout, tlo;
    int si[1] = { N * H * W * 3 }, sl[1] = { N }, su[2] = { 3, 256 }, sid[1] = { B }, so[4] = { B, 3, H, W }, slo[1] = { B };
    const backend_iface *g = gpu.iface;
    CHECK(!g->alloc(gpu.ctx, &timg, DT_U8, 1, si, TL_PLAIN) && !g->alloc(gpu.ctx, &tlab, DT_U8, 1, sl, TL_PLAIN) &&
          !g->alloc(gpu.ctx, &tlut, DT_F32, 2, su, TL_PLAIN) && !g->alloc(gpu.ctx, &tids, DT_I32, 1, sid, TL_PLAIN) &&
          !g->alloc(gpu.ctx, &tout, DT_F32, 4, so, TL_PLAIN) && !g->alloc(gpu.ctx, &tlo, DT_U8, 1, slo, TL_PLAIN));
    g->upload(gpu.ctx, &timg, img);
    g->upload(gpu.ctx, &tlab, lab);
    g->upload(gpu.ctx, &tlut, ns.lut);
    g->upload(gpu.ctx, &tids, perm + 7);  /* a batch from the middle of the permutation */
    float *got = xmalloc((size_t)B * 3 * H * W * sizeof(float)), *want = xmalloc((size_t)B * 3 * H * W * sizeof(float));
    uint8_t glab[B];
    for (int train = 0; train < 2; train++) {
        cuda_augment_args a = { .images = timg.data, .labels = tlab.data, .lut = tlut.data, .ids = tids.data, .n = B,
                                .h = H, .w = W, .train = train, .pad = 4, .flip = 1, .seed = 77, .pass = 3,
                                .out = tout.data, .labels_out = tlo.data };
        CHECK(cuda_augment_batch(&gpu, &a) == C_OK);
        g->download(gpu.ctx, &tout, got);
        g->download(gpu.ctx, &tlo, glab);
        augment_cfg cfg = { .pad = 4, .flip = 1, .seed = 77 };
        size_t bad = 0;
        for (int i = 0; i < B; i++) {
            const uint8_t *src = img + (size_t)perm[7 + i] * H * W * 3;
            if (train) augment_image(src, H, W, &ns, &cfg, 3, perm[7 + i], want + (size_t)i * 3 * H * W);
            else augment_normalise(src, H, W, &ns, want + (size_t)i * 3 * H * W);
            CHECK(glab[i] == lab[perm[7 + i]]);
        }
        for (size_t i = 0; i < (size_t)B * 3 * H * W; i++) bad += got[i] != want[i];
        printf("    augment kernel (%s): %zu of %d values differ (tol 0)\n", train ? "train" : "eval", bad, B * 3 * H * W);
        CHECK(bad == 0);
    }
    tensor *ts[] = { &timg, &tlab, &tlut, &tids, &tout, &tlo };
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) g->free_tensor(gpu.ctx, ts[i]);
    free(img); free(got); free(want);
}

/* Deterministic mode: a conv backward and a BnLayer forward/backward give the same bytes on two
 * fresh deterministic contexts. */
static void det_run(float *out, size_t *len)
{
    backend be;
    if (backend_cuda_init(&be, 0, 1)) err_die("test", "cannot init the deterministic CUDA backend");
    const backend_iface *B = be.iface;
    int n = 32, C = 32, hw = 16;
    conv2d_desc d = { .max_n = n, .ic = C, .ih = hw, .iw = hw, .oc = C, .kh = 3, .kw = 3, .stride = 1, .pad = 1,
                    .bias = 1, .relu = 1, .need_dx = 1, .src_layout = TL_ACT, .algo = CONV2D_ALGO_AUTO };
    conv2d_plan *p = B->conv2d_plan_make(be.ctx, &d);
    if (!p) err_die("test", "conv plan failed");
    size_t tot = (size_t)n * C * hw * hw;
    int s4[4] = { n, C, hw, hw }, ws[4] = { C, C, 3, 3 }, vs[1] = { C }, v3[3] = { C, 1, 1 };
    tensor x, w, b, y, dy, dx, dw, db, y2, dc, mu, sd, a, m, da, dm;
    tensor *t4[] = { &x, &y, &dy, &dx, &y2, &dc };
    for (size_t i = 0; i < 6; i++) B->alloc(be.ctx, t4[i], DT_F32, 4, s4, TL_ACT);
    B->alloc(be.ctx, &w, DT_F32, 4, ws, TL_PLAIN); B->alloc(be.ctx, &dw, DT_F32, 4, ws, TL_PLAIN);
    B->alloc(be.ctx, &b, DT_F32, 1, vs, TL_PLAIN); B->alloc(be.ctx, &db, DT_F32, 1, vs, TL_PLAIN);
    tensor *t3[] = { &mu, &sd, &a, &m, &da, &dm };
    for (size_t i = 0; i < 6; i++) B->alloc(be.ctx, t3[i], DT_F32, 3, v3, TL_PLAIN);
    float *h = rnd(tot, -1, 1, 40);
    B->upload(be.ctx, &x, h); fill(h, tot, -1, 1, 41); B->upload(be.ctx, &dy, h);
    fill(h, (size_t)C * C * 9, -0.2f, 0.2f, 42); B->upload(be.ctx, &w, h);
    fill(h, C, -0.2f, 0.2f, 43); B->upload(be.ctx, &b, h); B->upload(be.ctx, &a, h);
    fill(h, C, 0.5f, 1.5f, 44); B->upload(be.ctx, &m, h);
    free(h);
    if (B->conv2d_fwd(be.ctx, p, &x, &w, &b, &y) || B->conv2d_bwd(be.ctx, p, &x, &w, &y, &dy, &dx, &dw, &db))
        err_die("test", "conv failed");
    B->bnlayer_fwd(be.ctx, &dx, &a, &m, &mu, &sd, &x, &y2, 1);
    B->bnlayer_bwd(be.ctx, &dx, &m, &mu, &sd, &dy, &dc, &da, &dm);
    size_t o = 0;
    const tensor *res[] = { &y, &dx, &dw, &db, &y2, &dc, &mu, &sd, &da, &dm };
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++) {
        B->download(be.ctx, res[i], out + o);
        o += tensor_numel(res[i]);
    }
    *len = o;
    tensor *all[] = { &x, &w, &b, &y, &dy, &dx, &dw, &db, &y2, &dc, &mu, &sd, &a, &m, &da, &dm };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) B->free_tensor(be.ctx, all[i]);
    B->conv2d_plan_free(be.ctx, p);
    backend_free(&be);
}

static void test_deterministic_mode(void)
{
    NEED_GPU();
    size_t cap = 5 * (size_t)32 * 32 * 16 * 16 + 32 * 32 * 9 + 16 * 32, l1 = 0, l2 = 0;
    float *r1 = xmalloc(cap * sizeof(float)), *r2 = xmalloc(cap * sizeof(float));
    det_run(r1, &l1);
    det_run(r2, &l2);
    CHECK(l1 == l2 && l1 <= cap);
    CHECK(!memcmp(r1, r2, l1 * sizeof(float)));
    free(r1); free(r2);
}

/* A few whole training steps of a real model on both backends from the same weights. */
static void run_net(const char *arch, int batch, int steps)
{
    char path[128];
    snprintf(path, sizeof path, "models/%s.json", arch);
    net *nc = NULL, *ng = NULL;
    if (net_load(&nc, path, &cpu, batch) || net_load(&ng, path, &gpu, batch)) {
        CHECK(!"net_load");
        net_free(nc);
        return;
    }
    CHECK(net_init_params(nc, 3) == C_OK);
    CHECK(net_init_params(ng, 3) == C_OK);
    size_t nx = (size_t)batch * 3 * 32 * 32;
    float *x = xmalloc(nx * sizeof(float));
    uint8_t lab[512];
    double worst = 0;
    for (int s = 0; s < steps; s++) {
        fill(x, nx, -2, 2, 50 + (uint32_t)s);
        for (int i = 0; i < batch; i++) lab[i] = (uint8_t)((i * 3 + s) % 10);
        CHECK(net_forward(nc, x, batch, 1, 11, (uint32_t)s) == C_OK);
        CHECK(net_forward(ng, x, batch, 1, 11, (uint32_t)s) == C_OK);
        float lc, lg;
        CHECK(net_loss_backward(nc, lab, batch, &lc) == C_OK && net_loss_backward(ng, lab, batch, &lg) == C_OK);
        double rel = fabs(lg - lc) / fmax(1e-12, fabs(lc));
        if (rel > worst) worst = rel;
        CHECK(rel <= 1e-3);
        CHECK(net_sgd_step(nc, 0.02f, 0.9f, 5e-4f) == C_OK);
        CHECK(net_sgd_step(ng, 0.02f, 0.9f, 5e-4f) == C_OK);
    }
    /* the weights after the steps */
    double werr = 0;
    for (int t = 0; t < net_n_tensors(nc); t++) {
        size_t n = net_tensor_numel(nc, t);
        float *a = xmalloc(n * sizeof(float)), *b = xmalloc(n * sizeof(float));
        CHECK(net_tensor_get(nc, t, a) == C_OK && net_tensor_get(ng, t, b) == C_OK);
        double d = 0, mx = 0;
        for (size_t i = 0; i < n; i++) { d = fmax(d, fabs(a[i] - b[i])); mx = fmax(mx, fabs(a[i])); }
        werr = fmax(werr, d / fmax(1.0, mx));
        free(a); free(b);
    }
    printf("    %-10s %d steps at batch %d: worst relative loss difference %.3g (tol 1e-3), weights %.3g (tol 1e-3)\n",
           arch, steps, batch, worst, werr);
    CHECK(werr <= 1e-3);
    free(x);
    net_free(nc);
    net_free(ng);
}

/* The device loader against the host loader: every batch of a training epoch (shuffled,
 * augmented, last batch partial), an evaluation pass and a TTA pass, bit for bit. */
static void test_device_loader(void)
{
    NEED_GPU();
    enum { N = 70, BS = 32 };
    uint8_t *img = xmalloc((size_t)N * 32 * 32 * 3), lab[N];
    rng_stream s;
    rng_stream_init(&s, 8, RNG_TEST, 0);
    for (size_t i = 0; i < (size_t)N * 32 * 32 * 3; i++) img[i] = (uint8_t)rng_next_u32(&s);
    for (int i = 0; i < N; i++) lab[i] = (uint8_t)(rng_next_u32(&s) % 10);
    dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.images = img; ds.labels = lab; ds.n = N; ds.h = 32; ds.w = 32; ds.n_classes = 10;
    const double mean[3] = { 0.4914, 0.4822, 0.4465 }, sdv[3] = { 0.2470, 0.2435, 0.2616 };
    norm_stats ns;
    norm_stats_init(&ns, mean, sdv);
    augment_cfg aug = { .pad = 4, .flip = 1, .seed = 13 };
    tensor x, y;
    int xs[4] = { BS, 3, 32, 32 }, ys[1] = { BS };
    const backend_iface *g = gpu.iface;
    CHECK(!g->alloc(gpu.ctx, &x, DT_F32, 4, xs, TL_PLAIN) && !g->alloc(gpu.ctx, &y, DT_U8, 1, ys, TL_PLAIN));
    float *got = xmalloc(sizeof(float) * BS * 3 * 32 * 32);
    uint8_t glab[BS];
    /* mode: 0 training epoch 2, 1 evaluation, 2 TTA pass 1 */
    for (int mode = 0; mode < 3; mode++) {
        loader h, d;
        CHECK(loader_init(&h, &ds, &ns, BS, mode == 0, &aug, 13, 0) == C_OK);
        CHECK(loader_init(&d, &ds, &ns, BS, mode == 0, &aug, 13, 0) == C_OK);
        CHECK(loader_attach_device(&d, &gpu, &x, &y) == C_OK);
        if (mode == 2) { loader_set_mode(&h, 0, 1); loader_set_mode(&d, 0, 1); }
        uint32_t pass = mode == 0 ? 2 : mode == 2 ? AUGMENT_PASS_TTA + 1 : 0;
        loader_start(&h, 2, pass);
        loader_start(&d, 2, pass);
        size_t bad = 0;
        long nb = 0;
        for (const batch *hb, *db; (hb = loader_next(&h)) && (db = loader_next(&d)); nb++) {
            CHECK(db->x == NULL && db->n == hb->n && db->index == hb->index);
            CHECK(!memcmp(db->ids, hb->ids, sizeof(uint32_t) * (size_t)hb->n));
            CHECK(x.shape[0] == hb->n && y.shape[0] == hb->n);
            g->download(gpu.ctx, &x, got);
            g->download(gpu.ctx, &y, glab);
            for (size_t i = 0; i < (size_t)hb->n * 3 * 32 * 32; i++) bad += got[i] != hb->x[i];
            CHECK(!memcmp(glab, hb->y, (size_t)hb->n) && !memcmp(db->y, hb->y, (size_t)hb->n));
        }
        printf("    device loader (%s): %ld batches, %zu values differ (tol 0)\n",
               mode == 0 ? "train" : mode == 1 ? "eval" : "tta", nb, bad);
        CHECK(nb == 3 && bad == 0);
        CHECK(loader_next(&d) == NULL);
        loader_free(&h);
        loader_free(&d);
    }
    g->free_tensor(gpu.ctx, &x);
    g->free_tensor(gpu.ctx, &y);
    free(got);
    free(img);
}

/* Graph replay against uncaptured steps on a deterministic context: the same losses and
 * weights bit for bit, over full batches (replayed), a partial batch (uncaptured) and a
 * momentum reset (first step uncaptured). */
static void test_graph_replay(void)
{
    NEED_GPU();
    backend det;
    if (backend_cuda_init_ex(&det, 0, 1, 0) != C_OK) { CHECK(!"deterministic backend"); return; }
    net *plain = NULL, *graph = NULL;
    setenv("NET_GRAPH", "0", 1);
    int rc = net_load(&plain, "models/convbnnet.json", &det, 32);
    unsetenv("NET_GRAPH");
    rc = rc || net_load(&graph, "models/convbnnet.json", &det, 32);
    if (rc) { CHECK(!"net_load"); net_free(plain); backend_free(&det); return; }
    CHECK(net_init_params(plain, 4) == C_OK && net_init_params(graph, 4) == C_OK);
    float *x = xmalloc(sizeof(float) * 32 * 3 * 32 * 32);
    uint8_t lab[32];
    int same = 1;
    for (int s = 0; s < 12; s++) {
        int bn = s == 6 ? 20 : 32;
        if (s == 8) { net_reset_momentum(plain); net_reset_momentum(graph); }
        fill(x, (size_t)bn * 3 * 32 * 32, -2, 2, 90 + (uint32_t)s);
        for (int i = 0; i < bn; i++) lab[i] = (uint8_t)((i * 7 + s) % 10);
        float lr = 0.01f * (float)(s + 1);
        long ta = net_train_step(plain, x, lab, bn, 3, (uint32_t)s, lr, 0.9f, 1e-4f);
        long tb = net_train_step(graph, x, lab, bn, 3, (uint32_t)s, lr, 0.9f, 1e-4f);
        CHECK(ta >= 0 && tb >= 0);
        float la, lb;
        CHECK(net_loss_result(plain, ta, &la) == C_OK && net_loss_result(graph, tb, &lb) == C_OK);
        same &= !memcmp(&la, &lb, sizeof la);
    }
    CHECK(same);
    for (int t = 0; t < net_n_tensors(plain); t++) {
        size_t n = net_tensor_numel(plain, t);
        float *a = xmalloc(n * sizeof(float)), *b = xmalloc(n * sizeof(float));
        CHECK(net_tensor_get(plain, t, a) == C_OK && net_tensor_get(graph, t, b) == C_OK);
        same &= !memcmp(a, b, n * sizeof(float));
        free(a); free(b);
    }
    printf("    graph replay: %ld of 12 steps replayed, losses and weights %s the uncaptured run's\n",
           net_graph_steps(graph), same ? "equal" : "DIFFER from");
    CHECK(same);
    CHECK(net_graph_steps(plain) == 0 && net_graph_steps(graph) >= 6);
    free(x);
    net_free(plain);
    net_free(graph);
    backend_free(&det);
}

static void test_training_steps(void)
{
    NEED_GPU();
    run_net("convbnnet", 32, 5);
    run_net("resnet2", 16, 3);
    run_net("convnet", 32, 3);
}
#endif /* HAVE_CUDA */

int main(int argc, char **argv)
{
    err_init(argv[0]);
    /* --gpu-available: exit status 0 when a CUDA device is usable (for the shell tests) */
    if (argc > 1 && !strcmp(argv[1], "--gpu-available")) return backend_cuda_available() ? 0 : 1;
    TEST_RUN(test_philox_matches_rng);
    TEST_RUN(test_select_cpu_and_errors);
    TEST_RUN(test_select_cuda_without_gpu);
#ifdef HAVE_CUDA
    if (!backend_cuda_available()) gpu_reason = "no CUDA device visible";
    else if (backend_cpu_init(&cpu, 0) || backend_cuda_init_ex(&gpu, 0, 0, 0)) gpu_reason = "backend init failed";
    else gpu_ok = 1;
    if (gpu_ok) printf("    GPU: %s (TF32 off)\n", backend_cuda_device_name(&gpu));
    TEST_RUN(test_conv);
    TEST_RUN(test_linear);
    TEST_RUN(test_bn);
    TEST_RUN(test_small_ops);
    TEST_RUN(test_augment_kernel);
    TEST_RUN(test_deterministic_mode);
    TEST_RUN(test_training_steps);
    TEST_RUN(test_device_loader);
    TEST_RUN(test_graph_replay);
    if (gpu_ok) { backend_free(&gpu); backend_free(&cpu); }
#else
    printf("SKIP: gpu_parity: built without CUDA (nvcc not found)\n");
#endif
    TEST_EXIT();
}
