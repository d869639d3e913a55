/* cpu_backend.h: internals shared by the CPU backend's files (not for model code).
 *
 * Activations (TL_ACT, 4-D) are nChw<W>c, W the block width oneDNN's convolutions prefer on this
 * CPU (asked once, when the first context is made: 16 with AVX-512, 8 with AVX2): element
 * (n,c,h,w) of a [N,C,H,W] tensor lives at ((n*CB + c/W)*H*W + h*W + w)*W + c%W with
 * CB = ceil(C/W); lanes past C are zero and stay zero (oneDNN relies on it). Our own ops are
 * written once for a channel block B (W for TL_ACT, 1 for plain NCHW, where the same formula
 * gives the plain offset).
 *
 * Own kernels: AVX-512, AVX2 + FMA and plain C versions, the widest the CPU runs chosen at run
 * time; CPU_MAX_ISA=avx512|avx2|generic caps the choice (tests run every path on one machine). */
#ifndef CPU_BACKEND_H
#define CPU_BACKEND_H

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include "backend/backend.h"

/* the activation block width W (8 or 16), set by backend_cpu_init before any tensor exists;
 * one per process, like oneDNN's own ISA choice */
extern int cpu_act_block;

/* vector kernel sets of our own ops, narrowest first */
enum { CPU_ISA_GENERIC = 0, CPU_ISA_AVX2 = 1, CPU_ISA_AVX512 = 2 };

/* backend-private layout tag (tensor.h): a convolution's weights in their primitive's blocked
 * layout, described in the context's table (cpu_weights.c) */
#define CPU_TL_WEIGHTS ((tensor_layout)2)

typedef struct cpu_wlayout {
    void *data;             /* the tensor's data, which identifies it */
    dnnl_memory_desc_t md;  /* its layout */
} cpu_wlayout;

typedef struct cpu_ctx {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads;
    int isa;                /* CPU_ISA_*: the widest the CPU runs, capped by CPU_MAX_ISA */
    void *scratch;          /* oneDNN user scratchpad, shared: primitives run one at a time */
    size_t scratch_size;
    void *tmp;              /* temporaries of our own ops (per-thread partial sums) */
    size_t tmp_size;
    cpu_wlayout *wl;        /* tensors in CPU_TL_WEIGHTS layout */
    int n_wl, cap_wl;
    int winograd;           /* CPU_WINOGRAD_*: CIFAR_WINOGRAD, read when the context is made */
    int conv_trace;         /* CIFAR_CONV_TRACE=1: one stderr line per convolution plan */
} cpu_ctx;

/* CIFAR_WINOGRAD: which convolution plans of algorithm CONV2D_ALGO_AUTO run winograd.c */
enum { CPU_WINOGRAD_OFF = 0, CPU_WINOGRAD_ON = 1, CPU_WINOGRAD_AUTO = 2 };

/* Channel block of a tensor: cpu_act_block for a 4-D TL_ACT tensor, else 1. */
static inline int cpu_blk(const tensor *t) { return t->ndim == 4 && t->layout == TL_ACT ? cpu_act_block : 1; }
/* C rounded up to whole activation blocks */
static inline size_t cpu_padded_channels(int C) { return (size_t)(C + cpu_act_block - 1) / cpu_act_block * cpu_act_block; }

/* The kernel set for data in channel blocks of B lanes (layout-free loops use c->isa): AVX-512
 * kernels hold one 16-lane block per register, AVX2 ones 8 lanes, so B = 8 on an AVX-512 CPU
 * (oneDNN capped to AVX2) runs the AVX2 kernels and plain tensors (B = 1) the generic loops. */
static inline int cpu_isa_for(const cpu_ctx *c, int B)
{
    if (c->isa >= CPU_ISA_AVX512 && B == 16) return CPU_ISA_AVX512;
    if (c->isa >= CPU_ISA_AVX2 && B % 8 == 0) return CPU_ISA_AVX2;
    return CPU_ISA_GENERIC;
}

/* 64-byte aligned zeroed memory; NULL (after one err_msg line) when out of memory. */
void *cpu_alloc_bytes(size_t bytes);
/* ctx->tmp of at least `bytes` (grows only when a larger shape first appears); NULL on failure. */
void *cpu_tmp(cpu_ctx *c, size_t bytes);
/* ctx->scratch of at least `bytes`: C_OK or C_ERR. */
int cpu_scratch_reserve(cpu_ctx *c, size_t bytes);

/* plain NCHW <-> nChw<W>c conversions (padded lanes written as zeros) */
void cpu_to_blocked(const float *src, float *dst, int N, int C, int HW);
void cpu_from_blocked(const float *src, float *dst, int N, int C, int HW);
/* bytes of t's current (possibly smaller than allocated) batch in its layout */
static inline size_t cpu_used_bytes(const tensor *t)
{
    if (t->layout == CPU_TL_WEIGHTS) return t->bytes;
    size_t n = tensor_numel(t);
    if (cpu_blk(t) > 1) n = n / (size_t)t->shape[1] * cpu_padded_channels(t->shape[1]);
    return n * tensor_elsize(t->dtype);
}

/* Vector kernels (the build has no -march: called only when cpu_isa_for says so). */
#define CPU_AVX512 __attribute__((target("avx512f")))
#define CPU_AVX2 __attribute__((target("avx2,fma")))

/* This thread's share [*lo, *hi) of n elements in a parallel region: ranges of whole 64-byte
 * lines (16 floats), the last thread taking the tail; fixed by n and the thread count. */
static inline void cpu_split(size_t n, size_t *lo, size_t *hi)
{
    size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
    *lo = n / 16 * t / nt * 16;
    *hi = t + 1 == nt ? n : n / 16 * (t + 1) / nt * 16;
}

/* Runs `call` on every thread of a parallel region, with lo, hi its cpu_split share of n. */
#define CPU_SPLIT_RUN(n, lo, hi, call) \
    _Pragma("omp parallel") { size_t lo, hi; cpu_split((n), &lo, &hi); call; }

/* out[i] = y[i] > 0 ? g[i] : 0 (ReLU backward from its output), in parallel; out may be g */
void cpu_mask_pos(const cpu_ctx *c, const float *y, const float *g, float *out, size_t n);

/* Convolution weights in their primitive's layout (cpu_weights.c). cpu_weights_md: t's layout, NULL
 * when plain. cpu_weights_adopt: t takes layout md (its values converted; a no-op when it has it).
 * upload / download: plain host values in and out. forget: t is being freed. */
const dnnl_memory_desc_t *cpu_weights_md(const cpu_ctx *c, const tensor *t);
int cpu_weights_plain_md(const tensor *t, dnnl_memory_desc_t *md);
int cpu_weights_reorder(cpu_ctx *c, const dnnl_memory_desc_t *from, const void *fp, const dnnl_memory_desc_t *to,
                        void *tp);
int cpu_weights_adopt(cpu_ctx *c, tensor *t, const dnnl_memory_desc_t *md);
void cpu_weights_forget(cpu_ctx *c, const tensor *t);
int cpu_weights_upload(cpu_ctx *c, tensor *t, const void *host);
int cpu_weights_download(cpu_ctx *c, const tensor *t, void *host);

/* oneDNN status check: prints `what: status` and returns C_ERR. */
int cpu_dnnl_check(dnnl_status_t st, const char *what);
#define DNNL_TRY(call) do { if (cpu_dnnl_check((call), #call) != C_OK) goto fail; } while (0)
/* A memory object without data (handles are set per call): C_OK or C_ERR. */
int cpu_mem_make(cpu_ctx *c, dnnl_memory_t *m, const dnnl_memory_desc_t *md);
/* Primitive + user scratchpad memory (the context's scratch reserved) from pd, which is destroyed. */
int cpu_prim_make(cpu_ctx *c, dnnl_primitive_desc_t pd, dnnl_primitive_t *p, dnnl_memory_t *scr);

/* Op entry points cpu_<name> (cpu/<op>.c, contracts in ops/<op>.h), wired into the table in
 * cpu_backend.c. */
#define OP_NAME(op)
#define OP_ENTRY(ret, name, params) ret cpu_##name params;
#define OP_DEVICE_ENTRY(ret, name, params)
#include "backend/ops_list.h"

#endif
