/* plan_cache.h: the per-batch-size instances of a plan (conv2d on both backends).
 *
 * A plan is made for batches up to max_n; the machinery for one batch size (an "instance":
 * oneDNN primitives, cuDNN descriptors and algorithms) is built the first time that size is seen
 * and kept. Slot 0 holds the max_n instance, made with the plan so errors show when the net is
 * built; when all PLAN_CACHE_MAX slots are used the oldest other instance is dropped. The
 * instances live in the backend's own array (elements of `size` bytes); this code only does the
 * bookkeeping, through the backend's make and free callbacks. */
#ifndef BACKEND_PLAN_CACHE_H
#define BACKEND_PLAN_CACHE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PLAN_CACHE_MAX 8

typedef struct plan_cache {
    const char *op;               /* for the error message, e.g. "conv2d" */
    int max_n;
    int count;                    /* instances in use */
    int batch[PLAN_CACHE_MAX];    /* batch size of each instance */
    void *inst;                   /* the backend's array of PLAN_CACHE_MAX instances */
    size_t size;                  /* bytes of one instance */
    /* build instance `inst` for batch n (C_OK or C_ERR after one line; on error it leaves nothing
     * to free); free one */
    int (*make)(void *arg, void *inst, int n);
    void (*free)(void *inst);
    void *arg;                    /* passed to make: the backend context and plan */
} plan_cache;

/* The instance for batch n, made on first use; NULL (after one line) when n is outside
 * 1..max_n or making it failed. The first call (n = max_n) fills slot 0. */
void *plan_cache_get(plan_cache *pc, int n);

/* Frees every instance. */
void plan_cache_free(plan_cache *pc);

#ifdef __cplusplus
}
#endif

#endif
