/* reference.h: the naive double-precision reference ops (plain NCHW, PyTorch semantics), the
 * specification the backends are checked against. Each is defined in its op's tests/ops/<op>.c;
 * tests/unit/test_net.c checks whole nets against them too. */
#ifndef OPS_REFERENCE_H
#define OPS_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

/* conv2d.c: y[n,oc,oh,ow] = conv(x[n,ic,ih,iw], w[oc,ic,k,k]) + b (b may be NULL) */
void ref_conv(const double *x, int N, int ic, int ih, int iw, const double *w, const double *b,
              int oc, int k, int s, int p, double *y);
/* linear.c: y[n,out] = x[n,in] w[out,in]^T + b (b may be NULL) */
void ref_linear(const double *x, int N, int in, const double *w, const double *b, int out, double *y);
/* relu.c: in place */
void ref_relu(double *x, size_t n);
/* maxpool.c: y[n*c] = max over the HW values of each (n, c) */
void ref_maxpool(const double *x, int N, int C, int HW, double *y);
/* maxpool.c: MaxPool2d(k), stride k, floor: y[n,c,H/k,W/k] */
void ref_maxpool2d(const double *x, int N, int C, int H, int W, int k, double *y);
/* gelu.c: in place, 0.5 x (1 + erf(x / sqrt 2)) */
void ref_gelu(double *x, size_t n);
/* batchnorm.c: PyTorch BatchNorm2d. training: batch mean and biased variance per channel
 * (two passes), and when running_mean/var are not NULL their update (unbiased variance);
 * otherwise normalises with running_mean/var. y = (x - mean)/sqrt(var + eps) * w + b. */
void ref_batchnorm(const double *x, int N, int C, int HW, const double *w, const double *b, double *running_mean,
                   double *running_var, int training, double momentum, double eps, double *y);
/* bnlayer.c: r = relu(c); training: mean/std (unbiased) per channel written to means/stds, else
 * read; y = (r - mean)/std*m + a (+ skip) */
void ref_bn(const double *c, int N, int C, int HW, const double *a, const double *m, const double *skip,
            double *means, double *stds, int training, double *y);
/* dropout.c: in place, the mask of ops/dropout.h */
void ref_dropout(double *x, size_t n, double p, uint64_t seed, uint32_t step, uint32_t salt);
/* logsoftmax.c */
void ref_logsoftmax(const double *x, int N, int K, double *y);
double ref_nll(const double *logp, int N, int K, const uint8_t *labels);
/* sgd.c: one PyTorch SGD step on n values in double */
void ref_sgd(double *p, const double *g, double *buf, size_t n, double lr, double momentum, double wd, int first);

#endif
