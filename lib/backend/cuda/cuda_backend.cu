/* cuda_backend.cu: the CUDA backend's context, checks, memory ops and function table, and the
 * module's entry point (backend/cuda_module.h): probe, init, and err_msg for the module's code. */
#include "backend/cuda/cuda_backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the module's err_msg: formats the line and hands it to the host (set by the entry) ---- */

static int stderr_msg(const char *where, const char *text)
{
    fprintf(stderr, "cifar-cuda: %s%s%s\n", where ? where : "", where ? ": " : "", text);
    return C_ERR;
}

static cuda_host_msg_fn host_msg = stderr_msg;

extern "C" int err_msg(const char *where, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    host_msg(where, buf);
    return C_ERR;
}

static void record(cuda_ctx *c, const char *call, const char *file, int line)
{
    if (!c || c->err_call) return;
    c->err_call = call;
    c->err_file = file;
    c->err_line = line;
}

int cuda_check(cuda_ctx *c, cudaError_t e, const char *call, const char *file, int line)
{
    if (e == cudaSuccess) return C_OK;
    record(c, call, file, line);
    return err_msg("cuda", "%s:%d: %s failed: %s (%s)", file, line, call, cudaGetErrorString(e), cudaGetErrorName(e));
}

int cudnn_check(cuda_ctx *c, cudnnStatus_t s, const char *call, const char *file, int line)
{
    if (s == CUDNN_STATUS_SUCCESS) return C_OK;
    record(c, call, file, line);
    return err_msg("cudnn", "%s:%d: %s failed: %s", file, line, call, cudnnGetErrorString(s));
}

int cublas_check(cuda_ctx *c, cublasStatus_t s, const char *call, const char *file, int line)
{
    if (s == CUBLAS_STATUS_SUCCESS) return C_OK;
    record(c, call, file, line);
    return err_msg("cublas", "%s:%d: %s failed: %s (%d)", file, line, call, cublasGetStatusString(s), (int)s);
}

int cuda_error_report(cuda_ctx *c, int rc)
{
    if (!c->err_call) return rc;
    if (rc == C_OK)
        err_msg("cuda", "an earlier call failed: %s (%s:%d)", c->err_call, c->err_file, c->err_line);
    c->err_call = c->err_file = NULL;
    c->err_line = 0;
    return C_ERR;
}

int cuda_reserve(cuda_ctx *c, void **buf, size_t *size, size_t bytes)
{
    if (bytes <= *size) return C_OK;
    if (c->capturing)
        return err_msg("cuda", "a scratch buffer must grow to %zu bytes while recording a graph", bytes);
    c->buf_gen++;
    if (*buf) {
        CU_RET(c, cudaStreamSynchronize(c->stream));
        CU_RET(c, cudaFree(*buf));
        *buf = NULL;
        *size = 0;
    }
    CU_RET(c, cudaMalloc(buf, bytes));
    *size = bytes;
    return C_OK;
}

/* ---- memory ---- */

static size_t used_bytes(const tensor *t) { return tensor_numel(t) * tensor_elsize(t->dtype); }

static int cuda_alloc(void *ctx, tensor *t, tensor_dtype dt, int ndim, const int *shape, tensor_layout layout)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    (void)layout;  /* TL_ACT is plain NCHW here */
    if (ndim < 1 || ndim > TENSOR_MAX_DIMS) return err_msg("cuda", "tensor rank %d unsupported", ndim);
    tensor_header(t, dt, ndim, shape, DEV_CUDA, TL_PLAIN);
    t->bytes = tensor_numel(t) * tensor_elsize(dt);
    size_t sz = t->bytes ? t->bytes : 4;
    CU_RET(c, cudaMalloc(&t->data, sz));
    if (cuda_check(c, cudaMemsetAsync(t->data, 0, sz, c->stream), "cudaMemsetAsync", __FILE__, __LINE__)) {
        cudaFree(t->data);
        t->data = NULL;
        return C_ERR;
    }
    return C_OK;
}

/* A failed cudaFree is recorded for the next synchronising call (this entry returns nothing). */
static void cuda_free_tensor(void *ctx, tensor *t)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (!t->view && t->data) cuda_check(c, cudaFree(t->data), "cudaFree", __FILE__, __LINE__);
    memset(t, 0, sizeof *t);
}

static int cuda_upload(void *ctx, tensor *dst, const void *host)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    /* From pageable memory the call returns once the host bytes are staged: host may be reused. */
    CU_RET(c, cudaMemcpyAsync(dst->data, host, used_bytes(dst), cudaMemcpyHostToDevice, c->stream));
    return C_OK;
}

static int download_wait(cuda_ctx *c, const tensor *src, void *host)
{
    CU_RET(c, cudaMemcpyAsync(host, src->data, used_bytes(src), cudaMemcpyDeviceToHost, c->stream));
    CU_RET(c, cudaStreamSynchronize(c->stream));
    return C_OK;
}

static int cuda_download(void *ctx, const tensor *src, void *host)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    return cuda_error_report(c, download_wait(c, src, host));
}

static int cuda_copy(void *ctx, tensor *dst, const tensor *src)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (dst->data != src->data)
        CU_RET(c, cudaMemcpyAsync(dst->data, src->data, used_bytes(src), cudaMemcpyDeviceToDevice, c->stream));
    return C_OK;
}

static int cuda_zero(void *ctx, tensor *t)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    CU_RET(c, cudaMemsetAsync(t->data, 0, used_bytes(t), c->stream));
    return C_OK;
}

static int cuda_sync(void *ctx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    return cuda_error_report(c, cuda_check(c, cudaStreamSynchronize(c->stream), "cudaStreamSynchronize", __FILE__, __LINE__));
}

static void cuda_free(void *ctx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (!c) return;
    /* Teardown: report failures but keep releasing. */
    if (c->stream) cuda_check(c, cudaStreamSynchronize(c->stream), "cudaStreamSynchronize", __FILE__, __LINE__);
    if (c->ws) cuda_check(c, cudaFree(c->ws), "cudaFree(ws)", __FILE__, __LINE__);
    if (c->red) cuda_check(c, cudaFree(c->red), "cudaFree(red)", __FILE__, __LINE__);
    if (c->mask) cuda_check(c, cudaFree(c->mask), "cudaFree(mask)", __FILE__, __LINE__);
    if (c->loss_dev) cuda_check(c, cudaFree(c->loss_dev), "cudaFree(loss)", __FILE__, __LINE__);
    if (c->loss_host) cuda_check(c, cudaFreeHost(c->loss_host), "cudaFreeHost", __FILE__, __LINE__);
    if (c->loss_ring) cuda_check(c, cudaFreeHost(c->loss_ring), "cudaFreeHost(ring)", __FILE__, __LINE__);
    for (int i = 0; i < BACKEND_LOSS_SLOTS; i++)
        if (c->loss_ev[i]) cuda_check(c, cudaEventDestroy(c->loss_ev[i]), "cudaEventDestroy", __FILE__, __LINE__);
    if (c->step_lr) cuda_check(c, cudaFree(c->step_lr), "cudaFree(step)", __FILE__, __LINE__);
    if (c->blas) cublas_check(c, cublasDestroy(c->blas), "cublasDestroy", __FILE__, __LINE__);
    if (c->blas_ws) cuda_check(c, cudaFree(c->blas_ws), "cudaFree(blas_ws)", __FILE__, __LINE__);
    if (c->dnn) cudnn_check(c, cudnnDestroy(c->dnn), "cudnnDestroy", __FILE__, __LINE__);
    if (c->stream) cuda_check(c, cudaStreamDestroy(c->stream), "cudaStreamDestroy", __FILE__, __LINE__);
    free(c->algos);
    free(c);
}

/* ---- graphs ---- */

typedef struct cuda_graph {
    cudaGraphExec_t exec;
    unsigned long gen;      /* buf_gen at capture */
} cuda_graph;

static int cuda_graph_begin(void *ctx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    /* thread-local: the loader threads never touch CUDA, and other threads' calls stay legal */
    CU_RET(c, cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal));
    c->capturing = 1;
    return C_OK;
}

static void cuda_graph_free(void *ctx, void *graph);

static int graph_end(cuda_ctx *c, void **out)
{
    cudaGraph_t g = NULL;
    *out = NULL;
    cudaError_t e = cudaStreamEndCapture(c->stream, &g);
    c->capturing = 0;
    if (cuda_check(c, e, "cudaStreamEndCapture", __FILE__, __LINE__)) {
        if (g) cudaGraphDestroy(g);
        (void)cudaGetLastError();
        return C_ERR;
    }
    cudaGraphExec_t ex;
    e = cudaGraphInstantiate(&ex, g, 0);
    cudaGraphDestroy(g);
    if (cuda_check(c, e, "cudaGraphInstantiate", __FILE__, __LINE__)) return C_ERR;
    cuda_graph *cg = (cuda_graph *)calloc(1, sizeof *cg);
    if (!cg) {
        cuda_check(c, cudaGraphExecDestroy(ex), "cudaGraphExecDestroy", __FILE__, __LINE__);
        return err_msg("cuda", "out of memory");
    }
    cg->exec = ex;
    cg->gen = c->buf_gen;
    *out = cg;
    return C_OK;
}

/* A failure recorded during the capture (or before it) makes the recording unusable. */
static int cuda_graph_end(void *ctx, void **out)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int rc = cuda_error_report(c, graph_end(c, out));
    if (rc != C_OK && *out) {
        cuda_graph_free(c, *out);
        *out = NULL;
    }
    return rc;
}

static int cuda_graph_launch(void *ctx, void *graph)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    cuda_graph *cg = (cuda_graph *)graph;
    if (cg->gen != c->buf_gen) return 1;
    CU_RET(c, cudaGraphLaunch(cg->exec, c->stream));
    return C_OK;
}

static void cuda_graph_free(void *ctx, void *graph)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    cuda_graph *cg = (cuda_graph *)graph;
    if (!cg) return;
    cuda_check(c, cudaGraphExecDestroy(cg->exec), "cudaGraphExecDestroy", __FILE__, __LINE__);
    free(cg);
}

__global__ void set_scalars_kernel(float *lr_dev, uint32_t *step_dev, float lr, uint32_t step)
{
    *lr_dev = lr;
    *step_dev = step;
}

/* A kernel rather than a copy: its arguments are taken at launch, so no host buffer has to stay
 * unchanged until the stream reaches it. */
static int cuda_set_step_scalars(void *ctx, float lr, uint32_t step)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    LAUNCH_RET(c, set_scalars_kernel, 1, 1, c->step_lr, c->step_no, lr, step);
    return C_OK;
}

static const backend_iface cuda_iface = {
    .name = "cuda",
    BACKEND_MEMORY_ENTRIES(cuda),
#define OP_NAME(op)
#define OP_ENTRY(ret, name, params) .name = cuda_##name,
#define OP_DEVICE_ENTRY OP_ENTRY
#include "backend/ops_list.h"
    .nll_loss_queue = cuda_nll_loss_queue,
    .smooth_nll_loss_queue = cuda_smooth_nll_loss_queue,
    .loss_stash = cuda_loss_stash,
    .loss_fetch = cuda_loss_fetch,
    .graph_begin = cuda_graph_begin,
    .graph_end = cuda_graph_end,
    .graph_launch = cuda_graph_launch,
    .graph_free = cuda_graph_free,
    .set_step_scalars = cuda_set_step_scalars,
};

int cuda_backend_init(backend *be, int device, int deterministic, int allow_tf32)
{
    int count = 0;
    if (cuda_check(NULL, cudaGetDeviceCount(&count), "cudaGetDeviceCount", __FILE__, __LINE__)) {
        (void)cudaGetLastError();
        return C_ERR;
    }
    if (count < 1) return err_msg("cuda", "no CUDA device is visible");
    if (device < 0 || device >= count) return err_msg("cuda", "device %d requested but %d visible", device, count);
    cuda_ctx *c = (cuda_ctx *)calloc(1, sizeof *c);
    if (!c) return err_msg("cuda", "out of memory");
    c->device = device;
    c->deterministic = deterministic;
    c->tf32 = allow_tf32;
    cudaDeviceProp prop;
    if (cuda_check(c, cudaSetDevice(device), "cudaSetDevice", __FILE__, __LINE__) ||
        cuda_check(c, cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties", __FILE__, __LINE__) ||
        cuda_check(c, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags", __FILE__, __LINE__) ||
        cudnn_check(c, cudnnCreate(&c->dnn), "cudnnCreate", __FILE__, __LINE__) ||
        cudnn_check(c, cudnnSetStream(c->dnn, c->stream), "cudnnSetStream", __FILE__, __LINE__) ||
        cublas_check(c, cublasCreate(&c->blas), "cublasCreate", __FILE__, __LINE__) ||
        cublas_check(c, cublasSetStream(c->blas, c->stream), "cublasSetStream", __FILE__, __LINE__) ||
        /* full FP32 GEMMs (PyTorch's default for matmul); no atomics, so results repeat exactly */
        cublas_check(c, cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode", __FILE__, __LINE__) ||
        cublas_check(c, cublasSetAtomicsMode(c->blas, CUBLAS_ATOMICS_NOT_ALLOWED), "cublasSetAtomicsMode", __FILE__, __LINE__) ||
        cuda_check(c, cudaMalloc(&c->loss_dev, sizeof(float)), "cudaMalloc(loss)", __FILE__, __LINE__) ||
        cuda_check(c, cudaMallocHost(&c->loss_host, sizeof(float)), "cudaMallocHost(loss)", __FILE__, __LINE__) ||
        cuda_check(c, cudaMallocHost(&c->loss_ring, BACKEND_LOSS_SLOTS * sizeof(float)), "cudaMallocHost(ring)", __FILE__, __LINE__) ||
        cuda_check(c, cudaMalloc(&c->step_lr, 2 * sizeof(float)), "cudaMalloc(step)", __FILE__, __LINE__) ||
        /* 32 MiB: NVIDIA's suggestion for Hopper; a workspace of our own keeps captures allocation-free */
        cuda_check(c, cudaMalloc(&c->blas_ws, (size_t)32 << 20), "cudaMalloc(blas_ws)", __FILE__, __LINE__) ||
        cublas_check(c, cublasSetWorkspace(c->blas, c->blas_ws, (size_t)32 << 20), "cublasSetWorkspace", __FILE__, __LINE__)) {
        cuda_free(c);
        return C_ERR;
    }
    c->step_no = (uint32_t *)(c->step_lr + 1);
    for (int i = 0; i < BACKEND_LOSS_SLOTS; i++)
        if (cuda_check(c, cudaEventCreateWithFlags(&c->loss_ev[i], cudaEventDisableTiming), "cudaEventCreateWithFlags", __FILE__, __LINE__)) {
            cuda_free(c);
            return C_ERR;
        }
    snprintf(c->name, sizeof c->name, "%s", prop.name);
    be->iface = &cuda_iface;
    be->ctx = c;
    return C_OK;
}

/* ---- probe and entry ---- */

static void probe_error(cuda_probe *p, const char *call, cudaError_t e)
{
    snprintf(p->error, sizeof p->error, "%s: %s (%s)", call, cudaGetErrorName(e), cudaGetErrorString(e));
}

static void cuda_probe_run(cuda_probe *p)
{
    memset(p, 0, sizeof *p);
    /* the driver version is 0 (and the call succeeds) when no driver is installed */
    if (cudaDriverGetVersion(&p->driver) != cudaSuccess) p->driver = -1;
    if (cudaRuntimeGetVersion(&p->runtime) != cudaSuccess) p->runtime = -1;
    p->cudnn = cudnnGetVersion();
    int ma = 0, mi = 0, pa = 0;
    if (cublasGetProperty(MAJOR_VERSION, &ma) == CUBLAS_STATUS_SUCCESS && cublasGetProperty(MINOR_VERSION, &mi) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(PATCH_LEVEL, &pa) == CUBLAS_STATUS_SUCCESS)
        p->cublas = ma * 10000 + mi * 100 + pa;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    (void)cudaGetLastError();
    if (e != cudaSuccess) {
        probe_error(p, "cudaGetDeviceCount", e);
        /* no driver (the runtime then says "insufficient driver", or finds the toolkit's stub
         * libcuda), or a driver without devices: no GPU. Anything else is a fault to report. */
        int no_driver = p->driver == 0 && (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice);
        p->status = no_driver || e == cudaErrorNoDevice || e == cudaErrorStubLibrary ? CUDA_PROBE_NO_GPU : CUDA_PROBE_ERROR;
        if (no_driver) snprintf(p->error, sizeof p->error, "no NVIDIA driver is installed (libcuda.so.1 not found)");
        return;
    }
    if (n < 1) {
        p->status = CUDA_PROBE_NO_GPU;
        snprintf(p->error, sizeof p->error, "the driver sees no device");
        return;
    }
    p->devices = n;
    cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, 0);
    (void)cudaGetLastError();
    if (e != cudaSuccess) {
        p->status = CUDA_PROBE_ERROR;
        probe_error(p, "cudaGetDeviceProperties(0)", e);
        return;
    }
    snprintf(p->device, sizeof p->device, "%.200s (sm_%d%d)", prop.name, prop.major, prop.minor);
    p->status = CUDA_PROBE_OK;
}

static const char *cuda_module_device_name(const backend *be)
{
    if (!be->iface || strcmp(be->iface->name, "cuda")) return "";
    return ((const cuda_ctx *)be->ctx)->name;
}

static const cuda_module module_table = {
    CUDA_MODULE_ABI,
    sizeof(backend_iface),
    sizeof(tensor),
    cuda_probe_run,
    cuda_backend_init,
    cuda_module_device_name,
};

extern "C" __attribute__((visibility("default"))) const cuda_module *cifar_cuda_module(int abi, cuda_host_msg_fn msg)
{
    if (abi != CUDA_MODULE_ABI) return NULL;
    if (msg) host_msg = msg;
    return &module_table;
}
