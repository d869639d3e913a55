/* loader.c: mini-batches on a worker thread (host) or queued on the backend (device mode). */
#include "data/loader.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/errors.h"
#include "core/rng.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

long loader_batches(int n, int bs) { return (n + bs - 1) / bs; }

void loader_set_drop_last(loader *l, int drop_last) { l->drop_last = drop_last; }

long loader_epoch_batches(const loader *l)
{
    long nb = l->drop_last ? l->ds->n / l->bs : loader_batches(l->ds->n, l->bs);
    return l->limit > 0 && l->limit < nb ? l->limit : nb;
}

/* Fills slot with batch b of the current epoch. Called by the worker without the lock: the
 * epoch fields it reads (order, pass, gen) only change while the worker is idle. */
static void fill(loader *l, batch *s, long b)
{
    const dataset *ds = l->ds;
    long first = b * l->bs;
    int n = (int)(ds->n - first < l->bs ? ds->n - first : l->bs);
    size_t plane = (size_t)3 * ds->h * ds->w;
    s->n = n;
    s->index = b;
    for (int i = 0; i < n; i++) {
        uint32_t id = l->order[first + i];
        s->ids[i] = id;
        s->y[i] = ds->labels[id];
        if (l->augment)
            augment_image(dataset_image(ds, (int)id), ds->h, ds->w, l->ns, &l->aug, l->pass, id, s->x + i * plane);
        else
            augment_normalise(dataset_image(ds, (int)id), ds->h, ds->w, l->ns, s->x + i * plane);
    }
}

static void *worker(void *arg)
{
    loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->quit && (l->be || !(l->produced < l->n_batches && l->produced < l->released + 2)))
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->quit) break;
        long b = l->produced;
        unsigned gen = l->gen;
        l->busy = 1;
        pthread_mutex_unlock(&l->mu);
        fill(l, &l->slot[b % 2], b);
        pthread_mutex_lock(&l->mu);
        l->busy = 0;
        if (gen == l->gen) l->produced++;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int loader_init(loader *l, const dataset *ds, const norm_stats *ns, int bs, int train,
                const augment_cfg *aug, uint64_t seed, long limit)
{
    memset(l, 0, sizeof *l);
    l->ds = ds;
    l->ns = ns;
    l->bs = bs;
    l->train = l->shuffle = l->augment = train;
    if (aug) l->aug = *aug;
    l->aug.seed = seed;
    l->seed = seed;
    l->limit = limit;
    l->order = xmalloc(sizeof *l->order * (size_t)ds->n);
    size_t plane = (size_t)3 * ds->h * ds->w;
    for (int k = 0; k < 2; k++) {
        l->slot[k].x = xmalloc(sizeof(float) * plane * (size_t)bs);
        l->slot[k].y = xmalloc((size_t)bs);
        l->slot[k].ids = xmalloc(sizeof(uint32_t) * (size_t)bs);
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pthread_create(&l->thread, NULL, worker, l) != 0) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
        for (int k = 0; k < 2; k++) { free(l->slot[k].x); free(l->slot[k].y); free(l->slot[k].ids); }
        free(l->order);
        return err_msg(NULL, "cannot start the data loader thread");
    }
    return C_OK;
}

void loader_free(loader *l)
{
    if (!l->order) return;
    if (l->be) {
        tensor *ts[] = { &l->d_images, &l->d_labels, &l->d_lut, &l->d_order };
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++)
            if (ts[k]->data) l->be->iface->free_tensor(l->be->ctx, ts[k]);
    }
    pthread_mutex_lock(&l->mu);
    l->quit = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    for (int k = 0; k < 2; k++) { free(l->slot[k].x); free(l->slot[k].y); free(l->slot[k].ids); }
    free(l->order);
    l->order = NULL;
}

int loader_start(loader *l, uint32_t epoch, uint32_t pass) { return loader_start_at(l, epoch, pass, 0); }

int loader_start_at(loader *l, uint32_t epoch, uint32_t pass, long first)
{
    pthread_mutex_lock(&l->mu);
    l->gen++;
    l->n_batches = 0;                       /* stops the worker taking new work */
    while (l->busy) pthread_cond_wait(&l->cv, &l->mu);
    /* The worker is idle now and will not read the epoch fields until we signal. */
    if (l->shuffle) {
        rng_stream s;
        rng_stream_init(&s, l->seed, RNG_SHUFFLE, epoch);
        rng_permutation(&s, l->order, (uint32_t)l->ds->n);
    } else {
        for (int i = 0; i < l->ds->n; i++) l->order[i] = (uint32_t)i;
    }
    l->pass = pass;
    l->n_batches = loader_epoch_batches(l);
    if (first < 0) first = 0;
    if (first > l->n_batches) first = l->n_batches;
    l->produced = l->consumed = l->released = first;   /* the worker fills batch first next */
    l->holding = 0;
    /* one small upload per epoch; staged before upload returns, so order may change afterwards */
    int rc = l->be ? l->be->iface->upload(l->be->ctx, &l->d_order, l->order) : C_OK;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void loader_set_mode(loader *l, int shuffle, int augment)
{
    l->shuffle = shuffle;
    l->augment = augment;
}

int loader_attach_device(loader *l, backend *be, tensor *x_out, tensor *y_out)
{
    const backend_iface *bi = be->iface;
    const dataset *ds = l->ds;
    if (!bi->augment_batch) return err_msg(bi->name, "no device data path on this backend");
    int is[4] = { ds->n, ds->h, ds->w, 3 }, ls[1] = { ds->n }, us[2] = { 3, 256 };
    tensor im, lb, lut, ord;
    memset(&im, 0, sizeof im); lb = lut = ord = im;
    if (bi->alloc(be->ctx, &im, DT_U8, 4, is, TL_PLAIN) != C_OK || bi->alloc(be->ctx, &lb, DT_U8, 1, ls, TL_PLAIN) != C_OK ||
        bi->alloc(be->ctx, &lut, DT_F32, 2, us, TL_PLAIN) != C_OK || bi->alloc(be->ctx, &ord, DT_I32, 1, ls, TL_PLAIN) != C_OK) {
        tensor *ts[] = { &im, &lb, &lut, &ord };
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++)
            if (ts[k]->data) bi->free_tensor(be->ctx, ts[k]);
        return err_msg(bi->name, "cannot keep the %d-image dataset on the device", ds->n);
    }
    if (bi->upload(be->ctx, &im, ds->images) != C_OK || bi->upload(be->ctx, &lb, ds->labels) != C_OK ||
        bi->upload(be->ctx, &lut, l->ns->lut) != C_OK) {
        tensor *ts[] = { &im, &lb, &lut, &ord };
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) bi->free_tensor(be->ctx, ts[k]);
        return C_ERR;
    }
    pthread_mutex_lock(&l->mu);
    while (l->busy) pthread_cond_wait(&l->cv, &l->mu);
    l->d_images = im;
    l->d_labels = lb;
    l->d_lut = lut;
    l->d_order = ord;
    l->x_out = x_out;
    l->y_out = y_out;
    l->be = be;
    l->gen++;
    l->n_batches = l->produced = l->consumed = l->released = 0;   /* loader_start again */
    l->holding = 0;
    l->dev.x = NULL;
    l->dev.y = l->slot[0].y;     /* host copies of the labels and ids of the current batch */
    l->dev.ids = l->slot[0].ids;
    pthread_mutex_unlock(&l->mu);
    return C_OK;
}

/* Device mode: queue batch `consumed` on the backend; no thread, no waiting. */
static int next_device(loader *l, const batch **out)
{
    *out = NULL;
    if (l->consumed >= l->n_batches) return C_OK;
    const dataset *ds = l->ds;
    long b = l->consumed++, first = b * l->bs;
    int n = (int)(ds->n - first < l->bs ? ds->n - first : l->bs);
    batch *s = &l->dev;
    s->n = n;
    s->index = b;
    for (int i = 0; i < n; i++) {
        s->ids[i] = l->order[first + i];
        s->y[i] = ds->labels[s->ids[i]];
    }
    l->x_out->shape[0] = n;
    l->y_out->shape[0] = n;
    augment_style st = augment_style_of(&l->aug);
    if (l->be->iface->augment_batch(l->be->ctx, &l->d_images, &l->d_labels, &l->d_lut, &l->d_order, first, n,
                                    l->augment, &st, l->aug.seed, l->pass, l->x_out, l->y_out) != C_OK)
        return C_ERR;   /* the backend has printed why */
    *out = s;
    return C_OK;
}

int loader_next(loader *l, const batch **out)
{
    if (l->be) return next_device(l, out);
    *out = NULL;
    pthread_mutex_lock(&l->mu);
    if (l->holding) {
        l->released++;
        l->holding = 0;
        pthread_cond_broadcast(&l->cv);
    }
    if (l->consumed >= l->n_batches) {
        pthread_mutex_unlock(&l->mu);
        return C_OK;
    }
    if (l->produced <= l->consumed) {
        double t0 = now_s();
        while (l->produced <= l->consumed) pthread_cond_wait(&l->cv, &l->mu);
        l->wait_s += now_s() - t0;
        l->waits++;
    }
    const batch *b = &l->slot[l->consumed % 2];
    l->consumed++;
    l->holding = 1;
    pthread_mutex_unlock(&l->mu);
    *out = b;
    return C_OK;
}
