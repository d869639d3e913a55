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
 * One phase = one fastai fit() call. Every error names the file and the key path.
 *
 * airbench's training rules, every key optional (absent: fastai's behaviour, byte for byte):
 * {
 *   "nesterov": true,           torch SGD(nesterov=True) (default false)
 *   "bias_lr_scale": 64,        lr multiplier of the BatchNorm biases' param group
 *                               (net_tensor_group NET_GROUP_NORM_BIAS; default 1)
 *   "loss": {"label_smoothing": 0.2, "reduction": "sum"},   (defaults 0 and "mean"; validation
 *                               loss stays the batch-mean NLL)
 *   "drop_last": true,          training epochs leave out the partial last batch (default false)
 *   "augment": {"pad": 2, "flip": true, "pad_mode": "reflect", "crop": "all",
 *               "flip_mode": "alternate"},
 *                               pad_mode "reflect_edge" (default: fastai, cv2.BORDER_REFLECT) or
 *                               "reflect" (torch F.pad 'reflect'); crop "fastai" (offsets
 *                               0..2*pad-1) or "all" (0..2*pad, airbench's translate); flip_mode
 *                               "random" or "alternate" (airbench: each image's bit XOR epoch odd)
 *   "lookahead": {"every": 5, "decay": 0.95, "power": 3},
 *                               after every `every`-th step s of a phase of T steps: EMA of the
 *                               whole state dict with decay decay^every * (s/T)^power, copied back
 *                               into the net; after the phase's last step decay 1 (the net
 *                               becomes the EMA)
 *   "freeze": [{"tensor": "0.bias", "after_epochs": 3}],
 *                               that state-dict tensor trains in the run's epochs 0..after-1 only
 *                               (after below the schedule's epoch count; each tensor once)
 *   "phases": [{"lr": 11.5, "wd": 0.0153, "epochs": 9.9, "units": "kilostep",
 *               "wd_mode": "decoupled",
 *               "schedule": {"type": "triangle", "start": 0.2, "peak": 0.23, "end": 0.07}}]
 *                               epochs: fractional epochs, ceil(nb * epochs) steps (instead of
 *                               n_cycle / cycle_len); units "kilostep": lr and wd are airbench's
 *                               per-1024-examples numbers, scaled at load by
 *                               s = 1024 * (1 + 1/(1 - momentum)): lr / s and wd * batch_size / s
 *                               (a key, so the file holds the published hyperparameters and stays
 *                               right when batch_size or momentum change); wd_mode "decoupled":
 *                               each group's coupled decay is wd / lr_group (torch's coupled SGD
 *                               with weight_decay = wd / lr, so the decay applied is
 *                               lr_factor * wd * p); schedule "triangle": the lr factor rises
 *                               linearly from start to 1 over (long)(peak * steps) steps, then
 *                               falls linearly to end (airbench's get_lr).
 * } */
#ifndef TRAIN_PARAMS_H
#define TRAIN_PARAMS_H

#include <stdint.h>

#include "train/schedule.h"

#define TRAIN_PARAMS_MAX_PHASES 16
#define TRAIN_PARAMS_MAX_FREEZE 8

/* One "freeze" entry: the named state-dict tensor stops training at epoch after_epochs. */
typedef struct train_freeze {
    char tensor[96];
    long after_epochs;
} train_freeze;

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
    /* airbench's rules (see above; zero = fastai's) */
    int nesterov;
    double bias_lr_scale;   /* 1 = none */
    double label_smoothing;
    int loss_sum;           /* 1: reduction "sum" */
    int drop_last;
    int pad_mode, crop, flip_mode;      /* AUGMENT_PAD_*, AUGMENT_CROP_*, AUGMENT_FLIP_* */
    int la_every;           /* lookahead: 0 = off */
    double la_decay;
    int la_power;
    int n_freeze;
    train_freeze freeze[TRAIN_PARAMS_MAX_FREEZE];
} train_params;

/* 1 when the optimiser needs net_set_sgd_rule (Nesterov, a group lr scale or decoupled decay). */
int train_params_sgd_rule(const train_params *p);

int train_params_load(const char *path, train_params *p);

/* Total epochs over all phases. */
long train_params_epochs(const train_params *p);

#endif
