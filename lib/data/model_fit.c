/* model_fit.c: a model file against the data and the batch size (see model_fit.h). */
#include "data/model_fit.h"

#include "core/errors.h"
#include "nn/model.h"

static long long layer_values(int ndim, const int *shape)
{
    long long v = 1;
    for (int i = 0; i < ndim; i++) v *= shape[i];
    return v;
}

int model_fit_data(const char *model_path, int batch_size, const dataset *const *ds, int n)
{
    model_desc m;
    if (model_load(&m, model_path) != C_OK) return C_ERR;
    int rc = C_OK;
    for (int k = 0; k < n && rc == C_OK; k++) {
        if (m.input[0] != 3 || ds[k]->h != m.input[1] || ds[k]->w != m.input[2])
            rc = err_msg(ds[k]->file.path, "images are %dx%dx3, model %s takes %dx%dx%d", ds[k]->h, ds[k]->w,
                         m.path, m.input[1], m.input[2], m.input[0]);
        else if (ds[k]->n_classes > m.classes)
            rc = err_msg(ds[k]->file.path, "%d classes, model %s has %d outputs", ds[k]->n_classes, m.path,
                         m.classes);
    }
    /* model_load keeps every per-image size below 2^28, so the products are exact */
    long long in = layer_values(3, m.input) * batch_size;
    if (rc == C_OK && in > MODEL_FIT_MAX_BATCH_VALUES)
        rc = err_msg(m.path, "input: %lld values per image x batch_size %d = %lld, more than %lld",
                     layer_values(3, m.input), batch_size, in, MODEL_FIT_MAX_BATCH_VALUES);
    for (int i = 0; i < m.n_layers && rc == C_OK; i++) {
        const model_layer *L = &m.layers[i];
        long long v = layer_values(L->out_ndim, L->out_shape) * batch_size;
        if (v > MODEL_FIT_MAX_BATCH_VALUES)
            rc = err_msg(m.path, "layers[%d]%s%s%s: %lld output values per image x batch_size %d = %lld, more than %lld",
                         i, L->name[0] ? " (" : "", L->name, L->name[0] ? ")" : "",
                         layer_values(L->out_ndim, L->out_shape), batch_size, v, MODEL_FIT_MAX_BATCH_VALUES);
    }
    model_free(&m);
    return rc;
}

int model_fit_batch(const char *params_path, int batch_size, const dataset *trn)
{
    if (batch_size > trn->n)
        return err_msg(params_path, "batch_size: %d is more than the %d training images of %s", batch_size, trn->n,
                       trn->file.path);
    return C_OK;
}
