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
 *   Linear {in, out, bias}            Conv2d {in, out, kernel, stride, padding, bias}
 *   ConvLayer {in, out, kernel=3, stride=2, padding=1, bias=true}: conv + ReLU
 *   BnLayer {in, out, kernel=3, stride=2, padding=1}: conv (no bias) + ReLU + batch stats norm
 *   ResnetLayer {in, out (= in), kernel=3, stride=1, padding=1}: x + BnLayer(x)
 *   AdaptiveMaxPool2d {output_size: 1}   Dropout {p}   ReLU   Flatten   LogSoftmax (last)
 * The loader computes every shape and refuses channel mismatches, naming file and layer. */
#ifndef MODEL_H
#define MODEL_H

#include <stdio.h>
#include <cjson/cJSON.h>

typedef enum ml_type {
    ML_LINEAR, ML_CONV2D, ML_CONVLAYER, ML_BNLAYER, ML_RESNETLAYER,
    ML_MAXPOOL, ML_FLATTEN, ML_DROPOUT, ML_RELU, ML_LOGSOFTMAX
} ml_type;
enum { ML_N_TYPES = ML_LOGSOFTMAX + 1 };   /* the last type + 1 */

typedef struct model_layer {
    ml_type type;
    char name[64];            /* PyTorch module path; "" for functional steps */
    int in, out;              /* channels (conv) or features (linear) */
    int kernel, stride, padding, bias;
    float p;                  /* Dropout probability */
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

/* Parameter tensors (not counting BnLayer statistics) of the whole model. */
long model_param_count(const model_desc *m);

/* learner.summary()-style rows: each module after its children (a BnLayer lists its
 * `<name>.conv` Conv2d first), input/output shapes with batch -1, `params` = parameters the
 * module owns itself (a BnLayer's a and m included, so the rows add up to total_params) and
 * `fastai_nb_params` = what fastai prints (weight + bias only: 0 for BnLayer). Caller frees. */
cJSON *model_summary_json(const model_desc *m);
void model_summary_print(const model_desc *m, FILE *f);

#endif
