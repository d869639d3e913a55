/* logsoftmax.cu: log-softmax over the classes, the batch-mean NLL (kept on the device, read back once
 * per call through a pinned float) and the fused gradient (softmax - onehot) / n: the row maths of
 * ops/logsoftmax.h, as on the CPU. */
#include "backend/cuda/cuda_backend.h"

/* one thread per row (k is the class count, 10 here) */
__global__ void logsoftmax_kernel(const float *x, float *y, int n, int k)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    logsoftmax_row(x + (size_t)i * k, y + (size_t)i * k, k);
}

/* one thread, batch order: the loss is the same bits on every run */
__global__ void nll_kernel(const float *p, const uint8_t *l, int n, int k, float *loss)
{
    if (blockIdx.x || threadIdx.x) return;
    *loss = nll_loss_mean(p, l, n, k);
}

__global__ void logsoftmax_nll_bwd_kernel(const float *p, const uint8_t *l, float *d, int n, int k)
{
    size_t total = (size_t)n * k;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int row = (int)(i / k), j = (int)(i % k);
        d[i] = logsoftmax_nll_grad(p[i], j == l[row], n);
    }
}

int cuda_logsoftmax_fwd(void *ctx, const tensor *x, tensor *y)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int n = x->shape[0], k = (int)(tensor_numel(x) / (size_t)n);
    LAUNCH_RET(c, logsoftmax_kernel, (n + 127) / 128, 128, (const float *)x->data, (float *)y->data, n, k);
    return C_OK;
}

static int nll_loss_wait(cuda_ctx *c, const tensor *logp, const tensor *labels, float *loss)
{
    int n = logp->shape[0], k = logp->shape[1];
    LAUNCH_RET(c, nll_kernel, 1, 32, (const float *)logp->data, (const uint8_t *)labels->data, n, k, c->loss_dev);
    CU_RET(c, cudaMemcpyAsync(c->loss_host, c->loss_dev, sizeof(float), cudaMemcpyDeviceToHost, c->stream));
    CU_RET(c, cudaStreamSynchronize(c->stream));
    *loss = *c->loss_host;
    return C_OK;
}

int cuda_nll_loss(void *ctx, const tensor *logp, const tensor *labels, float *loss)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    return cuda_error_report(c, nll_loss_wait(c, logp, labels, loss));
}

int cuda_nll_loss_queue(void *ctx, const tensor *logp, const tensor *labels)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int n = logp->shape[0], k = logp->shape[1];
    LAUNCH_RET(c, nll_kernel, 1, 32, (const float *)logp->data, (const uint8_t *)labels->data, n, k, c->loss_dev);
    return C_OK;
}

/* Outside any graph: the slot differs from step to step. */
int cuda_loss_stash(void *ctx, int slot)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (slot < 0 || slot >= BACKEND_LOSS_SLOTS) return err_msg("cuda", "loss slot %d outside 0..%d", slot, BACKEND_LOSS_SLOTS - 1);
    CU_RET(c, cudaMemcpyAsync(c->loss_ring + slot, c->loss_dev, sizeof(float), cudaMemcpyDeviceToHost, c->stream));
    CU_RET(c, cudaEventRecord(c->loss_ev[slot], c->stream));
    return C_OK;
}

int cuda_loss_fetch(void *ctx, int slot, float *loss)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (slot < 0 || slot >= BACKEND_LOSS_SLOTS) return err_msg("cuda", "loss slot %d outside 0..%d", slot, BACKEND_LOSS_SLOTS - 1);
    int rc = cuda_check(c, cudaEventSynchronize(c->loss_ev[slot]), "cudaEventSynchronize", __FILE__, __LINE__);
    if (rc == C_OK) *loss = c->loss_ring[slot];
    return cuda_error_report(c, rc);
}

int cuda_logsoftmax_nll_bwd(void *ctx, const tensor *logp, const tensor *labels, tensor *dx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int n = logp->shape[0], k = logp->shape[1];
    LAUNCH_RET(c, logsoftmax_nll_bwd_kernel, cuda_blocks((size_t)n * k), CUDA_THREADS, (const float *)logp->data,
               (const uint8_t *)labels->data, (float *)dx->data, n, k);
    return C_OK;
}

/* ---- label smoothing, sum or mean (ops/logsoftmax.h) ---- */

/* one thread, batch order, like nll_kernel */
__global__ void smooth_nll_kernel(const float *p, const uint8_t *l, int n, int k, float eps, int sum, float *loss)
{
    if (blockIdx.x || threadIdx.x) return;
    *loss = smooth_nll_loss_value(p, l, n, k, eps, sum);
}

__global__ void logsoftmax_smooth_nll_bwd_kernel(const float *p, const uint8_t *l, float *d, int n, int k, float eps,
                                                 int sum)
{
    size_t total = (size_t)n * k;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int row = (int)(i / k), j = (int)(i % k);
        d[i] = logsoftmax_smooth_nll_grad(p[i], j == l[row], k, eps, sum, n);
    }
}

int cuda_smooth_nll_loss_queue(void *ctx, const tensor *logp, const tensor *labels, float eps, int sum)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int n = logp->shape[0], k = logp->shape[1];
    LAUNCH_RET(c, smooth_nll_kernel, 1, 32, (const float *)logp->data, (const uint8_t *)labels->data, n, k, eps, sum,
               c->loss_dev);
    return C_OK;
}

static int smooth_nll_wait(cuda_ctx *c, const tensor *logp, const tensor *labels, float eps, int sum, float *loss)
{
    if (cuda_smooth_nll_loss_queue(c, logp, labels, eps, sum) != C_OK) return C_ERR;
    CU_RET(c, cudaMemcpyAsync(c->loss_host, c->loss_dev, sizeof(float), cudaMemcpyDeviceToHost, c->stream));
    CU_RET(c, cudaStreamSynchronize(c->stream));
    *loss = *c->loss_host;
    return C_OK;
}

int cuda_smooth_nll_loss(void *ctx, const tensor *logp, const tensor *labels, float eps, int sum, float *loss)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    return cuda_error_report(c, smooth_nll_wait(c, logp, labels, eps, sum, loss));
}

int cuda_logsoftmax_smooth_nll_bwd(void *ctx, const tensor *logp, const tensor *labels, float eps, int sum, tensor *dx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int n = logp->shape[0], k = logp->shape[1];
    LAUNCH_RET(c, logsoftmax_smooth_nll_bwd_kernel, cuda_blocks((size_t)n * k), CUDA_THREADS, (const float *)logp->data,
               (const uint8_t *)labels->data, (float *)dx->data, n, k, eps, sum);
    return C_OK;
}
