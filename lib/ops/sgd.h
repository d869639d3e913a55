/* sgd.h: the fused SGD step (PyTorch torch.optim.SGD with momentum and weight decay).
 *
 * Backend entry (backend_iface):
 *   sgd_step(ctx, param, grad, momentum_buf, n, lr, momentum, wd, first_step)
 *       on n elements of TL_PLAIN F32 tensors, per element sgd_update below. While a CUDA graph
 *       records, lr is read from the device scalar that set_step_scalars writes. */
#ifndef OPS_SGD_H
#define OPS_SGD_H

#include "backend/hostdev.h"

/* d = g + wd*p; buf = first_step ? d : momentum*buf + d; p -= lr*buf */
OPS_HD void sgd_update(float *p, float g, float *buf, float lr, float momentum, float wd, int first_step)
{
    float d = g + wd * *p;
    float b = first_step ? d : momentum * *buf + d;
    *buf = b;
    *p -= lr * b;
}

#endif
