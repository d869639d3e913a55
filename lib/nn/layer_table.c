/* layer_table.c: ml_type -> layer kind, from nn/layer_types.h (each kind is defined in its own
 * file under nn/layers/), and the builds the kinds share. */
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

static int build_out(net *n, layer *L, tensor_layout lay)
{
    const model_layer *ml = L->ml;
    return net_alloc_act(n, &L->y, ml->out_ndim, ml->out_shape, lay) ||
           net_alloc_grad(n, &L->dy, ml->out_ndim, ml->out_shape, lay) ? C_ERR : C_OK;
}

int layer_build_same(net *n, layer *L, const tensor *x, const tensor *dx_in)
{
    (void)dx_in;
    return build_out(n, L, x->layout);
}

int layer_build_plain(net *n, layer *L, const tensor *x, const tensor *dx_in)
{
    (void)x; (void)dx_in;
    return build_out(n, L, TL_PLAIN);
}
