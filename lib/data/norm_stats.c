#include "data/norm_stats.h"

#include "core/atomic.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>

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
