/* tta.h: airbench's test-time augmentation ("tta": "flip_translate" in eval.json, airbench94's
 * tta_level 2): six fixed views of each test image and their weights.
 *
 * Views (of the uint8 image, then normalised like the clean pass): the image (weight 1/4), its
 * mirror (1/4); the crops at (0,0) and at (2,2) of the image reflect-padded by 1 pixel (PyTorch's
 * F.pad 'reflect': the edge pixel is not repeated, dcb|abcd|cba) and their mirrors (1/8 each).
 * airbench: logits = 0.5 * mirror(x) + 0.5 * mean(mirror(crop00), mirror(crop22)), with
 * mirror(z) = 0.5 * net(z) + 0.5 * net(flip z).
 *
 * Our nets end in LogSoftmax, so each view gives log p_v = z_v - lse(z_v), and the weighted mean
 * sum_v w_v log p_v = sum_v w_v z_v - sum_v w_v lse(z_v) differs from airbench's weighted mean of
 * logits by a per-image constant: the same argmax, and (the weights summing to 1) exactly the same
 * softmax. The TTA probabilities are that softmax of the weighted mean log-probability, computed in
 * double: softmax of airbench's averaged logits. */
#ifndef TTA_H
#define TTA_H

#include <stddef.h>
#include <stdint.h>

#include "data/norm_stats.h"

enum { TTA_IDENTITY, TTA_MIRROR, TTA_CROP00, TTA_CROP00_MIRROR, TTA_CROP22, TTA_CROP22_MIRROR, TTA_N_VIEWS };

/* The weight of view v (the six sum to 1). */
double tta_view_weight(int view);

/* View v of one image, h x w x 3 uint8 (HWC), as normalised 3 x h x w floats (CHW). h, w >= 2. */
void tta_view_image(const uint8_t *src, int h, int w, const norm_stats *ns, int view, float *dst);

/* sum[i] += weight * logp[i] for count values. */
void tta_add_weighted(double *sum, const float *logp, double weight, size_t count);

/* probs row r = softmax(sum row r) for n rows of k classes (in double, max subtracted). */
void tta_softmax_rows(const double *sum, size_t n, int k, float *probs);

#endif
