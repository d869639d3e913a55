/* conv.c: the Conv2d and ConvLayer (conv + ReLU) layer kinds, and the conv plan every conv-family kind makes. */
#include <math.h>
#include <stdio.h>
#include "nn/layer.h"

int layer_conv_plan(net *n, layer *L, const tensor *x, int bias, int relu)
{
    const backend *be = net_backend(n);
    const model_layer *ml = L->ml;
    conv2d_desc d = { .max_n = net_max_batch(n), .ic = ml->in, .ih = ml->in_shape[1], .iw = ml->in_shape[2],
                      .oc = ml->out, .kh = ml->kernel, .kw = ml->kernel, .stride = ml->stride, .pad = ml->padding,
                      .bias = bias, .relu = relu, .need_dx = L->needs_dx, .forward_only = net_is_inference(n), .src_layout = x->layout,
                      .algo = CONV2D_ALGO_AUTO };
    if (!(L->plan = be->iface->conv2d_plan_make(be->ctx, &d)))
        return err_msg(net_model(n)->path, "%s: cannot set up its convolution", ml->name);
    return C_OK;
}

/* weight [out, in, k, k] and bias [out] of the module `<name>` (Conv2d) or `<name>.conv`
 * (ConvLayer); a Conv2d's "init" (model.h): "dirac" adds dirac_ to the weight's draw, "whiten"
 * makes the weight not trainable and both start at 0. */
static int conv_params(net *n, layer *L)
{
    const model_layer *ml = L->ml;
    int k = ml->kernel, ws[4] = { ml->out, ml->in, k, k }, whiten = ml->init == ML_INIT_WHITEN;
    float bound = 1.0f / sqrtf((float)(ml->in * k * k));
    int winit = whiten ? NET_INIT_ZEROS : ml->init == ML_INIT_DIRAC ? NET_INIT_DIRAC : NET_INIT_UNIFORM;
    char cname[80];
    snprintf(cname, sizeof cname, ml->type == ML_CONVLAYER ? "%s.conv" : "%s", ml->name);
    if ((L->w = net_add_param(n, cname, "weight", 4, ws, !whiten, winit, bound)) < 0) return C_ERR;
    if (ml->bias && (L->b = net_add_param(n, cname, "bias", 1, ws, 1, whiten ? NET_INIT_ZEROS : NET_INIT_UNIFORM,
                                          bound)) < 0)
        return C_ERR;
    return C_OK;
}

/* A Conv2d right before a functional ReLU does the ReLU inside the convolution (the ReLU layer
 * then aliases its output); a ConvLayer always does. */
static int conv_build(net *n, layer *L, const tensor *x, const tensor *dx_in)
{
    (void)dx_in;
    const model_desc *m = net_model(n);
    const model_layer *ml = L->ml;
    L->fused_relu = ml->type == ML_CONVLAYER ||
                    (L->index + 1 < m->n_layers && m->layers[L->index + 1].type == ML_RELU);
    if (layer_conv_plan(n, L, x, ml->bias, L->fused_relu) != C_OK) return C_ERR;
    if (net_alloc_act(n, &L->y, 3, ml->out_shape, TL_ACT) || net_alloc_grad(n, &L->dy, 3, ml->out_shape, TL_ACT))
        return C_ERR;
    /* the backward computes the weight's gradient with the bias's: a frozen weight's goes here */
    if (!net_grad(n, L->w)) {
        const backend *be = net_backend(n);
        int ws[4] = { ml->out, ml->in, ml->kernel, ml->kernel };
        if (be->iface->alloc(be->ctx, &L->dw_frozen, DT_F32, 4, ws, TL_PLAIN)) return C_ERR;
    }
    return C_OK;
}

static int conv_forward(net *n, layer *L, const tensor *x, int training)
{
    (void)training;
    const backend *be = net_backend(n);
    double t0;
    if (net_prof_start(n, &t0) != C_OK) return C_ERR;
    if (be->iface->conv2d_fwd(be->ctx, L->plan, x, net_param(n, L->w), net_param(n, L->b), &L->y)) return C_ERR;
    return net_prof_add(n, NET_PROF_FWD_CONV, L->index, t0);
}

static int conv_backward(net *n, layer *L, const tensor *x, tensor *dx)
{
    const backend *be = net_backend(n);
    double t0;
    if (net_prof_start(n, &t0) != C_OK) return C_ERR;
    tensor *dw = net_grad(n, L->w) ? net_grad(n, L->w) : &L->dw_frozen;
    if (be->iface->conv2d_bwd(be->ctx, L->plan, x, net_param(n, L->w), &L->y, &L->dy, dx, dw, net_grad(n, L->b)))
        return C_ERR;
    return net_prof_add(n, NET_PROF_BWD_CONV, L->index, t0);
}

/* Conv2d and ConvLayer (the ReLU fused) share everything */
#define CONV_KIND(t) \
    { .type = t, .params = conv_params, .build = conv_build, .forward = conv_forward, .backward = conv_backward }
const layer_kind layer_kind_conv2d = CONV_KIND(ML_CONV2D), layer_kind_convlayer = CONV_KIND(ML_CONVLAYER);
