/* checkpoint.c: a net's tensors and the training metadata as one safetensors file (see checkpoint.h). */
#include "io/checkpoint.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "io/safetensors.h"

int checkpoint_save(net *n, const char *path, const ckpt_meta *meta)
{
    int nt = net_n_tensors(n);
    float **bufs = xcalloc((size_t)nt, sizeof *bufs);
    safetensors_writer w;
    safetensors_writer_init(&w);
    for (int i = 0; i < nt; i++) {
        const char *name;
        int ndim, shape[4], trainable;
        net_tensor_info(n, i, &name, &ndim, shape, &trainable);
        int64_t sh[4];
        for (int k = 0; k < ndim; k++) sh[k] = shape[k];
        bufs[i] = xmalloc(sizeof(float) * (net_tensor_numel(n, i) ? net_tensor_numel(n, i) : 1));
        if (net_tensor_get(n, i, bufs[i]) != C_OK) {
            safetensors_writer_free(&w);
            for (int j = 0; j <= i; j++) free(bufs[j]);
            free(bufs);
            return C_ERR;
        }
        safetensors_writer_add(&w, name, SAFETENSORS_F32, ndim, sh, bufs[i]);
    }
    char v[256];
    safetensors_writer_meta(&w, "arch", meta->arch);
    snprintf(v, sizeof v, "%" PRIu64, meta->seed);
    safetensors_writer_meta(&w, "seed", v);
    snprintf(v, sizeof v, "%ld", meta->epochs);
    safetensors_writer_meta(&w, "epochs", v);
    snprintf(v, sizeof v, "%.17g,%.17g,%.17g", meta->mean[0], meta->mean[1], meta->mean[2]);
    safetensors_writer_meta(&w, "mean", v);
    snprintf(v, sizeof v, "%.17g,%.17g,%.17g", meta->std[0], meta->std[1], meta->std[2]);
    safetensors_writer_meta(&w, "std", v);
    safetensors_writer_meta(&w, "params_hash", meta->params_hash);
    safetensors_writer_meta(&w, "model_hash", meta->model_hash);
    int rc = safetensors_writer_save(&w, path);
    safetensors_writer_free(&w);
    for (int i = 0; i < nt; i++) free(bufs[i]);
    free(bufs);
    return rc;
}

/* Metadata `key` as three comma-separated finite numbers (positive ones for std): what
 * checkpoint_save writes. Missing, malformed or non-finite is an error naming the key. */
static int parse_triple(const safetensors_file *f, const char *key, int positive, double out[3])
{
    const char *s = safetensors_meta(f, key);
    if (!s) return err_msg(f->path, "metadata \"%s\": missing (the normalisation the weights were trained with)", key);
    const char *p = s;
    for (int c = 0; c < 3; c++) {
        char *end;
        out[c] = strtod(p, &end);
        int sep_ok = c < 2 ? *end == ',' : *end == '\0';
        if (end == p || !sep_ok || !isfinite(out[c]) || (positive && !(out[c] > 0)))
            return err_msg(f->path, "metadata \"%s\": \"%.40s\" is not three comma-separated finite%s numbers", key,
                           s, positive ? " positive" : "");
        p = end + 1;
    }
    return C_OK;
}

/* First element of a F32 tensor that is NaN or infinite, or -1. */
static long first_nonfinite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return (long)i;
    return -1;
}

int checkpoint_load(net *n, const char *path, ckpt_meta *meta)
{
    safetensors_file f;
    if (safetensors_read(&f, path) != C_OK) return C_ERR;
    int nt = net_n_tensors(n), rc = C_ERR;
    if (f.n_tensors != nt) {
        err_msg(path, "holds %d tensors, the model has %d", f.n_tensors, nt);
        goto out;
    }
    for (int i = 0; i < nt; i++) {
        const char *name;
        int ndim, shape[4], trainable;
        net_tensor_info(n, i, &name, &ndim, shape, &trainable);
        const safetensors_tensor *t = safetensors_expect(&f, name, SAFETENSORS_F32, ndim);
        if (!t) goto out;
        for (int k = 0; k < ndim; k++)
            if (t->shape[k] != shape[k]) {
                err_msg(path, "%s: shape dimension %d is %lld, the model needs %d", name, k,
                        (long long)t->shape[k], shape[k]);
                goto out;
            }
        /* NaN weights would evaluate to NaN probabilities, which no metric can score */
        long bad = first_nonfinite(t->data, t->nbytes / sizeof(float));
        if (bad >= 0) {
            err_msg(path, "%s: element %ld is %g: the weights are not finite", name, bad,
                    (double)((const float *)t->data)[bad]);
            goto out;
        }
        if (net_tensor_set(n, i, t->data) != C_OK) goto out;
    }
    if (meta) {
        memset(meta, 0, sizeof *meta);
        meta->arch = NULL;   /* the string dies with f; callers compare via net_model() */
        const char *s;
        if ((s = safetensors_meta(&f, "seed"))) meta->seed = strtoull(s, NULL, 10);
        if ((s = safetensors_meta(&f, "epochs"))) meta->epochs = strtol(s, NULL, 10);
        if (parse_triple(&f, "mean", 0, meta->mean) != C_OK || parse_triple(&f, "std", 1, meta->std) != C_OK)
            goto out;
        if ((s = safetensors_meta(&f, "params_hash"))) snprintf(meta->params_hash, sizeof meta->params_hash, "%s", s);
        if ((s = safetensors_meta(&f, "model_hash"))) snprintf(meta->model_hash, sizeof meta->model_hash, "%s", s);
        const char *arch = safetensors_meta(&f, "arch");
        if (arch && strcmp(arch, net_model(n)->arch) != 0) {
            err_msg(path, "arch: checkpoint is for '%s', the model is '%s'", arch, net_model(n)->arch);
            goto out;
        }
    }
    rc = C_OK;
out:
    safetensors_free(&f);
    return rc;
}
