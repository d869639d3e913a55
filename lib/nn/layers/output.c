/* output.c: the LogSoftmax layer kind, the model's last layer; the loss does its backward
 * (logsoftmax_nll_bwd in net.c). */
#include "nn/layer.h"

static int out_build(net *n, layer *L, const tensor *x, const tensor *dx_in)
{
    (void)x; (void)dx_in;
    const int *os = L->ml->out_shape;
    return net_alloc_act(n, &L->y, 1, os, TL_PLAIN) || net_alloc_grad(n, &L->dy, 1, os, TL_PLAIN) ? C_ERR : C_OK;
}

static int out_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    return be->iface->logsoftmax_fwd(be->ctx, x, &L->y);
}

const layer_kind layer_kind_logsoftmax = {
    .type = ML_LOGSOFTMAX,
    .build = out_build, .forward = out_forward,
};
