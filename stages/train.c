/* train: trains one architecture with the notebook's fit phases (params/<arch>.json) and writes
 * its checkpoint, metrics and summary.
 *   train --model models/X.json --params params/X.json --data artifacts/data
 *         --stats artifacts/stats.json --ckpt X.ckpt --metrics X.metrics.json
 *         --summary X.summary.json [--threads N]
 * stdout: fastai's epoch table; stderr: a progress bar when it is a terminal.
 *
 * Resumable: after every epoch (and every state_every iterations, a params key) the whole state
 * goes to X.state beside the checkpoint; a rerun with the same inputs, program and thread count
 * continues from it and ends with the same bytes as an uninterrupted run (another state: one
 * line, then it starts over). The first SIGINT, SIGTERM or SIGUSR1 finishes the iteration, saves
 * the state and exits with status 75 (a second one ends the run at once). The three outputs are
 * committed together (journal X.commit) or not at all; then the state is removed. X.lock keeps
 * two runs for the same checkpoint apart (the second waits; removed at exit). Any error: exit 1,
 * outputs untouched, the state kept for a rerun (a NaN/inf loss is an error naming the epoch and
 * iteration, and removes the state: a resumed run would diverge again). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/errors.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/params.h"
#include "core/signals.h"
#include "io/checkpoint.h"
#include "train/train_setup.h"
#include "train/train_state.h"
#include "train/trainer.h"

typedef struct state_ctx {
    const char *path;
    const train_identity *id;
} state_ctx;

static int save_state(trainer *t, void *ctx)
{
    const state_ctx *c = ctx;
    return train_state_save(c->path, t, c->id);
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    static const char *const outs[] = { "--ckpt", "--metrics", "--summary" };
    train_setup s;
    if (train_setup_args(&s, argc, argv, outs, 3) != C_OK) err_exit();
    s.need_test = 1;
    /* Until the training loop starts, a signal ends the process at once (temporaries and the lock
     * removed): set-up has no iteration to finish and nothing to save. */
    signals_install(NULL);
    char *state_path = train_state_path(s.out[0], ".ckpt", ".state"),
         *lock_path = train_state_path(s.out[0], ".ckpt", ".lock"), *journal = train_state_path(s.out[0], ".ckpt", ".commit");
    /* Every failure below goes to `done`, which frees what exists (LeakSanitizer runs the tests). */
    int rc = C_ERR, have_trainer = 0;
    trainer t;
    cJSON *summary = NULL, *metrics = NULL;
    /* Under the lock: finish a commit a killed run began, then drop what killed runs left. */
    if (atomic_lock(lock_path) < 0 || atomic_recover_outputs(journal, s.out, 3) != C_OK) goto done;
    /* A folder where an output goes is refused now, not after the training. The model and params
     * files are read by helpers of their own: checked here to be regular files (a FIFO would block). */
    for (int k = 0; k < 3; k++)
        if (atomic_check_target(s.out[k], 0) != C_OK) goto done;
    if (fs_check_regular(s.model_path) != C_OK || fs_check_regular(s.params_path) != C_OK) goto done;
    for (int k = 0; k < 3; k++) atomic_clean_stale(s.out[k]);
    atomic_clean_stale(state_path);
    atomic_clean_stale(journal);

    ckpt_meta meta = { 0 };
    if (params_file_hash(s.params_path, meta.params_hash) != C_OK || params_file_hash(s.model_path, meta.model_hash) != C_OK)
        goto done;
    if (train_setup_load(&s) != C_OK) goto done;
    const char *arch = net_model(s.net)->arch;
    train_identity id;
    if (train_identity_compute(&id, &s, "train") != C_OK) goto done;

    trainer_init(&t, s.net, &s.p, &s.trn, &s.val);
    have_trainer = 1;
    t.table = stdout;
    t.progress = isatty(STDERR_FILENO);
    state_ctx sc = { state_path, &id };
    t.save_state = save_state;
    t.save_ctx = &sc;
    t.state_every = s.p.state_every;
    int resumed = train_state_load(state_path, &t, &id);
    if (resumed < 0) goto done;
    if (resumed == 1)
        fprintf(stderr, "%s: %s: resuming at epoch %ld, batch %ld of the epoch (iteration %u of the run)\n",
                err_stage(), state_path, t.pos.epoch, t.pos.batch, (unsigned)t.pos.step);
    signals_graceful();   /* from here the first signal finishes the iteration and saves the state */
    if (trainer_run(&t) != C_OK) {
        if (t.diverged) unlink(state_path);   /* resuming would only diverge again */
        goto done;
    }
    if (t.stopped) {
        fprintf(stderr, "%s: %s: stopped at epoch %ld, batch %ld; state saved in %s; run the same command "
                "(or make target) again to resume\n", err_stage(), signals_name(t.stopped), t.pos.epoch, t.pos.batch,
                state_path);
        rc = SIGNALS_EXIT_INTERRUPTED;
        goto done;
    }
    fprintf(stderr, "%s: %s: %ld images in %.1f s (%.1f images/s, whole loop), data loader wait %.3f s\n",
            err_stage(), arch, t.images, t.loop_seconds, t.images / (t.loop_seconds > 0 ? t.loop_seconds : 1),
            s.trn.wait_s);

    summary = net_summary_json(s.net);
    metrics = trainer_metrics_json(&t, arch, s.be.iface->name);
    meta.arch = arch;
    meta.seed = s.p.seed;
    meta.epochs = t.n_epochs;
    for (int c = 0; c < 3; c++) { meta.mean[c] = s.mean[c]; meta.std[c] = s.std[c]; }
    /* One commit: all three outputs become visible together, or none. */
    rc = atomic_group_begin(journal);
    if (rc == C_OK) rc = json_write_atomic(s.out[2], summary);
    if (rc == C_OK) rc = json_write_atomic(s.out[1], metrics);
    if (rc == C_OK) rc = checkpoint_save(s.net, s.out[0], &meta);
    if (rc == C_OK) rc = atomic_group_commit();
    else atomic_group_abort();
    if (rc == C_OK && unlink(state_path) != 0 && errno != ENOENT) err_warn(state_path, "could not remove the finished state");
done:
    cJSON_Delete(summary);
    cJSON_Delete(metrics);
    if (have_trainer) trainer_free(&t);
    train_setup_free(&s);
    free(state_path);
    free(lock_path);
    free(journal);
    if (rc == SIGNALS_EXIT_INTERRUPTED) return rc;
    if (rc != C_OK) err_exit();   /* a failing exit: removes the empty folders it made (core/fs.h) */
    return 0;
}
