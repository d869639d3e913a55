/* harness.c: runs the op cases on the CPU against their references and on CUDA against the CPU
 * (see harness.h). */
#include "ops/harness.h"

#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "backend/cpu/cpu_backend.h"
#include "backend/select.h"
#include "backend/cuda_init.h"
#include "core/errors.h"

/* One output of one run, kept for the CPU-against-CUDA comparison. */
typedef struct ops_record {
    char what[96];
    float *v;
    size_t n;
    double gpu_tol;
} ops_record;

struct ops_env {
    backend *be;
    backend_iface watched;     /* be's table, its oneDNN entries counted (ops_iface hands it out) */
    int onednn;                /* the case made a convolution plan or ran a linear layer */
    int reference, cuda;
    rng_stream data, fd;
    const char *name;          /* the case's name as printed */
    int failed;
    void **allocs;
    int n_allocs, cap_allocs;
    tensor **tensors;
    int n_tensors, cap_tensors;
    ops_record *recs;
    int n_recs, cap_recs;
};

const backend_iface *ops_iface(const ops_env *e) { return &e->watched; }

/* The case that runs now (cases run one at a time) and its backend's own entries: on the CPU a
 * convolution and a linear layer are oneDNN's, whose sums follow the thread count. */
static ops_env *running;

static conv2d_plan *watch_conv2d_plan_make(void *ctx, const conv2d_desc *d)
{
    running->onednn = 1;
    return running->be->iface->conv2d_plan_make(ctx, d);
}

static int watch_linear_fwd(void *ctx, const tensor *x, const tensor *w, const tensor *b, tensor *y)
{
    running->onednn = 1;
    return running->be->iface->linear_fwd(ctx, x, w, b, y);
}
void *ops_ctx(const ops_env *e) { return e->be->ctx; }
int ops_on_cuda(const ops_env *e) { return e->cuda; }
int ops_reference(const ops_env *e) { return e->reference; }

static void fail(ops_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(ops_env *e, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!e->failed) printf("FAIL: %s: %s\n", e->name, msg);
    else printf("    also: %s\n", msg);
    e->failed = 1;
}

static void *grow(void *p, int *cap, size_t elsize)
{
    *cap = *cap ? 2 * *cap : 16;
    return xrealloc(p, (size_t)*cap * elsize);
}

void *ops_alloc(ops_env *e, size_t bytes)
{
    if (e->n_allocs == e->cap_allocs) e->allocs = grow(e->allocs, &e->cap_allocs, sizeof *e->allocs);
    void *p = xcalloc(1, bytes ? bytes : 1);
    e->allocs[e->n_allocs++] = p;
    return p;
}

double *ops_rand(ops_env *e, size_t n, double lo, double hi)
{
    double *d = ops_alloc(e, n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = lo + (hi - lo) * rng_next_double(&e->data);
    return d;
}

uint32_t ops_rand_below(ops_env *e, uint32_t n) { return rng_next_below(&e->data, n); }

tensor *ops_tensor_raw(ops_env *e, tensor_dtype dt, int ndim, const int *shape, tensor_layout layout,
                       const void *host)
{
    if (e->n_tensors == e->cap_tensors) e->tensors = grow(e->tensors, &e->cap_tensors, sizeof *e->tensors);
    tensor *t = xcalloc(1, sizeof *t);
    if (ops_iface(e)->alloc(ops_ctx(e), t, dt, ndim, shape, layout) != C_OK) {
        fprintf(stderr, "ops harness: tensor allocation failed\n");
        exit(2);
    }
    e->tensors[e->n_tensors++] = t;
    if (host && ops_iface(e)->upload(ops_ctx(e), t, host) != C_OK) fail(e, "upload failed");
    return t;
}

void ops_set(ops_env *e, tensor *t, const double *v)
{
    size_t n = tensor_numel(t);
    float *f = ops_alloc(e, n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
    if (ops_iface(e)->upload(ops_ctx(e), t, f) != C_OK) fail(e, "upload failed");
}

tensor *ops_tensor(ops_env *e, int ndim, const int *shape, tensor_layout layout, const double *init)
{
    tensor *t = ops_tensor_raw(e, DT_F32, ndim, shape, layout, NULL);
    if (init) ops_set(e, t, init);
    return t;
}

float *ops_get(ops_env *e, const tensor *t)
{
    size_t n = tensor_numel(t);
    float *f = ops_alloc(e, n * sizeof *f + 4);
    if (t->dtype == DT_F32) {
        if (ops_iface(e)->download(ops_ctx(e), t, f) != C_OK) fail(e, "download failed");
        return f;
    }
    void *raw = ops_alloc(e, n * tensor_elsize(t->dtype) + 4);
    if (ops_iface(e)->download(ops_ctx(e), t, raw) != C_OK) fail(e, "download failed");
    for (size_t i = 0; i < n; i++)
        f[i] = t->dtype == DT_I32 ? (float)((const int32_t *)raw)[i] : (float)((const uint8_t *)raw)[i];
    return f;
}

void ops_check_at(ops_env *e, int ok, const char *what, const char *file, int line)
{
    if (!ok) fail(e, "%s:%d: %s", file, line, what);
}

double ops_error(const float *a, const double *b, size_t n)
{
    double diff = 0, scale = OPS_ERR_FLOOR;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d != d) d = INFINITY;
        if (d > diff) diff = d;
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
    }
    return diff / scale;
}

double ops_dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static void judge(ops_env *e, const char *what, double err, double tol, const char *against)
{
    printf("    %-40s %-9s error %.3g (tol %.3g)\n", what, against, err, tol);
    if (!(err <= tol)) fail(e, "%s: error %.3g against the %s exceeds tol %.3g", what, err, against, tol);
}

static void record(ops_env *e, const char *what, const float *got, size_t n, double gpu_tol)
{
    if (e->n_recs == e->cap_recs) e->recs = grow(e->recs, &e->cap_recs, sizeof *e->recs);
    ops_record *r = &e->recs[e->n_recs++];
    snprintf(r->what, sizeof r->what, "%s", what);
    r->v = xmalloc(n * sizeof(float) + 4);
    memcpy(r->v, got, n * sizeof(float));
    r->n = n;
    r->gpu_tol = gpu_tol;
}

void ops_expect_values(ops_env *e, const char *what, const float *got, size_t n, const double *ref, double tol,
                       double gpu_tol)
{
    if (e->reference && ref) judge(e, what, ops_error(got, ref, n), tol, "reference");
    record(e, what, got, n, gpu_tol);
}

void ops_expect(ops_env *e, const char *what, const tensor *t, const double *ref, double tol, double gpu_tol)
{
    ops_expect_values(e, what, ops_get(e, t), tensor_numel(t), ref, tol, gpu_tol);
}

void ops_expect_grad(ops_env *e, const char *what, const tensor *g, double *param, size_t n, ops_scalar_fn f,
                     void *ctx, int samples, double tol, double gpu_tol)
{
    const float *got = ops_get(e, g);
    if (e->reference) {
        /* max |g - numeric| / max(max |numeric|, floor) over the sampled entries */
        double diff = 0, scale = OPS_ERR_FLOOR;
        for (int k = 0; k < samples && k < (int)n; k++) {
            size_t i = (size_t)samples >= n ? (size_t)k : rng_next_below(&e->fd, (uint32_t)n);
            double keep = param[i];
            param[i] = keep + OPS_FD_H;
            double a = f(ctx);
            param[i] = keep - OPS_FD_H;
            double b = f(ctx);
            param[i] = keep;
            double num = (a - b) / (2 * OPS_FD_H), d = fabs(got[i] - num);
            if (d != d) d = INFINITY;
            if (fabs(num) > scale) scale = fabs(num);
            if (d > diff) diff = d;
        }
        judge(e, what, diff / scale, tol, "finite differences");
    }
    record(e, what, got, tensor_numel(g), gpu_tol);
}

/* ---- running ---- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;   /* FNV-1a: each case its own inputs, the same on every backend */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void env_run(ops_env *e, backend *be, const ops_case *c, const char *name, int reference, int cuda)
{
    memset(e, 0, sizeof *e);
    e->be = be;
    e->reference = reference;
    e->cuda = cuda;
    e->name = name;
    e->watched = *be->iface;
    e->watched.conv2d_plan_make = watch_conv2d_plan_make;
    e->watched.linear_fwd = watch_linear_fwd;
    running = e;
    rng_stream_init(&e->data, 1234, RNG_TEST, name_hash(c->name));
    rng_stream_init(&e->fd, 4321, RNG_TEST, name_hash(c->name));
    c->run(e, c->param);
    for (int i = 0; i < e->n_tensors; i++) {
        be->iface->free_tensor(be->ctx, e->tensors[i]);
        free(e->tensors[i]);
    }
    for (int i = 0; i < e->n_allocs; i++) free(e->allocs[i]);
    free(e->tensors);
    free(e->allocs);
    e->tensors = NULL;
    e->allocs = NULL;
}

static void env_free_records(ops_env *e)
{
    for (int i = 0; i < e->n_recs; i++) free(e->recs[i].v);
    free(e->recs);
    e->recs = NULL;
    e->n_recs = 0;
}

static void report(const ops_env *e)
{
    if (!e->failed) printf("PASS: %s\n", e->name);
    fflush(stdout);
}

/* The CUDA run's records against the CPU run's. */
static void compare(ops_env *g, const ops_env *c)
{
    if (g->n_recs != c->n_recs) {
        fail(g, "%d outputs on cuda, %d on the cpu", g->n_recs, c->n_recs);
        return;
    }
    for (int i = 0; i < g->n_recs; i++) {
        const ops_record *a = &g->recs[i], *b = &c->recs[i];
        if (a->n != b->n) { fail(g, "%s: %zu values on cuda, %zu on the cpu", a->what, a->n, b->n); continue; }
        double *ref = xmalloc(b->n * sizeof *ref + 8);
        for (size_t k = 0; k < b->n; k++) ref[k] = b->v[k];
        judge(g, a->what, ops_error(a->v, ref, a->n), b->gpu_tol, "cpu");
        free(ref);
    }
}

/* 1 when two runs' records hold the same outputs bit for bit; else *err is the largest error of
 * a's values against b's (outputs of different sizes: infinite). */
static int records_same(const ops_env *a, const ops_env *b, double *err)
{
    *err = a->n_recs == b->n_recs ? 0 : INFINITY;
    int same = a->n_recs == b->n_recs;
    for (int i = 0; i < a->n_recs && i < b->n_recs; i++) {
        const ops_record *x = &a->recs[i], *y = &b->recs[i];
        if (x->n != y->n) { same = 0; *err = INFINITY; continue; }
        if (!memcmp(x->v, y->v, x->n * sizeof(float))) continue;
        same = 0;
        double *ref = xmalloc(y->n * sizeof *ref + 8);
        for (size_t k = 0; k < y->n; k++) ref[k] = y->v[k];
        double e = ops_error(x->v, ref, x->n);
        free(ref);
        if (!(e <= *err)) *err = e;
    }
    return same;
}

/* The CPU kernel paths (CPU_MAX_ISA values), widest first. */
static const char *const cpu_paths[] = { "avx512", "avx2", "generic" };
enum { N_PATHS = 3 };

/* First path this machine runs under the caller's CPU_MAX_ISA (-1: a value the backend refuses). */
static int first_path(void)
{
    int p = __builtin_cpu_supports("avx512f") ? 0 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 2;
    const char *cap = getenv("CPU_MAX_ISA");
    if (cap && *cap) {
        int k = 0;
        while (k < N_PATHS && strcasecmp(cap, cpu_paths[k])) k++;
        if (k == N_PATHS) return -1;
        if (k > p) p = k;
    }
    return p;
}

/* Thread counts each case also runs at on the widest path, against its run on all cores: 1, and
 * 3 (an odd split, more threads than a 2-core machine has). */
static const int other_threads[] = { 1, 3 };

/* Runs case c on a fresh CPU backend of `threads` threads (a backend's plans are made for the
 * thread count they run with) with the reference checks on; restores all_threads after. Own
 * kernels must give ce's bits; oneDNN's ops pass their reference checks (tolerance) at each count. */
static void check_threads(ops_env *ce, const ops_case *c, const char *name, int threads, int all_threads)
{
    backend bt = { 0 };
    ops_env te;
    omp_set_num_threads(threads);
    if (backend_cpu_init(&bt, threads) != C_OK) {
        fail(ce, "no CPU backend with %d threads", threads);
        omp_set_num_threads(all_threads);
        return;
    }
    char tname[300];
    snprintf(tname, sizeof tname, "%s, %d threads", name, threads);
    env_run(&te, &bt, c, tname, 1, 0);
    double err;
    int same = records_same(&te, ce, &err);
    if (te.failed) ce->failed = 1;   /* its FAIL line (a reference check) is printed */
    else if (same) printf("    %d threads against %d: bit-identical\n", threads, all_threads);
    else if (te.onednn) printf("    %d threads against %d: error %.3g (oneDNN; each within its tol)\n", threads, all_threads, err);
    else fail(ce, "%d threads give other bits than %d (error %.3g): an own kernel depends on the thread count", threads, all_threads, err);
    env_free_records(&te);
    backend_free(&bt);
    omp_set_num_threads(all_threads);
}

int ops_run_all(const ops_suite *const *suites, int n_suites)
{
    int failed = 0, n_cases = 0;
    for (int s = 0; s < n_suites; s++) n_cases += suites[s]->n;
    const ops_case **cases = xmalloc((size_t)n_cases * sizeof *cases);
    for (int s = 0, k = 0; s < n_suites; s++)
        for (int j = 0; j < suites[s]->n; j++) cases[k++] = &suites[s]->cases[j];
    ops_env *widest = xcalloc((size_t)n_cases, sizeof *widest);   /* records of the first path */
    backend gpu = { 0 };
    /* GPU cases run where CUDA works; where a GPU is visible but CUDA does not start they FAIL
     * (a broken GPU must not pass as a skip); SKIP only on a machine without a GPU. */
    const char *no_gpu = NULL, *gpu_broken = NULL;
    char why[1280];
    int gpu_rc = backend_cuda_start_if_visible(&gpu, 0, 0, why, sizeof why);
    if (gpu_rc > 0) printf("    GPU: %s (TF32 off)\n", backend_cuda_device_name(&gpu));
    else if (gpu_rc < 0) {
        gpu_broken = why;
        printf("FAIL: ops/cuda: %s\n", why);
        failed++;
    } else no_gpu = why;
    const char *outer = getenv("CPU_MAX_ISA");
    char *keep = outer ? xstrdup(outer) : NULL;
    int p0 = first_path();
    if (p0 < 0) {
        printf("FAIL: ops: CPU_MAX_ISA=%s is not avx512, avx2 or generic\n", outer);
        return 1;
    }
    char name[256];
    const int all_threads = omp_get_max_threads();
    for (int p = p0; p < N_PATHS; p++) {
        backend cpu = { 0 };
        setenv("CPU_MAX_ISA", cpu_paths[p], 1);
        if (backend_cpu_init(&cpu, 0) != C_OK) { failed++; break; }
        printf("  CPU path %s, activations nChw%dc\n", cpu_paths[p], cpu_act_block);
        if (p == p0) {
            /* oneDNN's choice: 8-lane blocks when capped to AVX2, 16 on an AVX-512 CPU left alone */
            const char *cap = getenv("ONEDNN_MAX_CPU_ISA");
            int want = cap && !strcasecmp(cap, "AVX2") ? 8 : !cap && __builtin_cpu_supports("avx512f") ? 16 : 0;
            if (want && cpu_act_block != want)
                printf("FAIL: ops/activation block width: nChw%dc, want nChw%dc\n", cpu_act_block, want), failed++;
            else printf("PASS: ops/activation block width nChw%dc\n", cpu_act_block);
        }
        for (int k = 0; k < n_cases; k++) {
            const ops_case *c = cases[k];
            ops_env ce, again;
            snprintf(name, sizeof name, "%s (cpu %s)", c->name, cpu_paths[p]);
            printf("  %s\n", name);
            env_run(&ce, &cpu, c, name, 1, 0);
            env_run(&again, &cpu, c, name, 0, 0);
            double err;
            if (again.failed) ce.failed = 1;   /* its FAIL line is printed */
            else if (!records_same(&again, &ce, &err)) fail(&ce, "a second run differs (error %.3g): not deterministic", err);
            env_free_records(&again);
            if (p == p0)
                for (size_t t = 0; t < sizeof other_threads / sizeof *other_threads; t++)
                    if (other_threads[t] != all_threads) check_threads(&ce, c, name, other_threads[t], all_threads);
            if (p > p0) {
                int same = records_same(&ce, &widest[k], &err);
                if (same) printf("    against %-32s bit-identical\n", cpu_paths[p0]);
                else printf("    against %-32s error %.3g\n", cpu_paths[p0], err);
                /* the AVX2 kernels repeat the AVX-512 ones lane by lane */
                if (!same && p0 == 0 && p == 1) fail(&ce, "the avx2 path differs from avx512 (error %.3g)", err);
            }
            report(&ce);
            failed += ce.failed;
            if (p == p0) widest[k] = ce;
            else env_free_records(&ce);
        }
        backend_free(&cpu);
    }
    if (keep) setenv("CPU_MAX_ISA", keep, 1);
    else unsetenv("CPU_MAX_ISA");
    free(keep);
    for (int k = 0; k < n_cases; k++) {
        snprintf(name, sizeof name, "%s on cuda", cases[k]->name);
        if (no_gpu) printf("SKIP: %s: %s\n", name, no_gpu);
        else if (gpu_broken) {
            printf("FAIL: %s: %s\n", name, gpu_broken);
            failed++;
        } else {
            ops_env ge;
            printf("  %s\n", name);
            env_run(&ge, &gpu, cases[k], name, 0, 1);
            compare(&ge, &widest[k]);
            report(&ge);
            failed += ge.failed;
            env_free_records(&ge);
        }
        env_free_records(&widest[k]);
    }
    if (gpu_rc > 0) backend_free(&gpu);
    free(widest);
    free(cases);
    return failed;
}
