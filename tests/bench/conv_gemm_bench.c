/* conv_gemm_bench: oneDNN (as the engine runs it) against im2col + OpenBLAS sgemm, per convolution
 * shape of the given models at batch 256 (issue 3 item 3: measure both, keep the faster per shape).
 *
 * usage: conv_gemm_bench [--batch 256] [--seconds 1] [--threads T] [arch...]   (default: resnet2 convbnnet)
 *
 * The shapes come from models/<arch>.json through the model loader (every Conv2d, ConvLayer,
 * BnLayer and ResnetLayer convolution). For each distinct shape, one training step's convolution
 * work — forward, backward-data (not for the first layer) and backward-weights, plus the bias and
 * its gradient where the layer has one — runs five ways on the same inputs:
 *   auto, direct  the CPU backend's conv plans (oneDNN, nChw16c activations, algorithm auto =
 *                 Winograd where it applies, or direct), through the backend interface exactly as
 *                 engine_bench and the net call them;
 *   wino          the same plans with the backend's own Winograd F(4x4,3x3) forced
 *                 (CONV2D_ALGO_WINOGRAD; a layer it does not apply to runs oneDNN's auto);
 *   gemm-all      im2col of the whole batch into one [C*kh*kw, N*OH*OW] matrix (plain C, OpenMP
 *                 over images), then ONE cblas_sgemm per pass on OpenBLAS's own thread pool;
 *   gemm-img      per image in an OpenMP loop: im2col + cblas_sgemm with OpenBLAS single-threaded,
 *                 per-thread weight-gradient partials reduced at the end.
 * Both gemm variants are plain NCHW float and keep the forward's im2col matrix for the
 * weight gradient (the most favourable choice for them: an engine would hold every layer's).
 * Every gemm result (y, dx, dw, db) is checked against the three backend results: the largest
 * max|a - b| / max|b| is printed, and the run fails when it exceeds 1e-3.
 * Times are the fastest of R interleaved rounds (each round runs the five once), so load from
 * other processes hits all five alike; totals add each layer's time (repeated shapes count
 * every time) and give images/s for the model's convolutions alone.
 *
 * Threading: OpenMP and OpenBLAS (pthread build) each have a pool; their phases run strictly one
 * after the other, and the program re-executes itself once with OPENBLAS_THREAD_TIMEOUT=4 (BLAS
 * workers sleep at once after a call instead of spinning ~2^28 cycles) and GOMP_SPINCOUNT=10000
 * (OpenMP workers stop spinning soon after a region), unless those are already set, so an idle pool
 * never spins on a core the other pool needs. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "core/errors.h"
#include "nn/model.h"
#include "core/rng.h"

#define TOL 1e-3
#define MAX_SHAPES 64

enum { V_AUTO, V_DIRECT, V_WINO, V_GEMM_ALL, V_GEMM_IMG, NV };
static const char *vname[NV] = { "auto", "direct", "wino", "gemm-all", "gemm-img" };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* One convolution layer's shape at batch n, plus what the engine fuses into it. */
typedef struct shape {
    const char *name;
    int n, c, h, w, k, kh, kw, s, p, oh, ow;
    int bias, relu, first;
} shape;

static size_t sz_x(const shape *S) { return (size_t)S->n * S->c * S->h * S->w; }
static size_t sz_y(const shape *S) { return (size_t)S->n * S->k * S->oh * S->ow; }
static size_t sz_w(const shape *S) { return (size_t)S->k * S->c * S->kh * S->kw; }
static int ck_of(const shape *S) { return S->c * S->kh * S->kw; }
static int p_of(const shape *S) { return S->oh * S->ow; }

static int same_shape(const shape *a, const shape *b)
{
    return a->c == b->c && a->h == b->h && a->w == b->w && a->k == b->k && a->kh == b->kh && a->kw == b->kw &&
           a->s == b->s && a->p == b->p && a->bias == b->bias && a->relu == b->relu && a->first == b->first;
}

/* Host buffers, plain NCHW / oihw. */
typedef struct host_in { float *x, *w, *b, *dy; } host_in;
typedef struct host_out { float *y, *dx, *dw, *db; } host_out;

static void out_alloc(host_out *o, const shape *S)
{
    o->y = xmalloc(sz_y(S) * sizeof(float));
    o->dx = xmalloc(sz_x(S) * sizeof(float));
    o->dw = xmalloc(sz_w(S) * sizeof(float));
    o->db = xmalloc((size_t)S->k * sizeof(float));
}

static void out_free(host_out *o) { free(o->y); free(o->dx); free(o->dw); free(o->db); }

/* ---- im2col / col2im (plain C) ---- */

/* Output columns ow whose input column ow*s - p + j lies inside [0, W): [*lo, *hi). */
static void ow_range(const shape *S, int j, int *lo, int *hi)
{
    int a = S->p - j, b = S->w - 1 + S->p - j;
    *lo = a <= 0 ? 0 : (a + S->s - 1) / S->s;
    *hi = b < 0 ? 0 : b / S->s + 1;
    if (*hi > S->ow) *hi = S->ow;
    if (*lo > *hi) *lo = *hi;
}

/* Image x [C,H,W] -> col rows r = (c*kh + i)*kw + j (row stride ld), columns oh*OW + ow. */
static void im2col(const shape *S, const float *x, float *col, size_t ld)
{
    for (int c = 0; c < S->c; c++)
        for (int i = 0; i < S->kh; i++)
            for (int j = 0; j < S->kw; j++) {
                float *row = col + ((size_t)(c * S->kh + i) * S->kw + j) * ld;
                int lo, hi;
                ow_range(S, j, &lo, &hi);
                for (int oh = 0; oh < S->oh; oh++) {
                    float *o = row + (size_t)oh * S->ow;
                    int ih = oh * S->s - S->p + i;
                    if (ih < 0 || ih >= S->h) { memset(o, 0, (size_t)S->ow * sizeof *o); continue; }
                    const float *xr = x + ((size_t)c * S->h + ih) * S->w;
                    int ow = 0;
                    for (; ow < lo; ow++) o[ow] = 0;
                    if (S->s == 1)
                        memcpy(o + lo, xr + lo - S->p + j, (size_t)(hi - lo) * sizeof *o);
                    else
                        for (ow = lo; ow < hi; ow++) o[ow] = xr[ow * S->s - S->p + j];
                    for (ow = hi; ow < S->ow; ow++) o[ow] = 0;
                }
            }
}

/* The adjoint: dx [C,H,W] (zeroed here) = sum of col's entries into their input positions. */
static void col2im(const shape *S, const float *col, size_t ld, float *dx)
{
    memset(dx, 0, (size_t)S->c * S->h * S->w * sizeof *dx);
    for (int c = 0; c < S->c; c++)
        for (int i = 0; i < S->kh; i++)
            for (int j = 0; j < S->kw; j++) {
                const float *row = col + ((size_t)(c * S->kh + i) * S->kw + j) * ld;
                int lo, hi;
                ow_range(S, j, &lo, &hi);
                for (int oh = 0; oh < S->oh; oh++) {
                    int ih = oh * S->s - S->p + i;
                    if (ih < 0 || ih >= S->h) continue;
                    const float *o = row + (size_t)oh * S->ow;
                    float *xr = dx + ((size_t)c * S->h + ih) * S->w;
                    for (int ow = lo; ow < hi; ow++) xr[ow * S->s - S->p + j] += o[ow];
                }
            }
}

/* ---- im2col + OpenBLAS ---- */

typedef struct gemm_ws {
    int threads;
    float *col;    /* N*CK*P: [CK][N*P] (gemm-all) or [N][CK][P] (gemm-img); dcol reuses it in gemm-all */
    float *t;      /* [K][N*P]: gemm-all's product, then the (masked) output gradient */
    float *dwt;    /* threads x [K][CK] weight-gradient partials (gemm-img) */
    float *dbt;    /* threads x [K] */
    float *dcol;   /* threads x [CK][P] (gemm-img) */
    float *g;      /* threads x [K][P] masked output gradient (gemm-img, fused ReLU only) */
    double sgemm_s; /* seconds inside cblas_sgemm in the last gemm-all step */
} gemm_ws;

static void ws_init(gemm_ws *G, const shape *S, int threads)
{
    size_t ck = (size_t)ck_of(S), p = (size_t)p_of(S), np = (size_t)S->n * p;
    G->threads = threads;
    G->col = xmalloc(ck * np * sizeof(float));
    G->t = xmalloc((size_t)S->k * np * sizeof(float));
    G->dwt = xmalloc((size_t)threads * sz_w(S) * sizeof(float));
    G->dbt = xmalloc((size_t)threads * S->k * sizeof(float));
    G->dcol = xmalloc((size_t)threads * ck * p * sizeof(float));
    G->g = xmalloc((size_t)threads * S->k * p * sizeof(float));
    G->sgemm_s = 0;
}

static void ws_free(gemm_ws *G)
{
    free(G->col); free(G->t); free(G->dwt); free(G->dbt); free(G->dcol); free(G->g);
}

/* One sgemm on OpenBLAS's pool, timed (the OpenMP pool is idle meanwhile). */
static void sgemm_timed(gemm_ws *G, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const float *a,
                        int lda, const float *b, int ldb, float *c, int ldc)
{
    double t0 = now();
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    G->sgemm_s += now() - t0;
}

/* gemm-all: whole-batch im2col, one sgemm per pass (OpenBLAS threads = OpenMP threads). */
static void gemm_all_step(const shape *S, const host_in *in, gemm_ws *G, host_out *o)
{
    const int N = S->n, K = S->k, CK = ck_of(S), P = p_of(S), NP = N * P;
    const size_t xs = (size_t)S->c * S->h * S->w, ys = (size_t)K * P;
    G->sgemm_s = 0;
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) im2col(S, in->x + n * xs, G->col + (size_t)n * P, NP);
    sgemm_timed(G, CblasNoTrans, CblasNoTrans, K, NP, CK, in->w, CK, G->col, NP, G->t, NP);
    /* [K][N*P] -> NCHW, + bias, ReLU */
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            const float *src = G->t + (size_t)k * NP + (size_t)n * P;
            float *dst = o->y + n * ys + (size_t)k * P, b = S->bias ? in->b[k] : 0;
            for (int q = 0; q < P; q++) {
                float v = src[q] + b;
                dst[q] = S->relu && v < 0 ? 0 : v;
            }
        }
    /* backward: dy (masked by y > 0 for a fused ReLU) -> [K][N*P] */
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            const float *g = in->dy + n * ys + (size_t)k * P, *y = o->y + n * ys + (size_t)k * P;
            float *dst = G->t + (size_t)k * NP + (size_t)n * P;
            for (int q = 0; q < P; q++) dst[q] = S->relu && !(y[q] > 0) ? 0 : g[q];
        }
    if (S->bias) {
        #pragma omp parallel for schedule(static)
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int q = 0; q < NP; q++) s += G->t[(size_t)k * NP + q];
            o->db[k] = (float)s;
        }
    }
    sgemm_timed(G, CblasNoTrans, CblasTrans, K, CK, NP, G->t, NP, G->col, NP, o->dw, CK);
    if (S->first) return;
    sgemm_timed(G, CblasTrans, CblasNoTrans, CK, NP, K, in->w, CK, G->t, NP, G->col, NP);
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) col2im(S, G->col + (size_t)n * P, NP, o->dx + n * xs);
}

/* gemm-img: per image inside one OpenMP loop, OpenBLAS single-threaded. */
static void gemm_img_step(const shape *S, const host_in *in, gemm_ws *G, host_out *o)
{
    const int N = S->n, K = S->k, CK = ck_of(S), P = p_of(S);
    const size_t xs = (size_t)S->c * S->h * S->w, ys = (size_t)K * P, cs = (size_t)CK * P, ws = sz_w(S);
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *col = G->col + n * cs, *y = o->y + n * ys;
        im2col(S, in->x + n * xs, col, P);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, P, CK, 1.0f, in->w, CK, col, P, 0.0f, y, P);
        if (S->bias || S->relu)
            for (int k = 0; k < K; k++) {
                float b = S->bias ? in->b[k] : 0;
                for (int q = 0; q < P; q++) {
                    float v = y[(size_t)k * P + q] + b;
                    y[(size_t)k * P + q] = S->relu && v < 0 ? 0 : v;
                }
            }
    }
    int nt = 1;
    #pragma omp parallel
    {
        int t = omp_get_thread_num();
        #pragma omp single
        nt = omp_get_num_threads();
        float *dw = G->dwt + t * ws, *db = G->dbt + (size_t)t * K, *dcol = G->dcol + t * cs, *gt = G->g + t * ys;
        memset(dw, 0, ws * sizeof *dw);
        memset(db, 0, (size_t)K * sizeof *db);
        #pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *g = in->dy + n * ys;
            if (S->relu) {
                const float *y = o->y + n * ys;
                for (size_t q = 0; q < ys; q++) gt[q] = y[q] > 0 ? g[q] : 0;
                g = gt;
            }
            if (S->bias)
                for (int k = 0; k < K; k++) {
                    float s = 0;
                    for (int q = 0; q < P; q++) s += g[(size_t)k * P + q];
                    db[k] += s;
                }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, CK, P, 1.0f, g, P, G->col + n * cs, P, 1.0f, dw, CK);
            if (!S->first) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CK, P, K, 1.0f, in->w, CK, g, P, 0.0f, dcol, P);
                col2im(S, dcol, P, o->dx + n * xs);
            }
        }
    }
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < ws; i++) {
        float s = 0;
        for (int t = 0; t < nt; t++) s += G->dwt[t * ws + i];
        o->dw[i] = s;
    }
    for (int k = 0; k < K; k++) {
        float s = 0;
        for (int t = 0; t < nt; t++) s += G->dbt[(size_t)t * K + k];
        o->db[k] = s;
    }
}

/* ---- oneDNN through the CPU backend, as engine_bench and the net do it ---- */

typedef struct dnnl_side {
    conv2d_plan *plan;
    tensor x, w, b, y, dy, dx, dw, db;
} dnnl_side;

static void dnnl_setup(backend *be, const shape *S, int algo, const host_in *in, dnnl_side *D)
{
    const backend_iface *B = be->iface;
    memset(D, 0, sizeof *D);
    conv2d_desc d = { .max_n = S->n, .ic = S->c, .ih = S->h, .iw = S->w, .oc = S->k, .kh = S->kh, .kw = S->kw,
                    .stride = S->s, .pad = S->p, .bias = S->bias, .relu = S->relu, .need_dx = !S->first,
                    .src_layout = S->first ? TL_PLAIN : TL_ACT, .algo = algo };
    int xs[4] = { S->n, S->c, S->h, S->w }, ws[4] = { S->k, S->c, S->kh, S->kw },
        ys[4] = { S->n, S->k, S->oh, S->ow }, bs[1] = { S->k };
    tensor_layout xl = S->first ? TL_PLAIN : TL_ACT;
    if (!(D->plan = B->conv2d_plan_make(be->ctx, &d)) ||
        B->alloc(be->ctx, &D->x, DT_F32, 4, xs, xl) || B->alloc(be->ctx, &D->dx, DT_F32, 4, xs, xl) ||
        B->alloc(be->ctx, &D->w, DT_F32, 4, ws, TL_PLAIN) || B->alloc(be->ctx, &D->dw, DT_F32, 4, ws, TL_PLAIN) ||
        B->alloc(be->ctx, &D->b, DT_F32, 1, bs, TL_PLAIN) || B->alloc(be->ctx, &D->db, DT_F32, 1, bs, TL_PLAIN) ||
        B->alloc(be->ctx, &D->y, DT_F32, 4, ys, TL_ACT) || B->alloc(be->ctx, &D->dy, DT_F32, 4, ys, TL_ACT))
        err_die(S->name, "cannot set up the oneDNN convolution");
    B->upload(be->ctx, &D->x, in->x);
    B->upload(be->ctx, &D->w, in->w);
    B->upload(be->ctx, &D->b, in->b);
    B->upload(be->ctx, &D->dy, in->dy);
}

static void dnnl_step(backend *be, const shape *S, dnnl_side *D)
{
    const backend_iface *B = be->iface;
    if (B->conv2d_fwd(be->ctx, D->plan, &D->x, &D->w, S->bias ? &D->b : NULL, &D->y) ||
        B->conv2d_bwd(be->ctx, D->plan, &D->x, &D->w, &D->y, &D->dy, S->first ? NULL : &D->dx, &D->dw,
                    S->bias ? &D->db : NULL))
        err_die(S->name, "oneDNN convolution failed");
}

static void dnnl_download(backend *be, const shape *S, dnnl_side *D, host_out *o)
{
    const backend_iface *B = be->iface;
    B->download(be->ctx, &D->y, o->y);
    if (!S->first) B->download(be->ctx, &D->dx, o->dx);
    B->download(be->ctx, &D->dw, o->dw);
    if (S->bias) B->download(be->ctx, &D->db, o->db);
}

static void dnnl_free(backend *be, dnnl_side *D)
{
    be->iface->conv2d_plan_free(be->ctx, D->plan);
    tensor *ts[] = { &D->x, &D->w, &D->b, &D->y, &D->dy, &D->dx, &D->dw, &D->db };
    for (int i = 0; i < 8; i++) be->iface->free_tensor(be->ctx, ts[i]);
}

/* ---- checks ---- */

/* max|a - ref| / max|ref| */
static double ndiff(const float *a, const float *ref, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - ref[i]), r = fabs((double)ref[i]);
        if (!(e <= d)) d = e;   /* NaN propagates */
        if (r > m) m = r;
    }
    return m > 0 ? d / m : d;
}

static double out_diff(const shape *S, const host_out *a, const host_out *ref)
{
    double d = ndiff(a->y, ref->y, sz_y(S)), e = ndiff(a->dw, ref->dw, sz_w(S));
    if (!(e <= d)) d = e;
    if (!S->first && !((e = ndiff(a->dx, ref->dx, sz_x(S))) <= d)) d = e;
    if (S->bias && !((e = ndiff(a->db, ref->db, (size_t)S->k)) <= d)) d = e;
    return d;
}

/* ---- one shape ---- */

typedef struct shape_result {
    double ms[NV];     /* fastest round, ms per step */
    double sgemm_frac; /* share of gemm-all's fastest step spent inside sgemm */
    double diff;       /* largest normalised gemm-vs-oneDNN difference */
    int rounds;
} shape_result;

static void fill(float *v, size_t n, float scale, uint32_t a)
{
    rng_stream rs;
    rng_stream_init(&rs, 7, RNG_TEST, a);
    for (size_t i = 0; i < n; i++) v[i] = scale * (2 * rng_next_float(&rs) - 1);
}

static void run_variant(int v, backend *be, const shape *S, const host_in *in, dnnl_side *D, gemm_ws *G,
                        host_out *o)
{
    switch (v) {
    case V_AUTO: dnnl_step(be, S, &D[0]); break;
    case V_DIRECT: dnnl_step(be, S, &D[1]); break;
    case V_WINO: dnnl_step(be, S, &D[2]); break;
    case V_GEMM_ALL: openblas_set_num_threads(G->threads); gemm_all_step(S, in, G, &o[V_GEMM_ALL]); break;
    default: openblas_set_num_threads(1); gemm_img_step(S, in, G, &o[V_GEMM_IMG]); break;
    }
}

static void bench_shape(backend *be, const shape *S, int threads, double seconds, shape_result *r)
{
    host_in in;
    float bound = 1.0f / sqrtf((float)ck_of(S));  /* PyTorch's default init range */
    in.x = xmalloc(sz_x(S) * sizeof(float));
    in.w = xmalloc(sz_w(S) * sizeof(float));
    in.b = xmalloc((size_t)S->k * sizeof(float));
    in.dy = xmalloc(sz_y(S) * sizeof(float));
    fill(in.x, sz_x(S), 1, 1);
    fill(in.w, sz_w(S), bound, 2);
    fill(in.b, (size_t)S->k, bound, 3);
    fill(in.dy, sz_y(S), 1.0f / S->n, 4);
    dnnl_side D[3];
    dnnl_setup(be, S, CONV2D_ALGO_AUTO, &in, &D[0]);
    dnnl_setup(be, S, CONV2D_ALGO_DIRECT, &in, &D[1]);
    dnnl_setup(be, S, CONV2D_ALGO_WINOGRAD, &in, &D[2]);
    gemm_ws G;
    ws_init(&G, S, threads);
    host_out o[NV];
    for (int v = 0; v < NV; v++) out_alloc(&o[v], S);

    /* first round: warm-up and the numerical check */
    for (int v = 0; v < NV; v++) run_variant(v, be, S, &in, D, &G, o);
    dnnl_download(be, S, &D[0], &o[V_AUTO]);
    dnnl_download(be, S, &D[1], &o[V_DIRECT]);
    dnnl_download(be, S, &D[2], &o[V_WINO]);
    r->diff = 0;
    for (int a = V_GEMM_ALL; a <= V_GEMM_IMG; a++)
        for (int ref = V_AUTO; ref <= V_WINO; ref++) {
            double d = out_diff(S, &o[a], &o[ref]);
            if (!(d <= r->diff)) r->diff = d;
        }

    for (int v = 0; v < NV; v++) r->ms[v] = INFINITY;
    r->sgemm_frac = 0;
    double t_end = now() + seconds;
    for (r->rounds = 0; r->rounds < 3 || (now() < t_end && r->rounds < 1000); r->rounds++)
        for (int v = 0; v < NV; v++) {
            if (v == V_GEMM_ALL) openblas_set_num_threads(threads);
            if (v == V_GEMM_IMG) openblas_set_num_threads(1);
            double t0 = now();
            run_variant(v, be, S, &in, D, &G, o);
            double ms = (now() - t0) * 1e3;
            if (ms < r->ms[v]) {
                r->ms[v] = ms;
                if (v == V_GEMM_ALL) r->sgemm_frac = G.sgemm_s * 1e3 / ms;
            }
        }

    for (int v = 0; v < NV; v++) out_free(&o[v]);
    ws_free(&G);
    for (int k = 0; k < 3; k++) dnnl_free(be, &D[k]);
    free(in.x); free(in.w); free(in.b); free(in.dy);
}

/* ---- models ---- */

/* The convolutions of a model, with what the engine fuses (same rules as engine_bench). */
static int model_shapes(const model_desc *m, int batch, shape *out)
{
    int ns = 0, first = 1;
    for (int i = 0; i < m->n_layers && ns < MAX_SHAPES; i++) {
        const model_layer *L = &m->layers[i];
        if (L->type != ML_CONV2D && L->type != ML_CONVLAYER && L->type != ML_BNLAYER && L->type != ML_RESNETLAYER)
            continue;
        int bn = L->type == ML_BNLAYER || L->type == ML_RESNETLAYER;
        shape *S = &out[ns++];
        *S = (shape){ .name = L->name, .n = batch, .c = L->in, .h = L->in_shape[1], .w = L->in_shape[2], .k = L->out,
                      .kh = L->kernel, .kw = L->kernel, .s = L->stride, .p = L->padding,
                      .oh = L->out_shape[1], .ow = L->out_shape[2], .bias = L->bias && !bn,
                      .relu = L->type == ML_CONVLAYER ||
                              (L->type == ML_CONV2D && i + 1 < m->n_layers && m->layers[i + 1].type == ML_RELU),
                      .first = first };
        first = 0;
    }
    return ns;
}

static const char *winner(const shape_result *r, double *margin)
{
    double g = fmin(r->ms[V_GEMM_ALL], r->ms[V_GEMM_IMG]), d = fmin(fmin(r->ms[V_AUTO], r->ms[V_DIRECT]), r->ms[V_WINO]);
    *margin = g < d ? d / g - 1 : g / d - 1;
    if (g < d) return r->ms[V_GEMM_ALL] <= r->ms[V_GEMM_IMG] ? vname[V_GEMM_ALL] : vname[V_GEMM_IMG];
    return d == r->ms[V_WINO] ? vname[V_WINO] : r->ms[V_AUTO] <= r->ms[V_DIRECT] ? vname[V_AUTO] : vname[V_DIRECT];
}

static int bench_model(backend *be, const char *arch, int batch, int threads, double seconds)
{
    char path[256];
    snprintf(path, sizeof path, "models/%s.json", arch);
    model_desc m;
    if (model_load(&m, path)) err_exit();
    shape sh[MAX_SHAPES];
    shape_result res[MAX_SHAPES];
    int ns = model_shapes(&m, batch, sh), bad = 0;
    double tot[NV] = { 0 }, tot_best = 0, tot_dnnl = 0, tot_plans = 0;
    int img_wins = 0;
    printf("\n%s: %d convolutions, batch %d\n", arch, ns, batch);
    printf("%-10s %-26s %9s %9s %9s %9s %9s %6s  %-14s %9s %7s\n", "layer", "in -> out", "auto ms", "direct ms",
           "wino ms", "gemm-all", "gemm-img", "sgemm%", "winner", "maxdiff", "rounds");
    for (int i = 0; i < ns; i++) {
        const shape *S = &sh[i];
        int j = 0;
        while (j < i && !same_shape(&sh[j], S)) j++;
        if (j < i) res[i] = res[j];     /* a repeated shape is measured once */
        else bench_shape(be, S, threads, seconds, &res[i]);
        const shape_result *r = &res[i];
        char desc[64], win[32];
        snprintf(desc, sizeof desc, "%dx%dx%d->%dx%dx%d k%d s%d p%d", S->c, S->h, S->w, S->k, S->oh, S->ow, S->kh,
                 S->s, S->p);
        double margin;
        const char *w = winner(r, &margin);
        snprintf(win, sizeof win, "%s +%.0f%%", w, 100 * margin);
        printf("%-10s %-26s %9.2f %9.2f %9.2f %9.2f %9.2f %5.0f%%  %-14s %9.1e %7d%s\n", S->name, desc, r->ms[V_AUTO],
               r->ms[V_DIRECT], r->ms[V_WINO], r->ms[V_GEMM_ALL], r->ms[V_GEMM_IMG], 100 * r->sgemm_frac, win, r->diff,
               r->rounds, j < i ? " (same shape as above)" : "");
        if (!(r->diff <= TOL)) {
            bad = 1;
            printf("%-10s FAIL: im2col+sgemm differs from the backend by %.2e (> %.0e)\n", S->name, r->diff, TOL);
        }
        for (int v = 0; v < NV; v++) tot[v] += r->ms[v];
        img_wins += r->ms[V_GEMM_IMG] < r->ms[V_GEMM_ALL];
        double best = r->ms[0];
        for (int v = 1; v < NV; v++) best = fmin(best, r->ms[v]);
        tot_best += best;
        tot_dnnl += fmin(r->ms[V_AUTO], r->ms[V_DIRECT]);
        tot_plans += fmin(fmin(r->ms[V_AUTO], r->ms[V_DIRECT]), r->ms[V_WINO]);
    }
    printf("%-10s %-26s %9.1f %9.1f %9.1f %9.1f %9.1f   (ms per step)\n", "total", "", tot[V_AUTO], tot[V_DIRECT],
           tot[V_WINO], tot[V_GEMM_ALL], tot[V_GEMM_IMG]);
    printf("%-10s %-26s %9.0f %9.0f %9.0f %9.0f %9.0f   (images/s, convolutions alone)\n", "", "",
           batch / tot[V_AUTO] * 1e3, batch / tot[V_DIRECT] * 1e3, batch / tot[V_WINO] * 1e3,
           batch / tot[V_GEMM_ALL] * 1e3, batch / tot[V_GEMM_IMG] * 1e3);
    int img = tot[V_GEMM_IMG] < tot[V_GEMM_ALL];
    printf("%s: im2col+sgemm kept: %s (faster in total by %.0f%%; per image faster on %d of %d convolutions)\n", arch,
           img ? "per-image sgemm, OpenBLAS single-threaded in an OpenMP loop" : "one sgemm over the whole batch",
           100 * (fmax(tot[V_GEMM_ALL], tot[V_GEMM_IMG]) / fmin(tot[V_GEMM_ALL], tot[V_GEMM_IMG]) - 1), img_wins, ns);
    printf("%s: best oneDNN per shape %.0f images/s; best of oneDNN and our Winograd per shape %.0f images/s; "
           "best of all five per shape %.0f images/s (%+.1f%%)\n", arch, batch / tot_dnnl * 1e3, batch / tot_plans * 1e3,
           batch / tot_best * 1e3, 100 * (tot_dnnl / tot_best - 1));
    fflush(stdout);
    model_free(&m);
    return bad;
}

/* Re-executes once with the spin settings described at the top (environment the OpenMP and
 * OpenBLAS runtimes read when they load, so it cannot be changed from inside). */
static void env_setup(char **argv)
{
    if (getenv("CONV_GEMM_BENCH_ENV")) return;
    setenv("CONV_GEMM_BENCH_ENV", "1", 1);
    int again = 0;
    if (!getenv("OPENBLAS_THREAD_TIMEOUT")) { setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1); again = 1; }
    if (!getenv("GOMP_SPINCOUNT") && !getenv("OMP_WAIT_POLICY")) { setenv("GOMP_SPINCOUNT", "10000", 1); again = 1; }
    if (again) {
        execv("/proc/self/exe", argv);
        err_warn(NULL, "cannot re-execute with the spin settings; timing with the defaults");
    }
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    env_setup(argv);
    int batch = 256, threads = 0;
    double seconds = 1;
    const char *archs[16] = { "resnet2", "convbnnet" };
    int na = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (argv[i][0] != '-' && na < 16) archs[na++] = argv[i];
        else err_die(NULL, "usage: conv_gemm_bench [--batch N] [--seconds S] [--threads T] [arch...]");
    }
    if (batch < 1) err_die(NULL, "--batch must be positive");
    if (!na) na = 2;
    backend be;
    if (backend_cpu_init(&be, threads)) err_exit();
    threads = omp_get_max_threads();
    openblas_set_num_threads(threads);
    const char *e1 = getenv("GOMP_SPINCOUNT"), *e2 = getenv("OMP_WAIT_POLICY"), *e3 = getenv("OPENBLAS_THREAD_TIMEOUT");
    static const char *const isa_names[] = { "generic", "avx2", "avx512" };
    printf("convolutions alone: oneDNN and our Winograd (CPU backend, nChw%dc; our kernels %s) vs im2col + OpenBLAS "
           "sgemm (NCHW), batch %d\n", cpu_act_block, isa_names[((cpu_ctx *)be.ctx)->isa], batch);
    printf("%d OpenMP threads; OpenBLAS %s, core %s, %d threads; GOMP_SPINCOUNT=%s OMP_WAIT_POLICY=%s "
           "OPENBLAS_THREAD_TIMEOUT=%s\n", threads, openblas_get_config(), openblas_get_corename(),
           openblas_get_num_threads(), e1 ? e1 : "(unset)", e2 ? e2 : "(unset)", e3 ? e3 : "(unset)");
    printf("ms = fastest of the rounds, one training step of that convolution (forward, backward-data unless first,\n"
           "backward-weights); sgemm%% = gemm-all's time inside cblas_sgemm; winner +x%% = how much slower the best\n"
           "of the other library is; maxdiff = largest max|gemm - oneDNN| / max|oneDNN| over y, dx, dw, db\n");
    int bad = 0;
    for (int a = 0; a < na; a++) bad |= bench_model(&be, archs[a], batch, threads, seconds);
    backend_free(&be);
    if (bad) err_die(NULL, "im2col+sgemm results differ from the backend's by more than %.0e", TOL);
    return 0;
}
