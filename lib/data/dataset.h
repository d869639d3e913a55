/* dataset.h: the packed image tensors of the sort stage, loaded and validated (every error
 * names the file). The stats stage's normalisation statistics are in data/norm_stats.h.
 *
 * data/{train,test}.safetensors: `images` U8 [N, H, W, 3] (NHWC, RGB), `labels` U8 [N], metadata
 * `classes` (comma-separated names in label order). */
#ifndef DATASET_H
#define DATASET_H

#include <stdint.h>

#include "io/safetensors.h"

#define DATASET_MAX_CLASSES 256

typedef struct dataset {
    safetensors_file file;             /* owns the bytes that images/labels point into */
    const uint8_t *images;    /* [n, h, w, 3] */
    const uint8_t *labels;    /* [n], each < n_classes */
    int n, h, w;
    int n_classes;            /* from the `classes` metadata (10 when absent) */
} dataset;

/* Reads and validates path (tensor names, dtypes, ranks, 3 channels, matching N, labels in
 * range). On error prints `stage: path: what` and returns C_ERR with d empty. */
int dataset_load(dataset *d, const char *path);
void dataset_free(dataset *d);

/* Bytes of image i (HWC). */
static inline const uint8_t *dataset_image(const dataset *d, int i)
{
    return d->images + (size_t)i * d->h * d->w * 3;
}

#endif
