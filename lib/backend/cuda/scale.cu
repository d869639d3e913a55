/* scale.cu: y = s * x (ops/scale.h), one grid-stride kernel. */
#include "backend/cuda/cuda_backend.h"

__global__ void scale_kernel(const float *x, float *y, float s, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = scale_value(x[i], s);
}

int cuda_scale(void *ctx, const tensor *x, tensor *y, float s)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t n = tensor_numel(x);
    LAUNCH_RET(c, scale_kernel, cuda_blocks(n), CUDA_THREADS, (const float *)x->data, (float *)y->data, s, n);
    return C_OK;
}
