/* fuzz_params.c: libFuzzer harness for the train/lrfind params loader (train/train_params.c over
 * core/json.c and core/params.c): any bytes give C_OK with values inside the documented ranges,
 * or C_ERR, never a crash or undefined behaviour. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz/fuzz_input.h"
#include "train/train_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    train_params p;
    if (train_params_load(fuzz_input_path(data, size), &p) != 0) return 0;
    /* What the loader accepted must be what its checks promise. */
    if (p.batch_size < 1 || p.n_phases < 1 || p.n_phases > TRAIN_PARAMS_MAX_PHASES) abort();
    if (train_params_epochs(&p) < 1) abort();
    return 0;
}
