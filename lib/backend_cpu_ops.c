/* backend_cpu_ops.c: the small ops (ReLU, adaptive max pool, flatten, dropout, add) on plain or
 * nChw16c tensors. Padded channel lanes are never written with anything but zero. */
#include <string.h>
#include "backend_cpu.h"
#include "op_dropout.h"

void cpu_relu_fwd(void *ctx, const tensor *x, tensor *y)
{
    (void)ctx;
    size_t n = cpu_used_bytes(x) / sizeof(float);
    const float *a = x->data;
    float *b = y->data;
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) b[i] = a[i] > 0.0f ? a[i] : 0.0f;
}

void cpu_relu_bwd(void *ctx, const tensor *y, const tensor *dy, tensor *dx)
{
    (void)ctx;
    size_t n = cpu_used_bytes(y) / sizeof(float);
    const float *a = y->data, *g = dy->data;
    float *d = dx->data;
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) d[i] = a[i] > 0.0f ? g[i] : 0.0f;
}

void cpu_add(void *ctx, tensor *dst, const tensor *src)
{
    (void)ctx;
    size_t n = cpu_used_bytes(dst) / sizeof(float);
    float *d = dst->data;
    const float *s = src->data;
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) d[i] += s[i];
}

void cpu_maxpool_fwd(void *ctx, const tensor *x, tensor *y, tensor *idx)
{
    (void)ctx;
    int N = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], B = cpu_blk(x), CB = (C + B - 1) / B;
    const float *xv = x->data;
    float *yv = y->data;
    int32_t *iv = idx->data;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *p = xv + ((size_t)n * CB + c / B) * HW * B + c % B;
            float best = p[0];
            int bi = 0;
            for (int i = 1; i < HW; i++)
                if (p[(size_t)i * B] > best || best != best) { best = p[(size_t)i * B]; bi = i; }
            yv[(size_t)n * C + c] = best;
            iv[(size_t)n * C + c] = bi;
        }
}

void cpu_maxpool_bwd(void *ctx, const tensor *idx, const tensor *dy, tensor *dx)
{
    (void)ctx;
    int N = dx->shape[0], C = dx->shape[1], HW = dx->shape[2] * dx->shape[3], B = cpu_blk(dx), CB = (C + B - 1) / B;
    memset(dx->data, 0, cpu_used_bytes(dx));
    const float *g = dy->data;
    const int32_t *iv = idx->data;
    float *d = dx->data;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            d[((size_t)n * CB + c / B) * HW * B + c % B + (size_t)iv[(size_t)n * C + c] * B] = g[(size_t)n * C + c];
}

void cpu_flatten_fwd(void *ctx, const tensor *x, tensor *y)
{
    (void)ctx;
    if (cpu_blk(x) > 1) cpu_from_blocked(x->data, y->data, x->shape[0], x->shape[1], x->shape[2] * x->shape[3]);
    else memcpy(y->data, x->data, tensor_numel(x) * sizeof(float));
}

void cpu_flatten_bwd(void *ctx, const tensor *dy, tensor *dx)
{
    (void)ctx;
    if (cpu_blk(dx) > 1) cpu_to_blocked(dy->data, dx->data, dx->shape[0], dx->shape[1], dx->shape[2] * dx->shape[3]);
    else memcpy(dx->data, dy->data, tensor_numel(dx) * sizeof(float));
}

/* y = x * mask / (1 - p), four elements per Philox block */
static void dropout_apply(const float *x, float *y, size_t n, float p, uint64_t seed, uint32_t step, uint32_t salt)
{
    float scale = 1.0f / (1.0f - p);
    size_t nb = (n + 3) / 4;
    #pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nb; b++) {
        uint32_t w[4];
        rng_block(seed, RNG_DROPOUT, step, dropout_block_index(salt, b * 4), w);
        for (size_t k = 0; k < 4 && b * 4 + k < n; k++) {
            size_t i = b * 4 + k;
            y[i] = rng_u32_to_float(w[k]) >= p ? x[i] * scale : 0.0f;
        }
    }
}

void cpu_dropout_fwd(void *ctx, const tensor *x, tensor *y, float p, uint64_t seed, uint32_t step, uint32_t salt, int training)
{
    (void)ctx;
    size_t n = tensor_numel(x);
    if (!training || p == 0.0f) {
        if (y->data != x->data) memcpy(y->data, x->data, n * sizeof(float));
        return;
    }
    dropout_apply(x->data, y->data, n, p, seed, step, salt);
}

void cpu_dropout_bwd(void *ctx, const tensor *dy, tensor *dx, float p, uint64_t seed, uint32_t step, uint32_t salt)
{
    cpu_dropout_fwd(ctx, dy, dx, p, seed, step, salt, 1);
}
