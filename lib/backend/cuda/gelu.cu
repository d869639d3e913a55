/* gelu.cu: GELU forward and backward (ops/gelu.h), one grid-stride kernel each: the header's
 * float functions, so the bits are the CPU's. */
#include "backend/cuda/cuda_backend.h"

__global__ void gelu_fwd_kernel(const float *x, float *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = gelu_value(x[i]);
}

__global__ void gelu_bwd_kernel(const float *x, const float *dy, float *dx, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dx[i] = gelu_grad(x[i], dy[i]);
}

int cuda_gelu_fwd(void *ctx, const tensor *x, tensor *y)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t n = tensor_numel(x);
    LAUNCH_RET(c, gelu_fwd_kernel, cuda_blocks(n), CUDA_THREADS, (const float *)x->data, (float *)y->data, n);
    return C_OK;
}

int cuda_gelu_bwd(void *ctx, const tensor *x, const tensor *dy, tensor *dx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t n = tensor_numel(x);
    LAUNCH_RET(c, gelu_bwd_kernel, cuda_blocks(n), CUDA_THREADS, (const float *)x->data, (const float *)dy->data,
               (float *)dx->data, n);
    return C_OK;
}
