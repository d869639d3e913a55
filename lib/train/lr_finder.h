/* lr_finder.h: fastai's learn.lr_find() (fastai-semantics.md §5).
 *
 * From the current weights, a new SGD (momentum from params, wd = lr_find.wd, default 0) runs at
 * most one epoch of the shuffled, augmented training set with lr_t = start*(end/start)^(t/nb);
 * after each batch the debiased 0.98 smoothed loss is checked: NaN or > 4*best stops (that batch
 * is not recorded; best is tracked from t = 11). The weights are restored afterwards. */
#ifndef LR_FINDER_H
#define LR_FINDER_H

#include "data/loader.h"
#include "nn/net.h"
#include "train/loss_ema.h"
#include "train/train_params.h"

typedef struct lr_finder_result {
    long nb;               /* the schedule's nb: batches of one epoch */
    int stopped_early;
    long n;                /* recorded iterations */
    double *lr, *loss;     /* [n] (owned) */
    int interrupted;       /* the stop signal (core/signals.h) that ended the sweep early, or 0 */
} lr_finder_result;

/* LR_Finder.on_batch_end: best starts at 1e9. */
typedef struct lr_finder_rule {
    double best;
} lr_finder_rule;

void lr_finder_rule_init(lr_finder_rule *r);
/* smoothed = the debiased smoothed loss after batch t. Returns 1 to stop (NaN, or > 4*best:
 * this batch is not recorded), else updates best (only when t > 10) and returns 0 (record it). */
int lr_finder_rule_step(lr_finder_rule *r, long t, double smoothed);

/* Where a sweep stands between two iterations (all iterations so far were recorded). */
typedef struct lr_finder_pos {
    long t;                /* iterations done */
    loss_ema ema;
    double best;           /* lr_finder_rule.best */
    long n;                /* recorded so far (= t) */
    double *lr, *loss;     /* [nb]: the result's arrays (borrowed) */
} lr_finder_pos;

/* Saving and resuming a sweep (train/train_state.h does the file). resume returns 1 after filling
 * the net and p to continue from, 0 to start afresh; save is called every `every` iterations
 * (0: never) and when a stop signal has arrived. */
typedef struct lr_finder_io {
    int (*save)(void *ctx, net *n, const lr_finder_pos *p);
    int (*resume)(void *ctx, net *n, lr_finder_pos *p, long nb);
    void *ctx;
    long every;
} lr_finder_io;

/* show_progress: 1 for a progress bar / lines on stderr. A stop signal (signals_graceful) ends
 * the sweep after the current iteration with r->interrupted set (the curve is then incomplete:
 * the stage writes nothing but the state io saves). io may be NULL. */
int lr_finder_run(net *n, const train_params *p, loader *trn, int show_progress, lr_finder_result *r);
int lr_finder_run_io(net *n, const train_params *p, loader *trn, int show_progress, const lr_finder_io *io,
                     lr_finder_result *r);
void lr_finder_result_free(lr_finder_result *r);
cJSON *lr_finder_json(const lr_finder_result *r, const train_params *p, const char *arch);

#endif
