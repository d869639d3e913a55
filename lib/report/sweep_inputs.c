/* sweep_inputs.c: every sweep under <art>/sweeps/ (its plan.json, written by the sweep stage)
 * and the results of its points (<point>.eval.json, <point>.metrics.json when they exist). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/json.h"
#include "report/internal.h"

static int str_field(const char *file, const cJSON *o, const char *key, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v)) return err_msg(file, "%s: must be a string", key);
    *out = xstrdup(v->valuestring);
    return C_OK;
}

static int num_field(const char *file, const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNull(v)) { *out = NAN; return C_OK; }
    if (!cJSON_IsNumber(v)) return err_msg(file, "%s: must be a number", key);
    *out = v->valuedouble;
    return C_OK;
}

/* <dir>/<point>.<kind>.json when it exists: *doc loaded and its arch checked; *has = 0 when absent. */
static int load_result(const report_sweep *s, const char *dir, const char *point, const char *kind,
                       json_doc *doc, int *has)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s.json", dir, point, kind);
    *has = 0;
    if (access(path, F_OK) != 0) return errno == ENOENT ? C_OK : err_msg(path, "cannot access: %s", strerror(errno));
    if (json_load(doc, path) != C_OK) return C_ERR;
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(doc->root, "arch");
    if (!cJSON_IsString(arch) || strcmp(arch->valuestring, s->model)) {
        json_free(doc);
        return err_msg(path, "arch: is not \"%s\", the sweep's model", s->model);
    }
    *has = 1;
    return C_OK;
}

static int load_point(report_sweep *s, const char *dir, const char *plan, const cJSON *pj, int i)
{
    report_sweep_point *p = &s->points[i];
    p->values = xcalloc((size_t)s->n_keys + 1, sizeof *p->values);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(pj, "name");
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(pj, "overrides");
    if (!cJSON_IsString(name) || !*name->valuestring || strchr(name->valuestring, '/'))
        return err_msg(plan, "points[%d].name: must be a point name", i);
    if (!cJSON_IsObject(ov)) return err_msg(plan, "points[%d].overrides: must be an object", i);
    p->name = xstrdup(name->valuestring);
    for (int k = 0; k < s->n_keys; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ov, s->keys[k]);
        if (!v) continue;
        char *t = cJSON_PrintUnformatted(v);
        p->values[k] = xstrdup(t ? t : "?");
        cJSON_free(t);
    }
    json_doc doc;
    if (load_result(s, dir, p->name, "eval", &doc, &p->has_eval) != C_OK) return C_ERR;
    int rc = C_OK;
    if (p->has_eval) {
        if (num_field(doc.path, doc.root, "accuracy", &p->accuracy) != C_OK ||
            num_field(doc.path, doc.root, "tta_accuracy", &p->tta_accuracy) != C_OK ||
            num_field(doc.path, doc.root, "log_loss", &p->log_loss) != C_OK ||
            num_field(doc.path, doc.root, "tta_log_loss", &p->tta_log_loss) != C_OK)
            rc = C_ERR;
        json_free(&doc);
    }
    if (rc != C_OK || load_result(s, dir, p->name, "metrics", &doc, &p->has_metrics) != C_OK) return C_ERR;
    if (p->has_metrics) {
        rc = num_field(doc.path, doc.root, "train_seconds", &p->train_seconds);
        json_free(&doc);
    }
    return rc;
}

/* Best first: evaluated before not, higher TTA accuracy, then lower TTA log loss, then name. */
static int by_result(const void *pa, const void *pb)
{
    const report_sweep_point *a = pa, *b = pb;
    if (a->has_eval != b->has_eval) return b->has_eval - a->has_eval;
    if (a->has_eval) {
        double x = isfinite(a->tta_accuracy) ? a->tta_accuracy : -1, y = isfinite(b->tta_accuracy) ? b->tta_accuracy : -1;
        if (x != y) return x > y ? -1 : 1;
        x = isfinite(a->tta_log_loss) ? a->tta_log_loss : INFINITY;
        y = isfinite(b->tta_log_loss) ? b->tta_log_loss : INFINITY;
        if (x != y) return x < y ? -1 : 1;
    }
    return strcmp(a->name, b->name);
}

static int load_sweep(report_sweep *s, const char *art_dir, const char *name)
{
    char dir[4096], plan[4200];
    snprintf(dir, sizeof dir, "%s/sweeps/%s", art_dir, name);
    snprintf(plan, sizeof plan, "%s/plan.json", dir);
    json_doc doc;
    if (json_load(&doc, plan) != C_OK) return C_ERR;
    int rc = C_ERR;
    const cJSON *root = doc.root;
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
    const cJSON *points = cJSON_GetObjectItemCaseSensitive(root, "points");
    if (str_field(plan, root, "sweep", &s->name) != C_OK || str_field(plan, root, "file", &s->file) != C_OK ||
        str_field(plan, root, "description", &s->description) != C_OK ||
        str_field(plan, root, "model", &s->model) != C_OK || str_field(plan, root, "params", &s->params) != C_OK)
        goto out;
    if (strcmp(s->name, name)) { err_msg(plan, "sweep: is not \"%s\", the folder's name", name); goto out; }
    if (!cJSON_IsArray(keys)) { err_msg(plan, "keys: must be an array"); goto out; }
    if (!cJSON_IsArray(points)) { err_msg(plan, "points: must be an array"); goto out; }
    int nk = cJSON_GetArraySize(keys), np = cJSON_GetArraySize(points);
    s->keys = xcalloc((size_t)nk + 1, sizeof *s->keys);
    for (const cJSON *k = keys->child; k; k = k->next) {
        if (!cJSON_IsString(k)) { err_msg(plan, "keys[%d]: must be a string", s->n_keys); goto out; }
        s->keys[s->n_keys++] = xstrdup(k->valuestring);
    }
    s->points = xcalloc((size_t)np + 1, sizeof *s->points);
    for (const cJSON *p = points->child; p; p = p->next) {
        if (!cJSON_IsObject(p)) { err_msg(plan, "points[%d]: must be an object", s->n_points); goto out; }
        s->n_points++;
        if (load_point(s, dir, plan, p, s->n_points - 1) != C_OK) goto out;
    }
    qsort(s->points, (size_t)s->n_points, sizeof *s->points, by_result);
    rc = C_OK;
out:
    json_free(&doc);
    return rc;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int report_sweeps_load(report_page *r)
{
    char root[4096];
    snprintf(root, sizeof root, "%s/sweeps", r->opts->art_dir);
    DIR *d = opendir(root);
    if (!d) return errno == ENOENT ? C_OK : err_msg(root, "cannot open: %s", strerror(errno));
    char **names = NULL;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char plan[4400];
        snprintf(plan, sizeof plan, "%s/%s/plan.json", root, e->d_name);
        if (access(plan, F_OK) != 0) continue;   /* not expanded (yet) */
        names = xrealloc(names, (size_t)(n + 1) * sizeof *names);
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    r->sweeps = xcalloc((size_t)n + 1, sizeof *r->sweeps);
    int rc = C_OK;
    for (int i = 0; i < n; i++) {
        if (rc == C_OK) {
            r->n_sweeps++;
            rc = load_sweep(&r->sweeps[i], r->opts->art_dir, names[i]);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

void report_sweeps_free(report_page *r)
{
    for (int i = 0; i < r->n_sweeps; i++) {
        report_sweep *s = &r->sweeps[i];
        for (int j = 0; j < s->n_points; j++) {
            strs_free(s->points[j].values, s->n_keys);
            free(s->points[j].name);
        }
        free(s->points);
        strs_free(s->keys, s->n_keys);
        free(s->name);
        free(s->file);
        free(s->description);
        free(s->model);
        free(s->params);
    }
    free(r->sweeps);
    r->sweeps = NULL;
    r->n_sweeps = 0;
}
