/* train_state.c: save and resume a training run (see train_state.h). */
#include "train/train_state.h"

#include <math.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/errors.h"
#include "io/download.h"
#include "io/safetensors.h"
#include "train/schedule.h"
#include "train/train_state_check.h"

#define STATE_FORMAT "cifar-train-state 2"

static int hash(const char *path, char out[65]) { return download_sha256_file(path, out); }

int train_identity_compute(train_identity *id, const train_setup *s, const char *kind)
{
    memset(id, 0, sizeof *id);
    char path[4096];
    if (hash(s->params_path, id->params) != C_OK || hash(s->model_path, id->model) != C_OK ||
        hash(s->stats_path, id->stats) != C_OK)
        return C_ERR;
    snprintf(path, sizeof path, "%s/train.safetensors", s->data_dir);
    if (hash(path, id->train) != C_OK) return C_ERR;
    if (s->need_test) {
        snprintf(path, sizeof path, "%s/test.safetensors", s->data_dir);
        if (hash(path, id->test) != C_OK) return C_ERR;
    }
    if (hash("/proc/self/exe", id->program) != C_OK) return C_ERR;
    snprintf(id->threads, sizeof id->threads, "%d", s->threads);
    snprintf(id->backend, sizeof id->backend, "%s", s->be.iface->name);
    snprintf(id->kind, sizeof id->kind, "%s", kind);
    return C_OK;
}

char *train_state_path(const char *path, const char *ext, const char *suffix)
{
    size_t n = strlen(path), k = strlen(ext);
    if (n > k && !strcmp(path + n - k, ext)) n -= k;
    char *out = xmalloc(n + strlen(suffix) + 1);
    memcpy(out, path, n);
    strcpy(out + n, suffix);
    return out;
}

/* The identity fields in the order they are compared, with what a mismatch means. */
typedef struct id_field { const char *key, *what; size_t off; } id_field;
static const id_field id_fields[] = {
    { "kind", "another stage", offsetof(train_identity, kind) },
    { "params_sha256", "another params file", offsetof(train_identity, params) },
    { "model_sha256", "another model file", offsetof(train_identity, model) },
    { "stats_sha256", "another stats file", offsetof(train_identity, stats) },
    { "train_sha256", "other training data", offsetof(train_identity, train) },
    { "test_sha256", "other test data", offsetof(train_identity, test) },
    { "program_sha256", "another build of the program", offsetof(train_identity, program) },
    { "threads", "another thread count", offsetof(train_identity, threads) },
    { "backend", "another backend", offsetof(train_identity, backend) },
};
#define N_ID ((int)(sizeof id_fields / sizeof id_fields[0]))

static const char *id_value(const train_identity *id, int k) { return (const char *)id + id_fields[k].off; }

/* Buffers of the net's tensors and momentum buffers, added to w (freed by net_bufs_free). */
typedef struct net_bufs { int n; float **buf; char (*name)[128]; } net_bufs;

static int add_net(safetensors_writer *w, net *n, net_bufs *b)
{
    int nt = net_n_tensors(n), empty = net_momentum_empty(n), la = net_lookahead_active(n), rc = C_OK;
    b->n = 3 * nt;
    b->buf = xcalloc((size_t)b->n, sizeof *b->buf);
    b->name = xcalloc((size_t)b->n, sizeof *b->name);
    for (int i = 0; i < nt && rc == C_OK; i++) {
        const char *name;
        int ndim, shape[4], trainable;
        net_tensor_info(n, i, &name, &ndim, shape, &trainable);
        int64_t sh[4];
        for (int k = 0; k < ndim; k++) sh[k] = shape[k];
        size_t numel = net_tensor_numel(n, i);
        b->buf[2 * i] = xmalloc(sizeof(float) * (numel ? numel : 1));
        rc = net_tensor_get(n, i, b->buf[2 * i]);
        snprintf(b->name[2 * i], sizeof b->name[0], "net.%s", name);
        if (rc == C_OK) rc = safetensors_writer_add(w, b->name[2 * i], SAFETENSORS_F32, ndim, sh, b->buf[2 * i]);
        if (rc == C_OK && trainable && !empty) {
            b->buf[2 * i + 1] = xmalloc(sizeof(float) * (numel ? numel : 1));
            rc = net_momentum_get(n, i, b->buf[2 * i + 1]);
            snprintf(b->name[2 * i + 1], sizeof b->name[0], "mom.%s", name);
            if (rc == C_OK) rc = safetensors_writer_add(w, b->name[2 * i + 1], SAFETENSORS_F32, ndim, sh, b->buf[2 * i + 1]);
        }
        if (rc == C_OK && la) {   /* the lookahead copy of every tensor */
            int k = 2 * nt + i;
            b->buf[k] = xmalloc(sizeof(float) * (numel ? numel : 1));
            rc = net_lookahead_get(n, i, b->buf[k]);
            snprintf(b->name[k], sizeof b->name[0], "la.%s", name);
            if (rc == C_OK) rc = safetensors_writer_add(w, b->name[k], SAFETENSORS_F32, ndim, sh, b->buf[k]);
        }
    }
    return rc;
}

static void net_bufs_free(net_bufs *b)
{
    for (int i = 0; i < b->n; i++) free(b->buf[i]);
    free(b->buf);
    free(b->name);
}

static void add_identity(safetensors_writer *w, const char *format, net *n, const train_identity *id)
{
    safetensors_writer_meta(w, "format", format);
    safetensors_writer_meta(w, "arch", net_model(n)->arch);
    for (int k = 0; k < N_ID; k++) safetensors_writer_meta(w, id_fields[k].key, id_value(id, k));
}

int train_state_save(const char *path, trainer *t, const train_identity *id)
{
    net *n = t->net;
    safetensors_writer w;
    safetensors_writer_init(&w);
    net_bufs nb;
    int rc = add_net(&w, n, &nb);
    const trainer_pos *p = &t->pos;
    double ema[3] = { p->ema.mom, p->ema.avg, (double)p->ema.n };
    int64_t s3[1] = { 3 }, se[2] = { t->n_epochs, 6 }, si[1] = { t->n_it };
    double *ep = xcalloc((size_t)(t->n_epochs ? t->n_epochs : 1) * 6, sizeof *ep);
    for (long e = 0; e < t->n_epochs; e++) {
        const epoch_rec *r = &t->epochs[e];
        double row[6] = { r->phase, (double)r->epoch, r->trn_loss, r->val_loss, r->accuracy, r->seconds };
        memcpy(ep + 6 * e, row, sizeof row);
    }
    if (rc == C_OK) rc = safetensors_writer_add(&w, "ema", SAFETENSORS_F64, 1, s3, ema);
    if (rc == C_OK) rc = safetensors_writer_add(&w, "epochs", SAFETENSORS_F64, 2, se, ep);
    if (rc == C_OK) rc = safetensors_writer_add(&w, "it_lr", SAFETENSORS_F64, 1, si, t->it_lr);
    if (rc == C_OK) rc = safetensors_writer_add(&w, "it_loss", SAFETENSORS_F64, 1, si, t->it_loss);
    char v[64];
    add_identity(&w, STATE_FORMAT, n, id);
#define META_L(key, val) (snprintf(v, sizeof v, "%ld", (long)(val)), safetensors_writer_meta(&w, key, v))
#define META_D(key, val) (snprintf(v, sizeof v, "%.17g", (double)(val)), safetensors_writer_meta(&w, key, v))
    META_L("epoch", p->epoch);
    META_L("batch", p->batch);
    META_L("it", p->it);
    META_L("step", p->step);
    META_L("images", t->images);
    META_L("batches_per_epoch", t->batches_per_epoch);
    META_D("loop_seconds", t->loop_seconds);
    META_D("train_seconds", t->train_seconds);
    if (rc == C_OK) rc = train_state_seal(&w);
    if (rc == C_OK) rc = safetensors_writer_save(&w, path);
    safetensors_writer_free(&w);
    net_bufs_free(&nb);
    free(ep);
    return rc;
}

/* The format, the checksum, then the identity: a corrupt state says so rather than naming a
 * field that a flipped bit changed. Then every stored value must be finite. */
static int check_identity(const safetensors_file *f, const char *format, const train_identity *id)
{
    if (train_state_check_seal(f, format) != C_OK) return C_ERR;
    for (int k = 0; k < N_ID; k++) {
        const char *s = safetensors_meta(f, id_fields[k].key);
        if (!s || strcmp(s, id_value(id, k)))
            return err_msg(NULL, "saved by a run with %s (%s differs)", id_fields[k].what, id_fields[k].key);
    }
    return train_state_check_finite(f);
}

/* Checks the net's tensors in f (shapes); *count: how many f holds for it. The lookahead copy
 * (`la.*`) is all or nothing. */
static int check_net(const safetensors_file *f, net *n, int *count)
{
    int nt = net_n_tensors(n), n_la = 0;
    char name[128];
    *count = 0;
    static const char *const prefix[] = { "net", "mom", "la" };
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < nt; i++) {
            const char *tn;
            int ndim, shape[4], trainable;
            net_tensor_info(n, i, &tn, &ndim, shape, &trainable);
            if (pass == 1 && !trainable) continue;
            snprintf(name, sizeof name, "%s.%s", prefix[pass], tn);
            const safetensors_tensor *x = safetensors_find(f, name);
            if (!x && pass > 0) continue;
            n_la += pass == 2;
            if (!(x = safetensors_expect(f, name, SAFETENSORS_F32, ndim))) return C_ERR;
            for (int k = 0; k < ndim; k++)
                if (x->shape[k] != shape[k]) return err_msg(NULL, "%s: shape does not match the model", name);
            ++*count;
        }
    if (n_la && n_la != nt) return err_msg(NULL, "holds the lookahead copy of %d of the %d tensors", n_la, nt);
    return C_OK;
}

/* A restore that failed after its checks, while setting the net: the net is half loaded, so the
 * run must not start over from it (load_with makes it an error). */
#define STATE_APPLY_FAILED 2

/* Sets the net's tensors and momentum buffers from a checked f. */
static int apply_net(const safetensors_file *f, net *n)
{
    int nt = net_n_tensors(n), have_mom = 0;
    char name[128];
    for (int i = 0; i < nt; i++) {
        const char *tn;
        int trainable;
        net_tensor_info(n, i, &tn, NULL, NULL, &trainable);
        snprintf(name, sizeof name, "net.%s", tn);
        if (net_tensor_set(n, i, safetensors_find(f, name)->data) != C_OK) return C_ERR;
        snprintf(name, sizeof name, "mom.%s", tn);
        const safetensors_tensor *m = trainable ? safetensors_find(f, name) : NULL;
        if (m && net_momentum_set(n, i, m->data) != C_OK) return C_ERR;
        have_mom += m != NULL;
    }
    if (!have_mom) net_reset_momentum(n);
    net_lookahead_stop(n);
    for (int i = 0; i < nt; i++) {
        const char *tn;
        net_tensor_info(n, i, &tn, NULL, NULL, NULL);
        snprintf(name, sizeof name, "la.%s", tn);
        const safetensors_tensor *x = safetensors_find(f, name);
        if (x && net_lookahead_set(n, i, x->data) != C_OK) return C_ERR;
    }
    return C_OK;
}

/* Fills t from f; C_ERR with the reason in err_msg (captured by the caller). */
static int restore(const safetensors_file *f, trainer *t, const train_identity *id)
{
    if (check_identity(f, STATE_FORMAT, id) != C_OK) return C_ERR;
    long total = train_params_epochs(t->p);
    /* the positions a run of these params over this data passes */
    state_layout L = { 0 };
    L.nb = loader_epoch_batches(t->trn);
    L.batch_size = t->trn->bs;
    for (long k = 0; k < L.nb; k++) {
        long left = (long)t->trn->ds->n - k * L.batch_size;
        L.epoch_images += left < L.batch_size ? left : L.batch_size;
    }
    L.n_phases = t->p->n_phases;
    for (int ph = 0; ph < t->p->n_phases && ph < TRAIN_STATE_MAX_PHASES; ph++) {
        L.phase_epochs[ph] = schedule_epochs(&t->p->phases[ph]);
        L.phase_steps[ph] = schedule_phase_steps(&t->p->phases[ph], L.nb);
    }
    state_pos sp;
    if (train_state_check_position(f, &L, &sp) != C_OK) return C_ERR;
    long epoch = sp.epoch, batch = sp.batch, it = sp.it, step = sp.step, images = sp.images, bpe = sp.bpe;
    net *n = t->net;
    const safetensors_tensor *ema = safetensors_expect(f, "ema", SAFETENSORS_F64, 1);
    const safetensors_tensor *ep = safetensors_expect(f, "epochs", SAFETENSORS_F64, 2);
    const safetensors_tensor *lr = safetensors_expect(f, "it_lr", SAFETENSORS_F64, 1);
    const safetensors_tensor *loss = safetensors_expect(f, "it_loss", SAFETENSORS_F64, 1);
    if (!ema || !ep || !lr || !loss) return C_ERR;
    if (ema->shape[0] != 3 || ep->shape[0] != epoch || ep->shape[1] != 6 || lr->shape[0] != step ||
        loss->shape[0] != step)
        return err_msg(NULL, "records do not match the position (epoch %ld, step %ld)", epoch, step);
    int n_net;
    if (check_net(f, n, &n_net) != C_OK) return C_ERR;
    if (n_net + 4 != f->n_tensors) return err_msg(NULL, "holds %d tensors, expected %d", f->n_tensors, n_net + 4);
    /* inside a phase, a run with lookahead needs its copy (at a phase's start it begins afresh) */
    int at_phase_start = 0;
    long first = 0;
    for (int ph = 0; ph < t->p->n_phases && !at_phase_start; first += schedule_epochs(&t->p->phases[ph]), ph++)
        at_phase_start = batch == 0 && epoch == first;
    if (t->p->la_every && epoch < total && !at_phase_start && net_n_tensors(n) > 0) {
        const char *tn;
        char name[128];
        net_tensor_info(n, 0, &tn, NULL, NULL, NULL);
        snprintf(name, sizeof name, "la.%s", tn);
        if (!safetensors_find(f, name)) return err_msg(NULL, "has no lookahead copy (params ask for lookahead)");
    }
    const double *e = ep->data;
    for (long k = 0; k < epoch; k++)   /* the table printed on resume indexes the phases by these */
        if (!(e[6 * k] == train_state_phase_of(&L, k) && e[6 * k + 1] == k))
            return err_msg(NULL, "epoch record %ld is out of order or names another phase", k);
        else if (!(e[6 * k + 4] >= 0 && e[6 * k + 4] <= 1) || !(e[6 * k + 5] >= 0))
            return err_msg(NULL, "epoch record %ld: accuracy or seconds out of range", k);
    /* the smoothed loss of the phase in progress: one update per step of it */
    const double *m0 = ema->data;
    if (!sp.phase_start && !(m0[2] == (double)it && m0[0] == 0.98))
        return err_msg(NULL, "ema: does not match the position (%g updates at iteration %ld)", m0[2], it);
    if (!(m0[2] >= 0 && m0[2] <= (double)step && m0[2] == floor(m0[2])))
        return err_msg(NULL, "ema: update count %g out of range", m0[2]);
    /* Everything checked: only now change the net and the trainer. */
    if (apply_net(f, n) != C_OK) return STATE_APPLY_FAILED;
    trainer_alloc_epochs(t);
    for (long k = 0; k < epoch; k++) {
        epoch_rec *r = &t->epochs[k];
        r->phase = (int)e[6 * k];
        r->epoch = (long)e[6 * k + 1];
        r->trn_loss = e[6 * k + 2];
        r->val_loss = e[6 * k + 3];
        r->accuracy = e[6 * k + 4];
        r->seconds = e[6 * k + 5];
    }
    t->n_epochs = epoch;
    t->n_it = 0;
    for (long k = 0; k < step; k++) trainer_record_iteration(t, ((const double *)lr->data)[k], ((const double *)loss->data)[k]);
    const double *m = ema->data;
    t->pos.epoch = epoch;
    t->pos.batch = batch;
    t->pos.it = it;
    t->pos.step = (uint32_t)step;
    t->pos.ema.mom = m[0];
    t->pos.ema.avg = m[1];
    t->pos.ema.n = (long)m[2];
    t->images = images;
    t->batches_per_epoch = bpe;
    t->loop_seconds = sp.loop_seconds;
    t->train_seconds = sp.train_seconds;
    t->resumed = 1;
    return C_OK;
}

/* Reads path with every message captured; restores through fn. 1: restored; 0: not (one warning);
 * -1: failed while setting the net (one error line). */
static int load_with(const char *path, int (*fn)(const safetensors_file *f, void *ctx), void *ctx)
{
    if (access(path, F_OK) != 0) return 0;
    char why[512];
    err_capture(why, sizeof why);
    safetensors_file f;
    int rc = safetensors_read(&f, path);
    if (rc == C_OK) {
        rc = fn(&f, ctx);
        safetensors_free(&f);
    }
    err_capture(NULL, 0);
    if (rc == C_OK) return 1;
    if (rc == STATE_APPLY_FAILED) return err_msg(path, "restoring the net failed: %s", why), -1;
    /* the reader's message starts with the path; say it once */
    const char *reason = why;
    size_t pl = strlen(path);
    if (!strncmp(reason, path, pl) && !strncmp(reason + pl, ": ", 2)) reason += pl + 2;
    err_warn(path, "not resumed: %s; starting over", reason);
    return 0;
}

typedef struct train_ctx { trainer *t; const train_identity *id; } train_ctx;
static int restore_train(const safetensors_file *f, void *ctx)
{
    train_ctx *c = ctx;
    return restore(f, c->t, c->id);
}

int train_state_load(const char *path, trainer *t, const train_identity *id)
{
    train_ctx c = { t, id };
    return load_with(path, restore_train, &c);
}

/* ---- the lr finder's sweep ---- */

#define LRFIND_FORMAT "cifar-lrfind-state 2"

int lrfind_state_save(const char *path, net *n, const lr_finder_pos *p, const train_identity *id)
{
    safetensors_writer w;
    safetensors_writer_init(&w);
    net_bufs nb;
    int rc = add_net(&w, n, &nb);
    double ema[4] = { p->ema.mom, p->ema.avg, (double)p->ema.n, p->best };
    int64_t s4[1] = { 4 }, sn[1] = { p->n };
    if (rc == C_OK) rc = safetensors_writer_add(&w, "ema_best", SAFETENSORS_F64, 1, s4, ema);
    if (rc == C_OK) rc = safetensors_writer_add(&w, "lr", SAFETENSORS_F64, 1, sn, p->lr);
    if (rc == C_OK) rc = safetensors_writer_add(&w, "loss", SAFETENSORS_F64, 1, sn, p->loss);
    add_identity(&w, LRFIND_FORMAT, n, id);
    char v[32];
    snprintf(v, sizeof v, "%ld", p->t);
    safetensors_writer_meta(&w, "t", v);
    if (rc == C_OK) rc = train_state_seal(&w);
    if (rc == C_OK) rc = safetensors_writer_save(&w, path);
    safetensors_writer_free(&w);
    net_bufs_free(&nb);
    return rc;
}

typedef struct lrf_ctx { net *n; lr_finder_pos *p; long nb; const train_identity *id; } lrf_ctx;

static int restore_lrfind(const safetensors_file *f, void *ctx)
{
    lrf_ctx *c = ctx;
    if (check_identity(f, LRFIND_FORMAT, c->id) != C_OK) return C_ERR;
    long t = train_state_meta_long(f, "t");
    const safetensors_tensor *eb = safetensors_expect(f, "ema_best", SAFETENSORS_F64, 1);
    const safetensors_tensor *lr = safetensors_expect(f, "lr", SAFETENSORS_F64, 1);
    const safetensors_tensor *loss = safetensors_expect(f, "loss", SAFETENSORS_F64, 1);
    if (!eb || !lr || !loss) return C_ERR;
    /* every iteration so far was recorded (the sweep stops at the first one that is not) */
    if (t < 0 || t > c->nb || eb->shape[0] != 4 || lr->shape[0] != t || loss->shape[0] != t)
        return err_msg(NULL, "position metadata missing or out of range");
    int n_net;
    if (check_net(f, c->n, &n_net) != C_OK) return C_ERR;
    if (n_net + 3 != f->n_tensors) return err_msg(NULL, "holds %d tensors, expected %d", f->n_tensors, n_net + 3);
    if (apply_net(f, c->n) != C_OK) return STATE_APPLY_FAILED;
    const double *m = eb->data;
    lr_finder_pos *p = c->p;
    p->t = p->n = t;
    p->ema.mom = m[0];
    p->ema.avg = m[1];
    p->ema.n = (long)m[2];
    p->best = m[3];
    memcpy(p->lr, lr->data, sizeof(double) * (size_t)t);
    memcpy(p->loss, loss->data, sizeof(double) * (size_t)t);
    return C_OK;
}

int lrfind_state_load(const char *path, net *n, lr_finder_pos *p, long nb, const train_identity *id)
{
    lrf_ctx c = { n, p, nb, id };
    return load_with(path, restore_lrfind, &c);
}
