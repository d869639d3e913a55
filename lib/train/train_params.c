/* train_params.c: read and check params/<arch>.json (see train_params.h). */
#include "train/train_params.h"

#include <stdio.h>
#include <string.h>

#include "core/errors.h"
#include "core/json.h"
#include "core/params.h"

int train_params_load(const char *path, train_params *p)
{
    static const p_field top[] = {
        { "seed", P_INT, 1, 0, 4294967295.0, 0 },
        { "batch_size", P_INT, 1, 1, 65536, 0 },
        { "momentum", P_NUMBER, 1, 0, 1, 0 },
        { "augment", P_OBJECT, 1, 0, 0, 0 },
        { "lr_find", P_OBJECT, 1, 0, 0, 0 },
        { "phases", P_ARRAY, 1, 0, 0, 0 },
        { "limit_batches", P_INT, 0, 1, 1e9, 0 },
        { "device", P_STRING, 0, 0, 0, 0 },
        { "deterministic", P_BOOL, 0, 0, 0, 0 },
        { "state_every", P_INT, 0, 1, 1e9, 0 },
    };
    static const p_field aug[] = {
        { "pad", P_INT, 1, 0, 16, 0 },
        { "flip", P_BOOL, 1, 0, 0, 0 },
    };
    static const p_field lrf[] = {
        { "start_lr", P_NUMBER, 1, 0, 10, 1 },
        { "end_lr", P_NUMBER, 1, 0, 1e3, 1 },
        { "wd", P_NUMBER, 0, 0, 1, 0 },
        { "limit_batches", P_INT, 0, 1, 1e9, 0 },
    };
    /* cycle_mult <= 20 keeps fastai's warm-up test (iteration < nb/20 with the current cycle's nb)
     * true only at the start of the first cycle, which schedule_lr relies on. */
    static const p_field phase[] = {
        { "lr", P_NUMBER, 1, 0, 1e6, 1 },   /* huge values allowed: the NaN test uses 1e6 */
        { "n_cycle", P_INT, 1, 1, 1000, 0 },
        { "cycle_len", P_INT, 0, 1, 1000, 0 },
        { "cycle_mult", P_INT, 0, 1, 20, 0 },
        { "wd", P_NUMBER, 0, 0, 1, 0 },
    };
    memset(p, 0, sizeof *p);
    json_doc doc;
    if (json_load(&doc, path) != C_OK) return C_ERR;
    int rc = C_ERR;
    const cJSON *root = doc.root;
    if (params_check(path, "", root, top, (int)(sizeof top / sizeof top[0])) != C_OK) goto out;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "augment");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(root, "lr_find");
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(root, "phases");
    if (params_check(path, "augment", a, aug, 2) != C_OK) goto out;
    if (params_check(path, "lr_find", l, lrf, 4) != C_OK) goto out;
    p->seed = (uint64_t)params_number(root, "seed", 0);
    p->batch_size = (int)params_int(root, "batch_size", 256);
    p->momentum = params_number(root, "momentum", 0.9);
    p->limit_batches = params_int(root, "limit_batches", 0);
    p->state_every = params_int(root, "state_every", 0);
    const char *dev = params_string(root, "device", "auto");
    if (strcmp(dev, "auto") && strcmp(dev, "cpu") && strcmp(dev, "cuda")) {
        err_msg(path, "device: must be \"auto\", \"cpu\" or \"cuda\" (got \"%s\")", dev);
        goto out;
    }
    snprintf(p->device, sizeof p->device, "%s", dev);
    p->deterministic = params_bool(root, "deterministic", 0);
    p->pad = (int)params_int(a, "pad", 4);
    p->flip = params_bool(a, "flip", 1);
    p->lrf_start = params_number(l, "start_lr", 1e-5);
    p->lrf_end = params_number(l, "end_lr", 10);
    p->lrf_wd = params_number(l, "wd", 0);
    p->lrf_limit = params_int(l, "limit_batches", 0);
    if (!(p->lrf_end > p->lrf_start)) { err_msg(path, "lr_find.end_lr: must be above start_lr"); goto out; }
    int n = cJSON_GetArraySize(ph);
    if (n < 1 || n > TRAIN_PARAMS_MAX_PHASES) {
        err_msg(path, "phases: must hold 1 to %d fit phases (got %d)", TRAIN_PARAMS_MAX_PHASES, n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        char where[32];
        snprintf(where, sizeof where, "phases[%d]", i);
        const cJSON *o = cJSON_GetArrayItem(ph, i);
        if (params_check(path, where, o, phase, 5) != C_OK) goto out;
        fit_phase *f = &p->phases[i];
        f->lr = params_number(o, "lr", 0);
        f->n_cycle = (int)params_int(o, "n_cycle", 1);
        f->cycle_len = (int)params_int(o, "cycle_len", 0);
        f->cycle_mult = (int)params_int(o, "cycle_mult", 1);
        f->wd = params_number(o, "wd", 0);
        if (!f->cycle_len && f->cycle_mult != 1) {
            err_msg(path, "%s.cycle_mult: needs cycle_len", where);
            goto out;
        }
        if (schedule_epochs(f) > 100000) { err_msg(path, "%s: more than 100000 epochs", where); goto out; }
    }
    p->n_phases = n;
    rc = C_OK;
out:
    json_free(&doc);
    return rc;
}

long train_params_epochs(const train_params *p)
{
    long e = 0;
    for (int i = 0; i < p->n_phases; i++) e += schedule_epochs(&p->phases[i]);
    return e;
}
