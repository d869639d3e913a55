/* mkarchive: writes a small CIFAR-layout archive (tar.gz) for the data-stage tests.
 *
 *   mkarchive [--variant V] [--classes N] [--train N] [--test N] [--expect DIR] OUT.tgz
 *
 * --train/--test: images per class (default 3 and 2); --classes: 1..10 CIFAR class names.
 * Image i of a split has label i % classes and deterministic pixels (see fill_image). Entries are
 * written in a scrambled index order and labels.txt comes LAST, so the reader must buffer.
 * Accepted archives also hold directory entries (cifar/, cifar/train/, cifar/test/) and a
 * stray file cifar/notes.txt (skipped with a warning).
 * --expect DIR writes the pixels the sort stage must produce: DIR/{train,test}.u8 ([n,32,32,3],
 * index order) and DIR/{train,test}_labels.u8.
 *
 * Accepted variants: valid (8-bit RGB PNGs), gray, palette, alpha (every image in that
 * encoding), mixed (cycling RGB, gray, palette, RGBA).
 * Refused variants (the broken entry is cifar/train/1_<class>.png unless said otherwise):
 *   truncated, corrupt (gzip stream cut / damaged), symlink, hardlink, chardev, fifo,
 *   absolute (/cifar/train/1_...), dotdot (cifar/train/../../1_...), duplicate (a second index 1
 *   of another class), unknown-class (1_zebra.png), no-index (cat.png), no-labels, empty-split
 *   (no test images), broken-png (damaged IDAT), huge-png (header claims 100000x100000),
 *   small-png (16x16), not-png (text bytes). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIDE 32
#define IMG (SIDE * SIDE * 3)

static const char *cifar_classes[] = {"airplane", "automobile", "bird", "cat", "deer",
                                      "dog", "frog", "horse", "ship", "truck"};

enum enc { ENC_RGB, ENC_GRAY, ENC_PALETTE, ENC_RGBA };

static _Noreturn void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "mkarchive: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

/* Pixels of image i (label lab) for encoding e; rgb gets IMG bytes, pal (palette only) gets the
 * palette index per pixel and the 64-entry colour map. Gray images have r == g == b. */
static void fill_image(int split, int i, int lab, enum enc e, uint8_t *rgb, uint8_t *idx,
                       uint8_t *cmap)
{
    int seed = i * 37 + split * 101 + lab * 23;
    if (e == ENC_PALETTE)
        for (int k = 0; k < 64; k++)
            for (int c = 0; c < 3; c++) cmap[3 * k + c] = (uint8_t)((k * 4 + c * 60 + seed) & 255);
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            uint8_t *p = rgb + 3 * (y * SIDE + x);
            if (e == ENC_GRAY) {
                p[0] = p[1] = p[2] = (uint8_t)((seed + y * 8 + x * 3) & 255);
            } else if (e == ENC_PALETTE) {
                int k = (x / 4 + (y / 4) * 8) & 63;
                idx[y * SIDE + x] = (uint8_t)k;
                memcpy(p, cmap + 3 * k, 3);
            } else {
                for (int c = 0; c < 3; c++)
                    p[c] = (uint8_t)((seed + y * 8 + x * 3 + c * 85 + (x * y) % 7) & 255);
            }
        }
}

/* Encodes with libpng's simplified writer; returns a malloc'd buffer. */
static void *encode(enum enc e, int w, int h, const uint8_t *rgb, const uint8_t *idx,
                    const uint8_t *cmap, size_t *len)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)w;
    im.height = (png_uint_32)h;
    uint8_t *buf = malloc((size_t)w * h * 4);
    const void *src = rgb;
    const void *colormap = NULL;
    switch (e) {
    case ENC_RGB:
        im.format = PNG_FORMAT_RGB;
        break;
    case ENC_GRAY:
        im.format = PNG_FORMAT_GRAY;
        for (int k = 0; k < w * h; k++) buf[k] = rgb[3 * k];
        src = buf;
        break;
    case ENC_PALETTE:
        im.format = PNG_FORMAT_RGB_COLORMAP;
        im.colormap_entries = 64;
        colormap = cmap;
        src = idx;
        break;
    case ENC_RGBA:
        im.format = PNG_FORMAT_RGBA;
        for (int k = 0; k < w * h; k++) {
            memcpy(buf + 4 * k, rgb + 3 * k, 3);
            buf[4 * k + 3] = (uint8_t)(k * 13); /* alpha must be dropped, not applied */
        }
        src = buf;
        break;
    }
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&im, NULL, &size, 0, src, 0, colormap)) die("%s", im.message);
    void *out = malloc(size);
    if (!png_image_write_to_memory(&im, out, &size, 0, src, 0, colormap)) die("%s", im.message);
    free(buf);
    *len = size;
    return out;
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A PNG whose IHDR claims 100000 x 100000 RGB (valid CRCs), then a tiny IDAT and IEND: a
 * reader that allocates from the header before checking would ask for 30 GB. */
static void *huge_png(size_t *len)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t empty_zlib[8] = {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    uint8_t *p = calloc(1, 8 + 25 + 20 + 12);
    memcpy(p, sig, 8);
    put32(p + 8, 13);
    memcpy(p + 12, "IHDR", 4);
    put32(p + 16, 100000);
    put32(p + 20, 100000);
    p[24] = 8, p[25] = 2;
    put32(p + 29, crc32_png(p + 12, 17));
    put32(p + 33, 8);
    memcpy(p + 37, "IDAT", 4);
    memcpy(p + 41, empty_zlib, 8);
    put32(p + 49, crc32_png(p + 37, 12));
    put32(p + 53, 0);
    memcpy(p + 57, "IEND", 4);
    put32(p + 61, crc32_png(p + 57, 4));
    *len = 65;
    return p;
}

typedef struct writer {
    struct archive *a;
} writer;

static void add_entry(writer *w, const char *name, int type, const void *data, size_t len,
                      const char *link, int hard)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_mtime(e, 1518998400, 0);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    archive_entry_set_filetype(e, (unsigned)type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    if (type == AE_IFCHR) archive_entry_set_rdev(e, 0x0103);
    if (link && hard) archive_entry_set_hardlink(e, link);
    else if (link) archive_entry_set_symlink(e, link);
    archive_entry_set_size(e, (type == AE_IFREG && !hard) ? (la_int64_t)len : 0);
    if (archive_write_header(w->a, e) != ARCHIVE_OK) die("%s", archive_error_string(w->a));
    if (type == AE_IFREG && !hard && len &&
        archive_write_data(w->a, data, len) != (la_ssize_t)len)
        die("%s", archive_error_string(w->a));
    archive_entry_free(e);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) die("cannot write %s", path);
}

int main(int argc, char **argv)
{
    const char *variant = "valid", *expect = NULL, *out = NULL;
    int n_classes = 4, per[2] = {3, 2};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--variant") && i + 1 < argc) variant = argv[++i];
        else if (!strcmp(argv[i], "--classes") && i + 1 < argc) n_classes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--train") && i + 1 < argc) per[0] = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--test") && i + 1 < argc) per[1] = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--expect") && i + 1 < argc) expect = argv[++i];
        else if (!out && argv[i][0] != '-') out = argv[i];
        else die("unknown argument %s", argv[i]);
    }
    if (!out || n_classes < 1 || n_classes > 10 || per[0] < 1 || per[1] < 1)
        die("%s", "usage: mkarchive [--variant V] [--classes 1..10] [--train N] [--test N] "
                  "[--expect DIR] OUT.tgz");
    static const char *known[] = {"valid", "gray", "palette", "alpha", "mixed", "truncated",
        "corrupt", "symlink", "hardlink", "chardev", "fifo", "absolute", "dotdot", "duplicate",
        "unknown-class", "no-index", "no-labels", "empty-split", "broken-png", "huge-png",
        "small-png", "not-png"};
    int ok = 0;
    for (size_t k = 0; k < sizeof known / sizeof *known; k++) ok |= !strcmp(variant, known[k]);
    if (!ok) die("unknown variant %s", variant);
#define IS(v) (!strcmp(variant, v))

    writer w;
    w.a = archive_write_new();
    archive_write_add_filter_gzip(w.a);
    archive_write_set_format_pax_restricted(w.a);
    if (archive_write_open_filename(w.a, out) != ARCHIVE_OK) die("%s", archive_error_string(w.a));

    add_entry(&w, "cifar/", AE_IFDIR, NULL, 0, NULL, 0);
    if (expect) mkdir(expect, 0777);
    static const char *split_names[2] = {"train", "test"};
    uint8_t rgb[IMG], idx[SIDE * SIDE], cmap[64 * 3];
    for (int s = 0; s < 2; s++) {
        if (s == 1 && IS("empty-split")) break;
        char dir[64];
        snprintf(dir, sizeof dir, "cifar/%s/", split_names[s]);
        add_entry(&w, dir, AE_IFDIR, NULL, 0, NULL, 0);
        int n = per[s] * n_classes;
        uint8_t *all = malloc((size_t)n * IMG), *labels = malloc((size_t)n);
        /* Scrambled order: odd indices descending, then even ones ascending. */
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < n; k++) {
                int i = pass == 0 ? (n - 1 - k) : k;
                if ((i % 2 == 1) != (pass == 0)) continue;
                int lab = i % n_classes;
                enum enc e = ENC_RGB;
                if (IS("gray")) e = ENC_GRAY;
                else if (IS("palette")) e = ENC_PALETTE;
                else if (IS("alpha")) e = ENC_RGBA;
                else if (IS("mixed")) e = (enum enc)(i % 4);
                fill_image(s, i, lab, e, rgb, idx, cmap);
                memcpy(all + (size_t)i * IMG, rgb, IMG);
                labels[i] = (uint8_t)lab;
                size_t len;
                void *png = encode(e, SIDE, SIDE, rgb, idx, cmap, &len);
                char name[256];
                snprintf(name, sizeof name, "cifar/%s/%d_%s.png", split_names[s], i,
                         cifar_classes[lab]);
                int bad = s == 0 && i == 1;
                if (bad && IS("symlink")) add_entry(&w, name, AE_IFLNK, NULL, 0, "0_airplane.png", 0);
                else if (bad && IS("hardlink"))
                    add_entry(&w, name, AE_IFREG, NULL, 0, "cifar/train/0_airplane.png", 1);
                else if (bad && IS("chardev")) add_entry(&w, name, AE_IFCHR, NULL, 0, NULL, 0);
                else if (bad && IS("fifo")) add_entry(&w, name, AE_IFIFO, NULL, 0, NULL, 0);
                else if (bad && IS("absolute")) {
                    char abs[300];
                    snprintf(abs, sizeof abs, "/%s", name);
                    add_entry(&w, abs, AE_IFREG, png, len, NULL, 0);
                } else if (bad && IS("dotdot")) {
                    char dd[300];
                    snprintf(dd, sizeof dd, "cifar/train/../../%d_%s.png", i, cifar_classes[lab]);
                    add_entry(&w, dd, AE_IFREG, png, len, NULL, 0);
                } else if (bad && IS("unknown-class")) {
                    add_entry(&w, "cifar/train/1_zebra.png", AE_IFREG, png, len, NULL, 0);
                } else if (bad && IS("no-index")) {
                    add_entry(&w, "cifar/train/cat.png", AE_IFREG, png, len, NULL, 0);
                } else if (bad && IS("broken-png")) {
                    /* Damage the compressed pixel data inside the IDAT chunk. */
                    uint8_t *p = png;
                    uint8_t *at = memmem(p, len, "IDAT", 4);
                    if (!at) die("%s", "no IDAT chunk");
                    for (uint8_t *b = at + 8; b < p + len - 16 && b < at + 40; b++) *b ^= 0x5a;
                    add_entry(&w, name, AE_IFREG, png, len, NULL, 0);
                } else if (bad && IS("huge-png")) {
                    size_t hl;
                    void *h = huge_png(&hl);
                    add_entry(&w, name, AE_IFREG, h, hl, NULL, 0);
                    free(h);
                } else if (bad && IS("small-png")) {
                    size_t sl;
                    void *sm = encode(ENC_RGB, 16, 16, rgb, idx, cmap, &sl);
                    add_entry(&w, name, AE_IFREG, sm, sl, NULL, 0);
                    free(sm);
                } else if (bad && IS("not-png")) {
                    static const char text[] = "this is not a PNG file\n";
                    add_entry(&w, name, AE_IFREG, text, sizeof text - 1, NULL, 0);
                } else {
                    add_entry(&w, name, AE_IFREG, png, len, NULL, 0);
                }
                if (bad && IS("duplicate")) {
                    snprintf(name, sizeof name, "cifar/train/%d_%s.png", i,
                             cifar_classes[(lab + 1) % n_classes]);
                    add_entry(&w, name, AE_IFREG, png, len, NULL, 0);
                }
                free(png);
            }
        if (expect) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.u8", expect, split_names[s]);
            write_file(path, all, (size_t)n * IMG);
            snprintf(path, sizeof path, "%s/%s_labels.u8", expect, split_names[s]);
            write_file(path, labels, (size_t)n);
        }
        free(all);
        free(labels);
    }
    /* Only in archives that must be accepted: refused ones print exactly one line. */
    static const char notes[] = "not part of the layout\n";
    if (IS("valid") || IS("gray") || IS("palette") || IS("alpha") || IS("mixed"))
        add_entry(&w, "cifar/notes.txt", AE_IFREG, notes, sizeof notes - 1, NULL, 0);
    if (!IS("no-labels")) {
        char text[256] = "";
        for (int c = 0; c < n_classes; c++) {
            strcat(text, cifar_classes[c]);
            strcat(text, "\n");
        }
        add_entry(&w, "cifar/labels.txt", AE_IFREG, text, strlen(text), NULL, 0);
    }
    if (archive_write_close(w.a) != ARCHIVE_OK) die("%s", archive_error_string(w.a));
    archive_write_free(w.a);

    if (IS("truncated") || IS("corrupt")) {
        struct stat st;
        if (stat(out, &st) != 0) die("cannot stat %s", out);
        if (IS("truncated")) {
            if (truncate(out, st.st_size / 2) != 0) die("cannot truncate %s", out);
        } else {
            FILE *f = fopen(out, "r+b");
            if (!f) die("cannot open %s", out);
            uint8_t junk[64];
            memset(junk, 0xa5, sizeof junk);
            fseek(f, st.st_size / 2, SEEK_SET);
            fwrite(junk, 1, sizeof junk, f);
            fclose(f);
        }
    }
    return 0;
}
