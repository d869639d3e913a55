/* png_io.h: 8-bit RGB PNG read/write with libpng.
 *
 * png_io_decode_rgb converts gray, palette, 16-bit and alpha images to 8-bit RGB (alpha dropped)
 * and refuses an image whose header claims more than max_w x max_h before allocating anything.
 * Errors name `where` (a file path or an archive entry). */
#ifndef PNG_IO_H
#define PNG_IO_H

#include <stddef.h>
#include <stdint.h>

/* Decodes a PNG held in memory into rgb (w*h*3 bytes, allocated by the caller with room for
 * max_w*max_h*3); *w and *h receive the size. */
int png_io_decode_rgb(const void *data, size_t len, const char *where, uint8_t *rgb, int max_w,
                   int max_h, int *w, int *h);
/* Reads a PNG file; *rgb is malloc'd (w*h*3). */
int png_io_read_rgb(const char *path, uint8_t **rgb, int *w, int *h, int max_w, int max_h);
/* Encodes w x h RGB to a PNG in memory; *out is malloc'd. */
int png_io_encode_rgb(const uint8_t *rgb, int w, int h, void **out, size_t *out_len);
/* Writes a PNG file atomically. */
int png_io_write_rgb(const char *path, const uint8_t *rgb, int w, int h);

#endif
