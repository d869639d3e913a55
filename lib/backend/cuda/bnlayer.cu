/* bnlayer.cu: the notebook's BnLayer on the GPU, the same maths as cpu/bnlayer.c:
 * r = relu(c); training: mean and unbiased std (no eps) of r per channel over N*H*W, sums in
 * double; y = r * (m/std) + (a - mean * m/std) (+ skip). Backward through the batch statistics:
 * da = sum dy, dm = sum dy * xhat, dc = c > 0 ? k * (dy - da/M - xhat * dm/(M-1)) : 0 with
 * k = m/std. Per-channel sums use the deterministic two-pass reduction of cuda_backend.h.
 *
 * Scratch (ctx->red): [C*P double2 partials][7*C floats: scale shift mu inv k ga gm]. */
#include "backend/cuda/cuda_backend.h"

struct relu_sq {
    const float *x;
    __device__ double2 operator()(size_t i, int) const
    {
        double v = x[i] > 0.0f ? x[i] : 0.0f;
        return make_double2(v, v * v);
    }
};

/* training: channel statistics from the partials; then scale/shift for the normalisation */
__global__ void bn_stats_kernel(const double2 *part, int P, int C, double M, int training, float *mu, float *sd,
                                const float *a, const float *m, float *scale, float *shift)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    if (training) {
        double2 t = chan_total(part, c, P);
        bnlayer_stats(t.x, t.y, M, &mu[c], &sd[c]);
    }
    bnlayer_scale_shift(a[c], m[c], mu[c], sd[c], &scale[c], &shift[c]);
}

__global__ void bn_norm_kernel(const float *x, const float *skip, float *y, const float *scale, const float *shift,
                               size_t total, int C, int HW)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)((i / HW) % C);
        float v = x[i] > 0.0f ? x[i] : 0.0f;
        float r = v * scale[c] + shift[c];
        y[i] = skip ? r + skip[i] : r;
    }
}

/* The shape of conv output ct, its channel partials (P per channel) and 7 floats per channel
 * after them, in the context's reduction buffer; C_ERR when it cannot grow. */
typedef struct bn_work { int N, C, HW, P; double2 *part; float *f; } bn_work;

static int bn_work_of(cuda_ctx *c, const tensor *ct, bn_work *w)
{
    w->N = ct->shape[0]; w->C = ct->shape[1]; w->HW = ct->shape[2] * ct->shape[3];
    w->P = chan_parts(w->N, w->C, w->HW);
    size_t pbytes = (size_t)w->C * w->P * sizeof(double2);
    if (cuda_red_reserve(c, pbytes + 7 * (size_t)w->C * sizeof(float))) return C_ERR;
    w->part = (double2 *)c->red;
    w->f = (float *)((char *)c->red + pbytes);
    return C_OK;
}

int cuda_bnlayer_fwd(void *ctx, const tensor *ct, const tensor *a, const tensor *m, tensor *means, tensor *stds,
                 const tensor *skip, tensor *y, int training)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    bn_work w;
    if (bn_work_of(c, ct, &w)) return C_ERR;
    int N = w.N, C = w.C, HW = w.HW, P = w.P;
    double2 *part = w.part;
    float *scale = w.f, *shift = scale + C;
    if (training) {
        relu_sq f = { (const float *)ct->data };
        LAUNCH_RET(c, chan_partial_kernel<relu_sq>, dim3(C, P), CUDA_THREADS, f, N, C, HW, P, part);
    }
    LAUNCH_RET(c, bn_stats_kernel, (C + 127) / 128, 128, part, P, C, (double)N * HW, training, (float *)means->data,
               (float *)stds->data, (const float *)a->data, (const float *)m->data, scale, shift);
    size_t total = tensor_numel(ct);
    LAUNCH_RET(c, bn_norm_kernel, cuda_blocks(total), CUDA_THREADS, (const float *)ct->data,
               skip ? (const float *)skip->data : (const float *)NULL, (float *)y->data, scale, shift, total, C, HW);
    return C_OK;
}

__global__ void bn_prep_kernel(const float *means, const float *stds, float *mu, float *inv, int C)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    mu[c] = means[c];
    inv[c] = 1.0f / stds[c];
}

/* (dy, dy * xhat) with xhat = (relu(c) - mu) * inv, as the CPU computes it in float */
struct bn_grad_sq {
    const float *x, *g, *mu, *inv;
    __device__ double2 operator()(size_t i, int c) const
    {
        float v = x[i] > 0.0f ? x[i] : 0.0f;
        float xh = (v - mu[c]) * inv[c], d = g[i];
        return make_double2((double)d, (double)(d * xh));
    }
};

__global__ void bn_grad_final_kernel(const double2 *part, int P, int C, double M, const float *m, const float *inv,
                                     float *da, float *dm, float *k, float *ga, float *gm)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double2 t = chan_total(part, c, P);
    da[c] = (float)t.x;
    dm[c] = (float)t.y;
    k[c] = m[c] * inv[c];
    ga[c] = (float)(t.x / M);
    gm[c] = (float)(t.y / (M - 1));
}

__global__ void bn_grad_kernel(const float *x, const float *g, float *dc, const float *mu, const float *inv,
                               const float *k, const float *ga, const float *gm, size_t total, int C, int HW)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)((i / HW) % C);
        float v = x[i];
        float xh = (v > 0.0f ? v - mu[c] : -mu[c]) * inv[c];
        float r = k[c] * (g[i] - ga[c] - xh * gm[c]);
        dc[i] = v > 0.0f ? r : 0.0f;
    }
}

int cuda_bnlayer_bwd(void *ctx, const tensor *ct, const tensor *m, const tensor *means, const tensor *stds,
                 const tensor *dy, tensor *dc, tensor *da, tensor *dm)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    bn_work w;
    if (bn_work_of(c, ct, &w)) return C_ERR;
    int N = w.N, C = w.C, HW = w.HW, P = w.P;
    double2 *part = w.part;
    float *mu = w.f + 2 * C, *inv = mu + C, *k = inv + C, *ga = k + C, *gm = ga + C;
    LAUNCH_RET(c, bn_prep_kernel, (C + 127) / 128, 128, (const float *)means->data, (const float *)stds->data, mu, inv, C);
    bn_grad_sq f = { (const float *)ct->data, (const float *)dy->data, mu, inv };
    LAUNCH_RET(c, chan_partial_kernel<bn_grad_sq>, dim3(C, P), CUDA_THREADS, f, N, C, HW, P, part);
    LAUNCH_RET(c, bn_grad_final_kernel, (C + 127) / 128, 128, part, P, C, (double)N * HW, (const float *)m->data, inv,
               (float *)da->data, (float *)dm->data, k, ga, gm);
    size_t total = tensor_numel(ct);
    LAUNCH_RET(c, bn_grad_kernel, cuda_blocks(total), CUDA_THREADS, (const float *)ct->data, (const float *)dy->data,
               (float *)dc->data, mu, inv, k, ga, gm, total, C, HW);
    return C_OK;
}
