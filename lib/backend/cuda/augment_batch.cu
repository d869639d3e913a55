/* augment_batch.cu: the device batch op of ops/augment_batch.h, augment_image (lib/data/augment.c)
 * as a kernel over the dataset resident on the device, with the same index maths and draws, so
 * every pixel equals the CPU's. One thread per output pixel (all three channels); each thread
 * recomputes its image's Philox block, which is cheaper than a second kernel launch. */
#include "backend/cuda/cuda_backend.h"

#include <string.h>

/* The kernel's arguments: device pointers into the op's tensors. */
typedef struct augment_args {
    const uint8_t *images;     /* [N, h, w, 3] */
    const uint8_t *labels;     /* [N], or NULL: no labels gathered */
    const float *lut;          /* [3][256]: norm_stats.lut */
    const uint32_t *ids;       /* [n]: dataset index of each batch slot */
    int n, h, w;
    int train;                 /* 1: augment with the style and (seed, pass); 0: normalise only */
    augment_style st;
    uint64_t seed;
    uint32_t pass;
    float *out;                /* [n, 3, h, w] */
    uint8_t *labels_out;       /* [n], or NULL */
} augment_args;

__global__ void augment_kernel(augment_args a)
{
    const size_t plane = (size_t)a.h * a.w, total = (size_t)a.n * plane;
    for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total; t += (size_t)gridDim.x * blockDim.x) {
        int i = (int)(t / plane), y = (int)(t % plane) / a.w, x = (int)(t % plane) % a.w;
        uint32_t id = a.ids[i];
        int flip = 0, row = 0, col = 0, pad = 0;
        if (a.train) {
            /* augment_choose */
            uint32_t wd[4], fw[4] = { 0, 0, 0, 0 };
            philox_block(a.seed, RNG_AUGMENT, a.pass, id, wd);
            if (a.st.flip && a.st.flip_mode == AUGMENT_FLIP_ALTERNATE)
                philox_block(a.seed, RNG_AUGMENT, AUGMENT_BATCH_PASS_FLIP, id, fw);
            pad = a.st.pad;
            augment_batch_draw_style(wd, fw, &a.st, a.pass, &flip, &row, &col);
        }
        /* augment_apply */
        int sx = augment_batch_src_col_mode(x, a.w, pad, flip, col, a.st.pad_mode),
            sy = augment_batch_src_row_mode(y, a.h, pad, row, a.st.pad_mode);
        const uint8_t *p = a.images + ((size_t)id * plane + (size_t)sy * a.w + sx) * 3;
        float *o = a.out + (size_t)i * 3 * plane + (size_t)y * a.w + x;
        o[0] = a.lut[p[0]];
        o[plane] = a.lut[256 + p[1]];
        o[2 * plane] = a.lut[512 + p[2]];
        if (a.labels_out && y == 0 && x == 0) a.labels_out[i] = a.labels[id];
    }
}

/* The backend_iface entry: a batch from the dataset tensors resident on the device. */
int cuda_augment_batch(void *ctx, const tensor *images, const tensor *labels, const tensor *lut,
                          const tensor *ids, long first, int n, int augment, const augment_style *style,
                          uint64_t seed, uint32_t pass, tensor *out, tensor *labels_out)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    if (images->dtype != DT_U8 || images->ndim != 4 || images->shape[3] != 3 || lut->dtype != DT_F32 ||
        tensor_numel(lut) != 768 || ids->dtype != DT_I32 || first < 0 || n < 1 ||
        (size_t)first + (size_t)n > tensor_numel(ids) || style->pad < 0 || out->dtype != DT_F32 ||
        tensor_numel(out) < (size_t)n * 3 * images->shape[1] * images->shape[2] ||
        (labels_out && (!labels || labels->dtype != DT_U8 || labels_out->dtype != DT_U8 ||
                        tensor_numel(labels_out) < (size_t)n)))
        return err_msg("augment", "invalid device batch description");
    augment_args a;
    memset(&a, 0, sizeof a);
    a.images = (const uint8_t *)images->data;
    a.labels = labels_out ? (const uint8_t *)labels->data : NULL;
    a.lut = (const float *)lut->data;
    a.ids = (const uint32_t *)ids->data + first;
    a.n = n;
    a.h = images->shape[1];
    a.w = images->shape[2];
    a.train = augment;
    a.st = *style;
    a.seed = seed;
    a.pass = pass;
    a.out = (float *)out->data;
    a.labels_out = labels_out ? (uint8_t *)labels_out->data : NULL;
    LAUNCH_RET(c, augment_kernel, cuda_blocks((size_t)n * a.h * a.w), CUDA_THREADS, a);
    return C_OK;
}
