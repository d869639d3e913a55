/* cuda_init.h: the CUDA backend's public entry points (C). Only declared when the build found
 * nvcc (HAVE_CUDA); backend/select.h is what stage code includes.
 *
 * On CUDA, TL_ACT is plain NCHW: every tensor is row-major in its logical shape, so upload,
 * download, flatten and the layout tag are trivial. All work is queued on one stream owned by the
 * context; download and nll_loss wait for it. */
#ifndef CUDA_INIT_H
#define CUDA_INIT_H

#include "backend/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Visible CUDA devices (0 when there is no driver, no device, or any error: never fails). */
int backend_cuda_device_count(void);

/* The CUDA backend on `device`. deterministic = 1: only cuDNN algorithms reported
 * CUDNN_DETERMINISTIC are used (our own reductions never use atomics in either mode), so two runs
 * give identical bytes. allow_tf32 = 1 lets cuDNN use TF32 tensor cores for convolutions (as
 * PyTorch does by default); 0 keeps full FP32 (the parity tests use 0). Returns C_OK or C_ERR
 * after one line naming the failing call. Free with backend_free. */
int backend_cuda_init(backend *be, int device, int deterministic);
int backend_cuda_init_ex(backend *be, int device, int deterministic, int allow_tf32);

/* The device's name, e.g. "NVIDIA H100 80GB HBM3" (a static string in the context). */
const char *backend_cuda_device_name(const backend *be);

#ifdef __cplusplus
}
#endif

#endif
