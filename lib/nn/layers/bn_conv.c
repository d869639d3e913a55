/* bn_conv.c: the BnLayer (conv, ReLU, batch-statistics norm) and ResnetLayer (x + BnLayer(x)) layer kinds. */
#include <math.h>
#include <stdio.h>
#include "nn/layer.h"

/* `<name>.a`, `<name>.m`, `<name>.conv.weight`, then the statistics `<name>.means`, `<name>.stds` */
static int bn_params(net *n, layer *L)
{
    const model_layer *ml = L->ml;
    int k = ml->kernel, ws[4] = { ml->out, ml->in, k, k }, vs[3] = { ml->out, 1, 1 };
    float bound = 1.0f / sqrtf((float)(ml->in * k * k));
    char cname[80];
    snprintf(cname, sizeof cname, "%s.conv", ml->name);
    L->a = net_add_param(n, ml->name, "a", 3, vs, 1, NET_INIT_ZEROS, 0);
    L->m = net_add_param(n, ml->name, "m", 3, vs, 1, NET_INIT_ONES, 0);
    L->w = net_add_param(n, cname, "weight", 4, ws, 1, NET_INIT_UNIFORM, bound);
    L->mean = net_add_param(n, ml->name, "means", 3, vs, 0, NET_INIT_ZEROS, 0);
    L->std = net_add_param(n, ml->name, "stds", 3, vs, 0, NET_INIT_ONES, 0);
    if (L->a < 0 || L->m < 0 || L->w < 0 || L->mean < 0 || L->std < 0) return C_ERR;
    return C_OK;
}

static int bn_build(net *n, layer *L, const tensor *x, const tensor *dx_in)
{
    (void)dx_in;
    const int *os = L->ml->out_shape;
    if (layer_conv_plan(n, L, x, 0, 0) != C_OK) return C_ERR;
    if (net_alloc_act(n, &L->c, 3, os, TL_ACT) || net_alloc_grad(n, &L->dc, 3, os, TL_ACT)) return C_ERR;
    if (net_alloc_act(n, &L->y, 3, os, TL_ACT) || net_alloc_grad(n, &L->dy, 3, os, TL_ACT)) return C_ERR;
    return C_OK;
}

static int bn_forward(net *n, layer *L, const tensor *x, int training)
{
    const backend *be = net_backend(n);
    double t0;
    if (net_prof_start(n, &t0) != C_OK) return C_ERR;
    if (be->iface->conv2d_fwd(be->ctx, L->plan, x, net_param(n, L->w), NULL, &L->c)) return C_ERR;
    if (net_prof_add(n, NET_PROF_FWD_CONV, L->index, t0) != C_OK) return C_ERR;
    return be->iface->bnlayer_fwd(be->ctx, &L->c, net_param(n, L->a), net_param(n, L->m), net_param(n, L->mean),
                                  net_param(n, L->std), L->ml->type == ML_RESNETLAYER ? x : NULL, &L->y, training);
}

/* the skip connection's gradient is dy itself: added to dx after the conv's */
static int bn_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    const backend *be = net_backend(n);
    if (be->iface->bnlayer_bwd(be->ctx, &L->c, net_param(n, L->m), net_param(n, L->mean), net_param(n, L->std),
                               &L->dy, &L->dc, net_grad(n, L->a), net_grad(n, L->m)))
        return C_ERR;
    double t0;
    if (net_prof_start(n, &t0) != C_OK) return C_ERR;
    if (be->iface->conv2d_bwd(be->ctx, L->plan, x, net_param(n, L->w), NULL, &L->dc, dx, net_grad(n, L->w), NULL))
        return C_ERR;
    if (net_prof_add(n, NET_PROF_BWD_CONV, L->index, t0) != C_OK) return C_ERR;
    if (dx && L->ml->type == ML_RESNETLAYER) return be->iface->accumulate(be->ctx, dx, &L->dy);
    return C_OK;
}

/* BnLayer and ResnetLayer (the skip add) share everything */
#define BN_KIND(t) { .type = t, .params = bn_params, .build = bn_build, .forward = bn_forward, .backward = bn_backward }
const layer_kind layer_kind_bnlayer = BN_KIND(ML_BNLAYER), layer_kind_resnetlayer = BN_KIND(ML_RESNETLAYER);
