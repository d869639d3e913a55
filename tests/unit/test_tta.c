/* test_tta.c: airbench's six TTA views against hand-written expectations on a 3x4 image
 * (PyTorch 'reflect' padding, the mirror taken after the crop), the weights, and the weighted
 * log-probability mean and its softmax. */
#include <stdint.h>

#include "eval/tta.h"
#include "test.h"

enum { H = 3, W = 4 };

/* Channel c of pixel (y, x) is 100 c + 10 y + x: every value names its source. With mean 0 and
 * std 1/255 the normalised value is that number again. */
static void image(uint8_t *src, norm_stats *ns)
{
    const double mean[3] = { 0, 0, 0 }, std[3] = { 1 / 255.0, 1 / 255.0, 1 / 255.0 };
    norm_stats_init(ns, mean, std);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) src[(y * W + x) * 3 + c] = (uint8_t)(100 * c + 10 * y + x);
}

/* Channel-1 rows (value - 100) of each view, written out by hand:
 * padded rows (reflect 1): [11 10 11 12 13 12] [01 00 01 02 03 02] [11 ...] [21 20 21 22 23 22] [11 ...] */
static const int WANT[TTA_N_VIEWS][H][W] = {
    [TTA_IDENTITY] = { { 0, 1, 2, 3 }, { 10, 11, 12, 13 }, { 20, 21, 22, 23 } },
    [TTA_MIRROR] = { { 3, 2, 1, 0 }, { 13, 12, 11, 10 }, { 23, 22, 21, 20 } },
    [TTA_CROP00] = { { 11, 10, 11, 12 }, { 1, 0, 1, 2 }, { 11, 10, 11, 12 } },
    [TTA_CROP00_MIRROR] = { { 12, 11, 10, 11 }, { 2, 1, 0, 1 }, { 12, 11, 10, 11 } },
    [TTA_CROP22] = { { 11, 12, 13, 12 }, { 21, 22, 23, 22 }, { 11, 12, 13, 12 } },
    [TTA_CROP22_MIRROR] = { { 12, 13, 12, 11 }, { 22, 23, 22, 21 }, { 12, 13, 12, 11 } },
};

static void views_match_hand_values(void)
{
    uint8_t src[H * W * 3];
    norm_stats ns;
    float dst[3 * H * W];
    image(src, &ns);
    for (int v = 0; v < TTA_N_VIEWS; v++) {
        tta_view_image(src, H, W, &ns, v, dst);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) CHECK_NEAR(dst[(c * H + y) * W + x], 100 * c + WANT[v][y][x], 1e-3);
    }
}

static void weights_are_airbenchs(void)
{
    double sum = 0;
    for (int v = 0; v < TTA_N_VIEWS; v++) sum += tta_view_weight(v);
    CHECK(sum == 1.0);
    CHECK(tta_view_weight(TTA_IDENTITY) == 0.25 && tta_view_weight(TTA_MIRROR) == 0.25);
    CHECK(tta_view_weight(TTA_CROP00) == 0.125 && tta_view_weight(TTA_CROP22_MIRROR) == 0.125);
}

/* The softmax of the weighted mean log-probability equals the softmax of the weighted mean logits
 * (each view's log-softmax differs from its logits by a per-row constant). */
static void weighted_logp_is_weighted_logits(void)
{
    enum { K = 3 };
    const double logits[2][K] = { { 2.0, -1.0, 0.5 }, { -3.0, 4.0, 1.0 } };
    double sum[K] = { 0 }, mean_logit[K] = { 0 };
    const double w[2] = { 0.25, 0.75 };
    for (int v = 0; v < 2; v++) {
        double lse = 0;
        for (int j = 0; j < K; j++) lse += exp(logits[v][j]);
        float logp[K];
        for (int j = 0; j < K; j++) logp[j] = (float)(logits[v][j] - log(lse)), mean_logit[j] += w[v] * logits[v][j];
        tta_add_weighted(sum, logp, w[v], K);
    }
    float p[K];
    tta_softmax_rows(sum, 1, K, p);
    double z = 0;
    for (int j = 0; j < K; j++) z += exp(mean_logit[j]);
    for (int j = 0; j < K; j++) CHECK_NEAR(p[j], exp(mean_logit[j]) / z, 1e-6);
    /* large values do not overflow */
    const double big[K] = { 1000, 999, -1000 };
    tta_softmax_rows(big, 1, K, p);
    CHECK_NEAR(p[0], 1 / (1 + exp(-1.0)), 1e-6);
    CHECK(p[2] == 0.0f);
}

int main(void)
{
    TEST_RUN(views_match_hand_values);
    TEST_RUN(weights_are_airbenchs);
    TEST_RUN(weighted_logp_is_weighted_logits);
    TEST_EXIT();
}
