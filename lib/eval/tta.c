/* tta.c: airbench's six TTA views, their weights and the weighted log-probability mean (tta.h). */
#include "eval/tta.h"

#include <math.h>

double tta_view_weight(int view)
{
    return view == TTA_IDENTITY || view == TTA_MIRROR ? 0.25 : 0.125;
}

/* PyTorch 'reflect' padding: index -1 reads 1, index n reads n - 2. */
static int reflect(int i, int n)
{
    return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i;
}

void tta_view_image(const uint8_t *src, int h, int w, const norm_stats *ns, int view, float *dst)
{
    /* The crop at (o, o) of the 1-padded image reads source pixel (y + o - 1, x + o - 1). */
    const int shift = view == TTA_CROP00 || view == TTA_CROP00_MIRROR ? -1
                    : view == TTA_CROP22 || view == TTA_CROP22_MIRROR ? 1 : 0;
    const int mirror = view == TTA_MIRROR || view == TTA_CROP00_MIRROR || view == TTA_CROP22_MIRROR;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = src + (size_t)reflect(y + shift, h) * w * 3;
        for (int x = 0; x < w; x++) {
            const int sx = reflect((mirror ? w - 1 - x : x) + shift, w);   /* mirror after the crop */
            for (int c = 0; c < 3; c++) dst[((size_t)c * h + y) * w + x] = ns->lut[c][row[(size_t)sx * 3 + c]];
        }
    }
}

void tta_add_weighted(double *sum, const float *logp, double weight, size_t count)
{
    for (size_t i = 0; i < count; i++) sum[i] += weight * (double)logp[i];
}

void tta_softmax_rows(const double *sum, size_t n, int k, float *probs)
{
    for (size_t r = 0; r < n; r++) {
        const double *s = sum + r * k;
        double mx = s[0], z = 0;
        for (int j = 1; j < k; j++) mx = s[j] > mx ? s[j] : mx;
        for (int j = 0; j < k; j++) z += exp(s[j] - mx);
        for (int j = 0; j < k; j++) probs[r * k + j] = (float)(exp(s[j] - mx) / z);
    }
}
