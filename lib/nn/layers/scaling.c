/* scaling.c: the Mul layer kind (airbench's Mul module: y = scale * x, no parameters); its
 * backward is the same op on the gradient. */
#include "nn/layer.h"

static int mul_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    return be->iface->scale(be->ctx, x, &L->y, (float)L->ml->scale);
}

static int mul_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    (void)x;
    const backend *be = net_backend(n);
    return dx ? be->iface->scale(be->ctx, &L->dy, dx, (float)L->ml->scale) : C_OK;
}

const layer_kind layer_kind_mul = {
    .type = ML_MUL,
    .build = layer_build_same, .forward = mul_forward, .backward = mul_backward,
};
