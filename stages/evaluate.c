/* evaluate: plain and TTA accuracy, log loss, per-class accuracy and the confusion matrix of one
 * checkpoint on the test set (fastai learn.TTA(), fastai-semantics.md §6).
 *
 *   evaluate --model models/A.json --ckpt ART/A.ckpt --params PARAMS/eval.json --data ART/data
 *            --stats ART/stats.json --eval ART/A.eval.json --probs ART/A.probs.safetensors [--threads N] */
#include "core/errors.h"
#include "core/fs.h"
#include "eval/eval.h"

int main(int argc, char **argv)
{
    err_init(argv[0]);
    eval_opts o;
    if (eval_args(&o, argc, argv) != C_OK) err_exit();
    /* nn/model.c opens the model its own way: checked here to be a regular file (a FIFO would block) */
    if (fs_check_regular(o.model_path) != C_OK || eval_run(&o) != C_OK) err_exit();
    return 0;
}
