/* loader.h: mini-batches from a packed dataset, prepared by a background thread.
 *
 * Training loaders visit the images in a fresh permutation every epoch (rng_permutation over
 * (seed, RNG_SHUFFLE, epoch)) and augment each image with pass = epoch (augment.h); evaluation
 * loaders keep the dataset order and only normalise. The last partial batch is kept
 * (fastai: drop_last=False), so 50,000 images at 256 give 196 batches, the last of 80, unless
 * loader_set_drop_last (airbench: 50,000 at 1024 give 48 full batches).
 *
 * Double buffering: while the caller computes on batch b, the worker thread fills batch b+1 into
 * the other buffer; the caller only blocks when the worker is behind, and that time is counted in
 * wait_s. Every image's pixels are a pure function of (seed, epoch, image index), so batches are
 * identical whatever the thread timing. */
#ifndef LOADER_H
#define LOADER_H

#include <pthread.h>
#include <stdint.h>

#include "data/augment.h"
#include "backend/backend.h"
#include "data/dataset.h"
#include "data/norm_stats.h"

typedef struct batch {
    int n;               /* images in this batch (<= batch size) */
    long index;          /* batch number within the epoch */
    float *x;            /* [n, 3, h, w] normalised (owned by the loader); NULL in device mode:
                            the images (and labels) are already in the attached tensors */
    uint8_t *y;          /* [n] labels (U8, as the backends take them) */
    uint32_t *ids;       /* [n] dataset indices of the images */
} batch;

typedef struct loader {
    const dataset *ds;         /* borrowed */
    const norm_stats *ns;      /* borrowed */
    int bs;
    int train;                 /* as given to loader_init */
    int shuffle, augment;      /* this epoch: shuffled order; training transform (else normalise) */
    augment_cfg aug;
    uint64_t seed;
    long limit;                /* at most this many batches per epoch (0 = all) */
    int drop_last;             /* 1: no partial last batch (loader_set_drop_last) */
    long n_batches;            /* batches in the current epoch */
    uint32_t *order;           /* [ds->n] image order of the current epoch (owned) */
    uint32_t pass;             /* augmentation pass of the current epoch */

    batch slot[2];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long produced;             /* batches of this epoch finished by the worker */
    long consumed;             /* batches handed to the caller */
    long released;             /* batches the caller is done with */
    int holding;               /* the caller holds batch consumed-1 */
    int busy;                  /* the worker is filling a slot */
    unsigned gen;              /* epoch generation, so a stale fill is discarded */
    int quit;

    double wait_s;             /* total time the caller blocked in loader_next */
    long waits;                /* how many loader_next calls had to block */

    /* device mode (loader_attach_device): the dataset lives on the backend */
    backend *be;               /* borrowed; NULL: host batches from the worker thread */
    tensor d_images, d_labels, d_lut, d_order;   /* owned, on be */
    tensor *x_out, *y_out;     /* borrowed: where batches go (net_input, net_labels) */
    batch dev;                 /* the current device batch (host labels and ids) */
} loader;

/* Batches per epoch without a limit: ceil(n / bs). */
long loader_batches(int n, int bs);

/* 1: epochs leave out the last partial batch (floor(n / bs) batches); takes effect at the next
 * loader_start. */
void loader_set_drop_last(loader *l, int drop_last);
/* Batches each epoch of this loader has: the limit and drop_last applied. */
long loader_epoch_batches(const loader *l);

/* train: 1 for the shuffled, augmented training loader (aug != NULL), 0 for evaluation.
 * limit: cap on batches per epoch (0 = none). Starts the worker thread. */
int loader_init(loader *l, const dataset *ds, const norm_stats *ns, int bs, int train,
                const augment_cfg *aug, uint64_t seed, long limit);
void loader_free(loader *l);

/* Device mode, for a backend with augment_batch (the GPU): uploads the images, labels and
 * normalisation table once; from then on each epoch uploads only its order (the same
 * rng_permutation as the host path), and loader_next queues the batch's gather + augmentation
 * straight into x_out [>= bs,3,h,w] F32 and y_out [>= bs] U8 (their first dimension is set to
 * the batch size) and returns a batch with x = NULL (y and ids stay valid on the host). Every
 * pixel equals the host path's. The worker thread stays idle. C_OK, or C_ERR (backend without
 * augment_batch, or out of device memory): the loader keeps working on the host. */
int loader_attach_device(loader *l, backend *be, tensor *x_out, tensor *y_out);

/* Chooses what the next loader_start does: shuffle the order, augment (the training transform
 * with the loader's augment_cfg and the epoch's pass) or only normalise. loader_init sets both
 * to `train`; evaluation with TTA uses (0, 1). */
void loader_set_mode(loader *l, int shuffle, int augment);

/* Begins an epoch: the order for `epoch` (shuffled when training) and the augmentation pass
 * `pass` (normally = epoch). Any batches of an unfinished epoch are dropped. C_ERR only in device
 * mode, when the epoch's order cannot be uploaded (the backend has said why). */
int loader_start(loader *l, uint32_t epoch, uint32_t pass);
/* The same, but the epoch's first `first` batches are skipped (not even prepared): resuming an
 * epoch after batch first-1 gives exactly the batches an uninterrupted epoch would. */
int loader_start_at(loader *l, uint32_t epoch, uint32_t pass, long first);

/* Sets *b to the next batch of the epoch, or to NULL after the last one, and returns C_OK; C_ERR
 * (with *b NULL) when device mode cannot queue the batch. The batch stays valid until the next
 * call to loader_next / loader_start. Loop: `while ((rc = loader_next(l, &b)) == C_OK && b)`. */
int loader_next(loader *l, const batch **b);

#endif
