/* backend.h: the one compute interface the model code calls (a function table plus a context).
 *
 * No global state: everything a backend needs lives behind `ctx`, so two backends (CPU, CUDA) can
 * live in one process. Every op takes tensors allocated by the same backend. Ops return C_OK or
 * C_ERR (after printing one line with err_msg) unless they return void.
 *
 * Conventions:
 * - Activations are 4-D [N,C,H,W] tensors in layout TL_ACT (the backend's preferred layout) or
 *   TL_PLAIN (the network input); features are 2-D [N,F] TL_PLAIN; parameters are TL_PLAIN in
 *   PyTorch's shapes (conv weight [oc,ic,kh,kw], linear weight [out,in], BnLayer a/m [C,1,1]).
 * - Backward ops OVERWRITE their gradient outputs (each parameter is used once per forward).
 * - Batch size may change from call to call up to the max_n given when a plan was made; the
 *   backend builds its per-shape machinery once per distinct batch size and reuses it. */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdint.h>
#include "backend/tensor.h"
#include "core/error.h"
#include "ops/conv2d.h"

/* Convolution (PyTorch Conv2d: symmetric zero padding, floor output size), optionally with bias
 * and a fused ReLU on the output. */
typedef struct conv2d_desc {
    int max_n;            /* largest batch the plan will see */
    int ic, ih, iw;       /* input channels and size */
    int oc, kh, kw;       /* output channels, kernel */
    int stride, pad;
    int bias;             /* 1: add a bias [oc] */
    int relu;             /* 1: y = relu(conv(x) + b); backward masks dy by y > 0 */
    int need_dx;          /* 0: the input gradient is never asked for (first layer) */
    tensor_layout src_layout; /* layout of x (TL_PLAIN for the network input) */
    int algo;             /* CONV2D_ALGO_AUTO (library chooses, Winograd where it applies) or _DIRECT */
} conv2d_desc;

enum { CONV2D_ALGO_AUTO = 0, CONV2D_ALGO_DIRECT = 1 };

typedef struct conv2d_plan conv2d_plan;   /* opaque, backend-owned */

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
    int (*accumulate)(void *ctx, tensor *dst, const tensor *src);      /* dst += src, same shape/layout */
    int (*sync)(void *ctx);                             /* wait for queued work (no-op on CPU) */

    /* conv2d: a plan per layer, made once; fwd/bwd run it for any batch n <= max_n (n = x->shape[0]) */
    conv2d_plan *(*conv2d_plan_make)(void *ctx, const conv2d_desc *d);   /* NULL on error */
    void (*conv2d_plan_free)(void *ctx, conv2d_plan *p);
    /* y [n,oc,oh,ow] TL_ACT = (relu)(conv(x, w) + b); b may be NULL when !bias */
    int (*conv2d_fwd)(void *ctx, conv2d_plan *p, const tensor *x, const tensor *w, const tensor *b, tensor *y);
    /* dy: gradient w.r.t. y. dx (NULL allowed when !need_dx), dw, db (NULL when !bias) are
     * overwritten. y is needed only when the plan fuses ReLU. */
    int (*conv2d_bwd)(void *ctx, conv2d_plan *p, const tensor *x, const tensor *w, const tensor *y,
                    const tensor *dy, tensor *dx, tensor *dw, tensor *db);

    /* linear: y[n,out] = x[n,in] W^T + b (b may be NULL) */
    int (*linear_fwd)(void *ctx, const tensor *x, const tensor *w, const tensor *b, tensor *y);
    /* dx may be NULL */
    int (*linear_bwd)(void *ctx, const tensor *x, const tensor *w, const tensor *dy,
                      tensor *dx, tensor *dw, tensor *db);

    /* relu (any layout; y may be x) and its backward from the output: dx = dy * (y > 0) */
    int (*relu_fwd)(void *ctx, const tensor *x, tensor *y);
    int (*relu_bwd)(void *ctx, const tensor *y, const tensor *dy, tensor *dx);

    /* adaptive max pool to 1x1: x [n,c,h,w] (any layout) -> y [n,c,1,1] TL_PLAIN; idx [n,c] I32
     * keeps the arg max (first maximum, like PyTorch) for the backward */
    int (*maxpool_fwd)(void *ctx, const tensor *x, tensor *y, tensor *idx);
    int (*maxpool_bwd)(void *ctx, const tensor *idx, const tensor *dy, tensor *dx);

    /* flatten [n,c,h,w] (any layout) -> [n,c*h*w] TL_PLAIN in NCHW order, and back */
    int (*flatten_fwd)(void *ctx, const tensor *x, tensor *y);
    int (*flatten_bwd)(void *ctx, const tensor *dy, tensor *dx);

    /* inverted dropout on TL_PLAIN tensors: kept units are scaled by 1/(1-p); the mask is a pure
     * function of (seed, step, salt, element index), see op_dropout.h, so the backward regenerates
     * it instead of storing it. training = 0: identity. */
    int (*dropout_fwd)(void *ctx, const tensor *x, tensor *y, float p, uint64_t seed, uint32_t step,
                        uint32_t salt, int training);
    int (*dropout_bwd)(void *ctx, const tensor *dy, tensor *dx, float p, uint64_t seed, uint32_t step,
                        uint32_t salt);

    /* The notebook's BnLayer after its conv: r = relu(c); in training mean/std (unbiased, no eps)
     * of r per channel over N*H*W are written to means/stds [C] (else read from them);
     * y = (r - mean) / std * m + a, plus skip (the ResnetLayer input, same shape as y) when not
     * NULL. c, y, skip: same layout. */
    int (*bnlayer_fwd)(void *ctx, const tensor *c, const tensor *a, const tensor *m, tensor *means,
                   tensor *stds, const tensor *skip, tensor *y, int training);
    /* Gradients through the batch statistics (training-mode forward) into dc (w.r.t. c, the
     * pre-ReLU conv output), da, dm. The skip branch's gradient is dy itself (caller adds it). */
    int (*bnlayer_bwd)(void *ctx, const tensor *c, const tensor *m, const tensor *means, const tensor *stds,
                   const tensor *dy, tensor *dc, tensor *da, tensor *dm);

    /* log-softmax over the last dim of x [n,k] TL_PLAIN */
    int (*logsoftmax_fwd)(void *ctx, const tensor *x, tensor *y);
    /* mean over the batch of -logp[i, label_i]; labels U8 [n] on the backend */
    int (*nll_loss)(void *ctx, const tensor *logp, const tensor *labels, float *loss);
    /* gradient of nll_loss(logsoftmax(x)) w.r.t. x: (softmax - onehot) / n */
    int (*logsoftmax_nll_bwd)(void *ctx, const tensor *logp, const tensor *labels, tensor *dx);

    /* fused SGD, PyTorch semantics on n elements of TL_PLAIN F32 tensors:
     * d = g + wd*p; buf = first_step ? d : momentum*buf + d; p -= lr*buf */
    int (*sgd_step)(void *ctx, tensor *param, const tensor *grad, tensor *momentum_buf, size_t n,
                     float lr, float momentum, float wd, int first_step);

    /* ---- the training loop on the device (optional: NULL on backends whose data lives on the
     * host, e.g. the CPU; callers then take the host path) ---- */

    /* Builds a batch from a dataset resident on the backend: images U8 [N,h,w,3] (NHWC), labels
     * U8 [N], lut F32 [3,256] (norm_stats.lut), ids I32 [>= first+n] (the epoch's order). Slot i
     * takes image ids[first+i]; augment = 1 applies augment_image's reflect pad / flip / crop with
     * the draws rng_block(seed, RNG_AUGMENT, pass, id), 0 only normalises. out: F32 [n,3,h,w]
     * TL_PLAIN; labels_out U8 [n] or NULL. Queued, never waits. */
    int (*augment_batch)(void *ctx, const tensor *images, const tensor *labels, const tensor *lut,
                         const tensor *ids, long first, int n, int augment, int pad, int flip,
                         uint64_t seed, uint32_t pass, tensor *out, tensor *labels_out);

    /* Asynchronous loss: nll_loss_queue computes nll_loss into the backend's loss scalar on the
     * device (capturable in a graph); loss_stash(slot) queues its copy to host slot `slot`
     * (0..BACKEND_LOSS_SLOTS-1); loss_fetch(slot) waits for that copy only and returns it. */
    int (*nll_loss_queue)(void *ctx, const tensor *logp, const tensor *labels);
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
