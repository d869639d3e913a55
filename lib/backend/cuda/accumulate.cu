/* accumulate.cu: dst += src (ops/accumulate.h). */
#include "backend/cuda/cuda_backend.h"

__global__ void add_kernel(float *d, const float *s, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        d[i] += s[i];
}

int cuda_accumulate(void *ctx, tensor *dst, const tensor *src)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t n = tensor_numel(dst);
    LAUNCH_RET(c, add_kernel, cuda_blocks(n), CUDA_THREADS, (float *)dst->data, (const float *)src->data, n);
    return C_OK;
}
