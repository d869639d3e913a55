/* norm_stats.c: normalisation statistics: computed exactly, written to and loaded from stats.json. */
#include "data/norm_stats.h"

#include "core/atomic.h"
#include "core/errors.h"
#include "core/json.h"
#include "core/params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void norm_stats_compute(const uint8_t *pixels, size_t count, size_t pixels_per_image,
                   norm_stats_result *r)
{
    /* Exact: 50,000 x 1,024 x 255^2 is about 3.3e12, far below 2^64. */
    uint64_t sum[3] = {0, 0, 0}, sq[3] = {0, 0, 0};
    long n = (long)count;
#pragma omp parallel
    {
        uint64_t ls[3] = {0, 0, 0}, lq[3] = {0, 0, 0};
#pragma omp for schedule(static)
        for (long i = 0; i < n; i++) {
            const uint8_t *p = pixels + (size_t)i * pixels_per_image * 3;
            for (size_t j = 0; j < pixels_per_image; j++)
                for (int c = 0; c < 3; c++) {
                    uint32_t v = p[3 * j + c];
                    ls[c] += v;
                    lq[c] += v * v;
                }
        }
#pragma omp critical(stats_sum)
        for (int c = 0; c < 3; c++) sum[c] += ls[c], sq[c] += lq[c];
    }
    double total = (double)count * (double)pixels_per_image;
    for (int c = 0; c < 3; c++) {
        double m = total > 0 ? (double)sum[c] / total : 0.0;
        double var = total > 0 ? (double)sq[c] / total - m * m : 0.0;
        r->mean[c] = m / 255.0;
        r->std[c] = sqrt(var > 0 ? var : 0.0) / 255.0;
    }
    r->count = (long)count;
}

int norm_stats_write_json(const char *path, const norm_stats_result *r)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "{\"mean\": [%.10f, %.10f, %.10f], \"std\": [%.10f, %.10f, %.10f], "
                     "\"count\": %ld}\n",
                     r->mean[0], r->mean[1], r->mean[2], r->std[0], r->std[1], r->std[2],
                     r->count);
    return atomic_write(path, buf, (size_t)n);
}

void norm_stats_init(norm_stats *s, const double mean[3], const double std[3])
{
    for (int c = 0; c < 3; c++) {
        s->mean[c] = (float)mean[c];
        s->std[c] = (float)std[c];
        /* numpy: (img.astype(float32)/255 - m.astype(float32)) / s.astype(float32), all float32. */
        for (int v = 0; v < 256; v++) {
            float x = (float)v / 255.0f;
            s->lut[c][v] = (x - s->mean[c]) / s->std[c];
        }
    }
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
