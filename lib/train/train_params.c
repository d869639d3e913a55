/* train_params.c: read and check params/<arch>.json (see train_params.h). */
#include "train/train_params.h"

#include <stdio.h>
#include <string.h>

#include "core/errors.h"
#include "core/json.h"
#include "core/params.h"

/* One of the strings names[0..n) for key (absent: index 0); -1 after an error line. */
static int pick(const char *path, const char *where, const cJSON *o, const char *key, const char *const *names, int n)
{
    const char *v = params_string(o, key, names[0]);
    for (int k = 0; k < n; k++)
        if (!strcmp(v, names[k])) return k;
    char list[128] = "";
    for (int k = 0; k < n; k++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", k ? (k + 1 < n ? ", " : " or ") : "", names[k]);
    err_msg(path, "%s%s%s: must be %s (got \"%s\")", where, *where ? "." : "", key, list, v);
    return -1;
}

/* The top-level airbench keys: optimiser, loss, augmentation modes, lookahead, freezing. */
static int load_rules(const char *path, const cJSON *root, const cJSON *a, train_params *p, const p_field *aug,
                      int n_aug, const p_field *loss, int n_loss, const p_field *look, int n_look, const p_field *frz,
                      int n_frz)
{
    (void)aug; (void)n_aug;   /* checked by the caller */
    p->nesterov = params_bool(root, "nesterov", 0);
    p->bias_lr_scale = params_number(root, "bias_lr_scale", 1);
    p->drop_last = params_bool(root, "drop_last", 0);
    static const char *const pads[] = { "reflect_edge", "reflect" }, *const crops[] = { "fastai", "all" },
                             *const flips[] = { "random", "alternate" }, *const reds[] = { "mean", "sum" };
    if ((p->pad_mode = pick(path, "augment", a, "pad_mode", pads, 2)) < 0 ||
        (p->crop = pick(path, "augment", a, "crop", crops, 2)) < 0 ||
        (p->flip_mode = pick(path, "augment", a, "flip_mode", flips, 2)) < 0)
        return C_ERR;
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(root, "loss");
    if (lo) {
        if (params_check(path, "loss", lo, loss, n_loss) != C_OK) return C_ERR;
        p->label_smoothing = params_number(lo, "label_smoothing", 0);
        if ((p->loss_sum = pick(path, "loss", lo, "reduction", reds, 2)) < 0) return C_ERR;
    }
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(root, "lookahead");
    if (la) {
        if (params_check(path, "lookahead", la, look, n_look) != C_OK) return C_ERR;
        p->la_every = (int)params_int(la, "every", 5);
        p->la_decay = params_number(la, "decay", 0.95);
        p->la_power = (int)params_int(la, "power", 3);
    }
    const cJSON *fz = cJSON_GetObjectItemCaseSensitive(root, "freeze");
    int nf = fz ? cJSON_GetArraySize(fz) : 0;
    if (nf > TRAIN_PARAMS_MAX_FREEZE)
        return err_msg(path, "freeze: at most %d entries (got %d)", TRAIN_PARAMS_MAX_FREEZE, nf);
    for (int i = 0; i < nf; i++) {
        char where[32];
        snprintf(where, sizeof where, "freeze[%d]", i);
        const cJSON *o = cJSON_GetArrayItem(fz, i);
        if (params_check(path, where, o, frz, n_frz) != C_OK) return C_ERR;
        const char *name = params_string(o, "tensor", "");
        if (!*name || strlen(name) >= sizeof p->freeze[i].tensor)
            return err_msg(path, "%s.tensor: must name a tensor of the model", where);
        for (int j = 0; j < i; j++)
            if (!strcmp(p->freeze[j].tensor, name))
                return err_msg(path, "%s.tensor: \"%s\" is already frozen by freeze[%d]", where, name, j);
        snprintf(p->freeze[i].tensor, sizeof p->freeze[i].tensor, "%s", name);
        p->freeze[i].after_epochs = params_int(o, "after_epochs", 0);
    }
    p->n_freeze = nf;
    return C_OK;
}

/* A phase's airbench keys: fractional epochs, kilostep units, decoupled decay, triangle. */
static int load_phase_rules(const char *path, const char *where, const cJSON *o, const train_params *p, fit_phase *f,
                            const p_field *sched, int n_sched)
{
    f->epochs = params_number(o, "epochs", 0);
    int has_cycles = cJSON_GetObjectItemCaseSensitive(o, "n_cycle") != NULL;
    if (f->epochs > 0 && (has_cycles || f->cycle_len))
        return err_msg(path, "%s.epochs: not with n_cycle or cycle_len", where);
    if (!(f->epochs > 0) && !has_cycles) return err_msg(path, "%s.n_cycle: missing required key (or epochs)", where);
    static const char *const units[] = { "lr", "kilostep" }, *const wdm[] = { "coupled", "decoupled" },
                             *const types[] = { "fastai", "triangle" };
    int u, w;
    if ((u = pick(path, where, o, "units", units, 2)) < 0 || (w = pick(path, where, o, "wd_mode", wdm, 2)) < 0)
        return C_ERR;
    f->kilostep = u;
    f->wd_decoupled = w;
    if (f->kilostep) {
        if (!(p->momentum < 1)) return err_msg(path, "%s.units: kilostep needs momentum below 1", where);
        double scale = 1024 * (1 + 1 / (1 - p->momentum));   /* airbench's kilostep_scale */
        f->lr = f->lr / scale;
        f->wd = f->wd * p->batch_size / scale;
    }
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "schedule");
    if (sc) {
        char sw[48];
        snprintf(sw, sizeof sw, "%s.schedule", where);
        if (params_check(path, sw, sc, sched, n_sched) != C_OK) return C_ERR;
        if ((f->schedule = pick(path, sw, sc, "type", types, 2)) < 0) return C_ERR;
        if (f->schedule == SCHEDULE_TRIANGLE) {
            if (f->cycle_len) return err_msg(path, "%s.type: triangle not with cycle_len", sw);
            f->tri_start = params_number(sc, "start", 0);
            f->tri_peak = params_number(sc, "peak", 0.5);
            f->tri_end = params_number(sc, "end", 0);
            if (!(f->tri_peak < 1)) return err_msg(path, "%s.peak: must be below 1", sw);
        }
    }
    return C_OK;
}

int train_params_sgd_rule(const train_params *p)
{
    int decoupled = 0;
    for (int i = 0; i < p->n_phases; i++) decoupled |= p->phases[i].wd_decoupled;
    /* zero fields (a train_params built in code) mean the defaults */
    return p->nesterov || (p->bias_lr_scale != 0 && p->bias_lr_scale != 1) || decoupled;
}

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
        { "nesterov", P_BOOL, 0, 0, 0, 0 },
        { "bias_lr_scale", P_NUMBER, 0, 0, 1e6, 1 },
        { "loss", P_OBJECT, 0, 0, 0, 0 },
        { "drop_last", P_BOOL, 0, 0, 0, 0 },
        { "lookahead", P_OBJECT, 0, 0, 0, 0 },
        { "freeze", P_ARRAY, 0, 0, 0, 0 },
    };
    static const p_field aug[] = {
        { "pad", P_INT, 1, 0, 16, 0 },
        { "flip", P_BOOL, 1, 0, 0, 0 },
        { "pad_mode", P_STRING, 0, 0, 0, 0 },
        { "crop", P_STRING, 0, 0, 0, 0 },
        { "flip_mode", P_STRING, 0, 0, 0, 0 },
    };
    static const p_field loss[] = {
        { "label_smoothing", P_NUMBER, 0, 0, 0.999, 0 },
        { "reduction", P_STRING, 0, 0, 0, 0 },
    };
    static const p_field look[] = {
        { "every", P_INT, 1, 1, 1e6, 0 },
        { "decay", P_NUMBER, 1, 0, 1, 0 },
        { "power", P_INT, 0, 0, 16, 0 },
    };
    static const p_field frz[] = {
        { "tensor", P_STRING, 1, 0, 0, 0 },
        { "after_epochs", P_INT, 1, 0, 100000, 0 },
    };
    static const p_field sched[] = {
        { "type", P_STRING, 1, 0, 0, 0 },
        { "start", P_NUMBER, 0, 0, 1e3, 0 },
        { "peak", P_NUMBER, 0, 0, 1, 0 },
        { "end", P_NUMBER, 0, 0, 1e3, 0 },
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
        { "n_cycle", P_INT, 0, 1, 1000, 0 },   /* required unless "epochs" */
        { "cycle_len", P_INT, 0, 1, 1000, 0 },
        { "cycle_mult", P_INT, 0, 1, 20, 0 },
        { "wd", P_NUMBER, 0, 0, 1, 0 },
        { "epochs", P_NUMBER, 0, 0, 100000, 1 },
        { "units", P_STRING, 0, 0, 0, 0 },
        { "wd_mode", P_STRING, 0, 0, 0, 0 },
        { "schedule", P_OBJECT, 0, 0, 0, 0 },
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
    if (params_check(path, "augment", a, aug, 5) != C_OK) goto out;
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
    if (load_rules(path, root, a, p, aug, 5, loss, 2, look, 3, frz, 2) != C_OK) goto out;
    int n = cJSON_GetArraySize(ph);
    if (n < 1 || n > TRAIN_PARAMS_MAX_PHASES) {
        err_msg(path, "phases: must hold 1 to %d fit phases (got %d)", TRAIN_PARAMS_MAX_PHASES, n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        char where[32];
        snprintf(where, sizeof where, "phases[%d]", i);
        const cJSON *o = cJSON_GetArrayItem(ph, i);
        if (params_check(path, where, o, phase, 9) != C_OK) goto out;
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
        if (load_phase_rules(path, where, o, p, f, sched, 4) != C_OK) goto out;
        if (schedule_epochs(f) > 100000) { err_msg(path, "%s: more than 100000 epochs", where); goto out; }
    }
    p->n_phases = n;
    /* a freeze at or past the schedule's end never happens: the tensor would train throughout */
    for (int i = 0; i < p->n_freeze; i++)
        if (p->freeze[i].after_epochs >= train_params_epochs(p)) {
            err_msg(path, "freeze[%d].after_epochs: %ld is not before the end of the schedule (%ld epochs): "
                    "%s would never be frozen", i, p->freeze[i].after_epochs, train_params_epochs(p), p->freeze[i].tensor);
            goto out;
        }
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
