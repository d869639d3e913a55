/* augment_batch.h: the training transform of augment.h on the GPU, for a device-side data path.
 *
 * The dataset stays on the device as uint8 NHWC ([N, h, w, 3], uploaded once, e.g. into a DT_U8
 * tensor of the CUDA backend); a batch is a list of dataset indices on the device (a slice of the
 * epoch's permutation, uploaded once per epoch). One kernel gathers the batch's images and labels
 * and writes normalised float NCHW straight into the net's input: the same reflect pad (edge
 * repeated), flip, crop and normalisation as augment_image, from the same Philox block
 * rng_block(seed, RNG_AUGMENT, pass, dataset index), so every pixel equals the CPU's. */
#ifndef AUGMENT_CUDA_H
#define AUGMENT_CUDA_H

#include <stdint.h>
#include "backend/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cuda_augment_args {
    const uint8_t *images;     /* device [N, h, w, 3] (borrowed) */
    const uint8_t *labels;     /* device [N], or NULL: no labels gathered */
    const float *lut;          /* device [3][256]: norm_stats.lut uploaded */
    const uint32_t *ids;       /* device [n]: dataset index of each batch slot */
    int n, h, w;
    int train;                 /* 1: augment with pad/flip and (seed, pass); 0: normalise only */
    int pad, flip;
    uint64_t seed;
    uint32_t pass;
    float *out;                /* device [n, 3, h, w] */
    uint8_t *labels_out;       /* device [n], or NULL */
} cuda_augment_args;

/* Queues the batch on the CUDA backend's stream (be must be the CUDA backend). C_OK or C_ERR. */
int cuda_augment_batch(backend *be, const cuda_augment_args *a);

#ifdef __cplusplus
}
#endif

#endif
