/* dataset.h: the packed image tensors of the sort stage and the normalisation stats of the
 * stats stage, loaded and validated (every error names the file).
 *
 * data/{train,test}.safetensors: `images` U8 [N, H, W, 3] (NHWC, RGB), `labels` U8 [N], metadata
 * `classes` (comma-separated names in label order). stats.json: {"mean": [r,g,b], "std": [r,g,b],
 * "count": N} of pixel/255. */
#ifndef DATASET_H
#define DATASET_H

#include <stdint.h>

#include "data/augment.h"
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

/* Normalisation statistics from stats.json; mean and std are also returned as doubles
 * (for checkpoint metadata) when the pointers are not NULL. std must be > 0. */
int norm_stats_load(const char *path, norm_stats *ns, double mean[3], double std[3]);

#endif
