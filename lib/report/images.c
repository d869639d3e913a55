/* images.c: the "view data" pictures of the report, written as PNG rows so the HTML can
 * put a class name beside each row: samples_<c>.png holds the first REPORT_SAMPLES_PER_CLASS training
 * images of class c; augment_0.png holds the first training image of every class, and
 * augment_<p>.png (p = 1..REPORT_AUG_PASSES) the same images through the training transform with the
 * draws of pass p-1, denormalised back to pixels as fastai's data viewer does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "core/errors.h"
#include "io/png_io.h"
#include "report/internal.h"

#define GAP 2   /* white pixels between images */

/* Copies an h x w HWC image into the row canvas at slot i. */
static void blit(uint8_t *row, int row_w, const uint8_t *img, int h, int w, int slot)
{
    int x0 = slot * (w + GAP);
    for (int y = 0; y < h; y++)
        memcpy(row + ((size_t)y * row_w + x0) * 3, img + (size_t)y * w * 3, (size_t)w * 3);
}

static int write_row(const char *dir, const char *name, const uint8_t *const *imgs, int n, int h, int w)
{
    int row_w = n * w + (n - 1) * GAP;
    uint8_t *row = xmalloc((size_t)row_w * h * 3);
    memset(row, 255, (size_t)row_w * h * 3);
    for (int i = 0; i < n; i++)
        if (imgs[i]) blit(row, row_w, imgs[i], h, w, i);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = png_io_write_rgb(path, row, row_w, h);
    free(row);
    return rc;
}

/* CHW normalised floats back to HWC bytes: (x * std + mean) * 255, rounded and clamped. */
static void denormalise(const float *chw, int h, int w, const report_data *d, uint8_t *hwc)
{
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < h * w; i++) {
            double v = (chw[(size_t)c * h * w + i] * d->std[c] + d->mean[c]) * 255.0;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            hwc[(size_t)i * 3 + c] = (uint8_t)lround(v);
        }
}

int report_images_write(const report_page *r, const char *dir)
{
    const report_data *d = &r->data;
    const dataset *tr = &d->train;
    int h = tr->h, w = tr->w, k = d->n_classes, rc = C_OK;
    const uint8_t **imgs = xcalloc((size_t)(k > REPORT_SAMPLES_PER_CLASS ? k : REPORT_SAMPLES_PER_CLASS),
                                   sizeof *imgs);
    int *first = xmalloc(sizeof *first * (size_t)k);
    char name[64];

    for (int c = 0; c < k && rc == C_OK; c++) {
        int got = 0;
        first[c] = -1;
        for (int i = 0; i < tr->n && got < REPORT_SAMPLES_PER_CLASS; i++)
            if (tr->labels[i] == c) {
                if (first[c] < 0) first[c] = i;
                imgs[got++] = dataset_image(tr, i);
            }
        for (int g = got; g < REPORT_SAMPLES_PER_CLASS; g++) imgs[g] = NULL;   /* left white */
        snprintf(name, sizeof name, "samples_%d.png", c);
        rc = write_row(dir, name, imgs, REPORT_SAMPLES_PER_CLASS, h, w);
    }

    /* Augmented rows: pass 0 is the untouched image, then the training transform. */
    augment_cfg cfg = { .pad = h / 8, .flip = 1, .seed = 0 };
    float *chw = xmalloc(sizeof *chw * (size_t)3 * h * w);
    uint8_t *pix = xmalloc((size_t)k * h * w * 3);
    for (int p = 0; p <= REPORT_AUG_PASSES && rc == C_OK; p++) {
        for (int c = 0; c < k; c++) {
            imgs[c] = NULL;
            if (first[c] < 0) continue;
            const uint8_t *src = dataset_image(tr, first[c]);
            if (p == 0) { imgs[c] = src; continue; }
            augment_image(src, h, w, &d->norm, &cfg, (uint32_t)(p - 1), (uint32_t)first[c], chw);
            denormalise(chw, h, w, d, pix + (size_t)c * h * w * 3);
            imgs[c] = pix + (size_t)c * h * w * 3;
        }
        snprintf(name, sizeof name, "augment_%d.png", p);
        rc = write_row(dir, name, imgs, k, h, w);
    }
    free(chw);
    free(pix);
    free(imgs);
    free(first);
    return rc;
}
