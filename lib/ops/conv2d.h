/* conv2d.h: the convolution op's contract, shared by the model-file checker, both backends and
 * the tests (PyTorch Conv2d: cross-correlation, symmetric zero padding, floor output size),
 * optionally with bias and a fused ReLU on the output.
 *
 * Backend entries (backend_iface):
 *   conv2d_plan_make(ctx, d)  a plan per layer, made once (NULL on error); conv2d_plan_free.
 *   conv2d_fwd(ctx, p, x, w, b, y)
 *       x [n,ic,ih,iw] in d->src_layout, w [oc,ic,kh,kw] TL_PLAIN, b [oc] (NULL when !bias);
 *       y [n,oc,oh,ow] TL_ACT = (relu)(conv(x, w) + b), for any batch n = x->shape[0] <= max_n.
 *   conv2d_bwd(ctx, p, x, w, y, dy, dx, dw, db)
 *       dy: gradient w.r.t. y. dx (NULL allowed, and required when !need_dx), dw, db (NULL when
 *       !bias) are overwritten. y is read only when the plan fuses ReLU (dy masked by y > 0).
 *       An error on a forward_only plan.
 * The per-shape machinery is built once per distinct batch size and reused (backend/plan_cache.h). */
#ifndef OPS_CONV2D_H
#define OPS_CONV2D_H

#include "backend/hostdev.h"
#include "backend/tensor.h"
#include "core/errors.h"

typedef struct conv2d_desc {
    int max_n;            /* largest batch the plan will see */
    int ic, ih, iw;       /* input channels and size */
    int oc, kh, kw;       /* output channels, kernel */
    int stride, pad;
    int bias;             /* 1: add a bias [oc] */
    int relu;             /* 1: y = relu(conv(x) + b); backward masks dy by y > 0 */
    int need_dx;          /* 0: the input gradient is never asked for (first layer) */
    int forward_only;     /* 1: only conv2d_fwd is ever called (a net built for inference): no
                             backward machinery; the forward is the training plan's, bit for bit */
    tensor_layout src_layout; /* layout of x (TL_PLAIN for the network input) */
    int algo;             /* CONV2D_ALGO_AUTO (library chooses, Winograd where it applies), _DIRECT,
                             or _WINOGRAD (the CPU's own F(4x4,3x3) where it applies, else as AUTO;
                             the CPU's CIFAR_WINOGRAD=on|auto makes AUTO plans choose it too) */
} conv2d_desc;

enum { CONV2D_ALGO_AUTO = 0, CONV2D_ALGO_DIRECT = 1, CONV2D_ALGO_WINOGRAD = 2 };

typedef struct conv2d_plan conv2d_plan;   /* opaque, backend-owned */

/* Output rows (or columns) of a convolution; 0 when the kernel does not fit the padded input. */
OPS_HD int conv2d_out_size(int in, int kernel, int stride, int pad)
{
    return in + 2 * pad < kernel ? 0 : (in + 2 * pad - kernel) / stride + 1;
}

/* Checks a description: 0 when valid. Both backends refuse the same descriptions. */
OPS_HD int conv2d_desc_invalid(const conv2d_desc *d)
{
    return d->max_n < 1 || d->ic < 1 || d->oc < 1 || d->kh < 1 || d->kw < 1 || d->stride < 1 || d->pad < 0;
}

/* What a backend's plan_make checks first: C_OK with the output size, or C_ERR after one line. */
static inline int conv2d_desc_check(const conv2d_desc *d, int *oh, int *ow)
{
    if (conv2d_desc_invalid(d)) return err_msg("conv2d", "invalid description");
    *oh = conv2d_out_size(d->ih, d->kh, d->stride, d->pad);
    *ow = conv2d_out_size(d->iw, d->kw, d->stride, d->pad);
    if (*oh < 1 || *ow < 1) return err_msg("conv2d", "kernel %dx%d does not fit input %dx%d", d->kh, d->kw, d->ih, d->iw);
    return C_OK;
}

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(conv2d)
OP_ENTRY(conv2d_plan *, conv2d_plan_make, (void *ctx, const conv2d_desc *d))   /* NULL on error */
OP_ENTRY(void, conv2d_plan_free, (void *ctx, conv2d_plan *p))
OP_ENTRY(int, conv2d_fwd, (void *ctx, conv2d_plan *p, const tensor *x, const tensor *w, const tensor *b,
                           tensor *y))
OP_ENTRY(int, conv2d_bwd, (void *ctx, conv2d_plan *p, const tensor *x, const tensor *w, const tensor *y,
                           const tensor *dy, tensor *dx, tensor *dw, tensor *db))
#endif
