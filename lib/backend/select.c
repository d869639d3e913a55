/* select.c: the DEVICE choice (see backend_select.h). */
#include "backend/select.h"

#include <stdlib.h>
#include <string.h>
#include "core/errors.h"
#ifdef HAVE_CUDA
#include "backend/cuda_init.h"
#endif

int backend_cuda_available(void)
{
#ifdef HAVE_CUDA
    return backend_cuda_device_count() > 0;
#else
    return 0;
#endif
}

int backend_select_ex(backend *be, const char *device_pref, int threads, int deterministic)
{
    const char *where = "device", *env = getenv("DEVICE");
    if (env && *env) { device_pref = env; where = "DEVICE"; }
    if (!device_pref || !*device_pref) device_pref = "auto";
    int want_cuda;
    if (!strcmp(device_pref, "cpu")) want_cuda = 0;
    else if (!strcmp(device_pref, "cuda")) want_cuda = 1;
    else if (!strcmp(device_pref, "auto")) want_cuda = backend_cuda_available();
    else return err_msg(where, "unknown device '%s' (expected auto, cpu or cuda)", device_pref);
    if (!want_cuda) return backend_cpu_init(be, threads);
#ifdef HAVE_CUDA
    if (backend_cuda_device_count() < 1) return err_msg(where, "cuda requested but no CUDA device is visible");
    const char *tf = getenv("CUDA_TF32");
    int tf32 = !(tf && !strcmp(tf, "0"));
    return backend_cuda_init_ex(be, 0, deterministic, tf32);
#else
    (void)deterministic;
    return err_msg(where, "cuda requested but this build has no CUDA backend (nvcc was not found)");
#endif
}

int backend_select(backend *be, const char *device_pref, int threads)
{
    return backend_select_ex(be, device_pref, threads, 0);
}
