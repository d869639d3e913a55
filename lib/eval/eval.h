/* eval.h: the evaluate stage's work (fastai-semantics.md §6, learn.TTA()).
 *
 * From a checkpoint alone: one clean pass over the test images (normalisation only) and n_aug
 * passes through the training transform (reflect-pad h/8, random flip, random crop; draws from
 * rng_block(seed, RNG_AUGMENT, AUGMENT_PASS_TTA + k, image)), all in eval mode. The TTA
 * prediction is the mean of the probabilities of the 1 + n_aug passes with equal weight; the plain
 * prediction is the clean pass alone. Writes <arch>.eval.json and <arch>.probs.safetensors
 * (docs/artifacts.md).
 * With "tta": "flip_translate" in the params file, the TTA prediction is airbench94's level 2
 * instead: six fixed views, weighted (eval/tta.h); the clean pass is the same. */
#ifndef EVAL_H
#define EVAL_H

typedef struct eval_opts {
    const char *model_path;    /* models/<arch>.json */
    const char *ckpt_path;     /* $(ART)/<arch>.ckpt */
    const char *params_path;   /* $(PARAMS)/eval.json: {"n_aug", "batch_size", "seed", "tta"} */
    const char *data_dir;      /* holds test.safetensors */
    const char *stats_path;    /* stats.json (normalisation) */
    const char *eval_out;      /* <arch>.eval.json */
    const char *probs_out;     /* <arch>.probs.safetensors */
    int threads;               /* 0 = all cores */
} eval_opts;

typedef enum eval_tta { EVAL_TTA_FASTAI, EVAL_TTA_FLIP_TRANSLATE } eval_tta;

typedef struct eval_params {
    eval_tta tta;              /* "tta": "fastai" (default) or "flip_translate" (eval/tta.h) */
    int n_aug, batch_size;     /* n_aug: fastai's random passes; 5 (the views beside the clean one) with flip_translate */
    unsigned long long seed;
} eval_params;

/* Strict: unknown keys, wrong types, out-of-range values and missing keys are errors; n_aug is
 * required with "tta": "fastai" and refused with "flip_translate". */
int eval_params_load(const char *path, eval_params *p);

/* Parses `--model M --ckpt C --params P --data DIR --stats S --eval OUT.json --probs OUT.safetensors
 * [--threads N]`. */
int eval_args(eval_opts *o, int argc, char **argv);

int eval_run(const eval_opts *o);

#endif
