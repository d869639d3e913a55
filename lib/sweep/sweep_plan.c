/* sweep_plan.c: read a sweep file, expand its grid or points and check every point with the
 * train stage's params checker before anything is written (see sweep_plan.h). */
#include "sweep/sweep_plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/params.h"
#include "nn/model.h"
#include "sweep/key_path.h"
#include "train/train_params.h"

/* The checker's scratch file: a private temporary folder, removed when loading ends. */
typedef struct checker {
    char dir[4096];
    char path[4200];
} checker;

static int checker_open(checker *c, const char *sweep_file)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(c->dir, sizeof c->dir, "%s/sweep-check.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(c->dir)) return err_msg(sweep_file, "cannot create a temporary folder in %s: %s",
                                         tmp && *tmp ? tmp : "/tmp", strerror(errno));
    snprintf(c->path, sizeof c->path, "%s/point.json", c->dir);
    return C_OK;
}

static void checker_close(checker *c)
{
    if (*c->dir) fs_remove_tree(c->dir);
}

/* Runs train_params_load on text. The loader prints its one refusal line on stderr; it is
 * captured here (a temporary file as stderr for the call) so that the sweep prints one line naming
 * the sweep file and key instead of the scratch file. C_OK when accepted; else the refusal,
 * without its "stage: file: " prefix, is in why. */
static int checker_run(checker *c, const char *text, char *why, size_t cap)
{
    FILE *f = fopen(c->path, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
        snprintf(why, cap, "cannot write %s: %s", c->path, strerror(errno));
        return C_ERR;
    }
    fflush(stderr);
    FILE *captured = tmpfile();
    int saved = dup(STDERR_FILENO);
    if (!captured || saved < 0 || dup2(fileno(captured), STDERR_FILENO) < 0) {
        if (captured) fclose(captured);
        if (saved >= 0) close(saved);
        snprintf(why, cap, "cannot capture the params checker's message: %s", strerror(errno));
        return C_ERR;
    }
    train_params p;
    int rc = train_params_load(c->path, &p);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    if (rc != C_OK) {
        char line[1024] = "";
        rewind(captured);
        if (!fgets(line, sizeof line, captured)) snprintf(line, sizeof line, "refused");
        line[strcspn(line, "\n")] = '\0';
        const char *msg = strstr(line, c->path);
        msg = msg ? msg + strlen(c->path) : line;
        if (!strncmp(msg, ": ", 2)) msg += 2;
        snprintf(why, cap, "%s", msg);
    }
    fclose(captured);
    return rc;
}

static char *print_text(const cJSON *o)
{
    char *s = cJSON_Print(o);
    size_t n = strlen(s);
    char *t = xmalloc(n + 2);
    memcpy(t, s, n);
    t[n] = '\n';
    t[n + 1] = '\0';
    cJSON_free(s);
    return t;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* Appends a file-name-safe spelling of v: numbers as %.10g, true/false, strings with every
 * character outside [A-Za-z0-9.+-] as '_', anything else as h<hash of its JSON>. */
static void name_value(char *out, size_t cap, const cJSON *v)
{
    char raw[256];
    if (cJSON_IsNumber(v)) snprintf(raw, sizeof raw, "%.10g", v->valuedouble);
    else if (cJSON_IsBool(v)) snprintf(raw, sizeof raw, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsString(v)) snprintf(raw, sizeof raw, "%s", v->valuestring);
    else {
        char *j = cJSON_PrintUnformatted(v);
        snprintf(raw, sizeof raw, "h%08llx", (unsigned long long)(fnv1a(j ? j : "") & 0xffffffffULL));
        cJSON_free(j);
    }
    for (char *p = raw; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '+' && *p != '-') *p = '_';
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s", raw);
}

/* key-value pairs joined by "__", e.g. phases.0.lr-0.01__batch_size-128. */
static char *point_name(const cJSON *overrides)
{
    char name[4096] = "";
    for (const cJSON *o = overrides->child; o; o = o->next) {
        size_t n = strlen(name);
        snprintf(name + n, sizeof name - n, "%s%s-", n ? "__" : "", o->string);
        name_value(name, sizeof name, o);
    }
    if (strlen(name) > SWEEP_NAME_MAX) {
        char h[32];
        snprintf(h, sizeof h, "p%016llx", (unsigned long long)fnv1a(name));
        return xstrdup(h);
    }
    return xstrdup(name);
}

static void add_key(sweep_plan *p, const char *key)
{
    for (int i = 0; i < p->n_keys; i++)
        if (!strcmp(p->keys[i], key)) return;
    p->keys = xrealloc(p->keys, (size_t)(p->n_keys + 1) * sizeof *p->keys);
    p->keys[p->n_keys++] = xstrdup(key);
}

/* One override on a copy of the base: the key path must resolve, the value must pass the
 * checker on its own. where names it in the sweep file (grid.<key>[i] or points[i].<key>). */
static int check_override(const sweep_plan *p, checker *c, const cJSON *base, const char *where,
                          const char *key, const cJSON *value)
{
    char why[1024];
    if (key_path_valid(key) != C_OK)
        return err_msg(p->file, "%s: not a key path (object keys and array indices joined by dots, e.g. phases.0.lr)",
                       where);
    cJSON *doc = cJSON_Duplicate(base, 1);
    int rc = key_path_set(doc, key, value, why, sizeof why);
    if (rc != C_OK) {
        cJSON_Delete(doc);
        return err_msg(p->file, "%s: unknown key path in %s: %s", where, p->params_path, why);
    }
    char *text = print_text(doc);
    cJSON_Delete(doc);
    rc = checker_run(c, text, why, sizeof why);
    free(text);
    if (rc != C_OK) return err_msg(p->file, "%s: refused by the params checker: %s", where, why);
    return C_OK;
}

/* Applies overrides (taking ownership) to a copy of the base and checks the whole point: a
 * combination may be refused where each value alone passed (cycle_mult without cycle_len). */
static int add_point(sweep_plan *p, checker *c, const cJSON *base, cJSON *overrides, const char *where)
{
    char why[1024];
    cJSON *doc = cJSON_Duplicate(base, 1);
    for (const cJSON *o = overrides->child; o; o = o->next) {
        if (key_path_set(doc, o->string, o, why, sizeof why) != C_OK) {
            cJSON_Delete(doc);
            cJSON_Delete(overrides);
            return err_msg(p->file, "%s.%s: unknown key path in %s: %s", where, o->string, p->params_path, why);
        }
        add_key(p, o->string);
    }
    sweep_point pt = { .name = point_name(overrides), .overrides = overrides, .params_text = print_text(doc) };
    cJSON_Delete(doc);
    int rc = C_OK;
    if (checker_run(c, pt.params_text, why, sizeof why) != C_OK)
        rc = err_msg(p->file, "%s: point %s refused by the params checker: %s", where, pt.name, why);
    for (int i = 0; rc == C_OK && i < p->n_points; i++)
        if (!strcmp(p->points[i].name, pt.name))
            rc = err_msg(p->file, "%s: the same point as an earlier one (%s)", where, pt.name);
    if (rc != C_OK) {
        free(pt.name);
        free(pt.params_text);
        cJSON_Delete(pt.overrides);
        return C_ERR;
    }
    p->points = xrealloc(p->points, (size_t)(p->n_points + 1) * sizeof *p->points);
    p->points[p->n_points++] = pt;
    return C_OK;
}

/* Every combination of the grid's values, the first key varying slowest. */
static int expand_grid(sweep_plan *p, checker *c, const cJSON *base, const cJSON *grid)
{
    int n_keys = cJSON_GetArraySize(grid);
    if (n_keys == 0) return err_msg(p->file, "grid: is empty (give at least one key path and its values)");
    /* The shape and the count first: a grid of too many points is refused before any of its
     * values goes through the params checker (one run of the checker per value). */
    double total = 1;
    char where[600];
    for (const cJSON *k = grid->child; k; k = k->next) {
        for (const cJSON *j = grid->child; j != k; j = j->next)
            if (!strcmp(j->string, k->string)) return err_msg(p->file, "grid.%s: duplicate key", k->string);
        int n = cJSON_GetArraySize(k);
        if (!cJSON_IsArray(k) || n == 0)
            return err_msg(p->file, "grid.%s: must be a non-empty array of values", k->string);
        total *= n;
    }
    if (total > SWEEP_MAX_POINTS)
        return err_msg(p->file, "grid: %.0f points, more than the maximum of %d (split the sweep)", total,
                       SWEEP_MAX_POINTS);
    for (const cJSON *k = grid->child; k; k = k->next) {
        int i = 0;
        for (const cJSON *v = k->child; v; v = v->next, i++) {
            snprintf(where, sizeof where, "grid.%s[%d]", k->string, i);
            if (check_override(p, c, base, where, k->string, v) != C_OK) return C_ERR;
        }
    }
    int n_points = (int)total;
    for (int i = 0; i < n_points; i++) {
        cJSON *overrides = cJSON_CreateObject();
        int rest = i;
        int stride = n_points;
        for (const cJSON *k = grid->child; k; k = k->next) {
            stride /= cJSON_GetArraySize(k);
            cJSON_AddItemToObject(overrides, k->string, cJSON_Duplicate(cJSON_GetArrayItem(k, rest / stride), 1));
            rest %= stride;
        }
        snprintf(where, sizeof where, "grid");
        if (add_point(p, c, base, overrides, where) != C_OK) return C_ERR;
    }
    return C_OK;
}

static int expand_points(sweep_plan *p, checker *c, const cJSON *base, const cJSON *points)
{
    int n = cJSON_GetArraySize(points);
    if (n == 0) return err_msg(p->file, "points: is empty (give at least one point)");
    if (n > SWEEP_MAX_POINTS)
        return err_msg(p->file, "points: %d points, more than the maximum of %d (split the sweep)", n, SWEEP_MAX_POINTS);
    char where[600];
    int i = 0;
    for (const cJSON *pt = points->child; pt; pt = pt->next, i++) {
        if (!cJSON_IsObject(pt) || !pt->child)
            return err_msg(p->file, "points[%d]: must be a non-empty object of key path -> value", i);
        for (const cJSON *k = pt->child; k; k = k->next) {
            for (const cJSON *j = pt->child; j != k; j = j->next)
                if (!strcmp(j->string, k->string)) return err_msg(p->file, "points[%d].%s: duplicate key", i, k->string);
            snprintf(where, sizeof where, "points[%d].%s", i, k->string);
            if (check_override(p, c, base, where, k->string, k) != C_OK) return C_ERR;
        }
        snprintf(where, sizeof where, "points[%d]", i);
        if (add_point(p, c, base, cJSON_Duplicate(pt, 1), where) != C_OK) return C_ERR;
    }
    return C_OK;
}

/* A name that is safe as a file name and a make variable suffix. */
static int plain_name(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
    return 1;
}

int sweep_plan_load(sweep_plan *p, const char *file, const char *params_dir, const char *models_dir)
{
    static const p_field fields[] = {
        { "model", P_STRING, 1, 0, 0, 0 },
        { "params", P_STRING, 1, 0, 0, 0 },
        { "grid", P_OBJECT, 0, 0, 0, 0 },
        { "points", P_ARRAY, 0, 0, 0, 0 },
        { "description", P_STRING, 0, 0, 0, 0 },
    };
    memset(p, 0, sizeof *p);
    p->file = xstrdup(file);
    const char *base_name = strrchr(file, '/');
    base_name = base_name ? base_name + 1 : file;
    size_t len = strlen(base_name);
    if (len < 6 || strcmp(base_name + len - 5, ".json"))
        return err_msg(file, "a sweep file is named sweeps/<name>.json");
    p->name = xstrdup(base_name);
    p->name[len - 5] = '\0';
    if (!plain_name(p->name)) return err_msg(file, "the sweep's name must be letters, digits, '_' and '-'");

    json_doc doc = { 0 }, base = { 0 };
    checker c = { 0 };
    model_desc m;
    int have_model = 0, rc = C_ERR;
    if (json_load(&doc, file) != C_OK) goto out;
    if (params_check(file, "", doc.root, fields, (int)(sizeof fields / sizeof fields[0])) != C_OK) goto out;
    const cJSON *grid = cJSON_GetObjectItemCaseSensitive(doc.root, "grid");
    const cJSON *points = cJSON_GetObjectItemCaseSensitive(doc.root, "points");
    if (!grid == !points) {
        err_msg(file, "%s: give either a grid or a list of points", grid ? "points" : "grid");
        goto out;
    }
    p->description = xstrdup(params_string(doc.root, "description", ""));
    p->model = xstrdup(params_string(doc.root, "model", ""));
    const char *params = params_string(doc.root, "params", "");
    if (!plain_name(p->model)) { err_msg(file, "model: not an architecture name"); goto out; }
    if (!plain_name(params)) { err_msg(file, "params: not a params file name (params/<name>.json)"); goto out; }
    size_t n = strlen(models_dir) + strlen(p->model) + 8;
    p->model_path = xmalloc(n);
    snprintf(p->model_path, n, "%s/%s.json", models_dir, p->model);
    n = strlen(params_dir) + strlen(params) + 8;
    p->params_path = xmalloc(n);
    snprintf(p->params_path, n, "%s/%s.json", params_dir, params);
    if (access(p->model_path, F_OK) != 0) { err_msg(file, "model: no model file %s", p->model_path); goto out; }
    if (access(p->params_path, F_OK) != 0) { err_msg(file, "params: no params file %s", p->params_path); goto out; }
    if (model_load(&m, p->model_path) != C_OK) goto out;
    have_model = 1;
    if (strcmp(m.arch, p->model)) { err_msg(p->model_path, "arch: is \"%s\", not \"%s\"", m.arch, p->model); goto out; }

    /* The base params must pass on their own: that refusal names the params file itself. */
    train_params tp;
    if (train_params_load(p->params_path, &tp) != C_OK || json_load(&base, p->params_path) != C_OK) goto out;
    if (checker_open(&c, file) != C_OK) goto out;
    rc = grid ? expand_grid(p, &c, base.root, grid) : expand_points(p, &c, base.root, points);
out:
    checker_close(&c);
    if (have_model) model_free(&m);
    json_free(&base);
    json_free(&doc);
    return rc;
}

void sweep_plan_free(sweep_plan *p)
{
    for (int i = 0; i < p->n_points; i++) {
        free(p->points[i].name);
        free(p->points[i].params_text);
        cJSON_Delete(p->points[i].overrides);
    }
    free(p->points);
    strs_free(p->keys, p->n_keys);
    free(p->file);
    free(p->name);
    free(p->description);
    free(p->model);
    free(p->model_path);
    free(p->params_path);
    memset(p, 0, sizeof *p);
}
