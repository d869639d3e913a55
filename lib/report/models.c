/* models.c: which architectures the report shows, and in what order. The list is data: every
 * models/<arch>.json (or the names given), smallest model first (parameter count, then name),
 * so a new model file shows up on the page without editing any list. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "nn/model.h"
#include "report/page.h"

typedef struct ranked { char *name; long params; } ranked;

static int by_size_then_name(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->params != b->params) return a->params < b->params ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* The <arch> of every DIR/<arch>.json, malloc'd; C_ERR when the folder holds none. */
static int list_model_files(const char *dir, char ***names, int *n)
{
    char pattern[4096];
    snprintf(pattern, sizeof pattern, "%s/*.json", dir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        globfree(&g);
        return err_msg(dir, "no model files (*.json) in this folder");
    }
    *names = xcalloc(g.gl_pathc, sizeof **names);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;
        (*names)[i] = xstrdup(base);
        (*names)[i][strlen(base) - strlen(".json")] = '\0';
    }
    *n = (int)g.gl_pathc;
    globfree(&g);
    return C_OK;
}

int report_models_order(const char *models_dir, const char *const *named, int n_named,
                        char ***archs, int *n_archs)
{
    char **names = NULL;
    int n = n_named;
    if (n_named == 0) {
        if (list_model_files(models_dir, &names, &n) != C_OK) return C_ERR;
    } else {
        names = xcalloc((size_t)n_named, sizeof *names);
        for (int i = 0; i < n_named; i++) names[i] = xstrdup(named[i]);
    }
    ranked *r = xcalloc((size_t)n, sizeof *r);
    int rc = C_OK;
    for (int i = 0; i < n && rc == C_OK; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.json", models_dir, names[i]);
        model_desc m;
        if (!*names[i] || strchr(names[i], '.')) rc = err_msg(path, "not an architecture name (no dots)");
        else if (model_load(&m, path) != C_OK) rc = C_ERR;
        else {
            r[i].params = model_param_count(&m);
            model_free(&m);
        }
        r[i].name = names[i];
    }
    if (rc == C_OK) {
        qsort(r, (size_t)n, sizeof *r, by_size_then_name);
        for (int i = 0; i < n; i++) names[i] = r[i].name;
        *archs = names;
        *n_archs = n;
    } else {
        report_models_free(names, n);
    }
    free(r);
    return rc;
}

void report_models_free(char **archs, int n)
{
    for (int i = 0; i < n; i++) free(archs[i]);
    free(archs);
}
