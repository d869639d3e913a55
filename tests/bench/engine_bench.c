/* engine_bench: forward+backward throughput of every architecture on the CPU backend.
 *
 * usage: engine_bench [--batch 256] [--seconds 3] [--step-only] [arch...]   (default: every models/<arch>.json)
 * --step-only skips the convolutions-alone columns (for profiling the step with perf).
 * For each model: images/s and GFLOP/s of a training step (training-mode forward, loss and
 * backward; no SGD), and beside it the same model's convolutions alone (forward, backward data,
 * backward weights through the same oneDNN plans, nothing else) with algorithm auto and direct,
 * timed in the same run. FLOPs count convolutions and linear layers, 2 per multiply-add, and a
 * training step as 3x the forward. ratio = step GFLOP/s / convs-alone (auto) GFLOP/s. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/errors.h"
#include "nn/net.h"
#include "core/rng.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double layer_flops(const model_layer *L, int *is_conv)
{
    *is_conv = 0;
    switch (L->type) {
    case ML_CONV2D: case ML_CONVLAYER: case ML_BNLAYER: case ML_RESNETLAYER:
        *is_conv = 1;
        return 2.0 * L->out * L->in * L->kernel * L->kernel * L->out_shape[1] * L->out_shape[2];
    case ML_LINEAR: return 2.0 * L->in * L->out;
    default: return 0;
    }
}

typedef struct conv_bench {
    conv2d_plan *plan;
    tensor x, w, b, y, dy, dx, dw, db;
    int bias, relu, need_dx;
} conv_bench;

/* Times the model's convolutions alone; returns seconds per step. */
static double convs_alone(backend *be, const model_desc *m, int batch, int algo, double seconds)
{
    const backend_iface *B = be->iface;
    conv_bench cb[64];
    int nc = 0, first = 1;
    float *junk = xmalloc(sizeof(float) * (size_t)batch * 256 * 32 * 32);
    for (size_t i = 0; i < (size_t)batch * 256 * 32 * 32; i++) junk[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < m->n_layers && nc < 64; i++) {
        const model_layer *L = &m->layers[i];
        int dummy;
        layer_flops(L, &dummy);
        if (!dummy) continue;
        conv_bench *c = &cb[nc++];
        memset(c, 0, sizeof *c);
        int bn = L->type == ML_BNLAYER || L->type == ML_RESNETLAYER;
        c->bias = L->bias && !bn;
        c->relu = L->type == ML_CONVLAYER || (L->type == ML_CONV2D && i + 1 < m->n_layers && m->layers[i + 1].type == ML_RELU);
        c->need_dx = !first;
        conv2d_desc d = { .max_n = batch, .ic = L->in, .ih = L->in_shape[1], .iw = L->in_shape[2], .oc = L->out,
                        .kh = L->kernel, .kw = L->kernel, .stride = L->stride, .pad = L->padding, .bias = c->bias,
                        .relu = c->relu, .need_dx = c->need_dx, .src_layout = first ? TL_PLAIN : TL_ACT, .algo = algo };
        int xs[4] = { batch, L->in, L->in_shape[1], L->in_shape[2] }, ws[4] = { L->out, L->in, L->kernel, L->kernel },
            ys[4] = { batch, L->out, L->out_shape[1], L->out_shape[2] }, bs[1] = { L->out };
        tensor_layout xl = first ? TL_PLAIN : TL_ACT;
        if (!(c->plan = B->conv2d_plan_make(be->ctx, &d)) ||
            B->alloc(be->ctx, &c->x, DT_F32, 4, xs, xl) || B->alloc(be->ctx, &c->dx, DT_F32, 4, xs, xl) ||
            B->alloc(be->ctx, &c->w, DT_F32, 4, ws, TL_PLAIN) || B->alloc(be->ctx, &c->dw, DT_F32, 4, ws, TL_PLAIN) ||
            B->alloc(be->ctx, &c->b, DT_F32, 1, bs, TL_PLAIN) || B->alloc(be->ctx, &c->db, DT_F32, 1, bs, TL_PLAIN) ||
            B->alloc(be->ctx, &c->y, DT_F32, 4, ys, TL_ACT) || B->alloc(be->ctx, &c->dy, DT_F32, 4, ys, TL_ACT))
            err_die(m->path, "cannot set up the convolution benchmark");
        B->upload(be->ctx, &c->x, junk);
        B->upload(be->ctx, &c->w, junk);
        B->upload(be->ctx, &c->dy, junk);
        first = 0;
    }
    free(junk);
    double t0 = 0, el = 0;
    int steps = 0;
    for (int it = -1; ; it++) {
        if (it == 0) t0 = now();
        for (int k = 0; k < nc; k++) {
            conv_bench *c = &cb[k];
            if (B->conv2d_fwd(be->ctx, c->plan, &c->x, &c->w, c->bias ? &c->b : NULL, &c->y) ||
                B->conv2d_bwd(be->ctx, c->plan, &c->x, &c->w, &c->y, &c->dy, c->need_dx ? &c->dx : NULL, &c->dw, c->bias ? &c->db : NULL))
                err_die(m->path, "convolution benchmark failed");
        }
        if (it >= 0) {
            steps++;
            el = now() - t0;
            if (el >= seconds && steps >= 2) break;
        }
    }
    for (int k = 0; k < nc; k++) {
        B->conv2d_plan_free(be->ctx, cb[k].plan);
        tensor *ts[] = { &cb[k].x, &cb[k].w, &cb[k].b, &cb[k].y, &cb[k].dy, &cb[k].dx, &cb[k].dw, &cb[k].db };
        for (int i = 0; i < 8; i++) B->free_tensor(be->ctx, ts[i]);
    }
    return el / steps;
}

static double whole_step(backend *be, const char *path, int batch, double seconds)
{
    net *n;
    if (net_load(&n, path, be, batch)) err_exit();
    if (net_init_params(n, 1)) err_exit();
    const model_desc *m = net_model(n);
    size_t nin = (size_t)batch * m->input[0] * m->input[1] * m->input[2];
    float *in = xmalloc(nin * sizeof *in);
    uint8_t *lab = xmalloc((size_t)batch);
    rng_stream rs;
    rng_stream_init(&rs, 5, RNG_TEST, 0);
    for (size_t i = 0; i < nin; i++) in[i] = 2 * rng_next_float(&rs) - 1;
    for (int i = 0; i < batch; i++) lab[i] = (uint8_t)rng_next_below(&rs, (uint32_t)m->classes);
    double t0 = 0, el = 0;
    int steps = 0;
    for (int it = -1; ; it++) {
        if (it == 0) t0 = now();
        if (net_forward(n, in, batch, 1, 1, (uint32_t)it + 1)) err_exit();
        float l;
        if (net_loss_backward(n, lab, batch, &l)) err_exit();
        if (!(l == l)) err_die(path, "loss is NaN");
        if (it >= 0) {
            steps++;
            el = now() - t0;
            if (el >= seconds && steps >= 2) break;
        }
    }
    free(in);
    free(lab);
    net_free(n);
    return el / steps;
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    int batch = 256, step_only = 0;
    double seconds = 3;
    const char *archs[64];
    int na = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--step-only")) step_only = 1;
        else if (argv[i][0] != '-' && na < 64) archs[na++] = argv[i];
        else err_die(NULL, "usage: engine_bench [--batch N] [--seconds S] [--step-only] [arch...]");
    }
    if (batch < 1) err_die(NULL, "--batch must be positive");
    glob_t models = { 0 };   /* default: every model file, models/<arch>.json */
    if (!na && glob("models/*.json", 0, NULL, &models) == 0)
        for (size_t i = 0; i < models.gl_pathc && na < 64; i++) {
            char *name = models.gl_pathv[i] + strlen("models/");
            name[strlen(name) - strlen(".json")] = '\0';
            archs[na++] = name;
        }
    if (!na) err_die("models", "no model files (*.json) and no arch named");
    backend be;
    if (backend_cpu_init(&be, 0)) err_exit();
    printf("CPU backend (oneDNN), batch %d, training step = forward + loss + backward (no SGD)\n", batch);
    printf("%-11s %9s %9s %9s | %9s %9s %9s | %6s\n", "arch", "img/s", "ms/step", "GFLOP/s",
           "conv GF/s", "direct", "conv img/s", "ratio");
    for (int a = 0; a < na; a++) {
        char path[256];
        snprintf(path, sizeof path, "models/%s.json", archs[a]);
        model_desc m;
        if (model_load(&m, path)) err_exit();
        double flops = 0, cflops = 0;
        for (int i = 0; i < m.n_layers; i++) {
            int c;
            double f = layer_flops(&m.layers[i], &c);
            flops += f;
            if (c) cflops += f;
        }
        flops *= 3.0 * batch;
        cflops *= 3.0 * batch;
        double ts = whole_step(&be, path, batch, seconds);
        if (step_only) cflops = 0;
        double tc = cflops > 0 ? convs_alone(&be, &m, batch, CONV2D_ALGO_AUTO, seconds) : 0;
        double td = cflops > 0 ? convs_alone(&be, &m, batch, CONV2D_ALGO_DIRECT, seconds) : 0;
        double g = flops / ts * 1e-9, gc = tc > 0 ? cflops / tc * 1e-9 : 0, gd = td > 0 ? cflops / td * 1e-9 : 0;
        printf("%-11s %9.0f %9.1f %9.1f | %9.1f %9.1f %9.0f | %5.0f%%\n", archs[a], batch / ts, ts * 1e3, g, gc, gd,
               tc > 0 ? batch / tc : 0, gc > 0 ? 100 * g / gc : 0);
        fflush(stdout);
        model_free(&m);
    }
    backend_free(&be);
    globfree(&models);
    return 0;
}
