/* train_state_check.c: the seal, position and finite-value checks of a state file (see
 * train_state_check.h). */
#include "train/train_state_check.h"

#include "core/errors.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_u64(EVP_MD_CTX *md, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    EVP_DigestUpdate(md, b, 8);
}

static void put_str(EVP_MD_CTX *md, const char *s) { EVP_DigestUpdate(md, s, strlen(s) + 1); }

int train_state_digest(int n_meta, char *const *keys, char *const *values, int n, const safetensors_tensor *t,
                       char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) return err_msg(NULL, "out of memory computing the checksum");
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    put_u64(md, (uint64_t)n_meta);
    for (int i = 0; i < n_meta; i++) {
        if (!strcmp(keys[i], TRAIN_STATE_SEAL_KEY)) continue;
        put_str(md, keys[i]);
        put_str(md, values[i]);
    }
    put_u64(md, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        put_str(md, t[i].name);
        put_str(md, safetensors_dtype_name(t[i].dtype));
        put_u64(md, (uint64_t)t[i].ndim);
        for (int k = 0; k < t[i].ndim; k++) put_u64(md, (uint64_t)t[i].shape[k]);
        put_u64(md, (uint64_t)t[i].nbytes);
        if (t[i].nbytes) EVP_DigestUpdate(md, t[i].data, t[i].nbytes);
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md, d, &len);
    EVP_MD_CTX_free(md);
    for (unsigned int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", i < len ? d[i] : 0);
    hex[64] = '\0';
    return C_OK;
}

int train_state_seal(safetensors_writer *w)
{
    char hex[65];
    /* the key is counted in n_meta once it is there; count it now so both sides agree */
    safetensors_writer_meta(w, TRAIN_STATE_SEAL_KEY, "");
    if (train_state_digest(w->n_meta, w->meta_keys, w->meta_values, w->n, w->tensors, hex) != C_OK) return C_ERR;
    safetensors_writer_meta(w, TRAIN_STATE_SEAL_KEY, hex);
    return C_OK;
}

int train_state_check_seal(const safetensors_file *f, const char *format)
{
    const char *fmt = safetensors_meta(f, "format");
    if (!fmt || strcmp(fmt, format)) {
        if (fmt && !strncmp(fmt, format, strlen(format) - 1))
            return err_msg(NULL, "saved by another version of the program (format '%s', this one reads '%s')", fmt, format);
        return err_msg(NULL, "not a %s (format '%s')", format, fmt ? fmt : "");
    }
    const char *seal = safetensors_meta(f, TRAIN_STATE_SEAL_KEY);
    if (!seal) return err_msg(NULL, "has no checksum (%s)", TRAIN_STATE_SEAL_KEY);
    /* the seal must be the last pair, as the writer puts it (so n_meta counts the same pairs) */
    if (strcmp(f->meta_keys[f->n_meta - 1], TRAIN_STATE_SEAL_KEY))
        return err_msg(NULL, "checksum (%s) is not the last metadata entry", TRAIN_STATE_SEAL_KEY);
    char hex[65];
    if (train_state_digest(f->n_meta, f->meta_keys, f->meta_values, f->n_tensors, f->tensors, hex) != C_OK) return C_ERR;
    if (strcmp(hex, seal)) return err_msg(NULL, "checksum mismatch (%s): the file is corrupt", TRAIN_STATE_SEAL_KEY);
    return C_OK;
}

long train_state_meta_long(const safetensors_file *f, const char *key)
{
    const char *s = safetensors_meta(f, key);
    if (!s || *s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return *end || errno || v < 0 ? -1 : v;
}

/* A finite, non-negative number from the metadata; -1 when missing, malformed or not so. */
static double meta_seconds(const safetensors_file *f, const char *key)
{
    const char *s = safetensors_meta(f, key);
    if (!s || !*s) return -1;
    char *end;
    double v = strtod(s, &end);
    return *end || !isfinite(v) || v < 0 ? -1 : v;
}

int train_state_phase_of(const state_layout *L, long e)
{
    long first = 0;
    for (int ph = 0; ph < L->n_phases; ph++) {
        if (e < first + L->phase_epochs[ph]) return ph;
        first += L->phase_epochs[ph];
    }
    return L->n_phases;
}

/* Images stepped on in s steps of a phase (phases begin at an epoch's start; only an epoch's
 * last batch can be partial, and s % nb < nb batches of an epoch are all full). */
static long phase_images(const state_layout *L, long s)
{
    return (s / L->nb) * L->epoch_images + (s % L->nb) * L->batch_size;
}

int train_state_check_position(const safetensors_file *f, const state_layout *L, state_pos *p)
{
    memset(p, 0, sizeof *p);
    static const char *const keys[] = { "epoch", "batch", "it", "step", "images", "batches_per_epoch" };
    long v[6];
    for (int k = 0; k < 6; k++)
        if ((v[k] = train_state_meta_long(f, keys[k])) < 0) return err_msg(NULL, "%s: missing or not a non-negative integer", keys[k]);
    p->epoch = v[0], p->batch = v[1], p->it = v[2], p->step = v[3], p->images = v[4], p->bpe = v[5];
    if (L->nb <= 0 || L->n_phases <= 0 || L->n_phases > TRAIN_STATE_MAX_PHASES)
        return err_msg(NULL, "the params give no batches to train on");
    if (p->bpe != L->nb)
        return err_msg(NULL, "batches_per_epoch: %ld, but the data and params give %ld", p->bpe, L->nb);
    long total = 0;
    for (int ph = 0; ph < L->n_phases; ph++) total += L->phase_epochs[ph];
    if (p->epoch > total) return err_msg(NULL, "epoch: %ld is past the run's %ld epochs", p->epoch, total);
    if (p->batch >= L->nb)
        return err_msg(NULL, "batch: %ld is past the epoch's %ld batches", p->batch, L->nb);
    /* where a run is at a save point: the phase, the steps of the phases before it and its own */
    int ph = train_state_phase_of(L, p->epoch);
    long first = 0, before = 0, images = 0;
    for (int q = 0; q < ph; q++) {
        first += L->phase_epochs[q];
        before += L->phase_steps[q];
        images += phase_images(L, L->phase_steps[q]);
    }
    long it;
    p->phase = ph;
    if (ph == L->n_phases || (p->batch == 0 && p->epoch == first)) {
        /* the end of the run, or a phase's first epoch not begun: `it` is still the last phase's */
        if (p->batch != 0) return err_msg(NULL, "batch: %ld after the run's last epoch", p->batch);
        p->phase_start = 1;
        it = ph > 0 ? L->phase_steps[ph - 1] : 0;
        if (p->it != it) return err_msg(NULL, "it: %ld, but epoch %ld, batch 0 has %ld", p->it, p->epoch, it);
        if (p->step != before) return err_msg(NULL, "step: %ld, but epoch %ld, batch 0 has %ld", p->step, p->epoch, before);
    } else {
        it = (p->epoch - first) * L->nb + p->batch;
        if (it > L->phase_steps[ph] || (p->batch > 0 && it >= L->phase_steps[ph]))
            return err_msg(NULL, "batch: %ld is past the phase's %ld steps", p->batch, L->phase_steps[ph]);
        if (p->it != it) return err_msg(NULL, "it: %ld, but epoch %ld, batch %ld has %ld", p->it, p->epoch, p->batch, it);
        if (p->step != before + it)
            return err_msg(NULL, "step: %ld, but epoch %ld, batch %ld has %ld", p->step, p->epoch, p->batch, before + it);
        images += phase_images(L, it);
    }
    if (p->step > (long)UINT32_MAX) return err_msg(NULL, "step: %ld is out of range", p->step);
    if (p->images != images) return err_msg(NULL, "images: %ld, but the position has %ld", p->images, images);
    if ((p->loop_seconds = meta_seconds(f, "loop_seconds")) < 0)
        return err_msg(NULL, "loop_seconds: missing, not finite or negative");
    if ((p->train_seconds = meta_seconds(f, "train_seconds")) < 0)
        return err_msg(NULL, "train_seconds: missing, not finite or negative");
    return C_OK;
}

int train_state_check_finite(const safetensors_file *f)
{
    for (int i = 0; i < f->n_tensors; i++) {
        const safetensors_tensor *t = &f->tensors[i];
        size_t n = t->nbytes / safetensors_dtype_size(t->dtype);
        if (t->dtype == SAFETENSORS_F32) {
            const float *x = t->data;
            for (size_t k = 0; k < n; k++)
                if (!isfinite(x[k])) return err_msg(NULL, "tensor '%s': value %zu is %g", t->name, k, (double)x[k]);
        } else if (t->dtype == SAFETENSORS_F64) {
            const double *x = t->data;
            for (size_t k = 0; k < n; k++)
                if (!isfinite(x[k])) return err_msg(NULL, "tensor '%s': value %zu is %g", t->name, k, x[k]);
        }
    }
    return C_OK;
}
