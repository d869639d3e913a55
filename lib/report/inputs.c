/* inputs.c: reads the artifacts the report shows, checking every field it uses so that a
 * corrupt file is reported by name and key instead of drawing nonsense. Extra keys are allowed
 * (artifacts may grow); missing or mistyped keys are errors. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/json.h"
#include "core/params.h"
#include "io/safetensors.h"
#include "report/internal.h"

/* ---- typed field access: each prints `stage: file: key: what` on failure ---- */

static const cJSON *field(const char *file, const cJSON *obj, const char *where, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) err_msg(file, "%s%s%s: missing", where, *where ? "." : "", key);
    return v;
}

/* A number; JSON null reads as NAN when allow_null (a diverged loss is stored as null). */
static int get_num(const char *file, const cJSON *obj, const char *where, const char *key,
                   int allow_null, double *out)
{
    const cJSON *v = field(file, obj, where, key);
    if (!v) return C_ERR;
    if (allow_null && cJSON_IsNull(v)) { *out = NAN; return C_OK; }
    if (!cJSON_IsNumber(v))
        return err_msg(file, "%s%s%s: must be a number", where, *where ? "." : "", key);
    *out = v->valuedouble;
    return C_OK;
}

static int get_long(const char *file, const cJSON *obj, const char *where, const char *key,
                    long lo, long hi, long *out)
{
    double x;
    if (get_num(file, obj, where, key, 0, &x) != C_OK) return C_ERR;
    if (x != floor(x) || x < (double)lo || x > (double)hi)
        return err_msg(file, "%s%s%s: must be an integer in [%ld, %ld]", where, *where ? "." : "",
                       key, lo, hi);
    *out = (long)x;
    return C_OK;
}

static int get_prob(const char *file, const cJSON *obj, const char *key, double *out)
{
    if (get_num(file, obj, "", key, 0, out) != C_OK) return C_ERR;
    if (!(*out >= 0 && *out <= 1)) return err_msg(file, "%s: must be in [0, 1]", key);
    return C_OK;
}

/* obj's key when it is there and is(v), else NULL (after the error line: must be `what`) */
static const cJSON *typed(const char *file, const cJSON *obj, const char *where, const char *key,
                          cJSON_bool (*is)(const cJSON *), const char *what)
{
    const cJSON *v = field(file, obj, where, key);
    if (v && !is(v)) {
        err_msg(file, "%s%s%s: must be %s", where, *where ? "." : "", key, what);
        return NULL;
    }
    return v;
}

static int get_str(const char *file, const cJSON *obj, const char *where, const char *key, char **out)
{
    const cJSON *v = typed(file, obj, where, key, cJSON_IsString, "a string");
    if (v) *out = xstrdup(v->valuestring);
    return v ? C_OK : C_ERR;
}

static int get_array(const char *file, const cJSON *obj, const char *where, const char *key,
                     const cJSON **out)
{
    return (*out = typed(file, obj, where, key, cJSON_IsArray, "an array")) ? C_OK : C_ERR;
}

/* An array of numbers (nulls allowed as NAN) into a malloc'd vector. */
static int get_nums(const char *file, const cJSON *obj, const char *where, const char *key,
                    double **out, int *n)
{
    const cJSON *arr;
    if (get_array(file, obj, where, key, &arr) != C_OK) return C_ERR;
    int len = cJSON_GetArraySize(arr), i = 0;
    double *v = xmalloc(sizeof *v * (size_t)(len ? len : 1));
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (cJSON_IsNull(e)) v[i] = NAN;
        else if (cJSON_IsNumber(e)) v[i] = e->valuedouble;
        else {
            free(v);
            return err_msg(file, "%s%s%s[%d]: must be a number", where, *where ? "." : "", key, i);
        }
        i++;
    }
    *out = v;
    *n = len;
    return C_OK;
}

static char *json_text(const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    if (!s) return xstrdup("?");
    char *r = xstrdup(s);
    cJSON_free(s);
    return r;
}

static int check_arch(const char *file, const cJSON *root, const char *name)
{
    char *arch = NULL;
    if (get_str(file, root, "", "arch", &arch) != C_OK) return C_ERR;
    int same = !strcmp(arch, name);
    free(arch);
    return same ? C_OK : err_msg(file, "arch: is not \"%s\"", name);
}

/* ---- dataset ---- */

static int split_classes(report_data *d, const char *file, const char *names)
{
    d->n_classes = 0;
    char *copy = xstrdup(names), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (d->n_classes == REPORT_MAX_CLASSES) {
            free(copy);
            return err_msg(file, "classes: more than %d classes", REPORT_MAX_CLASSES);
        }
        d->classes[d->n_classes++] = xstrdup(t);
    }
    free(copy);
    return C_OK;
}

int report_data_load(report_data *d, const char *art_dir)
{
    memset(d, 0, sizeof *d);
    char path[4096];
    snprintf(path, sizeof path, "%s/stats.json", art_dir);
    if (access(path, F_OK) != 0) return err_msg(path, "missing (run the stats stage first)");
    if (norm_stats_load(path, &d->norm, d->mean, d->std) != C_OK) return C_ERR;

    snprintf(path, sizeof path, "%s/data/train.safetensors", art_dir);
    if (access(path, F_OK) != 0) return err_msg(path, "missing (run the sort stage first)");
    if (dataset_load(&d->train, path) != C_OK) return C_ERR;
    const char *names = safetensors_meta(&d->train.file, "classes");
    if (names) {
        if (split_classes(d, path, names) != C_OK) return C_ERR;
    } else {
        static const char *cifar[] = {"airplane", "automobile", "bird", "cat", "deer",
                                      "dog", "frog", "horse", "ship", "truck"};
        d->n_classes = 10;
        for (int i = 0; i < 10; i++) d->classes[i] = xstrdup(cifar[i]);
    }
    if (d->train.n_classes > d->n_classes || d->n_classes > REPORT_MAX_CLASSES)
        return err_msg(path, "classes: %d names for %d classes", d->n_classes, d->train.n_classes);

    snprintf(path, sizeof path, "%s/data/test.safetensors", art_dir);
    if (access(path, F_OK) != 0) return err_msg(path, "missing (run the sort stage first)");
    if (dataset_load(&d->test, path) != C_OK) return C_ERR;
    for (int i = 0; i < d->train.n; i++)
        if (d->train.labels[i] < d->n_classes) d->train_count[d->train.labels[i]]++;
    for (int i = 0; i < d->test.n; i++)
        if (d->test.labels[i] < d->n_classes) d->test_count[d->test.labels[i]]++;
    return C_OK;
}

void report_data_free(report_data *d)
{
    for (int i = 0; i < d->n_classes; i++) free(d->classes[i]);
    dataset_free(&d->train);
    dataset_free(&d->test);
    memset(d, 0, sizeof *d);
}

/* ---- per-architecture artifacts ---- */

static int load_summary(report_arch *a, const char *file, const cJSON *root)
{
    const cJSON *input, *mods, *m;
    long total;
    if (check_arch(file, root, a->name) != C_OK) return C_ERR;
    if (get_array(file, root, "", "input", &input) != C_OK) return C_ERR;
    if (get_long(file, root, "", "total_params", 0, 1000000000000L, &total) != C_OK) return C_ERR;
    if (get_array(file, root, "", "modules", &mods) != C_OK) return C_ERR;
    a->input_shape = json_text(input);
    a->total_params = total;
    a->modules = xcalloc((size_t)cJSON_GetArraySize(mods) + 1, sizeof *a->modules);
    int i = 0;
    cJSON_ArrayForEach(m, mods) {
        char where[32];
        snprintf(where, sizeof where, "modules[%d]", i);
        report_module *md = &a->modules[i];
        const cJSON *in, *out;
        if (!cJSON_IsObject(m)) return err_msg(file, "%s: must be an object", where);
        a->n_modules = i + 1;   /* so report_arch_free releases what was filled */
        if (get_str(file, m, where, "name", &md->name) != C_OK ||
            get_str(file, m, where, "type", &md->type) != C_OK ||
            get_array(file, m, where, "input_shape", &in) != C_OK ||
            get_array(file, m, where, "output_shape", &out) != C_OK ||
            get_long(file, m, where, "params", 0, 1000000000000L, &md->params) != C_OK)
            return C_ERR;
        md->in_shape = json_text(in);
        md->out_shape = json_text(out);
        i++;
    }
    return C_OK;
}

static int load_lrfind(report_arch *a, const char *file, const cJSON *root)
{
    int nl;
    const cJSON *se;
    if (check_arch(file, root, a->name) != C_OK ||
        get_num(file, root, "", "start_lr", 0, &a->start_lr) != C_OK ||
        get_num(file, root, "", "end_lr", 0, &a->end_lr) != C_OK ||
        get_long(file, root, "", "iterations", 0, 100000000L, &a->lrf_iterations) != C_OK ||
        get_nums(file, root, "", "lr", &a->lrf_lr, &a->n_lrf) != C_OK ||
        get_nums(file, root, "", "loss", &a->lrf_loss, &nl) != C_OK)
        return C_ERR;
    if ((se = field(file, root, "", "stopped_early")) == NULL) return C_ERR;
    if (!cJSON_IsBool(se)) return err_msg(file, "stopped_early: must be true or false");
    a->stopped_early = cJSON_IsTrue(se);
    if (nl != a->n_lrf) return err_msg(file, "loss: %d entries but lr has %d", nl, a->n_lrf);
    for (int i = 0; i < a->n_lrf; i++)
        if (!(a->lrf_lr[i] > 0)) return err_msg(file, "lr[%d]: must be > 0", i);
    return C_OK;
}

static int load_metrics(report_arch *a, const char *file, const cJSON *root)
{
    const cJSON *eps, *e, *it;
    if (check_arch(file, root, a->name) != C_OK ||
        get_num(file, root, "", "train_seconds", 0, &a->train_seconds) != C_OK ||
        get_long(file, root, "", "batches_per_epoch", 1, 100000000L, &a->batches_per_epoch) != C_OK ||
        get_array(file, root, "", "epochs", &eps) != C_OK)
        return C_ERR;
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(root, "device");
    a->device = xstrdup(cJSON_IsString(dev) ? dev->valuestring : "?");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    long long sv;
    a->seed = json_int(seed, 0, JSON_INT_EXACT, &sv) == JSON_INT_OK ? (long)sv : -1;
    a->epochs = xcalloc((size_t)cJSON_GetArraySize(eps) + 1, sizeof *a->epochs);
    int i = 0;
    cJSON_ArrayForEach(e, eps) {
        char where[32];
        long phase, epoch;
        report_epoch *ep = &a->epochs[i];
        snprintf(where, sizeof where, "epochs[%d]", i);
        if (!cJSON_IsObject(e)) return err_msg(file, "%s: must be an object", where);
        if (get_long(file, e, where, "phase", 0, 1000, &phase) != C_OK ||
            get_long(file, e, where, "epoch", 0, 1000000, &epoch) != C_OK ||
            get_num(file, e, where, "trn_loss", 1, &ep->trn_loss) != C_OK ||
            get_num(file, e, where, "val_loss", 1, &ep->val_loss) != C_OK ||
            get_num(file, e, where, "accuracy", 1, &ep->accuracy) != C_OK)
            return C_ERR;
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "seconds");
        ep->seconds = cJSON_IsNumber(s) ? s->valuedouble : NAN;
        if (!isnan(ep->accuracy) && !(ep->accuracy >= 0 && ep->accuracy <= 1))
            return err_msg(file, "%s.accuracy: must be in [0, 1]", where);
        ep->phase = (int)phase;
        ep->epoch = (int)epoch;
        i++;
    }
    a->n_epochs = i;
    if ((it = field(file, root, "", "iterations")) == NULL) return C_ERR;
    if (!cJSON_IsObject(it)) return err_msg(file, "iterations: must be an object");
    int nl;
    if (get_nums(file, it, "iterations", "lr", &a->iter_lr, &a->n_iter) != C_OK ||
        get_nums(file, it, "iterations", "loss", &a->iter_loss, &nl) != C_OK)
        return C_ERR;
    if (nl != a->n_iter)
        return err_msg(file, "iterations.loss: %d entries but iterations.lr has %d", nl, a->n_iter);
    return C_OK;
}

/* eval.json's optional "tta": "fastai" (absent) or "flip_translate" (airbench's fixed views) */
static int tta_kind(const char *file, const cJSON *root, int *views)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "tta");
    *views = 0;
    if (!t) return C_OK;
    if (!cJSON_IsString(t) || (strcmp(t->valuestring, "fastai") && strcmp(t->valuestring, "flip_translate")))
        return err_msg(file, "tta: must be \"fastai\" or \"flip_translate\"");
    *views = !strcmp(t->valuestring, "flip_translate");
    return C_OK;
}

static int load_eval(report_arch *a, const char *file, const cJSON *root)
{
    const cJSON *classes, *conf, *row, *v;
    double *pc = NULL, *tpc = NULL;
    int npc = 0, ntpc = 0, rc = C_ERR;
    if (check_arch(file, root, a->name) != C_OK ||
        get_long(file, root, "", "n_aug", 0, 1000, &a->n_aug) != C_OK || tta_kind(file, root, &a->tta_views) != C_OK ||
        get_long(file, root, "", "count", 1, 1000000000L, &a->count) != C_OK ||
        get_prob(file, root, "accuracy", &a->accuracy) != C_OK ||
        get_prob(file, root, "tta_accuracy", &a->tta_accuracy) != C_OK ||
        get_num(file, root, "", "log_loss", 0, &a->log_loss) != C_OK ||
        get_num(file, root, "", "tta_log_loss", 0, &a->tta_log_loss) != C_OK ||
        get_array(file, root, "", "classes", &classes) != C_OK ||
        get_array(file, root, "", "confusion", &conf) != C_OK)
        return C_ERR;
    if (!(isfinite(a->log_loss) && a->log_loss >= 0)) return err_msg(file, "log_loss: must be a finite number >= 0");
    if (!(isfinite(a->tta_log_loss) && a->tta_log_loss >= 0))
        return err_msg(file, "tta_log_loss: must be a finite number >= 0");
    int k = cJSON_GetArraySize(classes);
    if (k < 1 || k > REPORT_MAX_CLASSES)
        return err_msg(file, "classes: must hold 1 to %d names", REPORT_MAX_CLASSES);
    a->n_classes = k;
    if (get_nums(file, root, "", "per_class", &pc, &npc) != C_OK) goto done;
    if (get_nums(file, root, "", "tta_per_class", &tpc, &ntpc) != C_OK) goto done;
    if (npc != k) { err_msg(file, "per_class: %d entries for %d classes", npc, k); goto done; }
    if (ntpc != k) { err_msg(file, "tta_per_class: %d entries for %d classes", ntpc, k); goto done; }
    memcpy(a->per_class, pc, sizeof *pc * (size_t)k);
    memcpy(a->tta_per_class, tpc, sizeof *tpc * (size_t)k);
    if (cJSON_GetArraySize(conf) != k) {
        err_msg(file, "confusion: must be %d x %d", k, k);
        goto done;
    }
    int i = 0;
    cJSON_ArrayForEach(row, conf) {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != k) {
            err_msg(file, "confusion[%d]: must be an array of %d counts", i, k);
            goto done;
        }
        int j = 0;
        cJSON_ArrayForEach(v, row) {
            long long c;
            if (json_int(v, 0, 1000000000000LL, &c) != JSON_INT_OK) {
                err_msg(file, "confusion[%d][%d]: must be a count", i, j);
                goto done;
            }
            a->confusion[i * k + j] = (long)c;
            j++;
        }
        i++;
    }
    rc = C_OK;
done:
    free(pc);
    free(tpc);
    return rc;
}

/* The probabilities beside an evaluation (<art>/<name>.probs.safetensors, when it exists) must be
 * finite: the metrics shown were computed from them, and NaN would have been scored as a guess. */
static int check_probs(const char *art_dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.probs.safetensors", art_dir, name);
    if (access(path, F_OK) != 0) return C_OK;
    safetensors_file f;
    if (safetensors_read(&f, path) != C_OK) return C_ERR;
    int rc = C_OK;
    for (int i = 0; i < f.n_tensors && rc == C_OK; i++) {
        const safetensors_tensor *t = &f.tensors[i];
        if (t->dtype != SAFETENSORS_F32) continue;
        const float *v = t->data;
        for (size_t j = 0; j < t->nbytes / sizeof *v; j++)
            if (!isfinite(v[j])) {
                rc = err_msg(path, "%s: element %zu is %g: the probabilities are not finite", t->name, j, (double)v[j]);
                break;
            }
    }
    safetensors_free(&f);
    return rc;
}

/* Loads <art>/<name>.<kind>.json when it exists: *has = 0 when absent, C_ERR when unreadable. */
static int load_optional(report_arch *a, const char *art_dir, const char *kind, int *has,
                         int (*fn)(report_arch *, const char *, const cJSON *))
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s.json", art_dir, a->name, kind);
    *has = 0;
    if (access(path, F_OK) != 0) {
        if (errno == ENOENT) return C_OK;
        return err_msg(path, "cannot access: %s", strerror(errno));
    }
    json_doc doc;
    if (json_load(&doc, path) != C_OK) return C_ERR;
    int rc = fn(a, path, doc.root);
    json_free(&doc);
    if (rc == C_OK) *has = 1;
    return rc;
}

int report_arch_load(report_arch *a, const char *art_dir, const char *name, int index)
{
    memset(a, 0, sizeof *a);
    a->name = xstrdup(name);
    a->index = index;
    if (load_optional(a, art_dir, "summary", &a->has_summary, load_summary) != C_OK ||
        load_optional(a, art_dir, "lrfind", &a->has_lrfind, load_lrfind) != C_OK ||
        load_optional(a, art_dir, "metrics", &a->has_metrics, load_metrics) != C_OK ||
        load_optional(a, art_dir, "eval", &a->has_eval, load_eval) != C_OK ||
        (a->has_eval && check_probs(art_dir, name) != C_OK))
        return C_ERR;
    /* train writes summary, metrics and checkpoint together and evaluate needs the checkpoint, so
     * a summary or evaluation without metrics means the metrics file went missing: an error, not
     * "not trained yet" (that is a model with none of these files). */
    if (!a->has_metrics && (a->has_summary || a->has_eval))
        return err_msg(NULL, "%s/%s.metrics.json: missing (the model has a %s but no training metrics)",
                       art_dir, name, a->has_eval ? "evaluation" : "summary");
    return C_OK;
}

void report_arch_free(report_arch *a)
{
    free(a->name);
    free(a->input_shape);
    for (int i = 0; i < a->n_modules; i++) {
        free(a->modules[i].name);
        free(a->modules[i].type);
        free(a->modules[i].in_shape);
        free(a->modules[i].out_shape);
    }
    free(a->modules);
    free(a->lrf_lr);
    free(a->lrf_loss);
    free(a->device);
    free(a->epochs);
    free(a->iter_lr);
    free(a->iter_loss);
    memset(a, 0, sizeof *a);
}
