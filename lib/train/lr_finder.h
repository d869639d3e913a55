/* lr_finder.h: fastai's learn.lr_find() (fastai-semantics.md §5).
 *
 * From the current weights, a new SGD (momentum from params, wd = lr_find.wd, default 0) runs at
 * most one epoch of the shuffled, augmented training set with lr_t = start*(end/start)^(t/nb);
 * after each batch the debiased 0.98 smoothed loss is checked: NaN or > 4*best stops (that batch
 * is not recorded; best is tracked from t = 11). The weights are restored afterwards. */
#ifndef LRFIND_H
#define LRFIND_H

#include "data/loader.h"
#include "nn/net.h"
#include "train/train_params.h"

typedef struct lrfind_result {
    long nb;               /* the schedule's nb: batches of one epoch */
    int stopped_early;
    long n;                /* recorded iterations */
    double *lr, *loss;     /* [n] (owned) */
} lrfind_result;

/* show_progress: 1 for a progress bar / lines on stderr. */
int lrfind_run(net *n, const train_params *p, loader *trn, int show_progress, lrfind_result *r);
void lrfind_result_free(lrfind_result *r);
cJSON *lrfind_json(const lrfind_result *r, const train_params *p, const char *arch);

#endif
