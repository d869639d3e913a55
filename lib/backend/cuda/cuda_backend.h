/* cuda_backend.h: what the CUDA backend's .cu files share (not for model code).
 *
 * One context per backend: a stream, cuDNN and cuBLAS handles bound to it, one cuDNN workspace
 * and two scratch buffers that grow when a larger shape first appears (every op runs on the one
 * stream, so they are never used by two ops at once), and a cache of chosen convolution
 * algorithms keyed by shape. Every CUDA, cuDNN and cuBLAS call goes through a check that prints
 * the call, file and line and records the first failure in the context: the op returns C_ERR,
 * and the next synchronising call (sync, download, nll_loss, loss_fetch, graph_end) returns
 * C_ERR too and clears the record (cuda_error_report), since a kernel's fault or a queued
 * failure may surface only there. Nothing here exits. Tensors are plain row-major in their
 * logical shape (NCHW). These files build the module $(BUILD)/lib/cifar-cuda.so (mk/cuda.mk,
 * backend/cuda_module.h): err_msg here is the module's own, which hands each line to the host. */
#ifndef CUDA_BACKEND_H
#define CUDA_BACKEND_H

#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <cudnn.h>
#include <stddef.h>
#include <stdint.h>

/* errors.h declares err_die/err_exit (for stages) with C11's _Noreturn, which C++ does not have. */
#ifndef _Noreturn
#define _Noreturn __attribute__((noreturn))
#endif
extern "C" {
#include "backend/backend.h"
#include "core/errors.h"
}
#include "backend/cuda_module.h"
#include "backend/plan_cache.h"

/* A cached algorithm choice for one convolution shape (and batch size). */
typedef struct cuda_algo {
    int key[10];                        /* n ic ih iw oc kh kw stride pad need_dx */
    int has_bwd;                        /* 0: chosen by a forward-only plan, bwdd/bwdf not yet */
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t bwdd;
    cudnnConvolutionBwdFilterAlgo_t bwdf;
    cudnnMathType_t fwd_math, bwdd_math, bwdf_math;
} cuda_algo;

typedef struct cuda_ctx {
    int device;
    int deterministic;      /* deterministic cuDNN algorithms only */
    int tf32;               /* cuDNN may use TF32 tensor cores */
    char name[256];
    cudaStream_t stream;
    cudnnHandle_t dnn;
    cublasHandle_t blas;
    void *ws;               /* cuDNN workspace */
    size_t ws_size;
    void *red;              /* reduction partials and per-channel temporaries */
    size_t red_size;
    void *mask;             /* dy * (y > 0) of a conv with fused ReLU */
    size_t mask_size;
    float *loss_dev;        /* [1] the last nll_loss on the device */
    float *loss_host;       /* [1] pinned, for the readback */
    float *loss_ring;       /* [BACKEND_LOSS_SLOTS] pinned: loss_stash copies of loss_dev */
    cudaEvent_t loss_ev[BACKEND_LOSS_SLOTS];   /* recorded after each stash copy */
    void *blas_ws;          /* cuBLAS workspace set once, so graph capture never allocates */
    float *step_lr;         /* device scalars a recorded step reads (set_step_scalars) */
    uint32_t *step_no;
    int capturing;          /* recording a graph: sgd/dropout take lr/step from the scalars */
    unsigned long buf_gen;  /* bumped whenever cuda_reserve reallocates a scratch buffer */
    cuda_algo *algos;
    int n_algos, cap_algos;
    const char *err_call;   /* the first failed call not yet reported (NULL: none) */
    const char *err_file;
    int err_line;
} cuda_ctx;

/* Check helpers: print `cuda: file:line: call: error`, record the failure in c (when not NULL and
 * none is recorded yet) and return C_ERR (C_OK when fine). */
int cuda_check(cuda_ctx *c, cudaError_t e, const char *call, const char *file, int line);
int cudnn_check(cuda_ctx *c, cudnnStatus_t s, const char *call, const char *file, int line);
int cublas_check(cuda_ctx *c, cublasStatus_t s, const char *call, const char *file, int line);

/* For a synchronising call that finished with rc: C_ERR when rc is C_ERR or a failure was
 * recorded since the last report (printing one line naming it when rc was C_OK); clears the
 * record. */
int cuda_error_report(cuda_ctx *c, int rc);

/* The backend on `device` (the module's init entry; contract in backend/cuda_init.h). */
int cuda_backend_init(backend *be, int device, int deterministic, int allow_tf32);

/* Return C_ERR from an int function when the call fails (recorded in c). */
#define CU_RET(c, call) do { if (cuda_check((c), (call), #call, __FILE__, __LINE__)) return C_ERR; } while (0)
#define DNN_RET(c, call) do { if (cudnn_check((c), (call), #call, __FILE__, __LINE__)) return C_ERR; } while (0)
#define BLAS_RET(c, call) do { if (cublas_check((c), (call), #call, __FILE__, __LINE__)) return C_ERR; } while (0)

/* Kernel launch on the context's stream, checked (launch errors only; faults in the kernel show
 * at the next synchronising call, which is checked too). */
#define LAUNCH_RET(c, kernel, grid, block, ...) do { \
        kernel<<<(grid), (block), 0, (c)->stream>>>(__VA_ARGS__); \
        if (cuda_check((c), cudaGetLastError(), "launch " #kernel, __FILE__, __LINE__)) return C_ERR; \
    } while (0)

#define CUDA_THREADS 256

/* Blocks for a grid-stride loop over n elements. */
static inline unsigned cuda_blocks(size_t n)
{
    size_t b = (n + CUDA_THREADS - 1) / CUDA_THREADS;
    if (b > 65535u * 8u) b = 65535u * 8u;
    return b ? (unsigned)b : 1u;
}

/* Grow-only device buffers (a grow synchronises the stream first, since queued work may still
 * read the old buffer, and bumps buf_gen so recorded graphs that used the old one are not
 * replayed). Growing while recording a graph is an error. Return C_OK or C_ERR. */
int cuda_reserve(cuda_ctx *c, void **buf, size_t *size, size_t bytes);
static inline int cuda_ws_reserve(cuda_ctx *c, size_t bytes) { return cuda_reserve(c, &c->ws, &c->ws_size, bytes); }
static inline int cuda_red_reserve(cuda_ctx *c, size_t bytes) { return cuda_reserve(c, &c->red, &c->red_size, bytes); }
static inline int cuda_mask_reserve(cuda_ctx *c, size_t bytes) { return cuda_reserve(c, &c->mask, &c->mask_size, bytes); }

/* ---- deterministic per-channel reductions over an NCHW tensor ----
 * Pass 1: grid (C, P); block (c, p) sums f(i, c) over its share of the N*HW elements of channel c
 * (element j of the channel is image j / HW, position j % HW; block p takes j = p*T + t, stepping
 * P*T) in double, then a fixed-order shared-memory tree gives part[c*P + p]. Pass 2 (the caller's
 * finalize kernel) adds the P partials of a channel in order. No atomics: the same inputs and
 * shapes give the same bits on every run. */
template <class F>
__global__ void chan_partial_kernel(F f, int N, int C, int HW, int P, double2 *part)
{
    __shared__ double ss[CUDA_THREADS], sq[CUDA_THREADS];
    const int c = blockIdx.x, p = blockIdx.y, t = threadIdx.x;
    const size_t M = (size_t)N * HW;
    double s = 0.0, q = 0.0;
    for (size_t j = (size_t)p * CUDA_THREADS + t; j < M; j += (size_t)P * CUDA_THREADS) {
        size_t n = j / HW, hw = j % HW;
        double2 v = f(((size_t)n * C + c) * HW + hw, c);
        s += v.x;
        q += v.y;
    }
    ss[t] = s;
    sq[t] = q;
    __syncthreads();
    for (int o = CUDA_THREADS / 2; o > 0; o >>= 1) {
        if (t < o) { ss[t] += ss[t + o]; sq[t] += sq[t + o]; }
        __syncthreads();
    }
    if (t == 0) part[(size_t)c * P + p] = make_double2(ss[0], sq[0]);
}

/* Parts per channel: enough blocks to fill the GPU, never more than the data needs. */
static inline int chan_parts(int N, int C, int HW)
{
    size_t M = (size_t)N * HW, most = (M + CUDA_THREADS - 1) / CUDA_THREADS;
    size_t want = (1024 + (size_t)C - 1) / (size_t)C;
    size_t p = want < most ? want : most;
    return p < 1 ? 1 : (int)p;
}

/* Sum of the P partials of channel c, in order. */
__device__ __forceinline__ double2 chan_total(const double2 *part, int c, int P)
{
    double s = 0.0, q = 0.0;
    for (int p = 0; p < P; p++) { s += part[(size_t)c * P + p].x; q += part[(size_t)c * P + p].y; }
    return make_double2(s, q);
}

/* ---- op entry points cuda_<name> (cuda/<op>.cu, contracts in ops/<op>.h), wired into the
 * table in cuda_backend.cu ---- */
#define OP_NAME(op)
#define OP_ENTRY(ret, name, params) ret cuda_##name params;
#define OP_DEVICE_ENTRY OP_ENTRY
#include "backend/ops_list.h"

/* the device training loop's asynchronous loss (logsoftmax.cu) */
int cuda_nll_loss_queue(void *ctx, const tensor *logp, const tensor *labels);
int cuda_smooth_nll_loss_queue(void *ctx, const tensor *logp, const tensor *labels, float eps, int sum);
int cuda_loss_stash(void *ctx, int slot);
int cuda_loss_fetch(void *ctx, int slot, float *loss);

#endif
