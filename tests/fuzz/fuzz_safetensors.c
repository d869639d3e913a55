/* fuzz_safetensors.c: libFuzzer harness for the safetensors reader (io/safetensors.c) and the
 * dataset checks built on it (data/dataset.c): any bytes must give C_OK with tensors that lie
 * inside the buffer, or C_ERR, never a crash, a leak or undefined behaviour. */
#include <stdint.h>
#include <string.h>

#include "data/dataset.h"
#include "fuzz/fuzz_input.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(data, size);
    safetensors_file f;
    if (safetensors_read(&f, path) == 0) {
        /* Touch every byte of every tensor, so ASan checks the bounds the reader promised. */
        for (int i = 0; i < f.n_tensors; i++) {
            const safetensors_tensor *t = &f.tensors[i];
            for (size_t b = 0; b < t->nbytes; b++) fuzz_sink += ((const uint8_t *)t->data)[b];
            (void)safetensors_find(&f, t->name);
            (void)safetensors_expect(&f, t->name, t->dtype, t->ndim);
        }
        for (int i = 0; i < f.n_meta; i++) fuzz_sink += (uint8_t)strlen(safetensors_meta(&f, f.meta_keys[i]));
        safetensors_free(&f);
    }
    dataset d;
    if (dataset_load(&d, path) == 0) dataset_free(&d);
    return 0;
}
