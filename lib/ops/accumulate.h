/* accumulate.h: the gradient-sum op's contract.
 *
 * Backend entry (backend_iface):
 *   accumulate(ctx, dst, src)   dst += src, elementwise, same shape and layout (the ResnetLayer's
 *                               skip gradient, and any tensor read by two layers) */
#ifndef OPS_ACCUMULATE_H
#define OPS_ACCUMULATE_H

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(accumulate)
OP_ENTRY(int, accumulate, (void *ctx, tensor *dst, const tensor *src))
#endif
