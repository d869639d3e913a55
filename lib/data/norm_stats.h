/* norm_stats.h: per-channel mean and population standard deviation of pixel/255 over a set of
 * uint8 RGB images (the normalisation statistics every later stage reads from stats.json):
 * computed and written by the stats stage, loaded into a lookup table by the others.
 * stats.json: {"mean": [r,g,b], "std": [r,g,b], "count": N} of pixel/255. */
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

/* Per-channel normalisation of pixel/255, as in stats.json. lut[c][v] = ((float)v/255 - mean)/std
 * in float32 exactly as numpy computes it; filled by norm_stats_init. */
typedef struct norm_stats {
    float mean[3], std[3];
    float lut[3][256];
} norm_stats;

void norm_stats_init(norm_stats *s, const double mean[3], const double std[3]);

/* Normalisation statistics from stats.json; mean and std are also returned as doubles
 * (for checkpoint metadata) when the pointers are not NULL. std must be > 0. */
int norm_stats_load(const char *path, norm_stats *ns, double mean[3], double std[3]);

#endif
