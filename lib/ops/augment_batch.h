/* augment_batch.h: the device batch op (gather + training augmentation + normalisation) and the
 * index maths it shares with its host twin, lib/data/augment.c.
 *
 * Backend entry (backend_iface, CUDA only: NULL on the CPU, whose loader calls augment_image):
 *   augment_batch(ctx, images, labels, lut, ids, first, n, augment, style, seed, pass, out,
 *                 labels_out)
 *       images U8 [N,h,w,3] (NHWC), labels U8 [N], lut F32 [3,256] (norm_stats.lut), ids I32
 *       [>= first+n] (the epoch's order), all on the device. Slot i takes image ids[first+i];
 *       augment = 1 applies the pad / flip / crop of `style` below with the draws
 *       rng_block(seed, RNG_AUGMENT, pass, id) (and, for alternating flips, the image's flip bit
 *       from pass AUGMENT_BATCH_PASS_FLIP), 0 only normalises. out: F32 [n,3,h,w] TL_PLAIN;
 *       labels_out U8 [n] or NULL. Queued, never waits.
 *
 * Train transform: pad by `pad`, flip the padded image, crop back to h x w:
 * - padding: AUGMENT_PAD_REFLECT_EDGE (fastai: cv2.BORDER_REFLECT, the edge pixel repeated,
 *   fedcba|abcdef) or AUGMENT_PAD_REFLECT (torch F.pad mode 'reflect', no repeat, gfedcb|abcdefg);
 * - crop offsets on each axis: AUGMENT_CROP_FASTAI floor(u * 2*pad), 0..2*pad-1 (fastai's
 *   RandomCrop), or AUGMENT_CROP_ALL floor(u * (2*pad+1)), 0..2*pad (airbench's translate:
 *   every shift in -pad..pad; u has 24 bits, so 5 positions are uniform within 3e-7);
 * - flip: AUGMENT_FLIP_RANDOM, p = 0.5 per image and pass; or AUGMENT_FLIP_ALTERNATE
 *   (airbench): the image's own bit (word 0 of rng_block(seed, RNG_AUGMENT,
 *   AUGMENT_BATCH_PASS_FLIP, id) < 0.5, the same in every pass) XOR (pass odd): random in epoch 0,
 *   and each image flipped in exactly every other epoch. */
#ifndef OPS_AUGMENT_BATCH_H
#define OPS_AUGMENT_BATCH_H

#include <stdint.h>
#include "backend/hostdev.h"
#include "core/philox.h"

#define AUGMENT_PAD_REFLECT_EDGE 0
#define AUGMENT_PAD_REFLECT      1
#define AUGMENT_CROP_FASTAI      0
#define AUGMENT_CROP_ALL         1
#define AUGMENT_FLIP_RANDOM      0
#define AUGMENT_FLIP_ALTERNATE   1
/* The pass whose draws give each image's fixed flip bit (training passes are epochs, far below). */
#define AUGMENT_BATCH_PASS_FLIP  0x20000000u

/* What the training transform does (params "augment"; data/augment.h's augment_cfg holds one). */
typedef struct augment_style {
    int pad;          /* pixels; 0: no padding and no crop */
    int flip;         /* 1: flips on */
    int pad_mode;     /* AUGMENT_PAD_* */
    int crop;         /* AUGMENT_CROP_* */
    int flip_mode;    /* AUGMENT_FLIP_* */
} augment_style;

/* cv2.BORDER_REFLECT index mapping for an axis of length n: i in [-n, 2n) -> [0, n).
 * src(-k) = k-1, src(n-1+k) = n-k. */
OPS_HD int augment_batch_reflect(int i, int n)
{
    if (i < 0) return -i - 1;
    if (i >= n) return 2 * n - 1 - i;
    return i;
}

/* torch 'reflect' (numpy 'reflect', cv2.BORDER_REFLECT_101) for an axis of length n: i in
 * [-(n-1), 2n-1) -> [0, n). src(-k) = k, src(n-1+k) = n-1-k. */
OPS_HD int augment_batch_reflect101(int i, int n)
{
    if (i < 0) return -i;
    if (i >= n) return 2 * n - 2 - i;
    return i;
}

OPS_HD int augment_batch_reflect_mode(int i, int n, int pad_mode)
{
    return pad_mode == AUGMENT_PAD_REFLECT ? augment_batch_reflect101(i, n) : augment_batch_reflect(i, n);
}

/* The choices from the image's Philox words, in fastai's order: flip (random.random() < 0.5),
 * then the row, then the column offset. floor(u * span) with u a 24-bit float is exact, and
 * uniform when span divides 2^24. */
OPS_HD void augment_batch_draw(const uint32_t w[4], int pad, int flip_on, int *flip, int *row, int *col)
{
    int span = 2 * pad;
    *flip = flip_on ? philox_to_float(w[0]) < 0.5f : 0;
    *row = span ? (int)(philox_to_float(w[1]) * (float)span) : 0;
    *col = span ? (int)(philox_to_float(w[2]) * (float)span) : 0;
}

/* The choices for a style: w the pass's words, fw the words of the image's flip-bit block (read
 * only for AUGMENT_FLIP_ALTERNATE). The fastai style (reflect-edge, fastai crop, random flip)
 * is augment_batch_draw exactly. */
OPS_HD void augment_batch_draw_style(const uint32_t w[4], const uint32_t fw[4], const augment_style *s,
                                     uint32_t pass, int *flip, int *row, int *col)
{
    augment_batch_draw(w, s->pad, s->flip, flip, row, col);
    if (s->crop == AUGMENT_CROP_ALL && s->pad) {
        int span = 2 * s->pad + 1;
        *row = (int)(philox_to_float(w[1]) * (float)span);
        *col = (int)(philox_to_float(w[2]) * (float)span);
        if (*row >= span) *row = span - 1;   /* rounding of the product cannot reach span; kept safe */
        if (*col >= span) *col = span - 1;
    }
    if (s->flip && s->flip_mode == AUGMENT_FLIP_ALTERNATE)
        *flip = (philox_to_float(fw[0]) < 0.5f) ^ (int)(pass & 1u);
}

/* Source column of output column x (image width w): column col + x of the padded image,
 * mirrored first when flipped (np.fliplr of the padded image). */
OPS_HD int augment_batch_src_col(int x, int w, int pad, int flip, int col)
{
    int pc = col + x;
    if (flip) pc = w + 2 * pad - 1 - pc;
    return augment_batch_reflect(pc - pad, w);
}

/* Source row of output row y (image height h). */
OPS_HD int augment_batch_src_row(int y, int h, int pad, int row)
{
    return augment_batch_reflect(row + y - pad, h);
}

/* The same for a padding mode. */
OPS_HD int augment_batch_src_col_mode(int x, int w, int pad, int flip, int col, int pad_mode)
{
    int pc = col + x;
    if (flip) pc = w + 2 * pad - 1 - pc;
    return augment_batch_reflect_mode(pc - pad, w, pad_mode);
}

OPS_HD int augment_batch_src_row_mode(int y, int h, int pad, int row, int pad_mode)
{
    return augment_batch_reflect_mode(row + y - pad, h, pad_mode);
}

#endif

/* the op's backend entries, outside the include guard: backend/ops_list.h expands them */
#ifdef OP_ENTRY
OP_NAME(augment_batch)
OP_DEVICE_ENTRY(int, augment_batch, (void *ctx, const tensor *images, const tensor *labels, const tensor *lut,
                                     const tensor *ids, long first, int n, int augment,
                                     const augment_style *style, uint64_t seed, uint32_t pass, tensor *out,
                                     tensor *labels_out))
#endif
