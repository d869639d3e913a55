/* output.c: the LogSoftmax layer kind, the model's last layer; the loss does its backward
 * (logsoftmax_nll_bwd in net.c). */
#include "nn/layer.h"

static int out_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    return be->iface->logsoftmax_fwd(be->ctx, x, &L->y);
}

const layer_kind layer_kind_logsoftmax = {
    .type = ML_LOGSOFTMAX,
    .build = layer_build_plain, .forward = out_forward,
};
