/* net.c: a network from a model file, on any backend (see net.h). */
#include "nn/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/error.h"
#include "core/rng.h"

enum { INIT_UNIFORM, INIT_ZEROS, INIT_ONES };

/* One named tensor of the state dict, with its gradient and momentum when trainable. */
typedef struct ptensor {
    char name[96];
    int ndim, shape[4];
    int trainable;
    int init;           /* INIT_* */
    float bound;        /* INIT_UNIFORM: U(-bound, bound) */
    tensor val, grad, mom, saved;
} ptensor;

/* What a recorded training step depends on besides lr and step (read from device scalars). */
typedef struct step_key {
    int valid, batch;
    float momentum, wd;
    uint64_t seed;
} step_key;

typedef struct layer {
    const model_layer *ml;
    int w, b, a, m, mean, std;  /* ptensor indices or -1 */
    conv2d_plan *plan;
    int fused_relu;             /* conv followed by a functional ReLU done inside the conv */
    int alias;                  /* output is a view of the input (fused ReLU, plain flatten) */
    int needs_dx;               /* some earlier layer has parameters */
    tensor c, dc;               /* BnLayer: conv output and its gradient */
    tensor y, dy;               /* output and its gradient (views when alias) */
    tensor idx;                 /* max pool arg max */
} layer;

struct net {
    backend *be;
    model_desc model;
    int max_batch;
    int n_layers;
    layer *layers;
    int n_pt;
    ptensor *pt;
    tensor input, labels;
    int last_n, last_training;
    uint64_t last_seed;
    uint32_t last_step;
    int momentum_empty, saved;
    double *prof;               /* NET_PROFILE=1: seconds per layer: fwd, bwd, fwd conv, bwd conv */
    int prof_steps;
    /* losses by ticket (net_train_step / net_loss_queue) on backends without asynchronous loss */
    float loss_ring[BACKEND_LOSS_SLOTS];
    long tickets;
    /* the captured training step (backend-owned graph) and what it was recorded for */
    void *graph;
    step_key gkey;              /* shapes and constants baked into graph */
    step_key warm;              /* the last uncaptured step: its shapes have run once */
    int graphs_off;             /* NET_GRAPH=0, or a capture failed */
    long graph_steps;
};

static double prof_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define BE (n->be->iface)
#define CTX (n->be->ctx)

const model_desc *net_model(const net *n) { return &n->model; }
int net_max_batch(const net *n) { return n->max_batch; }
int net_classes(const net *n) { return n->model.classes; }
tensor *net_input(net *n) { return &n->input; }
tensor *net_labels(net *n) { return &n->labels; }
long net_graph_steps(const net *n) { return n->graph_steps; }

static int add_pt(net *n, const char *owner, const char *suffix, int ndim, const int *shape, int trainable, int init, float bound)
{
    ptensor *p = &n->pt[n->n_pt];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", owner, suffix);
    p->ndim = ndim;
    for (int i = 0; i < 4; i++) p->shape[i] = i < ndim ? shape[i] : 1;
    p->trainable = trainable;
    p->init = init;
    p->bound = bound;
    if (BE->alloc(CTX, &p->val, DT_F32, ndim, shape, TL_PLAIN)) return -1;
    if (trainable && (BE->alloc(CTX, &p->grad, DT_F32, ndim, shape, TL_PLAIN) ||
                      BE->alloc(CTX, &p->mom, DT_F32, ndim, shape, TL_PLAIN)))
        return -1;
    return n->n_pt++;
}

/* activation [max_batch, C, H, W] or [max_batch, F] */
static int alloc_act(net *n, tensor *t, int ndim, const int *s, tensor_layout lay)
{
    int shape[4] = { n->max_batch, s[0], s[1], s[2] };
    return BE->alloc(CTX, t, DT_F32, ndim + 1, shape, lay);
}

static void set_batch(tensor *t, int b) { if (t->ndim) t->shape[0] = b; }

static tensor view_of(const tensor *src, int ndim, const int *per_sample, int batch)
{
    tensor v = *src;
    v.view = 1;
    v.ndim = ndim + 1;
    v.shape[0] = batch;
    for (int i = 0; i < 3; i++) v.shape[i + 1] = i < ndim ? per_sample[i] : 1;
    return v;
}

static int build_layer(net *n, int i, int *needs_dx)
{
    layer *L = &n->layers[i];
    const model_layer *ml = &n->model.layers[i];
    const tensor *x = i ? &n->layers[i - 1].y : &n->input;
    const tensor *dxp = i ? &n->layers[i - 1].dy : NULL;
    L->ml = ml;
    L->w = L->b = L->a = L->m = L->mean = L->std = -1;
    L->needs_dx = *needs_dx;
    int k = ml->kernel;
    switch (ml->type) {
    case ML_CONV2D: case ML_CONVLAYER: case ML_BNLAYER: case ML_RESNETLAYER: {
        int bn = ml->type == ML_BNLAYER || ml->type == ML_RESNETLAYER;
        int ws[4] = { ml->out, ml->in, k, k }, vs[3] = { ml->out, 1, 1 };
        float bound = 1.0f / sqrtf((float)(ml->in * k * k));
        if (bn) {
            char cname[80];
            L->a = add_pt(n, ml->name, "a", 3, vs, 1, INIT_ZEROS, 0);
            L->m = add_pt(n, ml->name, "m", 3, vs, 1, INIT_ONES, 0);
            snprintf(cname, sizeof cname, "%s.conv", ml->name);
            L->w = add_pt(n, cname, "weight", 4, ws, 1, INIT_UNIFORM, bound);
            L->mean = add_pt(n, ml->name, "means", 3, vs, 0, INIT_ZEROS, 0);
            L->std = add_pt(n, ml->name, "stds", 3, vs, 0, INIT_ONES, 0);
            if (L->a < 0 || L->m < 0 || L->w < 0 || L->mean < 0 || L->std < 0) return C_ERR;
        } else {
            char cname[80];
            snprintf(cname, sizeof cname, ml->type == ML_CONVLAYER ? "%s.conv" : "%s", ml->name);
            L->w = add_pt(n, cname, "weight", 4, ws, 1, INIT_UNIFORM, bound);
            if (L->w < 0) return C_ERR;
            if (ml->bias && (L->b = add_pt(n, cname, "bias", 1, ws, 1, INIT_UNIFORM, bound)) < 0) return C_ERR;
        }
        L->fused_relu = ml->type == ML_CONVLAYER ||
                        (ml->type == ML_CONV2D && i + 1 < n->model.n_layers && n->model.layers[i + 1].type == ML_RELU);
        conv2d_desc d = { .max_n = n->max_batch, .ic = ml->in, .ih = ml->in_shape[1], .iw = ml->in_shape[2],
                        .oc = ml->out, .kh = k, .kw = k, .stride = ml->stride, .pad = ml->padding,
                        .bias = ml->bias && !bn, .relu = L->fused_relu, .need_dx = *needs_dx,
                        .src_layout = x->layout, .algo = CONV2D_ALGO_AUTO };
        if (!(L->plan = BE->conv2d_plan_make(CTX, &d))) return err_msg(n->model.path, "%s: cannot set up its convolution", ml->name);
        if (bn && (alloc_act(n, &L->c, 3, ml->out_shape, TL_ACT) || alloc_act(n, &L->dc, 3, ml->out_shape, TL_ACT)))
            return C_ERR;
        if (alloc_act(n, &L->y, 3, ml->out_shape, TL_ACT) || alloc_act(n, &L->dy, 3, ml->out_shape, TL_ACT)) return C_ERR;
        *needs_dx = 1;
        break;
    }
    case ML_LINEAR: {
        int ws[2] = { ml->out, ml->in };
        float bound = 1.0f / sqrtf((float)ml->in);
        L->w = add_pt(n, ml->name, "weight", 2, ws, 1, INIT_UNIFORM, bound);
        if (L->w < 0 || (ml->bias && (L->b = add_pt(n, ml->name, "bias", 1, ws, 1, INIT_UNIFORM, bound)) < 0)) return C_ERR;
        if (alloc_act(n, &L->y, 1, ml->out_shape, TL_PLAIN) || alloc_act(n, &L->dy, 1, ml->out_shape, TL_PLAIN)) return C_ERR;
        *needs_dx = 1;
        break;
    }
    case ML_RELU:
        if (i > 0 && n->layers[i - 1].fused_relu) {
            L->alias = 1;
            L->y = view_of(x, ml->out_ndim, ml->out_shape, n->max_batch);
            L->dy = view_of(dxp, ml->out_ndim, ml->out_shape, n->max_batch);
            break;
        }
        if (alloc_act(n, &L->y, ml->out_ndim, ml->out_shape, x->layout) || alloc_act(n, &L->dy, ml->out_ndim, ml->out_shape, x->layout))
            return C_ERR;
        break;
    case ML_FLATTEN:
        if (x->layout == TL_PLAIN || x->ndim != 4) {
            L->alias = 1;
            L->y = view_of(x, 1, ml->out_shape, n->max_batch);
            if (dxp) L->dy = view_of(dxp, 1, ml->out_shape, n->max_batch);
            else if (alloc_act(n, &L->dy, 1, ml->out_shape, TL_PLAIN)) return C_ERR;
            break;
        }
        if (alloc_act(n, &L->y, 1, ml->out_shape, TL_PLAIN) || alloc_act(n, &L->dy, 1, ml->out_shape, TL_PLAIN)) return C_ERR;
        break;
    case ML_MAXPOOL: {
        int is[2] = { n->max_batch, ml->in_shape[0] };
        if (alloc_act(n, &L->y, 3, ml->out_shape, TL_PLAIN) || alloc_act(n, &L->dy, 3, ml->out_shape, TL_PLAIN) ||
            BE->alloc(CTX, &L->idx, DT_I32, 2, is, TL_PLAIN))
            return C_ERR;
        break;
    }
    case ML_DROPOUT: case ML_LOGSOFTMAX:
        if (alloc_act(n, &L->y, 1, ml->out_shape, TL_PLAIN) || alloc_act(n, &L->dy, 1, ml->out_shape, TL_PLAIN)) return C_ERR;
        break;
    }
    return C_OK;
}

int net_build(net **out, const model_desc *m, backend *be, int max_batch)
{
    *out = NULL;
    if (max_batch < 1) return err_msg(m->path, "batch size must be positive");
    net *n = xcalloc(1, sizeof *n);
    n->be = be;
    n->max_batch = max_batch;
    n->model = *m;
    n->model.path = xstrdup(m->path ? m->path : "model");
    n->model.layers = xmalloc((size_t)m->n_layers * sizeof *m->layers);
    memcpy(n->model.layers, m->layers, (size_t)m->n_layers * sizeof *m->layers);
    n->n_layers = m->n_layers;
    n->layers = xcalloc((size_t)n->n_layers, sizeof *n->layers);
    n->pt = xcalloc((size_t)n->n_layers * 5 + 1, sizeof *n->pt);
    n->momentum_empty = 1;
    const char *g = getenv("NET_GRAPH");
    n->graphs_off = g && !strcmp(g, "0");
    if (getenv("NET_PROFILE")) n->prof = xcalloc(4 * (size_t)m->n_layers, sizeof(double));
    int is[4] = { max_batch, m->input[0], m->input[1], m->input[2] }, ls[1] = { max_batch };
    if (BE->alloc(CTX, &n->input, DT_F32, 4, is, TL_PLAIN) || BE->alloc(CTX, &n->labels, DT_U8, 1, ls, TL_PLAIN)) {
        net_free(n);
        return C_ERR;
    }
    int needs_dx = 0;
    for (int i = 0; i < n->n_layers; i++)
        if (build_layer(n, i, &needs_dx)) { net_free(n); return C_ERR; }
    for (int t = 0; t < n->n_pt; t++)
        if (n->pt[t].init == INIT_ONES) {  /* statistics and m start at 1, so eval before training is defined */
            float *h = xmalloc(tensor_numel(&n->pt[t].val) * sizeof(float));
            for (size_t j = 0; j < tensor_numel(&n->pt[t].val); j++) h[j] = 1.0f;
            BE->upload(CTX, &n->pt[t].val, h);
            free(h);
        }
    *out = n;
    return C_OK;
}

int net_load(net **out, const char *path, backend *be, int max_batch)
{
    model_desc m;
    *out = NULL;
    if (model_load(&m, path)) return C_ERR;
    int rc = net_build(out, &m, be, max_batch);
    model_free(&m);
    return rc;
}

/* NET_PROFILE=1 report on stderr: ms per training step per layer, the convolution (oneDNN,
 * weight reorders included) apart from the rest of the layer (BnLayer, skip, ReLU masks...). */
static void prof_print(const net *n)
{
    int L = n->n_layers, st = n->prof_steps > 1 ? n->prof_steps - 1 : 1;
    double tot[4] = { 0 };
    fprintf(stderr, "NET_PROFILE %s, ms per step over %d steps after the first\n", n->model.arch, st);
    fprintf(stderr, "%-12s %-12s %9s %9s %9s %9s\n", "layer", "type", "fwd conv", "fwd rest", "bwd conv", "bwd rest");
    for (int i = 0; i < L; i++) {
        double fc = n->prof[2 * L + i], bc = n->prof[3 * L + i], v[4] = { fc, n->prof[i] - fc, bc, n->prof[L + i] - bc };
        fprintf(stderr, "%-12s %-12s", n->model.layers[i].name, model_type_name(n->model.layers[i].type));
        for (int k = 0; k < 4; k++) { fprintf(stderr, " %9.2f", 1e3 * v[k] / st); tot[k] += v[k]; }
        fprintf(stderr, "\n");
    }
    fprintf(stderr, "%-12s %-12s", "total", "");
    for (int k = 0; k < 4; k++) fprintf(stderr, " %9.2f", 1e3 * tot[k] / st);
    fprintf(stderr, "\n");
    free(n->prof);
}

void net_free(net *n)
{
    if (!n) return;
    if (n->prof) prof_print(n);
    if (n->graph) BE->graph_free(CTX, n->graph);
    for (int i = 0; i < n->n_layers; i++) {
        layer *L = &n->layers[i];
        if (L->plan) BE->conv2d_plan_free(CTX, L->plan);
        tensor *ts[] = { &L->c, &L->dc, &L->y, &L->dy, &L->idx };
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) if (ts[k]->data) BE->free_tensor(CTX, ts[k]);
    }
    for (int t = 0; t < n->n_pt; t++) {
        tensor *ts[] = { &n->pt[t].val, &n->pt[t].grad, &n->pt[t].mom, &n->pt[t].saved };
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) if (ts[k]->data) BE->free_tensor(CTX, ts[k]);
    }
    if (n->input.data) BE->free_tensor(CTX, &n->input);
    if (n->labels.data) BE->free_tensor(CTX, &n->labels);
    free(n->layers);
    free(n->pt);
    model_free(&n->model);
    free(n);
}

void net_init_params(net *n, uint64_t seed)
{
    for (int t = 0; t < n->n_pt; t++) {
        ptensor *p = &n->pt[t];
        size_t cnt = tensor_numel(&p->val);
        float *h = xmalloc(cnt * sizeof(float));
        for (size_t j = 0; j < cnt; j++) {
            if (p->init == INIT_ZEROS) h[j] = 0.0f;
            else if (p->init == INIT_ONES) h[j] = 1.0f;
            else {
                uint32_t w[4];
                rng_block(seed, RNG_INIT, (uint32_t)t, (uint32_t)(j / 4), w);
                h[j] = p->bound * (2.0f * rng_u32_to_float(w[j % 4]) - 1.0f);
            }
        }
        BE->upload(CTX, &p->val, h);
        free(h);
    }
}

static const tensor *P(net *n, int i) { return i >= 0 ? &n->pt[i].val : NULL; }
static tensor *G(net *n, int i) { return i >= 0 ? &n->pt[i].grad : NULL; }

int net_forward(net *n, const float *input, int batch, int training, uint64_t seed, uint32_t step)
{
    if (batch < 1 || batch > n->max_batch) return err_msg(n->model.path, "batch %d outside 1..%d", batch, n->max_batch);
    set_batch(&n->input, batch);
    if (input) BE->upload(CTX, &n->input, input);
    n->last_n = batch;
    n->last_training = training;
    n->last_seed = seed;
    n->last_step = step;
    for (int i = 0; i < n->n_layers; i++) {
        layer *L = &n->layers[i];
        const tensor *x = i ? &n->layers[i - 1].y : &n->input;
        set_batch(&L->y, batch); set_batch(&L->dy, batch); set_batch(&L->c, batch); set_batch(&L->dc, batch);
        set_batch(&L->idx, batch);
        double t0 = n->prof ? prof_now() : 0;
        switch (L->ml->type) {
        case ML_CONV2D: case ML_CONVLAYER:
            if (BE->conv2d_fwd(CTX, L->plan, x, P(n, L->w), P(n, L->b), &L->y)) return C_ERR;
            if (n->prof) { BE->sync(CTX); n->prof[2 * n->n_layers + i] += prof_now() - t0; }
            break;
        case ML_BNLAYER: case ML_RESNETLAYER:
            if (BE->conv2d_fwd(CTX, L->plan, x, P(n, L->w), NULL, &L->c)) return C_ERR;
            if (n->prof) { BE->sync(CTX); n->prof[2 * n->n_layers + i] += prof_now() - t0; }
            BE->bnlayer_fwd(CTX, &L->c, P(n, L->a), P(n, L->m), &n->pt[L->mean].val, &n->pt[L->std].val,
                       L->ml->type == ML_RESNETLAYER ? x : NULL, &L->y, training);
            break;
        case ML_LINEAR:
            if (BE->linear_fwd(CTX, x, P(n, L->w), P(n, L->b), &L->y)) return C_ERR;
            break;
        case ML_RELU:
            if (!L->alias) BE->relu_fwd(CTX, x, &L->y);
            break;
        case ML_FLATTEN:
            if (!L->alias) BE->flatten_fwd(CTX, x, &L->y);
            break;
        case ML_MAXPOOL:
            BE->maxpool_fwd(CTX, x, &L->y, &L->idx);
            break;
        case ML_DROPOUT:
            BE->dropout_fwd(CTX, x, &L->y, L->ml->p, seed, step, (uint32_t)i, training);
            break;
        case ML_LOGSOFTMAX:
            BE->logsoftmax_fwd(CTX, x, &L->y);
            break;
        }
        if (n->prof) { BE->sync(CTX); n->prof[i] += prof_now() - t0; }
    }
    return C_OK;
}

void net_output(net *n, float *host_out)
{
    BE->download(CTX, &n->layers[n->n_layers - 1].y, host_out);
}

/* labels NULL: the caller already wrote them into n->labels on the backend */
static const tensor *upload_labels(net *n, const uint8_t *labels, int batch)
{
    set_batch(&n->labels, batch);
    if (labels) BE->upload(CTX, &n->labels, labels);
    return &n->labels;
}

static int async_loss(const net *n) { return BE->nll_loss_queue && BE->loss_stash && BE->loss_fetch; }

float net_loss(net *n, const uint8_t *labels, int batch)
{
    if (batch != n->last_n) err_die(n->model.path, "net_loss: batch %d but the last forward had %d", batch, n->last_n);
    const tensor *lab = upload_labels(n, labels, batch);
    float loss = NAN;
    if (BE->nll_loss(CTX, &n->layers[n->n_layers - 1].y, lab, &loss)) return NAN;
    return loss;
}

/* The loss (queued into the backend's device scalar when queue, else returned) and the backward
 * of the last training-mode forward. */
static float backward_from(net *n, const tensor *lab, int queue)
{
    layer *last = &n->layers[n->n_layers - 1];
    float loss = 0.0f;
    if (queue) BE->nll_loss_queue(CTX, &last->y, lab);
    else if (BE->nll_loss(CTX, &last->y, lab, &loss)) loss = NAN;
    BE->logsoftmax_nll_bwd(CTX, &last->y, lab, &n->layers[n->n_layers - 2].dy);
    for (int i = n->n_layers - 2; i >= 0; i--) {
        layer *L = &n->layers[i];
        const tensor *x = i ? &n->layers[i - 1].y : &n->input;
        tensor *dx = i && L->needs_dx ? &n->layers[i - 1].dy : NULL;
        double t0 = n->prof ? prof_now() : 0, t1 = t0;
        switch (L->ml->type) {
        case ML_CONV2D: case ML_CONVLAYER:
            if (BE->conv2d_bwd(CTX, L->plan, x, P(n, L->w), &L->y, &L->dy, dx, G(n, L->w), G(n, L->b)))
                err_die(n->model.path, "%s: backward failed", L->ml->name);
            if (n->prof) { BE->sync(CTX); n->prof[3 * n->n_layers + i] += prof_now() - t0; }
            break;
        case ML_BNLAYER: case ML_RESNETLAYER:
            BE->bnlayer_bwd(CTX, &L->c, P(n, L->m), &n->pt[L->mean].val, &n->pt[L->std].val, &L->dy, &L->dc, G(n, L->a), G(n, L->m));
            if (n->prof) { BE->sync(CTX); t1 = prof_now(); }
            if (BE->conv2d_bwd(CTX, L->plan, x, P(n, L->w), NULL, &L->dc, dx, G(n, L->w), NULL))
                err_die(n->model.path, "%s: backward failed", L->ml->name);
            if (n->prof) { BE->sync(CTX); n->prof[3 * n->n_layers + i] += prof_now() - t1; }
            if (dx && L->ml->type == ML_RESNETLAYER) BE->accumulate(CTX, dx, &L->dy);
            break;
        case ML_LINEAR:
            if (BE->linear_bwd(CTX, x, P(n, L->w), &L->dy, dx, G(n, L->w), G(n, L->b)))
                err_die(n->model.path, "%s: backward failed", L->ml->name);
            break;
        case ML_RELU:
            if (!L->alias && dx) BE->relu_bwd(CTX, &L->y, &L->dy, dx);
            break;
        case ML_FLATTEN:
            if (!L->alias && dx) BE->flatten_bwd(CTX, &L->dy, dx);
            break;
        case ML_MAXPOOL:
            if (dx) BE->maxpool_bwd(CTX, &L->idx, &L->dy, dx);
            break;
        case ML_DROPOUT:
            if (dx) BE->dropout_bwd(CTX, &L->dy, dx, L->ml->p, n->last_seed, n->last_step, (uint32_t)i);
            break;
        case ML_LOGSOFTMAX:
            break;
        }
        if (n->prof) { BE->sync(CTX); n->prof[n->n_layers + i] += prof_now() - t0; }
    }
    /* the first step (first touch of buffers, lazy set-ups) is left out of the profile */
    if (n->prof && n->prof_steps++ == 0) memset(n->prof, 0, 4 * (size_t)n->n_layers * sizeof(double));
    return loss;
}

float net_loss_backward(net *n, const uint8_t *labels, int batch)
{
    if (batch != n->last_n) err_die(n->model.path, "net_loss_backward: batch %d but the last forward had %d", batch, n->last_n);
    if (!n->last_training) err_die(n->model.path, "net_loss_backward after an eval-mode forward");
    return backward_from(n, upload_labels(n, labels, batch), 0);
}

long net_loss_queue(net *n, const uint8_t *labels, int batch)
{
    long tk = n->tickets++;
    int slot = (int)(tk % BACKEND_LOSS_SLOTS);
    if (!async_loss(n)) {
        n->loss_ring[slot] = net_loss(n, labels, batch);
        return tk;
    }
    if (batch != n->last_n) err_die(n->model.path, "net_loss_queue: batch %d but the last forward had %d", batch, n->last_n);
    BE->nll_loss_queue(CTX, &n->layers[n->n_layers - 1].y, upload_labels(n, labels, batch));
    BE->loss_stash(CTX, slot);
    return tk;
}

float net_loss_result(net *n, long ticket)
{
    int slot = (int)(ticket % BACKEND_LOSS_SLOTS);
    float loss = NAN;
    if (!async_loss(n)) return n->loss_ring[slot];
    if (BE->loss_fetch(CTX, slot, &loss)) return NAN;
    return loss;
}

/* The queued step body (input and labels already on the backend): what a graph records. */
static int step_ops(net *n, int batch, uint64_t seed, uint32_t step, float lr, float momentum, float wd)
{
    if (net_forward(n, NULL, batch, 1, seed, step) != C_OK) return C_ERR;
    backward_from(n, &n->labels, 1);
    net_sgd_step(n, lr, momentum, wd);
    return C_OK;
}

static int key_eq(const step_key *a, const step_key *b)
{
    return a->valid && b->valid && a->batch == b->batch && a->momentum == b->momentum && a->wd == b->wd &&
           a->seed == b->seed;
}

static void drop_graph(net *n)
{
    if (n->graph) BE->graph_free(CTX, n->graph);
    n->graph = NULL;
    n->gkey.valid = 0;
}

/* Replays the graph: C_OK, 1 when it went stale (nothing ran), C_ERR. */
static int replay(net *n, float lr, uint32_t step)
{
    BE->set_step_scalars(CTX, lr, step);
    int r = BE->graph_launch(CTX, n->graph);
    if (r == C_OK) n->graph_steps++;
    return r;
}

long net_train_step(net *n, const float *input, const uint8_t *labels, int batch, uint64_t seed, uint32_t step,
                    float lr, float momentum, float wd)
{
    long tk = n->tickets++;
    int slot = (int)(tk % BACKEND_LOSS_SLOTS);
    if (!async_loss(n)) {
        /* the synchronous sequence of net.h's typical step, unchanged */
        if (net_forward(n, input, batch, 1, seed, step) != C_OK) return -1;
        n->loss_ring[slot] = net_loss_backward(n, labels, batch);
        net_sgd_step(n, lr, momentum, wd);
        return tk;
    }
    if (batch < 1 || batch > n->max_batch) {
        err_msg(n->model.path, "batch %d outside 1..%d", batch, n->max_batch);
        return -1;
    }
    set_batch(&n->input, batch);
    if (input) BE->upload(CTX, &n->input, input);
    upload_labels(n, labels, batch);
    step_key k = { 1, batch, momentum, wd, seed };
    /* The first step after a momentum reset runs uncaptured (first_step is baked into a graph). */
    int graphs = BE->graph_begin && BE->graph_end && BE->graph_launch && BE->graph_free && BE->set_step_scalars &&
                 !n->graphs_off && !n->prof && !n->momentum_empty;
    int done = 0;
    if (graphs && n->graph && key_eq(&n->gkey, &k)) {
        int r = replay(n, lr, step);
        if (r == C_ERR) return -1;
        done = r == C_OK;
        if (!done) {            /* a scratch buffer moved (another shape grew it): record again */
            drop_graph(n);
            n->warm = k;
        }
    }
    /* Record once this shape has run uncaptured (algorithms chosen, buffers grown). */
    if (!done && graphs && key_eq(&n->warm, &k)) {
        drop_graph(n);
        if (BE->graph_begin(CTX) == C_OK) {
            int rc = step_ops(n, batch, seed, step, lr, momentum, wd);
            void *g = NULL;
            int erc = BE->graph_end(CTX, &g);
            if (rc != C_OK) {
                if (g) BE->graph_free(CTX, g);
                return -1;
            }
            if (erc == C_OK && g) {
                n->graph = g;
                n->gkey = k;
                int r = replay(n, lr, step);
                if (r == C_ERR) return -1;
                done = r == C_OK;
            }
        }
        if (!done) {
            err_warn(n->model.path, "could not record the training step as a graph; running it uncaptured");
            drop_graph(n);
            n->graphs_off = 1;
        }
    }
    if (!done) {
        if (step_ops(n, batch, seed, step, lr, momentum, wd) != C_OK) return -1;
        n->warm = k;
    } else {
        /* what net_forward / net_sgd_step would have recorded on the host */
        for (int i = 0; i < n->n_layers; i++) {
            layer *L = &n->layers[i];
            set_batch(&L->y, batch); set_batch(&L->dy, batch); set_batch(&L->c, batch); set_batch(&L->dc, batch);
            set_batch(&L->idx, batch);
        }
        n->last_n = batch;
        n->last_training = 1;
        n->last_seed = seed;
        n->last_step = step;
        n->momentum_empty = 0;
    }
    BE->loss_stash(CTX, slot);
    return tk;
}

void net_sgd_step(net *n, float lr, float momentum, float wd)
{
    for (int t = 0; t < n->n_pt; t++) {
        ptensor *p = &n->pt[t];
        if (p->trainable) BE->sgd_step(CTX, &p->val, &p->grad, &p->mom, tensor_numel(&p->val), lr, momentum, wd, n->momentum_empty);
    }
    n->momentum_empty = 0;
}

void net_reset_momentum(net *n) { n->momentum_empty = 1; }

int net_n_tensors(const net *n) { return n->n_pt; }

int net_tensor_info(const net *n, int i, const char **name, int *ndim, int shape[4], int *trainable)
{
    if (i < 0 || i >= n->n_pt) return C_ERR;
    const ptensor *p = &n->pt[i];
    if (name) *name = p->name;
    if (ndim) *ndim = p->ndim;
    if (shape) memcpy(shape, p->shape, sizeof p->shape);
    if (trainable) *trainable = p->trainable;
    return C_OK;
}

int net_tensor_find(const net *n, const char *name)
{
    for (int i = 0; i < n->n_pt; i++)
        if (!strcmp(n->pt[i].name, name)) return i;
    return -1;
}

size_t net_tensor_numel(const net *n, int i) { return tensor_numel(&n->pt[i].val); }
void net_tensor_get(net *n, int i, float *host) { BE->download(CTX, &n->pt[i].val, host); }
void net_tensor_set(net *n, int i, const float *host) { BE->upload(CTX, &n->pt[i].val, host); }

void net_grad_get(net *n, int i, float *host)
{
    if (n->pt[i].trainable) BE->download(CTX, &n->pt[i].grad, host);
    else memset(host, 0, tensor_numel(&n->pt[i].val) * sizeof(float));
}

void net_params_save(net *n)
{
    for (int t = 0; t < n->n_pt; t++) {
        ptensor *p = &n->pt[t];
        if (!p->saved.data && BE->alloc(CTX, &p->saved, DT_F32, p->ndim, p->shape, TL_PLAIN))
            err_die(n->model.path, "cannot allocate the parameter snapshot");
        BE->copy(CTX, &p->saved, &p->val);
    }
    n->saved = 1;
}

void net_params_restore(net *n)
{
    if (!n->saved) err_die(n->model.path, "net_params_restore without net_params_save");
    for (int t = 0; t < n->n_pt; t++) BE->copy(CTX, &n->pt[t].val, &n->pt[t].saved);
}

cJSON *net_summary_json(const net *n) { return model_summary_json(&n->model); }
void net_summary_print(const net *n, FILE *f) { model_summary_print(&n->model, f); }
