/* sgd.cu: the optimiser ops (ops/sgd.h): the fused SGD step, plain or Nesterov, with a per-group
 * lr multiplier (a recorded graph reads lr from the device scalar and scales it the same way),
 * and the lookahead step. */
#include "backend/cuda/cuda_backend.h"

/* PyTorch SGD, sgd_update / sgd_nesterov_update of ops/sgd.h per element. */
__global__ void sgd_kernel(float *p, const float *g, float *buf, size_t n, float lr_v, const float *lr_p, float lr_scale,
                           float momentum, float wd, int nesterov, int first)
{
    const float lr = (lr_p ? *lr_p : lr_v) * lr_scale;   /* lr_p: a recorded graph's device scalar */
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        if (nesterov) sgd_nesterov_update(&p[i], g[i], &buf[i], lr, momentum, wd, first);
        else sgd_update(&p[i], g[i], &buf[i], lr, momentum, wd, first);
    }
}

int cuda_sgd_group_step(void *ctx, tensor *param, const tensor *grad, tensor *buf, size_t n, float lr, float lr_scale,
                        float momentum, float wd, int nesterov, int first_step)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    LAUNCH_RET(c, sgd_kernel, cuda_blocks(n), CUDA_THREADS, (float *)param->data, (const float *)grad->data,
               (float *)buf->data, n, lr, c->capturing ? c->step_lr : (const float *)NULL, lr_scale, momentum, wd,
               nesterov, first_step);
    return C_OK;
}

int cuda_sgd_step(void *ctx, tensor *param, const tensor *grad, tensor *buf, size_t n, float lr,
                   float momentum, float wd, int first_step)
{
    return cuda_sgd_group_step(ctx, param, grad, buf, n, lr, 1.0f, momentum, wd, 0, first_step);
}

__global__ void lookahead_kernel(float *e, float *p, size_t n, float weight, int init)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = init ? p[i] : lookahead_lerp(e[i], p[i], weight);
        e[i] = v;
        p[i] = v;
    }
}

int cuda_lookahead_step(void *ctx, tensor *ema, tensor *param, size_t n, float weight, int init)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    LAUNCH_RET(c, lookahead_kernel, cuda_blocks(n), CUDA_THREADS, (float *)ema->data, (float *)param->data, n, weight,
               init);
    return C_OK;
}
