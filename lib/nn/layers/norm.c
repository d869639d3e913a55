/* norm.c: the BatchNorm2d layer kind (PyTorch's nn.BatchNorm2d, as airbench uses it: weight
 * frozen at 1, bias trained in its own optimiser group). */
#include "nn/layer.h"

/* `<name>.weight` (not trainable, 1), `<name>.bias` (0), `<name>.running_mean` (0),
 * `<name>.running_var` (1), each [C]: nn.BatchNorm2d's state dict without num_batches_tracked */
static int norm_params(net *n, layer *L)
{
    const model_layer *ml = L->ml;
    int vs[1] = { ml->out };
    L->w = net_add_param(n, ml->name, "weight", 1, vs, 0, NET_INIT_ONES, 0);
    L->b = net_add_param(n, ml->name, "bias", 1, vs, 1, NET_INIT_ZEROS, 0);
    L->mean = net_add_param(n, ml->name, "running_mean", 1, vs, 0, NET_INIT_ZEROS, 0);
    L->std = net_add_param(n, ml->name, "running_var", 1, vs, 0, NET_INIT_ONES, 0);
    if (L->w < 0 || L->b < 0 || L->mean < 0 || L->std < 0) return C_ERR;
    net_param_set_group(n, L->b, NET_GROUP_NORM_BIAS);
    return C_OK;
}

static int norm_build(net *n, layer *L, const tensor *x, const tensor *dx_in)
{
    const model_layer *ml = L->ml;
    const backend *be = net_backend(n);
    int vs[1] = { ml->out };
    if (layer_build_same(n, L, x, dx_in) || be->iface->alloc(be->ctx, &L->save_mean, DT_F32, 1, vs, TL_PLAIN) ||
        be->iface->alloc(be->ctx, &L->save_invstd, DT_F32, 1, vs, TL_PLAIN))
        return C_ERR;
    return C_OK;
}

/* training: batch statistics, saved for the backward, and the running statistics' update */
static int norm_forward(net *n, layer *L, const tensor *x, int training)
{
    const backend *be = net_backend(n);
    return be->iface->batchnorm_fwd(be->ctx, x, net_param(n, L->w), net_param(n, L->b), net_param(n, L->mean),
                                    net_param(n, L->std), &L->save_mean, &L->save_invstd, &L->y, training,
                                    (float)L->ml->momentum, (float)L->ml->eps);
}

/* the weight is frozen: no weight gradient (net_grad is NULL for it) */
static int norm_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    const backend *be = net_backend(n);
    return be->iface->batchnorm_bwd(be->ctx, x, net_param(n, L->w), &L->save_mean, &L->save_invstd, &L->dy, dx,
                                    net_grad(n, L->w), net_grad(n, L->b));
}

const layer_kind layer_kind_batchnorm2d = {
    .type = ML_BATCHNORM2D,
    .params = norm_params, .build = norm_build, .forward = norm_forward, .backward = norm_backward,
};
