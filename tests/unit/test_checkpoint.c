/* Checkpoints: save -> load round trip of every tensor (parameters and BnLayer statistics) with
 * PyTorch names and shapes and the metadata; deterministic bytes; refused mismatches (another
 * architecture, a changed shape); and lr_find leaves the weights as they were. */
#include <stdlib.h>
#include <unistd.h>

#include "backend/backend.h"
#include "io/checkpoint.h"
#include "train/lr_finder.h"
#include "core/rng.h"
#include "io/safetensors.h"
#include "test.h"
#include "test_stderr.h"

static char dir[] = "/tmp/test_checkpoint.XXXXXX";

static net *make_net(backend *be, const char *arch, int max_batch, uint64_t seed)
{
    char path[128];
    snprintf(path, sizeof path, "models/%s.json", arch);
    net *n = NULL;
    if (net_load(&n, path, be, max_batch) != 0) return NULL;
    if (net_init_params(n, seed) != C_OK) { net_free(n); return NULL; }
    return n;
}

static int nets_equal(net *a, net *b)
{
    if (net_n_tensors(a) != net_n_tensors(b)) return 0;
    for (int i = 0; i < net_n_tensors(a); i++) {
        size_t k = net_tensor_numel(a, i);
        if (k != net_tensor_numel(b, i)) return 0;
        float *x = malloc(sizeof(float) * k), *y = malloc(sizeof(float) * k);
        int same = net_tensor_get(a, i, x) == C_OK && net_tensor_get(b, i, y) == C_OK && !memcmp(x, y, sizeof(float) * k);
        free(x); free(y);
        if (!same) return 0;
    }
    return 1;
}

static void round_trip(void)
{
    backend be;
    if (backend_cpu_init(&be, 0) != 0) SKIP("no CPU backend");
    net *a = make_net(&be, "convbnnet", 8, 1), *b = make_net(&be, "convbnnet", 8, 2);
    if (!a || !b) SKIP("models/convbnnet.json not loadable");
    /* A training forward sets the BnLayer statistics, so they are not the initial 0/1. */
    float x[8 * 3 * 32 * 32];
    rng_stream s;
    rng_stream_init(&s, 3, RNG_TEST, 0);
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = rng_next_float(&s) * 2 - 1;
    CHECK(net_forward(a, x, 8, 1, 0, 0) == 0);
    CHECK(!nets_equal(a, b));
    ckpt_meta m = { .arch = "convbnnet", .seed = 1, .epochs = 6, .mean = { 0.49, 0.48, 0.44 },
                    .std = { 0.25, 0.24, 0.26 }, .params_hash = "0123456789abcdef", .model_hash = "fedcba9876543210" };
    char p1[160], p2[160];
    snprintf(p1, sizeof p1, "%s/a.ckpt", dir);
    snprintf(p2, sizeof p2, "%s/b.ckpt", dir);
    CHECK(checkpoint_save(a, p1, &m) == 0);
    ckpt_meta got;
    CHECK(checkpoint_load(b, p1, &got) == 0);
    CHECK(nets_equal(a, b));
    CHECK(got.seed == 1 && got.epochs == 6);
    CHECK(got.mean[1] == 0.48 && got.std[2] == 0.26);
    CHECK(!strcmp(got.params_hash, "0123456789abcdef") && !strcmp(got.model_hash, "fedcba9876543210"));
    /* The same net saves to the same bytes. */
    CHECK(checkpoint_save(b, p2, &m) == 0);
    safetensors_file f1, f2;
    CHECK(safetensors_read(&f1, p1) == 0 && safetensors_read(&f2, p2) == 0);
    CHECK(f1.size == f2.size && !memcmp(f1.buffer, f2.buffer, f1.size));
    /* PyTorch names, shapes, F32, statistics included. */
    const safetensors_tensor *t = safetensors_find(&f1, "layers.0.conv.weight");
    CHECK(t && t->dtype == SAFETENSORS_F32 && t->ndim == 4 && t->shape[0] == 20 && t->shape[1] == 10 && t->shape[2] == 3);
    t = safetensors_find(&f1, "layers.3.stds");
    CHECK(t && t->ndim == 3 && t->shape[0] == 160 && t->shape[1] == 1 && t->shape[2] == 1);
    CHECK(safetensors_find(&f1, "conv1.bias") && safetensors_find(&f1, "out.weight") && safetensors_find(&f1, "layers.2.means"));
    CHECK(safetensors_meta(&f1, "arch") && !strcmp(safetensors_meta(&f1, "arch"), "convbnnet"));
    safetensors_free(&f1);
    safetensors_free(&f2);
    net_free(a);
    net_free(b);
    backend_free(&be);
}

static void refuses_mismatches(void)
{
    backend be;
    if (backend_cpu_init(&be, 0) != 0) SKIP("no CPU backend");
    net *a = make_net(&be, "convbnnet", 4, 1), *c = make_net(&be, "convbnnet2", 4, 1);
    if (!a || !c) SKIP("models not loadable");
    ckpt_meta m = { .arch = "convbnnet", .seed = 1 };
    char p[160];
    snprintf(p, sizeof p, "%s/m.ckpt", dir);
    CHECK(checkpoint_save(a, p, &m) == 0);
    fprintf(stderr, "expected error: ");
    CHECK(checkpoint_load(c, p, NULL) != 0);            /* other architecture: tensor count/names */
    /* Same names, one shape changed by hand. */
    safetensors_file f;
    CHECK(safetensors_read(&f, p) == 0);
    safetensors_writer w;
    safetensors_writer_init(&w);
    for (int i = 0; i < f.n_tensors; i++) {
        safetensors_tensor *t = &f.tensors[i];
        int64_t sh[SAFETENSORS_MAX_DIMS];
        memcpy(sh, t->shape, sizeof sh);
        int nd = t->ndim;
        if (!strcmp(t->name, "out.bias")) { sh[0] = 5; }   /* 5 floats: the first half of the data */
        safetensors_writer_add(&w, t->name, t->dtype, nd, sh, t->data);
    }
    char q[160];
    snprintf(q, sizeof q, "%s/bad.ckpt", dir);
    CHECK(safetensors_writer_save(&w, q) == 0);
    safetensors_writer_free(&w);
    safetensors_free(&f);
    fprintf(stderr, "expected error: ");
    CHECK(checkpoint_load(a, q, NULL) != 0);
    net_free(a);
    net_free(c);
    backend_free(&be);
}

/* Rewrites checkpoint src to dst with tensor `nan_tensor` (if any) holding a NaN at element 1
 * and the metadata key `key` set to value (NULL: removed). */
static int rewrite(const char *src, const char *dst, const char *nan_tensor, const char *key, const char *value)
{
    safetensors_file f;
    if (safetensors_read(&f, src) != C_OK) return C_ERR;
    safetensors_writer w;
    safetensors_writer_init(&w);
    float *copy = NULL;
    for (int i = 0; i < f.n_tensors; i++) {
        safetensors_tensor *t = &f.tensors[i];
        const void *data = t->data;
        if (nan_tensor && !strcmp(t->name, nan_tensor)) {
            copy = malloc(t->nbytes);
            memcpy(copy, t->data, t->nbytes);
            copy[1] = NAN;
            data = copy;
        }
        safetensors_writer_add(&w, t->name, t->dtype, t->ndim, t->shape, data);
    }
    for (int i = 0; i < f.n_meta; i++)
        if (!key || strcmp(f.meta_keys[i], key)) safetensors_writer_meta(&w, f.meta_keys[i], f.meta_values[i]);
    if (key && value) safetensors_writer_meta(&w, key, value);
    int rc = safetensors_writer_save(&w, dst);
    safetensors_writer_free(&w);
    free(copy);
    safetensors_free(&f);
    return rc;
}

/* checkpoint_load's error for p (C_ERR expected) in msg. */
static int load_error(net *n, const char *p, char *msg, size_t cap)
{
    ckpt_meta got;
    stderr_capture_begin();
    int rc = checkpoint_load(n, p, &got);
    stderr_capture_end(msg, cap);
    if (rc == C_OK || count_lines(msg) != 1 || !strstr(msg, p)) printf("    (rc %d: %s)\n", rc, msg);
    return rc == C_ERR && count_lines(msg) == 1 && strstr(msg, p) != NULL;
}

/* Issue 11: NaN weights were loaded (and evaluated to accuracy 0.1); metadata with NaN, garbage
 * or no mean/std skipped evaluate's normalisation check. Each is refused, naming file and key. */
static void refuses_nonfinite_weights_and_bad_metadata(void)
{
    backend be;
    if (backend_cpu_init(&be, 0) != 0) SKIP("no CPU backend");
    net *a = make_net(&be, "convnet", 4, 1);
    if (!a) SKIP("models/convnet.json not loadable");
    ckpt_meta m = { .arch = "convnet", .seed = 1, .mean = { 0.49, 0.48, 0.44 }, .std = { 0.25, 0.24, 0.26 } };
    char p[160], q[160], msg[1024];
    snprintf(p, sizeof p, "%s/ok.ckpt", dir);
    snprintf(q, sizeof q, "%s/edited.ckpt", dir);
    CHECK(checkpoint_save(a, p, &m) == C_OK);
    ckpt_meta got;
    CHECK(checkpoint_load(a, p, &got) == C_OK && got.std[1] == 0.24);

    CHECK(rewrite(p, q, "layers.1.weight", NULL, NULL) == C_OK);
    CHECK(load_error(a, q, msg, sizeof msg) && strstr(msg, "layers.1.weight: element 1 is nan"));
    CHECK(checkpoint_load(a, q, NULL) == C_ERR);        /* also without metadata */

    const char *keys[] = { "mean", "std", "mean", "std", "std", "mean" };
    const char *values[] = { NULL, NULL, "nan,nan,nan", "garbage", "0.25,0,0.26", "0.49,0.48" };
    for (int i = 0; i < 6; i++) {
        CHECK(rewrite(p, q, NULL, keys[i], values[i]) == C_OK);
        char want[64];
        snprintf(want, sizeof want, "metadata \"%s\": %s", keys[i], values[i] ? "\"" : "missing");
        CHECK(load_error(a, q, msg, sizeof msg) && strstr(msg, want));
    }
    net_free(a);
    backend_free(&be);
}

static void lrfind_restores_weights(void)
{
    backend be;
    if (backend_cpu_init(&be, 0) != 0) SKIP("no CPU backend");
    net *a = make_net(&be, "convnet", 16, 4), *ref = make_net(&be, "convnet", 16, 4);
    if (!a || !ref) SKIP("models/convnet.json not loadable");
    /* 64 random images in 10 classes. */
    static uint8_t pix[64 * 32 * 32 * 3], lab[64];
    rng_stream s;
    rng_stream_init(&s, 8, RNG_TEST, 0);
    for (size_t i = 0; i < sizeof pix; i++) pix[i] = (uint8_t)rng_next_u32(&s);
    for (int i = 0; i < 64; i++) lab[i] = (uint8_t)(i % 10);
    dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.images = pix; ds.labels = lab; ds.n = 64; ds.h = 32; ds.w = 32; ds.n_classes = 10;
    const double mean[3] = { 0.5, 0.5, 0.5 }, sd[3] = { 0.25, 0.25, 0.25 };
    norm_stats ns;
    norm_stats_init(&ns, mean, sd);
    train_params p;
    memset(&p, 0, sizeof p);
    p.seed = 4; p.batch_size = 16; p.momentum = 0.9; p.pad = 4; p.flip = 1;
    p.lrf_start = 1e-5; p.lrf_end = 10; p.lrf_limit = 0;
    augment_cfg aug = { .pad = 4, .flip = 1, .seed = 4 };
    loader l;
    CHECK(loader_init(&l, &ds, &ns, 16, 1, &aug, 4, 0) == 0);
    lr_finder_result r;
    CHECK(lr_finder_run(a, &p, &l, 0, &r) == 0);
    CHECK(r.nb == 4);
    CHECK(r.n >= 1 && r.n <= 4);
    CHECK(r.lr[0] == 1e-5);
    CHECK(nets_equal(a, ref));
    lr_finder_result_free(&r);
    loader_free(&l);
    net_free(a);
    net_free(ref);
    backend_free(&be);
}

int main(void)
{
    if (!mkdtemp(dir)) { printf("FAIL: mkdtemp\n"); return 1; }
    TEST_RUN(round_trip);
    TEST_RUN(refuses_mismatches);
    TEST_RUN(refuses_nonfinite_weights_and_bad_metadata);
    TEST_RUN(lrfind_restores_weights);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("FAIL: cleanup\n");
    TEST_EXIT();
}
