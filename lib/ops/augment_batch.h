/* augment_batch.h: the device batch op (gather + training augmentation + normalisation) and the
 * index maths it shares with its host twin, lib/data/augment.c.
 *
 * Backend entry (backend_iface, CUDA only: NULL on the CPU, whose loader calls augment_image):
 *   augment_batch(ctx, images, labels, lut, ids, first, n, augment, pad, flip, seed, pass, out,
 *                 labels_out)
 *       images U8 [N,h,w,3] (NHWC), labels U8 [N], lut F32 [3,256] (norm_stats.lut), ids I32
 *       [>= first+n] (the epoch's order), all on the device. Slot i takes image ids[first+i];
 *       augment = 1 applies the reflect pad / flip / crop below with the draws
 *       rng_block(seed, RNG_AUGMENT, pass, id), 0 only normalises. out: F32 [n,3,h,w] TL_PLAIN;
 *       labels_out U8 [n] or NULL. Queued, never waits.
 *
 * Train transform: reflect-pad by `pad` (cv2.BORDER_REFLECT, edge repeated), flip the padded
 * image with p = 0.5, crop back to h x w at offsets floor(u * 2*pad). */
#ifndef OPS_AUGMENT_BATCH_H
#define OPS_AUGMENT_BATCH_H

#include <stdint.h>
#include "backend/hostdev.h"
#include "core/philox.h"

/* cv2.BORDER_REFLECT index mapping for an axis of length n: i in [-n, 2n) -> [0, n).
 * src(-k) = k-1, src(n-1+k) = n-k. */
OPS_HD int augment_batch_reflect(int i, int n)
{
    if (i < 0) return -i - 1;
    if (i >= n) return 2 * n - 1 - i;
    return i;
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

#endif
