/* select.c: the DEVICE choice (see select.h). The CUDA backend is the module of
 * backend/cuda_init.h, loaded only when the choice is auto or cuda. */
#include "backend/select.h"

#include <stdlib.h>
#include <string.h>
#include "backend/cuda_init.h"
#include "core/errors.h"

/* auto: the GPU when the module loads and finds a working device; no driver or no device is
 * the CPU without a word (so is a build without the module); anything else is the CPU with one
 * line saying why. Without a driver (no libcuda.so.1 to load) the module is not even loaded, so
 * a CPU node lacking the GPU libraries stays quiet; $CIFAR_CUDA_MODULE always loads it. */
static int auto_wants_cuda(const char *where)
{
    int forced = getenv("CIFAR_CUDA_MODULE") != NULL;
    if (backend_cuda_built() != 1 && !forced) return 0;
    if (!forced && !backend_cuda_driver_installed()) return 0;
    const char *why;
    const cuda_probe *p = backend_cuda_probe(&why);
    char desc[768];
    if (!p) err_warn(where, "auto: running on the CPU: %s", why);
    else if (p->status == CUDA_PROBE_ERROR)
        err_warn(where, "auto: running on the CPU: CUDA does not work: %s", backend_cuda_describe(p, desc, sizeof desc));
    return p && p->status == CUDA_PROBE_OK;
}

int backend_select_ex(backend *be, const char *device_pref, int threads, int deterministic)
{
    const char *where = "device", *env = getenv("DEVICE");
    if (env && *env) { device_pref = env; where = "DEVICE"; }
    if (!device_pref || !*device_pref) device_pref = "auto";
    int want_cuda, is_auto = 0;
    if (!strcmp(device_pref, "cpu")) want_cuda = 0;
    else if (!strcmp(device_pref, "cuda")) want_cuda = 1;
    else if (!strcmp(device_pref, "auto")) want_cuda = auto_wants_cuda(where), is_auto = 1;
    else return err_msg(where, "unknown device '%s' (expected auto, cpu or cuda)", device_pref);
    if (!want_cuda) return backend_cpu_init(be, threads);
    const char *tf = getenv("CUDA_TF32");
    int tf32 = !(tf && !strcmp(tf, "0"));
    char why[1536];
    if (backend_cuda_init_why(be, 0, deterministic, tf32, why, sizeof why) == C_OK) return C_OK;
    if (!is_auto) return err_msg(where, "cuda requested but %s", why);
    /* auto with a working device whose backend still fails to start: the CPU, and one line */
    err_warn(where, "auto: running on the CPU: %s", why);
    return backend_cpu_init(be, threads);
}

int backend_select(backend *be, const char *device_pref, int threads)
{
    return backend_select_ex(be, device_pref, threads, 0);
}
