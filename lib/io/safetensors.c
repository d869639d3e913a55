/* safetensors.c: strict reader and deterministic writer (see safetensors.h). */
#include "io/safetensors.h"
#include "core/atomic.h"
#include "core/errors.h"
#include "core/fs.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Offsets and dims must be exact integers in a double (cJSON stores numbers as double). */
#define ST_MAX_INT 9007199254740992.0 /* 2^53 */
/* Same limit as the reference implementation: a bigger header is certainly corrupt. */
#define ST_MAX_HEADER (100u << 20)
/* The data section starts at this alignment in memory, so every tensor whose offset is a
 * multiple of its element size is naturally aligned. */
#define ST_ALIGN 64

static const char *const dtype_names[] = {"U8", "I32", "I64", "F32", "F64"};
static const size_t dtype_sizes[] = {1, 4, 8, 4, 8};
#define N_DTYPES 5

size_t safetensors_dtype_size(safetensors_dtype t) { return (unsigned)t < N_DTYPES ? dtype_sizes[t] : 0; }
const char *safetensors_dtype_name(safetensors_dtype t) { return (unsigned)t < N_DTYPES ? dtype_names[t] : "?"; }

static int dtype_parse(const char *s, safetensors_dtype *t)
{
    for (int i = 0; i < N_DTYPES; i++)
        if (!strcmp(s, dtype_names[i])) {
            *t = (safetensors_dtype)i;
            return 1;
        }
    return 0;
}

static uint64_t le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* ---------------------------------------------------------------- reader */

/* Per-tensor parse state, kept until the offsets have been checked against each other. */
typedef struct st_entry {
    safetensors_tensor t;
    uint64_t begin, end;
} st_entry;

static int is_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0) || d > ST_MAX_INT || floor(d) != d) return 0;
    *out = (uint64_t)d;
    return 1;
}

/* Reads the whole file so that the data section (at 8 + header length) lands ST_ALIGN-aligned.
 * On success f->buffer/size/data_alloc are set. */
static int read_whole(safetensors_file *f, const char *path, uint64_t *hlen)
{
    int fd = fs_open_read(path);
    if (fd < 0) return C_ERR;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return err_msg(path, "cannot open: %s", strerror(e));
    }
    size_t size = (size_t)st.st_size;
    unsigned char head[8];
    if (size < 8 || pread(fd, head, 8, 0) != 8) {
        close(fd);
        return err_msg(path, "too short for a safetensors file (%zu bytes)", size);
    }
    *hlen = le64(head);
    if (*hlen > size - 8) {
        close(fd);
        return err_msg(path, "header length %llu is beyond the end of the file (%zu bytes)",
                       (unsigned long long)*hlen, size);
    }
    size_t pad = (ST_ALIGN - (size_t)((8 + *hlen) % ST_ALIGN)) % ST_ALIGN;
    void *mem = NULL;
    if (posix_memalign(&mem, ST_ALIGN, size + pad + 1) != 0) {
        close(fd);
        return err_msg(path, "out of memory reading %zu bytes", size);
    }
    unsigned char *buf = (unsigned char *)mem + pad;
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            close(fd);
            free(mem);
            return err_msg(path, "read failed: %s", r < 0 ? strerror(e) : "file shrank while reading");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[size] = '\0';
    f->data_alloc = mem;
    f->buffer = buf;
    f->size = size;
    return C_OK;
}

static int cmp_entry_offset(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int cmp_entry_name(const void *a, const void *b)
{
    const st_entry *const *x = a, *const *y = b;
    return strcmp((*x)->t.name, (*y)->t.name);
}

static int parse_metadata(safetensors_file *f, const cJSON *meta)
{
    if (!cJSON_IsObject(meta)) return err_msg(f->path, "__metadata__ is not an object");
    int n = cJSON_GetArraySize(meta);
    f->meta_keys = xcalloc((size_t)n + 1, sizeof *f->meta_keys);
    f->meta_values = xcalloc((size_t)n + 1, sizeof *f->meta_values);
    for (const cJSON *m = meta->child; m; m = m->next) {
        if (!cJSON_IsString(m))
            return err_msg(f->path, "__metadata__ value '%s' is not a string", m->string);
        for (int i = 0; i < f->n_meta; i++)
            if (!strcmp(f->meta_keys[i], m->string))
                return err_msg(f->path, "duplicate __metadata__ key '%s'", m->string);
        f->meta_keys[f->n_meta] = xstrdup(m->string);
        f->meta_values[f->n_meta] = xstrdup(m->valuestring);
        f->n_meta++;
    }
    return C_OK;
}

static int parse_entry(safetensors_file *f, const cJSON *j, st_entry *e)
{
    const char *name = j->string;
    e->t.name = xstrdup(name);
    if (!cJSON_IsObject(j)) return err_msg(f->path, "tensor '%s': entry is not an object", name);
    const cJSON *dt = NULL, *shape = NULL, *offs = NULL;
    for (const cJSON *k = j->child; k; k = k->next) {
        if (!strcmp(k->string, "dtype")) dt = k;
        else if (!strcmp(k->string, "shape")) shape = k;
        else if (!strcmp(k->string, "data_offsets")) offs = k;
        else return err_msg(f->path, "tensor '%s': unknown field '%s'", name, k->string);
    }
    if (!dt || !shape || !offs)
        return err_msg(f->path, "tensor '%s': missing %s", name,
                       !dt ? "dtype" : !shape ? "shape" : "data_offsets");
    if (!cJSON_IsString(dt)) return err_msg(f->path, "tensor '%s': dtype is not a string", name);
    if (!dtype_parse(dt->valuestring, &e->t.dtype))
        return err_msg(f->path, "tensor '%s': unknown dtype '%s' (expected U8, I32, I64, F32 or F64)",
                       name, dt->valuestring);
    if (!cJSON_IsArray(shape)) return err_msg(f->path, "tensor '%s': shape is not an array", name);
    int nd = cJSON_GetArraySize(shape);
    if (nd > SAFETENSORS_MAX_DIMS)
        return err_msg(f->path, "tensor '%s': %d dimensions (at most %d)", name, nd, SAFETENSORS_MAX_DIMS);
    e->t.ndim = nd;
    /* Count elements with an overflow guard: the product must stay below 2^53 bytes. */
    double bytes = (double)safetensors_dtype_size(e->t.dtype);
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        uint64_t v;
        if (!is_uint(d, &v))
            return err_msg(f->path, "tensor '%s': shape[%d] is not a non-negative integer", name, i);
        e->t.shape[i] = (int64_t)v;
        bytes *= (double)v;
    }
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !is_uint(offs->child, &e->begin) ||
        !is_uint(offs->child->next, &e->end))
        return err_msg(f->path, "tensor '%s': data_offsets must be [begin, end] non-negative integers",
                       name);
    if (e->end < e->begin)
        return err_msg(f->path, "tensor '%s': data_offsets [%llu, %llu] end before begin", name,
                       (unsigned long long)e->begin, (unsigned long long)e->end);
    if (bytes > ST_MAX_INT || (uint64_t)bytes != e->end - e->begin)
        return err_msg(f->path, "tensor '%s': shape x dtype size is %.0f bytes but data_offsets span %llu",
                       name, bytes, (unsigned long long)(e->end - e->begin));
    e->t.nbytes = (size_t)(e->end - e->begin);
    return C_OK;
}

/* Orders entries by offset and checks they tile [0, data_len) exactly. */
static int check_layout(safetensors_file *f, st_entry *ents, int n, uint64_t data_len)
{
    qsort(ents, (size_t)n, sizeof *ents, cmp_entry_offset);
    uint64_t pos = 0;
    const char *prev = NULL;
    for (int i = 0; i < n; i++) {
        const st_entry *e = &ents[i];
        if (e->begin < pos)
            return err_msg(f->path, "tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s'",
                           e->t.name, (unsigned long long)e->begin, (unsigned long long)e->end, prev);
        if (e->begin > pos) {
            if (!prev)
                return err_msg(f->path, "tensor '%s': data_offsets start at %llu, not 0", e->t.name,
                               (unsigned long long)e->begin);
            return err_msg(f->path, "tensor '%s': gap of %llu bytes before data_offsets [%llu, %llu] (after tensor '%s')",
                           e->t.name, (unsigned long long)(e->begin - pos),
                           (unsigned long long)e->begin, (unsigned long long)e->end, prev);
        }
        if (e->end > data_len)
            return err_msg(f->path, "tensor '%s': data_offsets end %llu is past the end of the file (%llu data bytes)",
                           e->t.name, (unsigned long long)e->end, (unsigned long long)data_len);
        pos = e->end;
        prev = e->t.name;
    }
    if (pos != data_len)
        return err_msg(f->path, "%llu trailing bytes after the last tensor",
                       (unsigned long long)(data_len - pos));
    /* Names must be unique (cJSON keeps duplicate keys). */
    const st_entry **byname = xmalloc(((size_t)n + 1) * sizeof *byname);
    for (int i = 0; i < n; i++) byname[i] = &ents[i];
    qsort(byname, (size_t)n, sizeof *byname, cmp_entry_name);
    int rc = C_OK;
    for (int i = 1; i < n && rc == C_OK; i++)
        if (!strcmp(byname[i]->t.name, byname[i - 1]->t.name))
            rc = err_msg(f->path, "duplicate tensor name '%s'", byname[i]->t.name);
    free(byname);
    return rc;
}

/* Tensors whose offset is not a multiple of their element size (legal, e.g. after an odd-sized
 * U8 tensor) are copied to an aligned block, so callers may cast data to float* / int64_t*. */
static int align_tensors(safetensors_file *f)
{
    size_t need = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        safetensors_tensor *t = &f->tensors[i];
        if ((uintptr_t)t->data % safetensors_dtype_size(t->dtype)) need += (t->nbytes + 7) & ~(size_t)7;
    }
    if (!need) return C_OK;
    unsigned char *blk = NULL;
    if (posix_memalign((void **)&blk, ST_ALIGN, need) != 0) return err_msg(f->path, "out of memory");
    f->aligned_copy = blk;
    for (int i = 0; i < f->n_tensors; i++) {
        safetensors_tensor *t = &f->tensors[i];
        if (!((uintptr_t)t->data % safetensors_dtype_size(t->dtype))) continue;
        memcpy(blk, t->data, t->nbytes);
        t->data = blk;
        blk += (t->nbytes + 7) & ~(size_t)7;
    }
    return C_OK;
}

int safetensors_read(safetensors_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->path = xstrdup(path);
    uint64_t hlen = 0;
    if (read_whole(f, path, &hlen) != C_OK) {
        safetensors_free(f);
        return C_ERR;
    }
    if (hlen > ST_MAX_HEADER) {
        err_msg(path, "header length %llu is too large", (unsigned long long)hlen);
        safetensors_free(f);
        return C_ERR;
    }
    const char *hdr = (const char *)f->buffer + 8;
    const char *end = NULL;
    /* The header is UTF-8 JSON padded with spaces. cJSON would end a string at a NUL byte (a
     * tensor "w\0x" read as "w") and skip one between tokens: refuse any. */
    const char *nul = memchr(hdr, '\0', (size_t)hlen);
    if (nul) {
        err_msg(path, "invalid header: NUL byte at byte %ld", (long)(nul - hdr));
        safetensors_free(f);
        return C_ERR;
    }
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    int rc = C_OK;
    if (!root) {
        const char *ep = cJSON_GetErrorPtr();
        long at = ep && ep >= hdr && ep <= hdr + hlen ? (long)(ep - hdr) : -1;
        rc = err_msg(path, "invalid JSON in header (near byte %ld)", at);
    } else {
        /* The reference writer pads with spaces; anything else after the JSON is corrupt. */
        for (const char *p = end; rc == C_OK && p < hdr + hlen; p++)
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
                rc = err_msg(path, "invalid JSON in header (garbage after byte %ld)", (long)(end - hdr));
        if (rc == C_OK && !cJSON_IsObject(root)) rc = err_msg(path, "header is not a JSON object");
    }
    st_entry *ents = NULL;
    int n = 0, seen_meta = 0;
    if (rc == C_OK) {
        ents = xcalloc((size_t)cJSON_GetArraySize(root) + 1, sizeof *ents);
        for (const cJSON *j = root->child; j && rc == C_OK; j = j->next) {
            if (!strcmp(j->string, "__metadata__")) {
                if (seen_meta++) rc = err_msg(path, "duplicate __metadata__");
                else rc = parse_metadata(f, j);
                continue;
            }
            rc = parse_entry(f, j, &ents[n++]);
        }
    }
    if (rc == C_OK) rc = check_layout(f, ents, n, f->size - 8 - hlen);
    if (rc == C_OK) {
        f->n_tensors = n;
        f->tensors = xcalloc((size_t)n + 1, sizeof *f->tensors);
        const unsigned char *data = (const unsigned char *)f->buffer + 8 + hlen;
        for (int i = 0; i < n; i++) {
            f->tensors[i] = ents[i].t;
            f->tensors[i].data = data + ents[i].begin;
            ents[i].t.name = NULL; /* moved */
        }
        rc = align_tensors(f);
    }
    if (ents)
        for (int i = 0; i < n; i++) free(ents[i].t.name);
    free(ents);
    cJSON_Delete(root);
    if (rc != C_OK) safetensors_free(f);
    return rc;
}

void safetensors_free(safetensors_file *f)
{
    for (int i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->tensors);
    strs_free(f->meta_keys, f->n_meta);
    strs_free(f->meta_values, f->n_meta);
    free(f->data_alloc);
    free(f->aligned_copy);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const safetensors_tensor *safetensors_find(const safetensors_file *f, const char *name)
{
    for (int i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

const safetensors_tensor *safetensors_expect(const safetensors_file *f, const char *name, safetensors_dtype dtype, int ndim)
{
    const safetensors_tensor *t = safetensors_find(f, name);
    if (!t) {
        err_msg(f->path, "tensor '%s' is missing", name);
        return NULL;
    }
    if (t->dtype != dtype) {
        err_msg(f->path, "tensor '%s' has dtype %s, expected %s", name, safetensors_dtype_name(t->dtype),
                safetensors_dtype_name(dtype));
        return NULL;
    }
    if (t->ndim != ndim) {
        err_msg(f->path, "tensor '%s' has %d dimensions, expected %d", name, t->ndim, ndim);
        return NULL;
    }
    return t;
}

const char *safetensors_meta(const safetensors_file *f, const char *key)
{
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_values[i];
    return NULL;
}

/* ---------------------------------------------------------------- writer */

void safetensors_writer_init(safetensors_writer *w) { memset(w, 0, sizeof *w); }

int safetensors_writer_add(safetensors_writer *w, const char *name, safetensors_dtype dtype, int ndim, const int64_t *shape,
                   const void *data)
{
    /* Bad arguments here are programming errors, not input errors: recorded, so that
     * safetensors_writer_save refuses to write a file without them. */
    if ((unsigned)dtype >= N_DTYPES || ndim < 0 || ndim > SAFETENSORS_MAX_DIMS) {
        w->failed = 1;
        return err_msg(name, "safetensors_writer_add: bad dtype or rank %d", ndim);
    }
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) {
            w->failed = 1;
            return err_msg(name, "safetensors_writer_add: negative dimension %lld", (long long)shape[i]);
        }
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->tensors = xrealloc(w->tensors, (size_t)w->cap * sizeof *w->tensors);
    }
    safetensors_tensor *t = &w->tensors[w->n++];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    t->dtype = dtype;
    t->ndim = ndim;
    size_t nbytes = safetensors_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        nbytes *= (size_t)shape[i];
    }
    t->nbytes = nbytes;
    t->data = data;
    return C_OK;
}

void safetensors_writer_meta(safetensors_writer *w, const char *key, const char *value)
{
    for (int i = 0; i < w->n_meta; i++)
        if (!strcmp(w->meta_keys[i], key)) { /* last value wins, like a dict */
            free(w->meta_values[i]);
            w->meta_values[i] = xstrdup(value);
            return;
        }
    if (w->n_meta == w->cap_meta) {
        w->cap_meta = w->cap_meta ? 2 * w->cap_meta : 8;
        w->meta_keys = xrealloc(w->meta_keys, (size_t)w->cap_meta * sizeof *w->meta_keys);
        w->meta_values = xrealloc(w->meta_values, (size_t)w->cap_meta * sizeof *w->meta_values);
    }
    w->meta_keys[w->n_meta] = xstrdup(key);
    w->meta_values[w->n_meta] = xstrdup(value);
    w->n_meta++;
}

/* A growable string for the header. */
typedef struct sbuf { char *s; size_t n, cap; } sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        while (b->n + n + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 256;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...) ERR_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* JSON string literal: escapes quotes, backslashes and control characters; UTF-8 passes through. */
static void sb_json_string(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            sb_put(b, e, 2);
        } else if (*p < 0x20) {
            sb_printf(b, "\\u%04x", *p);
        } else {
            sb_put(b, (const char *)p, 1);
        }
    }
    sb_put(b, "\"", 1);
}

int safetensors_writer_save(safetensors_writer *w, const char *path)
{
    if (w->failed) return C_ERR;   /* safetensors_writer_add has said why */
    for (int i = 0; i < w->n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(w->tensors[i].name, w->tensors[j].name))
                return err_msg(path, "duplicate tensor name '%s'", w->tensors[i].name);
    sbuf h = {0};
    sb_put(&h, "{", 1);
    if (w->n_meta) {
        sb_put(&h, "\"__metadata__\":{", 16);
        for (int i = 0; i < w->n_meta; i++) {
            if (i) sb_put(&h, ",", 1);
            sb_json_string(&h, w->meta_keys[i]);
            sb_put(&h, ":", 1);
            sb_json_string(&h, w->meta_values[i]);
        }
        sb_put(&h, "}", 1);
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const safetensors_tensor *t = &w->tensors[i];
        if (i || w->n_meta) sb_put(&h, ",", 1);
        sb_json_string(&h, t->name);
        sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", safetensors_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) sb_printf(&h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        sb_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                  (unsigned long long)(off + t->nbytes));
        off += t->nbytes;
    }
    sb_put(&h, "}", 1);
    /* Pad with spaces to a multiple of 8, as the reference writer does, so data starts aligned. */
    while (h.n % 8) sb_put(&h, " ", 1);

    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    atomic_file af;
    if (atomic_open(&af, path) != C_OK) {
        free(h.s);
        return C_ERR;
    }
    int ok = fwrite(len, 1, 8, af.fp) == 8 && fwrite(h.s, 1, h.n, af.fp) == h.n;
    for (int i = 0; ok && i < w->n; i++)
        if (w->tensors[i].nbytes)
            ok = fwrite(w->tensors[i].data, 1, w->tensors[i].nbytes, af.fp) == w->tensors[i].nbytes;
    free(h.s);
    if (!ok) {
        int e = errno;
        atomic_abort(&af);
        return err_msg(path, "write failed: %s", strerror(e));
    }
    return atomic_commit(&af);
}

void safetensors_writer_free(safetensors_writer *w)
{
    for (int i = 0; i < w->n; i++) free(w->tensors[i].name);
    free(w->tensors);
    strs_free(w->meta_keys, w->n_meta);
    strs_free(w->meta_values, w->n_meta);
    memset(w, 0, sizeof *w);
}
