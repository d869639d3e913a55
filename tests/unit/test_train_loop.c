/* test_train_loop: the host side of the device training loop, on the CPU.
 *
 * - The trainer reads each step's loss one (or more) steps late: the recorded losses, lrs,
 *   smoothed trn_loss, validation results and the final weights must equal the synchronous
 *   bookkeeping (loss_lag 0) exactly.
 * - net_train_step is the forward / loss_backward / sgd_step sequence, bit for bit.
 * - The loader's TTA mode (dataset order, training transform with a given pass), which the GPU
 *   evaluation path uses, gives augment_image of each image in order. */
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
    backend_free(&cpu);
    TEST_EXIT();
}
