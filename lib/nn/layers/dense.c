/* dense.c: the Linear layer kind: y = x W^T + b on features. */
#include <math.h>
#include "nn/layer.h"

/* `<name>.weight` [out, in], `<name>.bias` [out] */
static int dense_params(net *n, layer *L)
{
    const model_layer *ml = L->ml;
    int ws[2] = { ml->out, ml->in };
    float bound = 1.0f / sqrtf((float)ml->in);
    if ((L->w = net_add_param(n, ml->name, "weight", 2, ws, 1, NET_INIT_UNIFORM, bound)) < 0) return C_ERR;
    if (ml->bias && (L->b = net_add_param(n, ml->name, "bias", 1, ws, 1, NET_INIT_UNIFORM, bound)) < 0) return C_ERR;
    return C_OK;
}

static int dense_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    return be->iface->linear_fwd(be->ctx, x, net_param(n, L->w), net_param(n, L->b), &L->y);
}

static int dense_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    const backend *be = net_backend(n);
    return be->iface->linear_bwd(be->ctx, x, net_param(n, L->w), &L->dy, dx, net_grad(n, L->w), net_grad(n, L->b));
}

const layer_kind layer_kind_linear = {
    .type = ML_LINEAR,
    .params = dense_params, .build = layer_build_plain, .forward = dense_forward, .backward = dense_backward,
};
