/* layer.h: the layer table: what each layer type of a model file does inside a net.
 *
 * Every ml_type has one layer_kind, defined in its own file under nn/layers/ and named by the
 * type's line in nn/layer_types.h (layer_table.c makes the table from it). net.c walks the
 * layers through their kinds and never asks for the type:
 *   build:    kind->params (parameter tensors, in state-dict order), then kind->build
 *             (activations, plans); a layer that declared parameters makes every later layer
 *             need its input gradient (needs_dx).
 *   forward:  kind->forward, first layer to last.
 *   backward: kind->backward, from the layer before the LogSoftmax down to the first (the loss
 *             does the LogSoftmax's backward).
 * Adding a layer type: its file under nn/layers/ and its line in nn/layer_types.h (and, for a
 * type with keys of its own, their parsing in nn/model.c). Internal to nn/ (and its tests). */
#ifndef LAYER_H
#define LAYER_H

#include "backend/backend.h"
#include "nn/model.h"
#include "nn/net.h"

/* The state of one layer of a net. Tensors a kind does not use stay zero (net_free frees
 * whatever is allocated). */
typedef struct layer {
    const model_layer *ml;
    const struct layer_kind *kind;
    int index;                  /* position in the model: the dropout salt, the profile row */
    int w, b, a, m, mean, std;  /* parameter tensor indices (net_param) or -1 */
    conv2d_plan *plan;
    int fused_relu;             /* conv followed by a functional ReLU done inside the conv */
    int alias;                  /* output is a view of the input (fused ReLU, plain flatten) */
    int needs_dx;               /* some earlier layer has parameters */
    tensor c, dc;               /* BnLayer: conv output and its gradient */
    tensor y, dy;               /* output and its gradient (views when alias) */
    tensor idx;                 /* max pool arg max */
    tensor save_mean, save_invstd;  /* BatchNorm2d: the last training forward's batch statistics */
    tensor dw_frozen;           /* a conv whose weight is not trainable: its gradient, computed
                                   by the backward (with the bias's) and dropped */
} layer;

typedef struct layer_kind {
    ml_type type;               /* its name in model files is model_type_name(type) */
    /* Declares the layer's parameter tensors with net_add_param (NULL: none). */
    int (*params)(net *n, layer *L);
    /* Allocates the output y and its gradient dy (or views), plans and scratch. x: the input,
     * dx_in: the input's gradient tensor (NULL for the first layer). */
    int (*build)(net *n, layer *L, const tensor *x, const tensor *dx_in);
    /* y from x; the batch size is x->shape[0]; dropout draws from the forward's seed and step. */
    int (*forward)(net *n, layer *L, const tensor *x, int training);
    /* Gradients from L->dy: the parameter gradients and dx (NULL when no earlier layer needs
     * it). NULL: nothing to do. */
    int (*backward)(net *n, layer *L, const tensor *x, tensor *dx);
} layer_kind;

/* The kind of a type, NULL for a type without one. */
const layer_kind *layer_kind_of(ml_type t);

/* ---- what the kinds use from the net (nn/net.c, nn/net_tensors.c, nn/net_profile.c) ---- */

/* NET_INIT_DIRAC: NET_INIT_UNIFORM, then torch.nn.init.dirac_ on the first min(out, in) filters
 * of a [out, in, kh, kw] weight. */
enum { NET_INIT_UNIFORM, NET_INIT_ZEROS, NET_INIT_ONES, NET_INIT_DIRAC };
/* The most state-dict tensors one layer may declare (BnLayer: a, m, conv.weight, means, stds;
 * BatchNorm2d: weight, bias, running_mean, running_var). */
enum { NET_MAX_LAYER_TENSORS = 5 };

/* Adds the state-dict tensor `<owner>.<suffix>` (with gradient and momentum when trainable);
 * init NET_INIT_*, bound: U(-bound, bound) for NET_INIT_UNIFORM. Its index, or -1. */
int net_add_param(net *n, const char *owner, const char *suffix, int ndim, const int *shape, int trainable,
                  int init, float bound);
/* Puts tensor i in an optimiser group (NET_GROUP_*, net.h); tensors start in NET_GROUP_DEFAULT. */
void net_param_set_group(net *n, int i, int group);
/* Value and gradient of parameter tensor i; NULL for i < 0 (no such parameter), and the gradient
 * NULL for a tensor that is not trainable. */
tensor *net_param(net *n, int i);
tensor *net_grad(net *n, int i);

/* An activation [max_batch, s...] (ndim per-sample dimensions) in layout lay. */
int net_alloc_act(net *n, tensor *t, int ndim, const int *s, tensor_layout lay);
/* The same for an activation's gradient: nothing (t stays unallocated) in an inference net. */
int net_alloc_grad(net *n, tensor *t, int ndim, const int *s, tensor_layout lay);
/* 1 for a net built for inference (no backward: plans are made forward-only). */
int net_is_inference(const net *n);
/* A view of src's data with the per-sample shape given and max_batch rows. */
tensor net_view_of(const net *n, const tensor *src, int ndim, const int *per_sample);

/* The backend the net runs on, and its layer i (0 <= i < the model's n_layers). */
const backend *net_backend(const net *n);
const layer *net_layer(const net *n, int i);
/* The seed and step of the current forward (dropout masks). */
uint64_t net_forward_seed(const net *n);
uint32_t net_forward_step(const net *n);

/* The profile's columns (NET_PROFILE=1): whole layer, and its convolution alone. */
enum { NET_PROF_FWD, NET_PROF_BWD, NET_PROF_FWD_CONV, NET_PROF_BWD_CONV };
/* When profiling: waits for the queued work and sets *t0 to the time (else 0). */
int net_prof_start(net *n, double *t0);
/* When profiling: waits for the queued work, adds the time since t0 to the column of layer i. */
int net_prof_add(net *n, int column, int i, double t0);

/* Builds (layer_kind.build) the kinds share (layer_table.c): the output y and its gradient dy
 * in the model's output shape, in x's layout (layer_build_same) or plain (layer_build_plain). */
int layer_build_same(net *n, layer *L, const tensor *x, const tensor *dx_in);
int layer_build_plain(net *n, layer *L, const tensor *x, const tensor *dx_in);

/* Conv2d-family plan for L (nn/layers/conv.c): bias and fused ReLU as given. */
int layer_conv_plan(net *n, layer *L, const tensor *x, int bias, int relu);

#endif
