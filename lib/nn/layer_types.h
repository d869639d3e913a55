/* layer_types.h: the list of layer types, one line each. Everything that names the types comes
 * from it: ml_type and ML_N_TYPES (model.h), the model file's type names, the keys each type
 * accepts and which types need a "name" (model.c), the layer table (layer_table.c) and the
 * whole-net check's references (tests/unit/test_net.c).
 *
 * X(TYPE, "name", kind, keys, named, ew):
 *   TYPE   the ml_type ML_<TYPE>
 *   name   the model file's "type" (model_type_name)
 *   kind   its layer kind, layer_kind_<kind>, defined in its file under nn/layers/
 *   keys   the keys it accepts besides "type" and "name"; model.c's parse_layer reads them, and a
 *          type without a case there keeps its input's shape (an activation)
 *   named  1: it owns state-dict tensors, so it needs a "name" (the PyTorch module path);
 *          0: the name is optional
 *   ew     for an elementwise type, the op whose in-place double reference ref_<ew>(x, n)
 *          (tests/ops/<ew>.c) is the layer's reference in test_net.c; none otherwise */
#ifndef LAYER_TYPES_H
#define LAYER_TYPES_H

#define ML_TYPES(X) \
    X(LINEAR,      "Linear",            linear,      " in out bias ",                              1, none) \
    X(CONV2D,      "Conv2d",            conv2d,      " in out kernel stride padding bias init ",   1, none) \
    X(CONVLAYER,   "ConvLayer",         convlayer,   " in out kernel stride padding bias ",        1, none) \
    X(BNLAYER,     "BnLayer",           bnlayer,     " in out kernel stride padding bias ",        1, none) \
    X(RESNETLAYER, "ResnetLayer",       resnetlayer, " in out kernel stride padding bias ",        1, none) \
    X(MAXPOOL,     "AdaptiveMaxPool2d", maxpool,     " output_size ",                              0, none) \
    X(FLATTEN,     "Flatten",           flatten,     " ",                                          0, none) \
    X(DROPOUT,     "Dropout",           dropout,     " p ",                                        1, none) \
    X(RELU,        "ReLU",              relu,        " ",                                          0, relu) \
    X(LOGSOFTMAX,  "LogSoftmax",        logsoftmax,  " ",                                          0, none) \
    X(GELU,        "GELU",              gelu,        " ",                                          0, gelu) \
    X(BATCHNORM2D, "BatchNorm2d",       batchnorm2d, " features eps momentum ",                    1, none) \
    X(MAXPOOL2D,   "MaxPool2d",         maxpool2d,   " kernel ",                                   0, none) \
    X(MUL,         "Mul",               mul,         " scale ",                                    0, none)

#endif
