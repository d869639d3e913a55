/* whiten.c: airbench's whitening filters from the patch covariance of training images (whiten.h). */
#include "train/whiten.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "data/augment.h"
#include "nn/model.h"

/* Images per block of the covariance sums: each block is summed by one thread, the blocks are
 * added in order, so the result does not depend on the thread count. */
#define WHITEN_BLOCK 16
#define WHITEN_MAX_K MODEL_WHITEN_MAX_PATCH   /* values per patch (nn/model.h) */

/* The one place that says which convolutions are whitened: Conv2d layers with "init": "whiten". */
int whiten_layer_wanted(const model_desc *m, int i)
{
    return i >= 0 && i < m->n_layers && m->layers[i].type == ML_CONV2D && m->layers[i].init == ML_INIT_WHITEN;
}

/* Upper triangle of sum over the patches of images [i0, i1) of p p^T into s [k, k]. */
static void patch_sums(const float *x, int i0, int i1, int c, int h, int w, int kh, int kw, double *s)
{
    const int k = c * kh * kw, oh = h - kh + 1, ow = w - kw + 1;
    double p[WHITEN_MAX_K];
    memset(s, 0, sizeof *s * (size_t)k * k);
    for (int i = i0; i < i1; i++) {
        const float *img = x + (size_t)i * c * h * w;
        for (int y = 0; y < oh; y++)
            for (int xx = 0; xx < ow; xx++) {
                int j = 0;
                for (int ch = 0; ch < c; ch++)      /* (c, y, x): the oihw order of a filter */
                    for (int dy = 0; dy < kh; dy++)
                        for (int dx = 0; dx < kw; dx++) p[j++] = img[((size_t)ch * h + y + dy) * w + xx + dx];
                for (int a = 0; a < k; a++) {
                    const double pa = p[a];
                    double *row = s + (size_t)a * k;
                    for (int b = a; b < k; b++) row[b] += pa * p[b];
                }
            }
    }
}

int whiten_filters(const float *x, int n, int c, int h, int w, int kh, int kw, double eps, float *weight,
                   double *eigval, const char *where)
{
    if (n < 1 || c < 1 || kh < 1 || kw < 1 || kh > h || kw > w)
        return err_msg(where, "whitening needs at least one image at least as large as the %dx%d kernel", kh, kw);
    if (c * kh * kw > WHITEN_MAX_K)
        return err_msg(where, "whitening: %d values per patch, at most %d", c * kh * kw, WHITEN_MAX_K);
    const int k = c * kh * kw, nblocks = (n + WHITEN_BLOCK - 1) / WHITEN_BLOCK;
    const size_t kk = (size_t)k * k;
    double *blocks = xmalloc(sizeof *blocks * kk * (size_t)nblocks);
    #pragma omp parallel for schedule(dynamic)
    for (int b = 0; b < nblocks; b++) {
        int i0 = b * WHITEN_BLOCK, i1 = i0 + WHITEN_BLOCK < n ? i0 + WHITEN_BLOCK : n;
        patch_sums(x, i0, i1, c, h, w, kh, kw, blocks + kk * (size_t)b);
    }
    double *cov = xcalloc(kk, sizeof *cov), *lambda = xmalloc(sizeof *lambda * (size_t)k);
    for (int b = 0; b < nblocks; b++)
        for (size_t e = 0; e < kk; e++) cov[e] += blocks[kk * (size_t)b + e];
    free(blocks);
    const double n_patches = (double)n * (h - kh + 1) * (w - kw + 1);
    for (int a = 0; a < k; a++)
        for (int b = a; b < k; b++) {
            cov[(size_t)a * k + b] /= n_patches;
            cov[(size_t)b * k + a] = cov[(size_t)a * k + b];
        }

    /* Ascending eigenvalues; eigenvector j is column j of cov (row-major). */
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', k, cov, k, lambda);
    int rc = C_OK;
    if (info != 0) {
        rc = err_msg(where, "whitening: the patch covariance's eigendecomposition failed (dsyevd info %d)", (int)info);
        goto done;
    }
    for (int i = 0; i < k; i++) {
        const int j = k - 1 - i;                  /* descending */
        const double l = lambda[j];
        if (!(isfinite(l) && l + eps > 0)) {
            rc = err_msg(where, "whitening: eigenvalue %g of the patch covariance is not usable (images not finite?)", l);
            goto done;
        }
        int big = 0;
        for (int r = 1; r < k; r++)
            if (fabs(cov[(size_t)r * k + j]) > fabs(cov[(size_t)big * k + j])) big = r;
        const double scale = (cov[(size_t)big * k + j] < 0 ? -1.0 : 1.0) / sqrt(l + eps);
        for (int r = 0; r < k; r++) {
            float v = (float)(cov[(size_t)r * k + j] * scale);
            weight[(size_t)i * k + r] = v;
            weight[(size_t)(k + i) * k + r] = -v;
        }
        if (eigval) eigval[i] = l;
    }
done:
    free(cov);
    free(lambda);
    return rc;
}

int whiten_init(net *n, const dataset *train, const norm_stats *stats, int n_images)
{
    const model_desc *m = net_model(n);
    float *x = NULL;
    int rc = C_OK;
    if (n_images < 1) return err_msg(m->path, "whitening: needs at least one training image (got %d)", n_images);
    const int count = n_images < train->n ? n_images : train->n, h = train->h, w = train->w;
    for (int i = 0; i < m->n_layers && rc == C_OK; i++) {
        if (!whiten_layer_wanted(m, i)) continue;
        const model_layer *l = &m->layers[i];
        const int k = l->in * l->kernel * l->kernel;
        if (l->in_ndim != 3 || l->in != 3 || l->in_shape[1] != h || l->in_shape[2] != w) {
            rc = err_msg(m->path, "layer %s: a whitening conv must take the %dx%d images themselves", l->name, h, w);
            break;
        }
        if (l->out != 2 * k) {
            rc = err_msg(m->path, "layer %s: a whitening conv with %d inputs and kernel %d needs out = %d (got %d)",
                         l->name, l->in, l->kernel, 2 * k, l->out);
            break;
        }
        char name[96];
        snprintf(name, sizeof name, "%s.weight", l->name);
        int t = net_tensor_find(n, name);
        if (t < 0 || net_tensor_numel(n, t) != (size_t)2 * k * k) {
            rc = err_msg(m->path, "layer %s: no weight tensor %s of %d values", l->name, name, 2 * k * k);
            break;
        }
        if (!x) {
            const size_t img = (size_t)3 * h * w;
            x = xmalloc(sizeof *x * img * (size_t)count);
            #pragma omp parallel for schedule(static)
            for (int j = 0; j < count; j++) augment_normalise(dataset_image(train, j), h, w, stats, x + img * (size_t)j);
        }
        float *weight = xmalloc(sizeof *weight * (size_t)2 * k * k);
        rc = whiten_filters(x, count, 3, h, w, l->kernel, l->kernel, WHITEN_EPS, weight, NULL, m->path);
        if (rc == C_OK) rc = net_tensor_set(n, t, weight);
        free(weight);
    }
    free(x);
    return rc;
}
