/* png_io: RGB round trip, every input colour type converted to 8-bit RGB, and broken or
 * oversized PNGs refused with one line naming `where`. Inputs are produced with libpng here. */
#include "core/atomic.h"
#include "core/fs.h"
#include "core/errors.h"
#include "io/png_io.h"
#include "test.h"
#include "test_stderr.h"

#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <unistd.h>

static char dir[256];
static char err[2048];
static void capture_begin(void) { stderr_capture_begin(); }
/* Restores stderr and leaves what was printed in err[]. */
static void capture_end(void) { stderr_capture_end(err, sizeof err); }

static int one_line(void) { return count_lines(err) == 1; }

/* ---- a general libpng encoder for test inputs (any colour type / depth / palette / tRNS) */

typedef struct membuf { unsigned char *p; size_t n, cap; } membuf;

static void mem_write(png_structp png, png_bytep d, png_size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->n, d, n);
    m->n += n;
}

static void mem_flush(png_structp png) { (void)png; }

typedef struct spec {
    int w, h, color_type, bit_depth, interlace;
    const png_color *palette;
    int n_palette;
    const png_byte *trns;       /* palette alpha */
    int n_trns;
    const png_color_16 *trns_color; /* gray/RGB transparent colour */
} spec;

/* rows: packed scanlines of the given format (16-bit samples big-endian, as PNG stores them). */
static membuf make_png(const spec *s, const unsigned char *pixels, size_t rowbytes)
{
    membuf m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(m.p);
        membuf none = {0};
        return none;
    }
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->bit_depth, s->color_type,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (s->palette) png_set_PLTE(png, info, s->palette, s->n_palette);
    if (s->trns || s->trns_color)
        png_set_tRNS(png, info, s->trns, s->n_trns, s->trns_color);
    png_write_info(png, info);
    png_bytep *rows = malloc((size_t)s->h * sizeof *rows);
    for (int y = 0; y < s->h; y++) rows[y] = (png_bytep)(pixels + (size_t)y * rowbytes);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &info);
    return m;
}

/* Decodes m with a 32x32 limit into a guarded buffer; returns the decoder's result. */
static uint8_t out[32 * 32 * 3 + 16];
static int dec_w, dec_h;

static int decode(const membuf *m, const char *where)
{
    memset(out, 0xA5, sizeof out);
    dec_w = dec_h = -1;
    capture_begin();
    int rc = png_io_decode_rgb(m->p, m->n, where, out, 32, 32, &dec_w, &dec_h);
    capture_end();
    return rc;
}

static int guard_intact(size_t used)
{
    for (size_t i = used; i < sizeof out; i++)
        if (out[i] != 0xA5) return 0;
    return 1;
}

static void pattern_rgb(uint8_t *rgb, int w, int h)
{
    for (int i = 0; i < w * h * 3; i++) rgb[i] = (uint8_t)(i * 37 + (i / 3) * 11 + 5);
}

/* ---------------------------------------------------------------- cases */

static void roundtrip_rgb(void)
{
    uint8_t rgb[32 * 24 * 3];
    pattern_rgb(rgb, 32, 24);
    void *enc = NULL, *enc2 = NULL;
    size_t n = 0, n2 = 0;
    CHECK(png_io_encode_rgb(rgb, 32, 24, &enc, &n) == C_OK && n > 8);
    CHECK(png_io_encode_rgb(rgb, 32, 24, &enc2, &n2) == C_OK);
    CHECK(n == n2 && enc && enc2 && !memcmp(enc, enc2, n)); /* deterministic bytes */
    membuf m = {enc, n, n};
    CHECK(decode(&m, "mem.png") == C_OK && err[0] == '\0');
    CHECK(dec_w == 32 && dec_h == 24);
    CHECK(!memcmp(out, rgb, sizeof rgb));
    CHECK(guard_intact(sizeof rgb));
    free(enc);
    free(enc2);

    char path[300];
    snprintf(path, sizeof path, "%s/sub/img.png", dir);
    CHECK(png_io_write_rgb(path, rgb, 32, 24) == C_OK);
    uint8_t *back = NULL;
    int w = 0, h = 0;
    CHECK(png_io_read_rgb(path, &back, &w, &h, 64, 64) == C_OK);
    CHECK(back && w == 32 && h == 24 && !memcmp(back, rgb, sizeof rgb));
    free(back);
}

static void gray8_and_gray16(void)
{
    unsigned char g[8 * 4];
    for (int i = 0; i < 32; i++) g[i] = (unsigned char)(i * 8 + 3);
    spec s = {.w = 8, .h = 4, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8};
    membuf m = make_png(&s, g, 8);
    CHECK(decode(&m, "gray8.png") == C_OK && dec_w == 8 && dec_h == 4);
    for (int i = 0; i < 32; i++) CHECK(out[3 * i] == g[i] && out[3 * i + 1] == g[i] && out[3 * i + 2] == g[i]);
    free(m.p);

    /* 16-bit gray: the high byte survives */
    unsigned char g16[4 * 2 * 2];
    for (int i = 0; i < 8; i++) {
        g16[2 * i] = (unsigned char)(i * 30);
        g16[2 * i + 1] = (unsigned char)(i * 7);
    }
    spec s16 = {.w = 4, .h = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 16};
    m = make_png(&s16, g16, 8);
    CHECK(decode(&m, "gray16.png") == C_OK && dec_w == 4 && dec_h == 2);
    for (int i = 0; i < 8; i++) CHECK(out[3 * i] == i * 30 && out[3 * i + 2] == i * 30);
    CHECK(guard_intact(8 * 3));
    free(m.p);
}

static void gray_low_bit_depth(void)
{
    /* 1-bit gray: 0 -> 0, 1 -> 255; 8 pixels per byte, MSB first */
    unsigned char bits[2] = {0xA0, 0x01}; /* row 0: 1 0 1 0 0 0 0 0; row 1: 0 0 0 0 0 0 0 1 */
    spec s = {.w = 8, .h = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1};
    membuf m = make_png(&s, bits, 1);
    CHECK(decode(&m, "gray1.png") == C_OK && dec_w == 8 && dec_h == 2);
    CHECK(out[0] == 255 && out[3] == 0 && out[6] == 255 && out[9] == 0);
    CHECK(out[(8 + 7) * 3] == 255 && out[(8 + 6) * 3 + 1] == 0);
    free(m.p);
}

static void gray_alpha(void)
{
    unsigned char ga[4 * 2] = {10, 0, 20, 255, 30, 128, 40, 7};
    spec s = {.w = 4, .h = 1, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA, .bit_depth = 8};
    membuf m = make_png(&s, ga, 8);
    CHECK(decode(&m, "ga.png") == C_OK && dec_w == 4 && dec_h == 1);
    for (int i = 0; i < 4; i++)
        CHECK(out[3 * i] == ga[2 * i] && out[3 * i + 1] == ga[2 * i] && out[3 * i + 2] == ga[2 * i]);
    CHECK(guard_intact(12));
    free(m.p);
}

static void palette_with_trns(void)
{
    png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {17, 34, 51}};
    png_byte alpha[2] = {0, 128};
    unsigned char idx[6] = {0, 1, 2, 3, 2, 0};
    spec s = {.w = 3, .h = 2, .color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 8, .palette = pal,
              .n_palette = 4, .trns = alpha, .n_trns = 2};
    membuf m = make_png(&s, idx, 3);
    CHECK(decode(&m, "pal.png") == C_OK && dec_w == 3 && dec_h == 2);
    for (int i = 0; i < 6; i++)
        CHECK(out[3 * i] == pal[idx[i]].red && out[3 * i + 1] == pal[idx[i]].green &&
              out[3 * i + 2] == pal[idx[i]].blue);
    CHECK(guard_intact(18));
    free(m.p);

    /* 2-bit palette, 4 pixels per byte */
    unsigned char packed[1] = {0x1B}; /* 00 01 10 11 */
    spec s2 = {.w = 4, .h = 1, .color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 2, .palette = pal,
               .n_palette = 4};
    m = make_png(&s2, packed, 1);
    CHECK(decode(&m, "pal2.png") == C_OK && dec_w == 4);
    for (int i = 0; i < 4; i++) CHECK(out[3 * i] == pal[i].red && out[3 * i + 2] == pal[i].blue);
    free(m.p);
}

static void rgba_and_rgb_trns(void)
{
    unsigned char rgba[3 * 4] = {1, 2, 3, 0, 200, 100, 50, 255, 9, 8, 7, 77};
    spec s = {.w = 3, .h = 1, .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 8};
    membuf m = make_png(&s, rgba, 12);
    CHECK(decode(&m, "rgba.png") == C_OK && dec_w == 3 && dec_h == 1);
    for (int i = 0; i < 3; i++)
        CHECK(out[3 * i] == rgba[4 * i] && out[3 * i + 1] == rgba[4 * i + 1] && out[3 * i + 2] == rgba[4 * i + 2]);
    CHECK(guard_intact(9));
    free(m.p);

    unsigned char rgb[6] = {1, 2, 3, 4, 5, 6};
    png_color_16 tc = {.red = 1, .green = 2, .blue = 3};
    spec st = {.w = 2, .h = 1, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8, .trns_color = &tc};
    m = make_png(&st, rgb, 6);
    CHECK(decode(&m, "rgbtrns.png") == C_OK && !memcmp(out, rgb, 6) && guard_intact(6));
    free(m.p);
}

static void rgb16_and_rgba16(void)
{
    unsigned char px[2 * 6]; /* 2 pixels RGB16 big-endian */
    for (int i = 0; i < 12; i++) px[i] = (unsigned char)(i * 20 + 1);
    spec s = {.w = 2, .h = 1, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 16};
    membuf m = make_png(&s, px, 12);
    CHECK(decode(&m, "rgb16.png") == C_OK && dec_w == 2);
    for (int i = 0; i < 6; i++) CHECK(out[i] == px[2 * i]);
    CHECK(guard_intact(6));
    free(m.p);

    unsigned char px4[8];
    for (int i = 0; i < 8; i++) px4[i] = (unsigned char)(250 - i * 9);
    spec s4 = {.w = 1, .h = 1, .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 16};
    m = make_png(&s4, px4, 8);
    CHECK(decode(&m, "rgba16.png") == C_OK && out[0] == px4[0] && out[1] == px4[2] && out[2] == px4[4]);
    CHECK(guard_intact(3));
    free(m.p);
}

static void interlaced(void)
{
    uint8_t rgb[16 * 16 * 3];
    pattern_rgb(rgb, 16, 16);
    spec s = {.w = 16, .h = 16, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8, .interlace = 1};
    membuf m = make_png(&s, rgb, 48);
    CHECK(decode(&m, "adam7.png") == C_OK && dec_w == 16 && dec_h == 16 && !memcmp(out, rgb, sizeof rgb));
    free(m.p);
}

static void truncated_png(void)
{
    uint8_t rgb[32 * 32 * 3];
    pattern_rgb(rgb, 32, 32);
    void *enc;
    size_t n;
    CHECK(png_io_encode_rgb(rgb, 32, 32, &enc, &n) == C_OK);
    if (test_case_failed) return;
    size_t cuts[] = {n / 2, n - 1, 20, 9};
    for (int i = 0; i < 4; i++) {
        membuf m = {enc, cuts[i], cuts[i]};
        CHECK(decode(&m, "cifar/train/7_cat.png") == C_ERR);
        CHECK(one_line() && strstr(err, "cifar/train/7_cat.png: ") && strstr(err, "PNG"));
        CHECK(guard_intact(32 * 32 * 3));
        if (test_case_failed) {
            printf("    (cut %zu of %zu: %s)\n", cuts[i], n, err);
            break;
        }
    }
    free(enc);
}

static void garbage_buffer(void)
{
    unsigned char junk[300];
    for (int i = 0; i < 300; i++) junk[i] = (unsigned char)(i * 131 + 7);
    membuf m = {junk, sizeof junk, sizeof junk};
    CHECK(decode(&m, "junk.png") == C_ERR && one_line() && strstr(err, "junk.png: ") &&
          strstr(err, "not a PNG"));
    /* a valid signature followed by garbage */
    memcpy(junk, "\x89PNG\r\n\x1a\n", 8);
    CHECK(decode(&m, "junk2.png") == C_ERR && one_line() && strstr(err, "junk2.png: ") &&
          strstr(err, "broken PNG"));
    m.n = 0;
    CHECK(decode(&m, "empty.png") == C_ERR && one_line() && strstr(err, "empty.png"));

    char path[300];
    snprintf(path, sizeof path, "%s/missing.png", dir);
    uint8_t *p = (uint8_t *)1;
    int w, h;
    capture_begin();
    int rc = png_io_read_rgb(path, &p, &w, &h, 32, 32);
    capture_end();
    CHECK(rc == C_ERR && p == NULL && strstr(err, path));
}

static uint32_t crc32_png(const unsigned char *b, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & -(c & 1u));
    }
    return c ^ 0xffffffffu;
}

/* Rewrites the IHDR of an encoded PNG to claim w x h (with a valid CRC). */
static void patch_ihdr(unsigned char *p, uint32_t w, uint32_t h)
{
    for (int i = 0; i < 4; i++) {
        p[16 + i] = (unsigned char)(w >> (24 - 8 * i));
        p[20 + i] = (unsigned char)(h >> (24 - 8 * i));
    }
    uint32_t c = crc32_png(p + 12, 17);
    for (int i = 0; i < 4; i++) p[29 + i] = (unsigned char)(c >> (24 - 8 * i));
}

static void huge_header_refused_before_allocating(void)
{
    uint8_t rgb[3] = {1, 2, 3};
    void *enc;
    size_t n;
    CHECK(png_io_encode_rgb(rgb, 1, 1, &enc, &n) == C_OK);
    if (test_case_failed) return;
    CHECK(!memcmp((unsigned char *)enc + 12, "IHDR", 4));
    patch_ihdr(enc, 100000, 100000);
    membuf m = {enc, n, n};
    /* 100000x100000x3 = 30 GB: an allocation would fail with "out of memory" and writing into the
     * caller's 32x32 buffer would overrun the guard; a correct decoder refuses from the header. */
    CHECK(decode(&m, "big.png") == C_ERR);
    CHECK(one_line() && strstr(err, "big.png: ") && strstr(err, "100000x100000") &&
          strstr(err, "larger than the maximum 32x32"));
    CHECK(guard_intact(0));
    /* one dimension over is enough */
    patch_ihdr(enc, 32, 33);
    CHECK(decode(&m, "tall.png") == C_ERR && strstr(err, "32x33"));
    /* the allocating reader refuses too, leaving *rgb NULL */
    patch_ihdr(enc, 100000, 100000);
    char path[300];
    snprintf(path, sizeof path, "%s/big.png", dir);
    CHECK(atomic_write(path, enc, n) == C_OK);
    uint8_t *p = (uint8_t *)1;
    int w, h;
    capture_begin();
    int rc = png_io_read_rgb(path, &p, &w, &h, 32, 32);
    capture_end();
    CHECK(rc == C_ERR && p == NULL && strstr(err, path) && strstr(err, "100000x100000"));
    free(enc);
}

int main(void)
{
    err_init("test_png");
    snprintf(dir, sizeof dir, "/tmp/test_png.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    TEST_RUN(roundtrip_rgb);
    TEST_RUN(gray8_and_gray16);
    TEST_RUN(gray_low_bit_depth);
    TEST_RUN(gray_alpha);
    TEST_RUN(palette_with_trns);
    TEST_RUN(rgba_and_rgb_trns);
    TEST_RUN(rgb16_and_rgba16);
    TEST_RUN(interlaced);
    TEST_RUN(truncated_png);
    TEST_RUN(garbage_buffer);
    TEST_RUN(huge_header_refused_before_allocating);
    fs_remove_tree(dir);
    TEST_EXIT();
}
