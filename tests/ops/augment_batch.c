/* augment_batch.c: the device batch op's reference and cases. The reference pads, flips and crops
 * an explicit padded copy of each image (numpy's way), independently of the index maths in
 * ops/augment_batch.h. On the CPU, which has no backend entry, the case checks the host twin
 * (lib/data/augment.c's augment_image / augment_normalise) against the reference; on CUDA the
 * kernel's batch is held to the host twin's. Tolerances: 0 everywhere (the same draws and lookup
 * table give the same floats). */
#include "ops/harness.h"

#include <math.h>
#include "core/rng.h"
#include "data/augment.h"

/* one image HWC uint8 -> CHW float: reflect-pad, flip the padded image, crop at (row, col) */
static void ref_augment(const uint8_t *src, int h, int w, const norm_stats *ns, int pad, int pad_mode, int flip, int row,
                        int col, float *dst, uint8_t *padded)
{
    int ph = h + 2 * pad, pw = w + 2 * pad;
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            int sy = y - pad, sx = x - pad;
            if (pad_mode == AUGMENT_PAD_REFLECT) {   /* torch 'reflect': gfedcb|abcdefg|fedcba */
                sy = sy < 0 ? -sy : sy >= h ? 2 * h - 2 - sy : sy;
                sx = sx < 0 ? -sx : sx >= w ? 2 * w - 2 - sx : sx;
            } else {                                 /* cv2.BORDER_REFLECT: fedcba|abcdef|fedcba */
                sy = sy < 0 ? -sy - 1 : sy >= h ? 2 * h - 1 - sy : sy;
                sx = sx < 0 ? -sx - 1 : sx >= w ? 2 * w - 1 - sx : sx;
            }
            int dx = flip ? pw - 1 - x : x;
            for (int c = 0; c < 3; c++) padded[((size_t)y * pw + dx) * 3 + c] = src[((size_t)sy * w + sx) * 3 + c];
        }
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                dst[((size_t)c * h + y) * w + x] = ns->lut[c][padded[((size_t)(row + y) * pw + col + x) * 3 + c]];
}

typedef struct aug_case {
    int n_images, h, w, batch, first, train, pad, flip;
    uint64_t seed;
    uint32_t pass;
    int pad_mode, crop, flip_mode;   /* AUGMENT_PAD_*, AUGMENT_CROP_*, AUGMENT_FLIP_* (0: fastai's) */
} aug_case;

static void aug_run(ops_env *e, const void *param)
{
    const aug_case *c = param;
    const backend_iface *B = ops_iface(e);
    size_t img_bytes = (size_t)c->h * c->w * 3, plane = (size_t)3 * c->h * c->w;
    uint8_t *img = ops_alloc(e, (size_t)c->n_images * img_bytes), *lab = ops_alloc(e, (size_t)c->n_images);
    for (size_t i = 0; i < (size_t)c->n_images * img_bytes; i++) img[i] = (uint8_t)ops_rand_below(e, 256);
    for (int i = 0; i < c->n_images; i++) lab[i] = (uint8_t)(i % 10);
    int32_t *ids = ops_alloc(e, (size_t)(c->first + c->batch) * sizeof(int32_t));
    for (int i = 0; i < c->first + c->batch; i++) ids[i] = (int32_t)ops_rand_below(e, (uint32_t)c->n_images);
    const double mean[3] = { 0.4914, 0.4822, 0.4465 }, sdv[3] = { 0.2470, 0.2435, 0.2616 };
    norm_stats ns;
    norm_stats_init(&ns, mean, sdv);
    float *got = ops_alloc(e, (size_t)c->batch * plane * sizeof(float));
    float *glab = ops_alloc(e, (size_t)c->batch * sizeof(float));
    if (!B->augment_batch) {   /* the CPU: the host twin */
        augment_cfg cfg = { .pad = c->pad, .flip = c->flip, .seed = c->seed, .pad_mode = c->pad_mode, .crop = c->crop,
                            .flip_mode = c->flip_mode };
        for (int i = 0; i < c->batch; i++) {
            uint32_t id = (uint32_t)ids[c->first + i];
            if (c->train) augment_image(img + id * img_bytes, c->h, c->w, &ns, &cfg, c->pass, id, got + i * plane);
            else augment_normalise(img + id * img_bytes, c->h, c->w, &ns, got + i * plane);
            glab[i] = lab[id];
        }
    } else {
        int si[4] = { c->n_images, c->h, c->w, 3 }, sl[1] = { c->n_images }, su[2] = { 3, 256 },
            sid[1] = { c->first + c->batch }, so[4] = { c->batch, 3, c->h, c->w }, slo[1] = { c->batch };
        tensor *timg = ops_tensor_raw(e, DT_U8, 4, si, TL_PLAIN, img), *tlab = ops_tensor_raw(e, DT_U8, 1, sl, TL_PLAIN, lab),
               *tlut = ops_tensor_raw(e, DT_F32, 2, su, TL_PLAIN, ns.lut), *tids = ops_tensor_raw(e, DT_I32, 1, sid, TL_PLAIN, ids),
               *tout = ops_tensor_raw(e, DT_F32, 4, so, TL_PLAIN, NULL), *tlo = ops_tensor_raw(e, DT_U8, 1, slo, TL_PLAIN, NULL);
        augment_style st = { c->pad, c->flip, c->pad_mode, c->crop, c->flip_mode };
        OPS_CHECK(e, B->augment_batch(ops_ctx(e), timg, tlab, tlut, tids, c->first, c->batch, c->train, &st,
                                      c->seed, c->pass, tout, tlo) == C_OK);
        got = ops_get(e, tout);
        glab = ops_get(e, tlo);
    }
    double *ref = NULL, *rlab = NULL;
    if (ops_reference(e)) {
        ref = ops_alloc(e, (size_t)c->batch * plane * sizeof(double));
        rlab = ops_alloc(e, (size_t)c->batch * sizeof(double));
        float *one = ops_alloc(e, plane * sizeof(float));
        uint8_t *padded = ops_alloc(e, (size_t)(c->h + 2 * c->pad) * (c->w + 2 * c->pad) * 3);
        for (int i = 0; i < c->batch; i++) {
            uint32_t id = (uint32_t)ids[c->first + i], wd[4];
            int flip = 0, row = 0, col = 0, pad = c->train ? c->pad : 0;
            if (c->train) {
                rng_block(c->seed, RNG_AUGMENT, c->pass, id, wd);
                flip = c->flip && rng_u32_to_float(wd[0]) < 0.5f;
                if (c->flip && c->flip_mode == AUGMENT_FLIP_ALTERNATE) {   /* the image's bit, flipped in odd passes */
                    uint32_t fw[4];
                    rng_block(c->seed, RNG_AUGMENT, AUGMENT_BATCH_PASS_FLIP, id, fw);
                    flip = (rng_u32_to_float(fw[0]) < 0.5f) != (c->pass % 2 == 1);
                }
                double span = c->crop == AUGMENT_CROP_ALL ? 2.0 * pad + 1 : 2.0 * pad;
                row = pad ? (int)floor(rng_u32_to_float(wd[1]) * span) : 0;
                col = pad ? (int)floor(rng_u32_to_float(wd[2]) * span) : 0;
            }
            ref_augment(img + id * img_bytes, c->h, c->w, &ns, pad, c->pad_mode, flip, row, col, one, padded);
            for (size_t k = 0; k < plane; k++) ref[i * plane + k] = one[k];
            rlab[i] = lab[id];
        }
    }
    ops_expect_values(e, "batch", got, (size_t)c->batch * plane, ref, 0, 0);
    ops_expect_values(e, "labels", glab, (size_t)c->batch, rlab, 0, 0);
}

#define AUG(name, ...) { "augment_batch/" name, aug_run, &(const aug_case){ __VA_ARGS__ } }
static const ops_case cases[] = {
    /* images h w batch first train pad flip seed pass */
    AUG("train pad4 flip 32x32, a batch from the middle of the order", 40, 32, 32, 24, 7, 1, 4, 1, 77, 3, 0, 0, 0),
    AUG("eval 32x32 (normalise only)", 40, 32, 32, 24, 7, 0, 4, 1, 77, 3, 0, 0, 0),
    AUG("train pad2 no flip 9x7", 11, 9, 7, 5, 0, 1, 2, 0, 5, 0x80000001u, 0, 0, 0),
    /* airbench's: torch reflect padding, every offset 0..2*pad, alternating flips (even and odd pass) */
    AUG("airbench pad2 reflect, all offsets, alternating flip, pass 0", 40, 32, 32, 24, 7, 1, 2, 1, 77, 0,
        AUGMENT_PAD_REFLECT, AUGMENT_CROP_ALL, AUGMENT_FLIP_ALTERNATE),
    AUG("airbench pad2 reflect, all offsets, alternating flip, pass 5", 40, 32, 32, 24, 7, 1, 2, 1, 77, 5,
        AUGMENT_PAD_REFLECT, AUGMENT_CROP_ALL, AUGMENT_FLIP_ALTERNATE),
    AUG("reflect pad3 random flip 9x7", 11, 9, 7, 5, 0, 1, 3, 1, 5, 2, AUGMENT_PAD_REFLECT, AUGMENT_CROP_FASTAI,
        AUGMENT_FLIP_RANDOM),
};

OPS_SUITE(augment_batch, cases);
