/* Augmentation (fastai-semantics.md §2.2): BORDER_REFLECT mapping, crop offsets 0..7 and their
 * uniformity, flip frequency, normalisation, and the whole transform against a literal
 * pad -> flip -> crop reference. */
#include "data/augment.h"
#include "ops/augment_batch.h"
#include "core/rng.h"
#include "test.h"

static void reflect_mapping(void)
{
    const int n = 32;
    for (int k = 1; k <= 4; k++) {
        CHECK(augment_batch_reflect(-k, n) == k - 1);          /* src(-k) = k-1 */
        CHECK(augment_batch_reflect(n - 1 + k, n) == n - k);   /* src(n-1+k) = n-k */
    }
    for (int i = 0; i < n; i++) CHECK(augment_batch_reflect(i, n) == i);
    /* fedcba|abcdefgh|hgfedcb on a length-8 axis: the edge pixel is repeated. */
    const char *axis = "abcdefgh", *want = "dcba" "abcdefgh" "hgfe";
    for (int i = -4; i < 12; i++) CHECK(axis[augment_batch_reflect(i, 8)] == want[i + 4]);
}

static void offsets_in_range_and_uniform(void)
{
    augment_cfg cfg = { .pad = 4, .flip = 1, .seed = 7 };
    long rows[8] = { 0 }, cols[8] = { 0 }, joint[64] = { 0 };
    const int n = 64000;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        augment_draw d;
        augment_choose(&cfg, (uint32_t)(i % 5), (uint32_t)i, &d);
        if (d.row < 0 || d.row > 7 || d.col < 0 || d.col > 7) { bad++; continue; }
        rows[d.row]++; cols[d.col]++; joint[d.row * 8 + d.col]++;
    }
    CHECK(bad == 0);
    double chi_r = 0, chi_c = 0, chi_j = 0, e = n / 8.0, ej = n / 64.0;
    for (int k = 0; k < 8; k++) {
        chi_r += (rows[k] - e) * (rows[k] - e) / e;
        chi_c += (cols[k] - e) * (cols[k] - e) / e;
        CHECK(rows[k] > 0 && cols[k] > 0);               /* 0 and 7 both reached */
    }
    for (int k = 0; k < 64; k++) chi_j += (joint[k] - ej) * (joint[k] - ej) / ej;
    /* 99.9% quantiles: chi2(7) = 24.3, chi2(63) = 103.4. Fixed seed, so not flaky. */
    CHECK(chi_r < 24.3);
    CHECK(chi_c < 24.3);
    CHECK(chi_j < 103.4);
}

static void flip_frequency_and_switch(void)
{
    augment_cfg cfg = { .pad = 4, .flip = 1, .seed = 3 };
    const int n = 40000;
    int flips = 0;
    for (int i = 0; i < n; i++) {
        augment_draw d;
        augment_choose(&cfg, 1, (uint32_t)i, &d);
        flips += d.flip;
    }
    /* Binomial sd = 100; 4.5 sd bound. */
    CHECK(flips > n / 2 - 450 && flips < n / 2 + 450);
    cfg.flip = 0;
    for (int i = 0; i < 1000; i++) {
        augment_draw d;
        augment_choose(&cfg, 1, (uint32_t)i, &d);
        CHECK(d.flip == 0);
    }
}

static void draws_are_pure(void)
{
    augment_cfg cfg = { .pad = 4, .flip = 1, .seed = 11 };
    augment_draw a, b, c;
    augment_choose(&cfg, 2, 99, &a);
    augment_choose(&cfg, 2, 99, &b);
    CHECK(a.flip == b.flip && a.row == b.row && a.col == b.col);
    /* Words 0, 1, 2 of the block are flip, row, col. */
    uint32_t w[4];
    rng_block(11, RNG_AUGMENT, 2, 99, w);
    CHECK(a.flip == (rng_u32_to_float(w[0]) < 0.5f));
    CHECK(a.row == (int)(rng_u32_to_float(w[1]) * 8));
    CHECK(a.col == (int)(rng_u32_to_float(w[2]) * 8));
    /* Different passes give different draws for most images. */
    int same = 0;
    for (uint32_t i = 0; i < 200; i++) {
        augment_choose(&cfg, 0, i, &a);
        augment_choose(&cfg, 1, i, &c);
        same += a.flip == c.flip && a.row == c.row && a.col == c.col;
    }
    CHECK(same < 20);
}

static void normalisation(void)
{
    const double mean[3] = { 0.4914, 0.48216, 0.44653 }, std[3] = { 0.24703, 0.24349, 0.26159 };
    norm_stats ns;
    norm_stats_init(&ns, mean, std);
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v += 17) {
            float want = ((float)v / 255.0f - (float)mean[c]) / (float)std[c];
            CHECK(ns.lut[c][v] == want);
            CHECK_NEAR(ns.lut[c][v], (v / 255.0 - mean[c]) / std[c], 1e-5);
        }
    /* normalise-only path: HWC -> CHW, no spatial change. */
    uint8_t img[4 * 5 * 3];
    for (int i = 0; i < 60; i++) img[i] = (uint8_t)(i * 4);
    float out[60];
    augment_normalise(img, 4, 5, &ns, out);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 5; x++)
            for (int c = 0; c < 3; c++) CHECK(out[c * 20 + y * 5 + x] == ns.lut[c][img[(y * 5 + x) * 3 + c]]);
}

/* Literal fastai: build the padded image, flip it, crop it. */
static void reference(const uint8_t *src, int h, int w, int pad, const augment_draw *d, uint8_t *out)
{
    int ph = h + 2 * pad, pw = w + 2 * pad;
    uint8_t padded[40 * 40 * 3], flipped[40 * 40 * 3];
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++)
            for (int c = 0; c < 3; c++)
                padded[(y * pw + x) * 3 + c] = src[(augment_batch_reflect(y - pad, h) * w + augment_batch_reflect(x - pad, w)) * 3 + c];
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++)
            for (int c = 0; c < 3; c++)
                flipped[(y * pw + x) * 3 + c] = padded[(y * pw + (d->flip ? pw - 1 - x : x)) * 3 + c];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = flipped[((y + d->row) * pw + x + d->col) * 3 + c];
}

static void transform_matches_reference(void)
{
    const int h = 32, w = 32;
    uint8_t img[32 * 32 * 3], want[32 * 32 * 3];
    rng_stream s;
    rng_stream_init(&s, 5, RNG_TEST, 0);
    for (int i = 0; i < h * w * 3; i++) img[i] = (uint8_t)rng_next_u32(&s);
    const double mean[3] = { 0, 0, 0 }, std[3] = { 1, 1, 1 };
    norm_stats ns;
    norm_stats_init(&ns, mean, std);
    float out[3 * 32 * 32];
    int mismatches = 0;
    for (int flip = 0; flip < 2; flip++)
        for (int r = 0; r < 8; r++)
            for (int c = 0; c < 8; c++) {
                augment_draw d = { .flip = flip, .row = r, .col = c };
                augment_apply(img, h, w, &ns, 4, &d, out);
                reference(img, h, w, 4, &d, want);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        for (int ch = 0; ch < 3; ch++)
                            mismatches += out[ch * h * w + y * w + x] != ns.lut[ch][want[(y * w + x) * 3 + ch]];
            }
    CHECK(mismatches == 0);
    /* Offset (4,4) without flip is the identity; the shift is -4..+3. */
    augment_draw id = { .row = 4, .col = 4 };
    augment_apply(img, h, w, &ns, 4, &id, out);
    float plain[3 * 32 * 32];
    augment_normalise(img, h, w, &ns, plain);
    CHECK(!memcmp(out, plain, sizeof out));
    /* augment_image = choose + apply. */
    augment_cfg cfg = { .pad = 4, .flip = 1, .seed = 9 };
    augment_draw d;
    augment_choose(&cfg, 3, 17, &d);
    augment_apply(img, h, w, &ns, 4, &d, plain);
    augment_image(img, h, w, &ns, &cfg, 3, 17, out);
    CHECK(!memcmp(out, plain, sizeof out));
}

/* torch 'reflect' (no edge repeat) against fastai's cv2.BORDER_REFLECT: named apart, mapped apart. */
static void reflect101_mapping(void)
{
    const int n = 8, axis[8] = { 10, 11, 12, 13, 14, 15, 16, 17 };
    for (int k = 1; k <= 7; k++) {
        CHECK(augment_batch_reflect101(-k, n) == k);            /* src(-k) = k */
        CHECK(augment_batch_reflect101(n - 1 + k, n) == n - 1 - k);
    }
    for (int i = 0; i < n; i++) CHECK(augment_batch_reflect101(i, n) == i);
    /* numpy.pad(a, 2, 'reflect') of 10..17: 12 11 | 10 .. 17 | 16 15 */
    const int want[12] = { 12, 11, 10, 11, 12, 13, 14, 15, 16, 17, 16, 15 };
    for (int i = -2; i < 10; i++) CHECK(axis[augment_batch_reflect_mode(i, 8, AUGMENT_PAD_REFLECT)] == want[i + 2]);
    CHECK(augment_batch_reflect_mode(-1, 8, AUGMENT_PAD_REFLECT_EDGE) == 0);   /* fastai's repeats the edge */
    CHECK(augment_batch_reflect_mode(-1, 8, AUGMENT_PAD_REFLECT) == 1);
}

/* airbench's style: offsets cover 0..2*pad (5 positions for pad 2); alternating flips give each
 * image one fixed bit, flipped exactly in every other pass, random over images in pass 0. */
static void airbench_style_draws(void)
{
    augment_cfg cfg = { .pad = 2, .flip = 1, .seed = 17, .pad_mode = AUGMENT_PAD_REFLECT, .crop = AUGMENT_CROP_ALL,
                        .flip_mode = AUGMENT_FLIP_ALTERNATE };
    int seen[5] = { 0 }, in_range = 1, flipped0 = 0, alternates = 1;
    for (uint32_t i = 0; i < 4000; i++) {
        augment_draw d0, d;
        augment_choose(&cfg, 0, i, &d0);
        flipped0 += d0.flip;
        for (uint32_t pass = 0; pass < 6; pass++) {
            augment_choose(&cfg, pass, i, &d);
            in_range &= d.row >= 0 && d.row <= 4 && d.col >= 0 && d.col <= 4 && d.pad_mode == AUGMENT_PAD_REFLECT;
            if (d.row >= 0 && d.row <= 4) seen[d.row]++;
            alternates &= d.flip == (d0.flip ^ (int)(pass & 1));
        }
    }
    CHECK(in_range);
    for (int k = 0; k < 5; k++) CHECK(seen[k] > 4000 * 6 / 5 * 0.9 && seen[k] < 4000 * 6 / 5 * 1.1);
    CHECK(alternates);
    CHECK(flipped0 > 1800 && flipped0 < 2200);   /* random in pass 0: about half */
    /* the offset-2 crop without flip is the identity under either padding */
    const int h = 6, w = 5;
    uint8_t img[6 * 5 * 3];
    for (int k = 0; k < h * w * 3; k++) img[k] = (uint8_t)(k * 7);
    const double mean[3] = { 0.5, 0.5, 0.5 }, sd[3] = { 0.25, 0.25, 0.25 };
    norm_stats ns;
    norm_stats_init(&ns, mean, sd);
    float a[3 * 6 * 5], b[3 * 6 * 5];
    augment_draw id = { .row = 2, .col = 2, .pad_mode = AUGMENT_PAD_REFLECT };
    augment_apply(img, h, w, &ns, 2, &id, a);
    augment_normalise(img, h, w, &ns, b);
    CHECK(!memcmp(a, b, sizeof a));
    /* a shift by one row up with torch reflect: output row 0 is source row 1 (not row 0 again) */
    augment_draw up = { .row = 1, .col = 2, .pad_mode = AUGMENT_PAD_REFLECT };
    augment_apply(img, h, w, &ns, 2, &up, a);
    CHECK(a[0] == ns.lut[0][img[(1 * w + 0) * 3]]);
    up.pad_mode = AUGMENT_PAD_REFLECT_EDGE;
    augment_apply(img, h, w, &ns, 2, &up, a);
    CHECK(a[0] == ns.lut[0][img[(0 * w + 0) * 3]]);
}

int main(void)
{
    TEST_RUN(reflect101_mapping);
    TEST_RUN(airbench_style_draws);
    TEST_RUN(reflect_mapping);
    TEST_RUN(offsets_in_range_and_uniform);
    TEST_RUN(flip_frequency_and_switch);
    TEST_RUN(draws_are_pure);
    TEST_RUN(normalisation);
    TEST_RUN(transform_matches_reference);
    TEST_EXIT();
}
