/* maxpool.h: the adaptive max pool to 1x1 (PyTorch AdaptiveMaxPool2d(1)).
 *
 * Backend entries (backend_iface):
 *   maxpool_fwd(ctx, x, y, idx)   x [n,c,h,w] (any layout) -> y [n,c,1,1] TL_PLAIN; idx [n,c] I32
 *                                 keeps the arg max position (0..h*w-1) for the backward
 *   maxpool_bwd(ctx, idx, dy, dx) dx [n,c,h,w] = 0 except dx[idx] = dy (overwritten)
 * Ties and NaN follow PyTorch: the first maximum wins, and a NaN, once seen, is kept. */
#ifndef OPS_MAXPOOL_H
#define OPS_MAXPOOL_H

#include "backend/hostdev.h"

/* 1 when the scan moves its maximum from `best` to the later value v. */
OPS_HD int maxpool_takes(float v, float best) { return v > best || best != best; }

#endif
