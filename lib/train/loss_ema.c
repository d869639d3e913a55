/* loss_ema.c: fastai's debiased exponential moving average of the batch losses. */
#include "train/loss_ema.h"

#include <math.h>

void loss_ema_init(loss_ema *e)
{
    e->mom = 0.98;
    e->avg = 0;
    e->n = 0;
}

double loss_ema_update(loss_ema *e, double loss)
{
    e->n++;
    e->avg = e->avg * e->mom + loss * (1 - e->mom);
    return loss_ema_value(e);
}

double loss_ema_value(const loss_ema *e)
{
    return e->n ? e->avg / (1 - pow(e->mom, (double)e->n)) : 0;
}
