/* train_setup.c: command line, data, stats, backend, net and loaders for the train and lrfind stages. */
#include "train/train_setup.h"
#include "train/whiten.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/select.h"
#include "core/errors.h"
#include "core/params.h"
#include "data/model_fit.h"

/* `stage: OPTION: what; usage: stage --model ... <outputs> [--threads N]` */
static int usage_error(const char *option, const char *what, const char *const *out_names, int n_out)
{
    char outs[256] = "";
    for (int k = 0; k < n_out; k++) {
        strcat(outs, " ");
        strcat(outs, out_names[k]);
        strcat(outs, " F");
    }
    return err_msg(option, "%s; usage: %s --model M.json --params P.json --data DIR --stats stats.json%s [--threads N]",
                   what, err_stage(), outs);
}

int train_setup_args(train_setup *s, int argc, char **argv, const char *const *out_names, int n_out)
{
    memset(s, 0, sizeof *s);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = NULL;
        if (!strcmp(o, "--model")) dst = &s->model_path;
        else if (!strcmp(o, "--params")) dst = &s->params_path;
        else if (!strcmp(o, "--data")) dst = &s->data_dir;
        else if (!strcmp(o, "--stats")) dst = &s->stats_path;
        for (int k = 0; k < n_out && !dst; k++)
            if (!strcmp(o, out_names[k])) dst = &s->out[k];
        if (!strcmp(o, "--threads")) {
            if (params_thread_arg(o, v, &s->threads) != C_OK) return C_ERR;
            i++;
            continue;
        }
        if (!dst) return usage_error(o, "unknown option", out_names, n_out);
        if (!v) return err_msg(o, "needs a value");
        *dst = v;
        i++;
    }
    const char *missing = !s->model_path ? "--model" : !s->params_path ? "--params" : !s->data_dir ? "--data"
                        : !s->stats_path ? "--stats" : NULL;
    for (int k = 0; k < n_out && !missing; k++)
        if (!s->out[k]) missing = out_names[k];
    if (missing) return usage_error(missing, "missing", out_names, n_out);
    return C_OK;
}

static int load_split(dataset *d, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
    return dataset_load(d, path);
}

int train_setup_rules(train_setup *s)
{
    const train_params *p = &s->p;
    /* the loss and the lookahead / freeze names; the optimiser's groups are set per phase by the trainer */
    if ((p->label_smoothing != 0 || p->loss_sum) && net_set_loss(s->net, (float)p->label_smoothing, p->loss_sum) != C_OK)
        return C_ERR;
    for (int i = 0; i < p->n_freeze; i++)
        if (net_tensor_find(s->net, p->freeze[i].tensor) < 0)
            return err_msg(s->params_path, "freeze[%d].tensor: the model has no tensor \"%s\"", i, p->freeze[i].tensor);
    return C_OK;
}

int train_setup_load(train_setup *s)
{
    if (train_params_load(s->params_path, &s->p) != C_OK) return C_ERR;
    if (norm_stats_load(s->stats_path, &s->ns, s->mean, s->std) != C_OK) return C_ERR;
    if (backend_select_ex(&s->be, s->p.device, s->threads, s->p.deterministic) != C_OK) return C_ERR;
    s->have_be = 1;
    if (load_split(&s->trn_ds, s->data_dir, "train") != C_OK) return C_ERR;
    if (s->need_test && load_split(&s->val_ds, s->data_dir, "test") != C_OK) return C_ERR;
    /* before the net's activations are allocated for the model's shape */
    const dataset *ds[2] = { &s->trn_ds, &s->val_ds };
    if (model_fit_data(s->model_path, s->p.batch_size, ds, 1 + s->need_test) != C_OK ||
        model_fit_batch(s->params_path, s->p.batch_size, &s->trn_ds) != C_OK)
        return C_ERR;
    if (net_load(&s->net, s->model_path, &s->be, s->p.batch_size) != C_OK) return C_ERR;
    if (s->p.pad > s->trn_ds.h || s->p.pad > s->trn_ds.w)
        return err_msg(s->params_path, "augment.pad: %d is larger than the %dx%d images", s->p.pad, s->trn_ds.h,
                       s->trn_ds.w);
    /* torch 'reflect' mirrors without the edge: at most size - 1 pixels */
    if (s->p.pad_mode == AUGMENT_PAD_REFLECT && (s->p.pad >= s->trn_ds.h || s->p.pad >= s->trn_ds.w))
        return err_msg(s->params_path, "augment.pad: %d needs images above %dx%d for pad_mode \"reflect\"", s->p.pad,
                       s->p.pad, s->p.pad);
    if (net_init_params(s->net, s->p.seed) != C_OK) return C_ERR;
    /* airbench's whitening conv: its frozen weights come from the data (a resumed run's state
     * then overwrites every tensor anyway) */
    if (whiten_init(s->net, &s->trn_ds, &s->ns, WHITEN_IMAGES) != C_OK) return C_ERR;
    if (train_setup_rules(s) != C_OK) return C_ERR;
    augment_cfg aug = { .pad = s->p.pad, .flip = s->p.flip, .seed = s->p.seed, .pad_mode = s->p.pad_mode,
                        .crop = s->p.crop, .flip_mode = s->p.flip_mode };
    if (loader_init(&s->trn, &s->trn_ds, &s->ns, s->p.batch_size, 1, &aug, s->p.seed, s->p.limit_batches) != C_OK)
        return C_ERR;
    loader_set_drop_last(&s->trn, s->p.drop_last);
    s->have_trn = 1;
    if (s->need_test) {
        if (loader_init(&s->val, &s->val_ds, &s->ns, s->p.batch_size, 0, NULL, s->p.seed, 0) != C_OK) return C_ERR;
        s->have_val = 1;
    }
    /* On the GPU the data stays on the device: batches are gathered, augmented and normalised
     * there, straight into the net's input (the same pixels as the host loader). */
    if (s->be.iface->augment_batch) {
        tensor *x = net_input(s->net), *y = net_labels(s->net);
        if (loader_attach_device(&s->trn, &s->be, x, y) != C_OK) return C_ERR;
        if (s->need_test && loader_attach_device(&s->val, &s->be, x, y) != C_OK) return C_ERR;
    }
    return C_OK;
}

void train_setup_free(train_setup *s)
{
    if (s->have_val) loader_free(&s->val);
    if (s->have_trn) loader_free(&s->trn);
    if (s->net) net_free(s->net);
    if (s->have_be) backend_free(&s->be);
    dataset_free(&s->trn_ds);
    dataset_free(&s->val_ds);
    memset(s, 0, sizeof *s);
}
