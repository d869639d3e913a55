/* norm_stats.h: per-channel mean and population standard deviation of pixel/255 over a set of
 * uint8 RGB images (the normalisation statistics every later stage reads from stats.json). */
#ifndef NORM_STATS_H
#define NORM_STATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct norm_stats_result {
    double mean[3], std[3];
    long count;            /* number of images */
} norm_stats_result;

/* pixels: count images of pixels_per_image interleaved RGB triples (NHWC). The sums are
 * accumulated exactly in 64-bit integers (thread count cannot change the result) and turned
 * into mean and population std in double precision. */
void norm_stats_compute(const uint8_t *pixels, size_t count, size_t pixels_per_image,
                   norm_stats_result *r);

/* Writes {"mean": [r,g,b], "std": [r,g,b], "count": N} atomically. */
int norm_stats_write_json(const char *path, const norm_stats_result *r);

#endif
