/* model.h: models/<arch>.json, the declarative description of one architecture.
 *
 * Format (every key checked; unknown keys are errors):
 *   {"arch": "convnet", "input": [3, 32, 32], "classes": 10,
 *    "layers": [ {"name": "layers.0", "type": "Conv2d", "in": 3, "out": 20, "kernel": 3,
 *                 "stride": 2, "padding": 0, "bias": true},
 *                {"type": "ReLU"}, ... ]}
 * `layers` is the forward order. Entries with a `name` are PyTorch modules (their parameters are
 * `<name>.weight`, `<name>.bias`, and for BnLayer/ResnetLayer `<name>.a`, `<name>.m`,
 * `<name>.conv.weight`); entries without one are functional steps (F.relu, view, log_softmax).
 * Types:
 *   Linear {in, out, bias=true}
 *   Conv2d {in, out, kernel, stride=1, padding=0, bias=true, init="default"}: init "default" is
 *       PyTorch's U(+-1/sqrt(fan_in)) for weight and bias; "dirac" draws the same, then
 *       torch.nn.init.dirac_ on the first min(in, out) filters (w[o][o][k/2][k/2] = 1, the rest
 *       of those filters 0); "whiten" (airbench's first layer): the weight is not trainable
 *       (kept in the state dict, never updated, no gradient or momentum buffer; net_init_params
 *       leaves it 0 for the whitening code to fill) and the bias starts at 0 (airbench's Conv
 *       zeroes its bias) and trains
 *   ConvLayer {in, out, kernel=3, stride=2, padding=1, bias=true}: conv + ReLU
 *   BnLayer {in, out, kernel=3, stride=2, padding=1}: conv (no bias) + ReLU + batch stats norm
 *   ResnetLayer {in, out (= in), kernel=3, stride=1, padding=1}: x + BnLayer(x)
 *   BatchNorm2d {features (= input channels), eps=1e-12, momentum=0.4}: PyTorch's
 *       nn.BatchNorm2d (momentum in PyTorch's sense: running = (1 - m) running + m batch);
 *       state dict `<name>.weight` (not trainable, 1: airbench freezes it), `<name>.bias`
 *       (trainable, 0, optimiser group NET_GROUP_NORM_BIAS), `<name>.running_mean` (0) and
 *       `<name>.running_var` (1), loadable into nn.BatchNorm2d (its int64 num_batches_tracked
 *       is left out: load with strict=False, or add it)
 *   MaxPool2d {kernel}: stride = kernel, no padding, floor mode (31 -> 15 for kernel 2)
 *   AdaptiveMaxPool2d {output_size: 1}   Dropout {p}   ReLU   GELU (exact erf form)
 *   Mul {scale}: y = scale * x   Flatten   LogSoftmax (last)
 * BatchNorm2d needs a name; GELU, MaxPool2d and Mul, like ReLU, may have one (they own no
 * tensors). Parameter counts (model_param_count, the summary) are PyTorch's parameters(),
 * frozen ones included: weights, biases, BnLayer a and m, BatchNorm2d weight and bias.
 * The loader computes every shape and refuses channel mismatches, naming file and layer. */
#ifndef MODEL_H
#define MODEL_H

#include <stdio.h>
#include <cjson/cJSON.h>
#include "nn/layer_types.h"

/* one value per line of nn/layer_types.h, then their count */
typedef enum ml_type {
#define X(type, name, kind, keys, named, ew) ML_##type,
    ML_TYPES(X)
#undef X
    ML_N_TYPES
} ml_type;

/* Conv2d "init"; "whiten" only on layer 0, in = 3, out = 2 * 3 * kernel^2, at most this many
 * values per patch (3 * kernel^2; train/whiten.c) */
#define MODEL_WHITEN_MAX_PATCH 256
/* Conv2d "init" */
typedef enum ml_init { ML_INIT_DEFAULT, ML_INIT_DIRAC, ML_INIT_WHITEN } ml_init;

typedef struct model_layer {
    ml_type type;
    char name[64];            /* PyTorch module path; "" for functional steps */
    int in, out;              /* channels (conv) or features (linear) */
    int kernel, stride, padding, bias;   /* kernel: also MaxPool2d's (its stride) */
    ml_init init;             /* Conv2d */
    float p;                  /* Dropout probability */
    double eps, momentum;     /* BatchNorm2d */
    double scale;             /* Mul */
    int in_ndim, out_ndim;    /* per-sample shapes: [C,H,W] (3) or [F] (1) */
    int in_shape[3], out_shape[3];
} model_layer;

typedef struct model_desc {
    char *path;               /* owned */
    char arch[64];
    int input[3];             /* [C,H,W] */
    int classes;
    int n_layers;
    model_layer *layers;      /* owned, n_layers entries */
} model_desc;

/* Reads and checks a model file; errors name the file and the layer. */
int model_load(model_desc *m, const char *path);
/* The same from a string; `where` names it in messages (tests). */
int model_parse(model_desc *m, const char *where, const char *json);
void model_free(model_desc *m);

const char *model_type_name(ml_type t);

/* Parameters of the whole model as PyTorch counts them (frozen ones included; the BnLayer and
 * BatchNorm2d statistics are buffers, not counted). */
long model_param_count(const model_desc *m);

/* learner.summary()-style rows: each module after its children (a BnLayer lists its
 * `<name>.conv` Conv2d first), input/output shapes with batch -1, `params` = parameters the
 * module owns itself (a BnLayer's a and m included, so the rows add up to total_params) and
 * `fastai_nb_params` = what fastai prints (weight + bias only: 0 for BnLayer). Caller frees. */
cJSON *model_summary_json(const model_desc *m);
void model_summary_print(const model_desc *m, FILE *f);

#endif
