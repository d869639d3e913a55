/* sgd.c: the optimiser ops of ops/sgd.h (the fused SGD step, plain or Nesterov, and the lookahead
 * step) over a parameter tensor, with AVX-512 and AVX2 kernels beside the plain loop. The kernels
 * do sgd_update's multiplies and adds one by one (no fused multiply-add, as the C, built without
 * FP contraction, and the CUDA backend do), so every path gives the same bits. First-step and
 * later steps are separate loops, so the test is not made per element. */
#include <immintrin.h>
#include <omp.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/sgd.h"

CPU_AVX512 static void sgd16(float *p, const float *g, float *b, size_t lo, size_t hi, float lr, float momentum,
                             float wd, int nesterov, int first_step)
{
    __m512 vlr = _mm512_set1_ps(lr), vm = _mm512_set1_ps(momentum), vwd = _mm512_set1_ps(wd);
    size_t i = lo;
    for (; i + 16 <= hi; i += 16) {
        __m512 pv = _mm512_loadu_ps(p + i);
        __m512 d = _mm512_add_ps(_mm512_loadu_ps(g + i), _mm512_mul_ps(vwd, pv));
        __m512 bv = first_step ? d : _mm512_add_ps(_mm512_mul_ps(vm, _mm512_loadu_ps(b + i)), d);
        _mm512_storeu_ps(b + i, bv);
        __m512 step = nesterov ? _mm512_add_ps(d, _mm512_mul_ps(vm, bv)) : bv;
        _mm512_storeu_ps(p + i, _mm512_sub_ps(pv, _mm512_mul_ps(vlr, step)));
    }
    for (; i < hi; i++)
        if (nesterov) sgd_nesterov_update(&p[i], g[i], &b[i], lr, momentum, wd, first_step);
        else sgd_update(&p[i], g[i], &b[i], lr, momentum, wd, first_step);
}

CPU_AVX2 static void sgd8(float *p, const float *g, float *b, size_t lo, size_t hi, float lr, float momentum,
                          float wd, int nesterov, int first_step)
{
    __m256 vlr = _mm256_set1_ps(lr), vm = _mm256_set1_ps(momentum), vwd = _mm256_set1_ps(wd);
    size_t i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m256 pv = _mm256_loadu_ps(p + i);
        __m256 d = _mm256_add_ps(_mm256_loadu_ps(g + i), _mm256_mul_ps(vwd, pv));
        __m256 bv = first_step ? d : _mm256_add_ps(_mm256_mul_ps(vm, _mm256_loadu_ps(b + i)), d);
        _mm256_storeu_ps(b + i, bv);
        __m256 step = nesterov ? _mm256_add_ps(d, _mm256_mul_ps(vm, bv)) : bv;
        _mm256_storeu_ps(p + i, _mm256_sub_ps(pv, _mm256_mul_ps(vlr, step)));
    }
    for (; i < hi; i++)
        if (nesterov) sgd_nesterov_update(&p[i], g[i], &b[i], lr, momentum, wd, first_step);
        else sgd_update(&p[i], g[i], &b[i], lr, momentum, wd, first_step);
}

/* Convolution weights: t follows param's blocked layout (padding included); *n becomes the
 * element count of that layout. */
static int follow_layout(cpu_ctx *c, const tensor *param, tensor *t1, tensor *t2, size_t *n)
{
    const dnnl_memory_desc_t *md = cpu_weights_md(c, param);
    if (!md) return C_OK;
    /* a copy: md points into the layout table, which the first adopt may grow (realloc) */
    const dnnl_memory_desc_t wmd = *md;
    if (cpu_weights_adopt(c, t1, &wmd) != C_OK || (t2 && cpu_weights_adopt(c, t2, &wmd) != C_OK)) return C_ERR;
    *n = param->bytes / sizeof(float);
    return C_OK;
}

int cpu_sgd_group_step(void *ctx, tensor *param, const tensor *grad, tensor *buf, size_t n, float lr, float lr_scale,
                       float momentum, float wd, int nesterov, int first_step)
{
    cpu_ctx *c = ctx;
    if (follow_layout(c, param, (tensor *)grad, buf, &n) != C_OK) return C_ERR;
    float *p = param->data, *b = buf->data;
    const float *g = grad->data;
    lr *= lr_scale;   /* the float product the CUDA kernel forms too (exact for lr_scale 1) */
    if (c->isa != CPU_ISA_GENERIC) {
        int isa = c->isa;
        /* ranges of whole 64-byte lines per thread; small tensors on one thread */
        #pragma omp parallel if (n > 65536)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t lo = n / 16 * (size_t)t / (size_t)nt * 16, hi = t + 1 == nt ? n : n / 16 * (size_t)(t + 1) / (size_t)nt * 16;
            if (isa == CPU_ISA_AVX512) sgd16(p, g, b, lo, hi, lr, momentum, wd, nesterov, first_step);
            else sgd8(p, g, b, lo, hi, lr, momentum, wd, nesterov, first_step);
        }
        return C_OK;
    }
    if (nesterov) {
        #pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) sgd_nesterov_update(&p[i], g[i], &b[i], lr, momentum, wd, first_step);
    } else if (first_step) {
        #pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) sgd_update(&p[i], g[i], &b[i], lr, momentum, wd, 1);
    } else {
        #pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) sgd_update(&p[i], g[i], &b[i], lr, momentum, wd, 0);
    }
    return C_OK;
}

int cpu_sgd_step(void *ctx, tensor *param, const tensor *grad, tensor *buf, size_t n, float lr,
                  float momentum, float wd, int first_step)
{
    return cpu_sgd_group_step(ctx, param, grad, buf, n, lr, 1.0f, momentum, wd, 0, first_step);
}

int cpu_lookahead_step(void *ctx, tensor *ema, tensor *param, size_t n, float weight, int init)
{
    cpu_ctx *c = ctx;
    if (follow_layout(c, param, ema, NULL, &n) != C_OK) return C_ERR;
    float *e = ema->data, *p = param->data;
    /* scalar: the compiler vectorises the lerp; every path gives the same bits */
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float v = init ? p[i] : lookahead_lerp(e[i], p[i], weight);
        e[i] = v;
        p[i] = v;
    }
    return C_OK;
}
