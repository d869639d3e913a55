/* dropout.cu: inverted dropout with the Philox mask of ops/dropout.h, the same draws as the CPU. */
#include "backend/cuda/cuda_backend.h"

/* One thread per Philox block of four elements: the mask of ops/dropout.h, y = x * mask * scale. */
__global__ void dropout_kernel(const float *x, float *y, size_t n, float p, float scale, uint64_t seed,
                               uint32_t step_v, const uint32_t *step_p, uint32_t salt)
{
    const uint32_t step = step_p ? *step_p : step_v;   /* step_p: a recorded graph's device scalar */
    size_t nb = (n + 3) / 4;
    for (size_t b = blockIdx.x * (size_t)blockDim.x + threadIdx.x; b < nb; b += (size_t)gridDim.x * blockDim.x) {
        uint32_t w[4];
        dropout_block(seed, step, salt, b, w);
        for (int k = 0; k < 4; k++) {
            size_t i = b * 4 + k;
            if (i < n) y[i] = dropout_value(x[i], w[k], p, scale);
        }
    }
}

int cuda_dropout_fwd(void *ctx, const tensor *x, tensor *y, float p, uint64_t seed, uint32_t step, uint32_t salt, int training)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t n = tensor_numel(x);
    if (!training || p == 0.0f) {
        if (y->data != x->data)
            CU_RET(c, cudaMemcpyAsync(y->data, x->data, n * sizeof(float), cudaMemcpyDeviceToDevice, c->stream));
        return C_OK;
    }
    float scale = dropout_scale(p);
    LAUNCH_RET(c, dropout_kernel, cuda_blocks((n + 3) / 4), CUDA_THREADS, (const float *)x->data, (float *)y->data,
               n, p, scale, seed, step, c->capturing ? c->step_no : (const uint32_t *)NULL, salt);
    return C_OK;
}

int cuda_dropout_bwd(void *ctx, const tensor *dy, tensor *dx, float p, uint64_t seed, uint32_t step, uint32_t salt)
{
    return cuda_dropout_fwd(ctx, dy, dx, p, seed, step, salt, 1);
}
