/* select.h: picks the compute backend for a stage: "auto", "cpu" or "cuda". The environment
 * variable DEVICE, when set and non-empty, overrides the params value. CUDA_TF32=0 in the
 * environment keeps cuDNN convolutions in full FP32 (default: TF32 allowed, as in PyTorch).
 *
 * auto and cuda load the CUDA module (backend/cuda_init.h); cpu never does. auto takes the GPU
 * when the module loads and finds a working device, and the CPU otherwise: silently when there is
 * no driver (libcuda.so.1 not loadable: the module is then not loaded at all) or no device (or
 * the build made no module), with one warning line saying why for
 * anything else (the module or a library it needs is missing, the driver is older than the
 * runtime, the device fails to start). cuda is an error in every one of those cases. */
#ifndef BACKEND_SELECT_H
#define BACKEND_SELECT_H

#include "backend/backend.h"

/* device_pref: "auto" | "cpu" | "cuda" (NULL = "auto"). threads: CPU threads (<= 0: all cores).
 * Returns C_OK with be initialised, or C_ERR after one line naming the cause, e.g. "cuda
 * requested but no CUDA device is visible (...)". Free with backend_free. */
int backend_select(backend *be, const char *device_pref, int threads);
/* The same with deterministic mode for the GPU (deterministic cuDNN algorithms). */
int backend_select_ex(backend *be, const char *device_pref, int threads, int deterministic);

/* 1 when the CUDA module loads and finds a working device (backend/cuda_init.h). */
int backend_cuda_available(void);

#endif
