/* net_tensors.c: the net's state dict: declared tensors, default init, checkpoint access, snapshots. */
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "nn/net_internal.h"

int net_add_param(net *n, const char *owner, const char *suffix, int ndim, const int *shape, int trainable,
                  int init, float bound)
{
    if (n->n_pt == n->pt_cap) {
        err_msg(n->model.path, "%s: more than %d tensors per layer", owner, NET_MAX_LAYER_TENSORS);
        return -1;
    }
    ptensor *p = &n->pt[n->n_pt];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", owner, suffix);
    p->ndim = ndim;
    for (int i = 0; i < 4; i++) p->shape[i] = i < ndim ? shape[i] : 1;
    p->trainable = trainable;
    p->init = init;
    p->bound = bound;
    if (BE->alloc(CTX, &p->val, DT_F32, ndim, shape, TL_PLAIN)) return -1;
    if (trainable && !n->inference && (BE->alloc(CTX, &p->grad, DT_F32, ndim, shape, TL_PLAIN) ||
                      BE->alloc(CTX, &p->mom, DT_F32, ndim, shape, TL_PLAIN)))
        return -1;
    return n->n_pt++;
}

tensor *net_param(net *n, int i) { return i >= 0 ? &n->pt[i].val : NULL; }
tensor *net_grad(net *n, int i) { return i >= 0 && n->pt[i].trainable ? &n->pt[i].grad : NULL; }

void net_param_set_group(net *n, int i, int group) { if (i >= 0 && i < n->n_pt) n->pt[i].group = group; }

/* torch.nn.init.dirac_ on w[:min(out, in)] of a [out, in, kh, kw] weight */
static void dirac(const ptensor *p, float *h)
{
    int O = p->shape[0], I = p->shape[1], kh = p->shape[2], kw = p->shape[3], m = O < I ? O : I;
    size_t per = (size_t)I * kh * kw;
    for (int o = 0; o < m; o++) {
        memset(h + (size_t)o * per, 0, per * sizeof(float));
        h[(size_t)o * per + ((size_t)o * kh + kh / 2) * kw + kw / 2] = 1.0f;
    }
}

int net_init_params(net *n, uint64_t seed)
{
    for (int t = 0; t < n->n_pt; t++) {
        ptensor *p = &n->pt[t];
        size_t cnt = tensor_numel(&p->val);
        float *h = xmalloc(cnt * sizeof(float));
        for (size_t j = 0; j < cnt; j++) {
            if (p->init == NET_INIT_ZEROS) h[j] = 0.0f;
            else if (p->init == NET_INIT_ONES) h[j] = 1.0f;
            else {
                uint32_t w[4];
                rng_block(seed, RNG_INIT, (uint32_t)t, (uint32_t)(j / 4), w);
                h[j] = p->bound * (2.0f * rng_u32_to_float(w[j % 4]) - 1.0f);
            }
        }
        if (p->init == NET_INIT_DIRAC && p->ndim == 4) dirac(p, h);
        int rc = BE->upload(CTX, &p->val, h);
        free(h);
        if (rc != C_OK) return C_ERR;
    }
    return C_OK;
}

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

static int check_index(const net *n, int i)
{
    if (i < 0 || i >= n->n_pt) return err_msg(n->model.path, "tensor %d outside 0..%d", i, n->n_pt - 1);
    return C_OK;
}

int net_tensor_group(const net *n, int i)
{
    if (check_index(n, i) != C_OK) return C_ERR;
    return n->pt[i].group;
}

int net_tensor_set_frozen(net *n, int i, int frozen)
{
    if (check_index(n, i) != C_OK) return C_ERR;
    if (!n->pt[i].trainable) return err_msg(n->model.path, "%s: not trainable, so it cannot be frozen", n->pt[i].name);
    n->pt[i].frozen = frozen != 0;
    return C_OK;
}

int net_tensor_frozen(const net *n, int i) { return i >= 0 && i < n->n_pt && n->pt[i].trainable && n->pt[i].frozen; }

size_t net_tensor_numel(const net *n, int i) { return tensor_numel(&n->pt[i].val); }

int net_tensor_get(net *n, int i, float *host)
{
    if (check_index(n, i) != C_OK) return C_ERR;
    return BE->download(CTX, &n->pt[i].val, host);
}

int net_tensor_set(net *n, int i, const float *host)
{
    if (check_index(n, i) != C_OK) return C_ERR;
    return BE->upload(CTX, &n->pt[i].val, host);
}

int net_grad_get(net *n, int i, float *host)
{
    if (check_index(n, i) != C_OK) return C_ERR;
    if (n->pt[i].trainable && !n->inference) return BE->download(CTX, &n->pt[i].grad, host);
    memset(host, 0, tensor_numel(&n->pt[i].val) * sizeof(float));
    return C_OK;
}

int net_params_save(net *n)
{
    for (int t = 0; t < n->n_pt; t++) {
        ptensor *p = &n->pt[t];
        if (!p->saved.data && BE->alloc(CTX, &p->saved, DT_F32, p->ndim, p->shape, TL_PLAIN)) return C_ERR;
        if (BE->copy(CTX, &p->saved, &p->val) != C_OK) return C_ERR;
    }
    n->saved = 1;
    return C_OK;
}

int net_params_restore(net *n)
{
    if (!n->saved) return err_msg(n->model.path, "net_params_restore without net_params_save");
    for (int t = 0; t < n->n_pt; t++)
        if (BE->copy(CTX, &n->pt[t].val, &n->pt[t].saved) != C_OK) return C_ERR;
    return C_OK;
}

/* Momentum buffers, for a training state that resumes byte for byte (train/train_state.h). */
int net_momentum_empty(const net *n) { return n->momentum_empty; }

int net_momentum_get(net *n, int i, float *host)
{
    if (check_index(n, i) != C_OK) return C_ERR;
    if (!n->pt[i].trainable || n->inference) return err_msg(n->model.path, "%s: has no momentum buffer", n->pt[i].name);
    return BE->download(CTX, &n->pt[i].mom, host);
}

int net_momentum_set(net *n, int i, const float *host)
{
    if (check_index(n, i) != C_OK) return C_ERR;
    if (!n->pt[i].trainable || n->inference) return err_msg(n->model.path, "%s: has no momentum buffer", n->pt[i].name);
    if (BE->upload(CTX, &n->pt[i].mom, host) != C_OK) return C_ERR;
    n->momentum_empty = 0;   /* the next step continues these buffers */
    return C_OK;
}
