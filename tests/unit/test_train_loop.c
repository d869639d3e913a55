/* test_train_loop: the host side of the device training loop, on the CPU.
 *
 * - The trainer reads each step's loss one (or more) steps late: the recorded losses, lrs,
 *   smoothed trn_loss, validation results and the final weights must equal the synchronous
 *   bookkeeping (loss_lag 0) exactly.
 * - net_train_step is the forward / loss_backward / sgd_step sequence, bit for bit.
 * - The loader's TTA mode (dataset order, training transform with a given pass), which the GPU
 *   evaluation path uses, gives augment_image of each image in order.
 * - airbench's rules on a net: a frozen tensor is not stepped (the others are); the plain rule
 *   (net_set_sgd_rule NULL) is net_sgd_step as before, bit for bit, and a Nesterov rule is not;
 *   the lookahead copy: start, decay-1 update restores it, get/set round trip; drop_last. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "backend/backend.h"
#include "core/errors.h"
#include "data/loader.h"
#include "nn/net.h"
#include "core/rng.h"
#include "train/trainer.h"

static backend cpu;

/* n random 32x32 images with labels i % 10 (no file behind them). */
static dataset make_ds(int n, uint8_t **pix, uint8_t **lab, uint32_t salt)
{
    dataset d;
    memset(&d, 0, sizeof d);
    *pix = malloc((size_t)n * 32 * 32 * 3);
    *lab = malloc((size_t)n);
    rng_stream s;
    rng_stream_init(&s, 11, RNG_TEST, salt);
    for (size_t i = 0; i < (size_t)n * 32 * 32 * 3; i++) (*pix)[i] = (uint8_t)rng_next_u32(&s);
    for (int i = 0; i < n; i++) (*lab)[i] = (uint8_t)(rng_next_u32(&s) % 10);
    d.images = *pix;
    d.labels = *lab;
    d.n = n; d.h = 32; d.w = 32; d.n_classes = 10;
    return d;
}

static norm_stats stats(void)
{
    const double m[3] = { 0.49, 0.48, 0.45 }, s[3] = { 0.25, 0.24, 0.26 };
    norm_stats ns;
    norm_stats_init(&ns, m, s);
    return ns;
}

typedef struct run_out {
    double *loss, *lr;
    long n_it;
    double ep[3][3];     /* trn_loss, val_loss, accuracy of 3 epochs */
    float *w;            /* the first conv's weights after training */
    size_t nw;
} run_out;

/* convbnnet (dropout-free, BnLayers), 3 epochs in 2 phases, batch 16 over 40 images (last
 * batch partial), with the given loss lag. */
static int train_with_lag(int lag, run_out *o)
{
    uint8_t *p1, *l1, *p2, *l2;
    dataset trn = make_ds(40, &p1, &l1, 1), val = make_ds(24, &p2, &l2, 2);
    norm_stats ns = stats();
    train_params p;
    memset(&p, 0, sizeof p);
    p.seed = 5;
    p.batch_size = 16;
    p.momentum = 0.9;
    p.pad = 4;
    p.flip = 1;
    p.n_phases = 2;
    p.phases[0] = (fit_phase){ .lr = 0.05, .n_cycle = 1, .cycle_mult = 1 };
    p.phases[1] = (fit_phase){ .lr = 0.1, .n_cycle = 2, .cycle_len = 1, .cycle_mult = 1, .wd = 1e-4 };
    net *n;
    if (net_load(&n, "models/convbnnet.json", &cpu, p.batch_size) != C_OK) return C_ERR;
    if (net_init_params(n, p.seed) != C_OK) { net_free(n); return C_ERR; }
    augment_cfg aug = { .pad = p.pad, .flip = p.flip, .seed = p.seed };
    loader lt, lv;
    loader_init(&lt, &trn, &ns, p.batch_size, 1, &aug, p.seed, 0);
    loader_init(&lv, &val, &ns, p.batch_size, 0, NULL, p.seed, 0);
    trainer t;
    trainer_init(&t, n, &p, &lt, &lv);
    t.loss_lag = lag;
    int rc = trainer_run(&t);
    if (rc == C_OK) {
        o->n_it = t.n_it;
        o->loss = malloc(sizeof(double) * (size_t)t.n_it);
        o->lr = malloc(sizeof(double) * (size_t)t.n_it);
        memcpy(o->loss, t.it_loss, sizeof(double) * (size_t)t.n_it);
        memcpy(o->lr, t.it_lr, sizeof(double) * (size_t)t.n_it);
        for (int e = 0; e < 3 && e < t.n_epochs; e++) {
            o->ep[e][0] = t.epochs[e].trn_loss;
            o->ep[e][1] = t.epochs[e].val_loss;
            o->ep[e][2] = t.epochs[e].accuracy;
        }
        o->nw = net_tensor_numel(n, 0);
        o->w = malloc(sizeof(float) * o->nw);
        if (net_tensor_get(n, 0, o->w) != C_OK) rc = C_ERR;
    }
    trainer_free(&t);
    loader_free(&lt);
    loader_free(&lv);
    net_free(n);
    free(p1); free(l1); free(p2); free(l2);
    return rc;
}

static void free_out(run_out *o) { free(o->loss); free(o->lr); free(o->w); }

static void lagged_losses_equal_synchronous(void)
{
    run_out s, l1, l3;
    memset(&s, 0, sizeof s); l1 = l3 = s;
    CHECK(train_with_lag(0, &s) == C_OK);
    CHECK(train_with_lag(1, &l1) == C_OK);
    CHECK(train_with_lag(3, &l3) == C_OK);
    CHECK(s.n_it == 9);                 /* 3 epochs of ceil(40/16) = 3 batches */
    const run_out *o[2] = { &l1, &l3 };
    for (int k = 0; k < 2; k++) {
        CHECK(o[k]->n_it == s.n_it);
        if (o[k]->n_it != s.n_it) continue;
        CHECK(!memcmp(o[k]->loss, s.loss, sizeof(double) * (size_t)s.n_it));
        CHECK(!memcmp(o[k]->lr, s.lr, sizeof(double) * (size_t)s.n_it));
        CHECK(!memcmp(o[k]->ep, s.ep, sizeof s.ep));
        CHECK(o[k]->nw == s.nw && !memcmp(o[k]->w, s.w, sizeof(float) * s.nw));
    }
    /* the run did something: losses vary and the last epoch's smoothed loss is finite */
    CHECK(s.loss[0] != s.loss[s.n_it - 1]);
    CHECK(s.ep[2][0] > 0 && s.ep[2][0] < 100);
    free_out(&s); free_out(&l1); free_out(&l3);
}

static void train_step_matches_three_calls(void)
{
    net *a, *b;
    CHECK(net_load(&a, "models/convbnnet.json", &cpu, 8) == C_OK);
    CHECK(net_load(&b, "models/convbnnet.json", &cpu, 8) == C_OK);
    CHECK(net_init_params(a, 3) == C_OK && net_init_params(b, 3) == C_OK);
    float *x = malloc(sizeof(float) * 8 * 3 * 32 * 32);
    uint8_t y[8];
    rng_stream s;
    rng_stream_init(&s, 4, RNG_TEST, 0);
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < 8 * 3 * 32 * 32; i++) x[i] = 2.0f * rng_u32_to_float(rng_next_u32(&s)) - 1.0f;
        for (int i = 0; i < 8; i++) y[i] = (uint8_t)(rng_next_u32(&s) % 10);
        int bn = step == 2 ? 5 : 8;     /* a partial batch too */
        CHECK(net_forward(a, x, bn, 1, 9, (uint32_t)step) == C_OK);
        float la = 0, lb = 1;
        CHECK(net_loss_backward(a, y, bn, &la) == C_OK);
        CHECK(net_sgd_step(a, 0.05f, 0.9f, 1e-4f) == C_OK);
        long tk = net_train_step(b, x, y, bn, 9, (uint32_t)step, 0.05f, 0.9f, 1e-4f);
        CHECK(tk >= 0);
        CHECK(net_loss_result(b, tk, &lb) == C_OK);
        CHECK(!memcmp(&la, &lb, sizeof la));
    }
    for (int t = 0; t < net_n_tensors(a); t++) {
        size_t cnt = net_tensor_numel(a, t);
        float *va = malloc(cnt * sizeof(float)), *vb = malloc(cnt * sizeof(float));
        CHECK(net_tensor_get(a, t, va) == C_OK && net_tensor_get(b, t, vb) == C_OK);
        CHECK(!memcmp(va, vb, cnt * sizeof(float)));
        free(va); free(vb);
    }
    CHECK(net_graph_steps(b) == 0);    /* no graphs on the CPU */
    free(x);
    net_free(a);
    net_free(b);
}

/* Copies every tensor of n into one host buffer. */
static float *all_tensors(net *n, size_t *total)
{
    size_t t_all = 0;
    for (int t = 0; t < net_n_tensors(n); t++) t_all += net_tensor_numel(n, t);
    float *v = malloc(t_all * sizeof(float)), *p = v;
    for (int t = 0; t < net_n_tensors(n); t++) {
        CHECK(net_tensor_get(n, t, p) == C_OK);
        p += net_tensor_numel(n, t);
    }
    *total = t_all;
    return v;
}

static void one_step(net *n, int seed, float lr)
{
    float *x = malloc(sizeof(float) * 8 * 3 * 32 * 32);
    uint8_t y[8];
    rng_stream s;
    rng_stream_init(&s, (uint64_t)seed, RNG_TEST, 5);
    for (int i = 0; i < 8 * 3 * 32 * 32; i++) x[i] = 2.0f * rng_u32_to_float(rng_next_u32(&s)) - 1.0f;
    for (int i = 0; i < 8; i++) y[i] = (uint8_t)(rng_next_u32(&s) % 10);
    float loss;
    long tk = net_train_step(n, x, y, 8, 1, 0, lr, 0.85f, 1e-3f);
    CHECK(tk >= 0 && net_loss_result(n, tk, &loss) == C_OK && isfinite(loss));
    free(x);
}

static void frozen_tensor_is_not_stepped(void)
{
    net *n;
    CHECK(net_load(&n, "models/convnet.json", &cpu, 8) == C_OK && net_init_params(n, 2) == C_OK);
    int k = net_tensor_find(n, "layers.0.bias"), w = net_tensor_find(n, "layers.0.weight");
    CHECK(k >= 0 && w >= 0);
    size_t nb = net_tensor_numel(n, k), nw = net_tensor_numel(n, w);
    float *b0 = malloc(nb * sizeof(float)), *b1 = malloc(nb * sizeof(float));
    float *w0 = malloc(nw * sizeof(float)), *w1 = malloc(nw * sizeof(float));
    CHECK(net_tensor_get(n, k, b0) == C_OK && net_tensor_get(n, w, w0) == C_OK);
    CHECK(net_tensor_set_frozen(n, k, 1) == C_OK && net_tensor_frozen(n, k));
    one_step(n, 1, 0.05f);
    one_step(n, 2, 0.05f);
    CHECK(net_tensor_get(n, k, b1) == C_OK && net_tensor_get(n, w, w1) == C_OK);
    CHECK(!memcmp(b0, b1, nb * sizeof(float)));       /* frozen: untouched */
    CHECK(memcmp(w0, w1, nw * sizeof(float)) != 0);    /* the rest trains */
    CHECK(net_tensor_set_frozen(n, k, 0) == C_OK && !net_tensor_frozen(n, k));
    one_step(n, 3, 0.05f);
    CHECK(net_tensor_get(n, k, b1) == C_OK && memcmp(b0, b1, nb * sizeof(float)) != 0);
    free(b0); free(b1); free(w0); free(w1);
    net_free(n);
}

static void sgd_rules(void)
{
    net *a, *b, *c;
    CHECK(net_load(&a, "models/convnet.json", &cpu, 8) == C_OK && net_init_params(a, 4) == C_OK);
    CHECK(net_load(&b, "models/convnet.json", &cpu, 8) == C_OK && net_init_params(b, 4) == C_OK);
    CHECK(net_load(&c, "models/convnet.json", &cpu, 8) == C_OK && net_init_params(c, 4) == C_OK);
    /* b: a rule that is the plain one (no Nesterov, scale 1, wd as passed); c: Nesterov */
    net_sgd_rule plain = { 0, { 1.0f, 1.0f }, 0, { 0, 0 } }, nest = { 1, { 1.0f, 64.0f }, 1, { 1e-3f, 1e-3f / 64 } };
    CHECK(net_set_sgd_rule(b, &plain) == C_OK && net_set_sgd_rule(c, &nest) == C_OK);
    net_sgd_rule bad = { 0, { 0.0f, 1.0f }, 0, { 0, 0 } };
    CHECK(net_set_sgd_rule(c, &bad) == C_ERR);   /* refused, c keeps its rule */
    for (int k = 0; k < 3; k++) { one_step(a, 10 + k, 0.05f); one_step(b, 10 + k, 0.05f); one_step(c, 10 + k, 0.05f); }
    size_t na, nb, nc;
    float *va = all_tensors(a, &na), *vb = all_tensors(b, &nb), *vc = all_tensors(c, &nc);
    CHECK(na == nb && !memcmp(va, vb, na * sizeof(float)));
    CHECK(na == nc && memcmp(va, vc, na * sizeof(float)) != 0);
    free(va); free(vb); free(vc);
    /* the label-smoothed sum: a different loss and gradient; (0, mean) is the plain NLL again */
    CHECK(net_set_loss(b, 1.5f, 0) == C_ERR);
    CHECK(net_set_loss(b, 0.2f, 1) == C_OK);
    one_step(a, 20, 0.05f);
    one_step(b, 20, 0.05f);
    va = all_tensors(a, &na); vb = all_tensors(b, &nb);
    CHECK(memcmp(va, vb, na * sizeof(float)) != 0);
    free(va); free(vb);
    net_free(a); net_free(b); net_free(c);
}

static void lookahead_copy(void)
{
    net *n;
    CHECK(net_load(&n, "models/convbnnet.json", &cpu, 8) == C_OK && net_init_params(n, 6) == C_OK);
    CHECK(!net_lookahead_active(n));
    CHECK(net_lookahead_update(n, 0.5) == C_ERR);    /* no copy yet */
    size_t t0, t1;
    one_step(n, 1, 0.05f);                            /* statistics filled too */
    float *start = all_tensors(n, &t0);
    CHECK(net_lookahead_start(n) == C_OK && net_lookahead_active(n));
    one_step(n, 2, 0.05f);
    float *moved = all_tensors(n, &t1);
    CHECK(t0 == t1 && memcmp(start, moved, t0 * sizeof(float)) != 0);
    CHECK(net_lookahead_update(n, 1.0) == C_OK);      /* decay 1: back to the copy */
    float *back = all_tensors(n, &t1);
    CHECK(!memcmp(start, back, t0 * sizeof(float)));
    /* decay 0.5 halfway between copy and net, for every tensor (conv weights in oneDNN's layout too) */
    one_step(n, 3, 0.05f);
    free(moved);
    moved = all_tensors(n, &t1);
    CHECK(net_lookahead_update(n, 0.5) == C_OK);
    float *half = all_tensors(n, &t1);
    int bad = 0;
    for (size_t i = 0; i < t0; i++) bad += fabsf(half[i] - 0.5f * (start[i] + moved[i])) > 1e-6f * (1 + fabsf(start[i]));
    CHECK(bad == 0);
    /* get/set round trip */
    int k = net_tensor_find(n, "layers.0.conv.weight");
    size_t nk = net_tensor_numel(n, k);
    float *g = malloc(nk * sizeof(float)), *h = malloc(nk * sizeof(float));
    CHECK(net_lookahead_get(n, k, g) == C_OK);
    for (size_t i = 0; i < nk; i++) g[i] += 1.0f;
    CHECK(net_lookahead_set(n, k, g) == C_OK && net_lookahead_get(n, k, h) == C_OK && !memcmp(g, h, nk * sizeof(float)));
    net_lookahead_stop(n);
    CHECK(!net_lookahead_active(n));
    free(g); free(h); free(start); free(moved); free(back); free(half);
    net_free(n);
}

static void loader_drop_last(void)
{
    uint8_t *pix, *lab;
    dataset ds = make_ds(37, &pix, &lab, 4);
    norm_stats ns = stats();
    loader l;
    augment_cfg cfg = { .pad = 2, .flip = 1, .seed = 5, .pad_mode = AUGMENT_PAD_REFLECT, .crop = AUGMENT_CROP_ALL,
                        .flip_mode = AUGMENT_FLIP_ALTERNATE };
    CHECK(loader_init(&l, &ds, &ns, 16, 1, &cfg, 5, 0) == C_OK);
    CHECK(loader_epoch_batches(&l) == 3);
    loader_set_drop_last(&l, 1);
    CHECK(loader_epoch_batches(&l) == 2);
    CHECK(loader_start(&l, 0, 0) == C_OK);
    const batch *b;
    int n = 0, full = 1;
    while (loader_next(&l, &b) == C_OK && b) { n++; full &= b->n == 16; }
    CHECK(n == 2 && full);
    loader_free(&l);
    free(pix); free(lab);
}

static void loader_tta_mode(void)
{
    uint8_t *pix, *lab;
    dataset ds = make_ds(37, &pix, &lab, 3);
    norm_stats ns = stats();
    augment_cfg cfg = { .pad = 4, .flip = 1, .seed = 21 };
    loader l;
    CHECK(loader_init(&l, &ds, &ns, 16, 0, &cfg, 21, 0) == C_OK);
    float *want = malloc(sizeof(float) * 3 * 32 * 32);
    for (int mode = 0; mode < 2; mode++) {
        loader_set_mode(&l, 0, mode);
        uint32_t pass = mode ? 0x80000000u + 2 : 0;
        loader_start(&l, 0, pass);
        int seen = 0, differs = 0;
        for (const batch *b; loader_next(&l, &b) == C_OK && b;) {
            for (int i = 0; i < b->n; i++, seen++) {
                CHECK(b->ids[i] == (uint32_t)seen);
                CHECK(b->y[i] == lab[seen]);
                if (mode) augment_image(dataset_image(&ds, seen), 32, 32, &ns, &cfg, pass, (uint32_t)seen, want);
                else augment_normalise(dataset_image(&ds, seen), 32, 32, &ns, want);
                CHECK(!memcmp(b->x + (size_t)i * 3 * 32 * 32, want, sizeof(float) * 3 * 32 * 32));
                augment_normalise(dataset_image(&ds, seen), 32, 32, &ns, want);
                differs += !!memcmp(b->x + (size_t)i * 3 * 32 * 32, want, sizeof(float) * 3 * 32 * 32);
            }
        }
        CHECK(seen == 37);
        CHECK(mode ? differs > 20 : differs == 0);   /* TTA mode really augments */
    }
    free(want);
    loader_free(&l);
    free(pix); free(lab);
}

int main(void)
{
    if (backend_cpu_init(&cpu, 2) != C_OK) return 1;
    TEST_RUN(lagged_losses_equal_synchronous);
    TEST_RUN(train_step_matches_three_calls);
    TEST_RUN(loader_tta_mode);
    TEST_RUN(frozen_tensor_is_not_stepped);
    TEST_RUN(sgd_rules);
    TEST_RUN(lookahead_copy);
    TEST_RUN(loader_drop_last);
    backend_free(&cpu);
    TEST_EXIT();
}
