/* lrfind: fastai's lr_find for one architecture (at most one epoch from the seed's initial
 * weights, exponential lr from start_lr to end_lr, stop on NaN or 4x the best smoothed loss).
 *   lrfind --model models/X.json --params params/X.json --data artifacts/data
 *          --stats artifacts/stats.json --out X.lrfind.json [--threads N]
 * The first SIGINT, SIGTERM or SIGUSR1 ends the sweep after the current iteration: its state goes
 * to X.lrfind.state, nothing else is written, exit status 75; a rerun with the same inputs
 * continues it and writes the same curve as an uninterrupted sweep (state_every, a params key,
 * saves every that many iterations too, so a SIGKILL loses less). A second signal ends the process
 * at once. X.lrfind.lock keeps two sweeps for one output apart. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/errors.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/signals.h"
#include "train/lr_finder.h"
#include "train/train_setup.h"
#include "train/train_state.h"

typedef struct sweep_ctx {
    const char *path;
    const train_identity *id;
} sweep_ctx;

static int save(void *ctx, net *n, const lr_finder_pos *p)
{
    const sweep_ctx *c = ctx;
    return lrfind_state_save(c->path, n, p, c->id);
}

static int resume(void *ctx, net *n, lr_finder_pos *p, long nb)
{
    const sweep_ctx *c = ctx;
    int rc = lrfind_state_load(c->path, n, p, nb, c->id);
    if (rc == 1)
        fprintf(stderr, "%s: %s: resuming the sweep at iteration %ld of %ld\n", err_stage(), c->path, p->t, nb);
    return rc;
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    /* Until the sweep starts, a signal ends the process at once (temporaries and the lock removed). */
    signals_install(NULL);
    static const char *const outs[] = { "--out" };
    train_setup s;
    if (train_setup_args(&s, argc, argv, outs, 1) != C_OK) err_exit();
    char *state_path = train_state_path(s.out[0], ".json", ".state"), *lock_path = train_state_path(s.out[0], ".json", ".lock");
    /* Every failure below goes to `done`, which frees what exists (LeakSanitizer runs the tests). */
    int rc = C_ERR;
    lr_finder_result r = { 0 };
    cJSON *o = NULL;
    if (atomic_lock(lock_path) < 0) goto done;
    atomic_clean_stale(s.out[0]);
    atomic_clean_stale(state_path);
    if (atomic_check_target(s.out[0], 0) != C_OK || fs_check_regular(s.model_path) != C_OK ||
        fs_check_regular(s.params_path) != C_OK)
        goto done;
    if (train_setup_load(&s) != C_OK) goto done;
    train_identity id;
    if (train_identity_compute(&id, &s, "lrfind") != C_OK) goto done;
    sweep_ctx sc = { state_path, &id };
    lr_finder_io io = { save, resume, &sc, s.p.state_every };
    signals_graceful();   /* from here the first signal ends the sweep after its iteration, state saved */
    if (lr_finder_run_io(s.net, &s.p, &s.trn, isatty(STDERR_FILENO), &io, &r) != C_OK) goto done;
    const char *arch = net_model(s.net)->arch;
    if (r.interrupted) {
        fprintf(stderr, "%s: %s: stopped after %ld of %ld iterations; state saved in %s; run the same command (or make "
                "target) again to resume\n", err_stage(), signals_name(r.interrupted), r.n, r.nb, state_path);
        rc = SIGNALS_EXIT_INTERRUPTED;
        goto done;
    }
    printf("%s: lr_find %s after %ld of %ld iterations\n", arch, r.stopped_early ? "stopped" : "finished",
           r.n, r.nb);
    o = lr_finder_json(&r, &s.p, arch);
    rc = json_write_atomic(s.out[0], o);
    if (rc == C_OK && unlink(state_path) != 0 && errno != ENOENT) err_warn(state_path, "could not remove the finished state");
done:
    cJSON_Delete(o);
    lr_finder_result_free(&r);
    train_setup_free(&s);
    free(state_path);
    free(lock_path);
    if (rc == SIGNALS_EXIT_INTERRUPTED) return rc;
    if (rc != C_OK) err_exit();   /* a failing exit: removes the empty folders it made (core/fs.h) */
    return 0;
}
