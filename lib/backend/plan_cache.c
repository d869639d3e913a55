/* plan_cache.c: per-batch-size plan instances, made on first use (see plan_cache.h). */
#include "backend/plan_cache.h"

#include <string.h>
#include "core/errors.h"

static void *slot(const plan_cache *pc, int i) { return (char *)pc->inst + (size_t)i * pc->size; }

void *plan_cache_get(plan_cache *pc, int n)
{
    for (int i = 0; i < pc->count; i++)
        if (pc->batch[i] == n) return slot(pc, i);
    if (n < 1 || n > pc->max_n) {
        err_msg(pc->op, "batch %d outside 1..%d", n, pc->max_n);
        return NULL;
    }
    if (pc->count == PLAN_CACHE_MAX) {   /* drop the oldest instance after the max_n one */
        pc->free(slot(pc, 1));
        memmove(slot(pc, 1), slot(pc, 2), (size_t)(PLAN_CACHE_MAX - 2) * pc->size);
        memmove(&pc->batch[1], &pc->batch[2], (PLAN_CACHE_MAX - 2) * sizeof pc->batch[0]);
        pc->count--;
    }
    void *I = slot(pc, pc->count);
    if (pc->make(pc->arg, I, n)) return NULL;
    pc->batch[pc->count++] = n;
    return I;
}

void plan_cache_free(plan_cache *pc)
{
    for (int i = 0; i < pc->count; i++) pc->free(slot(pc, i));
    pc->count = 0;
}
