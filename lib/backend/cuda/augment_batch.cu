/* augment_batch.cu: augment_image (lib/augment.c) as a kernel; see augment_cuda.h. One thread per
 * output pixel (all three channels); each thread recomputes its image's Philox block, which is
 * cheaper than a second kernel launch. */
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/augment_batch.h"
#include "core/philox.h"

#include <string.h>
extern "C" {
#include "core/rng.h"
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

/* The backend_iface entry: a batch from the dataset tensors resident on the device. */
int cuda_augment_batch_op(void *ctx, const tensor *images, const tensor *labels, const tensor *lut,
                          const tensor *ids, long first, int n, int augment, int pad, int flip, uint64_t seed,
                          uint32_t pass, tensor *out, tensor *labels_out)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (images->dtype != DT_U8 || images->ndim != 4 || images->shape[3] != 3 || lut->dtype != DT_F32 ||
        tensor_numel(lut) != 768 || ids->dtype != DT_I32 || first < 0 || n < 1 ||
        (size_t)first + (size_t)n > tensor_numel(ids) || pad < 0 || out->dtype != DT_F32 ||
        tensor_numel(out) < (size_t)n * 3 * images->shape[1] * images->shape[2] ||
        (labels_out && (!labels || labels->dtype != DT_U8 || labels_out->dtype != DT_U8 ||
                        tensor_numel(labels_out) < (size_t)n)))
        return err_msg("augment", "invalid device batch description");
    cuda_augment_args a;
    memset(&a, 0, sizeof a);
    a.images = (const uint8_t *)images->data;
    a.labels = labels_out ? (const uint8_t *)labels->data : NULL;
    a.lut = (const float *)lut->data;
    a.ids = (const uint32_t *)ids->data + first;
    a.n = n;
    a.h = images->shape[1];
    a.w = images->shape[2];
    a.train = augment;
    a.pad = pad;
    a.flip = flip;
    a.seed = seed;
    a.pass = pass;
    a.out = (float *)out->data;
    a.labels_out = labels_out ? (uint8_t *)labels_out->data : NULL;
    LAUNCH_RET(c, augment_kernel, cuda_blocks((size_t)n * a.h * a.w), CUDA_THREADS, a);
    return C_OK;
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
