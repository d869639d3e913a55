/* trainer.c: the fit() loop over the phases, with save points and stops (see trainer.h). */
#include "train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/errors.h"
#include "core/signals.h"
#include "core/progress.h"
#include "train/loss_ema.h"
#include "train/optim_rules.h"
#include "train/schedule.h"
#include "train/val_mean.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void trainer_init(trainer *t, net *n, const train_params *p, loader *trn, loader *val)
{
    memset(t, 0, sizeof *t);
    t->net = n;
    t->p = p;
    t->trn = trn;
    t->val = val;
    t->loss_lag = 1;
}

void trainer_free(trainer *t)
{
    free(t->epochs);
    free(t->it_lr);
    free(t->it_loss);
    t->epochs = NULL;
    t->it_lr = t->it_loss = NULL;
}

void trainer_record_iteration(trainer *t, double lr, double loss)
{
    if (t->n_it == t->cap_it) {
        t->cap_it = t->cap_it ? 2 * t->cap_it : 1024;
        t->it_lr = xrealloc(t->it_lr, sizeof(double) * (size_t)t->cap_it);
        t->it_loss = xrealloc(t->it_loss, sizeof(double) * (size_t)t->cap_it);
    }
    t->it_lr[t->n_it] = lr;
    t->it_loss[t->n_it] = loss;
    t->n_it++;
}

int trainer_validate(net *n, loader *val, double *loss, double *accuracy)
{
    int classes = net_classes(n);
    float *logp = xmalloc(sizeof(float) * (size_t)net_max_batch(n) * classes);
    val_mean vm;
    val_mean_init(&vm);
    if (loader_start(val, 0, 0) != C_OK) { free(logp); return C_ERR; }
    const batch *b;
    int rc;
    while ((rc = loader_next(val, &b)) == C_OK && b) {
        if (net_forward(n, b->x, b->n, 0, 0, 0) != C_OK) { free(logp); return C_ERR; }
        /* device batches (x NULL) have their labels on the device already; the output's download
         * is the one wait per batch, the loss is ready by then */
        long tk = net_loss_queue(n, b->x ? b->y : NULL, b->n);
        float bl;
        if (tk < 0 || net_output(n, logp) != C_OK || net_loss_result(n, tk, &bl) != C_OK) { free(logp); return C_ERR; }
        double batch_loss = bl;
        long correct = 0;
        for (int i = 0; i < b->n; i++) {
            const float *r = logp + (size_t)i * classes;
            int best = 0;
            for (int k = 1; k < classes; k++)
                if (r[k] > r[best]) best = k;   /* first maximum wins, like torch.max */
            correct += best == b->y[i];
        }
        /* fastai FINAL: np.average(batch means, weights=batch sizes). */
        val_mean_add(&vm, batch_loss, correct, b->n);
    }
    free(logp);
    if (rc != C_OK) return C_ERR;
    *loss = val_mean_loss(&vm);
    *accuracy = val_mean_accuracy(&vm);
    return C_OK;
}

/* Python's str(np.round(v, 6)): six decimals without trailing zeros (at least one digit). */
static void fmt6(char *out, size_t cap, double v)
{
    if (!isfinite(v)) { snprintf(out, cap, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"); return; }
    snprintf(out, cap, "%.6f", v);
    char *dot = strchr(out, '.');
    if (!dot) return;
    char *end = out + strlen(out) - 1;
    while (end > dot + 1 && *end == '0') *end-- = '\0';
    if (!strcmp(out, "-0.0")) snprintf(out, cap, "0.0");
}

void trainer_print_header(FILE *f)
{
    /* layout = "{!s:10} " * len(names) */
    fprintf(f, "%-10s %-10s %-10s %-10s \n", "epoch", "trn_loss", "val_loss", "accuracy");
    fflush(f);
}

void trainer_print_row(FILE *f, long epoch, const double *vals, int n)
{
    /* layout = "{!s:^10}" + " {!s:10}" * len(values) */
    char e[32], v[64];
    snprintf(e, sizeof e, "%ld", epoch);
    int len = (int)strlen(e), left = (10 - len) / 2, right = 10 - len - left;
    if (len >= 10) left = right = 0;
    fprintf(f, "%*s%s%*s", left, "", e, right, "");
    for (int i = 0; i < n; i++) {
        fmt6(v, sizeof v, vals[i]);
        fprintf(f, " %-10s", v);
    }
    fputc('\n', f);
    fflush(f);
}

/* A queued training step whose loss has not been read yet. */
typedef struct pending_step {
    long ticket, it, index, epoch;
    double lr;
    int n;
} pending_step;

/* Reads the oldest queued step's loss and books it: NaN stop, smoothed loss, records, bar. */
static int settle(trainer *t, pending_step *q, int *nq, loss_ema *ema, progress *bar)
{
    pending_step s = q[0];
    memmove(q, q + 1, sizeof *q * (size_t)--*nq);
    float loss;
    if (net_loss_result(t->net, s.ticket, &loss) != C_OK) {
        if (t->progress) progress_finish(bar);
        return C_ERR;
    }
    if (!isfinite(loss)) {
        if (t->progress) progress_finish(bar);
        t->diverged = 1;
        return err_msg(NULL, "epoch %ld, iteration %ld (batch %ld of the epoch): loss is %s", s.epoch, s.it, s.index,
                       isnan(loss) ? "nan" : "infinite");
    }
    double smooth = loss_ema_update(ema, loss);
    trainer_record_iteration(t, s.lr, loss);
    t->images += s.n;
    if (t->progress) {
        progress_set_field(bar, "loss=%.4f", smooth);
        progress_update(bar, s.index + 1);
    }
    return C_OK;
}

/* Reads every queued loss (a save point needs the records complete). */
static int drain(trainer *t, pending_step *q, int *nq, progress *bar)
{
    while (*nq > 0)
        if (settle(t, q, nq, &t->pos.ema, bar) != C_OK) return C_ERR;
    return C_OK;
}

static int save_point(trainer *t, double run_start, double prior_seconds)
{
    t->train_seconds = prior_seconds + now_s() - run_start;
    return t->save_state ? t->save_state(t, t->save_ctx) : C_OK;
}

/* The table rows of the epochs a resumed run has already done. */
static void print_done_rows(trainer *t)
{
    long first = 0;
    int ph = 0;
    for (long i = 0; i < t->n_epochs; i++) {
        const epoch_rec *r = &t->epochs[i];
        while (ph < r->phase) first += schedule_epochs(&t->p->phases[ph++]);
        double v[3] = { r->trn_loss, r->val_loss, r->accuracy };
        trainer_print_row(t->table, r->epoch - first, v, 3);
    }
}

/* Lookahead after step s (1-based within the phase) of steps: every la_every steps the EMA
 * update with the scheduled decay, and after the last step decay 1 (airbench's order). */
static int lookahead_after(trainer *t, long s, long steps)
{
    const train_params *p = t->p;
    if (!p->la_every) return C_OK;
    if (s % p->la_every == 0 &&
        net_lookahead_update(t->net, schedule_lookahead_decay(s, steps, p->la_decay, p->la_every, p->la_power)) != C_OK)
        return C_ERR;
    if (s >= steps && net_lookahead_update(t->net, 1.0) != C_OK) return C_ERR;
    return C_OK;
}

void trainer_alloc_epochs(trainer *t)
{
    if (!t->epochs) t->epochs = xcalloc((size_t)train_params_epochs(t->p), sizeof *t->epochs);
}

int trainer_run(trainer *t)
{
    const train_params *p = t->p;
    double run_start = now_s(), prior_seconds = t->resumed ? t->train_seconds : 0;
    trainer_alloc_epochs(t);
    trainer_pos *pos = &t->pos;
    if (!t->resumed) memset(pos, 0, sizeof *pos);
    t->stopped = 0;
    if (t->table) {
        trainer_print_header(t->table);
        print_done_rows(t);
    }
    long first_of_phase = 0;     /* run epoch where phase ph begins */
    for (int ph = 0; ph < p->n_phases; first_of_phase += schedule_epochs(&p->phases[ph]), ph++) {
        const fit_phase *f = &p->phases[ph];
        long n_ep = schedule_epochs(f);
        if (pos->epoch >= first_of_phase + n_ep) continue;   /* done before a resume */
        if (optim_rules_set(t->net, p, f) != C_OK) return C_ERR;
        if (pos->epoch == first_of_phase && pos->batch == 0) {
            loss_ema_init(&pos->ema);
            net_reset_momentum(t->net);      /* a new optim.SGD per fit() call */
            pos->it = 0;                     /* t of the phase */
            /* airbench's LookaheadState(model): the copy starts from the net (a resumed run
             * restored its copy from the state) */
            if (p->la_every && net_lookahead_start(t->net) != C_OK) return C_ERR;
        }
        /* fractional epochs: the phase ends after ceil(nb * epochs) steps, inside its last epoch */
        long steps = schedule_phase_steps(f, loader_epoch_batches(t->trn));
        int capped = f->epochs > 0;
        for (; pos->epoch < first_of_phase + n_ep; pos->epoch++, pos->batch = 0) {
            long epoch = pos->epoch, e = epoch - first_of_phase;
            double ep_start = now_s();
            if (optim_rules_freeze(t->net, p, epoch) != C_OK) return C_ERR;
            if (loader_start_at(t->trn, (uint32_t)epoch, (uint32_t)epoch, pos->batch) != C_OK) return C_ERR;
            long nb = t->trn->n_batches;
            t->batches_per_epoch = nb;
            char desc[48];
            snprintf(desc, sizeof desc, "epoch %ld", epoch);
            progress bar;
            memset(&bar, 0, sizeof bar);
            if (t->progress) progress_init(&bar, desc, nb);
            int lag = t->loss_lag < 0 ? 0 : t->loss_lag >= BACKEND_LOSS_SLOTS ? BACKEND_LOSS_SLOTS - 1 : t->loss_lag;
            pending_step q[BACKEND_LOSS_SLOTS];
            int nq = 0;
            const batch *b;
            int rc;
            while (!(capped && pos->it >= steps) && (rc = loader_next(t->trn, &b)) == C_OK && b) {
                double lr = schedule_lr(f, nb, pos->it);
                /* device batches (x NULL) are in the net's input and label tensors already */
                long tk = net_train_step(t->net, b->x, b->x ? b->y : NULL, b->n, p->seed, pos->step, (float)lr,
                                         (float)p->momentum, (float)f->wd);
                if (tk < 0) return C_ERR;
                q[nq++] = (pending_step){ tk, pos->it, b->index, epoch, lr, b->n };
                pos->it++;
                pos->step++;
                pos->batch++;
                if (lookahead_after(t, pos->it, steps) != C_OK) return C_ERR;
                /* the GPU runs this step while the host reads the loss of an earlier one */
                if (nq > lag && settle(t, q, &nq, &pos->ema, &bar) != C_OK) return C_ERR;
                int epoch_end = pos->batch == nb || (capped && pos->it >= steps);
                if (!t->save_state || epoch_end) continue;   /* the epoch end saves anyway */
                int stop = signals_stop_requested();
                if (stop || (t->state_every > 0 && pos->step % t->state_every == 0)) {
                    if (drain(t, q, &nq, &bar) != C_OK || save_point(t, run_start, prior_seconds) != C_OK) {
                        if (t->progress) progress_finish(&bar);
                        return C_ERR;
                    }
                    if (stop) {
                        if (t->progress) progress_finish(&bar);
                        t->loop_seconds += now_s() - ep_start;
                        t->stopped = stop;
                        return C_OK;
                    }
                }
            }
            if (rc != C_OK) return C_ERR;
            if (drain(t, q, &nq, &bar) != C_OK) return C_ERR;
            if (t->progress) progress_finish(&bar);
            t->loop_seconds += now_s() - ep_start;
            /* the phase is over (its last update, decay 1, made the net the copy): no copy to keep */
            if (p->la_every && epoch + 1 == first_of_phase + n_ep) net_lookahead_stop(t->net);
            epoch_rec *r = &t->epochs[epoch];
            r->phase = ph;
            r->epoch = epoch;
            r->trn_loss = loss_ema_value(&pos->ema);
            if (trainer_validate(t->net, t->val, &r->val_loss, &r->accuracy) != C_OK) return C_ERR;
            r->seconds = now_s() - ep_start;
            t->n_epochs = epoch + 1;
            if (t->table) {
                double v[3] = { r->trn_loss, r->val_loss, r->accuracy };
                /* fastai numbers epochs from 0 within each fit() call. */
                trainer_print_row(t->table, e, v, 3);
            }
            if (t->save_state) {
                pos->epoch++;        /* the state says: next epoch, batch 0 */
                pos->batch = 0;
                int src = save_point(t, run_start, prior_seconds);
                pos->epoch--;
                if (src != C_OK) return C_ERR;
                int stop = signals_stop_requested();
                if (stop && epoch + 1 < train_params_epochs(p)) {
                    pos->epoch++;
                    t->stopped = stop;
                    return C_OK;
                }
            }
        }
    }
    t->train_seconds = prior_seconds + now_s() - run_start;
    t->graph_steps = net_graph_steps(t->net);
    return C_OK;
}

static cJSON *number_array(const double *v, long n)
{
    cJSON *a = cJSON_CreateArray();
    for (long i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

/* "rules": what airbench's params keys made the run do; absent when it used none (the notebook's
 * models' metrics stay as they were). */
static void add_rules_json(cJSON *o, const trainer *t)
{
    const train_params *p = t->p;
    int phase_rules = 0;
    for (int i = 0; i < p->n_phases; i++) {
        const fit_phase *f = &p->phases[i];
        phase_rules |= f->epochs > 0 || f->kilostep || f->wd_decoupled || f->schedule != SCHEDULE_FASTAI;
    }
    if (!(train_params_sgd_rule(p) || p->label_smoothing != 0 || p->loss_sum || p->drop_last || p->pad_mode ||
          p->crop || p->flip_mode || p->la_every || p->n_freeze || phase_rules))
        return;
    cJSON *r = cJSON_AddObjectToObject(o, "rules");
    cJSON_AddStringToObject(r, "optimizer", p->nesterov ? "sgd_nesterov" : "sgd");
    cJSON_AddNumberToObject(r, "bias_lr_scale", p->bias_lr_scale > 0 ? p->bias_lr_scale : 1);
    cJSON_AddNumberToObject(r, "label_smoothing", p->label_smoothing);
    cJSON_AddStringToObject(r, "loss_reduction", p->loss_sum ? "sum" : "mean");
    cJSON_AddBoolToObject(r, "drop_last", p->drop_last);
    cJSON_AddStringToObject(r, "pad_mode", p->pad_mode == AUGMENT_PAD_REFLECT ? "reflect" : "reflect_edge");
    cJSON_AddStringToObject(r, "crop", p->crop == AUGMENT_CROP_ALL ? "all" : "fastai");
    cJSON_AddStringToObject(r, "flip_mode", p->flip_mode == AUGMENT_FLIP_ALTERNATE ? "alternate" : "random");
    if (p->la_every) {
        cJSON *la = cJSON_AddObjectToObject(r, "lookahead");
        cJSON_AddNumberToObject(la, "every", p->la_every);
        cJSON_AddNumberToObject(la, "decay", p->la_decay);
        cJSON_AddNumberToObject(la, "power", p->la_power);
    }
    cJSON *fz = cJSON_AddArrayToObject(r, "freeze");
    for (int i = 0; i < p->n_freeze; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "tensor", p->freeze[i].tensor);
        cJSON_AddNumberToObject(e, "after_epochs", (double)p->freeze[i].after_epochs);
        cJSON_AddItemToArray(fz, e);
    }
    cJSON *ph = cJSON_AddArrayToObject(r, "phases");
    for (int i = 0; i < p->n_phases; i++) {
        const fit_phase *f = &p->phases[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "lr", f->lr);     /* as used: kilostep already applied */
        cJSON_AddNumberToObject(e, "wd", f->wd);
        cJSON_AddStringToObject(e, "wd_mode", f->wd_decoupled ? "decoupled" : "coupled");
        cJSON_AddStringToObject(e, "schedule", f->schedule == SCHEDULE_TRIANGLE ? "triangle" : "fastai");
        cJSON_AddNumberToObject(e, "steps", (double)schedule_phase_steps(f, t->batches_per_epoch));
        cJSON_AddItemToArray(ph, e);
    }
}

cJSON *trainer_metrics_json(const trainer *t, const char *arch, const char *device)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "arch", arch);
    cJSON_AddStringToObject(o, "device", device);
    cJSON_AddNumberToObject(o, "seed", (double)t->p->seed);
    cJSON_AddNumberToObject(o, "batch_size", t->p->batch_size);
    cJSON_AddNumberToObject(o, "batches_per_epoch", (double)t->batches_per_epoch);
    cJSON_AddNumberToObject(o, "train_images", (double)t->images);
    cJSON_AddNumberToObject(o, "graph_steps", (double)t->graph_steps);   /* GPU: steps replayed from a graph */
    /* Wall-clock fields (the only ones that differ between identical runs): */
    cJSON_AddNumberToObject(o, "train_seconds", t->train_seconds);
    cJSON_AddNumberToObject(o, "loop_seconds", t->loop_seconds);
    cJSON_AddNumberToObject(o, "loader_wait_seconds", t->trn->wait_s);
    cJSON_AddNumberToObject(o, "images_per_second", t->loop_seconds > 0 ? t->images / t->loop_seconds : 0);
    add_rules_json(o, t);
    cJSON *eps = cJSON_AddArrayToObject(o, "epochs");
    for (long i = 0; i < t->n_epochs; i++) {
        const epoch_rec *r = &t->epochs[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "phase", r->phase);
        cJSON_AddNumberToObject(e, "epoch", (double)r->epoch);
        cJSON_AddNumberToObject(e, "trn_loss", r->trn_loss);
        cJSON_AddNumberToObject(e, "val_loss", r->val_loss);
        cJSON_AddNumberToObject(e, "accuracy", r->accuracy);
        cJSON_AddNumberToObject(e, "seconds", r->seconds);
        cJSON_AddItemToArray(eps, e);
    }
    cJSON *its = cJSON_AddObjectToObject(o, "iterations");
    cJSON_AddItemToObject(its, "lr", number_array(t->it_lr, t->n_it));
    cJSON_AddItemToObject(its, "loss", number_array(t->it_loss, t->n_it));
    return o;
}
