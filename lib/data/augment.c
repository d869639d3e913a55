#include "data/augment.h"

#include "core/rng.h"

#include <stddef.h>

void augment_choose(const augment_cfg *cfg, uint32_t pass, uint32_t index, augment_draw *d)
{
    uint32_t w[4];
    rng_block(cfg->seed, RNG_AUGMENT, pass, index, w);
    /* Same order as fastai: flip (random.random() < 0.5), then the row, then the column offset. */
    d->flip = cfg->flip ? rng_u32_to_float(w[0]) < 0.5f : 0;
    int span = 2 * cfg->pad;
    /* floor(u * span) with u a 24-bit float: exact, and uniform when span divides 2^24. */
    d->row = span ? (int)(rng_u32_to_float(w[1]) * (float)span) : 0;
    d->col = span ? (int)(rng_u32_to_float(w[2]) * (float)span) : 0;
}

void augment_apply(const uint8_t *src, int h, int w, const norm_stats *ns, int pad,
                   const augment_draw *d, float *dst)
{
    const int pw = w + 2 * pad;
    int cols[w];  /* source column of each output column */
    for (int x = 0; x < w; x++) {
        int pc = d->col + x;                 /* column in the (possibly flipped) padded image */
        if (d->flip) pc = pw - 1 - pc;       /* np.fliplr of the padded image */
        cols[x] = augment_reflect(pc - pad, w);
    }
    const size_t plane = (size_t)h * w;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = src + (size_t)augment_reflect(d->row + y - pad, h) * w * 3;
        float *o0 = dst + (size_t)y * w, *o1 = o0 + plane, *o2 = o1 + plane;
        for (int x = 0; x < w; x++) {
            const uint8_t *p = row + cols[x] * 3;
            o0[x] = ns->lut[0][p[0]];
            o1[x] = ns->lut[1][p[1]];
            o2[x] = ns->lut[2][p[2]];
        }
    }
}

void augment_image(const uint8_t *src, int h, int w, const norm_stats *ns, const augment_cfg *cfg,
                   uint32_t pass, uint32_t index, float *dst)
{
    augment_draw d;
    augment_choose(cfg, pass, index, &d);
    augment_apply(src, h, w, ns, cfg->pad, &d, dst);
}

void augment_normalise(const uint8_t *src, int h, int w, const norm_stats *ns, float *dst)
{
    const augment_draw d = { 0, 0, 0 };
    augment_apply(src, h, w, ns, 0, &d, dst);
}
