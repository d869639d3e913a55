/* train_trace: the train stage's loop on unshuffled, unaugmented batches, with the net written
 * before and after, so another implementation can take the same initial weights, see the same
 * batches in the same order and be compared tensor by tensor and loss by loss
 * (tests/bench/airbench_match.py does this against PyTorch).
 *   train_trace --model M --params P --data DIR --stats S --init I.ckpt --final F.ckpt
 *               --metrics F.metrics.json [--threads N]
 * Batch b of every epoch is images [b*bs, (b+1)*bs) of DIR/train.safetensors, normalised only;
 * everything else (optimiser rules, schedule, lookahead, freezing, the loss) is the train stage's. */
#include <stdio.h>

#include "core/errors.h"
#include "core/json.h"
#include "io/checkpoint.h"
#include "train/train_setup.h"
#include "train/trainer.h"

int main(int argc, char **argv)
{
    err_init(argv[0]);
    static const char *const outs[] = { "--init", "--final", "--metrics" };
    train_setup s;
    if (train_setup_args(&s, argc, argv, outs, 3) != C_OK) return 1;
    s.need_test = 1;
    int rc = C_ERR;
    trainer t;
    int have_trainer = 0;
    cJSON *metrics = NULL;
    if (train_setup_load(&s) != C_OK) goto done;
    loader_set_mode(&s.trn, 0, 0);
    ckpt_meta meta = { .arch = net_model(s.net)->arch, .seed = s.p.seed };
    for (int c = 0; c < 3; c++) { meta.mean[c] = s.mean[c]; meta.std[c] = s.std[c]; }
    if (checkpoint_save(s.net, s.out[0], &meta) != C_OK) goto done;
    trainer_init(&t, s.net, &s.p, &s.trn, &s.val);
    have_trainer = 1;
    if (trainer_run(&t) != C_OK) goto done;
    meta.epochs = t.n_epochs;
    metrics = trainer_metrics_json(&t, meta.arch, s.be.iface->name);
    if (checkpoint_save(s.net, s.out[1], &meta) != C_OK || json_write_atomic(s.out[2], metrics) != C_OK) goto done;
    rc = C_OK;
done:
    cJSON_Delete(metrics);
    if (have_trainer) trainer_free(&t);
    train_setup_free(&s);
    return rc == C_OK ? 0 : 1;
}
