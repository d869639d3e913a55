/* decode.c: decodes every image to 32x32 RGB, in parallel (OpenMP), into the packed
 * [n, 32, 32, 3] array of its split, in index order. */
#include "ingest/ingest.h"

#include "core/errors.h"
#include "io/png_io.h"
#include "core/progress.h"

#include <stdlib.h>
#include <string.h>

/* Decodes one image; C_OK or C_ERR after one message naming the entry. */
static int decode_one(const ingest_image *im, uint8_t *dst)
{
    int w = 0, h = 0;
    if (png_io_decode_rgb(im->png, im->png_len, im->entry, dst, INGEST_SIDE, INGEST_SIDE, &w, &h) != C_OK)
        return C_ERR;
    if (w != INGEST_SIDE || h != INGEST_SIDE)
        return err_msg(im->entry, "image is %dx%d, expected %dx%d", w, h, INGEST_SIDE, INGEST_SIDE);
    return C_OK;
}

int ingest_decode(ingest_set *s)
{
    size_t total = 0;
    for (int k = 0; k < SORT_NSPLITS; k++) total += s->split[k].n;
    progress bar;
    if (s->show_progress) progress_init(&bar, "sort: decode", (long)total);
    size_t done_before = 0;
    int failed = 0;

    for (int k = 0; k < SORT_NSPLITS && !failed; k++) {
        ingest_split *sp = &s->split[k];
        sp->pixels = xmalloc(sp->n * INGEST_IMAGE_BYTES);
        sp->labels = xmalloc(sp->n);
        long n = (long)sp->n, done = 0;
        /* After the first failure the other threads stop taking new images, so at most one
         * image per thread is still being decoded when the error is reported. */
#pragma omp parallel for schedule(dynamic, 64)
        for (long i = 0; i < n; i++) {
            if (ingest_stopped(&failed)) continue;
            ingest_image *im = &sp->items[i];
            sp->labels[i] = (uint8_t)im->label;
            int bad = decode_one(im, sp->pixels + (size_t)i * INGEST_IMAGE_BYTES) != C_OK;
            if (bad) {
#pragma omp atomic write
                failed = 1;
            }
            long d;
#pragma omp atomic capture
            d = ++done;
            if (s->show_progress && (d & 255) == 0) {
#pragma omp critical(sort_progress)
                progress_update(&bar, (long)done_before + d);
            }
        }
        done_before += sp->n;
    }
    if (s->show_progress) {
        if (failed) fputc('\n', stderr);
        else {
            progress_update(&bar, (long)total);
            progress_finish(&bar);
        }
    }
    return failed ? C_ERR : C_OK;
}
