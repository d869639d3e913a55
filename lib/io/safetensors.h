/* safetensors.h: reader and writer for the safetensors format
 * (8-byte little-endian header length N, N bytes of JSON header, then the raw data).
 * Header: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *          "__metadata__": {"key": "string value", ...}}. Offsets are relative to the data start.
 * Dtypes: U8, I32, I64, F32, F64. All data little-endian, row-major (C order). */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef enum st_dtype { ST_U8, ST_I32, ST_I64, ST_F32, ST_F64 } st_dtype;

size_t st_dtype_size(st_dtype t);
const char *st_dtype_name(st_dtype t);

typedef struct st_tensor {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t nbytes;
    const void *data;     /* points into st_file.buffer; valid until st_free */
} st_tensor;

typedef struct st_file {
    char *path;
    void *buffer;         /* whole file in memory (owned) */
    size_t size;
    int n_tensors;
    st_tensor *tensors;   /* in data-offset order */
    int n_meta;
    char **meta_keys;     /* __metadata__, in header order */
    char **meta_values;
    void *data_alloc;     /* allocation holding buffer (placed so the data section is 64-aligned) */
    void *aligned_copy;   /* copies of tensors whose offset is not a multiple of their element size */
} st_file;

/* Reads and validates path. Rejects with `stage: path: reason` and C_ERR: a header length beyond
 * the file, invalid JSON, an unknown dtype, shape x dtype size != offset span, overlapping or gapped
 * offsets, data past the end of the file, a non-string metadata value; also offsets not starting
 * at 0, trailing bytes after the last tensor, negative or non-integer dims, duplicate names.
 * Every tensor's data is aligned to its element size (misaligned ones are copied). */
int st_read(st_file *f, const char *path);
void st_free(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
/* Like st_find but also checks dtype and rank; prints an error naming the file and tensor. */
const st_tensor *st_expect(const st_file *f, const char *name, st_dtype dtype, int ndim);
const char *st_meta(const st_file *f, const char *key);   /* NULL when absent */

typedef struct st_writer {
    int n, cap;
    st_tensor *tensors;   /* data pointers are borrowed until st_writer_save returns */
    int n_meta, cap_meta;
    char **meta_keys, **meta_values;
} st_writer;

void st_writer_init(st_writer *w);
/* Adds a tensor; data is not copied and must stay valid until st_writer_save. Tensors are
 * written in the order added, so output bytes are deterministic. */
void st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                   const void *data);
void st_writer_meta(st_writer *w, const char *key, const char *value);
/* Writes path atomically (temp file, fsync, rename). */
int st_writer_save(st_writer *w, const char *path);
void st_writer_free(st_writer *w);

#endif
