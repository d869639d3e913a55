/* schedule.h: fastai 0.7's learning-rate schedules, the smoothed training loss and the lr finder's
 * stop rule (fastai-semantics.md §4.1-4.3, §5), as pure functions of the iteration index.
 *
 * A fit phase is one `fit(lr, n_cycle, wds=wd, cycle_len=.., cycle_mult=..)` call; t is the
 * 0-based batch index inside that call and nb the batches per epoch. */
#ifndef SCHEDULE_H
#define SCHEDULE_H

typedef struct fit_phase {
    double lr;
    int n_cycle;
    int cycle_len;     /* 0: no cycle_len, constant lr for n_cycle epochs */
    int cycle_mult;    /* >= 1 */
    double wd;         /* coupled L2 weight decay (0 = none) */
} fit_phase;

/* fastai's sum_geom(a, r, n): a*n if r == 1 else ceil(a*(1-r^n)/(1-r)). */
long sched_sum_geom(double a, double r, int n);
/* Epochs of a phase: sum_geom(cycle_len or 1, cycle_mult, n_cycle). */
long sched_epochs(const fit_phase *p);

/* The lr of batch t of phase p: constant lr without cycle_len; with it CosAnneal(nb*cycle_len,
 * cycle_mult): lr/100 while t < nb0/20, else lr/2*(1+cos(pi*pos/L_c)) with pos the position in
 * the current cycle (the warm-up batches count as positions of cycle 0). */
double sched_lr(const fit_phase *p, long nb, long t);

/* LR_Finder's exponential schedule: start * ((end/start)^(1/nb))^t. */
double sched_lrfind_lr(double start_lr, double end_lr, long nb, long t);

/* fastai's smoothed loss: avg = 0.98*avg + 0.02*loss, reported as avg/(1-0.98^n). */
typedef struct loss_ema {
    double mom, avg;
    long n;
} loss_ema;

void loss_ema_init(loss_ema *e);                     /* mom 0.98, empty */
double loss_ema_update(loss_ema *e, double loss);    /* adds a batch loss, returns the debiased value */
double loss_ema_value(const loss_ema *e);            /* debiased value (0 when empty) */

/* LR_Finder.on_batch_end: best starts at 1e9. */
typedef struct lr_finder_rule {
    double best;
} lr_finder_rule;

void lr_finder_rule_init(lr_finder_rule *r);
/* smoothed = the debiased smoothed loss after batch t. Returns 1 to stop (NaN, or > 4*best:
 * this batch is not recorded), else updates best (only when t > 10) and returns 0 (record it). */
int lr_finder_rule_step(lr_finder_rule *r, long t, double smoothed);

/* Validation numbers (fastai FINAL, model.py validate): per-batch mean loss and accuracy averaged
 * with the batch sizes as weights, i.e. the exact means over the dataset (the NB version's
 * unweighted mean would overweight the last, partial batch). */
typedef struct val_mean {
    double loss_sum;     /* sum of batch_mean_loss * batch_size */
    long correct, count;
} val_mean;

void val_mean_init(val_mean *v);
void val_mean_add(val_mean *v, double batch_mean_loss, long correct, long batch_size);
double val_mean_loss(const val_mean *v);       /* NaN when empty */
double val_mean_accuracy(const val_mean *v);

#endif
