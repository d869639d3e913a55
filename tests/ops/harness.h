/* harness.h: the op test harness (in the spirit of ggml's test-backend-ops).
 *
 * Every op file tests/ops/<op>.c holds the op's double-precision reference (reference.h) and its
 * cases. A case runs the op through a backend_iface and hands each output to ops_expect (forward
 * values against the reference) or ops_expect_grad (an analytic gradient against central finite
 * differences of the reference in double). test_backend_ops runs every case:
 *   1. on the CPU backend, once per kernel path this machine runs (CPU_MAX_ISA avx512, avx2,
 *      generic, widest first; an outer CPU_MAX_ISA caps the list), each against the reference
 *      with the tolerance `tol` each check states; each path runs every case twice and its two
 *      runs must agree bit for bit (each path is deterministic);
 *   2. each narrower path's outputs against the widest path's: the AVX2 kernels do per lane the
 *      AVX-512 kernels' operations, so those two must agree bit for bit (a FAIL otherwise); the
 *      generic loops sum BnLayer statistics in double throughout, so they differ from the vector
 *      paths by rounding: the line `against <path>` prints the measured error (within `tol`, as
 *      the reference check of step 1 already holds);
 *   3. when a GPU is visible (backend_gpu_visible: /dev/nvidia<N> or nvidia-smi -L), on the CUDA
 *      backend from the same inputs, each output held to the widest CPU path's with the tolerance
 *      `gpu_tol` each check states; a visible GPU whose backend does not start is a FAIL line per
 *      case (with the reason once), never a skip. Without a GPU one
 *      `SKIP: <case> on cuda: no GPU visible` line per case.
 * The activation block width is oneDNN's choice for the process (8 under ONEDNN_MAX_CPU_ISA=AVX2,
 * 16 on AVX-512), the same for every path. One error measure throughout: max|a - b| /
 * max(max|b|, OPS_ERR_FLOOR), b the reference (or the CPU's values), NaN counting as infinite. */
#ifndef OPS_HARNESS_H
#define OPS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "core/rng.h"

#define OPS_ERR_FLOOR 1e-6
#define OPS_FD_H 1e-6          /* finite-difference step */

typedef struct ops_env ops_env;

typedef struct ops_case {
    const char *name;                          /* "<op>/<what>" */
    void (*run)(ops_env *e, const void *param);
    const void *param;
} ops_case;

typedef struct ops_suite {
    const char *op;
    const ops_case *cases;
    int n;
} ops_suite;

#define OPS_SUITE(op_, cases_) const ops_suite ops_suite_##op_ = { #op_, cases_, (int)(sizeof cases_ / sizeof cases_[0]) }

/* The backend the case runs on. */
const backend_iface *ops_iface(const ops_env *e);
void *ops_ctx(const ops_env *e);
int ops_on_cuda(const ops_env *e);
/* 1 when the case should compute its references (the CPU run); the CUDA run only records. */
int ops_reference(const ops_env *e);

/* Memory released when the case ends. */
void *ops_alloc(ops_env *e, size_t bytes);
/* n doubles uniform in [lo, hi) from the case's input stream (the same on every backend). */
double *ops_rand(ops_env *e, size_t n, double lo, double hi);
/* A uniform integer in [0, n) from the input stream. */
uint32_t ops_rand_below(ops_env *e, uint32_t n);
/* An F32 tensor on the case's backend, holding `init` rounded to float (zeros when NULL). */
tensor *ops_tensor(ops_env *e, int ndim, const int *shape, tensor_layout layout, const double *init);
/* A tensor of any dtype from raw host bytes (zeros when NULL). */
tensor *ops_tensor_raw(ops_env *e, tensor_dtype dt, int ndim, const int *shape, tensor_layout layout,
                       const void *host);
/* The tensor's values (F32 as is, I32 and U8 converted), downloaded. */
float *ops_get(ops_env *e, const tensor *t);
/* Sets t's values from doubles (rounded to float). */
void ops_set(ops_env *e, tensor *t, const double *v);

/* A condition that must hold (e.g. an op returned C_OK). */
#define OPS_CHECK(e, cond) ops_check_at((e), (cond), #cond, __FILE__, __LINE__)
void ops_check_at(ops_env *e, int ok, const char *what, const char *file, int line);

/* Output `what`: against ref (n values; NULL: no reference check) with tol, and recorded for the
 * CUDA comparison with gpu_tol. */
void ops_expect(ops_env *e, const char *what, const tensor *t, const double *ref, double tol, double gpu_tol);
void ops_expect_values(ops_env *e, const char *what, const float *got, size_t n, const double *ref, double tol,
                       double gpu_tol);

/* Gradient `what` of the scalar f(ctx) w.r.t. param (n doubles f reads): `samples` entries (all
 * when n <= samples) of g against central differences, with tol; recorded with gpu_tol. */
typedef double (*ops_scalar_fn)(void *ctx);
void ops_expect_grad(ops_env *e, const char *what, const tensor *g, double *param, size_t n, ops_scalar_fn f,
                     void *ctx, int samples, double tol, double gpu_tol);

/* max|a - b| / max(max|b|, OPS_ERR_FLOOR) */
double ops_error(const float *a, const double *b, size_t n);
double ops_dot(const double *a, const double *b, size_t n);

/* Runs the suites (see the top of this file); returns the number of failed cases. */
int ops_run_all(const ops_suite *const *suites, int n_suites);

#endif
