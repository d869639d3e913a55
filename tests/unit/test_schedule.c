/* Schedules (fastai-semantics.md §4.1-4.3, §5): sum_geom epoch counts, the worked CosAnneal values,
 * a literal transliteration of fastai's CosAnneal.calc_lr, the lr finder's schedule, the debiased
 * EMA and the lr finder's stop rule on synthetic loss curves. */
#include "train/loss_ema.h"
#include "train/lr_finder.h"
#include "train/schedule.h"
#include "train/val_mean.h"
#include "test.h"

#include <math.h>

static void epoch_counts(void)
{
    fit_phase a = { .lr = 1e-2, .n_cycle = 2, .cycle_len = 0, .cycle_mult = 1, .wd = 0 }, b = { .lr = 1e-2, .n_cycle = 2, .cycle_len = 1, .cycle_mult = 1, .wd = 0 }, c = { .lr = 1e-2, .n_cycle = 3, .cycle_len = 1, .cycle_mult = 2, .wd = 0 }, d = { .lr = 1e-2, .n_cycle = 8, .cycle_len = 4, .cycle_mult = 1, .wd = 0 };
    CHECK(schedule_epochs(&a) == 2);
    CHECK(schedule_epochs(&b) == 2);
    CHECK(schedule_epochs(&c) == 7);
    CHECK(schedule_epochs(&d) == 32);
    CHECK(schedule_sum_geom(1, 2, 3) == 7);
    CHECK(schedule_sum_geom(2, 3, 2) == 8);
    CHECK(schedule_epochs(&a) + schedule_epochs(&c) + schedule_epochs(&d) == 41);
}

/* Issue 11: n_cycle 16, cycle_mult 20 is 20^16/19 epochs, beyond a long; it used to wrap to a
 * negative count that passed the "more than 100000 epochs" check. Computed in double and capped. */
static void epoch_counts_do_not_overflow(void)
{
    fit_phase big = { .lr = 1e-2, .n_cycle = 16, .cycle_len = 1, .cycle_mult = 20, .wd = 0 }, inf = { .lr = 1e-2, .n_cycle = 1000, .cycle_len = 1000, .cycle_mult = 20, .wd = 0 }, flat = { .lr = 1e-2, .n_cycle = 1000, .cycle_len = 1000, .cycle_mult = 1, .wd = 0 };
    CHECK(schedule_epochs(&big) == SCHEDULE_MAX_EPOCHS);
    CHECK(schedule_epochs(&inf) == SCHEDULE_MAX_EPOCHS);   /* 20^1000 is infinite in a double */
    CHECK(schedule_epochs(&flat) == 1000000);
    CHECK(schedule_sum_geom(1, 20, 10) == 538947368421L);    /* (20^10 - 1) / 19, exact */
    CHECK(schedule_sum_geom(1, 20, 11) == SCHEDULE_MAX_EPOCHS);
}

static void constant_without_cycle_len(void)
{
    fit_phase p = { .lr = 0.1, .n_cycle = 2, .cycle_len = 0, .cycle_mult = 1, .wd = 0 };
    for (long t = 0; t < 392; t += 7) CHECK(schedule_lr(&p, 196, t) == 0.1);
}

static void cos_anneal_worked_values(void)
{
    fit_phase p = { .lr = 1e-2, .n_cycle = 2, .cycle_len = 1, .cycle_mult = 1, .wd = 0 };
    for (long t = 0; t <= 9; t++) CHECK_NEAR(schedule_lr(&p, 196, t), 1e-4, 1e-12);
    CHECK_NEAR(schedule_lr(&p, 196, 10), 0.009936, 1e-6 / 0.01);
    CHECK(fabs(schedule_lr(&p, 196, 10) - 0.009936) < 5e-7);
    CHECK(fabs(schedule_lr(&p, 196, 98) - 0.005) < 1e-12);
    CHECK(fabs(schedule_lr(&p, 196, 195) - 6.4e-7) < 5e-9);
    CHECK(fabs(schedule_lr(&p, 196, 196) - 0.01) < 1e-15);   /* restart */
    CHECK(fabs(schedule_lr(&p, 196, 206) - schedule_lr(&p, 196, 10)) < 1e-15); /* no second warm-up */

    /* cycle_mult = 2: cycles of 196, 392, 784 batches (1372 iterations), restarts at 196 and 588. */
    fit_phase q = { .lr = 1e-2, .n_cycle = 3, .cycle_len = 1, .cycle_mult = 2, .wd = 0 };
    CHECK(schedule_epochs(&q) * 196 == 1372);
    CHECK(fabs(schedule_lr(&q, 196, 196) - 0.01) < 1e-15);
    CHECK(fabs(schedule_lr(&q, 196, 588) - 0.01) < 1e-15);
    CHECK(schedule_lr(&q, 196, 587) < 2e-7);
    CHECK(fabs(schedule_lr(&q, 196, 196 + 196) - 0.005) < 1e-12);   /* middle of the 392-cycle */
    CHECK(fabs(schedule_lr(&q, 196, 588 + 392) - 0.005) < 1e-12);   /* middle of the 784-cycle */
    CHECK(schedule_lr(&q, 196, 1371) > 0);

    /* cycle_len = 4: 8 cycles of 784, the first 40 batches at 1e-4. */
    fit_phase r = { .lr = 1e-2, .n_cycle = 8, .cycle_len = 4, .cycle_mult = 1, .wd = 0 };
    CHECK(fabs(schedule_lr(&r, 196, 39) - 1e-4) < 1e-15);
    CHECK(schedule_lr(&r, 196, 40) > 0.0099);
    for (int c = 1; c < 8; c++) CHECK(fabs(schedule_lr(&r, 196, 784L * c) - 0.01) < 1e-15);
    /* Warm-up length ceil(nb0/20) for a B that is not a multiple of 20: 12*1/20 = 0.6 -> 1 batch. */
    CHECK(schedule_lr(&p, 12, 0) == p.lr / 100);
    CHECK(schedule_lr(&p, 12, 1) != p.lr / 100);
}

/* fastai 0.7 sgdr.py CosAnneal, line by line. */
typedef struct cos_anneal { double lr; double nb; int cycle_mult, cycle_iter, iteration; } cos_anneal;
static double calc_lr(cos_anneal *s)
{
    if (s->iteration < s->nb / 20) { s->cycle_iter += 1; return s->lr / 100; }
    double cos_out = cos(M_PI * s->cycle_iter / s->nb) + 1;
    s->cycle_iter += 1;
    if (s->cycle_iter == s->nb) { s->cycle_iter = 0; s->nb *= s->cycle_mult; }
    return s->lr / 2 * cos_out;
}

static void matches_fastai_transliteration(void)
{
    const int cfg[][3] = { { 196, 1, 1 }, { 196, 1, 2 }, { 196, 4, 1 }, { 12, 1, 2 }, { 13, 2, 3 }, { 40, 3, 1 } };
    for (unsigned k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        fit_phase p = { .lr = 0.05, .n_cycle = 3, .cycle_len = cfg[k][1], .cycle_mult = cfg[k][2], .wd = 0 };
        cos_anneal s = { p.lr, (double)cfg[k][0] * p.cycle_len, p.cycle_mult, 0, 0 };
        long n = schedule_epochs(&p) * cfg[k][0];
        int bad = 0;
        for (long t = 0; t < n; t++) {
            double want = calc_lr(&s);   /* on_train_begin / on_batch_end: lr for batch t */
            s.iteration++;
            bad += schedule_lr(&p, cfg[k][0], t) != want;
        }
        CHECK(bad == 0);
    }
}

static void lr_finder_schedule(void)
{
    double mult = pow(10 / 1e-5, 1.0 / 196);
    CHECK(fabs(mult - 1.0730309) < 1e-7);
    CHECK(schedule_lrfind_lr(1e-5, 10, 196, 0) == 1e-5);
    CHECK(fabs(schedule_lrfind_lr(1e-5, 10, 196, 195) - 9.3194) < 1e-4);
    CHECK(fabs(schedule_lrfind_lr(1e-5, 10, 196, 1) / 1e-5 - 1.0730309) < 1e-7);
    CHECK(schedule_lrfind_lr(1e-5, 10, 196, 195) < 10);
}

static void ema_debiased(void)
{
    loss_ema e;
    loss_ema_init(&e);
    CHECK(loss_ema_value(&e) == 0);
    CHECK_NEAR(loss_ema_update(&e, 2.0), 2.0, 1e-12);              /* debiasing makes the first value exact */
    CHECK_NEAR(loss_ema_update(&e, 1.0), 0.0592 / 0.0396, 1e-12);  /* (0.98*0.04 + 0.02) / (1 - 0.98^2) */
    CHECK_NEAR(0.0592 / 0.0396, 1.4949495, 1e-7);
    /* A constant loss stays exactly that loss after debiasing. */
    loss_ema_init(&e);
    double v = 0;
    for (int i = 0; i < 300; i++) v = loss_ema_update(&e, 0.75);
    CHECK_NEAR(v, 0.75, 1e-12);
    /* Not an epoch mean: after a jump the value moves by 2% per batch, not at once. */
    v = loss_ema_update(&e, 1.75);
    CHECK_NEAR(v, 0.75 + 0.02 * 1.0 / (1 - pow(0.98, 301)), 1e-9);
}

static long run_rule(const double *loss, long n)
{
    lr_finder_rule r;
    lr_finder_rule_init(&r);
    for (long t = 0; t < n; t++)
        if (lr_finder_rule_step(&r, t, loss[t])) return t;
    return -1;
}

static void lr_finder_stop_rule(void)
{
    double loss[200];
    /* Falls linearly to 1.41 at t = 59, then grows 10% per batch: 1.41*1.1^k > 5.64 first at k = 15. */
    for (int t = 0; t < 200; t++) loss[t] = t < 60 ? 2.0 - 0.01 * t : 1.41 * pow(1.1, t - 59);
    CHECK(run_rule(loss, 200) == 74);
    /* Best is only tracked from t = 11: a tiny loss at t <= 10 must not trigger a stop later. */
    for (int t = 0; t < 200; t++) loss[t] = 2.0;
    loss[5] = 0.1;
    CHECK(run_rule(loss, 200) == -1);
    loss[11] = 0.1;                       /* ... but at t = 11 it counts */
    CHECK(run_rule(loss, 200) == 12);     /* 2.0 > 4*0.1 */
    /* NaN and +inf stop at once, even before t = 11. */
    for (int t = 0; t < 200; t++) loss[t] = 2.0;
    loss[3] = NAN;
    CHECK(run_rule(loss, 200) == 3);
    loss[3] = 2.0;
    loss[30] = INFINITY;
    CHECK(run_rule(loss, 200) == 30);
    /* Exactly 4*best does not stop (strict >). */
    for (int t = 0; t < 200; t++) loss[t] = t == 20 ? 4.0 : 1.0;
    CHECK(run_rule(loss, 200) == -1);
}

static void validation_is_weighted(void)
{
    /* 10,000 images at 256: 39 full batches and a last one of 16 (all trucks in fastai's order).
     * Full batches: loss 1.0, 128 correct; the last: loss 3.0, 0 correct. */
    val_mean v;
    val_mean_init(&v);
    CHECK(isnan(val_mean_loss(&v)));
    for (int b = 0; b < 39; b++) val_mean_add(&v, 1.0, 128, 256);
    val_mean_add(&v, 3.0, 0, 16);
    CHECK(v.count == 10000);
    CHECK_NEAR(val_mean_loss(&v), (39 * 256 * 1.0 + 16 * 3.0) / 10000, 1e-12);   /* 1.0032 */
    CHECK_NEAR(val_mean_accuracy(&v), 39 * 128 / 10000.0, 1e-12);               /* 0.4992 */
    /* The unweighted (NB) mean would be 1.05 and 0.4875: the weighted one is different. */
    CHECK(fabs(val_mean_loss(&v) - (39 * 1.0 + 3.0) / 40) > 0.04);
    CHECK(fabs(val_mean_accuracy(&v) - 39 * 0.5 / 40) > 0.01);
}

/* airbench: 50,000 images at 1024 with drop_last = 48 batches, 9.9 epochs = ceil(475.2) = 476
 * steps in 10 epochs; fastai phases keep nb * epochs. */
static void fractional_epochs(void)
{
    fit_phase a = { .lr = 1, .epochs = 9.9 }, b = { .lr = 1, .n_cycle = 3, .cycle_len = 1, .cycle_mult = 2 };
    CHECK(schedule_epochs(&a) == 10);
    CHECK(schedule_phase_steps(&a, 48) == 476);
    CHECK(schedule_phase_steps(&b, 196) == 7 * 196);
    fit_phase c = { .lr = 1, .epochs = 2 };
    CHECK(schedule_epochs(&c) == 2 && schedule_phase_steps(&c, 11) == 22);
}

/* airbench's get_lr, written as in its source (Python semantics in double). */
static double airbench_get_lr(long step, long total)
{
    long warmup = (long)(total * 0.23), warmdown = total - warmup;
    if (step < warmup) {
        double frac = (double)step / warmup;
        return 0.2 * (1 - frac) + 1.0 * frac;
    }
    double frac = (double)(step - warmup) / warmdown;
    return 1.0 * (1 - frac) + 0.07 * frac;
}

static void triangle_schedule(void)
{
    fit_phase p = { .lr = 0.5, .epochs = 9.9, .schedule = SCHEDULE_TRIANGLE, .tri_start = 0.2, .tri_peak = 0.23,
                    .tri_end = 0.07 };
    int bad = 0;
    for (long t = 0; t < 476; t++) bad += schedule_lr(&p, 48, t) != 0.5 * airbench_get_lr(t, 476);
    CHECK(bad == 0);
    CHECK(schedule_triangle(476, 0, 0.2, 0.23, 0.07) == 0.2);
    CHECK(schedule_triangle(476, 109, 0.2, 0.23, 0.07) == 1.0);     /* int(476 * 0.23) = 109: the peak */
    CHECK(fabs(schedule_triangle(476, 476, 0.2, 0.23, 0.07) - 0.07) < 1e-15);
    /* np.interp between the knots: linear */
    CHECK_NEAR(schedule_triangle(476, 50, 0.2, 0.23, 0.07), 0.2 + 0.8 * 50 / 109.0, 1e-12);
    CHECK(schedule_triangle(10, 0, 0.3, 0.0, 0.1) == 1.0);           /* no warm-up */
}

/* alpha_schedule = 0.95**5 * (arange(T+1) / T)**3 in float32. */
static void lookahead_decay(void)
{
    CHECK(schedule_lookahead_decay(0, 476, 0.95, 5, 3) == 0.0);
    float x = (float)238 / (float)476, want = (float)pow(0.95, 5) * (x * x * x);
    CHECK(schedule_lookahead_decay(238, 476, 0.95, 5, 3) == (double)want);
    CHECK(schedule_lookahead_decay(476, 476, 0.95, 5, 3) == (double)(float)pow(0.95, 5));
    CHECK(schedule_lookahead_decay(100, 476, 0.95, 5, 3) < schedule_lookahead_decay(200, 476, 0.95, 5, 3));
}

int main(void)
{
    TEST_RUN(fractional_epochs);
    TEST_RUN(triangle_schedule);
    TEST_RUN(lookahead_decay);
    TEST_RUN(epoch_counts);
    TEST_RUN(epoch_counts_do_not_overflow);
    TEST_RUN(constant_without_cycle_len);
    TEST_RUN(cos_anneal_worked_values);
    TEST_RUN(matches_fastai_transliteration);
    TEST_RUN(lr_finder_schedule);
    TEST_RUN(ema_debiased);
    TEST_RUN(lr_finder_stop_rule);
    TEST_RUN(validation_is_weighted);
    TEST_EXIT();
}
