/* whiten.h: airbench's whitening initialisation of a patch convolution (issue 14).
 *
 * For a Conv2d with c input channels and a kh x kw kernel (k = c*kh*kw) and 2k output filters:
 * the patch covariance C = P^T P / n_patches of every kh x kw patch (stride 1, no padding, not
 * centred) of a set of normalised images, its eigendecomposition (LAPACKE dsyevd, double), and
 * the filters weight[i] = v_i / sqrt(lambda_i + eps) in descending eigenvalue order for i < k,
 * weight[k + i] = -weight[i]. Each patch is flattened as (c, y, x), PyTorch's oihw order, so
 * filter i applied to a patch p gives v_i . p / sqrt(lambda_i + eps): the k outputs are
 * uncorrelated with variances lambda_i / (lambda_i + eps). Each eigenvector's sign (which LAPACK
 * leaves free) is fixed so that its largest-magnitude component (the first of equals) is positive,
 * making the filters independent of the LAPACK build. Deterministic: the sums run in double over
 * fixed blocks of images, added in order, whatever the thread count. */
#ifndef WHITEN_H
#define WHITEN_H

#include "data/dataset.h"
#include "data/norm_stats.h"
#include "nn/net.h"

#define WHITEN_EPS 5e-4           /* airbench94: init_whitening_conv(eps=5e-4) */
#define WHITEN_IMAGES 5000        /* airbench94: the first 5,000 training images */

/* The whitening filters from n normalised images x [n, c, h, w] (CHW floats): weight receives
 * 2k filters of k = c*kh*kw values [2k, c, kh, kw]; eigval, when not NULL, the k eigenvalues in
 * descending order. `where` names the data in errors. */
int whiten_filters(const float *x, int n, int c, int h, int w, int kh, int kw, double eps, float *weight,
                   double *eigval, const char *where);

/* Fills `<name>.weight` of every whitening Conv2d of the net's model from the first n_images
 * images of train (all of them when it has fewer), normalised with stats. A whitening conv must
 * have 3 input channels (the images') and out = 2 * in * kernel^2; the bias is left as it is. */
int whiten_init(net *n, const dataset *train, const norm_stats *stats, int n_images);

/* Whether layer i of m is a whitening Conv2d. */
int whiten_layer_wanted(const model_desc *m, int i);

#endif
