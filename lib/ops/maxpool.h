/* maxpool.h: max pooling: the adaptive max pool to 1x1 (PyTorch AdaptiveMaxPool2d(1)) and
 * MaxPool2d(k) with stride k, no padding, floor mode (PyTorch nn.MaxPool2d(k)).
 *
 * Backend entries (backend_iface):
 *   maxpool_fwd(ctx, x, y, idx)   x [n,c,h,w] (any layout) -> y [n,c,1,1] TL_PLAIN; idx [n,c] I32
 *                                 keeps the arg max position (0..h*w-1) for the backward
 *   maxpool_bwd(ctx, idx, dy, dx) dx [n,c,h,w] = 0 except dx[idx] = dy (overwritten)
 *   maxpool2d_fwd(ctx, x, y, k)   x [n,c,h,w] -> y [n,c,h/k,w/k] (floor; same layout as x):
 *                                 the maximum of each k x k window (rows and columns past
 *                                 (h/k)*k, (w/k)*k are dropped, as PyTorch's floor mode does)
 *   maxpool2d_bwd(ctx, x, dy, dx, k)  dx (layout of x) = 0 except, in each window, at the
 *                                 forward's arg max (found again from x, row-major scan), dy
 * Ties and NaN follow PyTorch: the first maximum wins, and a NaN, once seen, is kept. */
#ifndef OPS_MAXPOOL_H
#define OPS_MAXPOOL_H

#include "backend/hostdev.h"

/* 1 when the scan moves its maximum from `best` to the later value v. */
OPS_HD int maxpool_takes(float v, float best) { return v > best || best != best; }

/* Output rows (or columns) of MaxPool2d(k): floor(in / k). */
OPS_HD int maxpool2d_out_size(int in, int k) { return in / k; }

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(maxpool)
OP_ENTRY(int, maxpool_fwd, (void *ctx, const tensor *x, tensor *y, tensor *idx))
OP_ENTRY(int, maxpool_bwd, (void *ctx, const tensor *idx, const tensor *dy, tensor *dx))
OP_ENTRY(int, maxpool2d_fwd, (void *ctx, const tensor *x, tensor *y, int k))
OP_ENTRY(int, maxpool2d_bwd, (void *ctx, const tensor *x, const tensor *dy, tensor *dx, int k))
#endif
