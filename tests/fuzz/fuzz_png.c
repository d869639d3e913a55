/* fuzz_png.c: libFuzzer harness for the PNG decode path (io/png_io.c as ingest/decode.c calls it,
 * into a 32x32 buffer, and the allocating file reader): any bytes give C_OK with a size inside
 * the limits, or C_ERR, never a crash or a write past the buffer. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/fuzz_input.h"
#include "ingest/ingest.h"
#include "io/png_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly the room the sort stage gives each image, so ASan sees any overrun. */
    uint8_t *rgb = malloc(INGEST_IMAGE_BYTES);
    int w = 0, h = 0;
    if (png_io_decode_rgb(data, size, "fuzz", rgb, INGEST_SIDE, INGEST_SIDE, &w, &h) == 0 &&
        (w < 1 || h < 1 || w > INGEST_SIDE || h > INGEST_SIDE))
        abort();
    free(rgb);

    uint8_t *img = NULL;
    if (png_io_read_rgb(fuzz_input_path(data, size), &img, &w, &h, 256, 256) == 0) {
        if (w < 1 || h < 1 || w > 256 || h > 256) abort();
        for (size_t i = 0; i < (size_t)w * h * 3; i++) fuzz_sink += img[i];
        free(img);
    }
    return 0;
}
