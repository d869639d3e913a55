/* schedule.h: fastai 0.7's learning-rate schedules (fastai-semantics.md §4.1-4.2, §5), as pure
 * functions of the iteration index (the smoothed loss is in train/loss_ema.h, the lr finder's
 * stop rule in train/lr_finder.h, the validation means in train/val_mean.h).
 *
 * A fit phase is one `fit(lr, n_cycle, wds=wd, cycle_len=.., cycle_mult=..)` call; t is the
 * 0-based batch index inside that call and nb the batches per epoch. */
#ifndef SCHEDULE_H
#define SCHEDULE_H

#define SCHEDULE_FASTAI   0   /* fastai's: constant, or cosine annealing with cycle_len */
#define SCHEDULE_TRIANGLE 1   /* airbench's triangle over the phase's steps */

typedef struct fit_phase {
    double lr;         /* the lr of SGD's default group (already scaled when kilostep) */
    int n_cycle;
    int cycle_len;     /* 0: no cycle_len, constant lr for n_cycle epochs */
    int cycle_mult;    /* >= 1 */
    double wd;         /* weight decay (0 = none): coupled L2, or decoupled (already scaled when kilostep) */
    /* airbench's rules (train_params.h); 0 = fastai's */
    double epochs;     /* > 0: fractional epochs, ceil(nb * epochs) steps in ceil(epochs) epochs */
    int kilostep;      /* lr and wd were given per 1024 examples (scaled at load) */
    int wd_decoupled;  /* 1: the decay applied is lr_factor * wd * p (per group wd / lr_group) */
    int schedule;      /* SCHEDULE_* */
    double tri_start, tri_peak, tri_end;   /* triangle: factor at step 0, peak position (fraction), end factor */
} fit_phase;

/* fastai's sum_geom(a, r, n): a*n if r == 1 else ceil(a*(1-r^n)/(1-r)), computed in double;
 * a result above SCHEDULE_MAX_EPOCHS (or not finite) is returned as SCHEDULE_MAX_EPOCHS, so a
 * caller's limit check (train_params: at most 100000 epochs) sees it, and sums of a few stay
 * far inside a long. */
#define SCHEDULE_MAX_EPOCHS 1000000000000L   /* 1e12 */
long schedule_sum_geom(double a, double r, int n);
/* Epochs of a phase: ceil(epochs) with fractional epochs, else sum_geom(cycle_len or 1,
 * cycle_mult, n_cycle). */
long schedule_epochs(const fit_phase *p);

/* Training steps of a phase at nb batches per epoch: ceil(nb * epochs) with fractional epochs
 * (airbench's total_train_steps; the last epoch stops there), else nb * schedule_epochs. */
long schedule_phase_steps(const fit_phase *p, long nb);

/* airbench's triangle factor at step t of `steps`: warm-up w = (long)(steps * peak) steps from
 * start to 1, then linear to end at `steps` (its get_lr, the np.interp of (0, w, steps) ->
 * (start, 1, end)). */
double schedule_triangle(long steps, long t, double start, double peak, double end);

/* Lookahead decay after run step s of `steps` (airbench's alpha_schedule[s], torch float32):
 * (float)(decay^every) * ((float)s / (float)steps)^power. */
double schedule_lookahead_decay(long s, long steps, double decay, int every, int power);

/* The lr of batch t of phase p: constant lr without cycle_len; with it CosAnneal(nb*cycle_len,
 * cycle_mult): lr/100 while t < nb0/20, else lr/2*(1+cos(pi*pos/L_c)) with pos the position in
 * the current cycle (the warm-up batches count as positions of cycle 0). SCHEDULE_TRIANGLE:
 * lr * schedule_triangle(schedule_phase_steps(p, nb), t, ...). */
double schedule_lr(const fit_phase *p, long nb, long t);

/* LR_Finder's exponential schedule: start * ((end/start)^(1/nb))^t. */
double schedule_lrfind_lr(double start_lr, double end_lr, long nb, long t);

#endif
