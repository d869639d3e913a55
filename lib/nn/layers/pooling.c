/* pooling.c: the AdaptiveMaxPool2d layer kind (to 1x1), keeping the arg max for the backward, and
 * the MaxPool2d(k) kind (stride k, floor), whose backward finds the arg max again from x. */
#include "nn/layer.h"

static int pool_build(net *n, layer *L, const tensor *x, const tensor *dx_in)
{
    const model_layer *ml = L->ml;
    const backend *be = net_backend(n);
    int is[2] = { net_max_batch(n), ml->in_shape[0] };
    if (layer_build_plain(n, L, x, dx_in) || be->iface->alloc(be->ctx, &L->idx, DT_I32, 2, is, TL_PLAIN))
        return C_ERR;
    return C_OK;
}

static int pool_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    return be->iface->maxpool_fwd(be->ctx, x, &L->y, &L->idx);
}

static int pool_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    (void)x;
    const backend *be = net_backend(n);
    return dx ? be->iface->maxpool_bwd(be->ctx, &L->idx, &L->dy, dx) : C_OK;
}

const layer_kind layer_kind_maxpool = {
    .type = ML_MAXPOOL,
    .build = pool_build, .forward = pool_forward, .backward = pool_backward,
};

static int pool2d_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    return be->iface->maxpool2d_fwd(be->ctx, x, &L->y, L->ml->kernel);
}

static int pool2d_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    const backend *be = net_backend(n);
    return dx ? be->iface->maxpool2d_bwd(be->ctx, x, &L->dy, dx, L->ml->kernel) : C_OK;
}

const layer_kind layer_kind_maxpool2d = {
    .type = ML_MAXPOOL2D,
    .build = layer_build_same, .forward = pool2d_forward, .backward = pool2d_backward,
};
