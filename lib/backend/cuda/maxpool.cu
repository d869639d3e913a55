/* maxpool.cu: adaptive max pool to 1x1 and its backward (ops/maxpool.h). */
#include "backend/cuda/cuda_backend.h"

/* One thread per (n, c): first maximum wins, a NaN propagates (PyTorch's adaptive max pool). */
__global__ void maxpool_fwd_kernel(const float *x, float *y, int32_t *idx, size_t NC, int HW)
{
    for (size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x; r < NC; r += (size_t)gridDim.x * blockDim.x) {
        const float *p = x + r * HW;
        float best = p[0];
        int bi = 0;
        for (int i = 1; i < HW; i++)
            if (maxpool_takes(p[i], best)) { best = p[i]; bi = i; }
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
    CU_RET(c, cudaMemsetAsync(dx->data, 0, tensor_numel(dx) * sizeof(float), c->stream));
    LAUNCH_RET(c, maxpool_bwd_kernel, cuda_blocks(NC), CUDA_THREADS, (const int32_t *)idx->data,
               (const float *)dy->data, (float *)dx->data, NC, HW);
    return C_OK;
}
