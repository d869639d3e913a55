/* png_io.c: 8-bit RGB PNG decode/encode with libpng, memory to memory (see png_io.h).
 * Thread-safe: no globals; each call has its own png_struct and error context, so the sort stage
 * may decode in parallel. */
#include "io/png_io.h"
#include "core/atomic.h"
#include "core/errors.h"
#include "core/fs.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libpng reports errors through a callback that must not return: it records the message here
 * and longjmps back to the setjmp in the caller. */
typedef struct png_ctx {
    const unsigned char *data;
    size_t len, pos;
    char msg[200];
} png_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png; /* warnings (bad ancillary chunks, sRGB profile quirks) do not affect the pixels */
    (void)msg;
}

static void read_mem(png_structp png, png_bytep out, png_size_t n)
{
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->len - c->pos) png_error(png, "truncated PNG data");
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

/* Does every chunk up to IEND fit in the data? libpng allocates the length a chunk header claims
 * before reading the chunk (up to 2 GiB: a 270-byte file made it allocate 485 MB for zTXt). */
static int chunks_fit(const unsigned char *d, size_t len)
{
    size_t p = 8;
    while (len - p >= 8) {   /* a length and a type: libpng allocates once it has read these */
        size_t n = (size_t)d[p] << 24 | (size_t)d[p + 1] << 16 | (size_t)d[p + 2] << 8 | d[p + 3];
        if (n > len - p - 8) return 0;
        if (!memcmp(d + p + 4, "IEND", 4) || n + 12 > len - p) break;   /* last chunk */
        p += 12 + n;
    }
    return 1;   /* a cut-off chunk is reported by libpng as truncated */
}

/* Decodes into rgb when given; otherwise allocates *alloc (w*h*3) once the size is known. */
static int decode(const void *data, size_t len, const char *where, uint8_t *dest, uint8_t **alloc,
                  int max_w, int max_h, int *w, int *h)
{
    if (len < 8 || png_sig_cmp((png_const_bytep)data, 0, 8))
        return err_msg(where, "not a PNG file (bad signature)");
    if (!chunks_fit(data, len)) return err_msg(where, "broken PNG: a chunk is longer than the file");
    png_ctx ctx = {.data = data, .len = len, .pos = 0, .msg = ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return err_msg(where, "out of memory creating the PNG decoder");
    }
    /* Written between setjmp and longjmp, so volatile. */
    png_bytep *volatile rows = NULL;
    uint8_t *volatile owned = NULL;
    volatile int too_big = 0;
    png_uint_32 width = 0, height = 0;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(owned);
        png_destroy_read_struct(&png, &info, NULL);
        if (too_big) return C_ERR;
        return err_msg(where, "broken PNG: %s", ctx.msg[0] ? ctx.msg : "decode failed");
    }
    png_set_read_fn(png, &ctx, read_mem);
    png_read_info(png, info);
    int bit_depth, color_type, interlace;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    /* The header's claim is checked before anything is allocated for the pixels. */
    if (width > (png_uint_32)max_w || height > (png_uint_32)max_h) {
        err_msg(where, "PNG is %lux%lu, larger than the maximum %dx%d", (unsigned long)width,
                (unsigned long)height, max_w, max_h);
        too_big = 1;
        png_longjmp(png, 1);
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_strip_16(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    /* Alpha (real, or from tRNS which palette expansion turns into alpha) is dropped. */
    if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)width * 3)
        png_error(png, "cannot convert to 8-bit RGB");
    uint8_t *rgb = dest ? dest : (owned = malloc((size_t)width * height * 3 + 1));
    rows = malloc(((size_t)height + 1) * sizeof *rows);
    if (!rgb || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = rgb + (size_t)y * width * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    if (alloc) *alloc = owned;
    *w = (int)width;
    *h = (int)height;
    return C_OK;
}

int png_io_decode_rgb(const void *data, size_t len, const char *where, uint8_t *rgb, int max_w,
                   int max_h, int *w, int *h)
{
    return decode(data, len, where, rgb, NULL, max_w, max_h, w, h);
}

int png_io_read_rgb(const char *path, uint8_t **rgb, int *w, int *h, int max_w, int max_h)
{
    *rgb = NULL;
    FILE *f = fs_fopen_read(path);
    if (!f) return C_ERR;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = xmalloc(cap);
    for (;;) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        buf = xrealloc(buf, cap);
    }
    int bad = ferror(f);
    fclose(f);
    int rc = bad ? err_msg(path, "read failed") : decode(buf, n, path, NULL, rgb, max_w, max_h, w, h);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- encoder */

typedef struct png_out {
    unsigned char *buf;
    size_t len, cap;
    char msg[200];
} png_out;

static void write_mem(png_structp png, png_bytep data, png_size_t n)
{
    png_out *o = png_get_io_ptr(png);
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (o->len + n > cap) cap *= 2;
        unsigned char *nb = realloc(o->buf, cap);
        if (!nb) png_error(png, "out of memory");
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, data, n);
    o->len += n;
}

static void flush_mem(png_structp png) { (void)png; }

static void on_write_error(png_structp png, png_const_charp msg)
{
    png_out *o = png_get_error_ptr(png);
    snprintf(o->msg, sizeof o->msg, "%s", msg);
    png_longjmp(png, 1);
}

int png_io_encode_rgb(const uint8_t *rgb, int w, int h, void **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (w <= 0 || h <= 0) return err_msg("PNG encoder", "bad image size %dx%d", w, h);
    png_out o = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &o, on_write_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return err_msg("PNG encoder", "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(o.buf);
        return err_msg("PNG encoder", "%s", o.msg);
    }
    png_set_write_fn(png, &o, write_mem, flush_mem);
    /* No time or text chunks: the same pixels always give the same bytes. */
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * w * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = o.buf;
    *out_len = o.len;
    return C_OK;
}

int png_io_write_rgb(const char *path, const uint8_t *rgb, int w, int h)
{
    void *buf;
    size_t len;
    if (png_io_encode_rgb(rgb, w, h, &buf, &len) != C_OK) return C_ERR; /* already reported */
    int rc = atomic_write(path, buf, len);
    free(buf);
    return rc;
}
