/* Whole networks: for each of the seven models, a training-mode forward and backward on a small
 * batch through the CPU backend against a double-precision reference network built from the same
 * model file (tests/ops/reference.h): log-probs and loss, and every trainable tensor's gradient against
 * central differences of the reference loss along a random direction over a few entries.
 * Also init ranges, eval mode using the stored BnLayer statistics, SGD, save/restore. */
#include <stdlib.h>
#include "core/error.h"
#include "nn/net.h"
#include "ops/reference.h"
#include "core/rng.h"
#include "test.h"

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
} refnet;

static double *T(refnet *R, const char *owner, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", owner, suffix);
    int i = net_tensor_find(R->n, name);
    if (i < 0) { fprintf(stderr, "no tensor %s\n", name); exit(2); }
    return R->p[i];
}

/* the reference forward; returns the batch-mean NLL, fills logp when not NULL */
static double ref_forward(refnet *R, double *logp)
{
    int N = R->batch, ndim = 3, s[3] = { R->m->input[0], R->m->input[1], R->m->input[2] };
    size_t cnt = (size_t)N * s[0] * s[1] * s[2];
    double *x = xmalloc(cnt * sizeof *x);
    memcpy(x, R->input, cnt * sizeof *x);
    double loss = 0;
    for (int i = 0; i < R->m->n_layers; i++) {
        const model_layer *L = &R->m->layers[i];
        size_t ocnt = (size_t)N * L->out_shape[0] * (L->out_ndim == 3 ? L->out_shape[1] * L->out_shape[2] : 1);
        double *y = xmalloc((ocnt > cnt ? ocnt : cnt) * sizeof *y);
        char conv[96];
        snprintf(conv, sizeof conv, "%s.conv", L->name);
        switch (L->type) {
        case ML_CONV2D: case ML_CONVLAYER: {
            const char *o = L->type == ML_CONVLAYER ? conv : L->name;
            ref_conv(x, N, s[0], s[1], s[2], T(R, o, "weight"), L->bias ? T(R, o, "bias") : NULL, L->out, L->kernel,
                     L->stride, L->padding, y);
            if (L->type == ML_CONVLAYER) ref_relu(y, ocnt);
            break;
        }
        case ML_BNLAYER: case ML_RESNETLAYER: {
            double *c = xmalloc(ocnt * sizeof *c), mu[512], sd[512];
            ref_conv(x, N, s[0], s[1], s[2], T(R, conv, "weight"), NULL, L->out, L->kernel, L->stride, L->padding, c);
            ref_bn(c, N, L->out, L->out_shape[1] * L->out_shape[2], T(R, L->name, "a"), T(R, L->name, "m"),
                   L->type == ML_RESNETLAYER ? x : NULL, mu, sd, 1, y);
            free(c);
            break;
        }
        case ML_LINEAR:
            ref_linear(x, N, L->in, T(R, L->name, "weight"), L->bias ? T(R, L->name, "bias") : NULL, L->out, y);
            break;
        case ML_RELU:
            memcpy(y, x, ocnt * sizeof *y);
            ref_relu(y, ocnt);
            break;
        case ML_MAXPOOL:
            ref_maxpool(x, N, s[0], s[1] * s[2], y);
            break;
        case ML_FLATTEN:
            memcpy(y, x, ocnt * sizeof *y);
            break;
        case ML_DROPOUT:
            memcpy(y, x, ocnt * sizeof *y);
            ref_dropout(y, ocnt, L->p, R->seed, R->step, (uint32_t)i);
            break;
        case ML_LOGSOFTMAX:
            ref_logsoftmax(x, N, s[0], y);
            loss = ref_nll(y, N, s[0], R->labels);
            if (logp) memcpy(logp, y, ocnt * sizeof *y);
            break;
        }
        free(x);
        x = y;
        cnt = ocnt;
        ndim = L->out_ndim;
        memcpy(s, L->out_shape, sizeof s);
    }
    (void)ndim;
    free(x);
    return loss;
}

static void check_arch(const char *arch, int batch)
{
    char path[128];
    snprintf(path, sizeof path, "models/%s.json", arch);
    net *n;
    CHECK(net_load(&n, path, &be, batch) == C_OK);
    if (!n) return;
    const model_desc *m = net_model(n);
    net_init_params(n, 42);
    int C = m->input[0], H = m->input[1], W = m->input[2], K = m->classes;
    size_t nin = (size_t)batch * C * H * W;
    refnet R = { .n = n, .m = m, .batch = batch, .seed = 9, .step = 3 };
    R.input = xmalloc(nin * sizeof(double));
    float *in = xmalloc(nin * sizeof(float));
    for (size_t i = 0; i < nin; i++) in[i] = (float)(R.input[i] = (float)(4 * rng_next_double(&rs) - 2));
    R.labels = xmalloc((size_t)batch);
    for (int i = 0; i < batch; i++) R.labels[i] = (uint8_t)rng_next_below(&rs, (uint32_t)K);
    CHECK(net_forward(n, in, batch, 1, R.seed, R.step) == C_OK);
    float loss = net_loss_backward(n, R.labels, batch);
    int nt = net_n_tensors(n);
    R.p = xcalloc((size_t)nt, sizeof *R.p);
    for (int t = 0; t < nt; t++) {
        size_t k = net_tensor_numel(n, t);
        float *f = xmalloc(k * sizeof *f);
        net_tensor_get(n, t, f);
        R.p[t] = xmalloc(k * sizeof(double));
        for (size_t j = 0; j < k; j++) R.p[t][j] = f[j];
        free(f);
    }
    double *logp = xmalloc((size_t)batch * K * sizeof(double));
    float *out = xmalloc((size_t)batch * K * sizeof(float));
    double rloss = ref_forward(&R, logp);
    net_output(n, out);
    double e = 0;
    for (int i = 0; i < batch * K; i++) e = fmax(e, fabs(out[i] - logp[i]));
    CHECK_NEAR(e, 0, 1e-4);
    CHECK_NEAR(loss, rloss, 1e-4);
    /* every trainable tensor: directional derivative over 4 random entries */
    const double h = 1e-6;
    for (int t = 0; t < nt; t++) {
        const char *name;
        int trainable;
        net_tensor_info(n, t, &name, NULL, NULL, &trainable);
        if (!trainable) continue;
        size_t k = net_tensor_numel(n, t);
        float *g = xmalloc(k * sizeof *g);
        net_grad_get(n, t, g);
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
        if (!(err <= 5e-3)) printf("  %s %s: analytic %.9g numeric %.9g\n", arch, name, ana, num);
        CHECK_NEAR(err, 0, 5e-3);
        free(g);
    }
    for (int t = 0; t < nt; t++) free(R.p[t]);
    free(R.p); free(R.input); free(R.labels); free(in); free(logp); free(out);
    net_free(n);
}

static void simplenet_gradients(void) { check_arch("simplenet", 4); }
static void convnet_gradients(void) { check_arch("convnet", 4); }
static void convnet2_gradients(void) { check_arch("convnet2", 4); }
static void convbnnet_gradients(void) { check_arch("convbnnet", 4); }
static void convbnnet2_gradients(void) { check_arch("convbnnet2", 4); }
static void resnet_gradients(void) { check_arch("resnet", 3); }
static void resnet2_gradients(void) { check_arch("resnet2", 2); }

static void init_follows_pytorch_defaults(void)
{
    net *n;
    CHECK(net_load(&n, "models/resnet2.json", &be, 2) == C_OK);
    if (!n) return;
    net_init_params(n, 7);
    int i = net_tensor_find(n, "layers.1.conv.weight"), a = net_tensor_find(n, "conv1.a"), m = net_tensor_find(n, "conv1.m"),
        b = net_tensor_find(n, "out.bias"), s = net_tensor_find(n, "layers2.0.stds");
    CHECK(i >= 0 && a >= 0 && m >= 0 && b >= 0 && s >= 0);
    size_t k = net_tensor_numel(n, i);
    float *w = xmalloc(k * sizeof *w), bound = 1.0f / sqrtf(32 * 9), mx = 0;
    net_tensor_get(n, i, w);
    double mean = 0;
    for (size_t j = 0; j < k; j++) { mx = fmaxf(mx, fabsf(w[j])); mean += w[j]; }
    CHECK(mx <= bound && mx > 0.95f * bound);
    CHECK(fabs(mean / k) < 0.05 * bound);
    float v[16], bb[10];
    net_tensor_get(n, a, v);
    CHECK(v[0] == 0.0f && v[15] == 0.0f);
    net_tensor_get(n, m, v);
    CHECK(v[0] == 1.0f && v[15] == 1.0f);
    net_tensor_get(n, b, bb);
    for (int j = 0; j < 10; j++) CHECK(fabsf(bb[j]) <= 1.0f / 16.0f);
    float *w2 = xmalloc(k * sizeof *w2);
    net_init_params(n, 7);
    net_tensor_get(n, i, w2);
    CHECK(!memcmp(w, w2, k * sizeof *w));
    free(w); free(w2);
    net_free(n);
}

static void eval_uses_last_training_statistics_and_sgd_moves(void)
{
    net *n;
    CHECK(net_load(&n, "models/convbnnet.json", &be, 8) == C_OK);
    if (!n) return;
    net_init_params(n, 3);
    float in[8 * 3072], out1[80], out2[80];
    uint8_t lab[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    for (int i = 0; i < 8 * 3072; i++) in[i] = (float)(2 * rng_next_double(&rs) - 1);
    CHECK(net_forward(n, in, 8, 1, 0, 0) == C_OK);
    int s = net_tensor_find(n, "layers.0.stds");
    float sd1[20], sd2[20];
    net_tensor_get(n, s, sd1);
    CHECK(sd1[0] != 1.0f);
    CHECK(net_forward(n, in, 4, 0, 0, 0) == C_OK);        /* eval: statistics unchanged */
    net_output(n, out1);
    net_tensor_get(n, s, sd2);
    CHECK(!memcmp(sd1, sd2, sizeof sd1));
    CHECK(net_forward(n, in + 4 * 3072, 4, 0, 0, 0) == C_OK);
    CHECK(net_forward(n, in, 4, 0, 0, 0) == C_OK);
    net_output(n, out2);
    CHECK(!memcmp(out1, out2, 40 * sizeof(float)));     /* eval output independent of other batches */
    /* save, train a few steps (loss falls), restore */
    net_params_save(n);
    CHECK(net_forward(n, in, 8, 1, 0, 0) == C_OK);
    float l0 = net_loss_backward(n, lab, 8), l = l0;
    net_reset_momentum(n);
    for (int k = 0; k < 10; k++) {
        net_sgd_step(n, 0.05f, 0.9f, 1e-4f);
        CHECK(net_forward(n, in, 8, 1, 0, 0) == C_OK);
        l = net_loss_backward(n, lab, 8);
    }
    CHECK(l < l0);
    net_params_restore(n);
    CHECK(net_forward(n, in, 8, 1, 0, 0) == C_OK);
    CHECK_NEAR(net_loss(n, lab, 8), l0, 1e-6);
    net_free(n);
}

int main(int argc, char **argv)
{
    (void)argc;
    err_init(argv[0]);
    if (backend_cpu_init(&be, 0)) return 1;
    rng_stream_init(&rs, 99, RNG_TEST, 1);
    TEST_RUN(simplenet_gradients);
    TEST_RUN(convnet_gradients);
    TEST_RUN(convnet2_gradients);
    TEST_RUN(convbnnet_gradients);
    TEST_RUN(convbnnet2_gradients);
    TEST_RUN(resnet_gradients);
    TEST_RUN(resnet2_gradients);
    TEST_RUN(init_follows_pytorch_defaults);
    TEST_RUN(eval_uses_last_training_statistics_and_sgd_moves);
    backend_free(&be);
    TEST_EXIT();
}
