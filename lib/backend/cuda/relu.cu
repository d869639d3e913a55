/* relu.cu: ReLU forward and backward (ops/relu.h), one grid-stride kernel each. */
#include "backend/cuda/cuda_backend.h"

__global__ void relu_fwd_kernel(const float *x, float *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = relu_value(x[i]);
}

__global__ void relu_bwd_kernel(const float *y, const float *dy, float *dx, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dx[i] = relu_grad(y[i], dy[i]);
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
