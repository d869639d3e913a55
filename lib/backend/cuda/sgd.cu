/* sgd.cu: the fused SGD step (ops/sgd.h); a recorded graph reads lr from the device scalar. */
#include "backend/cuda/cuda_backend.h"

/* PyTorch SGD, sgd_update of ops/sgd.h per element. */
__global__ void sgd_kernel(float *p, const float *g, float *buf, size_t n, float lr_v, const float *lr_p, float momentum,
                           float wd, int first)
{
    const float lr = lr_p ? *lr_p : lr_v;   /* lr_p: a recorded graph's device scalar */
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        sgd_update(&p[i], g[i], &buf[i], lr, momentum, wd, first);
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
