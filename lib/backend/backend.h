/* backend.h: the one compute interface the model code calls (a function table plus a context).
 *
 * No global state: everything a backend needs lives behind `ctx`, so two backends (CPU, CUDA) can
 * live in one process. Every op takes tensors allocated by the same backend. Ops return C_OK or
 * C_ERR (after printing one line with err_msg) unless they return void. A backend that queues
 * work (CUDA) may see a failure only later: it records the first failed call, the op returns
 * C_ERR, and the next synchronising call (sync, download, nll_loss, loss_fetch, graph_end)
 * returns C_ERR too, once.
 *
 * Conventions:
 * - Activations are 4-D [N,C,H,W] tensors in layout TL_ACT (the backend's preferred layout) or
 *   TL_PLAIN (the network input); features are 2-D [N,F] TL_PLAIN; parameters are TL_PLAIN in
 *   PyTorch's shapes (conv weight [oc,ic,kh,kw], linear weight [out,in], BnLayer a/m [C,1,1]).
 * - Backward ops OVERWRITE their gradient outputs (each parameter is used once per forward).
 * - Batch size may change from call to call up to the max_n given when a plan was made; the
 *   backend builds its per-shape machinery once per distinct batch size and reuses it.
 * - Each op's contract (what its entries compute, shapes, layouts), its entries' signatures and
 *   the maths both backends share live in lib/ops/<op>.h; its code in backend/cpu/<op>.c and
 *   backend/cuda/<op>.cu; the list of ops is backend/ops_list.h. */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdint.h>
#include "backend/tensor.h"
#include "core/errors.h"
#include "backend/ops_list.h"

typedef struct backend_iface {
    const char *name;                                    /* "cpu", "cuda" */
    void (*free)(void *ctx);

    /* memory */
    int (*alloc)(void *ctx, tensor *t, tensor_dtype dt, int ndim, const int *shape, tensor_layout layout);
    void (*free_tensor)(void *ctx, tensor *t);           /* idempotent; leaves *t zeroed */
    int (*upload)(void *ctx, tensor *dst, const void *host);    /* host plain -> dst (any layout) */
    int (*download)(void *ctx, const tensor *src, void *host);  /* src -> host plain */
    int (*copy)(void *ctx, tensor *dst, const tensor *src);     /* same shape and layout */
    int (*zero)(void *ctx, tensor *t);
    int (*sync)(void *ctx);                             /* wait for queued work (no-op on CPU) */

    /* every op's entries (lib/ops/<op>.h; augment_batch is NULL on the CPU) */
#define OP_NAME(op)
#define OP_ENTRY(ret, name, params) ret (*name) params;
#define OP_DEVICE_ENTRY OP_ENTRY
#include "backend/ops_list.h"

    /* ---- the training loop on the device (optional: NULL on backends whose data lives on the
     * host, e.g. the CPU; callers then take the host path) ---- */

    /* Asynchronous loss (ops/logsoftmax.h): nll_loss_queue computes nll_loss into the backend's
     * loss scalar on the device (capturable in a graph); loss_stash(slot) queues its copy to host
     * slot `slot` (0..BACKEND_LOSS_SLOTS-1); loss_fetch(slot) waits for that copy only and
     * returns it. */
    int (*nll_loss_queue)(void *ctx, const tensor *logp, const tensor *labels);
    int (*smooth_nll_loss_queue)(void *ctx, const tensor *logp, const tensor *labels, float eps, int sum);
    int (*loss_stash)(void *ctx, int slot);
    int (*loss_fetch)(void *ctx, int slot, float *loss);

    /* Graph capture of a whole training step. graph_begin starts recording the queued work
     * instead of running it (sgd_step and dropout then read lr and step from the device scalars
     * that set_step_scalars writes, so one recording serves every step); graph_end stops and
     * returns an executable graph (NULL with C_ERR when capture failed: run uncaptured).
     * graph_launch replays it; it returns 1 without running anything when a scratch buffer the
     * graph uses was reallocated since the capture (capture again), C_ERR on failure.
     * set_step_scalars is queued before each launch. */
    int (*graph_begin)(void *ctx);
    int (*graph_end)(void *ctx, void **graph);
    int (*graph_launch)(void *ctx, void *graph);
    void (*graph_free)(void *ctx, void *graph);
    int (*set_step_scalars)(void *ctx, float lr, uint32_t step);
} backend_iface;

/* A backend's table names its memory entries <p>_free, <p>_alloc, ... <p>_sync: after .name,
 * `BACKEND_MEMORY_ENTRIES(cpu),` fills them, then the op entries from ops_list.h. */
#define BACKEND_MEMORY_ENTRIES(p)                                                                   \
    .free = p##_free, .alloc = p##_alloc, .free_tensor = p##_free_tensor, .upload = p##_upload,     \
    .download = p##_download, .copy = p##_copy, .zero = p##_zero, .sync = p##_sync

#define BACKEND_LOSS_SLOTS 8

typedef struct backend {
    const backend_iface *iface;
    void *ctx;
} backend;

/* CPU backend on oneDNN with OpenMP; threads <= 0 keeps the OpenMP default (all cores).
 * Returns C_OK or C_ERR. Free with backend_free. */
int backend_cpu_init(backend *be, int threads);
void backend_free(backend *be);

#endif
