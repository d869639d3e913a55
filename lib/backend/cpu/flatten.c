/* flatten.c: nChw16c (or plain) activations to plain [n, c*h*w] features in NCHW order, and back. */
#include <string.h>
#include "backend/cpu/cpu_backend.h"

int cpu_flatten_fwd(void *ctx, const tensor *x, tensor *y)
{
    (void)ctx;
    if (cpu_blk(x) > 1) cpu_from_blocked(x->data, y->data, x->shape[0], x->shape[1], x->shape[2] * x->shape[3]);
    else memcpy(y->data, x->data, tensor_numel(x) * sizeof(float));
    return C_OK;
}

int cpu_flatten_bwd(void *ctx, const tensor *dy, tensor *dx)
{
    (void)ctx;
    if (cpu_blk(dx) > 1) cpu_to_blocked(dy->data, dx->data, dx->shape[0], dx->shape[1], dx->shape[2] * dx->shape[3]);
    else memcpy(dx->data, dy->data, tensor_numel(dx) * sizeof(float));
    return C_OK;
}
