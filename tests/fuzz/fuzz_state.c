/* fuzz_state.c: libFuzzer harness for the training state file `<arch>.state`
 * (train/train_state_check.c over io/safetensors.c): any bytes give C_OK or one line and C_ERR,
 * never a crash or undefined behaviour; and what is accepted is a position a run can reach.
 * The first byte picks whether the seal (state_sha256) is checked: random bytes never carry a
 * valid one, and a person who edits a state can reseal it, so the position and finite-value
 * checks are fuzzed behind it too. The layout is fixed: 100 images at batch size 64 (2 batches
 * per epoch), two phases of one epoch, 2 steps each. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/fuzz_input.h"
#include "io/safetensors.h"
#include "train/train_state_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int sealed = data[0] & 1;
    safetensors_file f;
    if (safetensors_read(&f, fuzz_input_path(data + 1, size - 1)) != 0) return 0;
    state_layout L = { .nb = 2, .epoch_images = 100, .batch_size = 64, .n_phases = 2,
                       .phase_epochs = { 1, 1 }, .phase_steps = { 2, 2 } };
    state_pos p;
    if ((!sealed || train_state_check_seal(&f, "cifar-train-state 2") == 0) &&
        train_state_check_position(&f, &L, &p) == 0 && train_state_check_finite(&f) == 0) {
        /* accepted: a save point of this layout */
        if (p.epoch < 0 || p.epoch > 2 || p.batch < 0 || p.batch >= L.nb || p.bpe != L.nb || p.step > 4 ||
            p.it > 2 || p.images > 200 || !(p.loop_seconds >= 0) || !(p.train_seconds >= 0))
            abort();
        if (p.epoch == 2 && p.batch != 0) abort();
        fuzz_sink += (unsigned char)p.step;
    }
    safetensors_free(&f);
    return 0;
}
