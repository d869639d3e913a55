/* fuzz_model.c: libFuzzer harness for the model file loader (nn/model.c): any bytes give C_OK
 * with consistent shapes, or C_ERR, never a crash or undefined behaviour. An accepted model is
 * also counted and summarised, as the train and summary stages do. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/fuzz_input.h"
#include "nn/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink && !(sink = fopen("/dev/null", "w"))) abort();
    model_desc m;
    if (model_load(&m, fuzz_input_path(data, size)) != 0) return 0;
    if (m.n_layers < 1 || model_param_count(&m) < 0) abort();
    cJSON *summary = model_summary_json(&m);
    char *text = cJSON_PrintUnformatted(summary);
    cJSON_free(text);
    cJSON_Delete(summary);
    model_summary_print(&m, sink);
    model_free(&m);
    return 0;
}
