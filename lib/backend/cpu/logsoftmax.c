/* logsoftmax.c: log-softmax, the batch-mean NLL, the label-smoothed NLL (sum or mean) and their
 * fused gradients: the row maths of ops/logsoftmax.h, one row after another. */
#include "backend/cpu/cpu_backend.h"
#include "ops/logsoftmax.h"

int cpu_logsoftmax_fwd(void *ctx, const tensor *x, tensor *y)
{
    (void)ctx;
    int n = x->shape[0], k = (int)(tensor_numel(x) / (size_t)n);
    const float *xv = x->data;
    float *yv = y->data;
    for (int i = 0; i < n; i++) logsoftmax_row(xv + (size_t)i * k, yv + (size_t)i * k, k);
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
    (void)ctx;
    int n = logp->shape[0], k = logp->shape[1];
    const float *p = logp->data;
    const uint8_t *l = labels->data;
    float *d = dx->data;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            d[(size_t)i * k + j] = logsoftmax_nll_grad(p[(size_t)i * k + j], j == l[i], n);
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
