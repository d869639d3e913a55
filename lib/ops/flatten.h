/* flatten.h: the flatten op's contract (x.view(n, -1)).
 *
 * Backend entries (backend_iface):
 *   flatten_fwd(ctx, x, y)    x [n,c,h,w] (any layout) -> y [n,c*h*w] TL_PLAIN in NCHW order
 *   flatten_bwd(ctx, dy, dx)  the inverse: dy [n,c*h*w] -> dx [n,c,h,w] in dx's layout
 * On the CPU this converts from and to the blocked layout; on CUDA (plain NCHW) it is a copy. */
#ifndef OPS_FLATTEN_H
#define OPS_FLATTEN_H

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(flatten)
OP_ENTRY(int, flatten_fwd, (void *ctx, const tensor *x, tensor *y))
OP_ENTRY(int, flatten_bwd, (void *ctx, const tensor *dy, tensor *dx))
#endif
