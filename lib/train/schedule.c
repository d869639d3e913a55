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
    if (p->epochs > 0) return (long)ceil(p->epochs);
    return schedule_sum_geom(p->cycle_len ? p->cycle_len : 1, p->cycle_mult, p->n_cycle);
}

long schedule_phase_steps(const fit_phase *p, long nb)
{
    if (p->epochs > 0) return (long)ceil((double)nb * p->epochs);   /* Python: ceil(len(loader) * epochs) */
    return nb * schedule_epochs(p);
}

double schedule_triangle(long steps, long t, double start, double peak, double end)
{
    long warmup = (long)((double)steps * peak), warmdown = steps - warmup;
    if (t < warmup) {
        double frac = (double)t / (double)warmup;
        return start * (1 - frac) + 1.0 * frac;
    }
    double frac = warmdown > 0 ? (double)(t - warmup) / (double)warmdown : 1.0;
    return 1.0 * (1 - frac) + end * frac;
}

double schedule_lookahead_decay(long s, long steps, double decay, int every, int power)
{
    float x = (float)s / (float)steps, p = 1.0f;
    for (int k = 0; k < power; k++) p *= x;     /* torch's x ** 3 on a float32 tensor: x * x * x */
    return (double)((float)pow(decay, every) * p);
}

double schedule_lr(const fit_phase *p, long nb, long t)
{
    if (p->schedule == SCHEDULE_TRIANGLE)
        return p->lr * schedule_triangle(schedule_phase_steps(p, nb), t, p->tri_start, p->tri_peak, p->tri_end);
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
