#include "data/dataset.h"

#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/params.h"

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

static int read_triple(const char *path, const cJSON *root, const char *key, double out[3])
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_GetArraySize(a) != 3) return err_msg(path, "%s: must be an array of 3 numbers", key);
    for (int c = 0; c < 3; c++) {
        const cJSON *v = cJSON_GetArrayItem(a, c);
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return err_msg(path, "%s[%d]: must be a finite number", key, c);
        out[c] = v->valuedouble;
    }
    return C_OK;
}

int norm_stats_load(const char *path, norm_stats *ns, double mean_out[3], double std_out[3])
{
    static const p_field fields[] = {
        { "mean", P_ARRAY, 1, 0, 0, 0 },
        { "std", P_ARRAY, 1, 0, 0, 0 },
        { "count", P_INT, 0, 1, 1e15, 0 },
    };
    json_doc doc;
    if (json_load(&doc, path) != C_OK) return C_ERR;
    double mean[3], std[3];
    int rc = params_check(path, "", doc.root, fields, 3);
    if (rc == C_OK) rc = read_triple(path, doc.root, "mean", mean);
    if (rc == C_OK) rc = read_triple(path, doc.root, "std", std);
    for (int c = 0; rc == C_OK && c < 3; c++) {
        if (!(mean[c] >= 0 && mean[c] <= 1)) rc = err_msg(path, "mean[%d]: must be in [0, 1]", c);
        else if (!(std[c] > 0 && std[c] <= 1)) rc = err_msg(path, "std[%d]: must be in (0, 1]", c);
    }
    json_free(&doc);
    if (rc != C_OK) return C_ERR;
    norm_stats_init(ns, mean, std);
    if (mean_out) memcpy(mean_out, mean, sizeof mean);
    if (std_out) memcpy(std_out, std, sizeof std);
    return C_OK;
}
