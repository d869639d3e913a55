/* ref_ops.h: naive double-precision reference ops (plain NCHW, PyTorch semantics), the
 * specification the fast backends are checked against. Header-only, for tests. */
#ifndef REF_OPS_H
#define REF_OPS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ops/conv2d.h"
#include "ops/dropout.h"

/* y[n,oc,oh,ow] = conv(x[n,ic,ih,iw], w[oc,ic,k,k]) + b (b may be NULL) */
static void ref_conv(const double *x, int N, int ic, int ih, int iw, const double *w, const double *b,
                     int oc, int k, int s, int p, double *y)
{
    int oh = conv2d_out_size(ih, k, s, p), ow = conv2d_out_size(iw, k, s, p);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < oc; o++) {
            double *yo = y + ((size_t)n * oc + o) * oh * ow;
            for (int i = 0; i < oh * ow; i++) yo[i] = b ? b[o] : 0.0;
            for (int c = 0; c < ic; c++) {
                const double *xc = x + ((size_t)n * ic + c) * ih * iw;
                for (int u = 0; u < k; u++)
                    for (int v = 0; v < k; v++) {
                        double wv = w[(((size_t)o * ic + c) * k + u) * k + v];
                        for (int r = 0; r < oh; r++) {
                            int yy = r * s - p + u;
                            if (yy < 0 || yy >= ih) continue;
                            for (int q = 0; q < ow; q++) {
                                int xx = q * s - p + v;
                                if (xx >= 0 && xx < iw) yo[r * ow + q] += wv * xc[yy * iw + xx];
                            }
                        }
                    }
            }
        }
}

static void ref_linear(const double *x, int N, int in, const double *w, const double *b, int out, double *y)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < in; i++) s += x[(size_t)n * in + i] * w[(size_t)o * in + i];
            y[(size_t)n * out + o] = s;
        }
}

static void ref_relu(double *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0; }

static void ref_maxpool(const double *x, int N, int C, int HW, double *y)
{
    for (int i = 0; i < N * C; i++) {
        double m = x[(size_t)i * HW];
        for (int j = 1; j < HW; j++) m = x[(size_t)i * HW + j] > m ? x[(size_t)i * HW + j] : m;
        y[i] = m;
    }
}

/* BnLayer after its conv: r = relu(c); training: mean/std (unbiased) per channel written to
 * means/stds, else read; y = (r - mean)/std*m + a (+ skip) */
static void ref_bn(const double *c, int N, int C, int HW, const double *a, const double *m, const double *skip,
                   double *means, double *stds, int training, double *y)
{
    double M = (double)N * HW;
    for (int ch = 0; ch < C; ch++) {
        if (training) {
            double s = 0, q = 0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < HW; i++) { double v = c[((size_t)n * C + ch) * HW + i]; s += v > 0 ? v : 0; }
            double mean = s / M;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < HW; i++) {
                    double v = c[((size_t)n * C + ch) * HW + i];
                    v = v > 0 ? v : 0;
                    q += (v - mean) * (v - mean);
                }
            means[ch] = mean;
            stds[ch] = sqrt(q / (M - 1));
        }
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t o = ((size_t)n * C + ch) * HW + i;
                double v = c[o] > 0 ? c[o] : 0;
                y[o] = (v - means[ch]) / stds[ch] * m[ch] + a[ch] + (skip ? skip[o] : 0.0);
            }
    }
}

static void ref_dropout(double *x, size_t n, double p, uint64_t seed, uint32_t step, uint32_t salt)
{
    for (size_t i = 0; i < n; i++) x[i] = dropout_keep(seed, step, salt, i, (float)p) ? x[i] / (1.0 - (double)(float)p) : 0.0;
}

static void ref_logsoftmax(const double *x, int N, int K, double *y)
{
    for (int n = 0; n < N; n++) {
        double mx = x[(size_t)n * K], s = 0;
        for (int j = 1; j < K; j++) mx = x[(size_t)n * K + j] > mx ? x[(size_t)n * K + j] : mx;
        for (int j = 0; j < K; j++) s += exp(x[(size_t)n * K + j] - mx);
        for (int j = 0; j < K; j++) y[(size_t)n * K + j] = x[(size_t)n * K + j] - mx - log(s);
    }
}

static double ref_nll(const double *logp, int N, int K, const uint8_t *labels)
{
    double s = 0;
    for (int n = 0; n < N; n++) s -= logp[(size_t)n * K + labels[n]];
    return s / N;
}

#endif
