/* test_winograd: the CPU's Winograd convolution in chunks of images (lib/backend/cpu/winograd.c).
 * The op harness (tests/ops/conv2d.c) checks it against the double-precision reference at the
 * default chunk size, where its cases fit one chunk; here the same layer runs with chunks of at
 * most 2 images (so 5 images run as 2 + 2 + 1, the last through its own smaller primitives) and
 * must agree with the one-chunk run within rounding: oneDNN's matmul may round rows otherwise for
 * another number of rows (dx), the sum over tiles is split otherwise (dw, db), and Winograd's
 * transforms amplify a rounding difference in dU by up to ~10x in dw (measured on Zen 4: y
 * bit-identical, dx 1.6e-6, dw 4.2e-6, db 0). A chunk at a wrong offset fails by far more. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "backend/backend.h"
#include "backend/cpu/winograd.h"
#include "core/errors.h"
#include "core/rng.h"
#include "test.h"

static backend be;

/* max|a - b| / max|b| */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return m > 0 ? d / m : d;
}

typedef struct outs { float *y, *dx, *dw, *db; } outs;

/* One forward and backward of W's instance for batch n with chunks of at most `chunk` bytes
 * (0: the default), into o (host copies, plain layouts). */
static int run(cpu_winograd *W, size_t chunk, int n, tensor *x, tensor *w, tensor *b, tensor *y, tensor *g,
               tensor *dx, tensor *dw, tensor *db, outs *o)
{
    cpu_ctx *c = be.ctx;
    tensor *out[4] = { y, dx, dw, db };
    for (int i = 0; i < 4; i++) memset(out[i]->data, 0xff, out[i]->bytes);   /* NaN: nothing left over */
    if (chunk) cpu_winograd_set_chunk_bytes(W, chunk);
    cpu_winograd_inst *I = cpu_winograd_inst_make(c, W, n);
    if (!I) return C_ERR;
    int rc = cpu_winograd_fwd(c, W, I, x->data, w->data, b->data, y->data) ||
             cpu_winograd_bwd(c, W, I, x->data, w->data, g->data, dx->data, dw->data, db->data) ||
             be.iface->download(c, y, o->y) || be.iface->download(c, dx, o->dx) || be.iface->download(c, dw, o->dw) ||
             be.iface->download(c, db, o->db);
    cpu_winograd_inst_free(I);
    return rc ? C_ERR : C_OK;
}

static void chunks_agree_with_one_chunk(void)
{
    const int N = 5, C = 10, H = 9, K = 20;   /* 9x9, pad 1: 3x3 tiles of 4x4 per image */
    conv2d_desc d = { .max_n = N, .ic = C, .ih = H, .iw = H, .oc = K, .kh = 3, .kw = 3, .stride = 1, .pad = 1,
                      .bias = 1, .need_dx = 1, .src_layout = TL_ACT, .algo = CONV2D_ALGO_WINOGRAD };
    CHECK(cpu_winograd_eligible(&d));
    cpu_winograd *W = cpu_winograd_make(be.ctx, &d, H, H);
    CHECK(W != NULL);
    if (!W) return;
    int xs[4] = { N, C, H, H }, ws[4] = { K, C, 3, 3 }, ys[4] = { N, K, H, H }, bs[1] = { K };
    size_t nx = (size_t)N * C * H * H, nw = (size_t)K * C * 9, ny = (size_t)N * K * H * H;
    tensor x, w, b, y, g, dx, dw, db;
    CHECK(be.iface->alloc(be.ctx, &x, DT_F32, 4, xs, TL_ACT) == C_OK);
    CHECK(be.iface->alloc(be.ctx, &dx, DT_F32, 4, xs, TL_ACT) == C_OK);
    CHECK(be.iface->alloc(be.ctx, &y, DT_F32, 4, ys, TL_ACT) == C_OK);
    CHECK(be.iface->alloc(be.ctx, &g, DT_F32, 4, ys, TL_ACT) == C_OK);
    CHECK(be.iface->alloc(be.ctx, &w, DT_F32, 4, ws, TL_PLAIN) == C_OK);
    CHECK(be.iface->alloc(be.ctx, &dw, DT_F32, 4, ws, TL_PLAIN) == C_OK);
    CHECK(be.iface->alloc(be.ctx, &b, DT_F32, 1, bs, TL_PLAIN) == C_OK);
    CHECK(be.iface->alloc(be.ctx, &db, DT_F32, 1, bs, TL_PLAIN) == C_OK);
    float *hx = xmalloc(nx * sizeof *hx), *hw = xmalloc(nw * sizeof *hw), *hg = xmalloc(ny * sizeof *hg), hb[20];
    rng_stream rs;
    rng_stream_init(&rs, 25, RNG_TEST, 0);
    for (size_t i = 0; i < nx; i++) hx[i] = 2 * rng_next_float(&rs) - 1;
    for (size_t i = 0; i < nw; i++) hw[i] = rng_next_float(&rs) - 0.5f;
    for (size_t i = 0; i < ny; i++) hg[i] = 2 * rng_next_float(&rs) - 1;
    for (int i = 0; i < K; i++) hb[i] = rng_next_float(&rs) - 0.5f;
    CHECK(be.iface->upload(be.ctx, &x, hx) == C_OK && be.iface->upload(be.ctx, &w, hw) == C_OK &&
          be.iface->upload(be.ctx, &g, hg) == C_OK && be.iface->upload(be.ctx, &b, hb) == C_OK);
    outs one, two;
    float *bufs[8];
    for (int i = 0; i < 8; i++) bufs[i] = xmalloc((i % 4 == 0 ? ny : i % 4 == 1 ? nx : i % 4 == 2 ? nw : (size_t)K) * 4);
    one = (outs){ bufs[0], bufs[1], bufs[2], bufs[3] };
    two = (outs){ bufs[4], bufs[5], bufs[6], bufs[7] };
    /* 2 images of 9 tiles x (16 + 32) padded channels x 36 positions fit, 3 do not */
    size_t per_image = 36 * 9 * (cpu_padded_channels(C) + cpu_padded_channels(K)) * sizeof(float);
    CHECK(run(W, 0, N, &x, &w, &b, &y, &g, &dx, &dw, &db, &one) == C_OK);
    CHECK(run(W, 2 * per_image + per_image / 2, N, &x, &w, &b, &y, &g, &dx, &dw, &db, &two) == C_OK);
    double edx = rel_diff(two.dx, one.dx, nx), edw = rel_diff(two.dw, one.dw, nw), edb = rel_diff(two.db, one.db, K);
    printf("    chunks of 2 against 1 chunk: y bit-identical %d, dx %.2g, dw %.2g, db %.2g\n",
           !memcmp(one.y, two.y, ny * sizeof(float)), edx, edw, edb);
    CHECK(rel_diff(two.y, one.y, ny) < 1e-6);
    CHECK(edx < 1e-5 && edw < 2e-5 && edb < 1e-6);
    tensor *ts[] = { &x, &w, &b, &y, &g, &dx, &dw, &db };
    for (int i = 0; i < 8; i++) be.iface->free_tensor(be.ctx, ts[i]);
    for (int i = 0; i < 8; i++) free(bufs[i]);
    free(hx); free(hw); free(hg);
    cpu_winograd_free(W);
}

int main(int argc, char **argv)
{
    (void)argc;
    err_init(argv[0]);
    if (backend_cpu_init(&be, 2)) return 1;
    TEST_RUN(chunks_agree_with_one_chunk);
    backend_free(&be);
    TEST_EXIT();
}
