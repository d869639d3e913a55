/* elementwise.cu: the small elementwise ops on the GPU (ReLU, add, adaptive max pool 1x1, flatten,
 * dropout, fused SGD). Each mirrors its CPU twin in backend_cpu_ops.c / backend_cpu_linear.c
 * operation for operation (the build passes -fmad=false, so a*b+c rounds twice as on the CPU). */
#include "backend/cuda/cuda_backend.h"
#include "core/philox.h"
extern "C" {
#include "core/rng.h"
}

__global__ void relu_fwd_kernel(const float *x, float *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void relu_bwd_kernel(const float *y, const float *dy, float *dx, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__global__ void add_kernel(float *d, const float *s, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        d[i] += s[i];
}

int cuda_relu_fwd(void *ctx, const tensor *x, tensor *y)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t n = tensor_numel(x);
    LAUNCH_RET(c, relu_fwd_kernel, cuda_blocks(n), CUDA_THREADS, (const float *)x->data, (float *)y->data, n);
    return C_OK;
}

int cuda_relu_bwd(void *ctx, const tensor *y, const tensor *dy, tensor *dx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t n = tensor_numel(y);
    LAUNCH_RET(c, relu_bwd_kernel, cuda_blocks(n), CUDA_THREADS, (const float *)y->data, (const float *)dy->data,
               (float *)dx->data, n);
    return C_OK;
}

int cuda_accumulate(void *ctx, tensor *dst, const tensor *src)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t n = tensor_numel(dst);
    LAUNCH_RET(c, add_kernel, cuda_blocks(n), CUDA_THREADS, (float *)dst->data, (const float *)src->data, n);
    return C_OK;
}

/* One thread per (n, c): first maximum wins, a NaN propagates (PyTorch's adaptive max pool). */
__global__ void maxpool_fwd_kernel(const float *x, float *y, int32_t *idx, size_t NC, int HW)
{
    for (size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x; r < NC; r += (size_t)gridDim.x * blockDim.x) {
        const float *p = x + r * HW;
        float best = p[0];
        int bi = 0;
        for (int i = 1; i < HW; i++)
            if (p[i] > best || best != best) { best = p[i]; bi = i; }
        y[r] = best;
        idx[r] = bi;
    }
}

__global__ void maxpool_bwd_kernel(const int32_t *idx, const float *dy, float *dx, size_t NC, int HW)
{
    for (size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x; r < NC; r += (size_t)gridDim.x * blockDim.x)
        dx[r * HW + idx[r]] = dy[r];
}

int cuda_maxpool_fwd(void *ctx, const tensor *x, tensor *y, tensor *idx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t NC = (size_t)x->shape[0] * x->shape[1];
    int HW = x->shape[2] * x->shape[3];
    LAUNCH_RET(c, maxpool_fwd_kernel, cuda_blocks(NC), CUDA_THREADS, (const float *)x->data, (float *)y->data,
               (int32_t *)idx->data, NC, HW);
    return C_OK;
}

int cuda_maxpool_bwd(void *ctx, const tensor *idx, const tensor *dy, tensor *dx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t NC = (size_t)dx->shape[0] * dx->shape[1];
    int HW = dx->shape[2] * dx->shape[3];
    CU_RET(cudaMemsetAsync(dx->data, 0, tensor_numel(dx) * sizeof(float), c->stream));
    LAUNCH_RET(c, maxpool_bwd_kernel, cuda_blocks(NC), CUDA_THREADS, (const int32_t *)idx->data,
               (const float *)dy->data, (float *)dx->data, NC, HW);
    return C_OK;
}

/* Activations are plain NCHW here, so flatten is a copy (the net aliases it away when it can). */
int cuda_flatten_fwd(void *ctx, const tensor *x, tensor *y)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (y->data != x->data)
        CU_RET(cudaMemcpyAsync(y->data, x->data, tensor_numel(x) * sizeof(float), cudaMemcpyDeviceToDevice, c->stream));
    return C_OK;
}

int cuda_flatten_bwd(void *ctx, const tensor *dy, tensor *dx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (dx->data != dy->data)
        CU_RET(cudaMemcpyAsync(dx->data, dy->data, tensor_numel(dx) * sizeof(float), cudaMemcpyDeviceToDevice, c->stream));
    return C_OK;
}

/* One thread per Philox block of four elements: the mask of op_dropout.h, y = x * mask * scale. */
__global__ void dropout_kernel(const float *x, float *y, size_t n, float p, float scale, uint64_t seed,
                               uint32_t step_v, const uint32_t *step_p, uint32_t salt)
{
    const uint32_t step = step_p ? *step_p : step_v;   /* step_p: a recorded graph's device scalar */
    size_t nb = (n + 3) / 4;
    for (size_t b = blockIdx.x * (size_t)blockDim.x + threadIdx.x; b < nb; b += (size_t)gridDim.x * blockDim.x) {
        uint32_t w[4];
        philox_block(seed, RNG_DROPOUT, step, (salt << 24) | (uint32_t)b, w);
        for (int k = 0; k < 4; k++) {
            size_t i = b * 4 + k;
            if (i < n) y[i] = philox_to_float(w[k]) >= p ? x[i] * scale : 0.0f;
        }
    }
}

int cuda_dropout_fwd(void *ctx, const tensor *x, tensor *y, float p, uint64_t seed, uint32_t step, uint32_t salt, int training)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t n = tensor_numel(x);
    if (!training || p == 0.0f) {
        if (y->data != x->data)
            CU_RET(cudaMemcpyAsync(y->data, x->data, n * sizeof(float), cudaMemcpyDeviceToDevice, c->stream));
        return C_OK;
    }
    float scale = 1.0f / (1.0f - p);
    LAUNCH_RET(c, dropout_kernel, cuda_blocks((n + 3) / 4), CUDA_THREADS, (const float *)x->data, (float *)y->data,
               n, p, scale, seed, step, c->capturing ? c->step_no : (const uint32_t *)NULL, salt);
    return C_OK;
}

int cuda_dropout_bwd(void *ctx, const tensor *dy, tensor *dx, float p, uint64_t seed, uint32_t step, uint32_t salt)
{
    cuda_dropout_fwd(ctx, dy, dx, p, seed, step, salt, 1);
    return C_OK;
}

/* PyTorch SGD: d = g + wd*p; buf = first ? d : momentum*buf + d; p -= lr*buf. */
__global__ void sgd_kernel(float *p, const float *g, float *buf, size_t n, float lr_v, const float *lr_p, float momentum,
                           float wd, int first)
{
    const float lr = lr_p ? *lr_p : lr_v;   /* lr_p: a recorded graph's device scalar */
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float d = g[i] + wd * p[i];
        float b = first ? d : momentum * buf[i] + d;
        buf[i] = b;
        p[i] -= lr * b;
    }
}

int cuda_sgd_step(void *ctx, tensor *param, const tensor *grad, tensor *buf, size_t n, float lr,
                   float momentum, float wd, int first_step)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    LAUNCH_RET(c, sgd_kernel, cuda_blocks(n), CUDA_THREADS, (float *)param->data, (const float *)grad->data,
               (float *)buf->data, n, lr, c->capturing ? c->step_lr : (const float *)NULL, momentum, wd, first_step);
    return C_OK;
}
