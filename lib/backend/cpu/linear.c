/* linear.c: Linear (ops/linear.h) through oneDNN's sgemm. */
#include <string.h>
#include "backend/cpu/cpu_backend.h"
#include "core/errors.h"

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
