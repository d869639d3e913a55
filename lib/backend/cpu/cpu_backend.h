/* cpu_backend.h: internals shared by the CPU backend's files (not for model code).
 *
 * Activations (TL_ACT, 4-D) are nChw16c: element (n,c,h,w) of a [N,C,H,W] tensor lives at
 * ((n*CB + c/16)*H*W + h*W + w)*16 + c%16 with CB = ceil(C/16); lanes past C are zero and stay
 * zero (oneDNN relies on it). Our own ops are written once for a channel block B (16 for TL_ACT,
 * 1 for plain NCHW, where the same formula gives the plain offset). */
#ifndef CPU_BACKEND_H
#define CPU_BACKEND_H

#include <oneapi/dnnl/dnnl.h>
#include "backend/backend.h"

#define CPU_BLK 16

typedef struct cpu_ctx {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads;
    int avx512;             /* the CPU runs AVX-512F: our own ops use their vector kernels */
    void *scratch;          /* oneDNN user scratchpad, shared: primitives run one at a time */
    size_t scratch_size;
    void *tmp;              /* temporaries of our own ops (per-thread partial sums) */
    size_t tmp_size;
} cpu_ctx;

/* Channel block of a tensor: 16 for a 4-D TL_ACT tensor, else 1. */
static inline int cpu_blk(const tensor *t) { return t->ndim == 4 && t->layout == TL_ACT ? CPU_BLK : 1; }

/* 64-byte aligned zeroed memory; NULL (after one err_msg line) when out of memory. */
void *cpu_alloc_bytes(size_t bytes);
/* ctx->tmp of at least `bytes` (grows only when a larger shape first appears); NULL on failure. */
void *cpu_tmp(cpu_ctx *c, size_t bytes);
/* ctx->scratch of at least `bytes`: C_OK or C_ERR. */
int cpu_scratch_reserve(cpu_ctx *c, size_t bytes);

/* plain NCHW <-> nChw16c conversions (padded lanes written as zeros) */
void cpu_to_blocked(const float *src, float *dst, int N, int C, int HW);
void cpu_from_blocked(const float *src, float *dst, int N, int C, int HW);
/* bytes of t's current (possibly smaller than allocated) batch in its layout */
static inline size_t cpu_used_bytes(const tensor *t)
{
    size_t n = tensor_numel(t);
    if (cpu_blk(t) > 1) n = n / (size_t)t->shape[1] * (size_t)((t->shape[1] + CPU_BLK - 1) / CPU_BLK * CPU_BLK);
    return n * tensor_elsize(t->dtype);
}

/* Functions with AVX-512 vector kernels (the build has no -march: called only when ctx->avx512). */
#define CPU_AVX512 __attribute__((target("avx512f")))

/* out[i] = y[i] > 0 ? g[i] : 0 (ReLU backward from its output), in parallel; out may be g */
void cpu_mask_pos(const cpu_ctx *c, const float *y, const float *g, float *out, size_t n);

/* oneDNN status check: prints `what: status` and returns C_ERR. */
int cpu_dnnl_check(dnnl_status_t st, const char *what);
#define DNNL_TRY(call) do { if (cpu_dnnl_check((call), #call) != C_OK) goto fail; } while (0)

/* Op entry points (cpu/<op>.c, contracts in ops/<op>.h), wired into the table in cpu_backend.c. */
conv2d_plan *cpu_conv2d_plan_make(void *ctx, const conv2d_desc *d);
void cpu_conv2d_plan_free(void *ctx, conv2d_plan *p);
int cpu_conv2d_fwd(void *ctx, conv2d_plan *p, const tensor *x, const tensor *w, const tensor *b, tensor *y);
int cpu_conv2d_bwd(void *ctx, conv2d_plan *p, const tensor *x, const tensor *w, const tensor *y,
                 const tensor *dy, tensor *dx, tensor *dw, tensor *db);

int cpu_linear_fwd(void *ctx, const tensor *x, const tensor *w, const tensor *b, tensor *y);
int cpu_linear_bwd(void *ctx, const tensor *x, const tensor *w, const tensor *dy, tensor *dx, tensor *dw, tensor *db);

int cpu_relu_fwd(void *ctx, const tensor *x, tensor *y);
int cpu_relu_bwd(void *ctx, const tensor *y, const tensor *dy, tensor *dx);
int cpu_maxpool_fwd(void *ctx, const tensor *x, tensor *y, tensor *idx);
int cpu_maxpool_bwd(void *ctx, const tensor *idx, const tensor *dy, tensor *dx);
int cpu_flatten_fwd(void *ctx, const tensor *x, tensor *y);
int cpu_flatten_bwd(void *ctx, const tensor *dy, tensor *dx);
int cpu_dropout_fwd(void *ctx, const tensor *x, tensor *y, float p, uint64_t seed, uint32_t step, uint32_t salt, int training);
int cpu_dropout_bwd(void *ctx, const tensor *dy, tensor *dx, float p, uint64_t seed, uint32_t step, uint32_t salt);
int cpu_accumulate(void *ctx, tensor *dst, const tensor *src);

int cpu_bnlayer_fwd(void *ctx, const tensor *c, const tensor *a, const tensor *m, tensor *means, tensor *stds,
                const tensor *skip, tensor *y, int training);
int cpu_bnlayer_bwd(void *ctx, const tensor *c, const tensor *m, const tensor *means, const tensor *stds,
                const tensor *dy, tensor *dc, tensor *da, tensor *dm);

int cpu_logsoftmax_fwd(void *ctx, const tensor *x, tensor *y);
int cpu_nll_loss(void *ctx, const tensor *logp, const tensor *labels, float *loss);
int cpu_logsoftmax_nll_bwd(void *ctx, const tensor *logp, const tensor *labels, tensor *dx);
int cpu_sgd_step(void *ctx, tensor *param, const tensor *grad, tensor *buf, size_t n, float lr,
                  float momentum, float wd, int first_step);

#endif
