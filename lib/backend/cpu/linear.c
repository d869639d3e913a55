/* linear.c: Linear through oneDNN's sgemm, log-softmax + NLL, and the fused SGD step. */
#include <math.h>
#include <string.h>
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

int cpu_linear_fwd(void *ctx, const tensor *x, const tensor *w, const tensor *b, tensor *y)
{
    (void)ctx;
    int n = x->shape[0], in = (int)(tensor_numel(x) / (size_t)n), out = w->shape[0];
    float *yv = y->data;
    if (b) {
        const float *bv = b->data;
        for (int i = 0; i < n; i++) memcpy(yv + (size_t)i * out, bv, (size_t)out * sizeof(float));
    }
    /* y[n,out] = x[n,in] * W[out,in]^T (+ y) */
    return cpu_dnnl_check(dnnl_sgemm('N', 'T', n, out, in, 1.0f, x->data, in, w->data, in, b ? 1.0f : 0.0f, yv, out),
                          "dnnl_sgemm");
}

int cpu_linear_bwd(void *ctx, const tensor *x, const tensor *w, const tensor *dy, tensor *dx, tensor *dw, tensor *db)
{
    (void)ctx;
    int n = x->shape[0], in = (int)(tensor_numel(x) / (size_t)n), out = w->shape[0];
    const float *g = dy->data;
    /* dW[out,in] = dy^T[out,n] * x[n,in] */
    if (cpu_dnnl_check(dnnl_sgemm('T', 'N', out, in, n, 1.0f, g, out, x->data, in, 0.0f, dw->data, in), "dnnl_sgemm"))
        return C_ERR;
    if (db) {
        float *bv = db->data;
        for (int j = 0; j < out; j++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += g[(size_t)i * out + j];
            bv[j] = (float)s;
        }
    }
    /* dx[n,in] = dy[n,out] * W[out,in] */
    if (dx && cpu_dnnl_check(dnnl_sgemm('N', 'N', n, in, out, 1.0f, g, out, w->data, in, 0.0f, dx->data, in), "dnnl_sgemm"))
        return C_ERR;
    return C_OK;
}

int cpu_logsoftmax_fwd(void *ctx, const tensor *x, tensor *y)
{
    (void)ctx;
    int n = x->shape[0], k = (int)(tensor_numel(x) / (size_t)n);
    const float *xv = x->data;
    float *yv = y->data;
    for (int i = 0; i < n; i++) {
        const float *r = xv + (size_t)i * k;
        float mx = r[0];
        for (int j = 1; j < k; j++) mx = r[j] > mx ? r[j] : mx;
        double s = 0;
        for (int j = 0; j < k; j++) s += exp((double)r[j] - mx);
        double lse = mx + log(s);
        for (int j = 0; j < k; j++) yv[(size_t)i * k + j] = (float)(r[j] - lse);
    }
    return C_OK;
}

int cpu_nll_loss(void *ctx, const tensor *logp, const tensor *labels, float *loss)
{
    (void)ctx;
    int n = logp->shape[0], k = logp->shape[1];
    const float *p = logp->data;
    const uint8_t *l = labels->data;
    double s = 0;
    for (int i = 0; i < n; i++) s -= p[(size_t)i * k + l[i]];
    *loss = (float)(s / n);
    return C_OK;
}

int cpu_logsoftmax_nll_bwd(void *ctx, const tensor *logp, const tensor *labels, tensor *dx)
{
    (void)ctx;
    int n = logp->shape[0], k = logp->shape[1];
    const float *p = logp->data;
    const uint8_t *l = labels->data;
    float *d = dx->data;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            d[(size_t)i * k + j] = (expf(p[(size_t)i * k + j]) - (j == l[i])) / (float)n;
    return C_OK;
}

int cpu_sgd_step(void *ctx, tensor *param, const tensor *grad, tensor *buf, size_t n, float lr,
                  float momentum, float wd, int first_step)
{
    (void)ctx;
    float *p = param->data, *b = buf->data;
    const float *g = grad->data;
    if (first_step) {
        #pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) { float d = g[i] + wd * p[i]; b[i] = d; p[i] -= lr * d; }
    } else {
        #pragma omp parallel for simd schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) { float d = g[i] + wd * p[i]; b[i] = momentum * b[i] + d; p[i] -= lr * b[i]; }
    }
    return C_OK;
}
