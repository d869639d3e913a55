/* logsoftmax.h: log-softmax, the NLL loss and their fused gradient, with the row maths both
 * backends compute.
 *
 * Backend entries (backend_iface), on TL_PLAIN tensors:
 *   logsoftmax_fwd(ctx, x, y)               y[n,k] = log-softmax of x over its last dim
 *   nll_loss(ctx, logp, labels, &loss)      mean over the batch of -logp[i, label_i]; labels U8 [n]
 *                                           on the backend; waits for the result
 *   logsoftmax_nll_bwd(ctx, logp, labels, dx)  gradient of nll_loss(logsoftmax(x)) w.r.t. x:
 *                                           (softmax - onehot) / n
 *   nll_loss_queue(ctx, logp, labels)       nll_loss into the backend's device scalar, queued
 *                                           (capturable); loss_stash / loss_fetch read it back
 * Label smoothing eps and a summed or mean reduction (torch's CrossEntropyLoss(label_smoothing=eps,
 * reduction='sum' or 'mean') on the logits before the LogSoftmax):
 *   smooth_nll_loss(ctx, logp, labels, eps, sum, &loss)   sum (sum = 1) or mean over the batch of
 *                                           smooth_nll_row; waits for the result
 *   smooth_nll_loss_queue(ctx, logp, labels, eps, sum)    the same into the device scalar, queued
 *   logsoftmax_smooth_nll_bwd(ctx, logp, labels, eps, sum, dx)   its gradient w.r.t. x:
 *                                           (softmax - ((1-eps)*onehot + eps/k)), divided by n
 *                                           unless sum
 * With eps = 0 and sum = 0 these are the plain entries' loss and gradient up to rounding (the
 * plain entries stay what the notebook's models run). */
#ifndef OPS_LOGSOFTMAX_H
#define OPS_LOGSOFTMAX_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "backend/hostdev.h"

/* One row: row maximum, sum of exp in double, log-sum-exp in double. */
OPS_HD void logsoftmax_row(const float *r, float *y, int k)
{
    float mx = r[0];
    for (int j = 1; j < k; j++) mx = r[j] > mx ? r[j] : mx;
    double s = 0.0;
    for (int j = 0; j < k; j++) s += exp((double)r[j] - mx);
    double lse = mx + log(s);
    for (int j = 0; j < k; j++) y[j] = (float)(r[j] - lse);
}

/* Batch-mean NLL, summed in batch order in double (the same bits on every run). */
OPS_HD float nll_loss_mean(const float *logp, const uint8_t *labels, int n, int k)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) s -= logp[(size_t)i * k + labels[i]];
    return (float)(s / n);
}

/* One element of the fused gradient: (softmax - onehot) / n from the log-probability. */
OPS_HD float logsoftmax_nll_grad(float logp, int is_label, int n)
{
    return (expf(logp) - (float)is_label) / (float)n;
}

/* One row's label-smoothed NLL in double: (1-eps)*(-logp[y]) + eps*mean_j(-logp[j]). */
OPS_HD double smooth_nll_row(const float *logp, int y, int k, float eps)
{
    double all = 0.0;
    for (int j = 0; j < k; j++) all -= logp[j];
    return (1.0 - (double)eps) * -(double)logp[y] + (double)eps * all / k;
}

/* The batch's label-smoothed NLL, summed in batch order in double; the mean unless sum. */
OPS_HD float smooth_nll_loss_value(const float *logp, const uint8_t *labels, int n, int k, float eps, int sum)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) s += smooth_nll_row(logp + (size_t)i * k, labels[i], k, eps);
    return (float)(sum ? s : s / n);
}

/* One element of its fused gradient: (softmax - target) * scale, target (1-eps)*onehot + eps/k,
 * scale 1 (sum) or 1/n (mean). */
OPS_HD float logsoftmax_smooth_nll_grad(float logp, int is_label, int k, float eps, int sum, int n)
{
    float target = (is_label ? 1.0f - eps : 0.0f) + eps / (float)k;
    float g = expf(logp) - target;
    return sum ? g : g / (float)n;
}

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(logsoftmax)
OP_ENTRY(int, logsoftmax_fwd, (void *ctx, const tensor *x, tensor *y))
OP_ENTRY(int, nll_loss, (void *ctx, const tensor *logp, const tensor *labels, float *loss))
OP_ENTRY(int, logsoftmax_nll_bwd, (void *ctx, const tensor *logp, const tensor *labels, tensor *dx))
OP_ENTRY(int, smooth_nll_loss, (void *ctx, const tensor *logp, const tensor *labels, float eps, int sum,
                                float *loss))
OP_ENTRY(int, logsoftmax_smooth_nll_bwd, (void *ctx, const tensor *logp, const tensor *labels, float eps,
                                          int sum, tensor *dx))
#endif
