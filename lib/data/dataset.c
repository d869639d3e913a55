/* dataset.c: load and validate a packed image set (see dataset.h). */
#include "data/dataset.h"

#include <string.h>

#include "core/errors.h"

int dataset_load(dataset *d, const char *path)
{
    memset(d, 0, sizeof *d);
    if (safetensors_read(&d->file, path) != C_OK) return C_ERR;
    const safetensors_tensor *img = safetensors_expect(&d->file, "images", SAFETENSORS_U8, 4);
    const safetensors_tensor *lab = img ? safetensors_expect(&d->file, "labels", SAFETENSORS_U8, 1) : NULL;
    if (!img || !lab) goto fail;
    if (img->shape[3] != 3) { err_msg(path, "images: expected 3 channels, got %lld", (long long)img->shape[3]); goto fail; }
    if (img->shape[0] < 1 || img->shape[1] < 1 || img->shape[2] < 1 || img->shape[0] > INT32_MAX ||
        img->shape[1] > 4096 || img->shape[2] > 4096) {
        err_msg(path, "images: bad shape [%lld, %lld, %lld, 3]", (long long)img->shape[0],
                (long long)img->shape[1], (long long)img->shape[2]);
        goto fail;
    }
    if (lab->shape[0] != img->shape[0]) {
        err_msg(path, "labels: %lld labels for %lld images", (long long)lab->shape[0], (long long)img->shape[0]);
        goto fail;
    }
    d->n = (int)img->shape[0];
    d->h = (int)img->shape[1];
    d->w = (int)img->shape[2];
    d->images = img->data;
    d->labels = lab->data;
    d->n_classes = 10;
    const char *classes = safetensors_meta(&d->file, "classes");
    if (classes) {
        int n = 1;
        for (const char *p = classes; *p; p++) n += *p == ',';
        if (!*classes || n > DATASET_MAX_CLASSES) { err_msg(path, "classes: bad metadata '%s'", classes); goto fail; }
        d->n_classes = n;
    }
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] >= d->n_classes) {
            err_msg(path, "labels[%d] = %d: not below the %d classes", i, d->labels[i], d->n_classes);
            goto fail;
        }
    return C_OK;
fail:
    dataset_free(d);
    return C_ERR;
}

void dataset_free(dataset *d)
{
    if (d->file.buffer || d->file.path) safetensors_free(&d->file);
    memset(d, 0, sizeof *d);
}
