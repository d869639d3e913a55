/* sweep_out.c: write a checked sweep plan's point params, plan.json and points.mk. */
#include "sweep/sweep_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic.h"
#include "core/errors.h"

/* 1 when path holds exactly text (a missing or unreadable file differs). */
static int same_bytes(const char *path, const char *text)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = strlen(text), got = 0;
    char buf[8192];
    int same = 1;
    size_t r;
    while (same && (r = fread(buf, 1, sizeof buf, f)) > 0) {
        if (got + r > n || memcmp(buf, text + got, r)) same = 0;
        got += r;
    }
    same = same && !ferror(f) && got == n;
    fclose(f);
    return same;
}

/* Writes text to path atomically unless the file already holds it (its time stamp then stays). */
static int write_if_changed(const char *path, const char *text)
{
    if (same_bytes(path, text)) return C_OK;
    return atomic_write(path, text, strlen(text));
}

static char *plan_text(const sweep_plan *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sweep", p->name);
    cJSON_AddStringToObject(o, "file", p->file);
    cJSON_AddStringToObject(o, "description", p->description);
    cJSON_AddStringToObject(o, "model", p->model);
    cJSON_AddStringToObject(o, "params", p->params_path);
    cJSON *keys = cJSON_AddArrayToObject(o, "keys");
    for (int i = 0; i < p->n_keys; i++) cJSON_AddItemToArray(keys, cJSON_CreateString(p->keys[i]));
    cJSON *pts = cJSON_AddArrayToObject(o, "points");
    for (int i = 0; i < p->n_points; i++) {
        cJSON *pt = cJSON_CreateObject();
        cJSON_AddStringToObject(pt, "name", p->points[i].name);
        cJSON_AddItemToObject(pt, "overrides", cJSON_Duplicate(p->points[i].overrides, 1));
        cJSON_AddItemToArray(pts, pt);
    }
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    size_t n = strlen(s);
    char *t = xmalloc(n + 2);
    memcpy(t, s, n);
    memcpy(t + n, "\n", 2);
    cJSON_free(s);
    return t;
}

int sweep_out_write(const sweep_plan *p, const char *out_dir)
{
    char path[4096];
    for (int i = 0; i < p->n_points; i++) {
        snprintf(path, sizeof path, "%s/%s.params.json", out_dir, p->points[i].name);
        if (write_if_changed(path, p->points[i].params_text) != C_OK) return C_ERR;
    }
    char *plan = plan_text(p);
    snprintf(path, sizeof path, "%s/plan.json", out_dir);
    int rc = write_if_changed(path, plan);
    free(plan);
    if (rc != C_OK) return C_ERR;

    snprintf(path, sizeof path, "%s/points.mk", out_dir);
    atomic_file af;
    if (atomic_open(&af, path) != C_OK) return C_ERR;
    fprintf(af.fp, "# points.mk: the points of %s, written by the sweep stage; mk/sweep.mk includes it.\n", p->file);
    fprintf(af.fp, "SWEEP_MODEL_%s := %s\nSWEEP_POINTS_%s :=", p->name, p->model, p->name);
    for (int i = 0; i < p->n_points; i++) fprintf(af.fp, " \\\n  %s", p->points[i].name);
    /* The base params and the model are read by the expansion too: editing either re-expands. */
    fprintf(af.fp, "\n%s: %s %s\n", path, p->params_path, p->model_path);
    return atomic_commit(&af);
}
