/* linear.h: the Linear op's contract (PyTorch nn.Linear).
 *
 * Backend entries (backend_iface):
 *   linear_fwd(ctx, x, w, b, y)   y[n,out] = x[n,in] W[out,in]^T + b[out]; b may be NULL. x is
 *                                 TL_PLAIN with any shape whose first dim is n (in = numel / n).
 *   linear_bwd(ctx, x, w, dy, dx, dw, db)
 *                                 dw = dy^T x, db = column sums of dy (in batch order, summed in
 *                                 double), dx = dy W; dx and db may be NULL; all overwritten.
 * The bias is broadcast into y first and the forward GEMM adds onto it, on both backends. */
#ifndef OPS_LINEAR_H
#define OPS_LINEAR_H

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(linear)
OP_ENTRY(int, linear_fwd, (void *ctx, const tensor *x, const tensor *w, const tensor *b, tensor *y))
OP_ENTRY(int, linear_bwd, (void *ctx, const tensor *x, const tensor *w, const tensor *dy, tensor *dx,
                           tensor *dw, tensor *db))
#endif
