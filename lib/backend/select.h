/* select.h: picks the compute backend for a stage: "auto" (the GPU when the CUDA backend
 * was compiled in and a device is visible, else the CPU), "cpu" or "cuda". The environment
 * variable DEVICE, when set and non-empty, overrides the params value. CUDA_TF32=0 in the
 * environment keeps cuDNN convolutions in full FP32 (default: TF32 allowed, as in PyTorch). */
#ifndef BACKEND_SELECT_H
#define BACKEND_SELECT_H

#include "backend/backend.h"

/* device_pref: "auto" | "cpu" | "cuda" (NULL = "auto"). threads: CPU threads (<= 0: all cores).
 * Returns C_OK with be initialised, or C_ERR after one line, e.g. when "cuda" is asked for on a
 * machine without a GPU or in a build without CUDA. Free with backend_free. */
int backend_select(backend *be, const char *device_pref, int threads);
/* The same with deterministic mode for the GPU (deterministic cuDNN algorithms). */
int backend_select_ex(backend *be, const char *device_pref, int threads, int deterministic);

/* 1 when the CUDA backend is compiled in and at least one device is visible. */
int backend_cuda_available(void);

#endif
