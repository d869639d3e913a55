#include "train/schedule.h"

#include <math.h>

long sched_sum_geom(double a, double r, int n)
{
    if (r == 1) return (long)(a * n);
    return (long)ceil(a * (1 - pow(r, n)) / (1 - r));
}

long sched_epochs(const fit_phase *p)
{
    return sched_sum_geom(p->cycle_len ? p->cycle_len : 1, p->cycle_mult, p->n_cycle);
}

double sched_lr(const fit_phase *p, long nb, long t)
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

double sched_lrfind_lr(double start_lr, double end_lr, long nb, long t)
{
    double mult = pow(end_lr / start_lr, 1.0 / (double)nb);
    return start_lr * pow(mult, (double)t);
}

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

void lr_finder_rule_init(lr_finder_rule *r) { r->best = 1e9; }

int lr_finder_rule_step(lr_finder_rule *r, long t, double smoothed)
{
    if (isnan(smoothed) || smoothed > 4 * r->best) return 1;
    if (smoothed < r->best && t > 10) r->best = smoothed;
    return 0;
}

void val_mean_init(val_mean *v)
{
    v->loss_sum = 0;
    v->correct = v->count = 0;
}

void val_mean_add(val_mean *v, double batch_mean_loss, long correct, long batch_size)
{
    v->loss_sum += batch_mean_loss * (double)batch_size;
    v->correct += correct;
    v->count += batch_size;
}

double val_mean_loss(const val_mean *v) { return v->count ? v->loss_sum / (double)v->count : NAN; }

double val_mean_accuracy(const val_mean *v) { return v->count ? (double)v->correct / (double)v->count : NAN; }
