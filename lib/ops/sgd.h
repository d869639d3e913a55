/* sgd.h: the optimiser ops: the fused SGD step (PyTorch torch.optim.SGD with momentum, coupled
 * weight decay, plain or Nesterov momentum, a per-group lr multiplier) and the lookahead step
 * (airbench's EMA of the state dict, copied back into the net).
 *
 * Backend entries (backend_iface):
 *   sgd_step(ctx, param, grad, momentum_buf, n, lr, momentum, wd, first_step)
 *       on n elements of TL_PLAIN F32 tensors, per element sgd_update below. While a CUDA graph
 *       records, lr is read from the device scalar that set_step_scalars writes.
 *   sgd_group_step(ctx, param, grad, momentum_buf, n, lr, lr_scale, momentum, wd, nesterov, first_step)
 *       the same for one parameter group: the lr used is lr * lr_scale (a float product, done by
 *       the kernel, so a recorded graph scales the device scalar the same way), and nesterov = 1
 *       takes sgd_nesterov_update. With lr_scale 1 and nesterov 0 it is sgd_step bit for bit.
 *   lookahead_step(ctx, ema, param, n, weight, init)
 *       init = 1: ema = param (the EMA starts from the net); else ema = lerp(ema, param, weight)
 *       (torch.lerp_, lookahead_lerp below), then param = ema. ema takes param's layout (the
 *       CPU's blocked convolution weights): any F32 tensor of the state dict, n its elements. */
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

/* torch's nesterov=True: d = g + wd*p; buf = first_step ? d : momentum*buf + d;
 * p -= lr*(d + momentum*buf) (on the first step too, with buf = d). */
OPS_HD void sgd_nesterov_update(float *p, float g, float *buf, float lr, float momentum, float wd, int first_step)
{
    float d = g + wd * *p;
    float b = first_step ? d : momentum * *buf + d;
    *buf = b;
    *p -= lr * (d + momentum * b);
}

/* torch.lerp(self, end, w) as its kernels compute it in float: small weights from self, large
 * ones from end, so w = 0 keeps self and w = 1 gives end exactly. */
OPS_HD float lookahead_lerp(float self, float end, float w)
{
    return (w < 0.5f && w > -0.5f) ? self + w * (end - self) : end - (end - self) * (1.0f - w);
}

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(sgd)
OP_ENTRY(int, sgd_step, (void *ctx, tensor *param, const tensor *grad, tensor *momentum_buf, size_t n,
                         float lr, float momentum, float wd, int first_step))
OP_ENTRY(int, sgd_group_step, (void *ctx, tensor *param, const tensor *grad, tensor *momentum_buf, size_t n,
                               float lr, float lr_scale, float momentum, float wd, int nesterov,
                               int first_step))
OP_ENTRY(int, lookahead_step, (void *ctx, tensor *ema, tensor *param, size_t n, float weight, int init))
#endif
