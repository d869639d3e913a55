/* sweep: expands a parameter sweep into one params file per point and the make fragment that
 * lists them (mk/sweep.mk trains and evaluates the points like any model).
 *
 *   sweep --sweep sweeps/NAME.json --params-dir params --out artifacts/sweeps/NAME [--models models]
 *
 * Every point is checked before anything is written; a bad sweep is one line naming the sweep
 * file and the key, a nonzero exit and no output. Formats: lib/sweep/sweep_plan.h, sweep_out.h. */
#include <stdio.h>
#include <string.h>

#include "core/errors.h"
#include "sweep/sweep_out.h"
#include "sweep/sweep_plan.h"

#define USAGE "usage: sweep --sweep FILE --params-dir DIR --out DIR [--models DIR]"

int main(int argc, char **argv)
{
    err_init(argv[0]);
    const char *file = NULL, *params_dir = NULL, *out_dir = NULL, *models_dir = "models";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--sweep") ? &file : !strcmp(a, "--params-dir") ? &params_dir
                          : !strcmp(a, "--out") ? &out_dir : !strcmp(a, "--models") ? &models_dir : NULL;
        if (!slot) err_die(a, "unknown option (" USAGE ")");
        if (i + 1 >= argc) err_die(a, "needs a value");
        *slot = argv[++i];
    }
    if (!file || !params_dir || !out_dir) err_die(NULL, "--sweep, --params-dir and --out are required (" USAGE ")");
    sweep_plan p;
    int rc = sweep_plan_load(&p, file, params_dir, models_dir);
    if (rc == C_OK) rc = sweep_out_write(&p, out_dir);
    if (rc == C_OK) fprintf(stderr, "%s: %s: %d points of %s\n", err_stage(), file, p.n_points, p.model);
    sweep_plan_free(&p);
    if (rc != C_OK) err_exit();   /* a failing exit: removes the empty folders it made (core/fs.h) */
    return 0;
}
