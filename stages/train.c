/* train: trains one architecture with the notebook's fit phases (params/<arch>.json) and writes
 * its checkpoint, metrics and summary.
 *   train --model models/X.json --params params/X.json --data artifacts/data
 *         --stats artifacts/stats.json --ckpt X.ckpt --metrics X.metrics.json
 *         --summary X.summary.json [--threads N]
 * stdout: fastai's epoch table; stderr: a progress bar when it is a terminal. Nothing is written
 * unless training finishes (a NaN/inf loss is an error naming the epoch and iteration). */
#include <stdio.h>
#include <unistd.h>

#include "io/checkpoint.h"
#include "core/errors.h"
#include "core/json.h"
#include "core/params.h"
#include "train/trainer.h"
#include "train/train_setup.h"

int main(int argc, char **argv)
{
    err_init(argv[0]);
    static const char *const outs[] = { "--ckpt", "--metrics", "--summary" };
    train_setup s;
    if (train_setup_args(&s, argc, argv, outs, 3) != C_OK) return 1;
    s.need_test = 1;
    ckpt_meta meta = { 0 };
    if (params_file_hash(s.params_path, meta.params_hash) != C_OK || params_file_hash(s.model_path, meta.model_hash) != C_OK)
        return 1;
    if (train_setup_load(&s) != C_OK) { train_setup_free(&s); return 1; }
    const char *arch = net_model(s.net)->arch;

    trainer t;
    trainer_init(&t, s.net, &s.p, &s.trn, &s.val);
    t.table = stdout;
    t.progress = isatty(STDERR_FILENO);
    if (trainer_run(&t) != C_OK) { trainer_free(&t); train_setup_free(&s); return 1; }
    fprintf(stderr, "%s: %s: %ld images in %.1f s (%.1f images/s, whole loop), data loader wait %.3f s\n",
            err_stage(), arch, t.images, t.loop_seconds, t.images / (t.loop_seconds > 0 ? t.loop_seconds : 1),
            s.trn.wait_s);

    cJSON *summary = net_summary_json(s.net);
    cJSON *metrics = trainer_metrics_json(&t, arch, s.be.iface->name);
    int rc = json_write_atomic(s.out[2], summary);
    if (rc == C_OK) rc = json_write_atomic(s.out[1], metrics);
    meta.arch = arch;
    meta.seed = s.p.seed;
    meta.epochs = t.n_epochs;
    for (int c = 0; c < 3; c++) { meta.mean[c] = s.mean[c]; meta.std[c] = s.std[c]; }
    if (rc == C_OK) rc = checkpoint_save(s.net, s.out[0], &meta);
    cJSON_Delete(summary);
    cJSON_Delete(metrics);
    trainer_free(&t);
    train_setup_free(&s);
    return rc == C_OK ? 0 : 1;
}
