/* test_cuda_train: the CUDA backend beyond single ops (those are checked CPU against CUDA by
 * build/tests/ops/test_backend_ops): device selection, deterministic mode, a few whole training
 * steps of real models against the CPU backend, the device loader against the host loader, and
 * graph replay against uncaptured steps.
 *   0 (bytes):  deterministic mode run twice, device loader, graph replay
 *   1e-3:       relative loss and weights after a few whole training steps of convbnnet, resnet2
 *               and convnet
 * The GPU cases run where a GPU is visible (/dev/nvidia<N> or nvidia-smi -L) and FAIL there when
 * the CUDA backend does not start; only a machine without a GPU prints SKIP. The device selection
 * and the graph-replay comparison itself (that it tells two different runs apart) are checked on
 * the CPU always. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "data/augment.h"
#include "backend/backend.h"
#include "backend/select.h"
#include "core/errors.h"
#include "data/loader.h"
#include "nn/net.h"
#include "core/rng.h"
#include "backend/cuda_init.h"

/* ---- CPU-only cases ---- */

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

/* "cuda" starts the GPU where CUDA works and is one error (no backend left behind) elsewhere. */
static void test_select_cuda_follows_availability(void)
{
    backend be = { 0 };
    unsetenv("DEVICE");
    if (backend_cuda_available()) {
        CHECK(backend_select(&be, "cuda", 1) == C_OK);
        CHECK(be.iface && !strcmp(be.iface->name, "cuda"));
        if (be.iface) backend_free(&be);
    } else {
        CHECK(backend_select(&be, "cuda", 1) == C_ERR);
        CHECK(be.iface == NULL);
    }
}

/* ---- GPU cases ---- */

static backend cpu, gpu;
static int gpu_state;           /* backend_cuda_start_if_visible: 1 started, 0 no GPU, -1 broken */
static char gpu_why[1280];

/* a visible GPU that does not work fails every GPU case; only no GPU skips */
#define NEED_GPU() do { \
        if (gpu_state < 0) { printf("FAIL: %s: %s\n", test_current, gpu_why); test_case_failed = 1; return; } \
        if (!gpu_state) SKIP("%.200s", gpu_why); \
    } while (0)

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
        for (const batch *hb, *db; loader_next(&h, &hb) == C_OK && hb && loader_next(&d, &db) == C_OK && db; nb++) {
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
        const batch *end;
        CHECK(loader_next(&d, &end) == C_OK && end == NULL);
        loader_free(&h);
        loader_free(&d);
    }
    g->free_tensor(gpu.ctx, &x);
    g->free_tensor(gpu.ctx, &y);
    free(got);
    free(img);
}

/* 12 steps of convbnnet on net a (NET_GRAPH=0: every step uncaptured) and net b (graphs where
 * the backend has them), each on its own backend context, so each has its own loss slots and
 * tickets: full batches (replayed on b), a partial batch (uncaptured) and a momentum reset
 * (first step uncaptured). mutate_step >= 0 scales b's lr at that step by 1.001 (the check that
 * the comparison can fail). Returns REPLAY_LOSSES_SAME | REPLAY_WEIGHTS_SAME for what was the
 * same bytes at every step (each read through its own net's ticket); the graph steps of each net
 * go to *ga and *gb. -1 when a net cannot be built or a step fails. */
enum { REPLAY_LOSSES_SAME = 1, REPLAY_WEIGHTS_SAME = 2 };
static int replay_compare(backend *ba, backend *bb, int mutate_step, long *ga, long *gb)
{
    net *plain = NULL, *graph = NULL;
    setenv("NET_GRAPH", "0", 1);
    int rc = net_load(&plain, "models/convbnnet.json", ba, 32);
    unsetenv("NET_GRAPH");
    rc = rc || net_load(&graph, "models/convbnnet.json", bb, 32);
    if (rc || net_init_params(plain, 4) || net_init_params(graph, 4)) {
        net_free(plain);
        net_free(graph);
        return -1;
    }
    float *x = xmalloc(sizeof(float) * 32 * 3 * 32 * 32);
    uint8_t lab[32];
    int losses = 1, weights = 1, ok = 1;
    for (int s = 0; s < 12; s++) {
        int bn = s == 6 ? 20 : 32;
        if (s == 8) { net_reset_momentum(plain); net_reset_momentum(graph); }
        fill(x, (size_t)bn * 3 * 32 * 32, -2, 2, 90 + (uint32_t)s);
        for (int i = 0; i < bn; i++) lab[i] = (uint8_t)((i * 7 + s) % 10);
        float lr = 0.01f * (float)(s + 1);
        long ta = net_train_step(plain, x, lab, bn, 3, (uint32_t)s, lr, 0.9f, 1e-4f);
        long tb = net_train_step(graph, x, lab, bn, 3, (uint32_t)s, s == mutate_step ? lr * 1.001f : lr, 0.9f, 1e-4f);
        float la = 0, lb = 0;
        ok &= ta >= 0 && tb >= 0 && net_loss_result(plain, ta, &la) == C_OK && net_loss_result(graph, tb, &lb) == C_OK;
        losses &= !memcmp(&la, &lb, sizeof la);
    }
    for (int t = 0; t < net_n_tensors(plain); t++) {
        size_t n = net_tensor_numel(plain, t);
        float *a = xmalloc(n * sizeof(float)), *b = xmalloc(n * sizeof(float));
        ok &= net_tensor_get(plain, t, a) == C_OK && net_tensor_get(graph, t, b) == C_OK;
        weights &= !memcmp(a, b, n * sizeof(float));
        free(a); free(b);
    }
    *ga = net_graph_steps(plain);
    *gb = net_graph_steps(graph);
    free(x);
    net_free(plain);
    net_free(graph);
    return ok ? (losses ? REPLAY_LOSSES_SAME : 0) | (weights ? REPLAY_WEIGHTS_SAME : 0) : -1;
}

/* The comparison above on the CPU (two contexts): equal runs are equal, and a run whose lr
 * differs by 0.1% at one step is told apart (so the GPU case below can fail). */
static void test_replay_comparison_can_fail(void)
{
    backend a, b;
    CHECK(backend_cpu_init(&a, 0) == C_OK && backend_cpu_init(&b, 0) == C_OK);
    long ga, gb;
    CHECK(replay_compare(&a, &b, -1, &ga, &gb) == (REPLAY_LOSSES_SAME | REPLAY_WEIGHTS_SAME));
    CHECK(replay_compare(&a, &b, 5, &ga, &gb) == 0);   /* losses from step 6 on differ, and the weights */
    CHECK(ga == 0 && gb == 0);   /* no graphs on the CPU */
    backend_free(&a);
    backend_free(&b);
}

/* Graph replay against uncaptured steps on deterministic contexts, one per net: the same losses
 * and weights bit for bit. */
static void test_graph_replay(void)
{
    NEED_GPU();
    backend da, db;
    if (backend_cuda_init_ex(&da, 0, 1, 0) != C_OK) { CHECK(!"deterministic backend"); return; }
    if (backend_cuda_init_ex(&db, 0, 1, 0) != C_OK) { CHECK(!"second deterministic backend"); backend_free(&da); return; }
    long ga = 0, gb = 0;
    int same = replay_compare(&da, &db, -1, &ga, &gb);
    printf("    graph replay: %ld of 12 steps replayed; losses %s, weights %s the uncaptured run's\n", gb,
           same < 0 ? "not compared" : same & REPLAY_LOSSES_SAME ? "equal" : "DIFFER from",
           same < 0 ? "not compared" : same & REPLAY_WEIGHTS_SAME ? "equal" : "DIFFER from");
    CHECK(same == (REPLAY_LOSSES_SAME | REPLAY_WEIGHTS_SAME));
    CHECK(ga == 0 && gb >= 6);
    backend_free(&da);
    backend_free(&db);
}

static void test_training_steps(void)
{
    NEED_GPU();
    run_net("convbnnet", 32, 5);
    run_net("resnet2", 16, 3);
    run_net("convnet", 32, 3);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    /* --gpu-available: exit status 0 when a CUDA device is usable; --gpu-visible: 0 when the
     * machine has a GPU whether or not CUDA works (for the shell tests) */
    if (argc > 1 && !strcmp(argv[1], "--gpu-available")) return backend_cuda_available() ? 0 : 1;
    if (argc > 1 && !strcmp(argv[1], "--gpu-visible")) return backend_gpu_visible(NULL, 0) ? 0 : 1;
    /* --select PREF: backend_select(PREF) as a stage does it; prints "backend: <name>" */
    if (argc > 2 && !strcmp(argv[1], "--select")) {
        backend be = { 0 };
        if (backend_select(&be, argv[2], 1) != C_OK) return 1;
        printf("backend: %s\n", be.iface->name);
        backend_free(&be);
        return 0;
    }
    TEST_RUN(test_select_cpu_and_errors);
    TEST_RUN(test_select_cuda_follows_availability);
    TEST_RUN(test_replay_comparison_can_fail);
    if (backend_cpu_init(&cpu, 0) != C_OK) return 1;
    gpu_state = backend_cuda_start_if_visible(&gpu, 0, 0, gpu_why, sizeof gpu_why);
    if (gpu_state > 0) printf("    GPU: %s (TF32 off)\n", backend_cuda_device_name(&gpu));
    TEST_RUN(test_deterministic_mode);
    TEST_RUN(test_training_steps);
    TEST_RUN(test_device_loader);
    TEST_RUN(test_graph_replay);
    if (gpu_state > 0) backend_free(&gpu);
    backend_free(&cpu);
    TEST_EXIT();
}
