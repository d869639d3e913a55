/* scale.c: y = s * x on plain or channel-blocked tensors (padded lanes: s * 0 = 0); one multiply
 * per element, which the compiler vectorises, so no per-ISA kernels. */
#include "backend/cpu/cpu_backend.h"
#include "ops/scale.h"

int cpu_scale(void *ctx, const tensor *x, tensor *y, float s)
{
    (void)ctx;
    size_t n = cpu_used_bytes(x) / sizeof(float);
    const float *a = x->data;
    float *b = y->data;
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) b[i] = scale_value(a[i], s);
    return C_OK;
}
