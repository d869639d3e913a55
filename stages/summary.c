/* summary: learner.summary() for one architecture.
 *
 * usage: summary models/<arch>.json [--json out.json]
 * Prints one row per module (name, type, input shape, output shape, parameters) and, with --json,
 * writes the rows as <arch>.summary.json (docs/artifacts.md), atomically. Shapes come from the
 * model file's own shape inference, the same the net is built from. */
#include <stdlib.h>
#include <string.h>
#include "core/atomic.h"
#include "core/errors.h"
#include "core/fs.h"
#include "nn/model.h"

int main(int argc, char **argv)
{
    err_init(argv[0]);
    const char *model = NULL, *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            if (++i == argc) err_die(NULL, "--json needs a file name");
            json = argv[i];
        } else if (argv[i][0] == '-' || model) {
            err_die(NULL, "usage: summary models/<arch>.json [--json out.json]");
        } else {
            model = argv[i];
        }
    }
    if (!model) err_die(NULL, "usage: summary models/<arch>.json [--json out.json]");
    model_desc m;
    CHECK_OK(fs_check_regular(model));   /* nn/model.c opens it its own way: a FIFO would block it */
    if (model_load(&m, model)) err_exit();
    model_summary_print(&m, stdout);
    if (json) {
        cJSON *s = model_summary_json(&m);
        char *text = cJSON_PrintUnformatted(s);
        size_t len = strlen(text);
        text = xrealloc(text, len + 2);
        text[len] = '\n';
        int rc = atomic_write(json, text, len + 1);
        free(text);
        cJSON_Delete(s);
        if (rc) err_exit();
    }
    model_free(&m);
    return 0;
}
