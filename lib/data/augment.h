/* augment.h: fastai's per-image training transform (fastai-semantics.md §2.2), uint8 HWC in,
 * normalised float CHW out.
 *
 * Train transform (the default, fastai's), in this order: reflect-pad by `pad` with the edge pixel
 * repeated (cv2.BORDER_REFLECT, fedcba|abcd...), horizontal flip of the padded image with p = 0.5,
 * random crop back to h x w at offsets floor(u * 2*pad) on each axis (0..7 for pad 4), then
 * (x/255 - mean)/std per channel. The three draws (flip, row, col) are the words 0, 1, 2 of
 * rng_block(seed, RNG_AUGMENT, pass, image_index): a pure function of the image and the pass, so
 * the result never depends on which thread computes it or in which order. The index maths is
 * ops/augment_batch.h's, shared with the CUDA batch kernel.
 * airbench's transform is the same with three settings changed (ops/augment_batch.h): torch's
 * 'reflect' padding (edge not repeated), every offset 0..2*pad, and alternating flips (each
 * image's fixed random bit XOR the pass's parity).
 * The evaluation transform is normalisation only (fastai's centre crop of the padded image is the
 * identity). */
#ifndef AUGMENT_H
#define AUGMENT_H

#include <stdint.h>

#include "data/norm_stats.h"
#include "ops/augment_batch.h"

/* Training-augmentation settings (params: "augment": {"pad": 4, "flip": true}). */
typedef struct augment_cfg {
    int pad;          /* reflect padding in pixels; 0 disables padding and cropping */
    int flip;         /* 1: random horizontal flip with p = 0.5 */
    uint64_t seed;
    /* params "augment": "pad_mode", "crop", "flip_mode" (0: fastai's, as above) */
    int pad_mode;     /* AUGMENT_PAD_REFLECT_EDGE | AUGMENT_PAD_REFLECT */
    int crop;         /* AUGMENT_CROP_FASTAI | AUGMENT_CROP_ALL */
    int flip_mode;    /* AUGMENT_FLIP_RANDOM | AUGMENT_FLIP_ALTERNATE */
} augment_cfg;

/* The style part of cfg, as the device op takes it. */
augment_style augment_style_of(const augment_cfg *cfg);

/* The random choices for one image in one pass. */
typedef struct augment_draw {
    int flip;         /* 1 = mirror columns of the padded image */
    int row, col;     /* crop offsets into the padded image, in 0 .. 2*pad-1 (0 .. 2*pad: CROP_ALL) */
    int pad_mode;     /* AUGMENT_PAD_* the padding is made with */
} augment_draw;

void augment_choose(const augment_cfg *cfg, uint32_t pass, uint32_t index, augment_draw *d);

/* One image, h x w x 3 uint8 (HWC) -> 3 x h x w float (CHW), augmented with draw d. */
void augment_apply(const uint8_t *src, int h, int w, const norm_stats *ns, int pad,
                   const augment_draw *d, float *dst);

/* Convenience: choose (cfg, pass, index) and apply. */
void augment_image(const uint8_t *src, int h, int w, const norm_stats *ns, const augment_cfg *cfg,
                   uint32_t pass, uint32_t index, float *dst);

/* The evaluation transform: normalisation only, HWC uint8 -> CHW float. */
void augment_normalise(const uint8_t *src, int h, int w, const norm_stats *ns, float *dst);

/* Pass numbers: training epoch e (counted over the whole run) uses pass e; the lr finder uses
 * AUGMENT_PASS_LRFIND; evaluation (TTA) passes use AUGMENT_PASS_TTA + k. Disjoint, so no two
 * uses ever share draws. */
#define AUGMENT_PASS_LRFIND 0x40000000u
#define AUGMENT_PASS_TTA    0x80000000u

#endif
