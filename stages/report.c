/* report: the static HTML report of the pipeline.
 *
 *   report --art DIR --out DIR [--models DIR] [--title TEXT] [ARCH...]
 *
 * Reads DIR/stats.json, DIR/data/{train,test}.safetensors and, for each ARCH (default: every
 * model file, --models DIR, default models/), whichever of DIR/<arch>.{summary,lrfind,metrics,eval}.json
 * exist; writes OUT/index.html and OUT/charts/ (PNG charts drawn by gnuplot, their data and
 * script). The page shows the smallest model first (parameter count of its model file, then name). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "report/page.h"

#define USAGE "usage: report --art DIR --out DIR [--models DIR] [--title TEXT] [ARCH...]"

static _Noreturn void usage(void)
{
    fprintf(stderr, USAGE "\n");
    err_exit();
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    report_opts o = { 0 };
    const char *models_dir = "models";
    const char **named = xcalloc((size_t)argc, sizeof *named);
    int n_named = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--art") || !strcmp(a, "--out") || !strcmp(a, "--models") || !strcmp(a, "--title")) &&
            i + 1 >= argc)
            err_die(a, "needs a value");
        if (!strcmp(a, "--art")) o.art_dir = argv[++i];
        else if (!strcmp(a, "--out")) o.out_dir = argv[++i];
        else if (!strcmp(a, "--models")) models_dir = argv[++i];
        else if (!strcmp(a, "--title")) o.title = argv[++i];
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage();
        else if (a[0] == '-') err_die(a, "unknown option (" USAGE ")");
        else {
            if (!*a || strchr(a, '/') || strchr(a, '.')) err_die(a, "not an architecture name");
            named[n_named++] = a;
        }
    }
    if (!o.art_dir || !o.out_dir) err_die(NULL, "--art DIR and --out DIR are required");
    char **archs;
    int n;
    if (report_models_order(models_dir, named, n_named, &archs, &n) != C_OK) err_exit();
    free(named);
    o.archs = (const char *const *)archs;
    o.n_archs = n;
    int rc = report_build(&o);
    report_models_free(archs, n);
    if (rc != C_OK) err_exit();
    return 0;
}
