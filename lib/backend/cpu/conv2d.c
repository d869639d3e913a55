/* conv2d.c: conv2d forward and backward on oneDNN.
 *
 * A plan holds, per distinct batch size, the three training primitives (forward, backward data,
 * backward weights) made once, with memory objects whose data handles are swapped per call, so a
 * step allocates nothing. Activations stay nChw<W>c, W the block width oneDNN chose for this CPU
 * (cpu_backend.h; the input may be plain NCHW), so oneDNN never reorders them. Weights: the
 * first instance's forward primitive picks their layout (format_tag_any); the weight tensor and
 * the weight gradient keep it between steps (cpu_weights.c), so a step reorders only what another
 * primitive wants differently (backward data wants the blocks transposed: one weight reorder
 * per layer and step). A forward-only plan (inference) makes the same choices and keeps only the
 * forward primitive. A non-permutation layout (Winograd's) keeps the weights in oihw. `algo` AUTO lets oneDNN pick Winograd
 * for 3x3 stride-1 layers where it has a kernel; a shape it cannot do falls back to direct.
 *
 * Our own Winograd F(4x4,3x3) (winograd.c) replaces oneDNN for an eligible layer when the plan
 * asks for CONV2D_ALGO_WINOGRAD, or asks for AUTO under CIFAR_WINOGRAD=on; under
 * CIFAR_WINOGRAD=auto an AUTO plan times both on its shape when it is made (as cuDNN's find) and
 * keeps the faster. The choice is made before the first instance, so a Winograd plan's weights
 * stay oihw; CIFAR_CONV_TRACE=1 prints it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/winograd.h"
#include "backend/plan_cache.h"
#include "core/errors.h"

typedef struct conv_inst {
    int n;
    cpu_winograd_inst *wg;  /* a Winograd plan's instance (then nothing below is made) */
    dnnl_primitive_t fwd, bwdd, bwdw;
    dnnl_memory_t f_src, f_w, f_b, f_dst, f_scr;
    dnnl_memory_t d_ddst, d_w, d_dsrc, d_scr;
    dnnl_memory_t w_src, w_ddst, w_dw, w_db, w_scr;
    /* weight reorders: plain -> forward layout, plain -> backward-data layout, diff -> plain */
    dnnl_primitive_t r_wf, r_wd, r_dw;
    dnnl_memory_t r_wf_from, r_wf_to, r_wd_from, r_wd_to, r_dw_from, r_dw_to;
    float *w_fwd, *w_bwd, *dw_int;
    /* alt: the convolution runs on nhwc copies: x -> xs, ys -> y, dy -> gs, dxs -> dx */
    int alt;
    dnnl_primitive_t r_x, r_y, r_g, r_dx;
    dnnl_memory_t r_x_from, r_x_to, r_y_from, r_y_to, r_g_from, r_g_to, r_dx_from, r_dx_to;
    float *xs, *ys, *gs, *dxs;
} conv_inst;

struct conv2d_plan {
    conv2d_desc d;
    int oh, ow;
    int w_blocked;          /* weights and their gradient are kept in w_md (else plain oihw) */
    dnnl_memory_desc_t w_md;
    float *dmask;       /* dy * (y > 0) for a fused ReLU, max_n images */
    cpu_ctx *ctx;
    cpu_winograd *wg;   /* non-NULL: the plan runs winograd.c instead of oneDNN's convolution */
    plan_cache cache;   /* which of inst[] serve which batch size */
    conv_inst inst[PLAN_CACHE_MAX];
};

static void mem_free(dnnl_memory_t *m) { if (*m) dnnl_memory_destroy(*m); *m = NULL; }
static void prim_free(dnnl_primitive_t *p) { if (*p) dnnl_primitive_destroy(*p); *p = NULL; }

static void inst_free(conv_inst *I)
{
    prim_free(&I->fwd); prim_free(&I->bwdd); prim_free(&I->bwdw);
    prim_free(&I->r_wf); prim_free(&I->r_wd); prim_free(&I->r_dw);
    prim_free(&I->r_x); prim_free(&I->r_y); prim_free(&I->r_g); prim_free(&I->r_dx);
    dnnl_memory_t *ms[] = { &I->f_src, &I->f_w, &I->f_b, &I->f_dst, &I->f_scr, &I->d_ddst, &I->d_w,
                            &I->d_dsrc, &I->d_scr, &I->w_src, &I->w_ddst, &I->w_dw, &I->w_db, &I->w_scr,
                            &I->r_wf_from, &I->r_wf_to, &I->r_wd_from, &I->r_wd_to, &I->r_dw_from, &I->r_dw_to,
                            &I->r_x_from, &I->r_x_to, &I->r_y_from, &I->r_y_to, &I->r_g_from, &I->r_g_to,
                            &I->r_dx_from, &I->r_dx_to };
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) mem_free(ms[i]);
    free(I->w_fwd); free(I->w_bwd); free(I->dw_int);
    free(I->xs); free(I->ys); free(I->gs); free(I->dxs);
    cpu_winograd_inst_free(I->wg);
    memset(I, 0, sizeof *I);
}


/* A reorder from -> to when the layouts differ (else *r stays NULL); *buf gets the bytes of the
 * non-plain side when alloc_to (or alloc_from) is set. */
static int reorder_make(cpu_ctx *c, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                        dnnl_primitive_t *r, dnnl_memory_t *mf, dnnl_memory_t *mt, float **buf, int buf_is_to)
{
    if (dnnl_memory_desc_equal(from, to)) return C_OK;
    dnnl_primitive_desc_t pd;
    if (cpu_dnnl_check(dnnl_reorder_primitive_desc_create(&pd, from, c->engine, to, c->engine, NULL), "reorder pd"))
        return C_ERR;
    int rc = cpu_dnnl_check(dnnl_primitive_create(r, pd), "reorder create");
    dnnl_primitive_desc_destroy(pd);
    if (rc || cpu_mem_make(c, mf, from) || cpu_mem_make(c, mt, to)) return C_ERR;
    *buf = cpu_alloc_bytes(dnnl_memory_desc_get_size(buf_is_to ? to : from));
    return *buf ? C_OK : C_ERR;
}

static int is_ref(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return impl && !strncmp(impl, "ref", 3);
}

/* Builds the primitives for batch n. alt = 0: the convolution reads x in its own layout and writes
 * nChw<W>c directly. alt = 1 (used when oneDNN has only its slow reference kernel for that, e.g.
 * 10 input channels blocked by 16): the convolution runs on nhwc copies, with reorders at the
 * boundaries. Returns C_OK, C_ERR, or 1 when alt = 0 would use a reference kernel. */
static int inst_make_alt(cpu_ctx *c, conv2d_plan *P, conv_inst *I, int n, int alt)
{
    const conv2d_desc *d = &P->d;
    memset(I, 0, sizeof *I);
    I->n = n;
    I->alt = alt;
    dnnl_dims_t sd = { n, d->ic, d->ih, d->iw }, wd = { d->oc, d->ic, d->kh, d->kw }, bd = { d->oc },
                dd = { n, d->oc, P->oh, P->ow };
    dnnl_dims_t st = { d->stride, d->stride }, pl = { d->pad, d->pad },
                pr = { (P->oh - 1) * d->stride + d->kh - d->ih - d->pad, (P->ow - 1) * d->stride + d->kw - d->iw - d->pad };
    dnnl_memory_desc_t x_md, y_md, src_md, w_any, w_plain, b_md, dst_md;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_attr_t attr = NULL, fattr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
    int rc = C_ERR;
    dnnl_format_tag_t act = cpu_act_block == 8 ? dnnl_nChw8c : dnnl_nChw16c;
    dnnl_format_tag_t xtag = d->src_layout == TL_ACT ? act : dnnl_nchw;
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&x_md, 4, sd, dnnl_f32, xtag));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&y_md, 4, dd, dnnl_f32, act));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&src_md, 4, sd, dnnl_f32, alt ? dnnl_nhwc : xtag));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, dnnl_f32, alt ? dnnl_nhwc : act));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&w_plain, 4, wd, dnnl_f32, dnnl_oihw));
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x));
    DNNL_TRY(dnnl_primitive_attr_create(&attr));
    DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    DNNL_TRY(dnnl_primitive_attr_clone(&fattr, attr));
    if (d->relu) {
        DNNL_TRY(dnnl_post_ops_create(&po));
        DNNL_TRY(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
        DNNL_TRY(dnnl_primitive_attr_set_post_ops(fattr, po));
    }
    /* AUTO lets oneDNN pick Winograd where it has a kernel; fall back to direct otherwise */
    dnnl_alg_kind_t algs[2] = { d->algo != CONV2D_ALGO_DIRECT ? dnnl_convolution_auto : dnnl_convolution_direct, dnnl_convolution_direct };
    for (int k = 0; k < 2 && !fpd; k++) {
        DNNL_TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, algs[k], &src_md, &w_any,
                                                    d->bias ? &b_md : NULL, &dst_md, st, pl, pr));
        if (dnnl_primitive_desc_create(&fpd, &cd, fattr, c->engine, NULL) != dnnl_success) fpd = NULL;
    }
    for (int k = 0; k < 2 && d->need_dx && !dpd; k++) {
        DNNL_TRY(dnnl_convolution_backward_data_desc_init(&cd, algs[k], &src_md, &w_any, &dst_md, st, pl, pr));
        if (dnnl_primitive_desc_create(&dpd, &cd, attr, c->engine, fpd) != dnnl_success) dpd = NULL;
    }
    for (int k = 0; k < 2 && !wpd; k++) {
        DNNL_TRY(dnnl_convolution_backward_weights_desc_init(&cd, algs[k], &src_md, &w_any, d->bias ? &b_md : NULL,
                                                             &dst_md, st, pl, pr));
        if (dnnl_primitive_desc_create(&wpd, &cd, attr, c->engine, fpd) != dnnl_success) wpd = NULL;
    }
    if (!fpd || (d->need_dx && !dpd) || !wpd) goto fail;
    if (!alt && (is_ref(fpd) || (dpd && is_ref(dpd)) || is_ref(wpd))) { rc = 1; goto fail; }
    if (d->forward_only) {  /* the backward descriptors above only made the same choices as training */
        dnnl_primitive_desc_destroy(wpd);
        if (dpd) dnnl_primitive_desc_destroy(dpd);
        wpd = dpd = NULL;
    }

    dnnl_memory_desc_t wf_md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
    if (!P->w_blocked && wf_md.format_kind == dnnl_blocked && n == d->max_n) {
        P->w_blocked = 1;   /* the first instance (max_n) sets the plan's weight layout */
        P->w_md = wf_md;
    }
    if (P->w_blocked) w_plain = P->w_md;  /* the layout the tensors hold */
    DNNL_TRY(cpu_mem_make(c, &I->f_src, &src_md));
    DNNL_TRY(cpu_mem_make(c, &I->f_w, &wf_md));
    DNNL_TRY(cpu_mem_make(c, &I->f_b, &b_md));
    DNNL_TRY(cpu_mem_make(c, &I->f_dst, &dst_md));
    if (reorder_make(c, &w_plain, &wf_md, &I->r_wf, &I->r_wf_from, &I->r_wf_to, &I->w_fwd, 1)) goto fail;
    if (dpd) {
        dnnl_memory_desc_t wd_md = *dnnl_primitive_desc_query_md(dpd, dnnl_query_weights_md, 0);
        DNNL_TRY(cpu_mem_make(c, &I->d_ddst, &dst_md));
        DNNL_TRY(cpu_mem_make(c, &I->d_w, &wd_md));
        DNNL_TRY(cpu_mem_make(c, &I->d_dsrc, &src_md));
        if (reorder_make(c, &w_plain, &wd_md, &I->r_wd, &I->r_wd_from, &I->r_wd_to, &I->w_bwd, 1)) goto fail;
    }
    if (wpd) {
        dnnl_memory_desc_t dw_md = *dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0);
        DNNL_TRY(cpu_mem_make(c, &I->w_src, &src_md));
        DNNL_TRY(cpu_mem_make(c, &I->w_ddst, &dst_md));
        DNNL_TRY(cpu_mem_make(c, &I->w_dw, &dw_md));
        DNNL_TRY(cpu_mem_make(c, &I->w_db, &b_md));
        if (reorder_make(c, &dw_md, &w_plain, &I->r_dw, &I->r_dw_from, &I->r_dw_to, &I->dw_int, 0)) goto fail;
    }
    if (alt) {  /* activation reorders between our layouts and nhwc */
        if (reorder_make(c, &x_md, &src_md, &I->r_x, &I->r_x_from, &I->r_x_to, &I->xs, 1) ||
            reorder_make(c, &dst_md, &y_md, &I->r_y, &I->r_y_from, &I->r_y_to, &I->ys, 0) ||
            (wpd && reorder_make(c, &y_md, &dst_md, &I->r_g, &I->r_g_from, &I->r_g_to, &I->gs, 1)) ||
            (dpd && reorder_make(c, &src_md, &x_md, &I->r_dx, &I->r_dx_from, &I->r_dx_to, &I->dxs, 0)))
            goto fail;
    }
    if (dpd) { if (cpu_prim_make(c, dpd, &I->bwdd, &I->d_scr)) { dpd = NULL; goto fail; } dpd = NULL; }
    if (wpd) { if (cpu_prim_make(c, wpd, &I->bwdw, &I->w_scr)) { wpd = NULL; goto fail; } wpd = NULL; }
    if (cpu_prim_make(c, fpd, &I->fwd, &I->f_scr)) { fpd = NULL; goto fail; }
    fpd = NULL;
    rc = C_OK;
fail:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (dpd) dnnl_primitive_desc_destroy(dpd);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (fattr) dnnl_primitive_attr_destroy(fattr);
    if (po) dnnl_post_ops_destroy(po);
    if (rc != C_OK) inst_free(I);
    if (rc == C_ERR)
        err_msg("conv2d", "cannot build oneDNN primitives for n=%d ic=%d %dx%d oc=%d k=%dx%d s=%d p=%d",
                n, d->ic, d->ih, d->iw, d->oc, d->kh, d->kw, d->stride, d->pad);
    return rc;
}

/* plan_cache callbacks: arg is the plan */
static int inst_make(void *arg, void *inst, int n)
{
    conv2d_plan *P = arg;
    if (P->wg) {
        conv_inst *I = inst;
        memset(I, 0, sizeof *I);
        I->n = n;
        return (I->wg = cpu_winograd_inst_make(P->ctx, P->wg, n)) ? C_OK : C_ERR;
    }
    int rc = inst_make_alt(P->ctx, P, inst, n, 0);
    return rc == 1 ? inst_make_alt(P->ctx, P, inst, n, 1) : rc;
}

static void inst_release(void *inst) { inst_free(inst); }

static int exec(cpu_ctx *c, dnnl_primitive_t p, int nargs, const dnnl_exec_arg_t *args)
{
    return cpu_dnnl_check(dnnl_primitive_execute(p, c->stream, nargs, args), "dnnl_primitive_execute");
}

static int reorder_run(cpu_ctx *c, dnnl_primitive_t r, dnnl_memory_t from, void *fp, dnnl_memory_t to, void *tp)
{
    dnnl_memory_set_data_handle(from, fp);
    dnnl_memory_set_data_handle(to, tp);
    dnnl_exec_arg_t a[2] = { { DNNL_ARG_FROM, from }, { DNNL_ARG_TO, to } };
    return exec(c, r, 2, a);
}

/* The forward of instance I on raw buffers: x in the plan's input layout, w in the plan's weight
 * layout, b (NULL when !bias), y nChw<W>c. */
static int inst_fwd(cpu_ctx *c, conv2d_plan *P, conv_inst *I, void *x, void *w, void *b, void *y)
{
    if (I->wg) return cpu_winograd_fwd(c, P->wg, I->wg, x, w, b, y);
    void *wp = w;
    if (I->r_wf) {
        if (reorder_run(c, I->r_wf, I->r_wf_from, w, I->r_wf_to, I->w_fwd)) return C_ERR;
        wp = I->w_fwd;
    }
    void *xp = x;
    if (I->r_x) {
        if (reorder_run(c, I->r_x, I->r_x_from, x, I->r_x_to, I->xs)) return C_ERR;
        xp = I->xs;
    }
    dnnl_memory_set_data_handle(I->f_src, xp);
    dnnl_memory_set_data_handle(I->f_w, wp);
    dnnl_memory_set_data_handle(I->f_dst, I->r_y ? (void *)I->ys : y);
    dnnl_memory_set_data_handle(I->f_scr, c->scratch);
    dnnl_exec_arg_t a[5] = { { DNNL_ARG_SRC, I->f_src }, { DNNL_ARG_WEIGHTS, I->f_w }, { DNNL_ARG_DST, I->f_dst },
                             { DNNL_ARG_SCRATCHPAD, I->f_scr }, { DNNL_ARG_BIAS, I->f_b } };
    int na = 4;
    if (P->d.bias) { dnnl_memory_set_data_handle(I->f_b, b); na = 5; }
    if (exec(c, I->fwd, na, a)) return C_ERR;
    if (I->r_y && reorder_run(c, I->r_y, I->r_y_from, I->ys, I->r_y_to, y)) return C_ERR;
    return cpu_dnnl_check(dnnl_stream_wait(c->stream), "dnnl_stream_wait");
}

/* The backward of instance I on raw buffers; g is dy already masked for a fused ReLU, dx NULL
 * when not asked, db NULL when !bias. */
static int inst_bwd(cpu_ctx *c, conv2d_plan *P, conv_inst *I, void *x, void *w, const float *g, void *dx, void *dw,
                    void *db)
{
    if (I->wg) return cpu_winograd_bwd(c, P->wg, I->wg, x, w, g, dx, dw, db);
    void *xp = x;
    if (I->r_x) {  /* alt: nhwc copies of x and dy */
        if (reorder_run(c, I->r_x, I->r_x_from, x, I->r_x_to, I->xs) ||
            reorder_run(c, I->r_g, I->r_g_from, (void *)g, I->r_g_to, I->gs))
            return C_ERR;
        xp = I->xs;
        g = I->gs;
    }
    /* weights (and bias) */
    void *dwp = I->r_dw ? (void *)I->dw_int : dw;
    dnnl_memory_set_data_handle(I->w_src, xp);
    dnnl_memory_set_data_handle(I->w_ddst, (void *)g);
    dnnl_memory_set_data_handle(I->w_dw, dwp);
    dnnl_memory_set_data_handle(I->w_scr, c->scratch);
    dnnl_exec_arg_t a[5] = { { DNNL_ARG_SRC, I->w_src }, { DNNL_ARG_DIFF_DST, I->w_ddst }, { DNNL_ARG_DIFF_WEIGHTS, I->w_dw },
                             { DNNL_ARG_SCRATCHPAD, I->w_scr }, { DNNL_ARG_DIFF_BIAS, I->w_db } };
    int na = 4;
    if (P->d.bias) { dnnl_memory_set_data_handle(I->w_db, db); na = 5; }
    if (exec(c, I->bwdw, na, a)) return C_ERR;
    if (I->r_dw && reorder_run(c, I->r_dw, I->r_dw_from, I->dw_int, I->r_dw_to, dw)) return C_ERR;
    /* data */
    if (dx) {
        void *wp = w;
        if (I->r_wd) {
            if (reorder_run(c, I->r_wd, I->r_wd_from, w, I->r_wd_to, I->w_bwd)) return C_ERR;
            wp = I->w_bwd;
        }
        dnnl_memory_set_data_handle(I->d_ddst, (void *)g);
        dnnl_memory_set_data_handle(I->d_w, wp);
        dnnl_memory_set_data_handle(I->d_dsrc, I->r_dx ? (void *)I->dxs : dx);
        dnnl_memory_set_data_handle(I->d_scr, c->scratch);
        dnnl_exec_arg_t b[4] = { { DNNL_ARG_DIFF_DST, I->d_ddst }, { DNNL_ARG_WEIGHTS, I->d_w },
                                 { DNNL_ARG_DIFF_SRC, I->d_dsrc }, { DNNL_ARG_SCRATCHPAD, I->d_scr } };
        if (exec(c, I->bwdd, 4, b)) return C_ERR;
        if (I->r_dx && reorder_run(c, I->r_dx, I->r_dx_from, I->dxs, I->r_dx_to, dx)) return C_ERR;
    }
    return cpu_dnnl_check(dnnl_stream_wait(c->stream), "dnnl_stream_wait");
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Milliseconds of the fastest of a few warm steps (forward, plus the backward of a training
 * plan) of instance I on stand-in buffers (values are irrelevant to the time); -1 on error. */
static double inst_time(cpu_ctx *c, conv2d_plan *P, conv_inst *I)
{
    const conv2d_desc *d = &P->d;
    size_t nx = (size_t)d->max_n * cpu_padded_channels(d->ic) * d->ih * d->iw,
           ny = (size_t)d->max_n * cpu_padded_channels(d->oc) * P->oh * P->ow,
           nw = P->w_blocked && !P->wg ? dnnl_memory_desc_get_size(&P->w_md) / sizeof(float)
                                       : (size_t)d->oc * d->ic * d->kh * d->kw;
    float *x = cpu_alloc_bytes(nx * sizeof(float)), *y = cpu_alloc_bytes(ny * sizeof(float)),
          *g = cpu_alloc_bytes(ny * sizeof(float)), *dx = cpu_alloc_bytes(nx * sizeof(float)),
          *w = cpu_alloc_bytes(nw * sizeof(float)), *dw = cpu_alloc_bytes(nw * sizeof(float)),
          *b = cpu_alloc_bytes((size_t)d->oc * sizeof(float)), *db = cpu_alloc_bytes((size_t)d->oc * sizeof(float));
    double best = -1;
    if (x && y && g && dx && w && dw && b && db) {
        for (size_t i = 0; i < nx; i++) x[i] = (float)(i % 13) * 0.125f - 0.75f;
        for (size_t i = 0; i < ny; i++) g[i] = (float)(i % 7) * 0.125f - 0.375f;
        for (size_t i = 0; i < nw; i++) w[i] = (float)(i % 5) * 0.0625f - 0.125f;
        for (int it = 0; it < 4; it++) {   /* one warm-up, then three timed */
            double t0 = now();
            if (inst_fwd(c, P, I, x, w, b, y) ||
                (!d->forward_only && inst_bwd(c, P, I, x, w, g, d->need_dx ? dx : NULL, dw, d->bias ? db : NULL))) {
                best = -1;
                break;
            }
            double ms = (now() - t0) * 1e3;
            if (it == 1 || (it > 1 && ms < best)) best = ms;
        }
    }
    free(x); free(y); free(g); free(dx); free(w); free(dw); free(b); free(db);
    return best;
}

/* The name of the oneDNN forward kernel of a non-Winograd instance. */
static const char *inst_impl(const conv_inst *I)
{
    const_dnnl_primitive_desc_t pd = NULL;
    const char *impl = NULL;
    if (I->fwd && dnnl_primitive_get_primitive_desc(I->fwd, &pd) == dnnl_success)
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return impl ? impl : "?";
}

/* Under CIFAR_WINOGRAD=auto: times oneDNN's and winograd.c's max_n instance on P's shape and
 * leaves P->wg set when Winograd is faster (the plan's weight layout reset to oihw then). */
static int choose_by_time(cpu_ctx *c, conv2d_plan *P, char *why, size_t cap)
{
    conv_inst I;
    cpu_winograd *wg = cpu_winograd_make(c, &P->d, P->oh, P->ow);
    if (!wg || inst_make(P, &I, P->d.max_n) != C_OK) {
        cpu_winograd_free(wg);
        return C_ERR;
    }
    double t_dnnl = inst_time(c, P, &I);
    char impl[64];
    snprintf(impl, sizeof impl, "%s", inst_impl(&I));
    inst_free(&I);
    P->wg = wg;
    double t_wg = -1;
    if (inst_make(P, &I, P->d.max_n) == C_OK) {
        t_wg = inst_time(c, P, &I);
        inst_free(&I);
    }
    if (t_dnnl < 0 || t_wg < 0) {
        P->wg = NULL;
        cpu_winograd_free(wg);
        return C_ERR;
    }
    snprintf(why, cap, "auto: winograd %.2f ms, onednn %s %.2f ms", t_wg, impl, t_dnnl);
    if (t_wg < t_dnnl) {
        P->w_blocked = 0;   /* no tensor has taken the oneDNN layout yet */
    } else {
        P->wg = NULL;
        cpu_winograd_free(wg);
    }
    return C_OK;
}

/* Decides, before the plan's first instance, whether P runs winograd.c. */
static int choose_algo(cpu_ctx *c, conv2d_plan *P)
{
    const conv2d_desc *d = &P->d;
    char why[160] = "";
    int eligible = cpu_winograd_eligible(d);
    int forced = d->algo == CONV2D_ALGO_WINOGRAD || (d->algo == CONV2D_ALGO_AUTO && c->winograd == CPU_WINOGRAD_ON);
    if (!eligible) snprintf(why, sizeof why, "winograd does not apply");
    else if (forced) {
        if (!(P->wg = cpu_winograd_make(c, d, P->oh, P->ow))) return C_ERR;
        snprintf(why, sizeof why, d->algo == CONV2D_ALGO_WINOGRAD ? "asked" : "CIFAR_WINOGRAD=on");
    } else if (d->algo == CONV2D_ALGO_AUTO && c->winograd == CPU_WINOGRAD_AUTO) {
        if (choose_by_time(c, P, why, sizeof why) != C_OK) return C_ERR;
    } else snprintf(why, sizeof why, d->algo == CONV2D_ALGO_DIRECT ? "direct asked" : "CIFAR_WINOGRAD=off");
    if (c->conv_trace)
        fprintf(stderr, "conv2d: n%d %dx%dx%d -> %dx%dx%d k%dx%d s%d p%d%s%s%s: %s (%s)\n", d->max_n, d->ic, d->ih, d->iw,
                d->oc, P->oh, P->ow, d->kh, d->kw, d->stride, d->pad, d->bias ? " bias" : "", d->relu ? " relu" : "",
                d->forward_only ? " forward-only" : "", P->wg ? "winograd" : "onednn", why);
    return C_OK;
}

conv2d_plan *cpu_conv2d_plan_make(void *ctx, const conv2d_desc *d)
{
    int oh = 0, ow = 0;
    if (conv2d_desc_check(d, &oh, &ow) != C_OK) return NULL;
    conv2d_plan *P = calloc(1, sizeof *P);
    if (!P) {
        err_msg("conv2d", "out of memory");
        return NULL;
    }
    P->d = *d;
    P->ctx = ctx;
    P->cache = (plan_cache){ .op = "conv2d", .max_n = d->max_n, .inst = P->inst, .size = sizeof P->inst[0],
                             .make = inst_make, .free = inst_release, .arg = P };
    P->oh = oh;
    P->ow = ow;
    if (d->relu) {
        P->dmask = cpu_alloc_bytes((size_t)d->max_n * cpu_padded_channels(d->oc) * P->oh * P->ow * sizeof(float));
        if (!P->dmask) { free(P); return NULL; }
    }
    /* then build the max_n instance now so errors show at load time */
    if (choose_algo(ctx, P) != C_OK || !plan_cache_get(&P->cache, d->max_n)) {
        cpu_winograd_free(P->wg);
        free(P->dmask);
        free(P);
        return NULL;
    }
    return P;
}

void cpu_conv2d_plan_free(void *ctx, conv2d_plan *P)
{
    (void)ctx;
    if (!P) return;
    plan_cache_free(&P->cache);
    cpu_winograd_free(P->wg);
    free(P->dmask);
    free(P);
}

int cpu_conv2d_fwd(void *ctx, conv2d_plan *P, const tensor *x, const tensor *w, const tensor *b, tensor *y)
{
    cpu_ctx *c = ctx;
    conv_inst *I = plan_cache_get(&P->cache, x->shape[0]);
    if (!I) return C_ERR;
    /* the net's weight tensor takes the plan's layout on first use (it is the net's, not const) */
    if (P->w_blocked && cpu_weights_adopt(c, (tensor *)w, &P->w_md) != C_OK) return C_ERR;
    return inst_fwd(c, P, I, x->data, w->data, P->d.bias ? b->data : NULL, y->data);
}

int cpu_conv2d_bwd(void *ctx, conv2d_plan *P, const tensor *x, const tensor *w, const tensor *y,
                 const tensor *dy, tensor *dx, tensor *dw, tensor *db)
{
    cpu_ctx *c = ctx;
    if (P->d.forward_only) return err_msg("conv2d", "backward asked of a forward-only plan");
    conv_inst *I = plan_cache_get(&P->cache, x->shape[0]);
    if (!I) return C_ERR;
    if (dx && !P->d.need_dx) return err_msg("conv2d", "input gradient asked of a plan made without need_dx");
    if (P->w_blocked && (cpu_weights_adopt(c, dw, &P->w_md) != C_OK ||
                         (dx && cpu_weights_adopt(c, (tensor *)w, &P->w_md) != C_OK)))
        return C_ERR;
    const float *g = dy->data;
    if (P->d.relu) {
        size_t n = (size_t)x->shape[0] * cpu_padded_channels(P->d.oc) * P->oh * P->ow;
        cpu_mask_pos(c, y->data, dy->data, P->dmask, n);
        g = P->dmask;
    }
    return inst_bwd(c, P, I, x->data, w->data, g, dx ? dx->data : NULL, dw->data, P->d.bias ? db->data : NULL);
}
