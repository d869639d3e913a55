/* train_setup.h: what the train and lrfind stages share: command-line options, loading the
 * params, model, data and stats, and building the backend, net and loaders. */
#ifndef TRAIN_SETUP_H
#define TRAIN_SETUP_H

#include "backend/backend.h"
#include "data/dataset.h"
#include "data/norm_stats.h"
#include "data/loader.h"
#include "nn/net.h"
#include "train/train_params.h"

typedef struct train_setup {
    /* options (borrowed from argv) */
    const char *model_path, *params_path, *data_dir, *stats_path;
    const char *out[4];         /* stage-specific outputs, in the order of the option names */
    int threads;                /* 0 = all cores */
    int need_test;              /* the stage validates on the test set */

    /* loaded state (owned; train_setup_free) */
    train_params p;
    norm_stats ns;
    double mean[3], std[3];
    dataset trn_ds, val_ds;
    backend be;
    net *net;
    loader trn, val;
    int have_be, have_trn, have_val;
} train_setup;

/* Parses `--model M --params P --data DIR --stats S [--threads N]` plus the stage's output
 * options out_names[0..n_out) (each required), e.g. {"--ckpt", "--metrics", "--summary"}.
 * Prints the usage line and returns C_ERR on a bad command line. */
int train_setup_args(train_setup *s, int argc, char **argv, const char *const *out_names, int n_out);

/* Loads params, stats, data and model; initialises the weights from the seed (and a whitening
 * conv's from the first WHITEN_IMAGES training images); starts loaders. */
int train_setup_load(train_setup *s);
void train_setup_free(train_setup *s);

/* The net's training rules from the params (train_setup_load calls it): the loss, and the
 * check that every "freeze" entry names a tensor of the model. */
int train_setup_rules(train_setup *s);

#endif
