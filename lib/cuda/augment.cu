/* augment.cu: augment_image (lib/augment.c) as a kernel; see augment_cuda.h. One thread per
 * output pixel (all three channels); each thread recomputes its image's Philox block, which is
 * cheaper than a second kernel launch. */
#include "cuda/cuda_internal.h"
#include "cuda/augment_cuda.h"
#include "philox.h"

#include <string.h>
extern "C" {
#include "rng.h"
}

/* cv2.BORDER_REFLECT, as augment_reflect */
__device__ __forceinline__ int reflect(int i, int n)
{
    if (i < 0) return -i - 1;
    if (i >= n) return 2 * n - 1 - i;
    return i;
}

__global__ void augment_kernel(cuda_augment_args a)
{
    const size_t plane = (size_t)a.h * a.w, total = (size_t)a.n * plane;
    for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total; t += (size_t)gridDim.x * blockDim.x) {
        int i = (int)(t / plane), y = (int)(t % plane) / a.w, x = (int)(t % plane) % a.w;
        uint32_t id = a.ids[i];
        int flip = 0, row = 0, col = 0, pad = 0;
        if (a.train) {
            /* augment_choose: words 0, 1, 2 are flip, row, column */
            uint32_t wd[4];
            philox_block(a.seed, RNG_AUGMENT, a.pass, id, wd);
            int span = 2 * a.pad;
            pad = a.pad;
            flip = a.flip ? philox_to_float(wd[0]) < 0.5f : 0;
            row = span ? (int)(philox_to_float(wd[1]) * (float)span) : 0;
            col = span ? (int)(philox_to_float(wd[2]) * (float)span) : 0;
        }
        /* augment_apply */
        int pc = col + x;
        if (flip) pc = a.w + 2 * pad - 1 - pc;
        int sx = reflect(pc - pad, a.w), sy = reflect(row + y - pad, a.h);
        const uint8_t *p = a.images + ((size_t)id * plane + (size_t)sy * a.w + sx) * 3;
        float *o = a.out + (size_t)i * 3 * plane + (size_t)y * a.w + x;
        o[0] = a.lut[p[0]];
        o[plane] = a.lut[256 + p[1]];
        o[2 * plane] = a.lut[512 + p[2]];
        if (a.labels_out && y == 0 && x == 0) a.labels_out[i] = a.labels[id];
    }
}

extern "C" int cuda_augment_batch(backend *be, const cuda_augment_args *a)
{
    if (!be->iface || strcmp(be->iface->name, "cuda")) return err_msg("augment", "the GPU data path needs the CUDA backend");
    if (a->n < 1 || a->h < 1 || a->w < 1 || a->pad < 0 || (a->labels_out && !a->labels))
        return err_msg("augment", "invalid batch description");
    cuda_ctx *c = (cuda_ctx *)be->ctx;
    LAUNCH_RET(c, augment_kernel, cuda_blocks((size_t)a->n * a->h * a->w), CUDA_THREADS, *a);
    return C_OK;
}
