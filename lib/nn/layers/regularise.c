/* regularise.c: the Dropout layer kind; its mask is a function of (seed, step, layer index), so
 * the backward regenerates it. */
#include "nn/layer.h"

static int drop_forward(net *n, layer *L, const tensor *x, int training)
{
    const backend *be = net_backend(n);
    return be->iface->dropout_fwd(be->ctx, x, &L->y, L->ml->p, net_forward_seed(n), net_forward_step(n),
                                  (uint32_t)L->index, training);
}

static int drop_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    (void)x;
    const backend *be = net_backend(n);
    return dx ? be->iface->dropout_bwd(be->ctx, &L->dy, dx, L->ml->p, net_forward_seed(n), net_forward_step(n),
                                       (uint32_t)L->index)
              : C_OK;
}

const layer_kind layer_kind_dropout = {
    .type = ML_DROPOUT,
    .build = layer_build_plain, .forward = drop_forward, .backward = drop_backward,
};
