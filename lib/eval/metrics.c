/* metrics.c: see metrics.h. */
#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"

int metrics_argmax(const float *row, int k)
{
    int best = 0;
    for (int j = 0; j < k; j++) {
        if (isnan(row[j])) return j;        /* numpy: the first NaN is the maximum */
        if (row[j] > row[best]) best = j;   /* strict >: the first maximum wins */
    }
    return best;
}

long metrics_first_nonfinite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return (long)i;
    return -1;
}

double metrics_log_loss(const float *probs, const uint8_t *labels, size_t n, int k)
{
    const double lo = 1e-15, hi = 1.0 - 1e-15;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *row = probs + i * (size_t)k;
        double rsum = 0.0, py = 0.0;
        for (int j = 0; j < k; j++) {
            double p = row[j];
            if (isnan(p)) return NAN;       /* no score for an undefined probability */
            if (p < lo) p = lo;
            if (p > hi) p = hi;
            rsum += p;
            if (j == labels[i]) py = p;
        }
        total += -log(py / rsum);
    }
    return n ? total / (double)n : 0.0;
}

double metrics_accuracy(const float *probs, const uint8_t *labels, size_t n, int k)
{
    size_t hit = 0;
    for (size_t i = 0; i < n; i++)
        hit += metrics_argmax(probs + i * (size_t)k, k) == labels[i];
    return n ? (double)hit / (double)n : 0.0;
}

void metrics_per_class(const float *probs, const uint8_t *labels, size_t n, int k, double *acc)
{
    long *hit = xcalloc((size_t)k, sizeof *hit), *tot = xcalloc((size_t)k, sizeof *tot);
    for (size_t i = 0; i < n; i++) {
        if (labels[i] >= k) continue;
        tot[labels[i]]++;
        hit[labels[i]] += metrics_argmax(probs + i * (size_t)k, k) == labels[i];
    }
    for (int j = 0; j < k; j++) acc[j] = tot[j] ? (double)hit[j] / (double)tot[j] : NAN;
    free(hit);
    free(tot);
}

void metrics_confusion(const float *probs, const uint8_t *labels, size_t n, int k, long *conf)
{
    memset(conf, 0, (size_t)k * (size_t)k * sizeof *conf);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < k) conf[(size_t)labels[i] * (size_t)k + (size_t)metrics_argmax(probs + i * (size_t)k, k)]++;
}

void metrics_tta_init(metrics_tta *t, size_t count)
{
    t->count = count;
    t->passes = 0;
    t->sum = xcalloc(count ? count : 1, sizeof *t->sum);
}

void metrics_tta_add_logp(metrics_tta *t, const float *logp)
{
    for (size_t i = 0; i < t->count; i++) t->sum[i] += exp((double)logp[i]);
    t->passes++;
}

void metrics_tta_mean(const metrics_tta *t, float *out)
{
    double inv = t->passes ? 1.0 / t->passes : 0.0;
    for (size_t i = 0; i < t->count; i++) out[i] = (float)(t->sum[i] * inv);
}

void metrics_tta_free(metrics_tta *t)
{
    free(t->sum);
    t->sum = NULL;
    t->count = 0;
    t->passes = 0;
}
