/* cuda_init.h: the CUDA backend as the programs see it (C, always declared; the code is
 * backend/cuda_module.c). The backend itself lives in the module $(BUILD)/lib/cifar-cuda.so
 * (backend/cuda_module.h), loaded with dlopen on first use: the programs link no CUDA library.
 * backend/select.h is what stage code includes.
 *
 * Where the module is: $CIFAR_CUDA_MODULE when set and non-empty, else the first
 * lib/cifar-cuda.so found going up from the executable's folder (build/bin/train ->
 * build/lib/cifar-cuda.so; build/tests/unit/x -> build/lib/cifar-cuda.so), so build/ and
 * build-san/ each use their own. It is loaded and probed once per process and never unloaded.
 *
 * On CUDA, TL_ACT is plain NCHW: every tensor is row-major in its logical shape, so upload,
 * download, flatten and the layout tag are trivial. All work is queued on one stream owned by the
 * context; download and nll_loss wait for it. */
#ifndef CUDA_INIT_H
#define CUDA_INIT_H

#include <stddef.h>
#include "backend/backend.h"
#include "backend/cuda_module.h"

/* 1 when this build made the module (make found nvcc, cuDNN and cuBLAS), 0 when it did not, -1
 * when it was told not to (NO_CUDA=1). */
int backend_cuda_built(void);

/* The module's probe (loading the module first): NULL when the module cannot be loaded, with
 * *why (when why is not NULL) a static line naming the file or library that is missing. Prints
 * nothing. */
const cuda_probe *backend_cuda_probe(const char **why);

/* One line describing a probe that is not OK: its error, the driver and runtime versions, and
 * what a too-old driver needs. Into buf[cap]; returns buf. */
const char *backend_cuda_describe(const cuda_probe *p, char *buf, size_t cap);

/* 1 when the NVIDIA driver's library (libcuda.so.1) can be loaded: without it there is no GPU
 * to use, whatever the module would say (checked without loading the module). */
int backend_cuda_driver_installed(void);

/* 1 when the module loads and its probe found a working device (prints nothing). */
int backend_cuda_available(void);

/* The CUDA backend on `device`. deterministic = 1: only cuDNN algorithms reported
 * CUDNN_DETERMINISTIC are used (our own reductions never use atomics in either mode), so two runs
 * give identical bytes. allow_tf32 = 1 lets cuDNN use TF32 tensor cores for convolutions (as
 * PyTorch does by default); 0 keeps full FP32 (the parity tests use 0). Returns C_OK, printing
 * once per process one line with the device and the driver, runtime, cuDNN and cuBLAS versions;
 * or C_ERR after one line: the module or a library it needs is missing (named), no device is
 * visible, CUDA fails (the CUDA error and both versions), or the failing call. Free with
 * backend_free. */
int backend_cuda_init(backend *be, int device, int deterministic);
int backend_cuda_init_ex(backend *be, int device, int deterministic, int allow_tf32);
/* The same printing nothing on failure: the line goes into why[cap] (for callers that say it
 * their own way, e.g. "device: cuda requested but <why>"). A failure of the module's own start
 * (a failing CUDA, cuDNN or cuBLAS call) carries the device and the four versions. */
int backend_cuda_init_why(backend *be, int device, int deterministic, int allow_tf32, char *why, size_t cap);

/* The device's name, e.g. "NVIDIA H100 80GB HBM3 (sm_90)" ("" for another backend). */
const char *backend_cuda_device_name(const backend *be);

/* 1 when the machine has an NVIDIA GPU whatever CUDA says: a /dev/nvidia<N> device node, or
 * `nvidia-smi -L` listing a GPU. For the tests: with a GPU there, a GPU case that cannot run is a
 * failure, not a skip. what (when not NULL) gets the evidence, e.g. "/dev/nvidia0". */
int backend_gpu_visible(char *what, size_t cap);

/* For the tests' GPU cases: where a GPU is visible, backend_cuda_init_ex. Returns 1 (be is
 * started), 0 (no GPU visible, or a NO_CUDA=1 build: the cases SKIP, why says so) or -1 (a GPU
 * is visible but the backend did not start: the cases FAIL, why names the cause). Prints
 * nothing; why[cap] gets the line. */
int backend_cuda_start_if_visible(backend *be, int deterministic, int allow_tf32, char *why, size_t cap);

#endif
