/* cuda_module.c: the host side of the CUDA module (backend/cuda_init.h): finds it, loads it
 * with dlopen once per process, probes once, and wraps its init. Nothing here links CUDA.
 * CUDA_MODULE_BUILT comes from mk/cuda.mk (1 built, 0 not found, -1 NO_CUDA=1). */
#include "backend/cuda_init.h"

#include <dlfcn.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/errors.h"

#ifndef CUDA_MODULE_BUILT
#define CUDA_MODULE_BUILT 0
#endif

#define MODULE_NAME "cifar-cuda.so"

static const cuda_module *mod;
static int mod_tried;
static char mod_why[PATH_MAX + 512];
static char mod_path[PATH_MAX + 32];
static cuda_probe probe;
static int probed;

int backend_cuda_built(void) { return CUDA_MODULE_BUILT; }

/* The module's lines go through err_msg, so the stage name and err_capture apply. */
static int host_msg(const char *where, const char *text) { return err_msg(where, "%s", text); }

/* $CIFAR_CUDA_MODULE, else the first <dir>/lib/cifar-cuda.so going up from the executable's
 * folder (at most three levels), else the first of those candidates (its absence is the error). */
static void module_locate(char *out, size_t cap)
{
    const char *env = getenv("CIFAR_CUDA_MODULE");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) {
        snprintf(out, cap, "%s", MODULE_NAME);   /* the dynamic linker's search path */
        return;
    }
    dir[n] = 0;
    char first[PATH_MAX + 32] = "";
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(dir, '/');
        if (!slash) break;
        *slash = 0;   /* up 0 strips the executable's own name */
        if (up == 0) continue;
        char cand[PATH_MAX + 32];
        snprintf(cand, sizeof cand, "%s/lib/%s", dir, MODULE_NAME);
        if (!first[0]) snprintf(first, sizeof first, "%s", cand);
        if (access(cand, F_OK) == 0) {
            snprintf(out, cap, "%s", cand);
            return;
        }
    }
    snprintf(out, cap, "%s", first[0] ? first : MODULE_NAME);   /* none exists: name the nearest */
}

static const cuda_module *module_load(void)
{
    if (mod_tried) return mod;
    mod_tried = 1;
    module_locate(mod_path, sizeof mod_path);
    dlerror();
    void *h = dlopen(mod_path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        /* dlerror names the file that is missing: the module itself or a library it needs */
        snprintf(mod_why, sizeof mod_why, "cannot load the CUDA module %s: %s", mod_path, e ? e : "dlopen failed");
        return NULL;
    }
    cuda_module_entry_fn entry;
    *(void **)&entry = dlsym(h, CUDA_MODULE_ENTRY);
    const cuda_module *m = entry ? entry(CUDA_MODULE_ABI, host_msg) : NULL;
    if (!m || m->abi != CUDA_MODULE_ABI || m->iface_size != sizeof(backend_iface) || m->tensor_size != sizeof(tensor)) {
        snprintf(mod_why, sizeof mod_why, "the CUDA module %s %s (rebuild it with make)", mod_path,
                 entry ? "was built from other sources than this program" : "has no " CUDA_MODULE_ENTRY);
        dlclose(h);
        return NULL;
    }
    mod = m;   /* kept loaded for the life of the process */
    return mod;
}

const cuda_probe *backend_cuda_probe(const char **why)
{
    const cuda_module *m = module_load();
    if (!m) {
        if (why) *why = mod_why;
        return NULL;
    }
    if (!probed) {
        m->probe(&probe);
        probed = 1;
    }
    if (why) *why = probe.status == CUDA_PROBE_OK ? "" : probe.error;
    return &probe;
}

/* 13000 -> "13.0", 12080 -> "12.8" (CUDA's major*1000 + minor*10) */
static const char *cuda_ver(int v, char *buf, size_t cap)
{
    if (v <= 0) snprintf(buf, cap, "%s", v == 0 ? "none" : "unknown");
    else snprintf(buf, cap, "%d.%d", v / 1000, v % 1000 / 10);
    return buf;
}

const char *backend_cuda_describe(const cuda_probe *p, char *buf, size_t cap)
{
    char d[16], r[16];
    int n = snprintf(buf, cap, "%s; driver %s, runtime %s", p->error, cuda_ver(p->driver, d, sizeof d),
                     cuda_ver(p->runtime, r, sizeof r));
    if (p->driver > 0 && p->runtime > p->driver && n > 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, " (the CUDA %s runtime needs a driver that supports CUDA %s%s)", r, r,
                 p->runtime >= 13000 ? ": R580 or newer" : "");
    return buf;
}

int backend_cuda_driver_installed(void)
{
    static int known = -1;
    /* kept open: the runtime loads the same library when the module starts */
    if (known < 0) known = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL) != NULL;
    return known;
}

int backend_cuda_available(void)
{
    const cuda_probe *p = backend_cuda_probe(NULL);
    return p && p->status == CUDA_PROBE_OK && p->devices > 0;
}

static void report_found(const cuda_probe *p)
{
    static int said;
    if (said++) return;
    char d[16], r[16];
    fprintf(stderr, "%s: cuda: %s, %d device%s; driver %s, runtime %s, cuDNN %zu.%zu.%zu, cuBLAS %d.%d.%d; module %s\n",
            err_stage(), p->device, p->devices, p->devices == 1 ? "" : "s", cuda_ver(p->driver, d, sizeof d),
            cuda_ver(p->runtime, r, sizeof r), p->cudnn / 10000, p->cudnn / 100 % 100, p->cudnn % 100, p->cublas / 10000,
            p->cublas / 100 % 100, p->cublas % 100, mod_path);
}

int backend_cuda_init_why(backend *be, int device, int deterministic, int allow_tf32, char *why, size_t cap)
{
    why[0] = 0;
    if (CUDA_MODULE_BUILT != 1 && !getenv("CIFAR_CUDA_MODULE")) {
        snprintf(why, cap, "this build has no CUDA backend (%s)",
                 CUDA_MODULE_BUILT < 0 ? "built with NO_CUDA=1" : "make found no nvcc, cuDNN or cuBLAS: its first line says which");
        return C_ERR;
    }
    const char *load_why;
    const cuda_probe *p = backend_cuda_probe(&load_why);
    if (!p) {
        snprintf(why, cap, "%s", load_why);
        return C_ERR;
    }
    char desc[768];
    if (p->status != CUDA_PROBE_OK) {
        backend_cuda_describe(p, desc, sizeof desc);
        if (p->status == CUDA_PROBE_NO_GPU) snprintf(why, cap, "no CUDA device is visible (%s)", desc);
        else snprintf(why, cap, "CUDA does not work: %s", desc);
        return C_ERR;
    }
    /* the module's own line (the failing call) with the versions it ran under */
    char line[1024] = "";
    err_capture(line, sizeof line);
    int rc = mod->init(be, device, deterministic, allow_tf32);
    err_capture(NULL, 0);
    if (rc == C_OK) {
        report_found(p);
        return C_OK;
    }
    char d[16], r[16];
    snprintf(why, cap, "%s (on %s; driver %s, runtime %s, cuDNN %zu, cuBLAS %d)", strncmp(line, "cuda: ", 6) ? line : line + 6,
             p->device, cuda_ver(p->driver, d, sizeof d), cuda_ver(p->runtime, r, sizeof r), p->cudnn, p->cublas);
    return C_ERR;
}

int backend_cuda_init_ex(backend *be, int device, int deterministic, int allow_tf32)
{
    char why[1536];
    if (backend_cuda_init_why(be, device, deterministic, allow_tf32, why, sizeof why) == C_OK) return C_OK;
    return err_msg("cuda", "%s", why);
}

int backend_cuda_init(backend *be, int device, int deterministic)
{
    return backend_cuda_init_ex(be, device, deterministic, 1);
}

const char *backend_cuda_device_name(const backend *be)
{
    if (!mod || !be->iface || strcmp(be->iface->name, "cuda")) return "";
    return mod->device_name(be);
}

int backend_gpu_visible(char *what, size_t cap)
{
    glob_t g;
    int found = glob("/dev/nvidia[0-9]*", 0, NULL, &g) == 0 && g.gl_pathc > 0;
    if (found && what) snprintf(what, cap, "%s", g.gl_pathv[0]);
    globfree(&g);
    if (found) return 1;
    FILE *f = popen("nvidia-smi -L 2>/dev/null", "r");
    if (!f) return 0;
    char line[512];
    while (!found && fgets(line, sizeof line, f))
        if (!strncmp(line, "GPU ", 4)) {
            found = 1;
            if (what) {
                line[strcspn(line, "\n")] = 0;
                snprintf(what, cap, "nvidia-smi -L: %s", line);
            }
        }
    pclose(f);
    return found;
}

int backend_cuda_start_if_visible(backend *be, int deterministic, int allow_tf32, char *why, size_t cap)
{
    char seen[256] = "";
    int visible = backend_gpu_visible(seen, sizeof seen);
    if (!visible && backend_cuda_available()) visible = 1, snprintf(seen, sizeof seen, "the CUDA runtime sees one");
    if (!visible || backend_cuda_built() < 0) {
        snprintf(why, cap, "%s", backend_cuda_built() < 0 ? "built with NO_CUDA=1"
                                 : backend_cuda_built() ? "no GPU visible (no /dev/nvidia*, no GPU in nvidia-smi -L)"
                                                        : "no GPU visible (and this build has no CUDA module)");
        return 0;
    }
    char line[1536];
    if (backend_cuda_init_why(be, 0, deterministic, allow_tf32, line, sizeof line) == C_OK) return 1;
    snprintf(why, cap, "a GPU is visible (%s) but the CUDA backend did not start: %s", seen, line);
    return -1;
}
