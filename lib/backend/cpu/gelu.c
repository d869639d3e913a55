/* gelu.c: GELU forward and backward on plain or channel-blocked tensors (padded lanes stay zero).
 * erf and exp are not vector instructions: the AVX-512 and AVX2 kernels evaluate ops/gelu.h's
 * polynomials lane by lane with the same operations as its scalar functions (the tails and the
 * generic path), so every path gives the same bits. */
#include <immintrin.h>
#include <omp.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/gelu.h"

/* work split of n elements into 64-byte aligned ranges, one per thread */
#define SPLIT(n, t, nt, lo, hi) \
    size_t lo = ((n) / 16 * (size_t)(t) / (size_t)(nt)) * 16, hi = (t) + 1 == (nt) ? (n) : ((n) / 16 * (size_t)((t) + 1) / (size_t)(nt)) * 16

/* ---- AVX-512 ---- */

CPU_AVX512 static inline __m512 erf16(__m512 x)
{
    static const float P[7] = GELU_ERF_P, Q[5] = GELU_ERF_Q;
    __m512 c = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
    __m512 x2 = _mm512_mul_ps(c, c);
    __m512 p = _mm512_fmadd_ps(x2, _mm512_set1_ps(P[0]), _mm512_set1_ps(P[1]));
    for (int i = 2; i < 7; i++) p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(P[i]));
    p = _mm512_mul_ps(c, p);
    __m512 q = _mm512_fmadd_ps(x2, _mm512_set1_ps(Q[0]), _mm512_set1_ps(Q[1]));
    for (int i = 2; i < 5; i++) q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(Q[i]));
    return _mm512_min_ps(_mm512_max_ps(_mm512_div_ps(p, q), _mm512_set1_ps(-1.0f)), _mm512_set1_ps(1.0f));
}

CPU_AVX512 static inline __m512 exp16(__m512 t)
{
    static const float E[6] = GELU_EXP_P;
    t = _mm512_max_ps(t, _mm512_set1_ps(GELU_EXP_MIN));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(GELU_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-GELU_LN2_HI), t);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(GELU_LN2_LO_NEG), r);
    __m512 p = _mm512_set1_ps(E[0]);
    for (int i = 1; i < 6; i++) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(E[i]));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

CPU_AVX512 static void fwd16(const float *x, float *y, size_t lo, size_t hi)
{
    size_t i = lo;
    for (; i + 16 <= hi; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m512 e = erf16(_mm512_mul_ps(v, _mm512_set1_ps(GELU_SQRT1_2)));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), e)));
    }
    for (; i < hi; i++) y[i] = gelu_value(x[i]);
}

CPU_AVX512 static void bwd16(const float *x, const float *g, float *dx, size_t lo, size_t hi)
{
    size_t i = lo;
    for (; i + 16 <= hi; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m512 e = erf16(_mm512_mul_ps(v, _mm512_set1_ps(GELU_SQRT1_2)));
        __m512 cdf = _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        __m512 pdf = _mm512_mul_ps(_mm512_set1_ps(GELU_INV_SQRT_2PI),
                                   exp16(_mm512_mul_ps(_mm512_set1_ps(-0.5f), _mm512_mul_ps(v, v))));
        _mm512_storeu_ps(dx + i, _mm512_mul_ps(_mm512_loadu_ps(g + i), _mm512_fmadd_ps(v, pdf, cdf)));
    }
    for (; i < hi; i++) dx[i] = gelu_grad(x[i], g[i]);
}

/* ---- AVX2 + FMA: per lane the operations above ---- */

CPU_AVX2 static inline __m256 erf8(__m256 x)
{
    static const float P[7] = GELU_ERF_P, Q[5] = GELU_ERF_Q;
    __m256 c = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
    __m256 x2 = _mm256_mul_ps(c, c);
    __m256 p = _mm256_fmadd_ps(x2, _mm256_set1_ps(P[0]), _mm256_set1_ps(P[1]));
    for (int i = 2; i < 7; i++) p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(P[i]));
    p = _mm256_mul_ps(c, p);
    __m256 q = _mm256_fmadd_ps(x2, _mm256_set1_ps(Q[0]), _mm256_set1_ps(Q[1]));
    for (int i = 2; i < 5; i++) q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(Q[i]));
    return _mm256_min_ps(_mm256_max_ps(_mm256_div_ps(p, q), _mm256_set1_ps(-1.0f)), _mm256_set1_ps(1.0f));
}

CPU_AVX2 static inline __m256 exp8(__m256 t)
{
    static const float E[6] = GELU_EXP_P;
    t = _mm256_max_ps(t, _mm256_set1_ps(GELU_EXP_MIN));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(GELU_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-GELU_LN2_HI), t);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(GELU_LN2_LO_NEG), r);
    __m256 p = _mm256_set1_ps(E[0]);
    for (int i = 1; i < 6; i++) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(E[i]));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

CPU_AVX2 static void fwd8(const float *x, float *y, size_t lo, size_t hi)
{
    size_t i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(GELU_SQRT1_2)));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.0f), e)));
    }
    for (; i < hi; i++) y[i] = gelu_value(x[i]);
}

CPU_AVX2 static void bwd8(const float *x, const float *g, float *dx, size_t lo, size_t hi)
{
    size_t i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(GELU_SQRT1_2)));
        __m256 cdf = _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        __m256 pdf = _mm256_mul_ps(_mm256_set1_ps(GELU_INV_SQRT_2PI),
                                   exp8(_mm256_mul_ps(_mm256_set1_ps(-0.5f), _mm256_mul_ps(v, v))));
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(g + i), _mm256_fmadd_ps(v, pdf, cdf)));
    }
    for (; i < hi; i++) dx[i] = gelu_grad(x[i], g[i]);
}

/* ---- entries ---- */

int cpu_gelu_fwd(void *ctx, const tensor *x, tensor *y)
{
    int isa = ((const cpu_ctx *)ctx)->isa;
    size_t n = cpu_used_bytes(x) / sizeof(float);
    const float *a = x->data;
    float *b = y->data;
    #pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        SPLIT(n, t, nt, lo, hi);
        if (isa == CPU_ISA_AVX512) fwd16(a, b, lo, hi);
        else if (isa == CPU_ISA_AVX2) fwd8(a, b, lo, hi);
        else for (size_t i = lo; i < hi; i++) b[i] = gelu_value(a[i]);
    }
    return C_OK;
}

int cpu_gelu_bwd(void *ctx, const tensor *x, const tensor *dy, tensor *dx)
{
    int isa = ((const cpu_ctx *)ctx)->isa;
    size_t n = cpu_used_bytes(x) / sizeof(float);
    const float *a = x->data, *g = dy->data;
    float *d = dx->data;
    #pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        SPLIT(n, t, nt, lo, hi);
        if (isa == CPU_ISA_AVX512) bwd16(a, g, d, lo, hi);
        else if (isa == CPU_ISA_AVX2) bwd8(a, g, d, lo, hi);
        else for (size_t i = lo; i < hi; i++) d[i] = gelu_grad(a[i], g[i]);
    }
    return C_OK;
}
