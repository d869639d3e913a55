/* train_params.c: read and check params/<arch>.json (see train_params.h). */
#include "train/train_params.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/errors.h"
#include "core/json.h"
#include "core/params.h"

/* A key of a params object: its check (params_check) and where its value goes, at byte `off` of
 * the struct keys_read fills, as `as` (AS_NONE: objects, arrays and the strings picked from a
 * list, which the code reads itself); absent, it gets dflt. Each key is named here once. */
typedef enum key_as { AS_NONE, AS_DOUBLE, AS_INT, AS_LONG, AS_U64, AS_BOOL } key_as;
typedef struct key_spec {
    p_field check;
    key_as as;
    size_t off;
    double dflt;
} key_spec;

#define N_KEYS(t) ((int)(sizeof t / sizeof t[0]))
#define KEYS_MAX 16

/* Checks o against keys[0..n) and stores each value in base; C_ERR after params_check's line. */
static int keys_read(const char *path, const char *where, const cJSON *o, const key_spec *keys, int n, void *base)
{
    p_field f[KEYS_MAX];
    for (int i = 0; i < n; i++) f[i] = keys[i].check;
    if (params_check(path, where, o, f, n) != C_OK) return C_ERR;
    for (int i = 0; i < n; i++) {
        char *at = (char *)base + keys[i].off;
        const char *key = keys[i].check.key;
        double d = keys[i].dflt;
        switch (keys[i].as) {
        case AS_NONE: break;
        case AS_DOUBLE: *(double *)at = params_number(o, key, d); break;
        case AS_INT: *(int *)at = (int)params_int(o, key, (long)d); break;
        case AS_LONG: *(long *)at = params_int(o, key, (long)d); break;
        case AS_U64: *(uint64_t *)at = (uint64_t)params_number(o, key, d); break;
        case AS_BOOL: *(int *)at = params_bool(o, key, (int)d); break;
        }
    }
    return C_OK;
}

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

/* The keys of each object, in the order params_check reports them. */
#define TP(m) offsetof(train_params, m)
#define FP(m) offsetof(fit_phase, m)
static const key_spec top_keys[] = {
    { { "seed", P_INT, 1, 0, 4294967295.0, 0 }, AS_U64, TP(seed), 0 },
    { { "batch_size", P_INT, 1, 1, 65536, 0 }, AS_INT, TP(batch_size), 256 },
    { { "momentum", P_NUMBER, 1, 0, 1, 0 }, AS_DOUBLE, TP(momentum), 0.9 },
    { { "augment", P_OBJECT, 1, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "lr_find", P_OBJECT, 1, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "phases", P_ARRAY, 1, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "limit_batches", P_INT, 0, 1, 1e9, 0 }, AS_LONG, TP(limit_batches), 0 },
    { { "device", P_STRING, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "deterministic", P_BOOL, 0, 0, 0, 0 }, AS_BOOL, TP(deterministic), 0 },
    { { "state_every", P_INT, 0, 1, 1e9, 0 }, AS_LONG, TP(state_every), 0 },
    { { "nesterov", P_BOOL, 0, 0, 0, 0 }, AS_BOOL, TP(nesterov), 0 },
    { { "bias_lr_scale", P_NUMBER, 0, 0, 1e6, 1 }, AS_DOUBLE, TP(bias_lr_scale), 1 },
    { { "loss", P_OBJECT, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "drop_last", P_BOOL, 0, 0, 0, 0 }, AS_BOOL, TP(drop_last), 0 },
    { { "lookahead", P_OBJECT, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "freeze", P_ARRAY, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
};
static const key_spec aug_keys[] = {   /* pad_mode, crop and flip_mode: pick() in load_rules */
    { { "pad", P_INT, 1, 0, 16, 0 }, AS_INT, TP(pad), 4 },
    { { "flip", P_BOOL, 1, 0, 0, 0 }, AS_BOOL, TP(flip), 1 },
    { { "pad_mode", P_STRING, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "crop", P_STRING, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "flip_mode", P_STRING, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
};
static const key_spec lrf_keys[] = {
    { { "start_lr", P_NUMBER, 1, 0, 10, 1 }, AS_DOUBLE, TP(lrf_start), 1e-5 },
    { { "end_lr", P_NUMBER, 1, 0, 1e3, 1 }, AS_DOUBLE, TP(lrf_end), 10 },
    { { "wd", P_NUMBER, 0, 0, 1, 0 }, AS_DOUBLE, TP(lrf_wd), 0 },
    { { "limit_batches", P_INT, 0, 1, 1e9, 0 }, AS_LONG, TP(lrf_limit), 0 },
};
static const key_spec loss_keys[] = {
    { { "label_smoothing", P_NUMBER, 0, 0, 0.999, 0 }, AS_DOUBLE, TP(label_smoothing), 0 },
    { { "reduction", P_STRING, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
};
static const key_spec look_keys[] = {
    { { "every", P_INT, 1, 1, 1e6, 0 }, AS_INT, TP(la_every), 5 },
    { { "decay", P_NUMBER, 1, 0, 1, 0 }, AS_DOUBLE, TP(la_decay), 0.95 },
    { { "power", P_INT, 0, 0, 16, 0 }, AS_INT, TP(la_power), 3 },
};
static const key_spec frz_keys[] = {   /* the tensor name is checked and copied by load_rules */
    { { "tensor", P_STRING, 1, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "after_epochs", P_INT, 1, 0, 100000, 0 }, AS_LONG, offsetof(train_freeze, after_epochs), 0 },
};
/* cycle_mult <= 20 keeps fastai's warm-up test (iteration < nb/20 with the current cycle's nb)
 * true only at the start of the first cycle, which schedule_lr relies on. */
static const key_spec phase_keys[] = {
    { { "lr", P_NUMBER, 1, 0, 1e6, 1 }, AS_DOUBLE, FP(lr), 0 },   /* huge values allowed: the NaN test uses 1e6 */
    { { "n_cycle", P_INT, 0, 1, 1000, 0 }, AS_INT, FP(n_cycle), 1 },   /* required unless "epochs" */
    { { "cycle_len", P_INT, 0, 1, 1000, 0 }, AS_INT, FP(cycle_len), 0 },
    { { "cycle_mult", P_INT, 0, 1, 20, 0 }, AS_INT, FP(cycle_mult), 1 },
    { { "wd", P_NUMBER, 0, 0, 1, 0 }, AS_DOUBLE, FP(wd), 0 },
    { { "epochs", P_NUMBER, 0, 0, 100000, 1 }, AS_DOUBLE, FP(epochs), 0 },
    { { "units", P_STRING, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "wd_mode", P_STRING, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "schedule", P_OBJECT, 0, 0, 0, 0 }, AS_NONE, 0, 0 },
};
/* start, peak and end apply to the triangle only; keys_read fills them for either type */
static const key_spec sched_keys[] = {
    { { "type", P_STRING, 1, 0, 0, 0 }, AS_NONE, 0, 0 },
    { { "start", P_NUMBER, 0, 0, 1e3, 0 }, AS_DOUBLE, FP(tri_start), 0 },
    { { "peak", P_NUMBER, 0, 0, 1, 0 }, AS_DOUBLE, FP(tri_peak), 0.5 },
    { { "end", P_NUMBER, 0, 0, 1e3, 0 }, AS_DOUBLE, FP(tri_end), 0 },
};
#undef TP
#undef FP
_Static_assert(N_KEYS(top_keys) <= KEYS_MAX && N_KEYS(phase_keys) <= KEYS_MAX, "keys_read holds KEYS_MAX p_fields");

/* The top-level airbench keys: loss, augmentation modes, lookahead, freezing. */
static int load_rules(const char *path, const cJSON *root, const cJSON *a, train_params *p)
{
    static const char *const pads[] = { "reflect_edge", "reflect" }, *const crops[] = { "fastai", "all" },
                             *const flips[] = { "random", "alternate" }, *const reds[] = { "mean", "sum" };
    if ((p->pad_mode = pick(path, "augment", a, "pad_mode", pads, 2)) < 0 ||
        (p->crop = pick(path, "augment", a, "crop", crops, 2)) < 0 ||
        (p->flip_mode = pick(path, "augment", a, "flip_mode", flips, 2)) < 0)
        return C_ERR;
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(root, "loss");
    if (lo) {
        if (keys_read(path, "loss", lo, loss_keys, N_KEYS(loss_keys), p) != C_OK) return C_ERR;
        if ((p->loss_sum = pick(path, "loss", lo, "reduction", reds, 2)) < 0) return C_ERR;
    }
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(root, "lookahead");
    if (la && keys_read(path, "lookahead", la, look_keys, N_KEYS(look_keys), p) != C_OK) return C_ERR;
    const cJSON *fz = cJSON_GetObjectItemCaseSensitive(root, "freeze");
    int nf = fz ? cJSON_GetArraySize(fz) : 0;
    if (nf > TRAIN_PARAMS_MAX_FREEZE)
        return err_msg(path, "freeze: at most %d entries (got %d)", TRAIN_PARAMS_MAX_FREEZE, nf);
    for (int i = 0; i < nf; i++) {
        char where[32];
        snprintf(where, sizeof where, "freeze[%d]", i);
        const cJSON *o = cJSON_GetArrayItem(fz, i);
        if (keys_read(path, where, o, frz_keys, N_KEYS(frz_keys), &p->freeze[i]) != C_OK) return C_ERR;
        const char *name = params_string(o, "tensor", "");
        if (!*name || strlen(name) >= sizeof p->freeze[i].tensor)
            return err_msg(path, "%s.tensor: must name a tensor of the model", where);
        for (int j = 0; j < i; j++)
            if (!strcmp(p->freeze[j].tensor, name))
                return err_msg(path, "%s.tensor: \"%s\" is already frozen by freeze[%d]", where, name, j);
        snprintf(p->freeze[i].tensor, sizeof p->freeze[i].tensor, "%s", name);
    }
    p->n_freeze = nf;
    return C_OK;
}

/* A phase's airbench keys: fractional epochs, kilostep units, decoupled decay, triangle. */
static int load_phase_rules(const char *path, const char *where, const cJSON *o, const train_params *p, fit_phase *f)
{
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
        fit_phase tri;   /* start, peak and end, kept for a triangle only */
        if (keys_read(path, sw, sc, sched_keys, N_KEYS(sched_keys), &tri) != C_OK) return C_ERR;
        if ((f->schedule = pick(path, sw, sc, "type", types, 2)) < 0) return C_ERR;
        if (f->schedule == SCHEDULE_TRIANGLE) {
            if (f->cycle_len) return err_msg(path, "%s.type: triangle not with cycle_len", sw);
            f->tri_start = tri.tri_start;
            f->tri_peak = tri.tri_peak;
            f->tri_end = tri.tri_end;
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
    memset(p, 0, sizeof *p);
    json_doc doc;
    if (json_load(&doc, path) != C_OK) return C_ERR;
    int rc = C_ERR;
    const cJSON *root = doc.root;
    if (keys_read(path, "", root, top_keys, N_KEYS(top_keys), p) != C_OK) goto out;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "augment");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(root, "lr_find");
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(root, "phases");
    if (keys_read(path, "augment", a, aug_keys, N_KEYS(aug_keys), p) != C_OK) goto out;
    if (keys_read(path, "lr_find", l, lrf_keys, N_KEYS(lrf_keys), p) != C_OK) goto out;
    const char *dev = params_string(root, "device", "auto");
    if (strcmp(dev, "auto") && strcmp(dev, "cpu") && strcmp(dev, "cuda")) {
        err_msg(path, "device: must be \"auto\", \"cpu\" or \"cuda\" (got \"%s\")", dev);
        goto out;
    }
    snprintf(p->device, sizeof p->device, "%s", dev);
    if (!(p->lrf_end > p->lrf_start)) { err_msg(path, "lr_find.end_lr: must be above start_lr"); goto out; }
    if (load_rules(path, root, a, p) != C_OK) goto out;
    int n = cJSON_GetArraySize(ph);
    if (n < 1 || n > TRAIN_PARAMS_MAX_PHASES) {
        err_msg(path, "phases: must hold 1 to %d fit phases (got %d)", TRAIN_PARAMS_MAX_PHASES, n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        char where[32];
        snprintf(where, sizeof where, "phases[%d]", i);
        fit_phase *f = &p->phases[i];
        if (keys_read(path, where, cJSON_GetArrayItem(ph, i), phase_keys, N_KEYS(phase_keys), f) != C_OK) goto out;
        if (!f->cycle_len && f->cycle_mult != 1) {
            err_msg(path, "%s.cycle_mult: needs cycle_len", where);
            goto out;
        }
        if (load_phase_rules(path, where, cJSON_GetArrayItem(ph, i), p, f) != C_OK) goto out;
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
