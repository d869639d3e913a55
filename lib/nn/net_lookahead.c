/* net_lookahead.c: airbench's lookahead: an EMA copy of every tensor of the state dict, lerped
 * towards the net and copied back by the backend's lookahead_step (ops/sgd.h). See net.h. */
#include <stdlib.h>
#include "core/errors.h"
#include "nn/net_internal.h"

int net_lookahead_active(const net *n) { return n->la != NULL; }

void net_lookahead_free(net *n)
{
    if (!n->la) return;
    for (int t = 0; t < n->n_pt; t++)
        if (n->la[t].data) BE->free_tensor(CTX, &n->la[t]);
    free(n->la);
    n->la = NULL;
}

void net_lookahead_stop(net *n) { net_lookahead_free(n); }

/* The copy's tensors, allocated (not filled) when there are none. */
static int alloc_copy(net *n)
{
    if (n->la) return C_OK;
    if (!BE->lookahead_step) return err_msg(BE->name, "no lookahead step on this backend");
    n->la = xcalloc((size_t)(n->n_pt ? n->n_pt : 1), sizeof *n->la);
    for (int t = 0; t < n->n_pt; t++)
        if (BE->alloc(CTX, &n->la[t], DT_F32, n->pt[t].ndim, n->pt[t].shape, TL_PLAIN) != C_OK) {
            net_lookahead_free(n);
            return C_ERR;
        }
    return C_OK;
}

int net_lookahead_start(net *n)
{
    if (alloc_copy(n) != C_OK) return C_ERR;
    for (int t = 0; t < n->n_pt; t++)
        if (BE->lookahead_step(CTX, &n->la[t], &n->pt[t].val, tensor_numel(&n->pt[t].val), 0.0f, 1) != C_OK)
            return C_ERR;
    return C_OK;
}

int net_lookahead_update(net *n, double decay)
{
    if (!n->la) return err_msg(n->model.path, "lookahead update before its start");
    /* torch: ema.lerp_(net, 1 - decay) with the weight formed in double, then a float */
    float w = (float)(1.0 - decay);
    for (int t = 0; t < n->n_pt; t++)
        if (BE->lookahead_step(CTX, &n->la[t], &n->pt[t].val, tensor_numel(&n->pt[t].val), w, 0) != C_OK)
            return C_ERR;
    return C_OK;
}

static int check(const net *n, int i)
{
    if (i < 0 || i >= n->n_pt) return err_msg(n->model.path, "tensor %d does not exist", i);
    return C_OK;
}

int net_lookahead_get(net *n, int i, float *host)
{
    if (check(n, i) != C_OK) return C_ERR;
    if (!n->la) return err_msg(n->model.path, "no lookahead copy");
    return BE->download(CTX, &n->la[i], host);
}

int net_lookahead_set(net *n, int i, const float *host)
{
    if (check(n, i) != C_OK || alloc_copy(n) != C_OK) return C_ERR;
    return BE->upload(CTX, &n->la[i], host);
}
