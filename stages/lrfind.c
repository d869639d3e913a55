/* lrfind: fastai's lr_find for one architecture (at most one epoch from the seed's initial
 * weights, exponential lr from start_lr to end_lr, stop on NaN or 4x the best smoothed loss).
 *   lrfind --model models/X.json --params params/X.json --data artifacts/data
 *          --stats artifacts/stats.json --out X.lrfind.json [--threads N]
 * The first SIGINT, SIGTERM or SIGUSR1 ends the sweep after the current iteration: nothing is
 * written, exit status 75 (the sweep is at most one epoch: a rerun starts it over); a second one
 * ends the process at once. */
#include <stdio.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/json.h"
#include "core/signals.h"
#include "train/lr_finder.h"
#include "train/train_setup.h"

int main(int argc, char **argv)
{
    err_init(argv[0]);
    signals_graceful();
    static const char *const outs[] = { "--out" };
    train_setup s;
    if (train_setup_args(&s, argc, argv, outs, 1) != C_OK) return 1;
    if (train_setup_load(&s) != C_OK) return 1;
    lr_finder_result r;
    if (lr_finder_run(s.net, &s.p, &s.trn, isatty(STDERR_FILENO), &r) != C_OK) return 1;
    const char *arch = net_model(s.net)->arch;
    if (r.interrupted) {
        fprintf(stderr, "%s: %s: stopped after %ld of %ld iterations; nothing written; run the same command (or make "
                "target) again to start the sweep over\n", err_stage(), signals_name(r.interrupted), r.n, r.nb);
        return SIGNALS_EXIT_INTERRUPTED;
    }
    printf("%s: lr_find %s after %ld of %ld iterations\n", arch, r.stopped_early ? "stopped" : "finished",
           r.n, r.nb);
    cJSON *o = lr_finder_json(&r, &s.p, arch);
    int rc = json_write_atomic(s.out[0], o);
    cJSON_Delete(o);
    lr_finder_result_free(&r);
    train_setup_free(&s);
    return rc == C_OK ? 0 : 1;
}
