/* lrfind: fastai's lr_find for one architecture (at most one epoch from the seed's initial
 * weights, exponential lr from start_lr to end_lr, stop on NaN or 4x the best smoothed loss).
 *   lrfind --model models/X.json --params params/X.json --data artifacts/data
 *          --stats artifacts/stats.json --out X.lrfind.json [--threads N] */
#include <stdio.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/json.h"
#include "train/lr_finder.h"
#include "train/train_setup.h"

int main(int argc, char **argv)
{
    err_init(argv[0]);
    static const char *const outs[] = { "--out" };
    train_setup s;
    if (train_setup_args(&s, argc, argv, outs, 1) != C_OK) return 1;
    if (train_setup_load(&s) != C_OK) { train_setup_free(&s); return 1; }
    lr_finder_result r;
    if (lr_finder_run(s.net, &s.p, &s.trn, isatty(STDERR_FILENO), &r) != C_OK) {
        lr_finder_result_free(&r);
        train_setup_free(&s);
        return 1;
    }
    const char *arch = net_model(s.net)->arch;
    printf("%s: lr_find %s after %ld of %ld iterations\n", arch, r.stopped_early ? "stopped" : "finished",
           r.n, r.nb);
    cJSON *o = lr_finder_json(&r, &s.p, arch);
    int rc = json_write_atomic(s.out[0], o);
    cJSON_Delete(o);
    lr_finder_result_free(&r);
    train_setup_free(&s);
    return rc == C_OK ? 0 : 1;
}
