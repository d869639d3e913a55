/* report: the static HTML report of the pipeline.
 *
 *   report --art DIR --out DIR [--title TEXT] [ARCH...]
 *
 * Reads DIR/stats.json, DIR/data/{train,test}.safetensors and, for each ARCH (default: the seven
 * notebook architectures), whichever of DIR/<arch>.{summary,lrfind,metrics,eval}.json exist;
 * writes OUT/index.html and OUT/charts/ (PNG charts drawn by gnuplot, their data and script). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "report/report.h"

static const char *const default_archs[] = {"simplenet", "convnet", "convnet2", "convbnnet",
                                            "convbnnet2", "resnet", "resnet2"};

static _Noreturn void usage(void)
{
    fprintf(stderr, "usage: report --art DIR --out DIR [--title TEXT] [ARCH...]\n");
    err_exit();
}

int main(int argc, char **argv)
{
    err_init(argv[0]);
    report_opts o = { 0 };
    const char **archs = xcalloc((size_t)argc + 1, sizeof *archs);
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--art") || !strcmp(a, "--out") || !strcmp(a, "--title")) && i + 1 >= argc)
            err_die(a, "needs a value");
        if (!strcmp(a, "--art")) o.art_dir = argv[++i];
        else if (!strcmp(a, "--out")) o.out_dir = argv[++i];
        else if (!strcmp(a, "--title")) o.title = argv[++i];
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage();
        else if (a[0] == '-') err_die(a, "unknown option (usage: report --art DIR --out DIR [--title TEXT] [ARCH...])");
        else {
            if (!*a || strchr(a, '/') || strchr(a, '.')) err_die(a, "not an architecture name");
            archs[n++] = a;
        }
    }
    if (!o.art_dir || !o.out_dir) err_die(NULL, "--art DIR and --out DIR are required");
    if (n == 0) {
        for (int i = 0; i < 7; i++) archs[i] = default_archs[i];
        n = 7;
    }
    o.archs = archs;
    o.n_archs = n;
    int rc = report_build(&o);
    free(archs);
    if (rc != C_OK) err_exit();
    return 0;
}
