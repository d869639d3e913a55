/* train_params.h: params/<arch>.json for the train and lrfind stages, strictly validated.
 *
 * {
 *   "seed": 0, "batch_size": 256, "momentum": 0.9,
 *   "augment": {"pad": 4, "flip": true},
 *   "lr_find": {"start_lr": 1e-5, "end_lr": 10, "wd": 0, "limit_batches": 0},
 *   "phases": [{"lr": 1e-2, "n_cycle": 2, "wd": 1e-5},
 *              {"lr": 1e-2, "n_cycle": 3, "cycle_len": 1, "cycle_mult": 2, "wd": 1e-5}, ...],
 *   "limit_batches": 4,         (optional: at most this many training batches per epoch; quick;
 *                                lr_find has its own, default: the whole epoch)
 *   "device": "auto"            (optional: "auto", "cpu" or "cuda"; the DEVICE variable overrides)
 *   "deterministic": false      (optional: GPU runs give byte-identical checkpoints when true)
 *   "state_every": 50           (optional: train also saves its resumable state every this many
 *                                iterations; default: only after each epoch)
 * }
 * One phase = one fastai fit() call. Every error names the file and the key path. */
#ifndef TRAIN_PARAMS_H
#define TRAIN_PARAMS_H

#include <stdint.h>

#include "train/schedule.h"

#define TRAIN_PARAMS_MAX_PHASES 16

typedef struct train_params {
    uint64_t seed;
    int batch_size;
    double momentum;
    int pad, flip;
    double lrf_start, lrf_end, lrf_wd;
    long lrf_limit;         /* lr_find.limit_batches: 0 = one whole epoch */
    int n_phases;
    fit_phase phases[TRAIN_PARAMS_MAX_PHASES];
    long limit_batches;     /* 0 = whole epochs */
    long state_every;       /* iterations between state saves within an epoch (0 = epoch ends only) */
    char device[8];         /* "auto" (default), "cpu" or "cuda"; env DEVICE overrides */
    int deterministic;      /* 1: deterministic cuDNN algorithms and reductions (the CPU always is) */
} train_params;

int train_params_load(const char *path, train_params *p);

/* Total epochs over all phases. */
long train_params_epochs(const train_params *p);

#endif
