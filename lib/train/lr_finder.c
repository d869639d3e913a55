/* lr_finder.c: fastai's lr_find: an exponential lr sweep stopped by the loss (see lr_finder.h). */
#include "train/lr_finder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "core/errors.h"
#include "core/progress.h"
#include "core/signals.h"
#include "train/loss_ema.h"
#include "train/optim_rules.h"
#include "train/schedule.h"

void lr_finder_rule_init(lr_finder_rule *r) { r->best = 1e9; }

int lr_finder_rule_step(lr_finder_rule *r, long t, double smoothed)
{
    if (isnan(smoothed) || smoothed > 4 * r->best) return 1;
    if (smoothed < r->best && t > 10) r->best = smoothed;
    return 0;
}

int lr_finder_run(net *n, const train_params *p, loader *trn, int show_progress, lr_finder_result *r)
{
    return lr_finder_run_io(n, p, trn, show_progress, NULL, r);
}

int lr_finder_run_io(net *n, const train_params *p, loader *trn, int show_progress, const lr_finder_io *io,
                     lr_finder_result *r)
{
    memset(r, 0, sizeof *r);
    if (net_params_save(n) != C_OK) return C_ERR;   /* the weights to restore: before any resume */
    net_reset_momentum(n);
    /* the first phase's Nesterov and lr groups and epoch 0's frozen tensors: the sweep steps as
     * the training it is for (not its schedule, lookahead or decoupled decay: lr_find.wd) */
    if (optim_rules_set(n, p, NULL) != C_OK || optim_rules_freeze(n, p, 0) != C_OK) return C_ERR;
    trn->limit = p->lrf_limit;   /* read by loader_start only */
    /* Its own shuffle and augmentation pass, disjoint from every training epoch. */
    if (loader_start(trn, AUGMENT_PASS_LRFIND, AUGMENT_PASS_LRFIND) != C_OK) return C_ERR;
    long nb = trn->n_batches;
    r->nb = nb;
    r->lr = xmalloc(sizeof(double) * (size_t)(nb ? nb : 1));
    r->loss = xmalloc(sizeof(double) * (size_t)(nb ? nb : 1));
    lr_finder_pos pos = { 0 };
    loss_ema_init(&pos.ema);
    lr_finder_rule rule;
    lr_finder_rule_init(&rule);
    pos.best = rule.best;
    pos.lr = r->lr;
    pos.loss = r->loss;
    int resumed = io && io->resume ? io->resume(io->ctx, n, &pos, nb) : 0;
    if (resumed < 0) return C_ERR;
    if (resumed == 1) {
        rule.best = pos.best;
        r->n = pos.n;
        if (loader_start_at(trn, AUGMENT_PASS_LRFIND, AUGMENT_PASS_LRFIND, pos.t) != C_OK) return C_ERR;
    }
    loss_ema ema = pos.ema;
    progress bar;
    memset(&bar, 0, sizeof bar);
    if (show_progress) {
        progress_init(&bar, "lr_find", nb);
        if (pos.t) progress_update(&bar, pos.t);
    }
    long t = pos.t;
    const batch *b;
    int rc;
    for (; (rc = loader_next(trn, &b)) == C_OK && b; t++) {
        double lr = schedule_lrfind_lr(p->lrf_start, p->lrf_end, nb, t);
        /* device batches (x NULL) are in the net's tensors already; the stop rule needs each loss
         * before the next step, so it is read at once */
        long tk = net_train_step(n, b->x, b->x ? b->y : NULL, b->n, p->seed, AUGMENT_PASS_LRFIND + (uint32_t)t,
                                 (float)lr, (float)p->momentum, (float)p->lrf_wd);
        if (tk < 0) {
            if (show_progress) progress_finish(&bar);
            return C_ERR;
        }
        float loss;
        if (net_loss_result(n, tk, &loss) != C_OK) {
            if (show_progress) progress_finish(&bar);
            return C_ERR;
        }
        double smooth = loss_ema_update(&ema, loss);
        if (lr_finder_rule_step(&rule, t, smooth)) {
            r->stopped_early = 1;
            break;
        }
        r->lr[r->n] = lr;
        r->loss[r->n] = smooth;
        r->n++;
        if (show_progress) {
            progress_set_field(&bar, "loss=%.4f", smooth);
            progress_update(&bar, t + 1);
        }
        int stop = signals_stop_requested();
        if (io && io->save && t + 1 < nb && (stop || (io->every > 0 && (t + 1) % io->every == 0))) {
            pos.t = t + 1;
            pos.n = r->n;
            pos.ema = ema;
            pos.best = rule.best;
            if (io->save(io->ctx, n, &pos) != C_OK) {
                if (show_progress) progress_finish(&bar);
                return C_ERR;
            }
        }
        if (stop && t + 1 < nb) {   /* the last iteration just finishes the sweep */
            r->interrupted = stop;
            break;
        }
    }
    if (show_progress) progress_finish(&bar);
    if (rc != C_OK) return C_ERR;
    return net_params_restore(n);
}

void lr_finder_result_free(lr_finder_result *r)
{
    free(r->lr);
    free(r->loss);
    memset(r, 0, sizeof *r);
}

cJSON *lr_finder_json(const lr_finder_result *r, const train_params *p, const char *arch)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "arch", arch);
    cJSON_AddNumberToObject(o, "start_lr", p->lrf_start);
    cJSON_AddNumberToObject(o, "end_lr", p->lrf_end);
    cJSON_AddNumberToObject(o, "iterations", (double)r->nb);
    cJSON_AddBoolToObject(o, "stopped_early", r->stopped_early);
    cJSON *lr = cJSON_AddArrayToObject(o, "lr"), *loss = cJSON_AddArrayToObject(o, "loss");
    for (long i = 0; i < r->n; i++) {
        cJSON_AddItemToArray(lr, cJSON_CreateNumber(r->lr[i]));
        /* JSON has no NaN/inf; recorded values are finite (the stop rule caught the rest). */
        cJSON_AddItemToArray(loss, cJSON_CreateNumber(r->loss[i]));
    }
    return o;
}
