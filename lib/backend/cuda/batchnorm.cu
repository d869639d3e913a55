/* batchnorm.cu: PyTorch's BatchNorm2d (ops/batchnorm.h) on the GPU, the same maths as
 * cpu/batchnorm.c: shifted per-channel sums in double (the deterministic two-pass reduction of
 * cuda_backend.h), the statistics, running update and scale/shift per channel in one small
 * kernel, then one elementwise pass. Backward: sums of dy and dy * (x - mean), the coefficients
 * ka, kc, k0 per channel, and dx = ka dy + kc x + k0.
 *
 * Scratch (ctx->red): [C*P double2 partials][3*C floats: scale shift - or ka kc k0]. */
#include "backend/cuda/cuda_backend.h"

/* (x - K, (x - K)^2) with K the channel's first value x[0, c, 0, 0] */
struct shifted_sq {
    const float *x;
    int HW;
    __device__ double2 operator()(size_t i, int c) const
    {
        double d = (double)x[i] - (double)x[(size_t)c * HW];
        return make_double2(d, d * d);
    }
};

/* (dy, dy * (x - mean)) */
struct grad_sq {
    const float *x, *g, *mean;
    __device__ double2 operator()(size_t i, int c) const
    {
        double d = (double)x[i] - (double)mean[c];
        return make_double2((double)g[i], (double)g[i] * d);
    }
};

__global__ void bn2d_stats_kernel(const double2 *part, int P, int C, int HW, double M, const float *x, int training,
                                  float momentum, float eps, const float *w, const float *b, float *rm, float *rv,
                                  float *sm, float *si, float *scale, float *shift)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float mean, invstd;
    if (training) {
        double2 t = chan_total(part, c, P);
        double mu, var;
        batchnorm_stats(t.x, t.y, M, (double)x[(size_t)c * HW], &mu, &var);
        mean = (float)mu;
        invstd = batchnorm_invstd(var, eps);
        sm[c] = mean;
        si[c] = invstd;
        batchnorm_running(mu, var, M, momentum, &rm[c], &rv[c]);
    } else {
        mean = rm[c];
        invstd = batchnorm_invstd(rv[c], eps);
    }
    batchnorm_scale_shift(w[c], b[c], mean, invstd, &scale[c], &shift[c]);
}

__global__ void bn2d_pass_kernel(const float *x, const float *g, float *out, const float *a, const float *bb,
                                 const float *cc, size_t total, int C, int HW)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)((i / HW) % C);
        out[i] = g ? fmaf(a[c], g[i], fmaf(bb[c], x[i], cc[c])) : fmaf(x[i], a[c], cc[c]);
    }
}

__global__ void bn2d_grad_final_kernel(const double2 *part, int P, int C, double M, const float *w, const float *sm,
                                       const float *si, float *dweight, float *dbias, float *ka, float *kc, float *k0)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double2 t = chan_total(part, c, P);
    if (dbias) dbias[c] = (float)t.x;
    if (dweight) dweight[c] = (float)(t.y * si[c]);
    batchnorm_grad_coeffs(t.x, t.y, M, w[c], sm[c], si[c], &ka[c], &kc[c], &k0[c]);
}

/* partials and three per-channel float vectors in ctx->red */
static int bn2d_scratch(cuda_ctx *c, int C, int P, double2 **part, float **f)
{
    size_t pbytes = (size_t)C * P * sizeof(double2);
    if (cuda_red_reserve(c, pbytes + 3 * (size_t)C * sizeof(float))) return C_ERR;
    *part = (double2 *)c->red;
    *f = (float *)((char *)c->red + pbytes);
    return C_OK;
}

int cuda_batchnorm_fwd(void *ctx, const tensor *x, const tensor *weight, const tensor *bias, tensor *running_mean,
                       tensor *running_var, tensor *save_mean, tensor *save_invstd, tensor *y, int training,
                       float momentum, float eps)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], P = chan_parts(N, C, HW);
    double M = (double)N * HW;
    if (training && M < 2) return err_msg("batchnorm", "training needs more than 1 value per channel, got %.0f", M);
    double2 *part;
    float *scale;
    if (bn2d_scratch(c, C, P, &part, &scale)) return C_ERR;
    float *shift = scale + C;
    if (training) {
        shifted_sq f = { (const float *)x->data, HW };
        LAUNCH_RET(c, chan_partial_kernel<shifted_sq>, dim3(C, P), CUDA_THREADS, f, N, C, HW, P, part);
    }
    LAUNCH_RET(c, bn2d_stats_kernel, (C + 127) / 128, 128, part, P, C, HW, M, (const float *)x->data, training, momentum,
               eps, (const float *)weight->data, (const float *)bias->data, (float *)running_mean->data,
               (float *)running_var->data, training ? (float *)save_mean->data : (float *)NULL,
               training ? (float *)save_invstd->data : (float *)NULL, scale, shift);
    size_t total = tensor_numel(x);
    LAUNCH_RET(c, bn2d_pass_kernel, cuda_blocks(total), CUDA_THREADS, (const float *)x->data, (const float *)NULL,
               (float *)y->data, scale, scale, shift, total, C, HW);
    return C_OK;
}

int cuda_batchnorm_bwd(void *ctx, const tensor *x, const tensor *weight, const tensor *save_mean,
                       const tensor *save_invstd, const tensor *dy, tensor *dx, tensor *dweight, tensor *dbias)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], P = chan_parts(N, C, HW);
    double2 *part;
    float *ka;
    if (bn2d_scratch(c, C, P, &part, &ka)) return C_ERR;
    float *kc = ka + C, *k0 = kc + C;
    grad_sq f = { (const float *)x->data, (const float *)dy->data, (const float *)save_mean->data };
    LAUNCH_RET(c, chan_partial_kernel<grad_sq>, dim3(C, P), CUDA_THREADS, f, N, C, HW, P, part);
    LAUNCH_RET(c, bn2d_grad_final_kernel, (C + 127) / 128, 128, part, P, C, (double)N * HW, (const float *)weight->data,
               (const float *)save_mean->data, (const float *)save_invstd->data,
               dweight ? (float *)dweight->data : (float *)NULL, dbias ? (float *)dbias->data : (float *)NULL, ka, kc, k0);
    if (!dx) return C_OK;
    size_t total = tensor_numel(x);
    LAUNCH_RET(c, bn2d_pass_kernel, cuda_blocks(total), CUDA_THREADS, (const float *)x->data, (const float *)dy->data,
               (float *)dx->data, ka, kc, k0, total, C, HW);
    return C_OK;
}
