/* reshape.c: the Flatten layer kind ([C,H,W] -> [C*H*W]): a view when the input is plain already. */
#include "nn/layer.h"

static int reshape_build(net *n, layer *L, const tensor *x, const tensor *dx_in)
{
    const int *os = L->ml->out_shape;
    if (x->layout == TL_PLAIN || x->ndim != 4) {
        L->alias = 1;
        L->y = net_view_of(n, x, 1, os);
        if (dx_in) L->dy = net_view_of(n, dx_in, 1, os);
        else if (net_alloc_grad(n, &L->dy, 1, os, TL_PLAIN)) return C_ERR;
        return C_OK;
    }
    return layer_build_plain(n, L, x, dx_in);
}

static int reshape_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    return L->alias ? C_OK : be->iface->flatten_fwd(be->ctx, x, &L->y);
}

static int reshape_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    (void)x;
    const backend *be = net_backend(n);
    return L->alias || !dx ? C_OK : be->iface->flatten_bwd(be->ctx, &L->dy, dx);
}

const layer_kind layer_kind_flatten = {
    .type = ML_FLATTEN,
    .build = reshape_build, .forward = reshape_forward, .backward = reshape_backward,
};
