/* backend.h: the one compute interface the model code calls (a function table plus a context).
 *
 * No global state: everything a backend needs lives behind `ctx`, so two backends (CPU, CUDA) can
 * live in one process. Every op takes tensors allocated by the same backend. Ops return C_OK or
 * C_ERR (after printing one line with err_msg) unless they return void. A backend that queues
 * work (CUDA) may see a failure only later: it records the first failed call, the op returns
 * C_ERR, and the next synchronising call (sync, download, nll_loss, loss_fetch, graph_end)
 * returns C_ERR too, once.
 *
 * Conventions:
 * - Activations are 4-D [N,C,H,W] tensors in layout TL_ACT (the backend's preferred layout) or
 *   TL_PLAIN (the network input); features are 2-D [N,F] TL_PLAIN; parameters are TL_PLAIN in
 *   PyTorch's shapes (conv weight [oc,ic,kh,kw], linear weight [out,in], BnLayer a/m [C,1,1]).
 * - Backward ops OVERWRITE their gradient outputs (each parameter is used once per forward).
 * - Batch size may change from call to call up to the max_n given when a plan was made; the
 *   backend builds its per-shape machinery once per distinct batch size and reuses it.
 * - Each op's contract (what its entries compute, shapes, layouts) and the maths both backends
 *   share live in lib/ops/<op>.h; its code in backend/cpu/<op>.c and backend/cuda/<op>.cu. */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdint.h>
#include "backend/tensor.h"
#include "core/errors.h"
#include "ops/accumulate.h"
#include "ops/augment_batch.h"
#include "ops/batchnorm.h"
#include "ops/bnlayer.h"
#include "ops/conv2d.h"
#include "ops/dropout.h"
#include "ops/flatten.h"
#include "ops/gelu.h"
#include "ops/linear.h"
#include "ops/logsoftmax.h"
#include "ops/maxpool.h"
#include "ops/relu.h"
#include "ops/scale.h"
#include "ops/sgd.h"

typedef struct backend_iface {
    const char *name;                                    /* "cpu", "cuda" */
    void (*free)(void *ctx);

    /* memory */
    int (*alloc)(void *ctx, tensor *t, tensor_dtype dt, int ndim, const int *shape, tensor_layout layout);
    void (*free_tensor)(void *ctx, tensor *t);           /* idempotent; leaves *t zeroed */
    int (*upload)(void *ctx, tensor *dst, const void *host);    /* host plain -> dst (any layout) */
    int (*download)(void *ctx, const tensor *src, void *host);  /* src -> host plain */
    int (*copy)(void *ctx, tensor *dst, const tensor *src);     /* same shape and layout */
    int (*zero)(void *ctx, tensor *t);
    int (*accumulate)(void *ctx, tensor *dst, const tensor *src);      /* ops/accumulate.h */
    int (*sync)(void *ctx);                             /* wait for queued work (no-op on CPU) */

    /* ops/conv2d.h */
    conv2d_plan *(*conv2d_plan_make)(void *ctx, const conv2d_desc *d);   /* NULL on error */
    void (*conv2d_plan_free)(void *ctx, conv2d_plan *p);
    int (*conv2d_fwd)(void *ctx, conv2d_plan *p, const tensor *x, const tensor *w, const tensor *b, tensor *y);
    int (*conv2d_bwd)(void *ctx, conv2d_plan *p, const tensor *x, const tensor *w, const tensor *y,
                    const tensor *dy, tensor *dx, tensor *dw, tensor *db);

    /* ops/linear.h */
    int (*linear_fwd)(void *ctx, const tensor *x, const tensor *w, const tensor *b, tensor *y);
    int (*linear_bwd)(void *ctx, const tensor *x, const tensor *w, const tensor *dy,
                      tensor *dx, tensor *dw, tensor *db);

    /* ops/relu.h */
    int (*relu_fwd)(void *ctx, const tensor *x, tensor *y);
    int (*relu_bwd)(void *ctx, const tensor *y, const tensor *dy, tensor *dx);

    /* ops/maxpool.h */
    int (*maxpool_fwd)(void *ctx, const tensor *x, tensor *y, tensor *idx);
    int (*maxpool_bwd)(void *ctx, const tensor *idx, const tensor *dy, tensor *dx);
    int (*maxpool2d_fwd)(void *ctx, const tensor *x, tensor *y, int k);
    int (*maxpool2d_bwd)(void *ctx, const tensor *x, const tensor *dy, tensor *dx, int k);

    /* ops/gelu.h */
    int (*gelu_fwd)(void *ctx, const tensor *x, tensor *y);
    int (*gelu_bwd)(void *ctx, const tensor *x, const tensor *dy, tensor *dx);

    /* ops/scale.h */
    int (*scale)(void *ctx, const tensor *x, tensor *y, float s);

    /* ops/flatten.h */
    int (*flatten_fwd)(void *ctx, const tensor *x, tensor *y);
    int (*flatten_bwd)(void *ctx, const tensor *dy, tensor *dx);

    /* ops/dropout.h */
    int (*dropout_fwd)(void *ctx, const tensor *x, tensor *y, float p, uint64_t seed, uint32_t step,
                        uint32_t salt, int training);
    int (*dropout_bwd)(void *ctx, const tensor *dy, tensor *dx, float p, uint64_t seed, uint32_t step,
                        uint32_t salt);

    /* ops/bnlayer.h */
    int (*bnlayer_fwd)(void *ctx, const tensor *c, const tensor *a, const tensor *m, tensor *means,
                   tensor *stds, const tensor *skip, tensor *y, int training);
    int (*bnlayer_bwd)(void *ctx, const tensor *c, const tensor *m, const tensor *means, const tensor *stds,
                   const tensor *dy, tensor *dc, tensor *da, tensor *dm);

    /* ops/batchnorm.h */
    int (*batchnorm_fwd)(void *ctx, const tensor *x, const tensor *weight, const tensor *bias, tensor *running_mean,
                         tensor *running_var, tensor *save_mean, tensor *save_invstd, tensor *y, int training,
                         float momentum, float eps);
    int (*batchnorm_bwd)(void *ctx, const tensor *x, const tensor *weight, const tensor *save_mean,
                         const tensor *save_invstd, const tensor *dy, tensor *dx, tensor *dweight, tensor *dbias);

    /* ops/logsoftmax.h */
    int (*logsoftmax_fwd)(void *ctx, const tensor *x, tensor *y);
    int (*nll_loss)(void *ctx, const tensor *logp, const tensor *labels, float *loss);
    int (*logsoftmax_nll_bwd)(void *ctx, const tensor *logp, const tensor *labels, tensor *dx);
    int (*smooth_nll_loss)(void *ctx, const tensor *logp, const tensor *labels, float eps, int sum, float *loss);
    int (*logsoftmax_smooth_nll_bwd)(void *ctx, const tensor *logp, const tensor *labels, float eps, int sum,
                                     tensor *dx);

    /* ops/sgd.h */
    int (*sgd_step)(void *ctx, tensor *param, const tensor *grad, tensor *momentum_buf, size_t n,
                     float lr, float momentum, float wd, int first_step);
    int (*sgd_group_step)(void *ctx, tensor *param, const tensor *grad, tensor *momentum_buf, size_t n,
                          float lr, float lr_scale, float momentum, float wd, int nesterov, int first_step);
    int (*lookahead_step)(void *ctx, tensor *ema, tensor *param, size_t n, float weight, int init);

    /* ---- the training loop on the device (optional: NULL on backends whose data lives on the
     * host, e.g. the CPU; callers then take the host path) ---- */

    /* ops/augment_batch.h */
    int (*augment_batch)(void *ctx, const tensor *images, const tensor *labels, const tensor *lut,
                         const tensor *ids, long first, int n, int augment, const augment_style *style,
                         uint64_t seed, uint32_t pass, tensor *out, tensor *labels_out);

    /* Asynchronous loss (ops/logsoftmax.h): nll_loss_queue computes nll_loss into the backend's
     * loss scalar on the device (capturable in a graph); loss_stash(slot) queues its copy to host
     * slot `slot` (0..BACKEND_LOSS_SLOTS-1); loss_fetch(slot) waits for that copy only and
     * returns it. */
    int (*nll_loss_queue)(void *ctx, const tensor *logp, const tensor *labels);
    int (*smooth_nll_loss_queue)(void *ctx, const tensor *logp, const tensor *labels, float eps, int sum);
    int (*loss_stash)(void *ctx, int slot);
    int (*loss_fetch)(void *ctx, int slot, float *loss);

    /* Graph capture of a whole training step. graph_begin starts recording the queued work
     * instead of running it (sgd_step and dropout then read lr and step from the device scalars
     * that set_step_scalars writes, so one recording serves every step); graph_end stops and
     * returns an executable graph (NULL with C_ERR when capture failed: run uncaptured).
     * graph_launch replays it; it returns 1 without running anything when a scratch buffer the
     * graph uses was reallocated since the capture (capture again), C_ERR on failure.
     * set_step_scalars is queued before each launch. */
    int (*graph_begin)(void *ctx);
    int (*graph_end)(void *ctx, void **graph);
    int (*graph_launch)(void *ctx, void *graph);
    void (*graph_free)(void *ctx, void *graph);
    int (*set_step_scalars)(void *ctx, float lr, uint32_t step);
} backend_iface;

#define BACKEND_LOSS_SLOTS 8

typedef struct backend {
    const backend_iface *iface;
    void *ctx;
} backend;

/* CPU backend on oneDNN with OpenMP; threads <= 0 keeps the OpenMP default (all cores).
 * Returns C_OK or C_ERR. Free with backend_free. */
int backend_cpu_init(backend *be, int threads);
void backend_free(backend *be);

#endif
