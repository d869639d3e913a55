/* schedule.c: fastai's learning-rate schedules (see schedule.h). */
#include "train/schedule.h"

#include <math.h>

long schedule_sum_geom(double a, double r, int n)
{
    /* in double, capped before the conversion: 20^16 epochs would not fit in a long */
    double e = r == 1 ? a * n : ceil(a * (1 - pow(r, n)) / (1 - r));
    return e <= (double)SCHEDULE_MAX_EPOCHS ? (long)e : SCHEDULE_MAX_EPOCHS;
}

long schedule_epochs(const fit_phase *p)
{
    return schedule_sum_geom(p->cycle_len ? p->cycle_len : 1, p->cycle_mult, p->n_cycle);
}

double schedule_lr(const fit_phase *p, long nb, long t)
{
    if (!p->cycle_len) return p->lr;
    double len = (double)nb * p->cycle_len;        /* nb0: the first cycle, in batches */
    if ((double)t < len / 20) return p->lr / 100;  /* `iteration < nb/20` with nb = nb0 */
    double start = 0;
    while ((double)t >= start + len) {
        start += len;
        len *= p->cycle_mult;
    }
    double pos = (double)t - start;
    return p->lr / 2 * (cos(M_PI * pos / len) + 1);
}

double schedule_lrfind_lr(double start_lr, double end_lr, long nb, long t)
{
    double mult = pow(end_lr / start_lr, 1.0 / (double)nb);
    return start_lr * pow(mult, (double)t);
}
