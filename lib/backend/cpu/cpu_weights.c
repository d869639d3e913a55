/* cpu_weights.c: convolution weights (with their gradients and momentum buffers) kept between
 * steps in the blocked layout their forward primitive chose, so a training step does not convert
 * them.
 *
 * A plan makes its weight tensor, and the gradient it writes, adopt that layout on first use
 * (cpu_weights_adopt); the SGD step makes the momentum buffer follow. Such a tensor has the
 * backend-private layout tag CPU_TL_WEIGHTS and its oneDNN memory descriptor in the context's
 * table, keyed by its data; upload, download and copy convert between it and the plain
 * PyTorch layout (oihw) that hosts and checkpoints see. The layouts are permutations with zero
 * padding, which the elementwise SGD keeps zero, so values are those of the plain layout. */
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu_backend.h"
#include "core/errors.h"

const dnnl_memory_desc_t *cpu_weights_md(const cpu_ctx *c, const tensor *t)
{
    if (t->layout != CPU_TL_WEIGHTS) return NULL;
    for (int i = 0; i < c->n_wl; i++)
        if (c->wl[i].data == t->data) return &c->wl[i].md;
    return NULL;
}

int cpu_weights_plain_md(const tensor *t, dnnl_memory_desc_t *md)
{
    dnnl_dims_t d = { t->shape[0], t->shape[1], t->shape[2], t->shape[3] };
    return cpu_dnnl_check(dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, dnnl_oihw), "weights plain md");
}

int cpu_weights_reorder(cpu_ctx *c, const dnnl_memory_desc_t *from, const void *fp, const dnnl_memory_desc_t *to,
                        void *tp)
{
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_memory_t mf = NULL, mt = NULL;
    int rc = C_ERR;
    DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, from, c->engine, to, c->engine, NULL));
    DNNL_TRY(dnnl_primitive_create(&r, pd));
    DNNL_TRY(dnnl_memory_create(&mf, from, c->engine, (void *)fp));
    DNNL_TRY(dnnl_memory_create(&mt, to, c->engine, tp));
    dnnl_exec_arg_t a[2] = { { DNNL_ARG_FROM, mf }, { DNNL_ARG_TO, mt } };
    DNNL_TRY(dnnl_primitive_execute(r, c->stream, 2, a));
    DNNL_TRY(dnnl_stream_wait(c->stream));
    rc = C_OK;
fail:
    if (mf) dnnl_memory_destroy(mf);
    if (mt) dnnl_memory_destroy(mt);
    if (r) dnnl_primitive_destroy(r);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return rc;
}

int cpu_weights_adopt(cpu_ctx *c, tensor *t, const dnnl_memory_desc_t *wanted)
{
    /* A copy: `wanted` may point into c->wl (another tensor's entry), which the table's growth
     * below reallocates. */
    const dnnl_memory_desc_t want = *wanted, *md = &want;
    const dnnl_memory_desc_t *cur = cpu_weights_md(c, t);
    if (cur && dnnl_memory_desc_equal(cur, md)) return C_OK;
    if (t->ndim != 4 || t->dtype != DT_F32 || t->view)
        return err_msg("cpu", "weights: a %d-D tensor cannot take a convolution weight layout", t->ndim);
    dnnl_memory_desc_t plain;
    if (!cur) {
        if (cpu_weights_plain_md(t, &plain) != C_OK) return C_ERR;
        cur = &plain;
    }
    size_t bytes = dnnl_memory_desc_get_size(md);
    void *buf = cpu_alloc_bytes(bytes);
    if (!buf) return C_ERR;
    if (cpu_weights_reorder(c, cur, t->data, md, buf) != C_OK) { free(buf); return C_ERR; }
    int slot = -1;
    for (int i = 0; i < c->n_wl && slot < 0; i++)
        if (t->layout == CPU_TL_WEIGHTS && c->wl[i].data == t->data) slot = i;
    if (slot < 0) {
        if (c->n_wl == c->cap_wl) {
            int cap = c->cap_wl ? 2 * c->cap_wl : 32;
            cpu_wlayout *g = realloc(c->wl, (size_t)cap * sizeof *g);
            if (!g) { free(buf); return err_msg("cpu", "out of memory"); }
            c->wl = g;
            c->cap_wl = cap;
        }
        slot = c->n_wl++;
    }
    free(t->data);
    t->data = buf;
    t->bytes = bytes;
    t->layout = CPU_TL_WEIGHTS;
    c->wl[slot].data = buf;
    c->wl[slot].md = *md;
    return C_OK;
}

void cpu_weights_forget(cpu_ctx *c, const tensor *t)
{
    if (t->layout != CPU_TL_WEIGHTS) return;
    for (int i = 0; i < c->n_wl; i++)
        if (c->wl[i].data == t->data) { c->wl[i] = c->wl[--c->n_wl]; return; }
}

int cpu_weights_upload(cpu_ctx *c, tensor *t, const void *host)
{
    dnnl_memory_desc_t plain;
    const dnnl_memory_desc_t *md = cpu_weights_md(c, t);
    if (!md) return err_msg("cpu", "weights: tensor not in the layout table");
    return cpu_weights_plain_md(t, &plain) || cpu_weights_reorder(c, &plain, host, md, t->data) ? C_ERR : C_OK;
}

int cpu_weights_download(cpu_ctx *c, const tensor *t, void *host)
{
    dnnl_memory_desc_t plain;
    const dnnl_memory_desc_t *md = cpu_weights_md(c, t);
    if (!md) return err_msg("cpu", "weights: tensor not in the layout table");
    return cpu_weights_plain_md(t, &plain) || cpu_weights_reorder(c, md, t->data, &plain, host) ? C_ERR : C_OK;
}
