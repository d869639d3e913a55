/* maxpool.cu: adaptive max pool to 1x1 and MaxPool2d(k) (stride k, floor), with their backwards
 * (ops/maxpool.h). */
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

/* MaxPool2d: one thread per output element (n, c, oy, ox); the window scan of ops/maxpool.h. The
 * backward scans the window of x again and stores dy at the arg max (dx cleared first: floor mode
 * leaves positions outside every window). */
__device__ __forceinline__ int pool2d_argmax(const float *xc, int W, int oy, int ox, int k, float *best_out)
{
    float best = xc[(size_t)(oy * k) * W + ox * k];
    int bi = 0;
    for (int j = 1; j < k * k; j++) {
        float v = xc[(size_t)(oy * k + j / k) * W + ox * k + j % k];
        if (maxpool_takes(v, best)) { best = v; bi = j; }
    }
    *best_out = best;
    return bi;
}

__global__ void maxpool2d_kernel(const float *x, float *y, const float *dy, float *dx, size_t total, int H, int W,
                                 int OH, int OW, int k)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        size_t nc = i / ((size_t)OH * OW);
        int r = (int)(i % ((size_t)OH * OW)), oy = r / OW, ox = r % OW;
        const float *xc = x + nc * H * W;
        float best;
        int bi = pool2d_argmax(xc, W, oy, ox, k, &best);
        if (y) y[i] = best;
        else dx[nc * H * W + (size_t)(oy * k + bi / k) * W + ox * k + bi % k] = dy[i];
    }
}

static int pool2d_shape(const tensor *x, int k, int *OH, int *OW)
{
    *OH = maxpool2d_out_size(x->shape[2], k);
    *OW = maxpool2d_out_size(x->shape[3], k);
    if (k < 1 || *OH < 1 || *OW < 1) return err_msg("maxpool2d", "kernel %d does not fit %dx%d", k, x->shape[2], x->shape[3]);
    return C_OK;
}

int cuda_maxpool2d_fwd(void *ctx, const tensor *x, tensor *y, int k)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int OH, OW;
    if (pool2d_shape(x, k, &OH, &OW)) return C_ERR;
    size_t total = (size_t)x->shape[0] * x->shape[1] * OH * OW;
    LAUNCH_RET(c, maxpool2d_kernel, cuda_blocks(total), CUDA_THREADS, (const float *)x->data, (float *)y->data,
               (const float *)NULL, (float *)NULL, total, x->shape[2], x->shape[3], OH, OW, k);
    return C_OK;
}

int cuda_maxpool2d_bwd(void *ctx, const tensor *x, const tensor *dy, tensor *dx, int k)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int OH, OW;
    if (pool2d_shape(x, k, &OH, &OW)) return C_ERR;
    size_t total = (size_t)x->shape[0] * x->shape[1] * OH * OW;
    CU_RET(c, cudaMemsetAsync(dx->data, 0, tensor_numel(dx) * sizeof(float), c->stream));
    LAUNCH_RET(c, maxpool2d_kernel, cuda_blocks(total), CUDA_THREADS, (const float *)x->data, (float *)NULL,
               (const float *)dy->data, (float *)dx->data, total, x->shape[2], x->shape[3], OH, OW, k);
    return C_OK;
}
