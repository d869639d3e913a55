/* layer_table.c: ml_type -> layer kind (each kind is defined in its own file under nn/layers/). */
#include "nn/layer.h"

extern const layer_kind layer_kind_linear, layer_kind_conv2d, layer_kind_convlayer, layer_kind_bnlayer,
    layer_kind_resnetlayer, layer_kind_maxpool, layer_kind_flatten, layer_kind_dropout, layer_kind_relu,
    layer_kind_logsoftmax, layer_kind_gelu, layer_kind_batchnorm2d, layer_kind_maxpool2d, layer_kind_mul;

static const layer_kind *const kinds[ML_N_TYPES] = {
    [ML_LINEAR] = &layer_kind_linear,
    [ML_CONV2D] = &layer_kind_conv2d,
    [ML_CONVLAYER] = &layer_kind_convlayer,
    [ML_BNLAYER] = &layer_kind_bnlayer,
    [ML_RESNETLAYER] = &layer_kind_resnetlayer,
    [ML_MAXPOOL] = &layer_kind_maxpool,
    [ML_FLATTEN] = &layer_kind_flatten,
    [ML_DROPOUT] = &layer_kind_dropout,
    [ML_RELU] = &layer_kind_relu,
    [ML_LOGSOFTMAX] = &layer_kind_logsoftmax,
    [ML_GELU] = &layer_kind_gelu,
    [ML_BATCHNORM2D] = &layer_kind_batchnorm2d,
    [ML_MAXPOOL2D] = &layer_kind_maxpool2d,
    [ML_MUL] = &layer_kind_mul,
};

const layer_kind *layer_kind_of(ml_type t)
{
    return (int)t >= 0 && (int)t < ML_N_TYPES ? kinds[t] : NULL;
}
