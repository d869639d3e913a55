/* dropout.c: inverted dropout with the mask of ops/dropout.h, four elements per Philox block. */
#include <string.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/dropout.h"

/* y = x * mask / (1 - p) */
static void dropout_apply(const float *x, float *y, size_t n, float p, uint64_t seed, uint32_t step, uint32_t salt)
{
    float scale = dropout_scale(p);
    size_t nb = (n + 3) / 4;
    #pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nb; b++) {
        uint32_t w[4];
        dropout_block(seed, step, salt, b, w);
        for (size_t k = 0; k < 4 && b * 4 + k < n; k++) {
            size_t i = b * 4 + k;
            y[i] = dropout_value(x[i], w[k], p, scale);
        }
    }
}

int cpu_dropout_fwd(void *ctx, const tensor *x, tensor *y, float p, uint64_t seed, uint32_t step, uint32_t salt, int training)
{
    (void)ctx;
    size_t n = tensor_numel(x);
    if (!training || p == 0.0f) {
        if (y->data != x->data) memcpy(y->data, x->data, n * sizeof(float));
        return C_OK;
    }
    dropout_apply(x->data, y->data, n, p, seed, step, salt);
    return C_OK;
}

int cpu_dropout_bwd(void *ctx, const tensor *dy, tensor *dx, float p, uint64_t seed, uint32_t step, uint32_t salt)
{
    return cpu_dropout_fwd(ctx, dy, dx, p, seed, step, salt, 1);
}
