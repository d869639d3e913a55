/* sgd.c: the fused SGD step of ops/sgd.h over a parameter tensor (two loops, so the first-step
 * test is not made per element). */
#include "backend/cpu/cpu_backend.h"
#include "ops/sgd.h"

int cpu_sgd_step(void *ctx, tensor *param, const tensor *grad, tensor *buf, size_t n, float lr,
                  float momentum, float wd, int first_step)
{
    (void)ctx;
    float *p = param->data, *b = buf->data;
    const float *g = grad->data;
    if (first_step) {
        #pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) sgd_update(&p[i], g[i], &b[i], lr, momentum, wd, 1);
    } else {
        #pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) sgd_update(&p[i], g[i], &b[i], lr, momentum, wd, 0);
    }
    return C_OK;
}
