#include "loader.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "rng.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

long loader_batches(int n, int bs) { return (n + bs - 1) / bs; }

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
        if (l->train)
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
        while (!l->quit && !(l->produced < l->n_batches && l->produced < l->released + 2))
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
    l->train = train;
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

void loader_start(loader *l, uint32_t epoch, uint32_t pass)
{
    pthread_mutex_lock(&l->mu);
    l->gen++;
    l->n_batches = 0;                       /* stops the worker taking new work */
    while (l->busy) pthread_cond_wait(&l->cv, &l->mu);
    /* The worker is idle now and will not read the epoch fields until we signal. */
    if (l->train) {
        rng_stream s;
        rng_stream_init(&s, l->seed, RNG_SHUFFLE, epoch);
        rng_permutation(&s, l->order, (uint32_t)l->ds->n);
    } else {
        for (int i = 0; i < l->ds->n; i++) l->order[i] = (uint32_t)i;
    }
    l->pass = pass;
    long nb = loader_batches(l->ds->n, l->bs);
    l->n_batches = l->limit > 0 && l->limit < nb ? l->limit : nb;
    l->produced = l->consumed = l->released = 0;
    l->holding = 0;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

const batch *loader_next(loader *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->holding) {
        l->released++;
        l->holding = 0;
        pthread_cond_broadcast(&l->cv);
    }
    if (l->consumed >= l->n_batches) {
        pthread_mutex_unlock(&l->mu);
        return NULL;
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
    return b;
}
