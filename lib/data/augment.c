/* augment.c: the host training transform and normalisation (index maths in ops/augment_batch.h). */
#include "data/augment.h"

#include "core/rng.h"
#include "ops/augment_batch.h"

#include <stddef.h>

augment_style augment_style_of(const augment_cfg *cfg)
{
    return (augment_style){ cfg->pad, cfg->flip, cfg->pad_mode, cfg->crop, cfg->flip_mode };
}

void augment_choose(const augment_cfg *cfg, uint32_t pass, uint32_t index, augment_draw *d)
{
    uint32_t w[4], fw[4] = { 0, 0, 0, 0 };
    rng_block(cfg->seed, RNG_AUGMENT, pass, index, w);
    if (cfg->flip && cfg->flip_mode == AUGMENT_FLIP_ALTERNATE)
        rng_block(cfg->seed, RNG_AUGMENT, AUGMENT_BATCH_PASS_FLIP, index, fw);
    augment_style st = augment_style_of(cfg);
    augment_batch_draw_style(w, fw, &st, pass, &d->flip, &d->row, &d->col);
    d->pad_mode = cfg->pad_mode;
}

void augment_apply(const uint8_t *src, int h, int w, const norm_stats *ns, int pad,
                   const augment_draw *d, float *dst)
{
    int cols[w];  /* source column of each output column */
    for (int x = 0; x < w; x++) cols[x] = augment_batch_src_col_mode(x, w, pad, d->flip, d->col, d->pad_mode);
    const size_t plane = (size_t)h * w;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = src + (size_t)augment_batch_src_row_mode(y, h, pad, d->row, d->pad_mode) * w * 3;
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
    const augment_draw d = { 0, 0, 0, 0 };
    augment_apply(src, h, w, ns, 0, &d, dst);
}
