/* metrics.h: classification metrics as the notebook computes them (fastai-semantics.md §6).
 *
 * probs are row-major [n, k] probabilities (not log-probabilities); labels are class indices.
 * Everything is accumulated in double so the result does not depend on summation order effects
 * of float. */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Index of the largest entry; the first maximum wins ties, and a NaN counts as the largest
 * (numpy/torch argmax). */
int metrics_argmax(const float *row, int k);

/* Index of the first NaN or infinity among v[0..n), or -1 when every value is finite. Callers
 * refuse such probabilities (evaluate, report) before computing any metric. */
long metrics_first_nonfinite(const float *v, size_t n);

/* sklearn.metrics.log_loss: clip to [1e-15, 1-1e-15], renormalise each row to sum 1,
 * mean over rows of -ln p[y]. NaN when any probability is NaN (never clipped to a number). */
double metrics_log_loss(const float *probs, const uint8_t *labels, size_t n, int k);

/* mean(argmax(row) == y). */
double metrics_accuracy(const float *probs, const uint8_t *labels, size_t n, int k);

/* Accuracy among the rows of each true class into acc[k]; NAN for a class with no rows. */
void metrics_per_class(const float *probs, const uint8_t *labels, size_t n, int k, double *acc);

/* conf[true * k + predicted] = count (k*k entries, overwritten). */
void metrics_confusion(const float *probs, const uint8_t *labels, size_t n, int k, long *conf);

/* TTA averaging: the arithmetic mean of exp(log-prob) over passes, each pass weighted equally
 * (fastai: np.mean(np.exp(np.stack([clean] + augmented)), 0)). */
typedef struct metrics_tta {
    size_t count;     /* n * k */
    int passes;
    double *sum;      /* owned */
} metrics_tta;

void metrics_tta_init(metrics_tta *t, size_t count);
/* Adds one pass of log-probabilities (count floats). */
void metrics_tta_add_logp(metrics_tta *t, const float *logp);
/* Writes the mean probabilities into out (count floats); needs at least one pass. */
void metrics_tta_mean(const metrics_tta *t, float *out);
void metrics_tta_free(metrics_tta *t);

#endif
