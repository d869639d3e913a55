/* train_state_check.h: the checks a state file (train_state.h) passes before anything of it is
 * used, on the parsed file alone (no net, no backend: the fuzz harness tests/fuzz/fuzz_state.c
 * runs them on arbitrary bytes).
 *
 * Seal: metadata `state_sha256`, the SHA-256 of every other metadata pair (in header order) and
 * of every tensor's name, dtype, shape and bytes (in data order): one flipped bit anywhere that
 * matters (a weight, a loss, a position, an identity hash) makes the state unreadable.
 * Position: epoch, batch, it, step, images and batches_per_epoch must be the ones a run of these
 * params over this data reaches at a save point; the records and wall-clock fields finite. */
#ifndef TRAIN_STATE_CHECK_H
#define TRAIN_STATE_CHECK_H

#include "io/safetensors.h"

#define TRAIN_STATE_SEAL_KEY "state_sha256"
#define TRAIN_STATE_MAX_PHASES 16

/* The SHA-256 (64 hex digits) of n_meta pairs (the one named TRAIN_STATE_SEAL_KEY left out)
 * and n tensors, as described above. C_ERR (one line) when out of memory. */
int train_state_digest(int n_meta, char *const *keys, char *const *values, int n, const safetensors_tensor *t,
                       char hex[65]);
/* Adds the seal to w (after every other tensor and metadata pair). C_ERR (one line) when out of memory. */
int train_state_seal(safetensors_writer *w);

/* C_OK when f's format is `format` and its seal matches; else C_ERR after one err_msg (where
 * NULL: the caller names the file). */
int train_state_check_seal(const safetensors_file *f, const char *format);

/* A non-negative integer from f's metadata (decimal digits only); -1 when missing or malformed. */
long train_state_meta_long(const safetensors_file *f, const char *key);

/* What a run of the params over the data has: the positions a state may hold. */
typedef struct state_layout {
    long nb;                 /* batches per epoch */
    long epoch_images;       /* images one epoch steps on */
    long batch_size;
    int n_phases;
    long phase_epochs[TRAIN_STATE_MAX_PHASES];
    long phase_steps[TRAIN_STATE_MAX_PHASES];
} state_layout;

typedef struct state_pos {
    long epoch, batch, it, step, images, bpe;
    int phase;               /* the phase in progress (n_phases at the run's end) */
    int phase_start;         /* 1: at the start of a phase (its optimizer and smoothed loss begin afresh) */
    double loop_seconds, train_seconds;
} state_pos;

/* Reads and checks the position metadata of a train state against L (epoch and batch in range,
 * batches_per_epoch = L->nb, it, step and images the ones that position has, the seconds finite
 * and not negative), fills *p. C_ERR after one err_msg(NULL, ...) naming the field. */
int train_state_check_position(const safetensors_file *f, const state_layout *L, state_pos *p);

/* C_OK when every F32 and F64 value of f is finite; else names the tensor. */
int train_state_check_finite(const safetensors_file *f);

/* The phase of run epoch e under L (n_phases when past the end). */
int train_state_phase_of(const state_layout *L, long e);

#endif
