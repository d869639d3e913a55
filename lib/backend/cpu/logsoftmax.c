/* logsoftmax.c: log-softmax, the batch-mean NLL and their fused gradient (ops/logsoftmax.h).
 *
 * Rows are split over the threads (each row is one thread's, so the thread count changes
 * nothing). Each row has two kernels: the plain C row maths of ops/logsoftmax.h, and one vector
 * kernel that does the same maths with glibc's vector exp (libmvec: exp in double for the sum,
 * expf for the gradient). The vector kernel is AVX2 + FMA code and serves the AVX-512 path too
 * (a row is ten classes: wider vectors buy nothing), so the two vector paths give the same bits
 * by construction. The row is copied into a buffer padded to whole vectors with -inf, which the
 * maximum ignores and whose exp is exactly 0, so no lane needs a mask. The exp terms are summed
 * in 8 double lanes (two 4-lane halves), then halves, pairs and the last two in a fixed order (the
 * order of GCC's _mm512_reduce_add_pd, which the AVX-512 kernel used before: its bits are kept);
 * the plain path sums in order, so the two differ by rounding (libmvec is within 4 ulp of exp);
 * tests/ops/logsoftmax.c checks both against the double reference. The NLL itself reads one value
 * per row and stays a plain double sum in batch order. The label-smoothed NLL (sum or mean) and
 * its gradient, airbench94's loss, are the plain row maths. */
#include <immintrin.h>
#include <math.h>
#include <string.h>
#include "backend/cpu/cpu_backend.h"
#include "ops/logsoftmax.h"

/* glibc's libmvec (-lmvec): exp on 4 doubles, expf on 8 floats (AVX2 variants) */
__m256d _ZGVdN4v_exp(__m256d x);
__m256 _ZGVdN8v_expf(__m256 x);

enum { LANES = 16 };   /* row buffers are padded to this many floats */

static int padded(int k) { return (k + LANES - 1) / LANES * LANES; }

static void pad_row(const float *r, float *buf, int k)
{
    memcpy(buf, r, (size_t)k * sizeof *buf);
    for (int j = k; j < padded(k); j++) buf[j] = -INFINITY;
}

/* 8 double lanes (lo: 0-3, hi: 4-7) summed as hi + lo, then the upper pair plus the lower, then
 * the last two */
CPU_AVX2 static double sum8(__m256d lo, __m256d hi)
{
    __m256d t = _mm256_add_pd(hi, lo);
    __m128d s = _mm_add_pd(_mm256_extractf128_pd(t, 1), _mm256_castpd256_pd128(t));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

CPU_AVX2 static void row_fwd(const float *r, float *y, int k)
{
    int kp = padded(k);
    float buf[kp], out[kp];
    pad_row(r, buf, k);
    __m256 mv = _mm256_loadu_ps(buf);
    for (int j = 8; j < kp; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(buf + j));
    float lanes[8], mx = -INFINITY;
    _mm256_storeu_ps(lanes, mv);
    for (int j = 0; j < 8; j++) mx = lanes[j] > mx ? lanes[j] : mx;
    __m256d mxd = _mm256_set1_pd(mx), lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (int j = 0; j < kp; j += 8) {
        lo = _mm256_add_pd(lo, _ZGVdN4v_exp(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(buf + j)), mxd)));
        hi = _mm256_add_pd(hi, _ZGVdN4v_exp(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(buf + j + 4)), mxd)));
    }
    __m256d lse = _mm256_set1_pd(mx + log(sum8(lo, hi)));
    for (int j = 0; j < kp; j += 4)
        _mm_storeu_ps(out + j, _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(buf + j)), lse)));
    memcpy(y, out, (size_t)k * sizeof *y);
}

/* (softmax - onehot) / n from one row of log-probabilities: expf, minus 1 at the label, over n */
CPU_AVX2 static void row_grad(const float *p, int label, int n, float *d, int k)
{
    int kp = padded(k);
    float buf[kp], out[kp];
    pad_row(p, buf, k);
    __m256 nv = _mm256_set1_ps((float)n);
    for (int j = 0; j < kp; j += 8) {
        __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(j), _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
        __m256 onehot = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(idx, _mm256_set1_epi32(label))),
                                      _mm256_set1_ps(1.0f));
        __m256 e = _ZGVdN8v_expf(_mm256_loadu_ps(buf + j));
        _mm256_storeu_ps(out + j, _mm256_div_ps(_mm256_sub_ps(e, onehot), nv));
    }
    memcpy(d, out, (size_t)k * sizeof *d);
}

int cpu_logsoftmax_fwd(void *ctx, const tensor *x, tensor *y)
{
    const cpu_ctx *c = ctx;
    int n = x->shape[0], k = (int)(tensor_numel(x) / (size_t)n), isa = c->isa;
    const float *xv = x->data;
    float *yv = y->data;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *r = xv + (size_t)i * k;
        float *o = yv + (size_t)i * k;
        if (isa != CPU_ISA_GENERIC) row_fwd(r, o, k);
        else logsoftmax_row(r, o, k);
    }
    return C_OK;
}

int cpu_nll_loss(void *ctx, const tensor *logp, const tensor *labels, float *loss)
{
    (void)ctx;
    *loss = nll_loss_mean(logp->data, labels->data, logp->shape[0], logp->shape[1]);
    return C_OK;
}

int cpu_logsoftmax_nll_bwd(void *ctx, const tensor *logp, const tensor *labels, tensor *dx)
{
    const cpu_ctx *c = ctx;
    int n = logp->shape[0], k = logp->shape[1], isa = c->isa;
    const float *p = logp->data;
    const uint8_t *l = labels->data;
    float *d = dx->data;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *r = p + (size_t)i * k;
        float *o = d + (size_t)i * k;
        if (isa != CPU_ISA_GENERIC) row_grad(r, l[i], n, o, k);
        else for (int j = 0; j < k; j++) o[j] = logsoftmax_nll_grad(r[j], j == l[i], n);
    }
    return C_OK;
}

int cpu_smooth_nll_loss(void *ctx, const tensor *logp, const tensor *labels, float eps, int sum, float *loss)
{
    (void)ctx;
    *loss = smooth_nll_loss_value(logp->data, labels->data, logp->shape[0], logp->shape[1], eps, sum);
    return C_OK;
}

int cpu_logsoftmax_smooth_nll_bwd(void *ctx, const tensor *logp, const tensor *labels, float eps, int sum, tensor *dx)
{
    (void)ctx;
    int n = logp->shape[0], k = logp->shape[1];
    const float *p = logp->data;
    const uint8_t *l = labels->data;
    float *d = dx->data;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            d[(size_t)i * k + j] = logsoftmax_smooth_nll_grad(p[(size_t)i * k + j], j == l[i], k, eps, sum, n);
    return C_OK;
}
