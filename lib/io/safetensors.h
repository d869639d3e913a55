/* safetensors.h: reader and writer for the safetensors format
 * (8-byte little-endian header length N, N bytes of JSON header, then the raw data).
 * Header: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *          "__metadata__": {"key": "string value", ...}}. Offsets are relative to the data start.
 * Dtypes: U8, I32, I64, F32, F64. All data little-endian, row-major (C order). */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define SAFETENSORS_MAX_DIMS 8

typedef enum safetensors_dtype { SAFETENSORS_U8, SAFETENSORS_I32, SAFETENSORS_I64, SAFETENSORS_F32, SAFETENSORS_F64 } safetensors_dtype;

size_t safetensors_dtype_size(safetensors_dtype t);
const char *safetensors_dtype_name(safetensors_dtype t);

typedef struct safetensors_tensor {
    char *name;
    safetensors_dtype dtype;
    int ndim;
    int64_t shape[SAFETENSORS_MAX_DIMS];
    size_t nbytes;
    const void *data;     /* points into safetensors_file.buffer; valid until safetensors_free */
} safetensors_tensor;

typedef struct safetensors_file {
    char *path;
    void *buffer;         /* whole file in memory (owned) */
    size_t size;
    int n_tensors;
    safetensors_tensor *tensors;   /* in data-offset order */
    int n_meta;
    char **meta_keys;     /* __metadata__, in header order */
    char **meta_values;
    void *data_alloc;     /* allocation holding buffer (placed so the data section is 64-aligned) */
    void *aligned_copy;   /* copies of tensors whose offset is not a multiple of their element size */
} safetensors_file;

/* Reads and validates path. Rejects with `stage: path: reason` and C_ERR: a header length beyond
 * the file, invalid JSON, an unknown dtype, shape x dtype size != offset span, overlapping or gapped
 * offsets, data past the end of the file, a non-string metadata value; also offsets not starting
 * at 0, trailing bytes after the last tensor, negative or non-integer dims, duplicate names.
 * Every tensor's data is aligned to its element size (misaligned ones are copied). */
int safetensors_read(safetensors_file *f, const char *path);
void safetensors_free(safetensors_file *f);
const safetensors_tensor *safetensors_find(const safetensors_file *f, const char *name);
/* Like safetensors_find but also checks dtype and rank; prints an error naming the file and tensor. */
const safetensors_tensor *safetensors_expect(const safetensors_file *f, const char *name, safetensors_dtype dtype, int ndim);
const char *safetensors_meta(const safetensors_file *f, const char *key);   /* NULL when absent */

typedef struct safetensors_writer {
    int n, cap;
    safetensors_tensor *tensors;   /* data pointers are borrowed until safetensors_writer_save returns */
    int n_meta, cap_meta;
    char **meta_keys, **meta_values;
    int failed;                    /* a safetensors_writer_add was refused: save returns C_ERR */
} safetensors_writer;

void safetensors_writer_init(safetensors_writer *w);
/* Adds a tensor; data is not copied and must stay valid until safetensors_writer_save. Tensors are
 * written in the order added, so output bytes are deterministic. A bad dtype, rank or negative
 * dimension prints one line and returns C_ERR; the writer remembers it and safetensors_writer_save
 * then returns C_ERR without writing, so callers may check either. */
int safetensors_writer_add(safetensors_writer *w, const char *name, safetensors_dtype dtype, int ndim, const int64_t *shape,
                   const void *data);
void safetensors_writer_meta(safetensors_writer *w, const char *key, const char *value);
/* Writes path atomically (temp file, fsync, rename). C_ERR (nothing written) after a refused add. */
int safetensors_writer_save(safetensors_writer *w, const char *path);
void safetensors_writer_free(safetensors_writer *w);

#endif
