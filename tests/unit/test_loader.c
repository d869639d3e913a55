/* Data loader: batch count and sizes (last partial batch kept), every image exactly once per
 * epoch, a new order each epoch, determinism, batch contents equal to the per-image transform,
 * evaluation order, the batch limit, abandoning an epoch half-way (the lr finder does), and a
 * device batch that cannot be queued returning C_ERR instead of exiting. */
#include <stdlib.h>

#include "data/loader.h"
#include "core/errors.h"
#include "core/rng.h"
#include "test.h"
#include "test_stderr.h"

/* An in-memory dataset of n random h x w images (no file behind it). */
static dataset make_ds(int n, int h, int w, uint8_t **pix, uint8_t **lab)
{
    dataset d;
    memset(&d, 0, sizeof d);
    *pix = malloc((size_t)n * h * w * 3);
    *lab = malloc((size_t)n);
    rng_stream s;
    rng_stream_init(&s, 1, RNG_TEST, 0);
    for (size_t i = 0; i < (size_t)n * h * w * 3; i++) (*pix)[i] = (uint8_t)rng_next_u32(&s);
    for (int i = 0; i < n; i++) (*lab)[i] = (uint8_t)(i % 10);
    d.images = *pix;
    d.labels = *lab;
    d.n = n; d.h = h; d.w = w; d.n_classes = 10;
    return d;
}

static norm_stats unit_stats(void)
{
    const double m[3] = { 0.5, 0.4, 0.3 }, s[3] = { 0.25, 0.2, 0.3 };
    norm_stats ns;
    norm_stats_init(&ns, m, s);
    return ns;
}

static void batch_counts(void)
{
    CHECK(loader_batches(50000, 256) == 196);
    CHECK(loader_batches(10000, 256) == 40);
    CHECK(loader_batches(512, 256) == 2);
    uint8_t *pix, *lab;
    dataset ds = make_ds(50000, 1, 1, &pix, &lab);
    norm_stats ns = unit_stats();
    loader l;
    CHECK(loader_init(&l, &ds, &ns, 256, 0, NULL, 0, 0) == 0);
    CHECK(loader_start(&l, 0, 0) == C_OK);
    long nb = 0, total = 0;
    int last = 0;
    for (const batch *b; loader_next(&l, &b) == C_OK && b; nb++) {
        CHECK(b->index == nb);
        total += b->n;
        last = b->n;
        if (nb < 195) CHECK(b->n == 256);
    }
    CHECK(nb == 196);
    CHECK(last == 80);
    CHECK(total == 50000);
    const batch *end;
    CHECK(loader_next(&l, &end) == C_OK && end == NULL);
    loader_free(&l);
    free(pix); free(lab);
}

static void every_image_once_per_epoch(void)
{
    uint8_t *pix, *lab;
    dataset ds = make_ds(3000, 32, 32, &pix, &lab);
    norm_stats ns = unit_stats();
    augment_cfg aug = { .pad = 4, .flip = 1, .seed = 0 };
    loader l;
    CHECK(loader_init(&l, &ds, &ns, 256, 1, &aug, 42, 0) == 0);
    uint32_t *first = malloc(sizeof *first * 3000), *seen = calloc(3000, sizeof *seen);
    int moved = 0;
    for (uint32_t e = 0; e < 3; e++) {
        CHECK(loader_start(&l, e, e) == C_OK);
        long k = 0;
        for (const batch *b; loader_next(&l, &b) == C_OK && b;)
            for (int i = 0; i < b->n; i++, k++) {
                seen[b->ids[i]]++;
                CHECK(b->y[i] == lab[b->ids[i]]);
                if (e == 0) first[k] = b->ids[i];
                else moved += first[k] != b->ids[i];
            }
        CHECK(k == 3000);
    }
    int bad = 0;
    for (int i = 0; i < 3000; i++) bad += seen[i] != 3;
    CHECK(bad == 0);
    CHECK(moved > 2 * 2900);   /* reshuffled every epoch */
    loader_free(&l);
    free(first); free(seen); free(pix); free(lab);
}

static void contents_and_determinism(void)
{
    uint8_t *pix, *lab;
    dataset ds = make_ds(600, 32, 32, &pix, &lab);
    norm_stats ns = unit_stats();
    augment_cfg aug = { .pad = 4, .flip = 1, .seed = 0 };
    const size_t plane = 3 * 32 * 32;
    float *want = malloc(sizeof(float) * plane);
    float *run1 = malloc(sizeof(float) * plane * 600);
    uint32_t ids1[600];
    for (int rep = 0; rep < 2; rep++) {
        loader l;
        CHECK(loader_init(&l, &ds, &ns, 100, 1, &aug, 9, 0) == 0);
        CHECK(loader_start(&l, 5, 5) == C_OK);
        int k = 0, bad = 0, diff = 0;
        for (const batch *b; loader_next(&l, &b) == C_OK && b;)
            for (int i = 0; i < b->n; i++, k++) {
                augment_image(dataset_image(&ds, (int)b->ids[i]), 32, 32, &ns, &l.aug, 5, b->ids[i], want);
                bad += memcmp(want, b->x + i * plane, sizeof(float) * plane) != 0;
                if (rep == 0) { memcpy(run1 + k * plane, b->x + i * plane, sizeof(float) * plane); ids1[k] = b->ids[i]; }
                else diff += ids1[k] != b->ids[i] || memcmp(run1 + k * plane, b->x + i * plane, sizeof(float) * plane);
            }
        CHECK(k == 600);
        CHECK(bad == 0);
        CHECK(diff == 0);
        /* The order is rng_permutation(seed, RNG_SHUFFLE, epoch). */
        uint32_t perm[600];
        rng_stream s;
        rng_stream_init(&s, 9, RNG_SHUFFLE, 5);
        rng_permutation(&s, perm, 600);
        CHECK(!memcmp(perm, ids1, sizeof perm));
        loader_free(&l);
    }
    free(want); free(run1); free(pix); free(lab);
}

static void evaluation_is_ordered_and_plain(void)
{
    uint8_t *pix, *lab;
    dataset ds = make_ds(300, 32, 32, &pix, &lab);
    norm_stats ns = unit_stats();
    loader l;
    CHECK(loader_init(&l, &ds, &ns, 128, 0, NULL, 3, 0) == 0);
    float want[3 * 32 * 32];
    for (int e = 0; e < 2; e++) {
        CHECK(loader_start(&l, (uint32_t)e, (uint32_t)e) == C_OK);
        int k = 0, bad = 0;
        for (const batch *b; loader_next(&l, &b) == C_OK && b;)
            for (int i = 0; i < b->n; i++, k++) {
                CHECK(b->ids[i] == (uint32_t)k);
                augment_normalise(dataset_image(&ds, k), 32, 32, &ns, want);
                bad += memcmp(want, b->x + i * 3 * 32 * 32, sizeof want) != 0;
            }
        CHECK(k == 300);
        CHECK(bad == 0);
    }
    loader_free(&l);
    free(pix); free(lab);
}

static void limit_and_abandon(void)
{
    uint8_t *pix, *lab;
    dataset ds = make_ds(1000, 32, 32, &pix, &lab);
    norm_stats ns = unit_stats();
    augment_cfg aug = { .pad = 4, .flip = 1, .seed = 0 };
    loader l;
    CHECK(loader_init(&l, &ds, &ns, 64, 1, &aug, 1, 3) == 0);
    CHECK(loader_start(&l, 0, 0) == C_OK);
    int nb = 0;
    for (const batch *b; loader_next(&l, &b) == C_OK && b;) nb++;
    CHECK(nb == 3);
    loader_free(&l);
    /* Stop after one batch, start the next epoch at once: it is complete and correct. */
    CHECK(loader_init(&l, &ds, &ns, 64, 1, &aug, 1, 0) == 0);
    for (int rep = 0; rep < 20; rep++) {
        CHECK(loader_start(&l, (uint32_t)rep, (uint32_t)rep) == C_OK);
        const batch *first;
        CHECK(loader_next(&l, &first) == C_OK && first != NULL);
    }
    CHECK(loader_start(&l, 7, 7) == C_OK);
    int total = 0, first_ok = 1;
    uint32_t perm[1000];
    rng_stream s;
    rng_stream_init(&s, 1, RNG_SHUFFLE, 7);
    rng_permutation(&s, perm, 1000);
    for (const batch *b; loader_next(&l, &b) == C_OK && b;)
        for (int i = 0; i < b->n; i++, total++) first_ok &= b->ids[i] == perm[total];
    CHECK(total == 1000);
    CHECK(first_ok);
    loader_free(&l);
    free(pix); free(lab);
}

/* A stand-in device backend: host memory, and an augment_batch that refuses batch 1. */
static int fake_alloc(void *ctx, tensor *t, tensor_dtype dt, int ndim, const int *shape, tensor_layout layout)
{
    (void)ctx;
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->layout = layout;
    t->data = malloc(1);
    return C_OK;
}
static void fake_free_tensor(void *ctx, tensor *t) { (void)ctx; free(t->data); memset(t, 0, sizeof *t); }
static int fake_upload(void *ctx, tensor *dst, const void *host) { (void)ctx; (void)dst; (void)host; return C_OK; }
static int fake_augment_batch(void *ctx, const tensor *images, const tensor *labels, const tensor *lut,
                              const tensor *ids, long first, int n, int augment, const augment_style *style,
                              uint64_t seed, uint32_t pass, tensor *out, tensor *labels_out)
{
    (void)ctx; (void)images; (void)labels; (void)lut; (void)ids; (void)n; (void)augment; (void)style;
    (void)seed; (void)pass; (void)out; (void)labels_out;
    return first == 0 ? C_OK : err_msg("fake", "queue refused");
}

static void device_failure_is_an_error(void)
{
    uint8_t *pix, *lab;
    dataset ds = make_ds(100, 8, 8, &pix, &lab);
    norm_stats ns = unit_stats();
    backend_iface bi;
    memset(&bi, 0, sizeof bi);
    bi.name = "fake";
    bi.alloc = fake_alloc;
    bi.free_tensor = fake_free_tensor;
    bi.upload = fake_upload;
    bi.augment_batch = fake_augment_batch;
    backend be = { &bi, NULL };
    tensor x, y;
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    loader l;
    CHECK(loader_init(&l, &ds, &ns, 64, 0, NULL, 5, 0) == C_OK);
    CHECK(loader_attach_device(&l, &be, &x, &y) == C_OK);
    CHECK(loader_start(&l, 0, 0) == C_OK);
    const batch *b = NULL;
    CHECK(loader_next(&l, &b) == C_OK && b && b->x == NULL && b->n == 64 && x.shape[0] == 64);
    char err[1024];
    stderr_capture_begin();
    int rc = loader_next(&l, &b);
    stderr_capture_end(err, sizeof err);
    CHECK(rc == C_ERR && b == NULL);
    CHECK(count_lines(err) == 1 && strstr(err, "fake: queue refused"));
    loader_free(&l);
    free(pix); free(lab);
}

int main(void)
{
    TEST_RUN(batch_counts);
    TEST_RUN(every_image_once_per_epoch);
    TEST_RUN(contents_and_determinism);
    TEST_RUN(evaluation_is_ordered_and_plain);
    TEST_RUN(limit_and_abandon);
    TEST_RUN(device_failure_is_an_error);
    TEST_EXIT();
}
