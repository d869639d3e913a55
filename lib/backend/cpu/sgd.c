/* sgd.c: the optimiser ops of ops/sgd.h (the fused SGD step, plain or Nesterov, and the lookahead
 * step) over a parameter tensor, with a vector kernel (written once, simd.h: AVX-512 and AVX2)
 * beside the plain loop. The kernel does sgd_update's multiplies and adds one by one (no fused
 * multiply-add, as the C, built without FP contraction, and the CUDA backend do), so every path
 * gives the same bits. First-step and later steps are separate loops, so the test is not made
 * per element. */
#include <omp.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/sgd.h"

#ifdef SIMD_W   /* ---- vector kernel, W lanes: sgd16 and sgd8 ---- */

SIMD_FN static void V(sgd)(float *p, const float *g, float *b, size_t lo, size_t hi, float lr, float momentum,
                           float wd, int nesterov, int first_step)
{
    vf vlr = vf_set1(lr), vm_ = vf_set1(momentum), vwd = vf_set1(wd);
    size_t i = lo;
    for (; i + SIMD_W <= hi; i += SIMD_W) {
        vf pv = vf_load(p + i);
        vf d = vf_add(vf_load(g + i), vf_mul(vwd, pv));
        vf bv = first_step ? d : vf_add(vf_mul(vm_, vf_load(b + i)), d);
        vf_store(b + i, bv);
        vf step = nesterov ? vf_add(d, vf_mul(vm_, bv)) : bv;
        vf_store(p + i, vf_sub(pv, vf_mul(vlr, step)));
    }
    for (; i < hi; i++)
        if (nesterov) sgd_nesterov_update(&p[i], g[i], &b[i], lr, momentum, wd, first_step);
        else sgd_update(&p[i], g[i], &b[i], lr, momentum, wd, first_step);
}

#else

#define SIMD_BODY "backend/cpu/sgd.c"
#include "backend/cpu/simd.h"

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
            size_t lo, hi;
            cpu_split(n, &lo, &hi);
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

#endif
