/* net.c: a network from a model file, on any backend (see net.h): build, forward, loss and
 * backward through the layer table, SGD. */
#include "nn/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/errors.h"
#include "nn/net_internal.h"

const model_desc *net_model(const net *n) { return &n->model; }
int net_max_batch(const net *n) { return n->max_batch; }
int net_classes(const net *n) { return n->model.classes; }
tensor *net_input(net *n) { return &n->input; }
tensor *net_labels(net *n) { return &n->labels; }
const backend *net_backend(const net *n) { return n->be; }
const layer *net_layer(const net *n, int i) { return &n->layers[i]; }
uint64_t net_forward_seed(const net *n) { return n->last_seed; }
uint32_t net_forward_step(const net *n) { return n->last_step; }

/* activation [max_batch, C, H, W] or [max_batch, F] */
int net_alloc_act(net *n, tensor *t, int ndim, const int *s, tensor_layout lay)
{
    int shape[4] = { n->max_batch, s[0], s[1], s[2] };
    return BE->alloc(CTX, t, DT_F32, ndim + 1, shape, lay);
}

int net_alloc_grad(net *n, tensor *t, int ndim, const int *s, tensor_layout lay)
{
    return n->inference ? C_OK : net_alloc_act(n, t, ndim, s, lay);
}

int net_is_inference(const net *n) { return n->inference; }

tensor net_view_of(const net *n, const tensor *src, int ndim, const int *per_sample)
{
    tensor v = *src;
    v.view = 1;
    v.ndim = ndim + 1;
    v.shape[0] = n->max_batch;
    for (int i = 0; i < 3; i++) v.shape[i + 1] = i < ndim ? per_sample[i] : 1;
    return v;
}

/* Layer i: its parameters, then its activations and plans. */
static int build_layer(net *n, int i, int *needs_dx)
{
    layer *L = &n->layers[i];
    L->ml = &n->model.layers[i];
    L->index = i;
    L->w = L->b = L->a = L->m = L->mean = L->std = -1;
    L->needs_dx = *needs_dx;
    if (!(L->kind = layer_kind_of(L->ml->type)))
        return err_msg(n->model.path, "layers[%d]: type %s has no layer kind", i, model_type_name(L->ml->type));
    int declared = n->n_pt;
    if (L->kind->params && L->kind->params(n, L) != C_OK) return C_ERR;
    if (L->kind->build(n, L, i ? &n->layers[i - 1].y : &n->input, i ? &n->layers[i - 1].dy : NULL) != C_OK)
        return C_ERR;
    if (n->n_pt > declared) *needs_dx = 1;
    return C_OK;
}

static int build(net **out, const model_desc *m, backend *be, int max_batch, int inference)
{
    *out = NULL;
    if (max_batch < 1) return err_msg(m->path, "batch size must be positive");
    net *n = xcalloc(1, sizeof *n);
    n->be = be;
    n->max_batch = max_batch;
    n->inference = inference;
    n->model = *m;
    n->model.path = xstrdup(m->path ? m->path : "model");
    n->model.layers = xmalloc((size_t)m->n_layers * sizeof *m->layers);
    memcpy(n->model.layers, m->layers, (size_t)m->n_layers * sizeof *m->layers);
    n->n_layers = m->n_layers;
    n->layers = xcalloc((size_t)n->n_layers, sizeof *n->layers);
    n->pt_cap = n->n_layers * NET_MAX_LAYER_TENSORS;
    n->pt = xcalloc((size_t)n->pt_cap + 1, sizeof *n->pt);
    n->momentum_empty = 1;
    const char *g = getenv("NET_GRAPH");
    n->graphs_off = g && !strcmp(g, "0");
    net_prof_init(n);
    int is[4] = { max_batch, m->input[0], m->input[1], m->input[2] }, ls[1] = { max_batch };
    if (BE->alloc(CTX, &n->input, DT_F32, 4, is, TL_PLAIN) || BE->alloc(CTX, &n->labels, DT_U8, 1, ls, TL_PLAIN)) {
        net_free(n);
        return C_ERR;
    }
    int needs_dx = 0;
    for (int i = 0; i < n->n_layers; i++)
        if (build_layer(n, i, &needs_dx)) { net_free(n); return C_ERR; }
    for (int t = 0; t < n->n_pt; t++)
        if (n->pt[t].init == NET_INIT_ONES) {  /* statistics and m start at 1, so eval before training is defined */
            float *h = xmalloc(tensor_numel(&n->pt[t].val) * sizeof(float));
            for (size_t j = 0; j < tensor_numel(&n->pt[t].val); j++) h[j] = 1.0f;
            int rc = BE->upload(CTX, &n->pt[t].val, h);
            free(h);
            if (rc != C_OK) { net_free(n); return C_ERR; }
        }
    *out = n;
    return C_OK;
}

int net_build(net **out, const model_desc *m, backend *be, int max_batch) { return build(out, m, be, max_batch, 0); }

int net_build_inference(net **out, const model_desc *m, backend *be, int max_batch)
{
    return build(out, m, be, max_batch, 1);
}

static int load(net **out, const char *path, backend *be, int max_batch, int inference)
{
    model_desc m;
    *out = NULL;
    if (model_load(&m, path)) return C_ERR;
    int rc = build(out, &m, be, max_batch, inference);
    model_free(&m);
    return rc;
}

int net_load(net **out, const char *path, backend *be, int max_batch) { return load(out, path, be, max_batch, 0); }

int net_load_inference(net **out, const char *path, backend *be, int max_batch)
{
    return load(out, path, be, max_batch, 1);
}

void net_free(net *n)
{
    if (!n) return;
    net_prof_finish(n);
    net_lookahead_free(n);
    if (n->graph) BE->graph_free(CTX, n->graph);
    for (int i = 0; i < n->n_layers; i++) {
        layer *L = &n->layers[i];
        if (L->plan) BE->conv2d_plan_free(CTX, L->plan);
        tensor *ts[] = { &L->c, &L->dc, &L->y, &L->dy, &L->idx, &L->save_mean, &L->save_invstd, &L->dw_frozen };
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

void net_set_layers_batch(net *n, int batch)
{
    for (int i = 0; i < n->n_layers; i++) {
        layer *L = &n->layers[i];
        net_set_batch(&L->y, batch); net_set_batch(&L->dy, batch); net_set_batch(&L->c, batch);
        net_set_batch(&L->dc, batch); net_set_batch(&L->idx, batch);
    }
}

int net_forward(net *n, const float *input, int batch, int training, uint64_t seed, uint32_t step)
{
    if (batch < 1 || batch > n->max_batch) return err_msg(n->model.path, "batch %d outside 1..%d", batch, n->max_batch);
    if (training && n->inference) return err_msg(n->model.path, "training-mode forward on a net built for inference");
    net_set_batch(&n->input, batch);
    if (input && BE->upload(CTX, &n->input, input) != C_OK) return C_ERR;
    n->last_n = batch;
    n->last_training = training;
    n->last_seed = seed;
    n->last_step = step;
    net_set_layers_batch(n, batch);
    for (int i = 0; i < n->n_layers; i++) {
        layer *L = &n->layers[i];
        double t0;
        if (net_prof_start(n, &t0) != C_OK) return C_ERR;
        if (L->kind->forward(n, L, i ? &n->layers[i - 1].y : &n->input, training) != C_OK) return C_ERR;
        if (net_prof_add(n, NET_PROF_FWD, i, t0) != C_OK) return C_ERR;
    }
    return C_OK;
}

int net_output(net *n, float *host_out)
{
    return BE->download(CTX, &n->layers[n->n_layers - 1].y, host_out);
}

/* labels NULL: the caller already wrote them into n->labels on the backend */
const tensor *net_upload_labels(net *n, const uint8_t *labels, int batch)
{
    net_set_batch(&n->labels, batch);
    if (labels && BE->upload(CTX, &n->labels, labels) != C_OK) return NULL;
    return &n->labels;
}

int net_set_loss(net *n, float label_smoothing, int sum)
{
    if (!(label_smoothing >= 0 && label_smoothing < 1))
        return err_msg(n->model.path, "label smoothing %g outside [0, 1)", label_smoothing);
    int smooth = label_smoothing != 0 || sum;
    /* a backend with the queued loss needs the queued smoothed loss too (net_backward_from) */
    if (smooth && !(BE->smooth_nll_loss && BE->logsoftmax_smooth_nll_bwd &&
                    (!BE->nll_loss_queue || BE->smooth_nll_loss_queue)))
        return err_msg(BE->name, "no label-smoothed loss on this backend");
    n->loss_eps = label_smoothing;
    n->loss_sum = sum ? 1 : 0;
    n->loss_smooth = smooth;
    n->rules_gen++;
    return C_OK;
}

int net_loss(net *n, const uint8_t *labels, int batch, float *loss)
{
    *loss = NAN;
    if (batch != n->last_n) return err_msg(n->model.path, "net_loss: batch %d but the last forward had %d", batch, n->last_n);
    const tensor *lab = net_upload_labels(n, labels, batch);
    if (!lab) return C_ERR;
    return BE->nll_loss(CTX, &n->layers[n->n_layers - 1].y, lab, loss);
}

int net_backward_from(net *n, const tensor *lab, int queue, float *loss)
{
    if (n->inference) return err_msg(n->model.path, "backward on a net built for inference");
    layer *last = &n->layers[n->n_layers - 1];
    tensor *dx = &n->layers[n->n_layers - 2].dy;
    if (n->loss_smooth) {
        float eps = n->loss_eps;
        int sum = n->loss_sum;
        if (queue ? BE->smooth_nll_loss_queue(CTX, &last->y, lab, eps, sum)
                  : BE->smooth_nll_loss(CTX, &last->y, lab, eps, sum, loss))
            return C_ERR;
        if (BE->logsoftmax_smooth_nll_bwd(CTX, &last->y, lab, eps, sum, dx) != C_OK) return C_ERR;
    } else {
        if (queue ? BE->nll_loss_queue(CTX, &last->y, lab) : BE->nll_loss(CTX, &last->y, lab, loss)) return C_ERR;
        if (BE->logsoftmax_nll_bwd(CTX, &last->y, lab, dx) != C_OK) return C_ERR;
    }
    for (int i = n->n_layers - 2; i >= 0; i--) {
        layer *L = &n->layers[i];
        double t0;
        if (net_prof_start(n, &t0) != C_OK) return C_ERR;
        if (L->kind->backward &&
            L->kind->backward(n, L, i ? &n->layers[i - 1].y : &n->input, i && L->needs_dx ? &n->layers[i - 1].dy : NULL))
            return C_ERR;
        if (net_prof_add(n, NET_PROF_BWD, i, t0) != C_OK) return C_ERR;
    }
    net_prof_step_done(n);
    return C_OK;
}

int net_loss_backward(net *n, const uint8_t *labels, int batch, float *loss)
{
    *loss = NAN;
    if (batch != n->last_n)
        return err_msg(n->model.path, "net_loss_backward: batch %d but the last forward had %d", batch, n->last_n);
    if (!n->last_training) return err_msg(n->model.path, "net_loss_backward after an eval-mode forward");
    const tensor *lab = net_upload_labels(n, labels, batch);
    if (!lab) return C_ERR;
    return net_backward_from(n, lab, 0, loss);
}

int net_set_sgd_rule(net *n, const net_sgd_rule *r)
{
    if (!r) {
        if (n->sgd_rule_on) n->rules_gen++;   /* unchanged: a recorded step stays valid */
        n->sgd_rule_on = 0;
        return C_OK;
    }
    for (int g = 0; g < NET_SGD_GROUPS; g++)
        if (!(r->lr_scale[g] > 0) || (r->wd_per_group && !(r->wd[g] >= 0)))
            return err_msg(n->model.path, "optimiser group %d: lr scale %g, weight decay %g", g, r->lr_scale[g], r->wd[g]);
    if (!BE->sgd_group_step) return err_msg(BE->name, "no grouped SGD step on this backend");
    if (!n->sgd_rule_on || memcmp(&n->sgd_rule, r, sizeof *r)) n->rules_gen++;
    n->sgd_rule = *r;
    n->sgd_rule_on = 1;
    return C_OK;
}

int net_sgd_step(net *n, float lr, float momentum, float wd)
{
    if (n->inference) return err_msg(n->model.path, "SGD step on a net built for inference");
    const net_sgd_rule *r = &n->sgd_rule;
    for (int t = 0; t < n->n_pt; t++) {
        ptensor *p = &n->pt[t];
        if (!net_pt_stepped(p)) continue;
        size_t numel = tensor_numel(&p->val);
        if (!n->sgd_rule_on) {
            if (BE->sgd_step(CTX, &p->val, &p->grad, &p->mom, numel, lr, momentum, wd, n->momentum_empty)) return C_ERR;
            continue;
        }
        int g = net_tensor_group(n, t);
        if (g < 0 || g >= NET_SGD_GROUPS) g = 0;
        if (BE->sgd_group_step(CTX, &p->val, &p->grad, &p->mom, numel, lr, r->lr_scale[g], momentum,
                               r->wd_per_group ? r->wd[g] : wd, r->nesterov, n->momentum_empty))
            return C_ERR;
    }
    n->momentum_empty = 0;
    return C_OK;
}

void net_reset_momentum(net *n) { n->momentum_empty = 1; }

cJSON *net_summary_json(const net *n) { return model_summary_json(&n->model); }
void net_summary_print(const net *n, FILE *f) { model_summary_print(&n->model, f); }
