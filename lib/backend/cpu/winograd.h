/* winograd.h: Winograd F(4x4, 3x3) convolution for conv2d.c (Lavin & Gray 2015, "Fast Algorithms
 * for Convolutional Neural Networks"): 3x3 stride-1 layers with pad 0 or 1 on nChw<W>c
 * activations, any channel counts, optional bias and fused ReLU.
 *
 * Forward, per 6x6 input tile d (tiles overlap by 2, one per 4x4 output tile) and per (k, c):
 *   U = G g Gt, V = Bt d B, M[xi] = V[xi] . U[xi] (36 batched GEMMs, tiles x C by C x K),
 *   y = At M A (+ bias, ReLU).
 * The backward passes are the adjoints of that linear map with the same transforms:
 *   dM = A dy At, dV[xi] = dM[xi] . U[xi]t, dx += B dV Bt (scattered over the overlapping tiles),
 *   dU[xi] = V[xi]t . dM[xi] summed over every tile of the batch, dw = Gt dU G.
 * The transforms are own kernels (one body at 16 and 8 lanes and plain C, bit-identical); the 36
 * products are oneDNN matmul primitives with a batch dimension. The batch is processed in chunks
 * of whole images so the transformed tiles stay in cache; everything is allocated when the plan
 * and its per-batch instances are made (the transformed tiles live in the context's cpu_tmp). */
#ifndef CPU_WINOGRAD_H
#define CPU_WINOGRAD_H

#include "backend/cpu/cpu_backend.h"
#include "ops/conv2d.h"

typedef struct cpu_winograd cpu_winograd;            /* per plan: geometry, transformed weights U */
typedef struct cpu_winograd_inst cpu_winograd_inst;  /* per batch size: chunks, matmul primitives */

/* 1 when d is a layer this file computes: 3x3, stride 1, pad 0 or 1, nChw<W>c input. */
int cpu_winograd_eligible(const conv2d_desc *d);

/* The plan of an eligible d (NULL after one err_msg line); _free accepts NULL. */
cpu_winograd *cpu_winograd_make(cpu_ctx *c, const conv2d_desc *d, int oh, int ow);
void cpu_winograd_free(cpu_winograd *W);
/* Chunks of at most `bytes` of transformed tiles (default 64 MB) for instances made after it:
 * for tests of the chunking. */
void cpu_winograd_set_chunk_bytes(cpu_winograd *W, size_t bytes);
/* The instance for batch n <= d->max_n; reserves the context's workspace (NULL on error). */
cpu_winograd_inst *cpu_winograd_inst_make(cpu_ctx *c, cpu_winograd *W, int n);
void cpu_winograd_inst_free(cpu_winograd_inst *I);

/* y = relu?(conv(x, w) + b), x and y nChw<W>c, w oihw, b [oc] or NULL. Transforms w into the
 * plan's U, which the next cpu_winograd_bwd reuses while w->data is the same buffer. */
int cpu_winograd_fwd(cpu_ctx *c, cpu_winograd *W, cpu_winograd_inst *I, const float *x, const float *w,
                     const float *b, float *y);
/* g: the output gradient (already masked by y > 0 for a fused ReLU). dx (NULL: not asked), dw
 * (oihw) and db (NULL without bias) are overwritten. */
int cpu_winograd_bwd(cpu_ctx *c, cpu_winograd *W, cpu_winograd_inst *I, const float *x, const float *w,
                     const float *g, float *dx, float *dw, float *db);

#endif
