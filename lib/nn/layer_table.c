/* layer_table.c: ml_type -> layer kind, from nn/layer_types.h (each kind is defined in its own
 * file under nn/layers/). */
#include "nn/layer.h"

#define X(type, name, kind, keys, named, ew) extern const layer_kind layer_kind_##kind;
ML_TYPES(X)
#undef X

static const layer_kind *const kinds[ML_N_TYPES] = {
#define X(type, name, kind, keys, named, ew) [ML_##type] = &layer_kind_##kind,
    ML_TYPES(X)
#undef X
};

const layer_kind *layer_kind_of(ml_type t)
{
    return (int)t >= 0 && (int)t < ML_N_TYPES ? kinds[t] : NULL;
}
