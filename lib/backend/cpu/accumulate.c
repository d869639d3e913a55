/* accumulate.c: dst += src on plain or nChw16c tensors (padded lanes stay zero: 0 + 0). */
#include "backend/cpu/cpu_backend.h"
#include "core/errors.h"

int cpu_accumulate(void *ctx, tensor *dst, const tensor *src)
{
    (void)ctx;
    if ((dst->layout == CPU_TL_WEIGHTS) != (src->layout == CPU_TL_WEIGHTS))
        return err_msg("accumulate", "convolution weights and a plain tensor");
    size_t n = cpu_used_bytes(dst) / sizeof(float);
    float *d = dst->data;
    const float *s = src->data;
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) d[i] += s[i];
    return C_OK;
}
