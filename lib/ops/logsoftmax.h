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
 *                                           (capturable); loss_stash / loss_fetch read it back */
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

#endif
