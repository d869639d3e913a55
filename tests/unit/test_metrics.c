/* test_metrics.c: log loss, accuracy, confusion and TTA averaging against hand-computed values. */
#include <math.h>

#include "eval/metrics.h"
#include "test.h"

/* Three rows; the last has a hard zero on the true class, so clipping decides its loss. */
static const float P3[] = {0.7f, 0.2f, 0.1f,
                           0.2f, 0.5f, 0.3f,
                           0.0f, 1.0f, 0.0f};
static const uint8_t Y3[] = {0, 2, 0};

static void log_loss_hand_values(void)
{
    /* -ln 0.7 = 0.356674944, -ln 0.3 = 1.203972804, -ln(1e-15 / (1 + 1e-15)) = 34.538776395 */
    CHECK_NEAR(metrics_log_loss(P3, Y3, 1, 3), 0.356674944, 1e-6);
    CHECK_NEAR(metrics_log_loss(P3 + 3, Y3 + 1, 1, 3), 1.203972804, 1e-6);
    CHECK_NEAR(metrics_log_loss(P3 + 6, Y3 + 2, 1, 3), 34.538776395, 1e-9);
    CHECK_NEAR(metrics_log_loss(P3, Y3, 3, 3), (0.356674944 + 1.203972804 + 34.538776395) / 3, 1e-6);
}

static void log_loss_renormalises_rows(void)
{
    /* [0.2, 0.2] is renormalised to [0.5, 0.5]: ln 2, not -ln 0.2 = 1.609 */
    const float p[] = {0.2f, 0.2f};
    const uint8_t y[] = {0};
    CHECK_NEAR(metrics_log_loss(p, y, 1, 2), 0.693147181, 1e-7);
    /* a probability above 1 - 1e-15 is clipped too: [1, 1] -> 0.5 each */
    const float q[] = {1.0f, 1.0f};
    CHECK_NEAR(metrics_log_loss(q, y, 1, 2), 0.693147181, 1e-7);
}

static void accuracy_first_max_wins(void)
{
    const float p[] = {0.4f, 0.4f, 0.2f,    /* tie: predicted 0 */
                       0.1f, 0.3f, 0.6f,    /* predicted 2 */
                       0.3f, 0.3f, 0.3f};   /* all equal: predicted 0 */
    const uint8_t y[] = {1, 2, 0};
    CHECK(metrics_argmax(p, 3) == 0);
    CHECK(metrics_argmax(p + 6, 3) == 0);
    CHECK_NEAR(metrics_accuracy(p, y, 3, 3), 2.0 / 3.0, 1e-12);
    CHECK_NEAR(metrics_accuracy(P3, Y3, 3, 3), 1.0 / 3.0, 1e-12);
}

/* Issue 11: NaN probabilities (from NaN weights) were clipped to 1e-15 and scored as a plain
 * wrong answer (log loss ln 10, argmax class 0). NaN stays NaN, and callers can find it. */
static void nan_is_never_clipped(void)
{
    const float p[] = {0.1f, NAN, 0.9f,
                       0.2f, 0.5f, 0.3f};
    const uint8_t y[] = {2, 1};
    CHECK(isnan(metrics_log_loss(p, y, 2, 3)));
    CHECK(isnan(metrics_log_loss(p, y, 1, 3)));
    CHECK_NEAR(metrics_log_loss(p + 3, y + 1, 1, 3), 0.693147181, 1e-7);
    CHECK(metrics_argmax(p, 3) == 1);                 /* numpy.argmax([0.1, nan, 0.9]) == 1 */
    CHECK(metrics_first_nonfinite(p, 6) == 1);
    CHECK(metrics_first_nonfinite(p + 3, 3) == -1);
    const float q[] = {0.5f, 0.5f, INFINITY};
    CHECK(metrics_first_nonfinite(q, 3) == 2);
}

static void per_class_and_confusion(void)
{
    /* rows predicted 0, 2, 1 with true labels 0, 2, 0 (P3) */
    double acc[3];
    long conf[9];
    metrics_per_class(P3, Y3, 3, 3, acc);
    CHECK_NEAR(acc[0], 0.5, 1e-12);
    CHECK(isnan(acc[1]));                  /* no row of class 1 */
    CHECK_NEAR(acc[2], 0.0, 1e-12);
    metrics_confusion(P3, Y3, 3, 3, conf);
    CHECK(conf[0 * 3 + 0] == 1);           /* true 0, predicted 0 */
    CHECK(conf[0 * 3 + 1] == 1);           /* true 0, predicted 1 (the clipped row) */
    CHECK(conf[2 * 3 + 1] == 1);           /* true 2, predicted 1 (0.5 > 0.3) */
    long total = 0;
    for (int i = 0; i < 9; i++) total += conf[i];
    CHECK(total == 3);
}

static void tta_mean_of_probabilities(void)
{
    /* passes [0.5,0.5] and [0.9,0.1] given as log-probabilities average to [0.7,0.3]
     * (the mean of probabilities, not of log-probabilities: that would give [0.671,0.224]) */
    const float a[] = {logf(0.5f), logf(0.5f)}, b[] = {logf(0.9f), logf(0.1f)};
    metrics_tta t;
    float out[2];
    metrics_tta_init(&t, 2);
    metrics_tta_add_logp(&t, a);
    metrics_tta_add_logp(&t, b);
    metrics_tta_mean(&t, out);
    CHECK(t.passes == 2);
    CHECK_NEAR(out[0], 0.7, 1e-6);
    CHECK_NEAR(out[1], 0.3, 1e-6);
    /* five passes with equal weight: one clean [1,0] and four [0.5,0.5] -> [0.6,0.4] */
    const float c[] = {0.0f, -INFINITY};
    metrics_tta u;
    metrics_tta_init(&u, 2);
    metrics_tta_add_logp(&u, c);
    for (int i = 0; i < 4; i++) metrics_tta_add_logp(&u, a);
    metrics_tta_mean(&u, out);
    CHECK_NEAR(out[0], 0.6, 1e-6);
    CHECK_NEAR(out[1], 0.4, 1e-6);
    metrics_tta_free(&t);
    metrics_tta_free(&u);
}

int main(void)
{
    TEST_RUN(log_loss_hand_values);
    TEST_RUN(log_loss_renormalises_rows);
    TEST_RUN(accuracy_first_max_wins);
    TEST_RUN(nan_is_never_clipped);
    TEST_RUN(per_class_and_confusion);
    TEST_RUN(tta_mean_of_probabilities);
    TEST_EXIT();
}
