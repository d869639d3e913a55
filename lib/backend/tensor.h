/* tensor.h: the small tensor type every backend op takes.
 *
 * The logical shape is always PyTorch's: NCHW for images, [N, F] for features, [F] or [C,1,1]
 * for parameters. Where the bytes live and in which order is the backend's business: `device`
 * says which memory `data` points into, and `layout` is a backend-private tag (the CPU backend
 * keeps activations channel-blocked, nChw16c or nChw8c as oneDNN prefers on the CPU, so oneDNN
 * never has to convert them; convolution weights stay in oneDNN's blocked layout between steps). Model code
 * reads or writes the values only through backend upload/download, never through `data`. */
#ifndef TENSOR_H
#define TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum tensor_dtype { DT_F32 = 0, DT_U8 = 1, DT_I32 = 2 } tensor_dtype;

typedef enum tensor_device { DEV_CPU = 0, DEV_CUDA = 1 } tensor_device;

/* TL_PLAIN: row-major in the logical shape (what hosts and checkpoints use).
 * TL_ACT:   the backend's preferred activation layout for 4-D tensors (CPU: nChw16c or nChw8c,
 *           channels padded to a multiple of the block with zeros that every op keeps zero). */
typedef enum tensor_layout { TL_PLAIN = 0, TL_ACT = 1 } tensor_layout;

#define TENSOR_MAX_DIMS 4

typedef struct tensor {
    tensor_dtype dtype;
    int ndim;
    int shape[TENSOR_MAX_DIMS];  /* logical shape; unused entries are 1 */
    tensor_device device;
    tensor_layout layout;
    void *data;                  /* owned by the backend that allocated it (backend free_tensor),
                                    unless `view` is set: then it aliases another tensor's data */
    size_t bytes;                /* bytes behind data (>= numel * elsize: blocked layouts pad) */
    int view;                    /* 1: does not own data (free_tensor leaves it alone) */
} tensor;

static inline size_t tensor_numel(const tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

static inline size_t tensor_elsize(tensor_dtype dt) { return dt == DT_U8 ? 1 : 4; }

/* *t zeroed, then the header a backend's alloc gives it (ndim in 1..TENSOR_MAX_DIMS, checked by
 * the caller; the unused dims 1); data and bytes are the backend's to set. */
static inline void tensor_header(tensor *t, tensor_dtype dt, int ndim, const int *shape, tensor_device dev,
                                 tensor_layout layout)
{
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) t->shape[i] = i < ndim ? shape[i] : 1;
    t->device = dev;
    t->layout = layout;
}

#endif
