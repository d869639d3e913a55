/* activation.c: the ReLU layer kind (functional F.relu; after a conv that fuses it, a view of the
 * conv's output) and the GELU layer kind (nn.GELU(), exact erf form). */
#include "nn/layer.h"

static int act_build(net *n, layer *L, const tensor *x, const tensor *dx_in)
{
    const model_layer *ml = L->ml;
    if (L->index > 0 && net_layer(n, L->index - 1)->fused_relu) {
        L->alias = 1;
        L->y = net_view_of(n, x, ml->out_ndim, ml->out_shape);
        L->dy = net_view_of(n, dx_in, ml->out_ndim, ml->out_shape);
        return C_OK;
    }
    return layer_build_same(n, L, x, dx_in);
}

static int act_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    return L->alias ? C_OK : be->iface->relu_fwd(be->ctx, x, &L->y);
}

static int act_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    (void)x;
    const backend *be = net_backend(n);
    return L->alias || !dx ? C_OK : be->iface->relu_bwd(be->ctx, &L->y, &L->dy, dx);
}

const layer_kind layer_kind_relu = {
    .type = ML_RELU,
    .build = act_build, .forward = act_forward, .backward = act_backward,
};

static int gelu_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    return be->iface->gelu_fwd(be->ctx, x, &L->y);
}

/* from the forward's input x (the previous layer's output, unchanged since) */
static int gelu_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    const backend *be = net_backend(n);
    return dx ? be->iface->gelu_bwd(be->ctx, x, &L->dy, dx) : C_OK;
}

const layer_kind layer_kind_gelu = {
    .type = ML_GELU,
    .build = layer_build_same, .forward = gelu_forward, .backward = gelu_backward,
};
