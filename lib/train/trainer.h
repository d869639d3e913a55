/* trainer.h: fastai's fit() loop over the fit phases of params (fastai-semantics.md §3-4).
 *
 * For each phase: a new optimizer (momentum buffers emptied), a new smoothed loss, t = 0; per
 * epoch: a shuffled, augmented pass over the training set, one SGD step per batch at the phase's
 * lr for t, then validation in eval mode over the whole test set (loss and accuracy weighted by
 * batch size). One row per epoch `epoch trn_loss val_loss accuracy` goes to `table`.
 * Randomness: epoch e of the run (counted over all phases) shuffles with (seed, RNG_SHUFFLE, e)
 * and augments with pass e; dropout uses (seed, step) with step the batch count of the run.
 *
 * Stopping and resuming: the position (trainer_pos) plus the net's tensors and momentum buffers
 * and the records so far are the whole state of a run (train/train_state.h). At every save point
 * (the end of each epoch, after validation, and every state_every iterations) the queued losses
 * are read first, then save_state is called. When a stop signal has arrived
 * (core/signals.h), the run saves at the end of the current iteration and returns C_OK with
 * `stopped` set. A trainer whose position was filled from a state (resumed = 1) continues from
 * there: the same batches, lrs and random draws as an uninterrupted run.
 *
 * airbench's rules (train_params.h), when the params ask for them: per phase, the optimiser's
 * groups (net_set_sgd_rule); fractional epochs end the phase after ceil(nb * epochs) steps, in
 * its last epoch; the triangle schedule (schedule_lr); the lookahead copy starts at the phase's
 * first step and is updated after every la_every-th step and after the last (decay 1), then
 * dropped; "freeze" entries are applied at the start of every epoch. The lookahead copy is part
 * of the saved state. */
#ifndef TRAINER_H
#define TRAINER_H

#include <stdio.h>

#include "data/loader.h"
#include "nn/net.h"
#include "train/loss_ema.h"
#include "train/train_params.h"

typedef struct epoch_rec {
    int phase;
    long epoch;              /* over the whole run, from 0 */
    double trn_loss, val_loss, accuracy;
    double seconds;          /* wall-clock: training + validation of this epoch */
} epoch_rec;

/* Where a run stands, between two iterations. */
typedef struct trainer_pos {
    long epoch;              /* over the run: the epoch in progress */
    long batch;              /* batches of that epoch done */
    long it;                 /* t of the current phase (its batches so far) */
    uint32_t step;           /* batches of the run so far (the dropout counter) */
    loss_ema ema;            /* the phase's smoothed loss */
} trainer_pos;

struct trainer;
typedef int (*trainer_save_fn)(struct trainer *t, void *ctx);

typedef struct trainer {
    /* inputs (borrowed) */
    net *net;
    const train_params *p;
    loader *trn, *val;
    FILE *table;             /* the epoch table (stdout); NULL = none */
    int progress;            /* 1: progress bar / progress lines on stderr */
    int loss_lag;            /* steps queued before a loss is read back (trainer_init: 1; 0 =
                                synchronous). Every step's exact loss is still recorded, in order;
                                only the progress bar and the NaN stop come that many steps late. */

    long state_every;        /* save every this many iterations too (0: at epoch ends only) */
    trainer_save_fn save_state;   /* NULL: no saving, no stopping on signals */
    void *save_ctx;

    /* position (set by trainer_run; filled by a state loader with resumed = 1 to continue) */
    trainer_pos pos;
    int resumed;
    int stopped;             /* the signal that stopped the run after a save (0: ran to the end) */
    int diverged;            /* trainer_run failed on a NaN or infinite loss */

    /* results (owned; trainer_free) */
    epoch_rec *epochs;
    long n_epochs;
    double *it_lr, *it_loss; /* per iteration over the whole run */
    long n_it, cap_it;
    long batches_per_epoch;
    long images;             /* training images stepped on */
    double loop_seconds;     /* wall-clock in training batches (loader included, validation not) */
    double train_seconds;    /* wall-clock of the whole run */
    long graph_steps;        /* steps replayed from a recorded graph (GPU) */
} trainer;

void trainer_init(trainer *t, net *n, const train_params *p, loader *trn, loader *val);
/* Allocates the per-epoch records for p's epochs (trainer_run does it when the caller has not). */
void trainer_alloc_epochs(trainer *t);
/* Adds one iteration record (a state loader refills them with it). */
void trainer_record_iteration(trainer *t, double lr, double loss);

/* Runs every phase. A NaN or infinite batch loss stops with `epoch E, iteration T: loss is nan`
 * and C_ERR. */
int trainer_run(trainer *t);
void trainer_free(trainer *t);

/* Eval-mode pass over the loader: loss and accuracy weighted by batch size (= dataset means). */
int trainer_validate(net *n, loader *val, double *loss, double *accuracy);

/* fastai's print_stats: the header line, and one row with values rounded to 6 decimals. */
void trainer_print_header(FILE *f);
void trainer_print_row(FILE *f, long epoch, const double *vals, int n);

/* The metrics JSON of docs/artifacts.md. Caller frees. */
cJSON *trainer_metrics_json(const trainer *t, const char *arch, const char *device);

#endif
