/* cpu_backend.c: the CPU backend's context, memory and layout conversion, and function table. */
#include "backend/cpu/cpu_backend.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/errors.h"

int cpu_act_block = 16;

void *cpu_alloc_bytes(size_t bytes)
{
    size_t sz = (bytes + 63) / 64 * 64;
    if (sz == 0) sz = 64;
    void *p = aligned_alloc(64, sz);
    if (!p) {
        err_msg("cpu", "out of memory allocating %zu bytes", sz);
        return NULL;
    }
    memset(p, 0, sz);
    return p;
}

/* *buf of at least `bytes`: grows (contents dropped) only when a larger size first appears */
static int grow(void **buf, size_t *size, size_t bytes)
{
    if (bytes <= *size) return C_OK;
    free(*buf);
    *size = 0;
    if (!(*buf = cpu_alloc_bytes(bytes))) return C_ERR;
    *size = bytes;
    return C_OK;
}

void *cpu_tmp(cpu_ctx *c, size_t bytes) { return grow(&c->tmp, &c->tmp_size, bytes) == C_OK ? c->tmp : NULL; }

int cpu_scratch_reserve(cpu_ctx *c, size_t bytes) { return grow(&c->scratch, &c->scratch_size, bytes); }

int cpu_dnnl_check(dnnl_status_t st, const char *what)
{
    if (st == dnnl_success) return C_OK;
    return err_msg("oneDNN", "%s failed with status %d", what, (int)st);
}

int cpu_mem_make(cpu_ctx *c, dnnl_memory_t *m, const dnnl_memory_desc_t *md)
{
    return cpu_dnnl_check(dnnl_memory_create(m, md, c->engine, DNNL_MEMORY_NONE), "dnnl_memory_create");
}

int cpu_prim_make(cpu_ctx *c, dnnl_primitive_desc_t pd, dnnl_primitive_t *p, dnnl_memory_t *scr)
{
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    int rc = cpu_scratch_reserve(c, dnnl_memory_desc_get_size(smd));
    if (rc == C_OK) rc = cpu_mem_make(c, scr, smd);
    if (rc == C_OK) rc = cpu_dnnl_check(dnnl_primitive_create(p, pd), "dnnl_primitive_create");
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

static int cpu_alloc(void *ctx, tensor *t, tensor_dtype dt, int ndim, const int *shape, tensor_layout layout)
{
    (void)ctx;
    if (ndim < 1 || ndim > TENSOR_MAX_DIMS) return err_msg("cpu", "tensor rank %d unsupported", ndim);
    tensor_header(t, dt, ndim, shape, DEV_CPU, ndim == 4 && dt == DT_F32 ? layout : TL_PLAIN);
    size_t n = tensor_numel(t);
    if (cpu_blk(t) > 1) n = n / (size_t)shape[1] * cpu_padded_channels(shape[1]);
    t->bytes = n * tensor_elsize(dt);
    t->data = cpu_alloc_bytes(t->bytes);
    return t->data ? C_OK : C_ERR;
}

static void cpu_free_tensor(void *ctx, tensor *t)
{
    cpu_weights_forget(ctx, t);
    if (!t->view) free(t->data);
    memset(t, 0, sizeof *t);
}

/* plain NCHW <-> nChw<W>c; padded lanes are written as zeros */
void cpu_to_blocked(const float *src, float *dst, int N, int C, int HW)
{
    int B = cpu_act_block, CB = (C + B - 1) / B;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int cb = 0; cb < CB; cb++) {
            float *d = dst + ((size_t)n * CB + cb) * HW * B;
            for (int hw = 0; hw < HW; hw++)
                for (int l = 0; l < B; l++) {
                    int c = cb * B + l;
                    d[hw * B + l] = c < C ? src[((size_t)n * C + c) * HW + hw] : 0.0f;
                }
        }
}

void cpu_from_blocked(const float *src, float *dst, int N, int C, int HW)
{
    int B = cpu_act_block, CB = (C + B - 1) / B;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *s = src + ((size_t)n * CB + c / B) * HW * B + c % B;
            float *d = dst + ((size_t)n * C + c) * HW;
            for (int hw = 0; hw < HW; hw++) d[hw] = s[hw * B];
        }
}

/* memcpy split over the threads for a batch-sized copy (a batch of 256 images is 3 MB, a
 * noticeable part of a small model's step on one thread); small copies stay on one. */
static void copy_bytes(void *dst, const void *src, size_t n)
{
    if (n < ((size_t)1 << 20)) {
        memcpy(dst, src, n);
        return;
    }
    #pragma omp parallel
    {
        size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
        size_t lo = n / 64 * t / nt * 64, hi = t + 1 == nt ? n : n / 64 * (t + 1) / nt * 64;
        memcpy((char *)dst + lo, (const char *)src + lo, hi - lo);
    }
}

static int cpu_upload(void *ctx, tensor *dst, const void *host)
{
    if (dst->layout == CPU_TL_WEIGHTS) return cpu_weights_upload(ctx, dst, host);
    if (cpu_blk(dst) > 1) cpu_to_blocked(host, dst->data, dst->shape[0], dst->shape[1], dst->shape[2] * dst->shape[3]);
    else copy_bytes(dst->data, host, tensor_numel(dst) * tensor_elsize(dst->dtype));
    return C_OK;
}

static int cpu_download(void *ctx, const tensor *src, void *host)
{
    if (src->layout == CPU_TL_WEIGHTS) return cpu_weights_download(ctx, src, host);
    if (cpu_blk(src) > 1) cpu_from_blocked(src->data, host, src->shape[0], src->shape[1], src->shape[2] * src->shape[3]);
    else memcpy(host, src->data, tensor_numel(src) * tensor_elsize(src->dtype));
    return C_OK;
}

static int cpu_copy(void *ctx, tensor *dst, const tensor *src)
{
    /* a copy of convolution weights takes their layout (the net's snapshots of its parameters) */
    const dnnl_memory_desc_t *md = cpu_weights_md(ctx, src);
    if (md && cpu_weights_adopt(ctx, dst, md) != C_OK) return C_ERR;
    if (!md && dst->layout == CPU_TL_WEIGHTS) return cpu_weights_upload(ctx, dst, src->data);
    memcpy(dst->data, src->data, cpu_used_bytes(src));
    return C_OK;
}

static int cpu_zero(void *ctx, tensor *t)
{
    (void)ctx;
    memset(t->data, 0, cpu_used_bytes(t));
    return C_OK;
}

static int cpu_sync(void *ctx) { (void)ctx; return C_OK; }  /* nothing is queued on the CPU */

static void cpu_free(void *ctx)
{
    cpu_ctx *c = ctx;
    if (!c) return;
    if (c->stream) dnnl_stream_destroy(c->stream);
    if (c->engine) dnnl_engine_destroy(c->engine);
    free(c->scratch);
    free(c->tmp);
    free(c->wl);
    free(c);
}

static const backend_iface cpu_iface = {
    .name = "cpu",
    BACKEND_MEMORY_ENTRIES(cpu),
#define OP_NAME(op)
#define OP_ENTRY(ret, name, params) .name = cpu_##name,
#define OP_DEVICE_ENTRY(ret, name, params)
#include "backend/ops_list.h"
};

/* The activation block width oneDNN's convolutions choose on this CPU (format_tag_any) for a
 * representative layer: 3x3, 64 -> 64 channels, 32x32, batch 256. Read from the chosen source
 * layout's channel block, so it follows ONEDNN_MAX_CPU_ISA; a choice our ops cannot hold (not
 * one block of 8 or 16 channels) keeps 16. */
static int act_block_probe(cpu_ctx *c, int *width)
{
    dnnl_dims_t sd = { 256, 64, 32, 32 }, wd = { 64, 64, 3, 3 }, st = { 1, 1 }, pad = { 1, 1 };
    dnnl_memory_desc_t src, wei, dst;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    *width = 16;
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, dnnl_format_tag_any));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&wei, 4, wd, dnnl_f32, dnnl_format_tag_any));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 4, sd, dnnl_f32, dnnl_format_tag_any));
    DNNL_TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei, NULL,
                                                &dst, st, pad, pad));
    DNNL_TRY(dnnl_primitive_desc_create(&pd, &cd, NULL, c->engine, NULL));
    const dnnl_memory_desc_t *m = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_blocking_desc_t *b = &m->format_desc.blocking;
    if (m->format_kind == dnnl_blocked && b->inner_nblks == 1 && b->inner_idxs[0] == 1 &&
        (b->inner_blks[0] == 8 || b->inner_blks[0] == 16))
        *width = (int)b->inner_blks[0];
    dnnl_primitive_desc_destroy(pd);
    return C_OK;
fail:
    return C_ERR;
}

/* The widest kernel set the CPU runs, capped by CPU_MAX_ISA (avx512, avx2 or generic). */
static int isa_choose(int *isa)
{
    *isa = __builtin_cpu_supports("avx512f") ? CPU_ISA_AVX512
         : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? CPU_ISA_AVX2 : CPU_ISA_GENERIC;
    const char *cap = getenv("CPU_MAX_ISA");
    if (!cap || !*cap) return C_OK;
    int m;
    if (!strcasecmp(cap, "avx512")) m = CPU_ISA_AVX512;
    else if (!strcasecmp(cap, "avx2")) m = CPU_ISA_AVX2;
    else if (!strcasecmp(cap, "generic")) m = CPU_ISA_GENERIC;
    else return err_msg("CPU_MAX_ISA", "'%s' is not avx512, avx2 or generic", cap);
    if (m < *isa) *isa = m;
    return C_OK;
}

/* CIFAR_WINOGRAD (off, the default; on; auto) and CIFAR_CONV_TRACE (1 traces) into c. */
static int conv_env(cpu_ctx *c)
{
    const char *w = getenv("CIFAR_WINOGRAD"), *t = getenv("CIFAR_CONV_TRACE");
    if (!w || !*w || !strcmp(w, "off")) c->winograd = CPU_WINOGRAD_OFF;
    else if (!strcmp(w, "on")) c->winograd = CPU_WINOGRAD_ON;
    else if (!strcmp(w, "auto")) c->winograd = CPU_WINOGRAD_AUTO;
    else return err_msg("CIFAR_WINOGRAD", "'%s' is not off, on or auto", w);
    c->conv_trace = t && !strcmp(t, "1");
    return C_OK;
}

int backend_cpu_init(backend *be, int threads)
{
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!c) return err_msg("cpu", "out of memory");
    if (threads > 0) omp_set_num_threads(threads);
    c->threads = omp_get_max_threads();
    if (isa_choose(&c->isa) != C_OK || conv_env(c) != C_OK ||
        cpu_dnnl_check(dnnl_engine_create(&c->engine, dnnl_cpu, 0), "dnnl_engine_create") ||
        cpu_dnnl_check(dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags), "dnnl_stream_create") ||
        act_block_probe(c, &cpu_act_block) != C_OK) {
        cpu_free(c);
        return C_ERR;
    }
    be->iface = &cpu_iface;
    be->ctx = c;
    return C_OK;
}

void backend_free(backend *be)
{
    if (be->iface) be->iface->free(be->ctx);
    be->iface = NULL;
    be->ctx = NULL;
}
