/* eval.c: TTA evaluation of one checkpoint (see eval.h). */
#include "eval/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "backend/select.h"
#include "io/checkpoint.h"
#include "data/dataset.h"
#include "data/norm_stats.h"
#include "core/atomic.h"
#include "core/errors.h"
#include "eval/metrics.h"
#include "eval/tta.h"
#include "nn/net.h"
#include "core/json.h"
#include "core/params.h"
#include "core/progress.h"
#include "io/safetensors.h"
#include "data/loader.h"
#include "data/model_fit.h"

int eval_params_load(const char *path, eval_params *p)
{
    static const p_field fields[] = {
        { "n_aug", P_INT, 0, 0, 64, 0 },          /* required with "tta": "fastai", refused otherwise */
        { "batch_size", P_INT, 1, 1, 4096, 0 },
        { "seed", P_INT, 1, 0, 9007199254740992.0, 0 },
        { "tta", P_STRING, 0, 1, 0, 0 },
    };
    json_doc d;
    if (json_load(&d, path) != C_OK) return C_ERR;
    int rc = params_check(path, "", d.root, fields, 4);
    if (rc == C_OK) {
        const char *tta = params_string(d.root, "tta", "fastai");
        const int has_n_aug = cJSON_GetObjectItemCaseSensitive(d.root, "n_aug") != NULL;
        p->tta = !strcmp(tta, "flip_translate") ? EVAL_TTA_FLIP_TRANSLATE : EVAL_TTA_FASTAI;
        if (strcmp(tta, "fastai") && strcmp(tta, "flip_translate"))
            rc = err_msg(path, "tta: must be \"fastai\" or \"flip_translate\" (got \"%s\")", tta);
        else if (p->tta == EVAL_TTA_FASTAI && !has_n_aug)
            rc = err_msg(path, "n_aug: missing required key (needed unless \"tta\" is \"flip_translate\")");
        else if (p->tta == EVAL_TTA_FLIP_TRANSLATE && has_n_aug)
            rc = err_msg(path, "n_aug: not used with \"tta\": \"flip_translate\" (its six views are fixed); remove it");
        /* flip_translate: the 5 views beside the clean one, as eval.json's n_aug counts them */
        p->n_aug = p->tta == EVAL_TTA_FASTAI ? (int)params_int(d.root, "n_aug", 4) : TTA_N_VIEWS - 1;
        p->batch_size = (int)params_int(d.root, "batch_size", 256);
        p->seed = (unsigned long long)params_number(d.root, "seed", 0);
    }
    json_free(&d);
    return rc;
}

int eval_args(eval_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    static const char *usage = "usage: evaluate --model M.json --ckpt C.ckpt --params eval.json --data DIR "
                               "--stats stats.json --eval OUT.json --probs OUT.safetensors [--threads N]";
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = !strcmp(k, "--model") ? &o->model_path : !strcmp(k, "--ckpt") ? &o->ckpt_path
                         : !strcmp(k, "--params") ? &o->params_path : !strcmp(k, "--data") ? &o->data_dir
                         : !strcmp(k, "--stats") ? &o->stats_path : !strcmp(k, "--eval") ? &o->eval_out
                         : !strcmp(k, "--probs") ? &o->probs_out : NULL;
        if (!strcmp(k, "--threads")) {
            if (params_thread_arg(k, v, &o->threads) != C_OK) return C_ERR;
            i++;
            continue;
        }
        if (!dst) return err_msg(k, "unknown option; %s", usage);
        if (!v) return err_msg(k, "needs a value");
        *dst = v;
        i++;
    }
    const char *missing = !o->model_path ? "--model" : !o->ckpt_path ? "--ckpt" : !o->params_path ? "--params"
                        : !o->data_dir ? "--data" : !o->stats_path ? "--stats" : !o->eval_out ? "--eval"
                        : !o->probs_out ? "--probs" : NULL;
    if (missing) return err_msg(missing, "missing; %s", usage);
    return C_OK;
}

/* Finite weights can still overflow to infinities and NaN, which no metric can score: checked
 * for each batch as it comes (rows start.. of n images). */
static int check_logp(const float *logp, long start, int n, int k, const char *ckpt, const char *desc)
{
    long bad = metrics_first_nonfinite(logp + (size_t)start * k, (size_t)n * k);
    if (bad < 0) return C_OK;
    return err_msg(ckpt, "the model's log-probabilities are not finite (%g for test image %ld, class %ld, %s)",
                   (double)logp[(size_t)start * k + bad], start + bad / k, bad % k, desc);
}

/* One pass over the test set into logp [n, k]: view >= 0 is that fixed view (eval/tta.h);
 * otherwise pass < 0 is the clean pass, pass >= 0 the training transform with the draws of TTA
 * pass `pass`. */
static int run_pass(net *nt, const dataset *ds, const norm_stats *ns, const eval_params *ep, int pass, int view,
                    float *x, float *logp, int k, const char *ckpt, const char *desc)
{
    const int h = ds->h, w = ds->w, bs = ep->batch_size;
    const size_t img = (size_t)3 * h * w;
    augment_cfg cfg = { .pad = h / 8, .flip = 1, .seed = ep->seed };   /* fastai: pad = sz // 8 */
    progress pr;
    long nb = (ds->n + bs - 1) / bs;
    progress_init(&pr, desc, nb);
    for (long b = 0; b < nb; b++) {
        int start = (int)(b * bs), n = ds->n - start < bs ? ds->n - start : bs;
        #pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++) {
            const uint8_t *src = dataset_image(ds, start + i);
            if (view >= 0) tta_view_image(src, h, w, ns, view, x + (size_t)i * img);
            else if (pass < 0) augment_normalise(src, h, w, ns, x + (size_t)i * img);
            else augment_image(src, h, w, ns, &cfg, AUGMENT_PASS_TTA + (uint32_t)pass, (uint32_t)(start + i),
                               x + (size_t)i * img);
        }
        if (net_forward(nt, x, n, 0, 0, 0) != C_OK) return C_ERR;
        if (net_output(nt, logp + (size_t)start * k) != C_OK) return C_ERR;
        if (check_logp(logp, start, n, k, ckpt, desc) != C_OK) return C_ERR;
        progress_update(&pr, b + 1);
    }
    progress_finish(&pr);
    return C_OK;
}

/* The same pass with the test set resident on the device (dl attached to the net's input):
 * batches are normalised or augmented there (same draws: pass, dataset index), only the
 * log-probabilities come back. */
static int run_pass_device(net *nt, loader *dl, int pass, float *logp, int k, const char *ckpt, const char *desc)
{
    progress pr;
    loader_set_mode(dl, 0, pass >= 0);
    if (loader_start(dl, 0, pass < 0 ? 0 : AUGMENT_PASS_TTA + (uint32_t)pass) != C_OK) return C_ERR;
    progress_init(&pr, desc, dl->n_batches);
    long start = 0;
    const batch *b;
    int rc;
    for (; (rc = loader_next(dl, &b)) == C_OK && b; start += b->n) {
        if (net_forward(nt, NULL, b->n, 0, 0, 0) != C_OK) return C_ERR;
        if (net_output(nt, logp + (size_t)start * k) != C_OK) return C_ERR;
        if (check_logp(logp, start, b->n, k, ckpt, desc) != C_OK) return C_ERR;
        progress_update(&pr, b->index + 1);
    }
    progress_finish(&pr);
    return rc;
}

/* airbench's TTA level 2 (eval/tta.h) after the clean pass (logp holds its log-probabilities,
 * view TTA_IDENTITY): the five other views, each built here and uploaded a batch at a time; tta
 * gets the softmax of the weighted mean log-probability. */
static int flip_translate(net *nt, const dataset *ds, const norm_stats *ns, const eval_params *ep, float *x,
                          float *logp, float *tta, int k, const char *ckpt, const char *arch)
{
    static const char *names[TTA_N_VIEWS] = { "clean", "mirror", "crop (0,0)", "crop (0,0) mirror", "crop (2,2)",
                                              "crop (2,2) mirror" };
    const size_t count = (size_t)ds->n * k;
    double *sum = xcalloc(count ? count : 1, sizeof *sum);
    tta_add_weighted(sum, logp, tta_view_weight(TTA_IDENTITY), count);
    int rc = C_OK;
    for (int v = 0; v < TTA_N_VIEWS && rc == C_OK; v++) {
        if (v == TTA_IDENTITY) continue;
        char desc[128];
        snprintf(desc, sizeof desc, "%.60s TTA view %d/%d (%s)", arch, v + 1, TTA_N_VIEWS, names[v]);
        rc = run_pass(nt, ds, ns, ep, -1, v, x, logp, k, ckpt, desc);
        if (rc == C_OK) tta_add_weighted(sum, logp, tta_view_weight(v), count);
    }
    if (rc == C_OK) tta_softmax_rows(sum, (size_t)ds->n, k, tta);
    free(sum);
    return rc;
}

static cJSON *num_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

static cJSON *eval_json(const char *arch, const eval_params *ep, const dataset *ds, int k, const float *clean,
                        const float *tta)
{
    size_t n = (size_t)ds->n;
    double *pc = xmalloc(sizeof *pc * (size_t)k);
    long *conf = xmalloc(sizeof *conf * (size_t)k * k);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "arch", arch);
    cJSON_AddNumberToObject(o, "n_aug", ep->n_aug);
    if (ep->tta == EVAL_TTA_FLIP_TRANSLATE) cJSON_AddStringToObject(o, "tta", "flip_translate");
    cJSON_AddNumberToObject(o, "count", (double)n);
    cJSON_AddNumberToObject(o, "accuracy", metrics_accuracy(clean, ds->labels, n, k));
    cJSON_AddNumberToObject(o, "log_loss", metrics_log_loss(clean, ds->labels, n, k));
    cJSON_AddNumberToObject(o, "tta_accuracy", metrics_accuracy(tta, ds->labels, n, k));
    cJSON_AddNumberToObject(o, "tta_log_loss", metrics_log_loss(tta, ds->labels, n, k));

    /* Class names from the data's metadata (label order), else their indices. */
    cJSON *cl = cJSON_AddArrayToObject(o, "classes");
    const char *meta = safetensors_meta(&ds->file, "classes");
    char *names = xstrdup(meta ? meta : ""), *save = NULL, *t = strtok_r(names, ",", &save);
    for (int i = 0; i < k; i++) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", i);
        cJSON_AddItemToArray(cl, cJSON_CreateString(t ? t : idx));
        if (t) t = strtok_r(NULL, ",", &save);
    }
    free(names);

    metrics_per_class(clean, ds->labels, n, k, pc);
    cJSON_AddItemToObject(o, "per_class", num_array(pc, k));
    metrics_per_class(tta, ds->labels, n, k, pc);
    cJSON_AddItemToObject(o, "tta_per_class", num_array(pc, k));
    metrics_confusion(tta, ds->labels, n, k, conf);
    cJSON *cm = cJSON_AddArrayToObject(o, "confusion");
    for (int i = 0; i < k; i++) {
        cJSON *row = cJSON_CreateArray();
        for (int j = 0; j < k; j++) cJSON_AddItemToArray(row, cJSON_CreateNumber((double)conf[(size_t)i * k + j]));
        cJSON_AddItemToArray(cm, row);
    }
    free(pc);
    free(conf);
    return o;
}

int eval_run(const eval_opts *o)
{
    eval_params ep;
    norm_stats ns;
    double mean[3], std[3];
    dataset ds = { 0 };
    backend be;
    net *nt = NULL;
    int have_be = 0, rc = C_ERR;
    float *x = NULL, *logp = NULL, *clean = NULL, *tta = NULL;
    metrics_tta acc = { 0 };
    loader dl;
    int have_dl = 0;
    char path[4096], journal[4096], lock[4096];

    /* The two outputs are one commit group (journal `<eval minus .json>.commit`, under the lock
     * `.lock` beside it): both land or neither. A commit a killed run began is finished first,
     * and a folder where an output goes is refused before the work. */
    const char *const outs[2] = { o->probs_out, o->eval_out };
    size_t base = strlen(o->eval_out);
    if (base > 5 && !strcmp(o->eval_out + base - 5, ".json")) base -= 5;
    if (base + 8 > sizeof journal) return err_msg(o->eval_out, "path too long");
    snprintf(journal, sizeof journal, "%.*s.commit", (int)base, o->eval_out);
    snprintf(lock, sizeof lock, "%.*s.lock", (int)base, o->eval_out);
    if (atomic_lock(lock) < 0 || atomic_recover_outputs(journal, outs, 2) != C_OK) return C_ERR;
    for (int i = 0; i < 2; i++)
        if (atomic_check_target(outs[i], 0) != C_OK) return C_ERR;
    atomic_clean_stale(journal);

    if (eval_params_load(o->params_path, &ep) != C_OK) return C_ERR;
    if (norm_stats_load(o->stats_path, &ns, mean, std) != C_OK) return C_ERR;
    snprintf(path, sizeof path, "%s/test.safetensors", o->data_dir);
    if (dataset_load(&ds, path) != C_OK) return C_ERR;
    /* before the net's activations are allocated for the model's shape */
    const dataset *dsp = &ds;
    if (model_fit_data(o->model_path, ep.batch_size, &dsp, 1) != C_OK) goto done;
    if (backend_select(&be, NULL, o->threads) != C_OK) goto done;   /* DEVICE=cpu|cuda|auto */
    have_be = 1;
    if (net_load_inference(&nt, o->model_path, &be, ep.batch_size) != C_OK) goto done;
    const model_desc *m = net_model(nt);
    int k = net_classes(nt);
    ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    if (checkpoint_load(nt, o->ckpt_path, &meta) != C_OK) goto done;
    if (meta.arch && *meta.arch && strcmp(meta.arch, m->arch)) {
        err_msg(o->ckpt_path, "arch: is \"%s\", model %s is \"%s\"", meta.arch, m->path, m->arch);
        goto done;
    }
    /* The checkpoint was trained on inputs normalised with its own statistics: evaluating with
     * others would silently shift every input. */
    for (int c = 0; c < 3; c++)
        if (fabs(meta.mean[c] - mean[c]) > 1e-6 || fabs(meta.std[c] - std[c]) > 1e-6) {
            err_msg(o->ckpt_path, "trained with mean/std %g/%g on channel %d, but %s says %g/%g", meta.mean[c],
                    meta.std[c], c, o->stats_path, mean[c], std[c]);
            goto done;
        }

    size_t count = (size_t)ds.n * k;
    x = xmalloc(sizeof *x * (size_t)ep.batch_size * 3 * ds.h * ds.w);
    logp = xmalloc(sizeof *logp * count);
    clean = xmalloc(sizeof *clean * count);
    tta = xmalloc(sizeof *tta * count);
    metrics_tta_init(&acc, count);
    if (ep.tta == EVAL_TTA_FLIP_TRANSLATE && (ds.h < 2 || ds.w < 2)) {
        err_msg(o->ckpt_path, "tta flip_translate needs images of at least 2x2 pixels");
        goto done;
    }
    if (be.iface->augment_batch && ep.tta == EVAL_TTA_FASTAI) {
        /* on the GPU: the test set is uploaded once and every fastai pass runs there */
        augment_cfg cfg = { .pad = ds.h / 8, .flip = 1, .seed = ep.seed };
        if (loader_init(&dl, &ds, &ns, ep.batch_size, 0, &cfg, ep.seed, 0) != C_OK) goto done;
        have_dl = 1;
        if (loader_attach_device(&dl, &be, net_input(nt), net_labels(nt)) != C_OK) goto done;
    }
    /* The clean pass is one code path for every TTA mode, on the batches of a plain evaluation
     * (n_aug 0) with the same batch size: accuracy, log_loss and clean_probs are that
     * evaluation's bytes by construction (docs/determinism.md). */
    for (int p = -1; p < (ep.tta == EVAL_TTA_FASTAI ? ep.n_aug : 0); p++) {
        char desc[128];
        if (p < 0) snprintf(desc, sizeof desc, "%.60s clean pass", m->arch);
        else snprintf(desc, sizeof desc, "%.60s TTA pass %d/%d", m->arch, p + 1, ep.n_aug);
        if ((have_dl ? run_pass_device(nt, &dl, p, logp, k, o->ckpt_path, desc)
                     : run_pass(nt, &ds, &ns, &ep, p, -1, x, logp, k, o->ckpt_path, desc)) != C_OK)
            goto done;
        if (p < 0)
            for (size_t i = 0; i < count; i++) clean[i] = (float)exp((double)logp[i]);   /* as metrics_tta */
        if (ep.tta == EVAL_TTA_FASTAI) metrics_tta_add_logp(&acc, logp);
    }
    if (ep.tta == EVAL_TTA_FLIP_TRANSLATE) {
        if (flip_translate(nt, &ds, &ns, &ep, x, logp, tta, k, o->ckpt_path, m->arch) != C_OK) goto done;
    } else {
        metrics_tta_mean(&acc, tta);
    }

    /* probs first, then the JSON, as one group: make treats them as one target. */
    if (atomic_group_begin(journal) != C_OK) goto done;
    safetensors_writer sw;
    safetensors_writer_init(&sw);
    int64_t shape[2] = { ds.n, k }, lshape[1] = { ds.n };
    safetensors_writer_add(&sw, "probs", SAFETENSORS_F32, 2, shape, tta);
    safetensors_writer_add(&sw, "clean_probs", SAFETENSORS_F32, 2, shape, clean);
    safetensors_writer_add(&sw, "labels", SAFETENSORS_U8, 1, lshape, ds.labels);
    char nbuf[32];
    safetensors_writer_meta(&sw, "arch", m->arch);
    snprintf(nbuf, sizeof nbuf, "%d", ep.n_aug);
    safetensors_writer_meta(&sw, "n_aug", nbuf);
    snprintf(nbuf, sizeof nbuf, "%llu", ep.seed);
    safetensors_writer_meta(&sw, "seed", nbuf);
    if (ep.tta == EVAL_TTA_FLIP_TRANSLATE) safetensors_writer_meta(&sw, "tta", "flip_translate");
    int wrc = safetensors_writer_save(&sw, o->probs_out);
    safetensors_writer_free(&sw);
    if (wrc != C_OK) {
        atomic_group_abort();
        goto done;
    }

    cJSON *j = eval_json(m->arch, &ep, &ds, k, clean, tta);
    wrc = json_write_atomic(o->eval_out, j);
    if (wrc == C_OK) wrc = atomic_group_commit();
    else atomic_group_abort();
    if (wrc == C_OK)
        fprintf(stderr, "%s: accuracy %.4f, log loss %.4f; TTA (%s%d %s) accuracy %.4f, log loss %.4f\n",
                m->arch, cJSON_GetObjectItem(j, "accuracy")->valuedouble, cJSON_GetObjectItem(j, "log_loss")->valuedouble,
                ep.tta == EVAL_TTA_FASTAI ? "1 + " : "flip_translate, ", ep.tta == EVAL_TTA_FASTAI ? ep.n_aug : TTA_N_VIEWS,
                ep.tta == EVAL_TTA_FASTAI ? "passes" : "views", cJSON_GetObjectItem(j, "tta_accuracy")->valuedouble,
                cJSON_GetObjectItem(j, "tta_log_loss")->valuedouble);
    cJSON_Delete(j);
    rc = wrc;
done:
    if (have_dl) loader_free(&dl);
    metrics_tta_free(&acc);
    free(x);
    free(logp);
    free(clean);
    free(tta);
    if (nt) net_free(nt);
    if (have_be) backend_free(&be);
    dataset_free(&ds);
    return rc;
}
