/* scale.h: multiplication by a constant (airbench's Mul module), forward and backward alike.
 *
 * Backend entry (backend_iface):
 *   scale(ctx, x, y, s)   y = s * x elementwise, any layout (y may be x); the backward of
 *                         y = s x is the same entry on the gradients: dx = s * dy.
 * One float multiply per element on every path, so every backend gives the same bits. */
#ifndef OPS_SCALE_H
#define OPS_SCALE_H

#include "backend/hostdev.h"

OPS_HD float scale_value(float x, float s) { return s * x; }

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(scale)
OP_ENTRY(int, scale, (void *ctx, const tensor *x, tensor *y, float s))
#endif
