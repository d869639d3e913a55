/* schedule.h: fastai 0.7's learning-rate schedules (fastai-semantics.md §4.1-4.2, §5), as pure
 * functions of the iteration index (the smoothed loss is in train/loss_ema.h, the lr finder's
 * stop rule in train/lr_finder.h, the validation means in train/val_mean.h).
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

/* fastai's sum_geom(a, r, n): a*n if r == 1 else ceil(a*(1-r^n)/(1-r)), computed in double;
 * a result above SCHEDULE_MAX_EPOCHS (or not finite) is returned as SCHEDULE_MAX_EPOCHS, so a
 * caller's limit check (train_params: at most 100000 epochs) sees it, and sums of a few stay
 * far inside a long. */
#define SCHEDULE_MAX_EPOCHS 1000000000000L   /* 1e12 */
long schedule_sum_geom(double a, double r, int n);
/* Epochs of a phase: sum_geom(cycle_len or 1, cycle_mult, n_cycle). */
long schedule_epochs(const fit_phase *p);

/* The lr of batch t of phase p: constant lr without cycle_len; with it CosAnneal(nb*cycle_len,
 * cycle_mult): lr/100 while t < nb0/20, else lr/2*(1+cos(pi*pos/L_c)) with pos the position in
 * the current cycle (the warm-up batches count as positions of cycle 0). */
double schedule_lr(const fit_phase *p, long nb, long t);

/* LR_Finder's exponential schedule: start * ((end/start)^(1/nb))^t. */
double schedule_lrfind_lr(double start_lr, double end_lr, long nb, long t);

#endif
