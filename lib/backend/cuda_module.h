/* cuda_module.h: the contract between the programs and the CUDA backend module, a shared object
 * ($(BUILD)/lib/cifar-cuda.so, mk/cuda.mk) that the programs load with dlopen (like ggml's
 * dynamically loaded backends). The module links CUDA, cuBLAS and cuDNN; the programs never do.
 *
 * The module exports one symbol, cifar_cuda_module (CUDA_MODULE_ENTRY): called with the ABI
 * version and the host's message function, it returns its table, or NULL when it was built for
 * another ABI. Both sides are compiled from the same headers; abi, iface_size and tensor_size
 * catch a module left over from another build. The module never exits: its failures are one line
 * each through the host's message function (so err_capture and the stage name apply) and C_ERR.
 * Host side: backend/cuda_init.h. */
#ifndef CUDA_MODULE_H
#define CUDA_MODULE_H

#include <stddef.h>
#include "backend/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUDA_MODULE_ABI 1
#define CUDA_MODULE_ENTRY "cifar_cuda_module"

/* What the module found (probe). */
typedef enum cuda_probe_status {
    CUDA_PROBE_OK = 0,      /* devices >= 1, the runtime works */
    CUDA_PROBE_NO_GPU = 1,  /* no driver installed, or the driver sees no device: not an error */
    CUDA_PROBE_ERROR = 2,   /* anything else (a driver older than the runtime, a failing device):
                             * an error under device cuda, a one-line CPU fallback under auto */
} cuda_probe_status;

typedef struct cuda_probe {
    int status;             /* cuda_probe_status */
    int devices;
    int driver;             /* cudaDriverGetVersion: 13000 = 13.0; 0 = no driver installed */
    int runtime;            /* cudaRuntimeGetVersion */
    size_t cudnn;           /* cudnnGetVersion: 91900 = 9.19.0 */
    int cublas;             /* cublasGetProperty: major*10000 + minor*100 + patch */
    char device[256];       /* device 0's name and compute capability, when status is OK */
    char error[384];        /* why, when status is not OK: "cudaGetDeviceCount: cudaErrorX (text)" */
} cuda_probe;

/* host_msg prints "stage: where: text" as err_msg does and returns C_ERR. */
typedef int (*cuda_host_msg_fn)(const char *where, const char *text);

typedef struct cuda_module {
    int abi;                /* CUDA_MODULE_ABI */
    size_t iface_size;      /* sizeof(backend_iface) */
    size_t tensor_size;     /* sizeof(tensor) */
    /* Fills *p; never fails, never prints. */
    void (*probe)(cuda_probe *p);
    /* The backend on `device` (see backend_cuda_init_ex); C_OK or C_ERR after one line. */
    int (*init)(backend *be, int device, int deterministic, int allow_tf32);
    /* Device name of a backend made by init. */
    const char *(*device_name)(const backend *be);
} cuda_module;

typedef const cuda_module *(*cuda_module_entry_fn)(int abi, cuda_host_msg_fn host_msg);

#ifdef __cplusplus
}
#endif

#endif
