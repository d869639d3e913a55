/* engine_bench: forward+backward throughput of every architecture on the CPU backend.
 *
 * usage: engine_bench [--batch 256] [--seconds 3] [--threads N] [--step-only | --peer] [arch...]
 *        (default: every models/<arch>.json; --threads 0 or absent: every core)
 * --step-only skips the convolutions-alone columns (for profiling the step with perf).
 * --peer prints machine lines for tests/bench/cpu_peer.py instead of the table, per model:
 *   RESULT <arch> step <img/s>     the whole training step the trainer runs (net_train_step:
 *                                  forward, loss, backward and the SGD update, momentum 0.9, the
 *                                  weight decay of params/<arch>.json's first phase)
 *   RESULT <arch> eval <img/s>     an evaluation forward (eval mode) on a net built for inference
 *   RESULT <arch> ceiling <img/s>  the convolutions alone in oneDNN's preferred layouts (below)
 *   RESULT <arch> winograd <img/s> the convolutions alone through our plans with the CPU's own
 *                                  Winograd forced (CONV2D_ALGO_WINOGRAD; the layers it does not
 *                                  apply to run oneDNN's auto, as in the net)
 * and first the kernels' ISA and activation block (RESULT isa <avx512|avx2|generic> <16|8>), last
 * the process's thread count after the runs (RESULT threads <n>).
 * For each model: images/s and GFLOP/s of a training step (training-mode forward, loss and
 * backward; no SGD), and beside it the same model's convolutions alone (forward, backward data,
 * backward weights through the same oneDNN plans, nothing else) with algorithm auto and direct,
 * timed in the same run, and with our own Winograd forced where it applies (wino). FLOPs count convolutions and linear layers, 2 per multiply-add, and a
 * training step as 3x the forward. ratio = step GFLOP/s / convs-alone (auto) GFLOP/s.
 * pref img/s: the ceiling, the same convolutions straight on oneDNN with every tensor of every
 * primitive in the layout that primitive prefers (format_tag_any: nChw16c on AVX-512, nChw8c on
 * AVX2) and no reorder at all, algorithm auto; ratio pref = step img/s / pref img/s. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <oneapi/dnnl/dnnl.h>
#include "backend/cpu/cpu_backend.h"
#include "core/errors.h"
#include "nn/net.h"
#include "core/rng.h"
#include "train/train_params.h"

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

/* ---- the ceiling: oneDNN alone in its preferred layouts ---- */

typedef struct pref_conv {
    dnnl_primitive_t prim[3];                /* forward, backward weights, backward data (or NULL) */
    dnnl_exec_arg_t args[3][4];
    int nargs[3];
} pref_conv;

#define DN(call) do { if ((call) != dnnl_success) err_die(m->path, "oneDNN: %s failed", #call); } while (0)

static dnnl_memory_t pref_mem(dnnl_engine_t eng, const_dnnl_primitive_desc_t pd, dnnl_query_t q, int index)
{
    dnnl_memory_t mem;
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, q, index);
    if (dnnl_memory_create(&mem, md, eng, DNNL_MEMORY_ALLOCATE) != dnnl_success) err_die(NULL, "oneDNN: memory");
    void *h;
    dnnl_memory_get_data_handle(mem, &h);
    memset(h, 0, dnnl_memory_desc_get_size(md));
    return mem;
}

/* A conv primitive of kind k (0 fwd, 1 bwd weights, 2 bwd data) on `any` layouts, auto then direct. */
static dnnl_primitive_desc_t pref_pd(const model_desc *m, dnnl_engine_t eng, int k, const dnnl_memory_desc_t *s,
                                     const dnnl_memory_desc_t *w, const dnnl_memory_desc_t *b,
                                     const dnnl_memory_desc_t *d, dnnl_dims_t st, dnnl_dims_t pl, dnnl_dims_t pr,
                                     const_dnnl_primitive_desc_t hint)
{
    dnnl_alg_kind_t algs[2] = { dnnl_convolution_auto, dnnl_convolution_direct };
    for (int a = 0; a < 2; a++) {
        dnnl_convolution_desc_t cd;
        if (k == 0) DN(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, algs[a], s, w, b, d, st, pl, pr));
        if (k == 1) DN(dnnl_convolution_backward_weights_desc_init(&cd, algs[a], s, w, b, d, st, pl, pr));
        if (k == 2) DN(dnnl_convolution_backward_data_desc_init(&cd, algs[a], s, w, d, st, pl, pr));
        dnnl_primitive_desc_t pd;
        if (dnnl_primitive_desc_create(&pd, &cd, NULL, eng, hint) == dnnl_success) return pd;
    }
    err_die(m->path, "oneDNN: no convolution primitive for the ceiling");
    return NULL;
}

/* Seconds per step of the model's convolutions alone in oneDNN's preferred layouts. */
static double convs_preferred(const model_desc *m, int batch, double seconds)
{
    dnnl_engine_t eng;
    dnnl_stream_t str;
    DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
    DN(dnnl_stream_create(&str, eng, dnnl_stream_default_flags));
    pref_conv pc[64];
    dnnl_memory_t mems[64 * 12];
    int nc = 0, nm = 0, first = 1;
    for (int i = 0; i < m->n_layers && nc < 64; i++) {
        const model_layer *L = &m->layers[i];
        int is_conv;
        layer_flops(L, &is_conv);
        if (!is_conv) continue;
        pref_conv *c = &pc[nc++];
        memset(c, 0, sizeof *c);
        int bn = L->type == ML_BNLAYER || L->type == ML_RESNETLAYER, bias = L->bias && !bn;
        dnnl_dims_t sd = { batch, L->in, L->in_shape[1], L->in_shape[2] }, wd = { L->out, L->in, L->kernel, L->kernel },
                    bd = { L->out }, dd = { batch, L->out, L->out_shape[1], L->out_shape[2] };
        dnnl_dims_t st = { L->stride, L->stride }, pl = { L->padding, L->padding },
                    pr = { (L->out_shape[1] - 1) * L->stride + L->kernel - L->in_shape[1] - L->padding,
                           (L->out_shape[2] - 1) * L->stride + L->kernel - L->in_shape[2] - L->padding };
        dnnl_memory_desc_t s, w, b, d;
        DN(dnnl_memory_desc_init_by_tag(&s, 4, sd, dnnl_f32, dnnl_format_tag_any));
        DN(dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_f32, dnnl_format_tag_any));
        DN(dnnl_memory_desc_init_by_tag(&b, 1, bd, dnnl_f32, dnnl_x));
        DN(dnnl_memory_desc_init_by_tag(&d, 4, dd, dnnl_f32, dnnl_format_tag_any));
        dnnl_primitive_desc_t f = pref_pd(m, eng, 0, &s, &w, bias ? &b : NULL, &d, st, pl, pr, NULL);
        dnnl_primitive_desc_t pds[3] = { f, pref_pd(m, eng, 1, &s, &w, bias ? &b : NULL, &d, st, pl, pr, f),
                                         first ? NULL : pref_pd(m, eng, 2, &s, &w, NULL, &d, st, pl, pr, f) };
        /* each primitive its own tensors, in the layouts it chose */
        static const dnnl_query_t q[3][4] = {
            { dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md, dnnl_query_weights_md },
            { dnnl_query_src_md, dnnl_query_diff_dst_md, dnnl_query_diff_weights_md, dnnl_query_diff_weights_md },
            { dnnl_query_diff_dst_md, dnnl_query_weights_md, dnnl_query_diff_src_md, 0 } };
        static const int argk[3][4] = { { DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS },
                                        { DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS },
                                        { DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC, 0 } };
        for (int k = 0; k < 3; k++) {
            if (!pds[k]) continue;
            int na = k < 2 && bias ? 4 : 3;
            for (int a = 0; a < na; a++) {
                mems[nm] = pref_mem(eng, pds[k], q[k][a], a == 3);   /* the bias is weights #1 */
                c->args[k][a] = (dnnl_exec_arg_t){ argk[k][a], mems[nm++] };
            }
            c->nargs[k] = na;
            DN(dnnl_primitive_create(&c->prim[k], pds[k]));
            dnnl_primitive_desc_destroy(pds[k]);
        }
        first = 0;
    }
    double t0 = 0, el = 0;
    int steps = 0;
    for (int it = -1; ; it++) {
        if (it == 0) t0 = now();
        for (int k = 0; k < nc; k++)
            for (int j = 0; j < 3; j++)
                if (pc[k].prim[j]) DN(dnnl_primitive_execute(pc[k].prim[j], str, pc[k].nargs[j], pc[k].args[j]));
        DN(dnnl_stream_wait(str));
        if (it >= 0) {
            steps++;
            el = now() - t0;
            if (el >= seconds && steps >= 2) break;
        }
    }
    for (int k = 0; k < nc; k++)
        for (int j = 0; j < 3; j++)
            if (pc[k].prim[j]) dnnl_primitive_destroy(pc[k].prim[j]);
    for (int i = 0; i < nm; i++) dnnl_memory_destroy(mems[i]);
    dnnl_stream_destroy(str);
    dnnl_engine_destroy(eng);
    return el / steps;
}

/* Random normalised-looking images and labels for a batch of the model's input. */
static void bench_batch(const model_desc *m, int batch, float **in, uint8_t **lab)
{
    size_t nin = (size_t)batch * m->input[0] * m->input[1] * m->input[2];
    *in = xmalloc(nin * sizeof **in);
    *lab = xmalloc((size_t)batch);
    rng_stream rs;
    rng_stream_init(&rs, 5, RNG_TEST, 0);
    for (size_t i = 0; i < nin; i++) (*in)[i] = 2 * rng_next_float(&rs) - 1;
    for (int i = 0; i < batch; i++) (*lab)[i] = (uint8_t)rng_next_below(&rs, (uint32_t)m->classes);
}

static double whole_step(backend *be, const char *path, int batch, double seconds)
{
    net *n;
    if (net_load(&n, path, be, batch)) err_exit();
    if (net_init_params(n, 1)) err_exit();
    float *in;
    uint8_t *lab;
    bench_batch(net_model(n), batch, &in, &lab);
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

/* The weight decay of params/<arch>.json's first phase (0 without a params file). */
static float params_wd(const char *arch)
{
    char path[256];
    snprintf(path, sizeof path, "params/%s.json", arch);
    train_params p;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    fclose(f);
    if (train_params_load(path, &p)) err_exit();
    return p.n_phases ? (float)p.phases[0].wd : 0;
}

/* Seconds per whole training step (net_train_step, SGD included) or, train = 0, per evaluation
 * forward of a net built for inference. */
static double timed_steps(backend *be, const char *path, int batch, double seconds, int train, float wd)
{
    net *n;
    if ((train ? net_load(&n, path, be, batch) : net_load_inference(&n, path, be, batch)) || net_init_params(n, 1))
        err_exit();
    float *in;
    uint8_t *lab;
    bench_batch(net_model(n), batch, &in, &lab);
    double t0 = 0, el = 0;
    int steps = 0;
    for (int it = -1; ; it++) {
        if (it == 0) t0 = now();
        if (train) {
            float l;
            long ticket = net_train_step(n, in, lab, batch, 1, (uint32_t)it + 1, 0.01f, 0.9f, wd);
            if (ticket < 0 || net_loss_result(n, ticket, &l)) err_exit();
            if (!(l == l)) err_die(path, "loss is NaN");
        } else if (net_forward(n, in, batch, 0, 0, 0)) {
            err_exit();
        }
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

/* The process's threads now (/proc/self/task entries). */
static int thread_count(void)
{
    glob_t g = { 0 };
    int n = glob("/proc/self/task/*", GLOB_NOSORT, NULL, &g) == 0 ? (int)g.gl_pathc : -1;
    globfree(&g);
    return n;
}

static void peer_lines(backend *be, const char *arch, const char *path, int batch, double seconds)
{
    model_desc m;
    if (model_load(&m, path)) err_exit();
    double ts = timed_steps(be, path, batch, seconds, 1, params_wd(arch));
    double te = timed_steps(be, path, batch, seconds, 0, 0);
    int has_conv = 0;
    for (int i = 0; i < m.n_layers; i++) {
        int c;
        layer_flops(&m.layers[i], &c);
        has_conv |= c;
    }
    printf("RESULT %s step %.1f\nRESULT %s eval %.1f\n", arch, batch / ts, arch, batch / te);
    if (has_conv) {
        printf("RESULT %s ceiling %.1f\n", arch, batch / convs_preferred(&m, batch, seconds));
        printf("RESULT %s winograd %.1f\n", arch, batch / convs_alone(be, &m, batch, CONV2D_ALGO_WINOGRAD, seconds));
    }
    fflush(stdout);
    model_free(&m);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    int batch = 256, step_only = 0, peer = 0, threads = 0;
    double seconds = 3;
    const char *archs[64];
    int na = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--step-only")) step_only = 1;
        else if (!strcmp(argv[i], "--peer")) peer = 1;
        else if (argv[i][0] != '-' && na < 64) archs[na++] = argv[i];
        else err_die(NULL, "usage: engine_bench [--batch N] [--seconds S] [--threads N] [--step-only | --peer] [arch...]");
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
    if (backend_cpu_init(&be, threads)) err_exit();
    if (peer) {
        static const char *const isa_names[] = { "generic", "avx2", "avx512" };
        printf("RESULT isa %s %d\n", isa_names[((cpu_ctx *)be.ctx)->isa], cpu_act_block);
        for (int a = 0; a < na; a++) {
            char path[256];
            snprintf(path, sizeof path, "models/%s.json", archs[a]);
            peer_lines(&be, archs[a], path, batch, seconds);
        }
        printf("RESULT threads %d\n", thread_count());
        backend_free(&be);
        globfree(&models);
        return 0;
    }
    printf("CPU backend (oneDNN), batch %d, training step = forward + loss + backward (no SGD), activations nChw%dc\n",
           batch, cpu_act_block);
    static const char *const isa_names[] = { "generic", "avx2", "avx512" };
    printf("our kernels: %s; CIFAR_WINOGRAD=%s (the nets' plans; the conv columns force their algorithm)\n",
           isa_names[((cpu_ctx *)be.ctx)->isa], getenv("CIFAR_WINOGRAD") ? getenv("CIFAR_WINOGRAD") : "(unset)");
    printf("%-11s %9s %9s %9s | %9s %9s %9s | %6s | %10s %6s | %10s\n", "arch", "img/s", "ms/step", "GFLOP/s",
           "conv GF/s", "direct", "conv img/s", "ratio", "pref img/s", "ratio", "wino img/s");
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
        double tp = cflops > 0 ? convs_preferred(&m, batch, seconds) : 0;
        double tw = cflops > 0 ? convs_alone(&be, &m, batch, CONV2D_ALGO_WINOGRAD, seconds) : 0;
        double g = flops / ts * 1e-9, gc = tc > 0 ? cflops / tc * 1e-9 : 0, gd = td > 0 ? cflops / td * 1e-9 : 0;
        printf("%-11s %9.0f %9.1f %9.1f | %9.1f %9.1f %9.0f | %5.0f%% | %10.0f %5.0f%% | %10.0f\n", archs[a], batch / ts,
               ts * 1e3, g, gc, gd, tc > 0 ? batch / tc : 0, gc > 0 ? 100 * g / gc : 0, tp > 0 ? batch / tp : 0,
               tp > 0 ? 100 * tp / ts : 0, tw > 0 ? batch / tw : 0);
        fflush(stdout);
        model_free(&m);
    }
    backend_free(&be);
    globfree(&models);
    return 0;
}
