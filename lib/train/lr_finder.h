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

/* show_progress: 1 for a progress bar / lines on stderr. A stop signal (signals_graceful) ends
 * the sweep after the current iteration with r->interrupted set (the curve is then incomplete:
 * the stage writes nothing). */
int lr_finder_run(net *n, const train_params *p, loader *trn, int show_progress, lr_finder_result *r);
void lr_finder_result_free(lr_finder_result *r);
cJSON *lr_finder_json(const lr_finder_result *r, const train_params *p, const char *arch);

#endif
