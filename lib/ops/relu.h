/* relu.h: the ReLU op's contract and its element maths.
 *
 * Backend entries (backend_iface):
 *   relu_fwd(ctx, x, y)        y = max(x, 0), any layout (y may be x)
 *   relu_bwd(ctx, y, dy, dx)   dx = dy * (y > 0), from the forward's output
 * The CPU's AVX-512 kernels compute the same selects with vector masks. */
#ifndef OPS_RELU_H
#define OPS_RELU_H

#include "backend/hostdev.h"

OPS_HD float relu_value(float x) { return x > 0.0f ? x : 0.0f; }

/* The gradient passed back where the output y is positive (NaN and 0 give 0). */
OPS_HD float relu_grad(float y, float dy) { return y > 0.0f ? dy : 0.0f; }

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(relu)
OP_ENTRY(int, relu_fwd, (void *ctx, const tensor *x, tensor *y))
OP_ENTRY(int, relu_bwd, (void *ctx, const tensor *y, const tensor *dy, tensor *dx))
#endif
