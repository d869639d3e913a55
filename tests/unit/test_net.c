/* Whole networks: for every model file models/<arch>.json, a training-mode forward and backward on a
 * small batch through the CPU backend against a double-precision reference network built from
 * the same model file (tests/ops/reference.h): log-probs and loss, and every trainable tensor's gradient
 * against central differences of the reference loss along a random direction over a few entries.
 * Also: every layer type has a layer kind and a reference here, init ranges, eval mode using the
 * stored BnLayer statistics, SGD, save/restore. */
#include <glob.h>
#include <stdlib.h>
#include "core/errors.h"
#include "nn/layer.h"
#include "nn/net.h"
#include "ops/reference.h"
#include "core/rng.h"
#include "test.h"
#include "test_stderr.h"
static backend be;
static rng_stream rs;

typedef struct refnet {
    net *n;
    const model_desc *m;
    double **p;          /* per net tensor, doubles of its values */
    int batch;
    double *input;
    uint8_t *labels;
    uint64_t seed;
    uint32_t step;
    int eval;            /* BatchNorm2d: normalise with the running statistics */
} refnet;

static double *T(refnet *R, const char *owner, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", owner, suffix);
    int i = net_tensor_find(R->n, name);
    if (i < 0) { fprintf(stderr, "no tensor %s\n", name); exit(2); }
    return R->p[i];
}

/* One layer of the reference: y from x (N images of L->in_shape); the LogSoftmax returns the
 * batch-mean NLL and copies its output to logp when not NULL. */
typedef double (*ref_layer_fn)(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt,
                               double *y, double *logp);

static double ref_conv_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt, double *y,
                             double *logp)
{
    (void)i; (void)logp;
    char conv[96];
    snprintf(conv, sizeof conv, "%s.conv", L->name);
    const char *o = L->type == ML_CONVLAYER ? conv : L->name;
    ref_conv(x, N, L->in_shape[0], L->in_shape[1], L->in_shape[2], T(R, o, "weight"), L->bias ? T(R, o, "bias") : NULL,
             L->out, L->kernel, L->stride, L->padding, y);
    if (L->type == ML_CONVLAYER) ref_relu(y, ocnt);
    return 0;
}

static double ref_bn_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt, double *y,
                           double *logp)
{
    (void)i; (void)logp;
    char conv[96];
    snprintf(conv, sizeof conv, "%s.conv", L->name);
    double *c = xmalloc(ocnt * sizeof *c), mu[512], sd[512];
    ref_conv(x, N, L->in_shape[0], L->in_shape[1], L->in_shape[2], T(R, conv, "weight"), NULL, L->out, L->kernel,
             L->stride, L->padding, c);
    ref_bn(c, N, L->out, L->out_shape[1] * L->out_shape[2], T(R, L->name, "a"), T(R, L->name, "m"),
           L->type == ML_RESNETLAYER ? x : NULL, mu, sd, 1, y);
    free(c);
    return 0;
}

static double ref_linear_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt, double *y,
                               double *logp)
{
    (void)i; (void)ocnt; (void)logp;
    ref_linear(x, N, L->in, T(R, L->name, "weight"), L->bias ? T(R, L->name, "bias") : NULL, L->out, y);
    return 0;
}

static double ref_pool_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt, double *y,
                             double *logp)
{
    (void)R; (void)i; (void)ocnt; (void)logp;
    ref_maxpool(x, N, L->in_shape[0], L->in_shape[1] * L->in_shape[2], y);
    return 0;
}

static double ref_flatten_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt, double *y,
                                double *logp)
{
    (void)R; (void)i; (void)L; (void)N; (void)logp;
    memcpy(y, x, ocnt * sizeof *y);
    return 0;
}

static double ref_dropout_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt, double *y,
                                double *logp)
{
    (void)N; (void)logp;
    memcpy(y, x, ocnt * sizeof *y);
    ref_dropout(y, ocnt, L->p, R->seed, R->step, (uint32_t)i);
    return 0;
}

static double ref_logsoftmax_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt,
                                   double *y, double *logp)
{
    (void)i;
    ref_logsoftmax(x, N, L->in_shape[0], y);
    if (logp) memcpy(logp, y, ocnt * sizeof *y);
    return ref_nll(y, N, L->in_shape[0], R->labels);
}

/* training: batch statistics (the running ones are not touched); eval: the running ones */
static double ref_batchnorm_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt,
                                  double *y, double *logp)
{
    (void)i; (void)ocnt; (void)logp;
    ref_batchnorm(x, N, L->out, L->out_shape[1] * L->out_shape[2], T(R, L->name, "weight"), T(R, L->name, "bias"),
                  R->eval ? T(R, L->name, "running_mean") : NULL, R->eval ? T(R, L->name, "running_var") : NULL,
                  !R->eval, (float)L->momentum, (float)L->eps, y);
    return 0;
}

static double ref_pool2d_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt, double *y,
                               double *logp)
{
    (void)R; (void)i; (void)ocnt; (void)logp;
    ref_maxpool2d(x, N, L->in_shape[0], L->in_shape[1], L->in_shape[2], L->kernel, y);
    return 0;
}

static double ref_mul_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt, double *y,
                            double *logp)
{
    (void)R; (void)i; (void)N; (void)logp;
    double s = (float)L->scale;    /* the backend multiplies by the float */
    for (size_t j = 0; j < ocnt; j++) y[j] = s * x[j];
    return 0;
}

/* Elementwise types: the in-place reference of their op (the ew column of nn/layer_types.h);
 * ref_none marks the others. */
#define X(type, name, kind, keys, named, ew) void ref_##ew(double *x, size_t n);
ML_TYPES(X)
#undef X
void ref_none(double *x, size_t n) { (void)x; (void)n; }
static void (*const ref_ew[ML_N_TYPES])(double *, size_t) = {
#define X(type, name, kind, keys, named, ew) [ML_##type] = ref_##ew,
    ML_TYPES(X)
#undef X
};

static double ref_ew_layer(refnet *R, int i, const model_layer *L, const double *x, int N, size_t ocnt, double *y,
                           double *logp)
{
    (void)R; (void)i; (void)N; (void)logp;
    memcpy(y, x, ocnt * sizeof *y);
    ref_ew[L->type](y, ocnt);
    return 0;
}

/* the other types' references */
static const ref_layer_fn ref_other[ML_N_TYPES] = {
    [ML_LINEAR] = ref_linear_layer,      [ML_CONV2D] = ref_conv_layer,     [ML_CONVLAYER] = ref_conv_layer,
    [ML_BNLAYER] = ref_bn_layer,         [ML_RESNETLAYER] = ref_bn_layer,  [ML_MAXPOOL] = ref_pool_layer,
    [ML_FLATTEN] = ref_flatten_layer,    [ML_DROPOUT] = ref_dropout_layer, [ML_LOGSOFTMAX] = ref_logsoftmax_layer,
    [ML_BATCHNORM2D] = ref_batchnorm_layer, [ML_MAXPOOL2D] = ref_pool2d_layer, [ML_MUL] = ref_mul_layer,
};

/* the reference of type t, NULL when it has none */
static ref_layer_fn ref_layer(int t) { return ref_ew[t] != ref_none ? ref_ew_layer : ref_other[t]; }

static size_t per_image(int ndim, const int *s) { return (size_t)s[0] * (ndim == 3 ? (size_t)s[1] * s[2] : 1); }

/* the reference forward; returns the batch-mean NLL, fills logp when not NULL */
static double ref_forward(refnet *R, double *logp)
{
    int N = R->batch;
    size_t cnt = (size_t)N * R->m->input[0] * R->m->input[1] * R->m->input[2];
    double *x = xmalloc(cnt * sizeof *x);
    memcpy(x, R->input, cnt * sizeof *x);
    double loss = 0;
    for (int i = 0; i < R->m->n_layers; i++) {
        const model_layer *L = &R->m->layers[i];
        size_t ocnt = (size_t)N * per_image(L->out_ndim, L->out_shape);
        double *y = xmalloc((ocnt > cnt ? ocnt : cnt) * sizeof *y);
        loss += ref_layer(L->type)(R, i, L, x, N, ocnt, y, logp);
        free(x);
        x = y;
        cnt = ocnt;
    }
    free(x);
    return loss;
}

static void every_layer_type_has_a_kind_and_a_reference(void)
{
    for (int t = 0; t < ML_N_TYPES; t++) {
        const layer_kind *k = layer_kind_of((ml_type)t);
        if (!k || k->type != (ml_type)t || !k->build || !k->forward || !ref_layer(t))
            printf("  type %d (%s): kind %s, reference %s\n", t, model_type_name((ml_type)t), k ? "present" : "missing",
                   ref_layer(t) ? "present" : "missing");
        CHECK(k != NULL);
        if (!k) continue;
        CHECK(k->type == (ml_type)t);
        CHECK(k->build != NULL && k->forward != NULL);
        CHECK(ref_layer(t) != NULL);
    }
    CHECK(layer_kind_of((ml_type)ML_N_TYPES) == NULL);
}

/* Reference multiply-adds of one forward per image: every layer with in and out (conv, linear). */
static double forward_macs(const model_desc *m)
{
    double macs = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const model_layer *L = &m->layers[i];
        int k = L->kernel > 0 ? L->kernel : 1;
        if (L->in > 0 && L->out > 0) macs += (double)L->in * k * k * per_image(L->out_ndim, L->out_shape);
    }
    return macs;
}

/* A frozen weight that net_init_params left 0 (a "whiten" conv's, which the whitening code fills)
 * gets a uniform stand-in U(+-1/sqrt(fan_in)), so the net computes something worth checking. */
static void fill_frozen_weights(net *n, uint64_t seed)
{
    rng_stream r;
    rng_stream_init(&r, seed, RNG_TEST, 2);
    for (int t = 0; t < net_n_tensors(n); t++) {
        const char *name;
        int nd, sh[4], tr;
        net_tensor_info(n, t, &name, &nd, sh, &tr);
        size_t k = net_tensor_numel(n, t), len = strlen(name);
        if (tr || nd != 4 || len < 7 || strcmp(name + len - 7, ".weight")) continue;
        float *v = xmalloc(k * sizeof *v);
        CHECK(net_tensor_get(n, t, v) == C_OK);
        int zero = 1;
        for (size_t j = 0; j < k; j++) zero &= v[j] == 0.0f;
        float b = 1.0f / sqrtf((float)(sh[1] * sh[2] * sh[3]));
        for (size_t j = 0; j < k && zero; j++) v[j] = b * (float)(2 * rng_next_double(&r) - 1);
        if (zero) CHECK(net_tensor_set(n, t, v) == C_OK);
        free(v);
    }
}

/* The gradient check costs 2 reference forwards per trainable tensor: at most 4 images and
 * about 2.5e9 multiply-adds per model, at least 2 images (batch statistics need two). */
#define GRAD_CHECK_BUDGET 2.5e9
#define GRAD_CHECK_MAX_BATCH 4

static void check_model(const char *path)
{
    net *n;
    CHECK(net_load(&n, path, &be, GRAD_CHECK_MAX_BATCH) == C_OK);
    if (!n) return;
    const model_desc *m = net_model(n);
    rng_stream_init(&rs, 99, RNG_TEST, 1);      /* the same draws whatever the order of the models */
    int nt = net_n_tensors(n), n_trainable = 0;
    for (int t = 0; t < nt; t++) {
        int tr;
        net_tensor_info(n, t, NULL, NULL, NULL, &tr);
        n_trainable += tr;
    }
    double fit = GRAD_CHECK_BUDGET / (forward_macs(m) * (2 * n_trainable + 1));
    int batch = fit >= GRAD_CHECK_MAX_BATCH ? GRAD_CHECK_MAX_BATCH : fit < 2 ? 2 : (int)fit;
    printf("  %s: batch %d, %d trainable tensors\n", path, batch, n_trainable);
    CHECK(net_init_params(n, 42) == C_OK);
    fill_frozen_weights(n, 43);
    int C = m->input[0], H = m->input[1], W = m->input[2], K = m->classes;
    size_t nin = (size_t)batch * C * H * W;
    refnet R = { .n = n, .m = m, .batch = batch, .seed = 9, .step = 3 };
    R.input = xmalloc(nin * sizeof(double));
    float *in = xmalloc(nin * sizeof(float));
    for (size_t i = 0; i < nin; i++) in[i] = (float)(R.input[i] = (float)(4 * rng_next_double(&rs) - 2));
    R.labels = xmalloc((size_t)batch);
    for (int i = 0; i < batch; i++) R.labels[i] = (uint8_t)rng_next_below(&rs, (uint32_t)K);
    CHECK(net_forward(n, in, batch, 1, R.seed, R.step) == C_OK);
    float loss = NAN;
    CHECK(net_loss_backward(n, R.labels, batch, &loss) == C_OK);
    R.p = xcalloc((size_t)nt, sizeof *R.p);
    for (int t = 0; t < nt; t++) {
        size_t k = net_tensor_numel(n, t);
        float *f = xmalloc(k * sizeof *f);
        CHECK(net_tensor_get(n, t, f) == C_OK);
        R.p[t] = xmalloc(k * sizeof(double));
        for (size_t j = 0; j < k; j++) R.p[t][j] = f[j];
        free(f);
    }
    double *logp = xmalloc((size_t)batch * K * sizeof(double));
    float *out = xmalloc((size_t)batch * K * sizeof(float));
    double rloss = ref_forward(&R, logp);
    CHECK(net_output(n, out) == C_OK);
    double e = 0;
    for (int i = 0; i < batch * K; i++) e = fmax(e, fabs(out[i] - logp[i]));
    CHECK_NEAR(e, 0, 1e-4);
    CHECK_NEAR(loss, rloss, 1e-4);
    /* every trainable tensor: directional derivative over 4 random entries */
    /* the reference is double: a small step keeps the perturbation from moving ReLU inputs
     * across 0 (with 1e-6, resnet2's first conv crossed enough kinks to miss by 0.8%) */
    const double h = 1e-7;
    for (int t = 0; t < nt; t++) {
        const char *name;
        int trainable;
        net_tensor_info(n, t, &name, NULL, NULL, &trainable);
        if (!trainable) continue;
        size_t k = net_tensor_numel(n, t);
        float *g = xmalloc(k * sizeof *g);
        CHECK(net_grad_get(n, t, g) == C_OK);
        size_t idx[4];
        double v[4], ana = 0, scale = 1e-4;
        for (int j = 0; j < 4; j++) {
            idx[j] = rng_next_below(&rs, (uint32_t)k);
            v[j] = rng_next_u32(&rs) & 1 ? 1.0 : -1.0;
            if (j && idx[j] == idx[0]) v[j] = 0;
            ana += g[idx[j]] * v[j];
            scale = fmax(scale, fabs(g[idx[j]]));
        }
        double keep[4];
        for (int j = 0; j < 4; j++) keep[j] = R.p[t][idx[j]];
        for (int j = 0; j < 4; j++) R.p[t][idx[j]] += h * v[j];
        double lp = ref_forward(&R, NULL);
        for (int j = 0; j < 4; j++) R.p[t][idx[j]] = keep[j];
        for (int j = 0; j < 4; j++) R.p[t][idx[j]] -= h * v[j];
        double lm = ref_forward(&R, NULL);
        for (int j = 0; j < 4; j++) R.p[t][idx[j]] = keep[j];
        double num = (lp - lm) / (2 * h), err = fabs(num - ana) / scale;
        if (!(err <= 5e-3)) printf("  %s %s: analytic %.9g numeric %.9g err %.3g\n", path, name, ana, num, err);
        CHECK_NEAR(err, 0, 5e-3);
        free(g);
    }
    for (int t = 0; t < nt; t++) free(R.p[t]);
    free(R.p); free(R.input); free(R.labels); free(in); free(logp); free(out);
    net_free(n);
}

static const char *current_model;
static void check_current_model(void) { check_model(current_model); }
static void models_found(void) { CHECK(!"no models/*.json"); }

/* one case per model file: gradients_<arch> */
static void every_model_file_gradients(void)
{
    glob_t g;
    if (glob("models/*.json", 0, NULL, &g) != 0) { TEST_RUN(models_found); return; }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        static char name[160];
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;
        snprintf(name, sizeof name, "gradients_%.*s", (int)(strlen(base) - 5), base);
        current_model = g.gl_pathv[i];
        test_run_case(name, check_current_model);
    }
    globfree(&g);
}

static void init_follows_pytorch_defaults(void)
{
    net *n;
    CHECK(net_load(&n, "models/resnet2.json", &be, 2) == C_OK);
    if (!n) return;
    CHECK(net_init_params(n, 7) == C_OK);
    int i = net_tensor_find(n, "layers.1.conv.weight"), a = net_tensor_find(n, "conv1.a"), m = net_tensor_find(n, "conv1.m"),
        b = net_tensor_find(n, "out.bias"), s = net_tensor_find(n, "layers2.0.stds");
    CHECK(i >= 0 && a >= 0 && m >= 0 && b >= 0 && s >= 0);
    size_t k = net_tensor_numel(n, i);
    float *w = xmalloc(k * sizeof *w), bound = 1.0f / sqrtf(32 * 9), mx = 0;
    CHECK(net_tensor_get(n, i, w) == C_OK);
    double mean = 0;
    for (size_t j = 0; j < k; j++) { mx = fmaxf(mx, fabsf(w[j])); mean += w[j]; }
    CHECK(mx <= bound && mx > 0.95f * bound);
    CHECK(fabs(mean / k) < 0.05 * bound);
    float v[16], bb[10];
    CHECK(net_tensor_get(n, a, v) == C_OK);
    CHECK(v[0] == 0.0f && v[15] == 0.0f);
    CHECK(net_tensor_get(n, m, v) == C_OK);
    CHECK(v[0] == 1.0f && v[15] == 1.0f);
    CHECK(net_tensor_get(n, b, bb) == C_OK);
    for (int j = 0; j < 10; j++) CHECK(fabsf(bb[j]) <= 1.0f / 16.0f);
    float *w2 = xmalloc(k * sizeof *w2);
    CHECK(net_init_params(n, 7) == C_OK);
    CHECK(net_tensor_get(n, i, w2) == C_OK);
    CHECK(!memcmp(w, w2, k * sizeof *w));
    free(w); free(w2);
    net_free(n);
}

static void eval_uses_last_training_statistics_and_sgd_moves(void)
{
    net *n;
    CHECK(net_load(&n, "models/convbnnet.json", &be, 8) == C_OK);
    if (!n) return;
    CHECK(net_init_params(n, 3) == C_OK);
    float in[8 * 3072], out1[80], out2[80];
    uint8_t lab[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    for (int i = 0; i < 8 * 3072; i++) in[i] = (float)(2 * rng_next_double(&rs) - 1);
    CHECK(net_forward(n, in, 8, 1, 0, 0) == C_OK);
    int s = net_tensor_find(n, "layers.0.stds");
    float sd1[20], sd2[20];
    CHECK(net_tensor_get(n, s, sd1) == C_OK);
    CHECK(sd1[0] != 1.0f);
    CHECK(net_forward(n, in, 4, 0, 0, 0) == C_OK);        /* eval: statistics unchanged */
    CHECK(net_output(n, out1) == C_OK);
    CHECK(net_tensor_get(n, s, sd2) == C_OK);
    CHECK(!memcmp(sd1, sd2, sizeof sd1));
    CHECK(net_forward(n, in + 4 * 3072, 4, 0, 0, 0) == C_OK);
    CHECK(net_forward(n, in, 4, 0, 0, 0) == C_OK);
    CHECK(net_output(n, out2) == C_OK);
    CHECK(!memcmp(out1, out2, 40 * sizeof(float)));     /* eval output independent of other batches */
    /* save, train a few steps (loss falls), restore */
    CHECK(net_params_save(n) == C_OK);
    CHECK(net_forward(n, in, 8, 1, 0, 0) == C_OK);
    float l0 = NAN, l = NAN, lr = NAN;
    CHECK(net_loss_backward(n, lab, 8, &l0) == C_OK);
    net_reset_momentum(n);
    for (int k = 0; k < 10; k++) {
        CHECK(net_sgd_step(n, 0.05f, 0.9f, 1e-4f) == C_OK);
        CHECK(net_forward(n, in, 8, 1, 0, 0) == C_OK);
        CHECK(net_loss_backward(n, lab, 8, &l) == C_OK);
    }
    CHECK(l < l0);
    CHECK(net_params_restore(n) == C_OK);
    CHECK(net_forward(n, in, 8, 1, 0, 0) == C_OK);
    CHECK(net_loss(n, lab, 8, &lr) == C_OK);
    CHECK_NEAR(lr, l0, 1e-6);
    net_free(n);
}

/* ---- airbench94's layers (tests/models/: the full net at widths 64/256/256, the small one at
 * 8/16/16 for the checks in double) ---- */
#define AIRBENCH_FULL "tests/models/airbench94_full.json"
#define AIRBENCH_SMALL "tests/models/airbench94_small.json"

/* whole-net gradient check (check_model) of the small net: every layer type of airbench94 */
static void gradients_airbench94_small(void) { check_model(AIRBENCH_SMALL); }

static float max_abs(const float *v, size_t k)
{
    float m = 0;
    for (size_t j = 0; j < k; j++) m = fabsf(v[j]) > m || v[j] != v[j] ? fabsf(v[j]) : m;
    return m;
}

static int all_finite(const float *v, size_t k)
{
    for (size_t j = 0; j < k; j++) if (!isfinite(v[j])) return 0;
    return 1;
}

/* The full net: its parameter count from the shapes by hand, its state dict as PyTorch names
 * it, and one training-mode forward and backward on the CPU with finite results. */
static void airbench94_full_trains_on_the_cpu(void)
{
    /* whitening conv 24 x 3 x 2 x 2 (frozen) + bias 24; per group of width w after c channels:
     * conv c -> w and w -> w (3x3, no bias) and two BatchNorm2d(w) (weight frozen, bias); the
     * Linear 256 -> 10 has no bias */
    long want = 24L * 3 * 2 * 2 + 24, frozen = 24L * 3 * 2 * 2;
    int c = 24;
    const int widths[3] = { 64, 256, 256 };
    for (int g = 0; g < 3; g++) {
        int w = widths[g];
        want += (long)w * c * 9 + (long)w * w * 9 + 2 * 2L * w;
        frozen += 2L * w;
        c = w;
    }
    want += 10L * 256;
    CHECK(want == 1972792);
    model_desc m;
    CHECK(model_load(&m, AIRBENCH_FULL) == C_OK);
    if (!m.layers) return;
    CHECK(model_param_count(&m) == want);
    model_free(&m);
    enum { NB = 8 };
    net *n;
    CHECK(net_load(&n, AIRBENCH_FULL, &be, NB) == C_OK);
    if (!n) return;
    long trainable = 0;
    for (int t = 0; t < net_n_tensors(n); t++) {
        int tr;
        net_tensor_info(n, t, NULL, NULL, NULL, &tr);
        if (tr) trainable += (long)net_tensor_numel(n, t);
    }
    CHECK(trainable == want - frozen);
    /* PyTorch's names (nn.Sequential of airbench94.py); no Linear bias, no num_batches_tracked */
    static const char *const names[] = { "0.weight", "0.bias", "2.conv1.weight", "2.norm1.weight", "2.norm1.bias",
                                         "2.norm1.running_mean", "2.norm1.running_var", "4.norm2.running_var", "7.weight" };
    static const int trains[] = { 0, 1, 1, 0, 1, 0, 0, 0, 1 };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int i = net_tensor_find(n, names[k]), tr = -1;
        if (i < 0) printf("  missing %s\n", names[k]);
        CHECK(i >= 0);
        net_tensor_info(n, i, NULL, NULL, NULL, &tr);
        CHECK(tr == trains[k]);
    }
    CHECK(net_tensor_find(n, "7.bias") < 0 && net_tensor_find(n, "2.norm1.num_batches_tracked") < 0);
    CHECK(net_init_params(n, 5) == C_OK);
    fill_frozen_weights(n, 6);
    float *in = xmalloc((size_t)NB * 3072 * sizeof *in), out[NB * 10], out2[NB * 10], loss = NAN;
    uint8_t lab[NB];
    for (int i = 0; i < NB * 3072; i++) in[i] = (float)(4 * rng_next_double(&rs) - 2);
    for (int i = 0; i < NB; i++) lab[i] = (uint8_t)(i % 10);
    CHECK(net_forward(n, in, NB, 1, 0, 0) == C_OK);
    CHECK(net_output(n, out) == C_OK);
    CHECK(all_finite(out, NB * 10));
    CHECK(net_loss_backward(n, lab, NB, &loss) == C_OK);
    CHECK(isfinite(loss) && loss > 0);
    for (int t = 0; t < net_n_tensors(n); t++) {
        const char *name;
        int tr;
        net_tensor_info(n, t, &name, NULL, NULL, &tr);
        size_t k = net_tensor_numel(n, t);
        float *g = xmalloc(k * sizeof *g);
        CHECK(net_grad_get(n, t, g) == C_OK);
        CHECK(all_finite(g, k));
        if (tr && !(max_abs(g, k) > 0)) printf("  %s: zero gradient\n", name);
        if (tr) CHECK(max_abs(g, k) > 0);
        else CHECK(max_abs(g, k) == 0);
        free(g);
    }
    /* the training forward moved the running statistics; eval uses them, so its output differs */
    float rmean[64];
    CHECK(net_tensor_get(n, net_tensor_find(n, "2.norm1.running_mean"), rmean) == C_OK);
    CHECK(max_abs(rmean, 64) > 0);
    CHECK(net_forward(n, in, NB, 0, 0, 0) == C_OK);
    CHECK(net_output(n, out2) == C_OK);
    CHECK(all_finite(out2, NB * 10));
    CHECK(memcmp(out, out2, sizeof out) != 0);
    free(in);
    net_free(n);
}

/* Dirac init (the first min(out, in) filters: the identity, the others PyTorch's draw) and the
 * whitening conv and BatchNorm2d starting values. */
static void dirac_whiten_and_batchnorm_init(void)
{
    net *n;
    CHECK(net_load(&n, AIRBENCH_SMALL, &be, 2) == C_OK);
    if (!n) return;
    CHECK(net_init_params(n, 11) == C_OK);
    /* 2.conv1 [8, 24, 3, 3]: every filter dirac; 3.conv1 [16, 8, 3, 3]: filters 0..7 dirac */
    static const struct { const char *name; int out, in, dirac; } convs[] = {
        { "2.conv1.weight", 8, 24, 8 }, { "2.conv2.weight", 8, 8, 8 }, { "3.conv1.weight", 16, 8, 8 } };
    for (size_t k = 0; k < sizeof convs / sizeof convs[0]; k++) {
        int t = net_tensor_find(n, convs[k].name), I = convs[k].in;
        CHECK(t >= 0);
        if (t < 0) continue;
        size_t cnt = net_tensor_numel(n, t);
        float *w = xmalloc(cnt * sizeof *w), bound = 1.0f / sqrtf((float)(I * 9));
        CHECK(net_tensor_get(n, t, w) == C_OK);
        for (int o = 0; o < convs[k].out; o++) {
            const float *f = w + (size_t)o * I * 9;
            if (o < convs[k].dirac) {
                int ok = 1;
                for (int j = 0; j < I * 9; j++) ok &= f[j] == (j == o * 9 + 4 ? 1.0f : 0.0f);
                CHECK(ok);
            } else {
                CHECK(max_abs(f, (size_t)I * 9) <= bound && max_abs(f, (size_t)I * 9) > 0.5f * bound);
            }
        }
        free(w);
    }
    float v[24];
    float *ww = xmalloc(288 * sizeof *ww);
    CHECK(net_tensor_get(n, net_tensor_find(n, "0.weight"), ww) == C_OK);
    CHECK(max_abs(ww, 288) == 0);          /* left for the whitening code */
    free(ww);
    CHECK(net_tensor_get(n, net_tensor_find(n, "0.bias"), v) == C_OK);
    CHECK(max_abs(v, 24) == 0);            /* airbench's Conv zeroes its bias */
    static const struct { const char *suffix; float value; } bn[] = {
        { "weight", 1 }, { "bias", 0 }, { "running_mean", 0 }, { "running_var", 1 } };
    for (size_t k = 0; k < 4; k++) {
        char name[64];
        snprintf(name, sizeof name, "3.norm2.%s", bn[k].suffix);
        CHECK(net_tensor_get(n, net_tensor_find(n, name), v) == C_OK);
        for (int j = 0; j < 16; j++) CHECK(v[j] == bn[k].value);
    }
    net_free(n);
}

/* Eval mode: BatchNorm2d normalises with the running statistics the training forwards left,
 * against the double reference with those statistics; eval leaves them alone. */
static void batchnorm2d_eval_uses_running_statistics(void)
{
    enum { NB = 4 };
    net *n;
    CHECK(net_load(&n, AIRBENCH_SMALL, &be, NB) == C_OK);
    if (!n) return;
    CHECK(net_init_params(n, 21) == C_OK);
    fill_frozen_weights(n, 22);
    const model_desc *m = net_model(n);
    size_t nin = (size_t)NB * 3072;
    float *a = xmalloc(nin * sizeof *a), *b = xmalloc(nin * sizeof *b), out[NB * 10];
    refnet R = { .n = n, .m = m, .batch = NB, .eval = 1 };
    R.input = xmalloc(nin * sizeof(double));
    uint8_t lab[NB] = { 1, 2, 3, 4 };
    R.labels = lab;
    for (size_t i = 0; i < nin; i++) { a[i] = (float)(4 * rng_next_double(&rs) - 2); b[i] = (float)(2 * rng_next_double(&rs) - 1); }
    for (size_t i = 0; i < nin; i++) R.input[i] = b[i];
    CHECK(net_forward(n, a, NB, 1, 0, 0) == C_OK);
    CHECK(net_forward(n, a + 3072, 2, 1, 0, 0) == C_OK);     /* a second update, on 2 images */
    CHECK(net_forward(n, b, NB, 0, 0, 0) == C_OK);
    CHECK(net_output(n, out) == C_OK);
    int nt = net_n_tensors(n), rv = net_tensor_find(n, "4.norm1.running_var");
    R.p = xcalloc((size_t)nt, sizeof *R.p);
    for (int t = 0; t < nt; t++) {
        size_t k = net_tensor_numel(n, t);
        float *f = xmalloc(k * sizeof *f);
        CHECK(net_tensor_get(n, t, f) == C_OK);
        R.p[t] = xmalloc(k * sizeof(double));
        for (size_t j = 0; j < k; j++) R.p[t][j] = f[j];
        free(f);
    }
    double logp[NB * 10], e = 0;
    ref_forward(&R, logp);
    for (int i = 0; i < NB * 10; i++) e = fmax(e, fabs(out[i] - logp[i]));
    CHECK_NEAR(e, 0, 1e-4);
    float v1[16], v2[16];
    CHECK(net_tensor_get(n, rv, v1) == C_OK);
    CHECK(v1[0] != 1.0f);
    CHECK(net_forward(n, a, NB, 0, 0, 0) == C_OK);
    CHECK(net_tensor_get(n, rv, v2) == C_OK);
    CHECK(!memcmp(v1, v2, sizeof v1));
    for (int t = 0; t < nt; t++) free(R.p[t]);
    free(R.p); free(R.input); free(a); free(b);
    net_free(n);
}

/* Optimiser groups and frozen tensors (net.h): BatchNorm2d biases in NET_GROUP_NORM_BIAS; a
 * frozen trainable tensor keeps its gradient; tensors that are not trainable cannot be frozen. */
static void groups_and_frozen_tensors(void)
{
    enum { NB = 2 };
    net *n;
    CHECK(net_load(&n, AIRBENCH_SMALL, &be, NB) == C_OK);
    if (!n) return;
    int nb = net_tensor_find(n, "3.norm1.bias"), nw = net_tensor_find(n, "3.norm1.weight"),
        cw = net_tensor_find(n, "3.conv1.weight"), rm = net_tensor_find(n, "3.norm1.running_mean"),
        wb = net_tensor_find(n, "0.bias"), ww = net_tensor_find(n, "0.weight"), lw = net_tensor_find(n, "7.weight");
    CHECK(nb >= 0 && nw >= 0 && cw >= 0 && rm >= 0 && wb >= 0 && ww >= 0 && lw >= 0);
    int norm_biases = 0;
    for (int t = 0; t < net_n_tensors(n); t++) norm_biases += net_tensor_group(n, t) == NET_GROUP_NORM_BIAS;
    CHECK(norm_biases == 6);
    CHECK(net_tensor_group(n, nb) == NET_GROUP_NORM_BIAS);
    CHECK(net_tensor_group(n, nw) == NET_GROUP_DEFAULT && net_tensor_group(n, cw) == NET_GROUP_DEFAULT &&
          net_tensor_group(n, rm) == NET_GROUP_DEFAULT && net_tensor_group(n, wb) == NET_GROUP_DEFAULT &&
          net_tensor_group(n, lw) == NET_GROUP_DEFAULT);
    CHECK(!net_tensor_frozen(n, wb) && !net_tensor_frozen(n, ww) && !net_tensor_frozen(n, nb));
    CHECK(net_tensor_set_frozen(n, wb, 1) == C_OK);
    CHECK(net_tensor_frozen(n, wb) == 1);
    char msg[256];
    stderr_capture_begin();
    int rc = net_tensor_set_frozen(n, ww, 1), rc2 = net_tensor_group(n, net_n_tensors(n));
    stderr_capture_end(msg, sizeof msg);
    CHECK(rc == C_ERR && rc2 == C_ERR && strstr(msg, "0.weight: not trainable"));
    CHECK(!net_tensor_frozen(n, ww) && !net_tensor_frozen(n, -1));
    /* the frozen bias still gets its gradient */
    CHECK(net_init_params(n, 31) == C_OK);
    fill_frozen_weights(n, 32);
    float *in = xmalloc((size_t)NB * 3072 * sizeof *in), g[24], loss;
    uint8_t lab[NB] = { 3, 7 };
    for (int i = 0; i < NB * 3072; i++) in[i] = (float)(4 * rng_next_double(&rs) - 2);
    CHECK(net_forward(n, in, NB, 1, 0, 0) == C_OK);
    CHECK(net_loss_backward(n, lab, NB, &loss) == C_OK);
    CHECK(net_grad_get(n, wb, g) == C_OK);
    CHECK(max_abs(g, 24) > 0);
    CHECK(net_tensor_set_frozen(n, wb, 0) == C_OK && !net_tensor_frozen(n, wb));
    /* the SGD step leaves what is not trainable alone (weight decay included) and moves the rest */
    int nt = net_n_tensors(n);
    float **before = xcalloc((size_t)nt, sizeof *before);
    for (int t = 0; t < nt; t++) {
        before[t] = xmalloc(net_tensor_numel(n, t) * sizeof(float));
        CHECK(net_tensor_get(n, t, before[t]) == C_OK);
    }
    CHECK(net_sgd_step(n, 0.1f, 0.9f, 0.01f) == C_OK);
    for (int t = 0; t < nt; t++) {
        size_t k = net_tensor_numel(n, t);
        float *after = xmalloc(k * sizeof *after);
        int tr;
        net_tensor_info(n, t, NULL, NULL, NULL, &tr);
        CHECK(net_tensor_get(n, t, after) == C_OK);
        CHECK(!memcmp(before[t], after, k * sizeof(float)) == !tr);
        free(after);
        free(before[t]);
    }
    free(before);
    free(in);
    net_free(n);
}

int main(int argc, char **argv)
{
    (void)argc;
    err_init(argv[0]);
    if (backend_cpu_init(&be, 0)) return 1;
    rng_stream_init(&rs, 99, RNG_TEST, 1);
    TEST_RUN(every_layer_type_has_a_kind_and_a_reference);
    every_model_file_gradients();
    TEST_RUN(init_follows_pytorch_defaults);
    TEST_RUN(eval_uses_last_training_statistics_and_sgd_moves);
    TEST_RUN(gradients_airbench94_small);
    TEST_RUN(airbench94_full_trains_on_the_cpu);
    TEST_RUN(dirac_whiten_and_batchnorm_init);
    TEST_RUN(batchnorm2d_eval_uses_running_statistics);
    TEST_RUN(groups_and_frozen_tensors);
    backend_free(&be);
    TEST_EXIT();
}
