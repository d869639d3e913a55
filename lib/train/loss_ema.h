/* loss_ema.h: the smoothed training loss fastai prints and the lr finder's stop rule reads
 * (fastai-semantics.md §4.3). */
#ifndef LOSS_EMA_H
#define LOSS_EMA_H

/* fastai's smoothed loss: avg = 0.98*avg + 0.02*loss, reported as avg/(1-0.98^n). */
typedef struct loss_ema {
    double mom, avg;
    long n;
} loss_ema;

void loss_ema_init(loss_ema *e);                     /* mom 0.98, empty */
double loss_ema_update(loss_ema *e, double loss);    /* adds a batch loss, returns the debiased value */
double loss_ema_value(const loss_ema *e);            /* debiased value (0 when empty) */

#endif
