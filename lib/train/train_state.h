/* train_state.h: the training state `<arch>.state` (docs/artifacts.md): all a stopped run needs
 * to continue byte for byte, and the identity of what it was computed from.
 *
 * Safetensors: every net tensor as `net.<name>` (weights and BnLayer statistics), the momentum
 * buffers as `mom.<name>` (absent while the optimizer is fresh), the lookahead copy of every
 * tensor as `la.<name>` (while a phase with "lookahead" runs; its step counter is the phase's
 * `it`), `ema` F64 [3] (the smoothed
 * loss: mom, avg, n), `epochs` F64 [E, 6] (phase, epoch, trn_loss, val_loss, accuracy, seconds),
 * `it_lr` and `it_loss` F64 [T]. Metadata: the position (epoch, batch, it, step), images, the
 * wall-clock seconds so far, and the identity: sha256 of the params, model, stats, train and test
 * data files and of the program, the thread count and the backend. The random streams need
 * nothing more: shuffles, augmentation and dropout are keyed by (seed, epoch, step). */
#ifndef TRAIN_STATE_H
#define TRAIN_STATE_H

#include "train/lr_finder.h"
#include "train/trainer.h"
#include "train/train_setup.h"

typedef struct train_identity {
    char params[65], model[65], stats[65], train[65], test[65], program[65];
    char threads[16], backend[16], kind[16];
} train_identity;

/* What the run of setup s depends on; kind names the stage ("train", "lrfind"). */
int train_identity_compute(train_identity *id, const train_setup *s, const char *kind);

/* path without its extension ext (when it has it) + suffix, e.g. ("artifacts/resnet2.ckpt",
 * ".ckpt", ".state") -> "artifacts/resnet2.state". Caller frees. */
char *train_state_path(const char *path, const char *ext, const char *suffix);

/* Writes t's position, records and net to path atomically. */
int train_state_save(const char *path, trainer *t, const train_identity *id);

/* 1: t and its net continue from path (t->resumed set); 0: no usable state: none, or one line
 * said why it is not resumed (unreadable, or saved for other inputs: names what differs); -1: the
 * checks passed but setting the net failed (one error line; the net is half loaded: stop). */
int train_state_load(const char *path, trainer *t, const train_identity *id);

/* The lr finder's sweep `<arch>.lrfind.state`: the net (`net.*`, `mom.*`), `ema_best` F64 [4]
 * (the smoothed loss: mom, avg, n; the stop rule's best), `lr` and `loss` F64 [t], metadata `t`
 * and the identity (kind "lrfind"). Load: 1 = p and the net continue from path, 0 or -1 as above. */
int lrfind_state_save(const char *path, net *n, const lr_finder_pos *p, const train_identity *id);
int lrfind_state_load(const char *path, net *n, lr_finder_pos *p, long nb, const train_identity *id);

#endif
